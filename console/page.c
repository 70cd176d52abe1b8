/*
 * What every page shares: the frame (head, navigation, the sign-out
 * form), error pages, times, and a decision as a table row with its
 * reasons.  Every value from the store goes through con_esc or con_url.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "console_int.h"

void
con_page_open(con_buf *b, const char *title, int signed_in)
{
	con_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width\"><title>");
	con_esc(b, title);
	con_puts(b, " · Mandate console</title>"
	    "<link rel=\"stylesheet\" href=\"/style.css\"></head><body>"
	    "<header><span class=\"brand\">Mandate console</span>");
	if (signed_in)
		con_puts(b, "<nav><a href=\"/\">Tasks</a> "
		    "<a href=\"/decisions\">Decisions</a> "
		    "<a href=\"/review\">Review queue</a> "
		    "<a href=\"/access\">Access now</a> "
		    "<a href=\"/verify\">Verification</a></nav>"
		    "<form method=\"post\" action=\"/logout\" class=\"out\">"
		    "<button type=\"submit\">Sign out</button></form>");
	con_puts(b, "<span class=\"ro\">read-only</span></header><main>\n"
	    "<h1>");
	con_esc(b, title);
	con_puts(b, "</h1>\n");
}

void
con_page_close(con_buf *b)
{
	con_puts(b, "</main></body></html>\n");
}

void
con_page_error(con_resp *out, int status, const char *msg)
{
	char title[32];

	snprintf(title, sizeof(title), "Error %d", status);
	con_buf_free(&out->body);
	out->status = status;
	out->type = "text/html; charset=utf-8";
	con_page_open(&out->body, title, 0);
	con_puts(&out->body, "<p class=\"error\">");
	con_esc(&out->body, msg);
	con_puts(&out->body, "</p><p><a href=\"/\">Back to the tasks</a></p>");
	con_page_close(&out->body);
}

void
con_iso_time(int64_t ms, char *buf, size_t len)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "%" PRId64, ms);
	else
		snprintf(buf + strlen(buf), len - strlen(buf), ".%03dZ",
		    (int)(ms % 1000));
}

void
con_fact(con_buf *b, const char *name, const char *v)
{
	con_printf(b, "<dt>%s</dt><dd>", name);
	con_esc(b, v);
	con_puts(b, "</dd>");
}

void
con_decision_head(con_buf *b)
{
	con_puts(b, "<table class=\"decisions\"><thead><tr>");
	con_decision_heads(b);
	con_puts(b, "</tr></thead><tbody>\n");
}

void
con_decision_heads(con_buf *b)
{
	con_puts(b, "<th>Seq</th>"
	    "<th>Time (UTC)</th><th>Verdict</th><th>Operation</th>"
	    "<th>Patient</th><th>Clinician</th><th>Agent</th><th>Action</th>"
	    "<th>Resource</th><th>Task</th><th>Flags</th><th>Reasons</th>");
}

/* A cell linking to the decisions filtered by key=v. */
static void
filter_cell(con_buf *b, const char *key, const char *v)
{
	if (v == NULL) {
		con_puts(b, "<td>-</td>");
		return;
	}
	con_printf(b, "<td><a href=\"/decisions?%s=", key);
	con_url(b, v);
	con_puts(b, "\">");
	con_esc(b, v);
	con_puts(b, "</a></td>");
}

static void
text_cell(con_buf *b, const char *v)
{
	con_puts(b, "<td>");
	con_esc(b, v);
	con_puts(b, "</td>");
}

static void
flags_cell(con_buf *b, uint32_t f)
{
	con_printf(b, "<td>%s%s%s%s</td>",
	    f & MDT_STORE_FLAG_BREAK_GLASS ? "break_glass " : "",
	    f & MDT_STORE_FLAG_REVIEW ? "review " : "",
	    f & MDT_STORE_FLAG_APPROVED ? "approved " : "",
	    f & MDT_STORE_FLAG_REPLAY ? "replay" : "");
}

void
con_decision_row(con_buf *b, const mdt_store_decision *d)
{
	con_printf(b, "<tr class=\"v-%s\">",
	    mdt_store_verdict_name(d->verdict));
	con_decision_cells(b, d);
	con_puts(b, "</tr>\n");
}

void
con_decision_cells(con_buf *b, const mdt_store_decision *d)
{
	const char *v = mdt_store_verdict_name(d->verdict);
	char when[48];

	con_iso_time(d->time_ms, when, sizeof(when));
	con_printf(b, "<td>%" PRIu64 "</td><td>%s</td>"
	    "<td class=\"verdict\">%s</td>", d->seq, when, v);
	text_cell(b, d->operation);
	filter_cell(b, "patient", d->patient);
	filter_cell(b, "clinician", d->clinician);
	filter_cell(b, "agent", d->agent);
	text_cell(b, d->action);
	text_cell(b, d->resource);
	if (d->task_id != NULL) {
		con_puts(b, "<td><a href=\"/task?id=");
		con_url(b, d->task_id);
		con_puts(b, "\">");
		con_esc(b, d->task_id);
		con_puts(b, "</a></td>");
	} else {
		con_puts(b, "<td>-</td>");
	}
	flags_cell(b, d->flags);
	con_puts(b, "<td class=\"reasons\"><code>");
	con_esc(b, d->reasons);
	con_puts(b, "</code></td>");
}

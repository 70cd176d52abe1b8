/*
 * The review queue: decisions to look at after the fact
 * (mdt_store_review_queue: break-the-glass, step-ups, refused widenings,
 * flagged decisions, repeated denials of one agent), each with why it
 * is there and, with ?reviewed=1, the review mark it already has.  The
 * console only shows the queue; marking a decision reviewed is a write,
 * done with `mandatectl review mark`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "console_int.h"

#define QUEUE_SHOWN 1000

typedef struct queue {
	con_buf *b;
	uint64_t n;
} queue;

static void
why_cell(con_buf *b, uint32_t why)
{
	con_printf(b, "<td class=\"why\">%s%s%s%s%s</td>",
	    why & MDT_REVIEW_BREAK_GLASS ? "break-glass " : "",
	    why & MDT_REVIEW_STEP_UP ? "step-up " : "",
	    why & MDT_REVIEW_WIDENING ? "widening " : "",
	    why & MDT_REVIEW_REPEATED ? "repeated-denials " : "",
	    why & MDT_REVIEW_FLAGGED ? "flagged" : "");
}

static int
on_item(void *arg, const mdt_review_item *it)
{
	queue *q = arg;
	char when[48];

	if (q->n++ == QUEUE_SHOWN)
		return 1;
	con_printf(q->b, "<tr class=\"v-%s\">",
	    mdt_store_verdict_name(it->decision->verdict));
	why_cell(q->b, it->why);
	con_decision_cells(q->b, it->decision);
	if (it->review != NULL) {
		con_iso_time(it->review->time_ms, when, sizeof(when));
		con_printf(q->b, "<td>%s by ", when);
		con_esc(q->b, it->review->reviewer);
		con_puts(q->b, ": ");
		con_esc(q->b, it->review->note);
		con_puts(q->b, "</td>");
	} else {
		con_puts(q->b, "<td>-</td>");
	}
	con_puts(q->b, "</tr>\n");
	return q->b->oom ? -MDT_ENOMEM : 0;
}

void
con_page_review(con_app *a, const con_req *r, con_resp *out)
{
	char v[8] = "";
	mdt_review_opts o = {0};
	queue q = {.b = &out->body};
	int rc;

	if (con_form_get(r->query, r->query_len, "reviewed", v,
	    sizeof(v)) < 0) {
		con_page_error(out, 400, "reviewed: 1 or nothing");
		return;
	}
	o.include_reviewed = strcmp(v, "1") == 0;
	con_page_open(&out->body, "Review queue", 1);
	con_printf(&out->body, "<p>Break-the-glass, step-ups, refused "
	    "widenings, flagged decisions and repeated denials of one agent "
	    "(3 within an hour)%s.  <a href=\"/review%s\">%s</a>.  Mark one "
	    "reviewed with <code>mandatectl review mark</code>.</p>\n",
	    o.include_reviewed ? ", reviewed ones included" : ", not yet "
	    "reviewed", o.include_reviewed ? "" : "?reviewed=1",
	    o.include_reviewed ? "Only those not reviewed" :
	    "Include reviewed ones");
	con_puts(&out->body, "<table class=\"decisions\" id=\"review\">"
	    "<thead><tr><th>Why</th>");
	con_decision_heads(&out->body);
	con_puts(&out->body, "<th>Review</th></tr></thead><tbody>\n");
	rc = mdt_store_review_queue(a->store, &o, on_item, &q);
	con_puts(&out->body, "</tbody></table>\n");
	if (q.n > QUEUE_SHOWN)
		con_printf(&out->body, "<p>The first %d.</p>", QUEUE_SHOWN);
	con_page_close(&out->body);
	if (rc != 0)
		con_page_error(out, 500, mdt_strerror(rc));
}

/*
 * The decisions page: the filters of `mandatectl audit query` as a form
 * (patient, clinician, agent at any hop, task tree, operation, verdict,
 * reason code, flag, purpose, policy-set hash, time range, paging),
 * answered through mdt_store_query_decisions.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console_int.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

/* The query's text values, decoded, kept for the form and the links. */
typedef struct filters {
	char patient[CON_VALUE_MAX], clinician[CON_VALUE_MAX],
	    agent[CON_VALUE_MAX], task[CON_VALUE_MAX],
	    operation[CON_VALUE_MAX], verdict[32], reason[CON_VALUE_MAX],
	    flag[32], purpose[CON_VALUE_MAX], policy_hash[CON_VALUE_MAX],
	    since[64], until[64], after[32], limit[32];
} filters;

static const struct {
	const char *key;
	size_t off, len;
	const char *label;
} fields[] = {
#define F(k, label) {#k, offsetof(filters, k), sizeof(((filters *)0)->k), label}
	F(patient, "Patient"), F(clinician, "Clinician"),
	F(agent, "Agent (any hop)"), F(task, "Task tree"),
	F(operation, "Operation"), F(verdict, "Verdict"),
	F(reason, "Reason code"), F(flag, "Flag"), F(purpose, "Purpose"),
	F(policy_hash, "Policy-set hash"), F(since, "Since"),
	F(until, "Until"), F(after, "After seq"), F(limit, "Limit"),
#undef F
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const char *const verdicts[] = {"", "allow", "deny", "step_up",
    "error"};
static const char *const flags[] = {"", "break-glass", "step-up",
    "widening", "review", "approved", "replay"};

/* "2026-12-04", "2026-12-04T13:05[:00][Z]" (UTC) or "30m", "12h",
 * "7d", "2w" before now; -1 when neither. */
static int
parse_time(const char *t, int64_t now, int64_t *out)
{
	struct tm tm = {0};
	char unit = 0, tail[4] = "";
	long n;
	int got;

	if (sscanf(t, "%ld%c%3s", &n, &unit, tail) == 2 && n >= 0 &&
	    n < 100000 && strchr("mhdw", unit) != NULL && unit != 0) {
		int64_t u = unit == 'm' ? 60000 : unit == 'h' ? 3600000 :
		    unit == 'd' ? 86400000 : 604800000;
		*out = now - n * u;
		return 0;
	}
	got = sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
	if (got != 3 && got != 5 && got != 6)
		return -1;
	if (strlen(t) != (size_t)(got == 3 ? 10 : got == 5 ? 16 : 19) &&
	    !(strlen(t) == (size_t)(got == 5 ? 17 : 20) && t[strlen(t) - 1] ==
	    'Z'))
		return -1;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm) * 1000;
	return 0;
}

static int
index_of(const char *v, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return (int)i;
	return -1;
}

static const char *
opt(const char *v)
{
	return v[0] ? v : NULL;
}

static int
parse_u64(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (v[0] == 0)
		return 0;
	if (v[0] < '0' || v[0] > '9')
		return -1;
	x = strtoull(v, &end, 10);
	if (*end != 0 || x > max)
		return -1;
	*out = x;
	return 0;
}

/* The flag's effect on q, as `audit query --flag` has it. */
static void
apply_flag(int k, mdt_store_query *q)
{
	static const uint32_t bits[] = {0, MDT_STORE_FLAG_BREAK_GLASS, 0, 0,
	    MDT_STORE_FLAG_REVIEW, MDT_STORE_FLAG_APPROVED,
	    MDT_STORE_FLAG_REPLAY};

	q->flags_all |= bits[k];
	if (k == 2)
		q->verdict = MDT_STORE_STEP_UP;
	if (k == 3)
		q->reason = "scope.widen";
}

/* f into q; a message naming the bad field, or NULL. */
static const char *
to_query(const filters *f, int64_t now, mdt_store_query *q)
{
	int v = index_of(f->verdict, verdicts, 5), k = index_of(f->flag,
	    flags, 7);
	uint64_t lim = PAGE_DEFAULT;

	*q = (mdt_store_query){.patient = opt(f->patient),
	    .clinician = opt(f->clinician), .agent = opt(f->agent),
	    .task = opt(f->task), .operation = opt(f->operation),
	    .reason = opt(f->reason), .purpose = opt(f->purpose),
	    .policy_hash = opt(f->policy_hash)};
	if (v < 0)
		return "verdict: allow, deny, step_up or error";
	q->verdict = (mdt_store_verdict)v;
	if (k < 0)
		return "flag: break-glass, step-up, widening, review, approved "
		    "or replay";
	if (k == 2 && v != 0 && v != MDT_STORE_STEP_UP)
		return "flag step-up and another verdict never match";
	apply_flag(k, q);
	if ((f->since[0] && parse_time(f->since, now, &q->since_ms) != 0) ||
	    (f->until[0] && parse_time(f->until, now, &q->until_ms) != 0))
		return "since/until: YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss] (UTC) "
		    "or 30m, 12h, 7d, 2w";
	if (parse_u64(f->after, UINT64_MAX, &q->after_seq) != 0 ||
	    parse_u64(f->limit, PAGE_MAX, &lim) != 0 || lim == 0)
		return "after: a sequence number; limit: 1 to 1000";
	q->limit = (uint32_t)lim;
	return NULL;
}

/* The query string into *f; a message naming a bad value, or NULL. */
static const char *
read_filters(const con_req *r, filters *f)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < NFIELDS; i++) {
		char *out = (char *)f + fields[i].off;
		if (con_form_get(r->query, r->query_len, fields[i].key, out,
		    fields[i].len) < 0)
			return fields[i].key;
	}
	return NULL;
}

static void
select_field(con_buf *b, const char *key, const char *cur,
    const char *const *names, size_t n)
{
	con_printf(b, "<select name=\"%s\" id=\"f-%s\">", key, key);
	for (size_t i = 0; i < n; i++)
		con_printf(b, "<option value=\"%s\"%s>%s</option>", names[i],
		    strcmp(cur, names[i]) == 0 ? " selected" : "",
		    names[i][0] ? names[i] : "any");
	con_puts(b, "</select>");
}

static void
form(con_buf *b, const filters *f)
{
	con_puts(b, "<form method=\"get\" action=\"/decisions\" "
	    "class=\"filters\" id=\"filters\">");
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *cur = (const char *)f + fields[i].off;
		con_printf(b, "<label for=\"f-%s\">%s</label>", fields[i].key,
		    fields[i].label);
		if (strcmp(fields[i].key, "verdict") == 0)
			select_field(b, "verdict", cur, verdicts, 5);
		else if (strcmp(fields[i].key, "flag") == 0)
			select_field(b, "flag", cur, flags, 7);
		else {
			con_printf(b, "<input name=\"%s\" id=\"f-%s\" value=\"",
			    fields[i].key, fields[i].key);
			con_esc(b, cur);
			con_puts(b, "\">");
		}
	}
	con_puts(b, "<button type=\"submit\" id=\"apply\">Apply</button>"
	    "</form>\n<p class=\"hint\">Times are UTC: YYYY-MM-DD, "
	    "YYYY-MM-DDThh:mm, or 30m, 12h, 7d, 2w before now.  The same "
	    "filters as <code>mandatectl audit query</code>.</p>\n");
}

typedef struct rows {
	con_buf *b;
	uint64_t n, last;
} rows;

static int
on_row(void *arg, const mdt_store_decision *d)
{
	rows *w = arg;

	con_decision_row(w->b, d);
	w->n++;
	w->last = d->seq;
	return w->b->oom ? -MDT_ENOMEM : 0;
}

/* A link to the next page: the same filters after the last seq. */
static void
next_link(con_buf *b, const filters *f, uint64_t last)
{
	con_puts(b, "<p><a id=\"next\" href=\"/decisions?");
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *v = (const char *)f + fields[i].off;
		if (v[0] == 0 || strcmp(fields[i].key, "after") == 0)
			continue;
		con_printf(b, "%s=", fields[i].key);
		con_url(b, v);
		con_puts(b, "&amp;");
	}
	con_printf(b, "after=%" PRIu64 "\">Next page</a></p>", last);
}

void
con_page_decisions(con_app *a, const con_req *r, con_resp *out)
{
	filters f;
	mdt_store_query q = {0};
	const char *bad = read_filters(r, &f), *why = NULL;
	rows w = {.b = &out->body};
	int rc = 0;

	if (bad == NULL)
		why = to_query(&f, con_now_ms(), &q);
	con_page_open(&out->body, "Decisions", 1);
	form(&out->body, &f);
	if (bad != NULL || why != NULL) {
		out->status = 400;
		con_puts(&out->body, "<p class=\"error\">");
		con_esc(&out->body, bad ? bad : why);
		con_puts(&out->body, bad ? ": not a valid value</p>" : "</p>");
	} else {
		con_decision_head(&out->body);
		rc = mdt_store_query_decisions(a->store, &q, on_row, &w);
		con_puts(&out->body, "</tbody></table>\n");
		con_printf(&out->body, "<p id=\"count\">%" PRIu64 " decisions"
		    "%s</p>", w.n, rc ? "; the store failed to answer" : "");
		if (rc == 0 && w.n == q.limit)
			next_link(&out->body, &f, w.last);
	}
	con_page_close(&out->body);
	if (rc != 0)
		con_page_error(out, 500, mdt_strerror(rc));
}

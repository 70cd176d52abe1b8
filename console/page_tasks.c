/*
 * The first page: recent tasks.  A task is recent when it is open, or
 * when a decision was made under its tree in the last HOURS hours (24 by
 * default, ?hours=N); each tree is shown once, by its root, newest
 * activity first.  Answered from mdt_store_open_tasks and a time-range
 * query (index bound), so its cost follows the window, not the store.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"

#define RECENT_MAX 256      /* task ids followed while reading */
#define SHOWN_MAX 100       /* trees shown */

typedef struct seen {
	char *task;
	uint64_t last_seq, count;
	int64_t last_ms;
} seen;

typedef struct recent {
	seen s[RECENT_MAX];
	size_t n;
	int oom;
} recent;

/* Notes activity on task (inc decisions); the least recent entry gives
 * way when full. */
static void
note(recent *r, const char *task, uint64_t seq, int64_t ms, uint64_t inc)
{
	size_t k = 0;

	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->s[i].task, task) == 0) {
			r->s[i].last_seq = seq, r->s[i].last_ms = ms;
			r->s[i].count += inc;
			return;
		}
		if (r->s[i].last_seq < r->s[k].last_seq)
			k = i;
	}
	if (r->n < RECENT_MAX)
		k = r->n++;
	else
		free(r->s[k].task);
	r->s[k] = (seen){.task = strdup(task), .last_seq = seq, .count = inc,
	    .last_ms = ms};
	if (r->s[k].task == NULL) {
		r->oom = 1;
		r->s[k] = r->s[--r->n];
	}
}

static int
on_decision(void *arg, const mdt_store_decision *d)
{
	if (d->task_id != NULL)
		note(arg, d->task_id, d->seq, d->time_ms, 1);
	return ((recent *)arg)->oom ? -MDT_ENOMEM : 0;
}

static int
on_open(void *arg, const mdt_store_task *t)
{
	note(arg, t->task_id, t->seq, t->time_ms, 0);
	return ((recent *)arg)->oom ? -MDT_ENOMEM : 0;
}

static int
by_recency(const void *a, const void *b)
{
	const seen *x = a, *y = b;

	return x->last_seq < y->last_seq ? 1 : x->last_seq > y->last_seq ? -1
	    : 0;
}

static void
row(con_buf *b, const mdt_store_task *root, const seen *s)
{
	char opened[48], last[48];

	con_iso_time(root->time_ms, opened, sizeof(opened));
	con_iso_time(s->last_ms, last, sizeof(last));
	con_puts(b, "<tr><td><a class=\"task\" href=\"/task?id=");
	con_url(b, root->task_id);
	con_puts(b, "\">");
	con_esc(b, root->task_id);
	con_printf(b, "</a></td><td>%s</td><td>", opened);
	con_esc(b, root->clinician);
	con_puts(b, "</td><td><a href=\"/decisions?patient=");
	con_url(b, root->patient);
	con_puts(b, "\">");
	con_esc(b, root->patient);
	con_puts(b, "</a></td><td>");
	con_esc(b, root->purpose);
	con_puts(b, "</td><td>");
	con_esc(b, root->holder);
	con_printf(b, "</td><td>%s</td><td>%" PRIu64 "</td><td>%s</td></tr>\n",
	    mdt_task_state_name(root->state), s->count, last);
}

/* Whether root (a task id) was shown already. */
static int
shown_before(char **roots, size_t n, const char *root)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(roots[i], root) == 0)
			return 1;
	return 0;
}

/* One row per tree, by root, in r's order. */
static void
table(con_app *a, con_buf *b, recent *r)
{
	char *roots[SHOWN_MAX];
	size_t nr = 0;

	con_puts(b, "<table class=\"tasks\" id=\"tasks\"><thead><tr>"
	    "<th>Task (root)</th><th>Opened (UTC)</th><th>Clinician</th>"
	    "<th>Patient</th><th>Purpose</th><th>Orchestrator</th>"
	    "<th>State</th><th>Decisions in window</th><th>Last activity</th>"
	    "</tr></thead><tbody>\n");
	for (size_t i = 0; i < r->n && nr < SHOWN_MAX; i++) {
		mdt_store_task *t = NULL, *root = NULL;
		if (mdt_store_get_task(a->store, r->s[i].task, &t) == 0 &&
		    !shown_before(roots, nr, t->root_id) &&
		    mdt_store_get_task(a->store, t->root_id, &root) == 0 &&
		    (roots[nr] = strdup(root->task_id)) != NULL) {
			nr++;
			row(b, root, &r->s[i]);
		}
		mdt_free(t);
		mdt_free(root);
	}
	con_puts(b, "</tbody></table>\n");
	if (nr == 0)
		con_puts(b, "<p>No open task, and no decision in this window."
		    "</p>\n");
	while (nr > 0)
		free(roots[--nr]);
}

void
con_page_tasks(con_app *a, const con_req *r, con_resp *out)
{
	char hv[16] = "24";
	uint64_t hours = 24;
	recent *rec = calloc(1, sizeof(*rec));
	mdt_store_query q = {0};
	int rc, partial;

	if (con_form_get(r->query, r->query_len, "hours", hv, sizeof(hv)) < 0 ||
	    (hours = strtoull(hv, NULL, 10)) == 0 || hours > 24 * 366 ||
	    strspn(hv, "0123456789") != strlen(hv) || rec == NULL) {
		free(rec);
		con_page_error(out, 400, "hours: 1 to 8784");
		return;
	}
	q.since_ms = con_now_ms() - (int64_t)hours * 3600000;
	rc = mdt_store_open_tasks(a->store, on_open, rec);
	if (rc == 0)
		rc = mdt_store_query_decisions(a->store, &q, on_decision, rec);
	partial = rc == -MDT_EUNSUPPORTED; /* a backend without queries yet */
	if (partial)
		rc = 0;
	qsort(rec->s, rec->n, sizeof(rec->s[0]), by_recency);
	con_page_open(&out->body, "Recent tasks", 1);
	con_printf(&out->body, "<p>Open tasks, and tasks with decisions in "
	    "the last %" PRIu64 " hours (<a href=\"/?hours=168\">a week</a>, "
	    "<a href=\"/?hours=720\">30 days</a>).</p>\n", hours);
	if (partial)
		con_puts(&out->body, "<p class=\"error\">This store's backend "
		    "has no filtered queries yet: only open tasks are listed."
		    "</p>\n");
	if (rc == 0)
		table(a, &out->body, rec);
	con_page_close(&out->body);
	for (size_t i = 0; i < rec->n; i++)
		free(rec->s[i].task);
	free(rec);
	if (rc != 0)
		con_page_error(out, 500, mdt_strerror(rc));
}

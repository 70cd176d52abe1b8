/*
 * A task's page: its tree's root facts, the delegation graph drawn by
 * mdt_graph_render (the SVG `mandatectl graph --format svg` writes,
 * placed inline so each hop is a node of the page) with the decisions
 * and their reasons on it, and the tree's decisions as a table, hop by
 * hop (mdt_store_task_tree, which every store backend answers).  And
 * the verification page: mdt_store_verify over the whole chain.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/graph.h>

#include "console_int.h"

#define TREE_ROWS_MAX 2000
#define ISSUES_SHOWN 200

static void
facts(con_buf *b, const mdt_store_task *root, const mdt_store_task *t)
{
	char when[48];

	con_iso_time(root->time_ms, when, sizeof(when));
	con_puts(b, "<dl class=\"facts\">");
	con_fact(b, "Root task", root->task_id);
	con_fact(b, "Clinician", root->clinician);
	con_fact(b, "Patient", root->patient);
	con_fact(b, "Purpose", root->purpose);
	con_fact(b, "Opened (UTC)", when);
	con_fact(b, "This hop", t->task_id);
	con_fact(b, "Holder", t->holder);
	con_fact(b, "Scopes", t->scopes);
	con_fact(b, "State", mdt_task_state_name(t->state));
	con_puts(b, "</dl>\n");
}

/* The picture, or why there is none and the text rendering instead. */
static void
picture(con_app *a, con_buf *b, const char *task)
{
	char err[MDT_ERRMSG_MAX], *svg = NULL, *text = NULL;
	size_t len = 0;
	int rc = mdt_graph_render(a->store, task, MDT_GRAPH_SVG, &svg, &len,
	    err, sizeof(err));
	const char *start = rc == 0 ? strstr(svg, "<svg") : NULL;

	con_puts(b, "<h2>Delegation graph</h2>\n<figure class=\"graph\" "
	    "id=\"graph\">");
	if (start != NULL) {
		con_put(b, start, len - (size_t)(start - svg));
	} else {
		con_puts(b, "<p class=\"error\">No picture: ");
		con_esc(b, rc ? err : "dot wrote no SVG");
		con_puts(b, "</p>");
		if (mdt_graph_render(a->store, task, MDT_GRAPH_TREE, &text,
		    &len, NULL, 0) == 0) {
			con_puts(b, "<pre>");
			con_esc(b, text);
			con_puts(b, "</pre>");
		}
	}
	con_puts(b, "</figure>\n");
	mdt_free(svg);
	mdt_free(text);
}

typedef struct tree_rows {
	con_buf *b;
	size_t n;
} tree_rows;

/* A row per decision, hop by hop; the walk stops at TREE_ROWS_MAX. */
static int
on_row(void *arg, const mdt_store_decision *d)
{
	tree_rows *w = arg;

	if (w->n++ == TREE_ROWS_MAX)
		return 1;
	con_decision_row(w->b, d);
	return w->b->oom ? -MDT_ENOMEM : 0;
}

void
con_page_task(con_app *a, const con_req *r, con_resp *out)
{
	char id[CON_VALUE_MAX];
	mdt_store_task *t = NULL, *root = NULL;
	const mdt_store_tree_visitor v = {NULL, on_row};
	tree_rows w = {.b = &out->body};
	int rc;

	if (con_form_get(r->query, r->query_len, "id", id, sizeof(id)) != 1) {
		con_page_error(out, 400, "which task? (/task?id=TASK)");
		return;
	}
	rc = mdt_store_get_task(a->store, id, &t);
	if (rc == 0)
		rc = mdt_store_get_task(a->store, t->root_id, &root);
	if (rc != 0) {
		mdt_free(t);
		con_page_error(out, rc == -MDT_ENOTFOUND ? 404 : 500,
		    rc == -MDT_ENOTFOUND ? "no such task in the store" :
		    mdt_strerror(rc));
		return;
	}
	con_page_open(&out->body, "Task", 1);
	facts(&out->body, root, t);
	picture(a, &out->body, id);
	con_puts(&out->body, "<h2>Decisions of the tree, hop by hop</h2>\n"
	    "<p><a href=\""
	    "/decisions?task=");
	con_url(&out->body, id);
	con_puts(&out->body, "\">Filter these decisions</a></p>\n");
	con_decision_head(&out->body);
	rc = mdt_store_task_tree(a->store, root->task_id, &v, &w);
	con_puts(&out->body, "</tbody></table>\n");
	if (w.n > TREE_ROWS_MAX)
		con_printf(&out->body, "<p>The first %d decisions; the filter "
		    "link above pages through all of them.</p>", TREE_ROWS_MAX);
	con_page_close(&out->body);
	mdt_free(t);
	mdt_free(root);
	if (rc != 0)
		con_page_error(out, 500, mdt_strerror(rc));
}

typedef struct issues {
	con_buf *b;
	uint64_t n;
} issues;

static void
on_issue(void *arg, const mdt_store_issue *is)
{
	issues *w = arg;

	if (w->n++ >= ISSUES_SHOWN)
		return;
	con_printf(w->b, "<li class=\"%s\">%s %s at seq %" PRIu64 "..%"
	    PRIu64 ": ", is->fatal ? "fatal" : "warning",
	    is->fatal ? "ISSUE" : "note", mdt_store_issue_name(is->kind),
	    is->seq, is->seq_end);
	con_esc(w->b, is->message);
	con_puts(w->b, "</li>");
}

void
con_page_verify(con_app *a, const con_req *r, con_resp *out)
{
	char err[MDT_ERRMSG_MAX] = "";
	mdt_store_report rep = {0};
	issues w = {.b = &out->body};
	int rc;

	(void)r;
	con_page_open(&out->body, "Verification", 1);
	if (!a->have_pub) {
		con_puts(&out->body, "<p id=\"verify-status\">Not checked: "
		    "start mandate-console with --pub BROKER.pub to verify the "
		    "chain's hashes and signed checkpoints.</p>");
		con_page_close(&out->body);
		return;
	}
	con_puts(&out->body, "<ul class=\"issues\">");
	rc = mdt_store_verify(a->store_uri, a->pub.bytes, on_issue, &w, &rep,
	    err, sizeof(err));
	con_puts(&out->body, "</ul>");
	if (rc != 0 && rc != -MDT_EAUDIT) {
		con_puts(&out->body, "<p id=\"verify-status\" class=\"error\">"
		    "Cannot read the store: ");
		con_esc(&out->body, err);
		con_puts(&out->body, "</p>");
	} else {
		con_printf(&out->body, "<p id=\"verify-status\" class=\"%s\">"
		    "%s: %" PRIu64 " records (last seq %" PRIu64 "), %" PRIu64
		    " valid checkpoints (last at seq %" PRIu64 "), %" PRIu64
		    " unsigned, %" PRIu64 " issues, %" PRIu64 " warnings; %"
		    PRIu64 " receipt heads (last at seq %" PRIu64 ")</p>",
		    rc == 0 ? "intact" : "tampered",
		    rc == 0 ? "intact" : "TAMPERED", rep.records, rep.last_seq,
		    rep.checkpoints, rep.last_checkpoint_seq,
		    rep.unsigned_records, rep.issues, rep.warnings, rep.heads,
		    rep.last_head_seq);
	}
	con_page_close(&out->body);
}

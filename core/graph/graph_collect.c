/*
 * Collects the delegation tree containing a task from the store
 * (mdt_store_task_tree: every hop, then the decisions made under it)
 * into a graph held in memory.
 */
#include <string.h>

#include <mandate/store.h>

#include "alloc_int.h"
#include "graph_int.h"

static char *
dup_or_dash(const char *s)
{
	if (s == NULL)
		s = "-";
	return mdt__strndup(s, strlen(s));
}

/* The deny code of reasons ({"failed":"CODE",...}) or NULL. */
static char *
reason_code(const char *reasons)
{
	const char *p = reasons ? strstr(reasons, "\"failed\":\"") : NULL;

	if (p == NULL)
		return NULL;
	p += strlen("\"failed\":\"");
	return mdt__strndup(p, strcspn(p, "\""));
}

static int
on_task(void *arg, const mdt_store_task *t)
{
	graph *g = arg;
	graph_hop *h;

	if (g->nhops == g->caphops) {
		size_t cap = g->caphops ? 2 * g->caphops : 16;
		graph_hop *n = mdt__realloc(g->hops, cap * sizeof(*n));
		if (n == NULL)
			return -MDT_ENOMEM;
		g->hops = n;
		g->caphops = cap;
	}
	h = &g->hops[g->nhops++];
	memset(h, 0, sizeof(*h));
	h->task = dup_or_dash(t->task_id);
	h->parent = t->parent_id ? dup_or_dash(t->parent_id) : NULL;
	h->holder = dup_or_dash(t->holder);
	h->from = dup_or_dash(t->from_agent);
	h->scopes = dup_or_dash(t->scopes);
	h->purpose = dup_or_dash(t->purpose);
	h->clinician = dup_or_dash(t->clinician);
	h->patient = dup_or_dash(t->patient);
	h->operation = dup_or_dash(t->operation);
	h->state = mdt_task_state_name(t->state);
	h->depth = t->depth;
	h->time_ms = t->time_ms;
	h->ended_ms = t->ended_ms;
	if (!h->task || (t->parent_id && !h->parent) || !h->holder ||
	    !h->from || !h->scopes || !h->purpose || !h->clinician ||
	    !h->patient || !h->operation)
		g->failed = 1;
	return 0;
}

static int
on_decision(void *arg, const mdt_store_decision *d)
{
	graph *g = arg;
	graph_hop *h;
	graph_dec *x;

	if (g->nhops == 0)
		return -MDT_EINVAL;
	h = &g->hops[g->nhops - 1];
	if (h->ndecs == h->capdecs) {
		size_t cap = h->capdecs ? 2 * h->capdecs : 16;
		graph_dec *n = mdt__realloc(h->decs, cap * sizeof(*n));
		if (n == NULL)
			return -MDT_ENOMEM;
		h->decs = n;
		h->capdecs = cap;
	}
	x = &h->decs[h->ndecs++];
	*x = (graph_dec){.seq = d->seq, .time_ms = d->time_ms,
	    .verdict = mdt_store_verdict_name(d->verdict),
	    .operation = dup_or_dash(d->operation),
	    .action = dup_or_dash(d->action),
	    .resource = dup_or_dash(d->resource),
	    .why = reason_code(d->reasons), .agent = dup_or_dash(d->agent),
	    .flags = d->flags};
	if (!x->operation || !x->action || !x->resource || !x->agent)
		g->failed = 1;
	return 0;
}

void
graph_free(graph *g)
{
	for (size_t i = 0; i < g->nhops; i++) {
		graph_hop *h = &g->hops[i];
		for (size_t k = 0; k < h->ndecs; k++) {
			graph_dec *x = &h->decs[k];
			mdt__free(x->operation), mdt__free(x->action);
			mdt__free(x->resource), mdt__free(x->why);
			mdt__free(x->agent);
		}
		mdt__free(h->decs);
		mdt__free(h->task), mdt__free(h->parent);
		mdt__free(h->holder), mdt__free(h->from);
		mdt__free(h->scopes), mdt__free(h->purpose);
		mdt__free(h->clinician), mdt__free(h->patient);
		mdt__free(h->operation);
	}
	mdt__free(g->hops);
	memset(g, 0, sizeof(*g));
}

int
graph_collect(mdt_store *s, const char *task, graph *g)
{
	const mdt_store_tree_visitor v = {on_task, on_decision};
	mdt_store_task *t = NULL;
	int rc = mdt_store_get_task(s, task, &t);

	if (rc == 0)
		rc = mdt_store_task_tree(s, t->root_id, &v, g);
	mdt_free(t);
	if (rc == 0 && g->failed)
		rc = -MDT_ENOMEM;
	return rc;
}

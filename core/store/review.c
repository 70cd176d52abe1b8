/*
 * The after-the-fact reads of the audit store: the sources (policy sets
 * and entity data) decisions were made under, the review marks, and the
 * review queue, computed from the decisions and the marks the same way
 * on every backend.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc_int.h"
#include "backend.h"

static int
kind_rows(mdt_store *s, int kind, const char *tail, const char *const *args,
    size_t nargs, mdt__row_fn fn, void *arg)
{
	if (s == NULL || fn == NULL)
		return -MDT_EINVAL;
	if (s->be->kind_rows == NULL)
		return -MDT_EUNSUPPORTED;
	return s->be->kind_rows(s, kind, tail, args, nargs, fn, arg);
}

static int
keep_source(void *arg, const void *rec)
{
	mdt_store_source **out = arg;

	*out = mdt__kind_dup(mdt__kind_get(MDT__KIND_SOURCE), rec, 0);
	return *out != NULL ? 1 : -MDT_ENOMEM;
}

int
mdt_store_get_source(mdt_store *store, const char *source_kind,
    const char *hash, mdt_store_source **out)
{
	const char *args[2] = {source_kind, hash};
	int rc;

	if (source_kind == NULL || out == NULL)
		return -MDT_EINVAL;
	*out = NULL;
	rc = kind_rows(store, MDT__KIND_SOURCE, hash != NULL ?
	    " WHERE source_kind = $1 AND digest = $2" :
	    " WHERE source_kind = $1 ORDER BY seq DESC LIMIT 1", args,
	    hash != NULL ? 2 : 1, keep_source, out);
	if (rc < 0)
		return rc;
	return *out != NULL ? 0 : -MDT_ENOTFOUND;
}

struct review_walk {
	mdt_store_review_fn fn;
	void *arg;
};

static int
each_review(void *arg, const void *rec)
{
	struct review_walk *w = arg;

	return w->fn(w->arg, rec);
}

int
mdt_store_list_reviews(mdt_store *store, mdt_store_review_fn fn, void *arg)
{
	struct review_walk w = {fn, arg};

	if (fn == NULL)
		return -MDT_EINVAL;
	return kind_rows(store, MDT__KIND_REVIEW, " ORDER BY seq", NULL, 0,
	    each_review, &w);
}

/* ---- the queue ---------------------------------------------------- */

/* A denial: who and when, for the repeated-denials rule. */
struct denial {
	const char *agent;     /* points into the queue's strings */
	int64_t time_ms;
	uint64_t seq;
	int repeated;
};

struct queue {
	const mdt_review_opts *o;
	mdt_store_review **marks; /* every mark, in seq order */
	size_t nmarks, capmarks;
	struct denial *den;
	size_t nden, capden;
	char **agents;            /* owned copies of the denials' agents */
	size_t capagents;
	uint64_t *repeated;       /* seqs of repeated denials, sorted */
	size_t nrep;
	mdt_review_fn fn;
	void *arg;
};

static int
grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *np;

	if (n < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 64;
	if ((np = realloc(*p, *cap * size)) == NULL)
		return -MDT_ENOMEM;
	*p = np;
	return 0;
}

static int
keep_mark(void *arg, const mdt_store_review *rev)
{
	struct queue *q = arg;
	mdt_store_review *m;

	if (grow((void **)&q->marks, &q->capmarks, q->nmarks,
	    sizeof(*q->marks)) != 0)
		return -MDT_ENOMEM;
	m = mdt__kind_dup(mdt__kind_get(MDT__KIND_REVIEW), rev, 0);
	if (m == NULL)
		return -MDT_ENOMEM;
	q->marks[q->nmarks++] = m;
	return 0;
}

static const mdt_store_review *
mark_of(const struct queue *q, uint64_t seq)
{
	for (size_t i = 0; i < q->nmarks; i++)
		if (q->marks[i]->decision_seq == seq)
			return q->marks[i];
	return NULL;
}

static int
keep_denial(void *arg, const mdt_store_decision *d)
{
	struct queue *q = arg;
	char *a;

	if (d->verdict != MDT_STORE_DENY || d->agent == NULL ||
	    d->time_ms < q->o->since_ms)
		return 0;
	if (grow((void **)&q->den, &q->capden, q->nden, sizeof(*q->den)) != 0 ||
	    grow((void **)&q->agents, &q->capagents, q->nden,
	    sizeof(char *)) != 0)
		return -MDT_ENOMEM;
	if ((a = strdup(d->agent)) == NULL)
		return -MDT_ENOMEM;
	q->agents[q->nden] = a;
	q->den[q->nden++] = (struct denial){a, d->time_ms, d->seq, 0};
	return 0;
}

static int
den_cmp(const void *x, const void *y)
{
	const struct denial *a = x, *b = y;
	int c = strcmp(a->agent, b->agent);

	if (c != 0)
		return c;
	return a->time_ms < b->time_ms ? -1 : a->time_ms > b->time_ms;
}

static int
seq_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Collects (sorted) the denials that, with the ones of the same agent
 * around them, make at least threshold within window. */
static int
find_repeated(struct queue *q, uint32_t threshold, int64_t window)
{
	size_t lo = 0;

	if (q->nden == 0)
		return 0;
	if ((q->repeated = calloc(q->nden, sizeof(uint64_t))) == NULL)
		return -MDT_ENOMEM;
	qsort(q->den, q->nden, sizeof(*q->den), den_cmp);
	for (size_t hi = 0; hi < q->nden; hi++) {
		while (strcmp(q->den[lo].agent, q->den[hi].agent) != 0 ||
		    q->den[hi].time_ms - q->den[lo].time_ms >= window)
			lo++;
		if (hi - lo + 1 < threshold)
			continue;
		for (size_t i = lo; i <= hi; i++)
			q->den[i].repeated = 1;
	}
	for (size_t i = 0; i < q->nden; i++)
		if (q->den[i].repeated)
			q->repeated[q->nrep++] = q->den[i].seq;
	qsort(q->repeated, q->nrep, sizeof(uint64_t), seq_cmp);
	return 0;
}

static int
is_repeated(const struct queue *q, uint64_t seq)
{
	return q->repeated != NULL && bsearch(&seq, q->repeated, q->nrep,
	    sizeof(uint64_t), seq_cmp) != NULL;
}

/* 1 when reasons (JSON) name the failed condition code. */
static int
reason_is(const char *reasons, const char *code)
{
	json_t *j = reasons ? json_loads(reasons, 0, NULL) : NULL;
	const char *f = json_string_value(json_object_get(j, "failed"));
	int yes = f != NULL && strcmp(f, code) == 0;

	json_decref(j);
	return yes;
}

static uint32_t
why_of(const struct queue *q, const mdt_store_decision *d)
{
	uint32_t why = 0;

	if (d->flags & MDT_STORE_FLAG_BREAK_GLASS ||
	    (d->purpose != NULL && strcmp(d->purpose, "ETREAT") == 0))
		why |= MDT_REVIEW_BREAK_GLASS;
	if (d->verdict == MDT_STORE_STEP_UP ||
	    (d->flags & MDT_STORE_FLAG_APPROVED))
		why |= MDT_REVIEW_STEP_UP;
	if (d->flags & MDT_STORE_FLAG_REVIEW)
		why |= MDT_REVIEW_FLAGGED;
	if (d->verdict == MDT_STORE_DENY && reason_is(d->reasons,
	    "scope.widen"))
		why |= MDT_REVIEW_WIDENING;
	if (d->verdict == MDT_STORE_DENY && is_repeated(q, d->seq))
		why |= MDT_REVIEW_REPEATED;
	return why;
}

static int
emit(void *arg, const mdt_store_decision *d)
{
	struct queue *q = arg;
	mdt_review_item it = {d, 0, NULL};

	if (d->time_ms < q->o->since_ms || (it.why = why_of(q, d)) == 0)
		return 0;
	it.review = mark_of(q, d->seq);
	if (it.review != NULL && !q->o->include_reviewed)
		return 0;
	return q->fn(q->arg, &it);
}

static void
queue_free(struct queue *q)
{
	for (size_t i = 0; i < q->nmarks; i++)
		mdt__free(q->marks[i]);
	for (size_t i = 0; i < q->nden; i++)
		free(q->agents[i]);
	free(q->marks);
	free(q->den);
	free(q->agents);
	free(q->repeated);
}

int
mdt_store_review_queue(mdt_store *store, const mdt_review_opts *opts,
    mdt_review_fn fn, void *arg)
{
	static const mdt_review_opts defaults;
	mdt_review_opts o = opts != NULL ? *opts : defaults;
	struct queue q = {.o = &o, .fn = fn, .arg = arg};
	int rc;

	if (store == NULL || fn == NULL)
		return -MDT_EINVAL;
	if (o.deny_threshold == 0)
		o.deny_threshold = 3;
	if (o.deny_window_ms <= 0)
		o.deny_window_ms = 3600000;
	rc = mdt_store_list_reviews(store, keep_mark, &q);
	if (rc == 0)
		rc = mdt_store_list_decisions(store, 0, 0, keep_denial, &q);
	if (rc == 0)
		rc = find_repeated(&q, o.deny_threshold, o.deny_window_ms);
	if (rc == 0)
		rc = mdt_store_list_decisions(store, 0, 0, emit, &q);
	queue_free(&q);
	return rc;
}

/*
 * The PostgreSQL backend's reads: the pool of read connections, the
 * conversion of a result row into one allocation of a record struct, and
 * the lookups behind the public API.  Nothing is cached across brokers:
 * a task ended by another broker is seen by the next read.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "pg_int.h"

#define TASK_STATE_COLS ", e.state, e.time_ms, e.rev_seq"
#define TASK_FROM " FROM tasks t LEFT JOIN ended e ON e.task_id = t.task_id"

int
mdt__pg_readers_open(mdt_store *s, char *err, size_t errlen)
{
	uint32_t want = s->nreaders;
	int rc;

	for (s->nreaders = 0; s->nreaders < want; s->nreaders++) {
		mdt__pgconn *r = &s->bs->readers[s->nreaders];
		pthread_mutex_init(&r->mu, NULL);
		if ((rc = mdt__pg_connect(s->path, &r->c, err, errlen)) != 0) {
			s->nreaders++; /* closed with the others */
			return rc;
		}
	}
	if (s->read_only && want > 0)
		return mdt__pg_schema(s->bs->readers[0].c, 1, s->id, err,
		    errlen);
	return 0;
}

void
mdt__pg_readers_close(mdt_store *s)
{
	for (uint32_t i = 0; i < s->nreaders; i++) {
		PQfinish(s->bs->readers[i].c);
		s->bs->readers[i].c = NULL;
		pthread_mutex_destroy(&s->bs->readers[i].mu);
	}
	s->nreaders = 0;
}

typedef struct seg {
	const mdt__kind_desc *d;
	int first;
	size_t seq_off;
} seg;

static size_t
text_bytes(const PGresult *r, int row, const seg *segs, size_t n)
{
	size_t b = 0;

	for (size_t g = 0; g < n; g++)
		for (size_t i = 0; i < segs[g].d->ncols; i++) {
			int col = segs[g].first + 3 + (int)i;
			char t = segs[g].d->cols[i].type;
			if (PQgetisnull(r, row, col))
				continue;
			if (t == 'P')
				b += MDT_STORE_HASH_BYTES;
			if (t == 'T')
				b += (size_t)PQgetlength(r, row, col) + 1;
		}
	return b;
}

static void
put_col(const PGresult *r, int row, int col, const mdt__col *c,
    unsigned char *base, char **text)
{
	const char *p = PQgetvalue(r, row, col);
	size_t len = (size_t)PQgetlength(r, row, col);
	int64_t v;

	if (PQgetisnull(r, row, col))
		return;
	switch (c->type) {
	case 'T':
		memcpy(*text, p, len);
		(*text)[len] = '\0';
		memcpy(base + c->off, text, sizeof(*text));
		*text += len + 1;
		break;
	case 'L':
		v = mdt__pg_int(r, row, col);
		memcpy(base + c->off, &v, sizeof(v));
		break;
	case 'U': {
		uint32_t u = (uint32_t)mdt__pg_int(r, row, col);
		memcpy(base + c->off, &u, sizeof(u));
		break;
	}
	case 'E': {
		int e = (int)mdt__pg_int(r, row, col);
		memcpy(base + c->off, &e, sizeof(e));
		break;
	}
	case 'P':
		if (len != MDT_STORE_HASH_BYTES)
			break;
		memcpy(*text, p, len);
		memcpy(base + c->off, text, sizeof(*text));
		*text += len;
		break;
	default:
		if (len == MDT_STORE_HASH_BYTES)
			memcpy(base + c->off, p, len);
		break;
	}
}

static int
unpack(const PGresult *r, int row, const seg *segs, size_t n,
    size_t struct_size, void **out)
{
	unsigned char *base = mdt__calloc(1, struct_size +
	    text_bytes(r, row, segs, n));
	char *text;

	if (base == NULL)
		return -MDT_ENOMEM;
	text = (char *)base + struct_size;
	for (size_t g = 0; g < n; g++) {
		if (!PQgetisnull(r, row, segs[g].first)) {
			uint64_t seq = (uint64_t)mdt__pg_int(r, row,
			    segs[g].first);
			memcpy(base + segs[g].seq_off, &seq, sizeof(seq));
		}
		for (size_t i = 0; i < segs[g].d->ncols; i++)
			put_col(r, row, segs[g].first + 3 + (int)i,
			    &segs[g].d->cols[i], base, &text);
	}
	*out = base;
	return 0;
}

static int
unpack_decision(const PGresult *r, int row, void **out)
{
	const seg sg = {mdt__kind_get(MDT__KIND_DECISION), 0,
	    offsetof(mdt_store_decision, seq)};

	return unpack(r, row, &sg, 1, sizeof(mdt_store_decision), out);
}

static int
unpack_task(const PGresult *r, int row, void **out)
{
	const mdt__kind_desc *d = mdt__kind_get(MDT__KIND_TASK);
	const seg sg = {d, 0, offsetof(mdt_store_task, seq)};
	int first = 3 + (int)d->ncols, rc;
	mdt_store_task *t;

	if ((rc = unpack(r, row, &sg, 1, sizeof(mdt_store_task), out)) != 0)
		return rc;
	t = *out;
	if (PQgetisnull(r, row, first)) {
		t->state = MDT_TASK_OPEN;
		return 0;
	}
	t->state = (mdt_task_state)mdt__pg_int(r, row, first);
	t->ended_ms = mdt__pg_int(r, row, first + 1);
	t->end_seq = (uint64_t)mdt__pg_int(r, row, first + 2);
	return 0;
}

static int
unpack_approval(const PGresult *r, int row, void **out)
{
	const mdt__kind_desc *a = mdt__kind_get(MDT__KIND_APPROVAL);
	const seg segs[2] = {
		{a, 0, offsetof(mdt_store_approval, seq)},
		{mdt__kind_get(MDT__KIND_APPROVAL_DECISION), 3 + (int)a->ncols,
		    offsetof(mdt_store_approval, decision_seq)},
	};

	return unpack(r, row, segs, 2, sizeof(mdt_store_approval), out);
}

typedef int (*unpack_fn)(const PGresult *, int, void **);

/* The reads of the request path, prepared once per read connection:
 * the server parses and plans each once, not on every request. */
enum { R_NONE = -1, R_GET_TASK, R_CHAIN, R_FIND_DECISION, R_GET_DECISION,
	R_COUNT_CHILDREN, R_CHAIN_ENDED };

/* Runs a query on a read connection (prepared as idx unless R_NONE); the
 * result or NULL (*rc).  A query that found its connection broken runs
 * once more on a fresh one: it stood alone. */
static PGresult *
rquery_as(mdt_store *s, int idx, const char *sql, const mdt__pgp *p,
    int *rc)
{
	mdt__pgconn *c = mdt__pg_reader(s);
	PGresult *r;

	if (c == NULL) {
		*rc = -MDT_ESTORE;
		return NULL;
	}
	if (idx == R_NONE) {
		r = mdt__pg_q_again(s, c, sql, p, "query", rc);
	} else {
		r = mdt__pg_qprep(s, c, idx, sql, p, "query", rc);
		if (r == NULL && PQstatus(c->c) == CONNECTION_BAD &&
		    mdt__pg_ready(s, c) == 0)
			r = mdt__pg_qprep(s, c, idx, sql, p, "query", rc);
	}
	mdt__pg_reader_release(c);
	return r;
}

static PGresult *
rquery(mdt_store *s, const char *sql, const mdt__pgp *p, int *rc)
{
	return rquery_as(s, R_NONE, sql, p, rc);
}

/* "SELECT <the kind's columns as t.*> <tail>": one row or none. */
static int
one_row_as(mdt_store *s, int idx, const char *tail, int kind,
    const mdt__pgp *p, unpack_fn fn, void **out)
{
	char *cols = mdt__select_list(mdt__kind_get(kind), "t");
	char sql[1536];
	PGresult *r;
	int rc;

	if (cols == NULL)
		return -MDT_ENOMEM;
	snprintf(sql, sizeof(sql), "SELECT %s%s", cols, tail);
	mdt__free(cols);
	if ((r = rquery_as(s, idx, sql, p, &rc)) == NULL)
		return rc;
	rc = PQntuples(r) == 0 ? -MDT_ENOTFOUND : fn(r, 0, out);
	PQclear(r);
	return rc;
}

static int
one_row(mdt_store *s, const char *tail, int kind, const mdt__pgp *p,
    unpack_fn fn, void **out)
{
	return one_row_as(s, R_NONE, tail, kind, p, fn, out);
}

int
mdt__pg_find_decision(mdt_store *s, const char *request_id,
    mdt_store_decision **out)
{
	mdt__pgp p = {0};

	if (s == NULL || request_id == NULL || out == NULL)
		return -MDT_EINVAL;
	mdt__pgp_text(&p, request_id);
	return one_row_as(s, R_FIND_DECISION, " FROM decisions t WHERE"
	    " request_id = $1",
	    MDT__KIND_DECISION, &p, unpack_decision, (void **)out);
}

int
mdt__pg_get_decision(mdt_store *s, uint64_t seq, mdt_store_decision **out)
{
	mdt__pgp p = {0};

	if (s == NULL || out == NULL)
		return -MDT_EINVAL;
	if (seq > INT64_MAX)
		return -MDT_ENOTFOUND;
	mdt__pgp_int(&p, (int64_t)seq);
	return one_row_as(s, R_GET_DECISION, " FROM decisions t WHERE"
	    " seq = $1",
	    MDT__KIND_DECISION, &p, unpack_decision, (void **)out);
}

int
mdt__pg_get_task(mdt_store *s, const char *task_id, mdt_store_task **out)
{
	mdt__pgp p = {0};
	int rc;

	if (s == NULL || task_id == NULL || out == NULL)
		return -MDT_EINVAL;
	mdt__pgp_text(&p, task_id);
	rc = one_row_as(s, R_GET_TASK, TASK_STATE_COLS TASK_FROM
	    " WHERE t.task_id = $1", MDT__KIND_TASK, &p, unpack_task,
	    (void **)out);
	if (rc == 0)
		mdt__pg_cache_put_task(s->bs->cache, *out);
	return rc;
}

int
mdt__pg_get_approval(mdt_store *s, const char *approval_id,
    mdt_store_approval **out)
{
	char *ad;
	char fmt[1024];
	mdt__pgp p = {0};
	int rc;

	if (s == NULL || approval_id == NULL || out == NULL)
		return -MDT_EINVAL;
	ad = mdt__select_list(mdt__kind_get(MDT__KIND_APPROVAL_DECISION),
	    "d");
	if (ad == NULL)
		return -MDT_ENOMEM;
	snprintf(fmt, sizeof(fmt), ", %s FROM approvals t LEFT JOIN"
	    " approval_decisions d ON d.approval_id = t.approval_id"
	    " WHERE t.approval_id = $1", ad);
	mdt__free(ad);
	mdt__pgp_text(&p, approval_id);
	rc = one_row(s, fmt, MDT__KIND_APPROVAL, &p, unpack_approval,
	    (void **)out);
	return rc;
}

/* Calls task (when set) or decision on each row of "SELECT <the kind's
 * columns> <tail>"; a non-zero callback return stops, a negative one is
 * returned. */
static int
each_row(mdt_store *s, const char *tail, const mdt__pgp *p,
    mdt_store_task_fn task, mdt_store_decision_fn decision, void *arg)
{
	char *cols = mdt__select_list(mdt__kind_get(task != NULL ?
	    MDT__KIND_TASK : MDT__KIND_DECISION), "t");
	char sql[4096];
	PGresult *r;
	int rc = 0, stop = 0;

	if (cols == NULL)
		return -MDT_ENOMEM;
	snprintf(sql, sizeof(sql), "SELECT %s%s", cols, tail);
	mdt__free(cols);
	if ((r = rquery(s, sql, p, &rc)) == NULL)
		return rc;
	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		void *rec;
		if ((rc = (task != NULL ? unpack_task : unpack_decision)(r, i,
		    &rec)) != 0)
			break;
		stop = task != NULL ? task(arg, rec) : decision(arg, rec);
		mdt__free(rec);
	}
	PQclear(r);
	return rc != 0 ? rc : stop < 0 ? stop : 0;
}

int
mdt__pg_each_decision(mdt_store *s, const char *tail, const mdt__pgp *p,
    mdt_store_decision_fn fn, void *arg)
{
	return each_row(s, tail, p, NULL, fn, arg);
}

int
mdt__pg_task_children(mdt_store *s, const char *task_id,
    mdt_store_task_fn fn, void *arg)
{
	mdt__pgp p = {0};

	if (s == NULL || task_id == NULL || fn == NULL)
		return -MDT_EINVAL;
	mdt__pgp_text(&p, task_id);
	return each_row(s, TASK_STATE_COLS TASK_FROM
	    " WHERE t.parent_id = $1 ORDER BY t.seq", &p, fn, NULL, arg);
}

int
mdt__pg_open_tasks(mdt_store *s, mdt_store_task_fn fn, void *arg)
{
	if (s == NULL || fn == NULL)
		return -MDT_EINVAL;
	return each_row(s, ", NULL::bigint, NULL::bigint,"
	    " NULL::bigint FROM tasks t WHERE NOT EXISTS (SELECT 1 FROM ended"
	    " e WHERE e.task_id = t.task_id) ORDER BY t.seq", NULL, fn, NULL,
	    arg);
}

int
mdt__pg_list_decisions(mdt_store *s, uint64_t after_seq, uint32_t limit,
    mdt_store_decision_fn fn, void *arg)
{
	mdt__pgp p = {0};

	if (s == NULL || fn == NULL || after_seq > INT64_MAX)
		return -MDT_EINVAL;
	mdt__pgp_int(&p, (int64_t)after_seq);
	if (limit > 0)
		mdt__pgp_int(&p, limit);
	else
		mdt__pgp_text(&p, NULL);
	return each_row(s, " FROM decisions t WHERE seq > $1"
	    " ORDER BY seq LIMIT $2", &p, NULL, fn, arg);
}

int
mdt__pg_count_children(mdt_store *s, const char *task_id, uint32_t *count)
{
	mdt__pgp p = {0};
	PGresult *r;
	int rc;

	if (s == NULL || task_id == NULL || count == NULL)
		return -MDT_EINVAL;
	mdt__pgp_text(&p, task_id);
	if ((r = rquery_as(s, R_COUNT_CHILDREN, "SELECT count(*) FROM tasks"
	    " WHERE parent_id = $1", &p, &rc)) == NULL)
		return rc;
	*count = (uint32_t)mdt__pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

/* The first ended task of r's rows (id, ended), in their order. */
static void
first_ended(const PGresult *r, int *revoked, char *revoked_by, size_t len)
{
	*revoked = 0;
	for (int i = 0; i < PQntuples(r) && !*revoked; i++) {
		if (mdt__pg_int(r, i, 1) == 0)
			continue;
		*revoked = 1;
		if (revoked_by != NULL && len > 0)
			snprintf(revoked_by, len, "%s", PQgetvalue(r, i, 0));
	}
}

/* The walk up the chain in one recursive query: the nearest ended task
 * on the way from task_id to its root, or none; the chain is kept
 * (pg_cache.c), since it never changes. */
static int
chain_walk(mdt_store *s, const char *task_id, int *revoked,
    char *revoked_by, size_t len)
{
	mdt__pgp p = {0};
	PGresult *r;
	char *chain;
	int rc;

	mdt__pgp_text(&p, task_id);
	if ((r = rquery_as(s, R_CHAIN, "WITH RECURSIVE up(id, n) AS (SELECT"
	    " task_id, 0"
	    " FROM tasks WHERE task_id = $1 UNION ALL SELECT t.parent_id,"
	    " up.n + 1 FROM tasks t JOIN up ON t.task_id = up.id WHERE"
	    " t.parent_id IS NOT NULL AND up.n < 256) SELECT up.id,"
	    " EXISTS(SELECT 1 FROM ended e WHERE e.task_id = up.id)"
	    " FROM up ORDER BY up.n", &p, &rc)) == NULL)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return -MDT_ENOTFOUND;
	}
	first_ended(r, revoked, revoked_by, len);
	if ((chain = mdt__pg_array_of(r, 0)) != NULL)
		mdt__pg_cache_put_chain(s->bs->cache, task_id, chain);
	mdt__free(chain);
	PQclear(r);
	return 0;
}

/* The nearest ended task on task_id's known chain (a text array
 * literal, the task first), fresh from the database: no row when the
 * task is not in the store (what is kept never stands in for the
 * store), else one row of the ended task's id, its place on the chain
 * (1: the task itself), state, time and revocation seq, all NULL when
 * none has ended.  NULL with *rc on failure. */
static PGresult *
chain_ended(mdt_store *s, const char *task_id, const char *chain,
    int *rc)
{
	mdt__pgp p = {0};
	PGresult *r;

	mdt__pgp_text(&p, chain);
	mdt__pgp_text(&p, task_id);
	r = rquery_as(s, R_CHAIN_ENDED, "SELECT x.id, x.n, x.state,"
	    " x.time_ms, x.rev_seq FROM tasks t LEFT JOIN LATERAL (SELECT"
	    " a.id, a.n, e.state, e.time_ms, e.rev_seq FROM unnest($1::text[])"
	    " WITH ORDINALITY a(id, n) JOIN ended e ON e.task_id = a.id"
	    " ORDER BY a.n LIMIT 1) x ON true WHERE t.task_id = $2", &p, rc);
	if (r != NULL && PQntuples(r) == 0) {
		PQclear(r);
		*rc = -MDT_ENOTFOUND;
		return NULL;
	}
	return r;
}

int
mdt__pg_chain_revoked(mdt_store *s, const char *task_id, int *revoked,
    char *revoked_by, size_t len)
{
	PGresult *r;
	char *chain;
	int rc;

	if (s == NULL || task_id == NULL || revoked == NULL)
		return -MDT_EINVAL;
	if (mdt__pg_cache_chain(s->bs->cache, task_id, &chain) != 0)
		return chain_walk(s, task_id, revoked, revoked_by, len);
	r = chain_ended(s, task_id, chain, &rc);
	mdt__free(chain);
	if (r == NULL)
		return rc;
	first_ended(r, revoked, revoked_by, len);
	PQclear(r);
	return 0;
}

/* The task's row and its chain kept (pg_cache.c): one round trip, the
 * chain's ended state, which gives the task's own state too and finds
 * the task still in the store.  Else the two reads, which keep them for
 * the next time. */
int
mdt__pg_task_check(mdt_store *s, const char *task_id, mdt_store_task **out,
    int *revoked, char *revoked_by, size_t len)
{
	mdt_store_task *t;
	PGresult *r;
	char *chain;
	int rc;

	if (s == NULL || task_id == NULL || out == NULL || revoked == NULL)
		return -MDT_EINVAL;
	*out = NULL;
	if (mdt__pg_cache_task(s->bs->cache, task_id, &chain, &t) != 0) {
		if ((rc = mdt__pg_get_task(s, task_id, out)) == 0 &&
		    (rc = mdt__pg_chain_revoked(s, task_id, revoked,
		    revoked_by, len)) != 0) {
			mdt__free(*out);
			*out = NULL;
		}
		return rc;
	}
	r = chain_ended(s, task_id, chain, &rc);
	mdt__free(chain);
	if (r == NULL) {
		mdt__free(t);
		return rc;
	}
	first_ended(r, revoked, revoked_by, len);
	t->state = MDT_TASK_OPEN;
	t->ended_ms = 0;
	t->end_seq = 0;
	if (mdt__pg_int(r, 0, 1) == 1) {
		t->state = (mdt_task_state)mdt__pg_int(r, 0, 2);
		t->ended_ms = mdt__pg_int(r, 0, 3);
		t->end_seq = (uint64_t)mdt__pg_int(r, 0, 4);
	}
	PQclear(r);
	*out = t;
	return 0;
}

static int
tree_visit(mdt_store *s, const PGresult *r, const mdt_store_tree_visitor *v,
    void *arg)
{
	int rc = 0, stop = 0;

	for (int i = 0; stop == 0 && i < PQntuples(r); i++) {
		mdt_store_task *t;
		if ((rc = unpack_task(r, i, (void **)&t)) != 0)
			return rc;
		if (v->task != NULL)
			stop = v->task(arg, t);
		if (stop == 0 && v->decision != NULL) {
			mdt__pgp p = {0};
			mdt__pgp_text(&p, t->task_id);
			stop = each_row(s, " FROM decisions t WHERE"
			    " task_id = $1 ORDER BY seq", &p, NULL,
			    v->decision, arg);
		}
		mdt__free(t);
	}
	return stop < 0 ? stop : 0;
}

int
mdt__pg_task_tree(mdt_store *s, const char *root_task_id,
    const mdt_store_tree_visitor *v, void *arg)
{
	char *cols = NULL, sql[2048];
	mdt__pgp p = {0};
	PGresult *r;
	int rc;

	if (s == NULL || root_task_id == NULL || v == NULL)
		return -MDT_EINVAL;
	if ((cols = mdt__select_list(mdt__kind_get(MDT__KIND_TASK),
	    "t")) == NULL)
		return -MDT_ENOMEM;
	snprintf(sql, sizeof(sql), "WITH RECURSIVE d(id, path, n) AS ("
	    " SELECT task_id, lpad(seq::text, 20, '0'), 0 FROM tasks"
	    " WHERE task_id = $1 UNION ALL SELECT c.task_id, d.path || '/' ||"
	    " lpad(c.seq::text, 20, '0'), d.n + 1 FROM tasks c JOIN d ON"
	    " c.parent_id = d.id WHERE d.n < %d) SELECT %s" TASK_STATE_COLS
	    " FROM d JOIN tasks t ON t.task_id = d.id LEFT JOIN ended e ON"
	    " e.task_id = t.task_id ORDER BY d.path COLLATE \"C\"",
	    MDT__STORE_TREE_DEPTH_MAX, cols);
	mdt__free(cols);
	mdt__pgp_text(&p, root_task_id);
	if ((r = rquery(s, sql, &p, &rc)) == NULL)
		return rc;
	rc = PQntuples(r) == 0 ? -MDT_ENOTFOUND : tree_visit(s, r, v, arg);
	PQclear(r);
	return rc;
}

/* The backend's kind_rows (backend.h): sources and review marks. */
int
mdt__pg_kind_rows(mdt_store *s, int kind, const char *tail,
    const char *const *args, size_t nargs, mdt__row_fn fn, void *arg)
{
	const mdt__kind_desc *d = mdt__kind_get(kind);
	char *cols = d != NULL ? mdt__select_list(d, "t") : NULL;
	const seg sg = {d, 0, d != NULL ? d->seq_off : 0};
	mdt__pgp p = {0};
	char sql[1024];
	PGresult *r;
	int rc = 0, n;

	if (cols == NULL)
		return d == NULL ? -MDT_EINVAL : -MDT_ENOMEM;
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s t%s", cols, d->table,
	    tail);
	mdt__free(cols);
	for (size_t i = 0; i < nargs; i++)
		mdt__pgp_text(&p, args[i]);
	if ((r = rquery(s, sql, &p, &rc)) == NULL)
		return rc;
	n = PQntuples(r);
	for (int i = 0; rc == 0 && i < n; i++) {
		void *rec;
		if ((rc = unpack(r, i, &sg, 1, d->struct_size, &rec)) != 0)
			break;
		rc = fn(arg, rec);
		mdt__free(rec);
	}
	PQclear(r);
	return rc < 0 ? rc : 0;
}

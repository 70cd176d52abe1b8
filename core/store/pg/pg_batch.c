/*
 * Fewer round trips per writer batch on PostgreSQL.  Each statement the
 * writer waits for is a round trip to the server, and the one writer
 * thread does nothing else meanwhile, so a batch's cost is its count of
 * round trips.  Decisions, the bulk of every batch, are therefore not
 * sent one by one: begin sends BEGIN, the head row's lock and the
 * lookup of the batch's request ids already recorded as one pipeline
 * (one round trip); a decision's op is then decided in memory (a request
 * id already recorded, or earlier in the batch, is MDT_EEXIST, as the
 * unique index would say) and its chained row staged; commit sends the
 * staged rows as one multi-row INSERT each for decisions and
 * decision_agents, the new head and COMMIT as one more pipeline.  The
 * head lock is held from begin to COMMIT, so no other broker's record
 * can take a request id in between.  A batch of decisions costs two
 * round trips, however many it holds; COMMIT still returns only once
 * the batch's WAL is flushed (synchronous_commit on), before any of its
 * answers leave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc_int.h"
#include "pg_int.h"

/* ---- text array parameters ------------------------------------- */

typedef struct abuf {
	char *p;
	size_t len, cap;
	int oom;
} abuf;

static void
ab_put(abuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 256) + n;
		char *p = mdt__realloc(b->p, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
ab_str(abuf *b, const char *s)
{
	ab_put(b, s, strlen(s));
}

/* One element of an array literal: NULL, a number, a quoted string
 * (backslash and quote escaped) or a quoted bytea in hex. */
static void
ab_elem(abuf *b, const mdt__val *v)
{
	static const char hx[] = "0123456789abcdef";
	char num[24];

	ab_put(b, b->len > 1 ? "," : "", b->len > 1);
	if (v->type == 'I') {
		snprintf(num, sizeof(num), "%lld", (long long)v->i);
		ab_str(b, num);
	} else if (v->type == 'T') {
		const char *t = v->p, *run = t;
		ab_put(b, "\"", 1);
		for (; *t != '\0'; t++) {
			if (*t != '"' && *t != '\\')
				continue;
			ab_put(b, run, (size_t)(t - run));
			ab_put(b, "\\", 1);
			run = t;
		}
		ab_put(b, run, (size_t)(t - run));
		ab_put(b, "\"", 1);
	} else if (v->type == 'B') {
		const unsigned char *p = v->p;
		ab_put(b, "\"\\\\x", 4);
		for (size_t i = 0; i < v->len; i++) {
			char h[2] = {hx[p[i] >> 4], hx[p[i] & 15]};
			ab_put(b, h, 2);
		}
		ab_put(b, "\"", 1);
	} else {
		ab_put(b, "NULL", 4);
	}
}

char *
mdt__pg_array_of(const PGresult *r, int col)
{
	abuf b = {0};

	ab_put(&b, "{", 1);
	for (int i = 0; i < PQntuples(r); i++) {
		mdt__val v = {.type = 'T', .p = PQgetvalue(r, i, col)};
		if (PQgetisnull(r, i, col))
			v.type = 0;
		ab_elem(&b, &v);
	}
	ab_put(&b, "}", 1);
	if (b.oom) {
		mdt__free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- the staged decisions --------------------------------------- */

struct mdt__pgstaged {
	const mdt_store_decision *d;
	uint64_t seq;
	uint8_t prev[MDT_STORE_HASH_BYTES], hash[MDT_STORE_HASH_BYTES];
};

void
mdt__pg_batch_clear(mdt_store *s)
{
	struct mdt__bstate *b = s->bs;

	b->nstaged = 0;
	mdt__pg_receipt_clear(s);
	PQclear(b->known);
	b->known = NULL;
}

void
mdt__pg_batch_free(mdt_store *s)
{
	mdt__pg_batch_clear(s);
	mdt__free(s->bs->staged);
	s->bs->staged = NULL;
	s->bs->capstaged = 0;
}

/* The batch's decision request ids as a text array literal; NULL when
 * it holds none (*oom on no memory). */
static char *
batch_ids(mdt_store *s, int *oom)
{
	abuf b = {0};

	ab_put(&b, "{", 1);
	for (mdt__op *op = s->w.batch; op != s->w.batch_end; op = op->next) {
		const mdt_store_decision *d = op->rec;
		mdt__val v = {.type = 'T'};
		if (op->type != MDT__OP_DECISION || d->request_id == NULL)
			continue;
		v.p = d->request_id;
		ab_elem(&b, &v);
	}
	ab_put(&b, "}", 1);
	*oom = b.oom;
	if (b.oom || b.len <= 2) {
		mdt__free(b.p);
		return NULL;
	}
	return b.p;
}

/* 1 when request_id is recorded already, or staged earlier. */
static int
known(mdt_store *s, const char *request_id)
{
	struct mdt__bstate *b = s->bs;

	if (request_id == NULL)
		return 0;
	for (int i = 0; b->known != NULL && i < PQntuples(b->known); i++)
		if (strcmp(PQgetvalue(b->known, i, 0), request_id) == 0)
			return 1;
	for (size_t i = 0; i < b->nstaged; i++)
		if (b->staged[i].d->request_id != NULL &&
		    strcmp(b->staged[i].d->request_id, request_id) == 0)
			return 1;
	return 0;
}

int
mdt__pg_stage_decision(mdt_store *s, mdt__op *op)
{
	const mdt__kind_desc *kd = mdt__kind_get(MDT__KIND_DECISION);
	struct mdt__bstate *b = s->bs;
	const mdt_store_decision *d = op->rec;
	mdt__val vals[MDT__COLS_MAX];
	struct mdt__pgstaged *st;

	if (known(s, d->request_id)) {
		mdt__store_seterr(s, "decisions: already recorded");
		return -MDT_EEXIST;
	}
	if (b->nstaged == b->capstaged) {
		size_t cap = b->capstaged ? b->capstaged * 2 : 64;
		void *p = mdt__realloc(b->staged, cap * sizeof(*b->staged));
		if (p == NULL)
			return -MDT_ENOMEM;
		b->staged = p;
		b->capstaged = cap;
	}
	st = &b->staged[b->nstaged++];
	st->d = d;
	st->seq = s->w.head_seq + 1;
	memcpy(st->prev, s->w.head_hash, sizeof(st->prev));
	mdt__kind_vals(kd, d, vals);
	mdt__chain_hash(MDT__KIND_DECISION, st->prev, vals,
	    mdt__kind_nhashed(kd, vals), st->hash);
	s->w.head_seq = st->seq;
	memcpy(s->w.head_hash, st->hash, sizeof(st->hash));
	op->seq = st->seq;
	return 0;
}

/* ---- pipelines -------------------------------------------------- */

/* Prepares statement idx on the writer connection once. */
static int
prepare(mdt_store *s, int idx, const char *sql, int nparams)
{
	mdt__pgconn *pc = &s->bs->w;
	char name[16];
	PGresult *r;
	int ok;

	if (pc->prepared & (1u << idx))
		return 0;
	snprintf(name, sizeof(name), "s%d", idx);
	r = PQprepare(pc->c, name, sql, nparams, NULL);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok) {
		mdt__store_seterr(s, "preparing: %s", PQerrorMessage(pc->c));
		return -MDT_ESTORE;
	}
	pc->prepared |= 1u << idx;
	return 0;
}

static int
send_prep(PGconn *c, int idx, const mdt__pgp *p)
{
	char name[16];

	snprintf(name, sizeof(name), "s%d", idx);
	return PQsendQueryPrepared(c, name, p != NULL ? p->n : 0,
	    p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
	    p != NULL ? p->fmt : NULL, 1);
}

/* After n queries and a sync were sent in pipeline mode: their results
 * into res[0..n) (each NULL or the caller's to clear), the pipeline
 * ended.  0 when every query succeeded, else -MDT_ESTORE with the first
 * error on the handle (-MDT_EEXIST for a uniqueness violation). */
static int
collect(mdt_store *s, PGconn *c, int n, PGresult **res, const char *what)
{
	int rc = 0;

	for (int i = 0; i < n; i++) {
		PGresult *r = PQgetResult(c), *x;
		ExecStatusType st = PQresultStatus(r);
		res[i] = r;
		if (r != NULL)
			while ((x = PQgetResult(c)) != NULL)
				PQclear(x);
		if (rc == 0 && st != PGRES_COMMAND_OK &&
		    st != PGRES_TUPLES_OK) {
			const char *code = r != NULL ? PQresultErrorField(r,
			    PG_DIAG_SQLSTATE) : NULL;
			rc = code != NULL && strcmp(code, "23505") == 0 ?
			    -MDT_EEXIST : -MDT_ESTORE;
			mdt__store_seterr(s, "%s: %s", what,
			    PQerrorMessage(c));
		}
		if (r == NULL)
			break; /* the connection is gone */
	}
	for (PGresult *r; (r = PQgetResult(c)) != NULL;) {
		int sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
		PQclear(r);
		if (sync)
			break;
	}
	if (!PQexitPipelineMode(c) && rc == 0) {
		mdt__store_seterr(s, "%s: %s", what, PQerrorMessage(c));
		rc = -MDT_ESTORE;
	}
	return rc;
}

static void
clear_all(PGresult **res, int n)
{
	for (int i = 0; i < n; i++)
		PQclear(res[i]);
}

static const char head_sql[] = "SELECT seq, hash, last_cp, rhead FROM head"
    " WHERE one = 1 FOR UPDATE";
/* Not prepared: a generic plan made while `decisions` is small (a new
 * store) is a sequential scan, kept for the life of the connection; on a
 * fresh store it was most of the server's time per batch (about 6 ms
 * at 12 000 rows, against 0.1 ms planned with the batch's ids). */
static const char known_sql[] = "SELECT request_id FROM decisions"
    " WHERE request_id = ANY($1::text[])";

int
mdt__pg_begin_batch(mdt_store *s, PGresult **head)
{
	PGconn *c = s->bs->w.c;
	PGresult *res[3] = {NULL, NULL, NULL};
	mdt__pgp p = {0};
	char *ids;
	int oom, rc, n, sent = 0;

	mdt__pg_batch_clear(s);
	if ((rc = prepare(s, MDT__PGS_HEAD, head_sql, 0)) != 0)
		return rc;
	if ((ids = batch_ids(s, &oom)) == NULL && oom)
		return -MDT_ENOMEM;
	mdt__pgp_text(&p, ids);
	n = 0;
	if (PQenterPipelineMode(c) &&
	    PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) &&
	    ++n && send_prep(c, MDT__PGS_HEAD, NULL) && ++n &&
	    (ids == NULL || (PQsendQueryParams(c, known_sql, 1, NULL, p.v,
	    p.len, p.fmt, 1) && ++n)))
		sent = PQpipelineSync(c);
	else
		(void)PQpipelineSync(c);
	rc = collect(s, c, n, res, "begin");
	mdt__free(ids);
	if (rc == 0 && (!sent || n < 2)) {
		mdt__store_seterr(s, "begin: %s", PQerrorMessage(c));
		rc = -MDT_ESTORE;
	}
	if (rc == 0) {
		*head = res[1];
		s->bs->known = res[2];
		res[1] = res[2] = NULL;
	}
	clear_all(res, 3);
	return rc;
}

/* ---- commit ----------------------------------------------------- */

#define DEC_PARAMS (3 + MDT__COLS_MAX)

static const char *
col_type(char t)
{
	return t == 'T' ? "text" : (t == 'H' || t == 'P') ? "bytea" : "bigint";
}

/* INSERT INTO decisions(...) SELECT * FROM unnest($1::bigint[], ...) */
static char *
insert_sql(void)
{
	const mdt__kind_desc *d = mdt__kind_get(MDT__KIND_DECISION);
	abuf b = {0};
	char t[64];

	ab_str(&b, "INSERT INTO decisions(seq, prev, hash");
	for (size_t i = 0; i < d->ncols; i++) {
		ab_str(&b, ", ");
		ab_str(&b, d->cols[i].name);
	}
	ab_str(&b, ") SELECT * FROM unnest($1::bigint[], $2::bytea[],"
	    " $3::bytea[]");
	for (size_t i = 0; i < d->ncols; i++) {
		snprintf(t, sizeof(t), ", $%zu::%s[]", i + 4,
		    col_type(d->cols[i].type));
		ab_str(&b, t);
	}
	ab_str(&b, ")");
	if (b.oom) {
		mdt__free(b.p);
		return NULL;
	}
	return b.p;
}

/* The staged rows as one array parameter per column, in a[]. */
static int
decision_arrays(mdt_store *s, abuf *a, size_t na)
{
	const mdt__kind_desc *kd = mdt__kind_get(MDT__KIND_DECISION);
	struct mdt__bstate *b = s->bs;
	int oom = 0;

	for (size_t k = 0; k < na; k++)
		ab_put(&a[k], "{", 1);
	for (size_t i = 0; i < b->nstaged; i++) {
		const struct mdt__pgstaged *st = &b->staged[i];
		mdt__val vals[MDT__COLS_MAX];
		mdt__val head[3] = {{.type = 'I', .i = (int64_t)st->seq},
		    {.type = 'B', .p = st->prev, .len = sizeof(st->prev)},
		    {.type = 'B', .p = st->hash, .len = sizeof(st->hash)}};
		mdt__kind_vals(kd, st->d, vals);
		for (size_t k = 0; k < 3; k++)
			ab_elem(&a[k], &head[k]);
		for (size_t k = 0; k < kd->ncols; k++)
			ab_elem(&a[3 + k], &vals[k]);
	}
	for (size_t k = 0; k < na; k++) {
		ab_put(&a[k], "}", 1);
		oom |= a[k].oom;
	}
	return oom ? -MDT_ENOMEM : 0;
}

/* 1 when name is the acting agent or a string of chain before index
 * k: each (agent, seq) goes in once. */
static int
seen(const char *agent, json_t *chain, size_t k, const char *name)
{
	if (agent != NULL && strcmp(agent, name) == 0)
		return 1;
	for (size_t j = 0; j < k; j++) {
		json_t *e = json_array_get(chain, j);
		if (json_is_string(e) && strcmp(json_string_value(e),
		    name) == 0)
			return 1;
	}
	return 0;
}

/* Every agent of the staged decisions (the acting one and each hop of
 * the chain, a JSON array of strings checked on append) beside its
 * decision's seq, for decision_agents, each pair once: a plain INSERT
 * costs the server less than one ON CONFLICT has to check. */
static int
agent_arrays(mdt_store *s, abuf *agents, abuf *seqs)
{
	struct mdt__bstate *b = s->bs;

	ab_put(agents, "{", 1);
	ab_put(seqs, "{", 1);
	for (size_t i = 0; i < b->nstaged; i++) {
		const struct mdt__pgstaged *st = &b->staged[i];
		mdt__val seq = {.type = 'I', .i = (int64_t)st->seq};
		mdt__val a = {.type = 'T'};
		json_t *chain = st->d->agent_chain != NULL ?
		    json_loads(st->d->agent_chain, 0, NULL) : NULL;
		size_t k;
		json_t *e;
		if (st->d->agent != NULL) {
			a.p = st->d->agent;
			ab_elem(agents, &a);
			ab_elem(seqs, &seq);
		}
		json_array_foreach(chain, k, e) {
			if (!json_is_string(e) || seen(st->d->agent, chain, k,
			    json_string_value(e)))
				continue;
			a.p = json_string_value(e);
			ab_elem(agents, &a);
			ab_elem(seqs, &seq);
		}
		json_decref(chain);
	}
	ab_put(agents, "}", 1);
	ab_put(seqs, "}", 1);
	return agents->oom || seqs->oom ? -MDT_ENOMEM : 0;
}

static const char agents_sql[] = "INSERT INTO decision_agents(agent, seq)"
    " SELECT * FROM unnest($1::text[], $2::bigint[])";
/* rhead: the batch's receipt head's hash, or NULL to keep the last */
static const char head_set_sql[] = "UPDATE head SET seq = $1, hash = $2,"
    " last_cp = $3, rhead = coalesce($4::bytea, rhead) WHERE one = 1";

static int
prepare_commit(mdt_store *s)
{
	char *sql;
	int rc;

	if ((rc = prepare(s, MDT__PGS_HEAD_SET, head_set_sql, 4)) != 0 ||
	    (rc = prepare(s, MDT__PGS_AGENTS, agents_sql, 2)) != 0)
		return rc;
	if (s->bs->w.prepared & (1u << MDT__PGS_DECISIONS))
		return 0;
	if ((sql = insert_sql()) == NULL)
		return -MDT_ENOMEM;
	rc = prepare(s, MDT__PGS_DECISIONS, sql, 0);
	mdt__free(sql);
	return rc;
}

/* Sends the staged rows (when with_head: the new head and COMMIT too)
 * as one pipeline and reads its results. */
static int
send_batch(mdt_store *s, int with_head)
{
	const mdt__kind_desc *kd = mdt__kind_get(MDT__KIND_DECISION);
	PGconn *c = s->bs->w.c;
	size_t na = 3 + kd->ncols;
	abuf a[DEC_PARAMS + 2];
	mdt__pgp pd = {0}, pa = {0}, ph = {0};
	PGresult *res[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
	int staged = s->bs->nstaged > 0, rc, n = 0, sent = 1;

	memset(a, 0, sizeof(a));
	if ((rc = prepare_commit(s)) != 0)
		return rc;
	if (staged && ((rc = decision_arrays(s, a, na)) != 0 ||
	    (rc = agent_arrays(s, &a[na], &a[na + 1])) != 0))
		goto out;
	for (size_t k = 0; k < na; k++)
		mdt__pgp_text(&pd, a[k].p);
	mdt__pgp_text(&pa, a[na].p);
	mdt__pgp_text(&pa, a[na + 1].p);
	mdt__pgp_int(&ph, (int64_t)s->w.head_seq);
	mdt__pgp_blob(&ph, s->w.head_hash, MDT_STORE_HASH_BYTES);
	mdt__pgp_int(&ph, (int64_t)s->w.last_cp);
	if (with_head && s->bs->rcpt.staged)
		mdt__pgp_blob(&ph, s->bs->rcpt.hash, MDT_RECEIPT_HASH_BYTES);
	else
		mdt__pgp_text(&ph, NULL);
	sent = PQenterPipelineMode(c);
	if (sent && staged)
		sent = send_prep(c, MDT__PGS_DECISIONS, &pd) && ++n &&
		    send_prep(c, MDT__PGS_AGENTS, &pa) && ++n;
	if (sent && with_head)
		sent = mdt__pg_receipt_send(s, c, &n) &&
		    send_prep(c, MDT__PGS_HEAD_SET, &ph) && ++n &&
		    PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL,
		    0) && ++n;
	sent = PQpipelineSync(c) && sent;
	rc = collect(s, c, n, res, "commit");
	if (rc == 0 && !sent) {
		mdt__store_seterr(s, "commit: %s", PQerrorMessage(c));
		rc = -MDT_ESTORE;
	}
	if (rc == 0 && staged &&
	    strtoull(PQcmdTuples(res[0]), NULL, 10) != s->bs->nstaged) {
		mdt__store_seterr(s, "decisions: not every row was written");
		rc = -MDT_ESTORE;
	}
	if (rc == 0)
		s->bs->nstaged = 0;
	clear_all(res, 6);
out:
	for (size_t k = 0; k < DEC_PARAMS + 2; k++)
		mdt__free(a[k].p);
	return rc;
}

int
mdt__pg_flush(mdt_store *s)
{
	return s->bs->nstaged > 0 ? send_batch(s, 0) : 0;
}

int
mdt__pg_commit_batch(mdt_store *s)
{
	int rc = send_batch(s, 1);

	mdt__pg_batch_clear(s);
	return rc;
}

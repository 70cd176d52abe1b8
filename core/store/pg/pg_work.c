/*
 * Work items on PostgreSQL (table `work`): push, lease and acknowledge
 * run in the writer's batch, which holds the chain head's row lock, so
 * two brokers never lease the same item; listings run on the read
 * connections.  The public entry points (validation, the op) are shared
 * with SQLite (sqlite/work.c).
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "pg_int.h"
#include "../work_int.h"

#define COLS "seq, item_id, agent, kind, task_id, parent_id, from_agent," \
    " op, status, scopes, patient, purpose, clinician, depth, expires," \
    " token, payload, time_ms, lease_until, deliveries"
#define FILTER " AND ($3::bigint = 0 OR (kind = 2 AND CASE $3::bigint" \
    " WHEN 1 THEN task_id = $4 ELSE parent_id = $4 END))"

static PGconn *
wc(mdt_store *s)
{
	return s->bs->w.c;
}

static const char *
col_text(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static const unsigned char *
col_blob(const PGresult *r, int row, int col, size_t *len)
{
	*len = PQgetisnull(r, row, col) ? 0 : (size_t)PQgetlength(r, row, col);
	return PQgetisnull(r, row, col) ? NULL :
	    (const unsigned char *)PQgetvalue(r, row, col);
}

/* Points v's fields at the row's columns (valid until PQclear). */
static void
row_view(const PGresult *r, int i, mdt_work_item *v)
{
	memset(v, 0, sizeof(*v));
	v->seq = (uint64_t)mdt__pg_int(r, i, 0);
	v->id = col_text(r, i, 1);
	v->agent = col_text(r, i, 2);
	v->kind = (mdt_work_kind)mdt__pg_int(r, i, 3);
	v->task = col_text(r, i, 4);
	v->parent = col_text(r, i, 5);
	v->from = col_text(r, i, 6);
	v->op = col_text(r, i, 7);
	v->status = col_text(r, i, 8);
	v->scopes = col_text(r, i, 9);
	v->patient = col_text(r, i, 10);
	v->purpose = col_text(r, i, 11);
	v->clinician = col_text(r, i, 12);
	v->depth = mdt__pg_int(r, i, 13);
	v->expires = mdt__pg_int(r, i, 14);
	v->token = col_blob(r, i, 15, &v->token_len);
	v->payload = col_blob(r, i, 16, &v->payload_len);
	v->time_ms = mdt__pg_int(r, i, 17);
	v->lease_until_ms = mdt__pg_int(r, i, 18);
	v->deliveries = (uint32_t)mdt__pg_int(r, i, 19);
}

/* Runs a one-integer query on the writer; *null when no value. */
static int
scalar(mdt_store *s, const char *sql, const mdt__pgp *p, int64_t *v,
    int *null)
{
	int rc;
	PGresult *r;

	*v = 0;
	*null = 1;
	if ((r = mdt__pg_q(s, wc(s), sql, p, "work", &rc)) == NULL)
		return rc;
	*null = PQntuples(r) == 0 || PQgetisnull(r, 0, 0);
	*v = *null ? 0 : mdt__pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static int
push_checks(mdt_store *s, const struct mdt__work_req *q)
{
	mdt__pgp p = {0};
	int64_t n;
	int null, rc;

	mdt__pgp_text(&p, q->it->kind == MDT_WORK_TASK ? q->it->task : NULL);
	if (q->max_pending > 0) {
		mdt__pgp p2 = {0};
		mdt__pgp_text(&p2, q->it->agent);
		if ((rc = scalar(s, "SELECT count(*) FROM work WHERE"
		    " agent = $1", &p2, &n, &null)) != 0)
			return rc;
		if (n >= (int64_t)q->max_pending)
			return -MDT_EBUSY;
	}
	if (q->it->kind != MDT_WORK_TASK)
		return 0;
	if ((rc = scalar(s, "SELECT 1 FROM ended WHERE task_id = $1", &p, &n,
	    &null)) != 0)
		return rc;
	return null ? 0 : -MDT_EREVOKED;
}

static int
work_push(mdt_store *s, mdt__op *op, const struct mdt__work_req *q)
{
	const mdt_work_item *it = q->it;
	const char *t[11] = { it->id, it->agent, it->task, it->parent,
	    it->from, it->op, it->status, it->scopes, it->patient,
	    it->purpose, it->clinician };
	mdt__pgp p = {0};
	int64_t seq = 0;
	int null = 0, rc;

	if ((rc = push_checks(s, q)) != 0)
		return rc;
	for (int i = 0; i < 11; i++)
		mdt__pgp_text(&p, t[i]);
	mdt__pgp_int(&p, (int64_t)it->kind);
	mdt__pgp_int(&p, it->depth);
	mdt__pgp_int(&p, it->expires);
	if (it->token != NULL)
		mdt__pgp_blob(&p, it->token, it->token_len);
	else
		mdt__pgp_text(&p, NULL);
	if (it->payload != NULL)
		mdt__pgp_blob(&p, it->payload, it->payload_len);
	else
		mdt__pgp_text(&p, NULL);
	mdt__pgp_int(&p, it->time_ms);
	if ((rc = scalar(s, "INSERT INTO work(item_id, agent, task_id,"
	    " parent_id, from_agent, op, status, scopes, patient, purpose,"
	    " clinician, kind, depth, expires, token, payload, time_ms)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
	    " $14, $15, $16, $17) ON CONFLICT DO NOTHING RETURNING seq", &p,
	    &seq, &null)) != 0)
		return rc;
	if (null) {
		mdt__store_seterr(s, "work item %s: already queued", it->id);
		return -MDT_EEXIST;
	}
	op->seq = (uint64_t)seq;
	return 0;
}

static void
filter_params(mdt__pgp *p, const struct mdt__work_req *q)
{
	mdt__pgp_text(p, q->agent);
	mdt__pgp_int(p, q->now_ms);
	mdt__pgp_int(p, q->mode);
	mdt__pgp_text(p, q->fkey);
}

static int
lease_retry(mdt_store *s, struct mdt__work_req *q)
{
	mdt__pgp p = {0};
	int null, rc;

	filter_params(&p, q);
	if ((rc = scalar(s, "SELECT min(lease_until) FROM work WHERE"
	    " agent = $1 AND lease_until > $2" FILTER, &p, &q->retry_ms,
	    &null)) != 0)
		return rc;
	return -MDT_ENOTFOUND;
}

static int
work_lease(mdt_store *s, mdt__op *op, struct mdt__work_req *q)
{
	mdt_work_item view, *it = NULL;
	mdt__pgp p = {0}, m = {0};
	PGresult *r;
	int rc;

	filter_params(&p, q);
	r = mdt__pg_q(s, wc(s), "SELECT " COLS " FROM work WHERE agent = $1"
	    " AND lease_until <= $2" FILTER " ORDER BY seq LIMIT 1", &p,
	    "work", &rc);
	if (r == NULL)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return lease_retry(s, q);
	}
	row_view(r, 0, &view);
	it = mdt__work_item_dup(&view);
	PQclear(r);
	if (it == NULL)
		return -MDT_ENOMEM;
	it->lease_until_ms = q->until_ms;
	it->deliveries++;
	mdt__pgp_int(&m, (int64_t)it->seq);
	mdt__pgp_int(&m, it->lease_until_ms);
	if ((rc = mdt__pg_exec(s, wc(s), "UPDATE work SET lease_until = $2,"
	    " deliveries = deliveries + 1 WHERE seq = $1", &m, "work")) != 0) {
		mdt__free(it);
		return rc;
	}
	op->seq = it->seq;
	op->result = it;
	return 0;
}

static int
work_ack(mdt_store *s, const struct mdt__work_req *q)
{
	mdt__pgp p = {0};
	PGresult *r;
	int rc;

	mdt__pgp_text(&p, q->id);
	mdt__pgp_text(&p, q->agent);
	r = mdt__pg_q(s, wc(s), "DELETE FROM work WHERE item_id = $1 AND"
	    " agent = $2", &p, "work", &rc);
	if (r == NULL)
		return rc;
	rc = strcmp(PQcmdTuples(r), "0") == 0 ? -MDT_ENOTFOUND : 0;
	PQclear(r);
	return rc;
}

int
mdt__pg_work_run(mdt_store *s, mdt__op *op)
{
	struct mdt__work_req *q = (struct mdt__work_req *)(uintptr_t)op->rec;

	switch (q->what) {
	case MDT__WORK_PUSH:
		return work_push(s, op, q);
	case MDT__WORK_LEASE:
		return work_lease(s, op, q);
	default:
		return work_ack(s, q);
	}
}

int
mdt__pg_work_ended(mdt_store *s, const char *const *ids, size_t n)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		mdt__pgp p = {0};
		mdt__pgp_text(&p, ids[i]);
		rc = mdt__pg_exec(s, wc(s), "DELETE FROM work WHERE kind = 1"
		    " AND task_id = $1", &p, "work");
	}
	return rc;
}

int
mdt__pg_work_list(mdt_store *s, const char *agent, mdt_work_item_fn fn,
    void *arg)
{
	mdt__pgconn *c;
	mdt__pgp p = {0};
	PGresult *r;
	int rc, stop = 0;

	if (s == NULL || fn == NULL)
		return -MDT_EINVAL;
	if ((c = mdt__pg_reader(s)) == NULL)
		return -MDT_ESTORE;
	mdt__pgp_text(&p, agent);
	r = mdt__pg_q_again(s, c, agent != NULL ? "SELECT " COLS " FROM work"
	    " WHERE agent = $1 ORDER BY seq" : "SELECT " COLS " FROM work"
	    " ORDER BY seq", agent != NULL ? &p : NULL, "work listing", &rc);
	mdt__pg_reader_release(c);
	for (int i = 0; r != NULL && stop == 0 && i < PQntuples(r); i++) {
		mdt_work_item it;
		row_view(r, i, &it);
		stop = fn(arg, &it);
	}
	PQclear(r);
	return rc != 0 ? rc : stop < 0 ? stop : 0;
}

/*
 * What the PostgreSQL writer does for each operation inside its batch:
 * the checks that must not race (parent exists and is not ended,
 * fan-out, first approval decision wins), appending the chained record,
 * the revocation cascade and signed checkpoints.  Uniqueness is checked
 * with ON CONFLICT DO NOTHING, not by an error: an error aborts the
 * whole PostgreSQL transaction, a refused duplicate must not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "alloc_int.h"
#include "pg_int.h"

static PGconn *
wc(mdt_store *s)
{
	return s->bs->w.c;
}

/* Appends one chained record of `kind`; -MDT_EEXIST when a unique
 * column already holds its value. */
static int
chain_append(mdt_store *s, int kind, const void *rec, uint64_t *seq_out)
{
	const mdt__kind_desc *d = mdt__kind_get(kind);
	mdt__writer *w = &s->w;
	mdt__val vals[MDT__COLS_MAX];
	uint8_t hash[MDT_STORE_HASH_BYTES];
	uint64_t seq = w->head_seq + 1;
	mdt__pgp p = {0};
	char *sql = NULL;
	PGresult *r;
	int rc;

	if (!(s->bs->w.prepared & (1u << (MDT__PGS_INSERT + kind))) &&
	    (sql = mdt__insert_sql(d, 1)) == NULL)
		return -MDT_ENOMEM;
	mdt__kind_vals(d, rec, vals);
	mdt__chain_hash(kind, w->head_hash, vals, mdt__kind_nhashed(d, vals),
	    hash);
	mdt__pgp_int(&p, (int64_t)seq);
	mdt__pgp_blob(&p, w->head_hash, MDT_STORE_HASH_BYTES);
	mdt__pgp_blob(&p, hash, MDT_STORE_HASH_BYTES);
	mdt__pgp_vals(&p, vals, d->ncols);
	r = mdt__pg_qprep(s, &s->bs->w, MDT__PGS_INSERT + kind, sql, &p,
	    d->table, &rc);
	mdt__free(sql);
	if (r == NULL)
		return rc;
	rc = strcmp(PQcmdTuples(r), "1") == 0 ? 0 : -MDT_EEXIST;
	PQclear(r);
	if (rc != 0) {
		mdt__store_seterr(s, "%s: already recorded", d->table);
		return rc;
	}
	w->head_seq = seq;
	memcpy(w->head_hash, hash, sizeof(hash));
	*seq_out = seq;
	return 0;
}

/* One-text-parameter query on the writer; *out the result (rows or
 * not), or the error. */
static int
query1(mdt_store *s, const char *sql, const char *arg, PGresult **out)
{
	mdt__pgp p = {0};
	int rc;

	mdt__pgp_text(&p, arg);
	*out = mdt__pg_q(s, wc(s), sql, &p, "query", &rc);
	return rc;
}

static int
same_text(const PGresult *r, int col, const char *want)
{
	if (PQgetisnull(r, 0, col) || want == NULL)
		return PQgetisnull(r, 0, col) && want == NULL;
	return strcmp(PQgetvalue(r, 0, col), want) == 0;
}

static int
chain_ended(mdt_store *s, const char *parent)
{
	PGresult *r;
	int rc = query1(s, "WITH RECURSIVE up(id, n) AS (SELECT $1::text, 0"
	    " UNION ALL SELECT t.parent_id, up.n + 1 FROM tasks t JOIN up"
	    " ON t.task_id = up.id WHERE t.parent_id IS NOT NULL AND"
	    " up.n < 256) SELECT e.task_id FROM up JOIN ended e ON"
	    " e.task_id = up.id LIMIT 1", parent, &r);

	if (rc != 0)
		return rc;
	rc = PQntuples(r) > 0 ? -MDT_EREVOKED : 0;
	PQclear(r);
	return rc;
}

/* Checks a child task against its parent; fills a missing root_id. */
static int
check_child(mdt_store *s, mdt_store_task *t, char *root, size_t rootlen)
{
	PGresult *r;
	int rc = query1(s, "SELECT root_id, depth, patient, clinician,"
	    " purpose FROM tasks WHERE task_id = $1", t->parent_id, &r), ok;

	if (rc != 0)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return -MDT_ENOTFOUND;
	}
	if (t->root_id == NULL) {
		snprintf(root, rootlen, "%s", PQgetvalue(r, 0, 0));
		t->root_id = root;
	}
	ok = same_text(r, 0, t->root_id) && same_text(r, 2, t->patient) &&
	    same_text(r, 3, t->clinician) && same_text(r, 4, t->purpose) &&
	    (int64_t)t->depth == mdt__pg_int(r, 0, 1) + 1;
	PQclear(r);
	if (!ok) {
		mdt__store_seterr(s, "task %s does not match its parent %s "
		    "(root, depth, patient, clinician and purpose)", t->task_id,
		    t->parent_id);
		return -MDT_EINVAL;
	}
	return chain_ended(s, t->parent_id);
}

static int
check_fanout(mdt_store *s, const char *parent, uint32_t max)
{
	PGresult *r;
	int rc = query1(s, "SELECT count(*) FROM tasks WHERE parent_id = $1",
	    parent, &r);

	if (rc != 0)
		return rc;
	rc = mdt__pg_int(r, 0, 0) >= (int64_t)max ? -MDT_EFANOUT : 0;
	PQclear(r);
	return rc;
}

static int
op_task(mdt_store *s, mdt__op *op)
{
	mdt_store_task t = *(const mdt_store_task *)op->rec;
	char root[MDT_STORE_FIELD_MAX + 1];
	int rc;

	if (t.parent_id != NULL) {
		if ((rc = check_child(s, &t, root, sizeof(root))) != 0)
			return rc;
		if (op->max_children > 0 &&
		    (rc = check_fanout(s, t.parent_id, op->max_children)) != 0)
			return rc;
	}
	return chain_append(s, MDT__KIND_TASK, &t, &op->seq);
}

/* Decided in memory and sent at commit (pg_batch.c). */
static int
op_decision(mdt_store *s, mdt__op *op)
{
	return mdt__pg_stage_decision(s, op);
}

static int
op_approval(mdt_store *s, mdt__op *op)
{
	return chain_append(s, MDT__KIND_APPROVAL, op->rec, &op->seq);
}

static int
op_approval_decision(mdt_store *s, mdt__op *op)
{
	const mdt_store_approval *ap = op->rec;
	PGresult *r;
	int rc = query1(s, "SELECT 1 FROM approvals WHERE approval_id = $1",
	    ap->approval_id, &r), n;

	if (rc != 0)
		return rc;
	n = PQntuples(r);
	PQclear(r);
	if (n == 0)
		return -MDT_ENOTFOUND;
	return chain_append(s, MDT__KIND_APPROVAL_DECISION, ap, &op->seq);
}

static int
op_use_act(mdt_store *s, mdt__op *op)
{
	return chain_append(s, MDT__KIND_ACT_USE, op->rec, &op->seq);
}

/* task_id and its not-yet-ended descendants, preorder. */
static int
collect_cascade(mdt_store *s, const char *task_id, json_t *ids)
{
	PGresult *r;
	int rc = query1(s, "WITH RECURSIVE d(id, path, n) AS ("
	    " SELECT task_id, lpad(seq::text, 20, '0'), 0 FROM tasks"
	    " WHERE task_id = $1 UNION ALL SELECT t.task_id,"
	    " d.path || '/' || lpad(t.seq::text, 20, '0'), d.n + 1 FROM tasks t"
	    " JOIN d ON t.parent_id = d.id WHERE d.n < 256)"
	    " SELECT d.id FROM d WHERE d.id = $1 OR NOT EXISTS (SELECT 1 FROM"
	    " ended e WHERE e.task_id = d.id) ORDER BY d.path COLLATE \"C\"",
	    task_id, &r);

	if (rc != 0)
		return rc;
	if (PQntuples(r) > MDT_STORE_REVOKE_MAX) {
		mdt__store_seterr(s, "more than %d tasks under %s",
		    MDT_STORE_REVOKE_MAX, task_id);
		rc = -MDT_ETOOBIG;
	}
	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		if (json_array_append_new(ids,
		    json_string(PQgetvalue(r, i, 0))) != 0)
			rc = -MDT_ENOMEM;
	PQclear(r);
	return rc;
}

static int
insert_ended(mdt_store *s, const char *id, int state, uint64_t seq,
    int64_t time_ms)
{
	mdt__pgp p = {0};

	mdt__pgp_text(&p, id);
	mdt__pgp_int(&p, state);
	mdt__pgp_int(&p, (int64_t)seq);
	mdt__pgp_int(&p, time_ms);
	return mdt__pg_exec(s, wc(s), "INSERT INTO ended(task_id, state,"
	    " rev_seq, time_ms) VALUES ($1, $2, $3, $4)", &p, "ended");
}

static int
end_cascade(mdt_store *s, mdt__op *op, mdt__revocation_row *row,
    json_t *ids, char **text)
{
	size_t i;
	json_t *e;
	int rc;

	if ((rc = collect_cascade(s, row->task_id, ids)) != 0)
		return rc;
	if ((*text = json_dumps(ids, JSON_COMPACT)) == NULL)
		return -MDT_ENOMEM;
	row->revoked = *text;
	rc = chain_append(s, MDT__KIND_REVOCATION, row, &op->seq);
	json_array_foreach(ids, i, e) {
		if (rc != 0)
			break;
		rc = insert_ended(s, json_string_value(e),
		    i == 0 ? row->state : MDT_TASK_REVOKED, op->seq,
		    row->time_ms);
	}
	if (rc == 0)
		rc = mdt__revocation_list(ids, op->seq, row->time_ms,
		    (mdt_store_revocation **)&op->result);
	if (rc == 0) {
		const mdt_store_revocation *rv = op->result;
		rc = mdt__pg_work_ended(s, rv->task_ids, rv->count);
	}
	return rc;
}

static int
op_end_task(mdt_store *s, mdt__op *op)
{
	mdt__revocation_row row = *(const mdt__revocation_row *)op->rec;
	json_t *ids;
	char *text = NULL;
	PGresult *r;
	int rc = query1(s, "SELECT e.state FROM tasks t LEFT JOIN ended e"
	    " ON e.task_id = t.task_id WHERE t.task_id = $1", row.task_id, &r);
	int n, ended;

	if (rc != 0)
		return rc;
	n = PQntuples(r);
	ended = n > 0 && !PQgetisnull(r, 0, 0);
	PQclear(r);
	if (n == 0)
		return -MDT_ENOTFOUND;
	if (ended)
		return -MDT_EREVOKED;
	if ((ids = json_array()) == NULL)
		return -MDT_ENOMEM;
	rc = end_cascade(s, op, &row, ids, &text);
	free(text);
	json_decref(ids);
	return rc;
}

int
mdt__pg_checkpoint(mdt_store *s, int64_t now_ms)
{
	mdt__writer *w = &s->w;
	uint8_t msg[MDT__CHECKPOINT_MSG_BYTES], sig[MDT_STORE_SIG_BYTES];
	mdt__pgp p = {0};
	size_t len;
	int rc;

	if (!s->have_key || w->head_seq == w->last_cp)
		return 0;
	len = mdt__checkpoint_msg(s->id, w->head_seq, w->head_hash, now_ms,
	    w->last_cp, msg);
	if (crypto_sign_detached(sig, NULL, msg, len, s->seal_sk) != 0)
		return -MDT_ECRYPTO;
	mdt__pgp_int(&p, (int64_t)w->head_seq);
	mdt__pgp_blob(&p, w->head_hash, MDT_STORE_HASH_BYTES);
	mdt__pgp_int(&p, now_ms);
	mdt__pgp_int(&p, (int64_t)w->last_cp);
	mdt__pgp_blob(&p, sig, sizeof(sig));
	if ((rc = mdt__pg_exec(s, wc(s), "INSERT INTO checkpoints(seq, hash,"
	    " time_ms, prev_cp, sig) VALUES ($1, $2, $3, $4, $5)", &p,
	    "checkpoint")) != 0)
		return rc;
	w->last_cp = w->head_seq;
	return 0;
}

static int
op_checkpoint(mdt_store *s, mdt__op *op)
{
	uint64_t before = s->w.last_cp;
	int rc = mdt__pg_checkpoint(s, mdt_store_now_ms());

	op->seq = rc == 0 && s->w.last_cp != before ? s->w.last_cp : 0;
	return rc;
}

static int
op_exec(mdt_store *s, mdt__op *op)
{
	PGresult *r;
	ExecStatusType st;
	int rc = mdt__pg_flush(s); /* the SQL may read them */

	if (rc != 0)
		return rc;
	r = PQexec(wc(s), op->rec);
	st = PQresultStatus(r);

	PQclear(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	mdt__store_seterr(s, "exec: %s", PQerrorMessage(wc(s)));
	return -MDT_ESTORE;
}

/* A second source of the same kind and hash, or a second mark of one
 * decision, is the unique index refusing the row (EEXIST). */
static int
op_source(mdt_store *s, mdt__op *op)
{
	return chain_append(s, MDT__KIND_SOURCE, op->rec, &op->seq);
}

static int
op_review(mdt_store *s, mdt__op *op)
{
	return chain_append(s, MDT__KIND_REVIEW, op->rec, &op->seq);
}

typedef int (*op_fn)(mdt_store *, mdt__op *);

static const op_fn ops[] = {
	[MDT__OP_DECISION] = op_decision,
	[MDT__OP_TASK] = op_task,
	[MDT__OP_APPROVAL] = op_approval,
	[MDT__OP_APPROVAL_DECISION] = op_approval_decision,
	[MDT__OP_END_TASK] = op_end_task,
	[MDT__OP_CHECKPOINT] = op_checkpoint,
	[MDT__OP_USE_ACT] = op_use_act,
	[MDT__OP_EXEC] = op_exec,
	[MDT__OP_WORK] = mdt__pg_work_run,
	[MDT__OP_SOURCE] = op_source,
	[MDT__OP_REVIEW] = op_review,
	[MDT__OP_CLINICIAN] = mdt__pg_clinician_put,
};

int
mdt__pg_run_op(mdt_store *s, mdt__op *op)
{
	return ops[op->type](s, op);
}

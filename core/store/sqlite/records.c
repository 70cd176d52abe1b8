/*
 * What the writer does for each operation, inside its open transaction:
 * the checks that must not race (parent exists and is not revoked,
 * fan-out, first approval decision wins), appending the chained record,
 * the revocation cascade, and signing checkpoints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "alloc_int.h"
#include "sqlite_int.h"

int
mdt__step_done(mdt_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return mdt__store_sqlerr(s, sqlite3_db_handle(st), rc, what);
}

int
mdt__bind_vals(sqlite3_stmt *st, int first, const mdt__val *vals, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int col = first + (int)i, rc;
		const mdt__val *v = &vals[i];
		switch (v->type) {
		case 'T':
			rc = sqlite3_bind_text(st, col, v->p, (int)v->len,
			    SQLITE_STATIC);
			break;
		case 'B':
			rc = sqlite3_bind_blob(st, col, v->p, (int)v->len,
			    SQLITE_STATIC);
			break;
		case 'I':
			rc = sqlite3_bind_int64(st, col, v->i);
			break;
		default:
			rc = sqlite3_bind_null(st, col);
			break;
		}
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* Binds text (NULL allowed) at col; SQLite result code. */
static int
bind_text(sqlite3_stmt *st, int col, const char *t)
{
	return t == NULL ? sqlite3_bind_null(st, col) :
	    sqlite3_bind_text(st, col, t, -1, SQLITE_STATIC);
}

/* Appends one chained record of `kind` from its C struct. */
static int
chain_append(mdt_store *s, int kind, const void *rec, uint64_t *seq_out)
{
	const mdt__kind_desc *d = mdt__kind_get(kind);
	mdt__writer *w = &s->w;
	sqlite3_stmt *st = s->bs->ins[kind];
	mdt__val vals[MDT__COLS_MAX];
	uint8_t hash[MDT_STORE_HASH_BYTES];
	uint64_t seq = w->head_seq + 1;
	int rc;

	mdt__kind_vals(d, rec, vals);
	mdt__chain_hash(kind, w->head_hash, vals, mdt__kind_nhashed(d, vals),
	    hash);
	rc = sqlite3_bind_int64(st, 1, (int64_t)seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 2, w->head_hash, MDT_STORE_HASH_BYTES,
		    SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 3, hash, MDT_STORE_HASH_BYTES,
		    SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = mdt__bind_vals(st, 4, vals, d->ncols);
	if (rc != SQLITE_OK) {
		sqlite3_clear_bindings(st);
		return mdt__store_sqlerr(s, s->bs->db, rc, d->table);
	}
	rc = mdt__step_done(s, st, d->table);
	sqlite3_clear_bindings(st);
	if (rc != 0)
		return rc;
	w->head_seq = seq;
	memcpy(w->head_hash, hash, sizeof(hash));
	*seq_out = seq;
	return 0;
}

/* Runs a one-text-parameter query; 1 and the row left for the caller to
 * read (then reset) when a row came, 0 when none, negative on error. */
static int
query1(mdt_store *s, int idx, const char *arg)
{
	sqlite3_stmt *st = s->bs->st[idx];
	int rc = bind_text(st, 1, arg);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			return 1;
		if (rc == SQLITE_DONE) {
			sqlite3_reset(st);
			return 0;
		}
	}
	sqlite3_reset(st);
	return mdt__store_sqlerr(s, s->bs->db, rc, "query");
}

static int
same_text(sqlite3_stmt *st, int col, const char *want)
{
	const unsigned char *got = sqlite3_column_text(st, col);

	if (got == NULL || want == NULL)
		return got == NULL && want == NULL;
	return strcmp((const char *)got, want) == 0;
}

/* Checks a child task against its parent; fills a missing root_id. */
static int
check_child(mdt_store *s, mdt_store_task *t, char *root, size_t rootlen)
{
	sqlite3_stmt *st = s->bs->st[MDT__W_TASK_PARENT];
	int rc = query1(s, MDT__W_TASK_PARENT, t->parent_id), ok;

	if (rc <= 0)
		return rc == 0 ? -MDT_ENOTFOUND : rc;
	if (t->root_id == NULL) {
		snprintf(root, rootlen, "%s",
		    (const char *)sqlite3_column_text(st, 0));
		t->root_id = root;
	}
	ok = same_text(st, 0, t->root_id) && same_text(st, 2, t->patient) &&
	    same_text(st, 3, t->clinician) && same_text(st, 4, t->purpose) &&
	    (int64_t)t->depth == sqlite3_column_int64(st, 1) + 1;
	sqlite3_reset(st);
	if (!ok) {
		mdt__store_seterr(s, "task %s does not match its parent %s "
		    "(root, depth, patient, clinician and purpose)", t->task_id,
		    t->parent_id);
		return -MDT_EINVAL;
	}
	rc = query1(s, MDT__W_CHAIN_ENDED, t->parent_id);
	if (rc != 0) {
		if (rc > 0)
			sqlite3_reset(s->bs->st[MDT__W_CHAIN_ENDED]);
		return rc > 0 ? -MDT_EREVOKED : rc;
	}
	return 0;
}

static int
check_fanout(mdt_store *s, const char *parent, uint32_t max)
{
	sqlite3_stmt *st = s->bs->st[MDT__W_COUNT_CHILDREN];
	int rc = query1(s, MDT__W_COUNT_CHILDREN, parent);
	int64_t n;

	if (rc <= 0)
		return rc;
	n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n >= (int64_t)max ? -MDT_EFANOUT : 0;
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

/* Indexes the acting agent and every hop of d's chain (validated JSON
 * on append) under its seq. */
static int
index_agents(mdt_store *s, const mdt_store_decision *d, uint64_t seq)
{
	sqlite3_stmt *st = s->bs->st[MDT__W_DECISION_AGENTS];
	int rc = sqlite3_bind_int64(st, 1, (int64_t)seq);

	if (rc == SQLITE_OK)
		rc = bind_text(st, 2, d->agent);
	if (rc == SQLITE_OK)
		rc = bind_text(st, 3, d->agent_chain);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK :
		    sqlite3_errcode(s->bs->db);
	sqlite3_reset(st);
	return rc == SQLITE_OK ? 0 :
	    mdt__store_sqlerr(s, s->bs->db, rc, "indexing agents");
}

static int
op_decision(mdt_store *s, mdt__op *op)
{
	int rc = chain_append(s, MDT__KIND_DECISION, op->rec, &op->seq);

	return rc != 0 ? rc : index_agents(s, op->rec, op->seq);
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
	int rc = query1(s, MDT__W_APPROVAL_EXISTS, ap->approval_id);

	if (rc <= 0)
		return rc == 0 ? -MDT_ENOTFOUND : rc;
	sqlite3_reset(s->bs->st[MDT__W_APPROVAL_EXISTS]);
	return chain_append(s, MDT__KIND_APPROVAL_DECISION, ap, &op->seq);
}

/* A replayed act is the UNIQUE act_hash refusing the row (EEXIST). */
static int
op_use_act(mdt_store *s, mdt__op *op)
{
	return chain_append(s, MDT__KIND_ACT_USE, op->rec, &op->seq);
}

/* Collects task_id and its not-yet-ended descendants, preorder. */
static int
collect_cascade(mdt_store *s, const char *task_id, json_t *ids)
{
	sqlite3_stmt *st = s->bs->st[MDT__W_DESCENDANTS];
	int rc = bind_text(st, 1, task_id);

	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		if (json_array_size(ids) >= MDT_STORE_REVOKE_MAX) {
			sqlite3_reset(st);
			mdt__store_seterr(s, "more than %d tasks under %s",
			    MDT_STORE_REVOKE_MAX, task_id);
			return -MDT_ETOOBIG;
		}
		if (id == NULL || json_array_append_new(ids,
		    json_string(id)) != 0) {
			sqlite3_reset(st);
			return -MDT_ENOMEM;
		}
		rc = SQLITE_OK;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 :
	    mdt__store_sqlerr(s, s->bs->db, rc, "descendants");
}

static int
insert_ended(mdt_store *s, const char *id, int state, uint64_t seq,
    int64_t time_ms)
{
	sqlite3_stmt *st = s->bs->st[MDT__W_ENDED_INSERT];
	int rc = bind_text(st, 1, id);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 2, state);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, (int64_t)seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, time_ms);
	if (rc != SQLITE_OK) {
		sqlite3_reset(st);
		return mdt__store_sqlerr(s, s->bs->db, rc, "ended");
	}
	return mdt__step_done(s, st, "ended");
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
		rc = mdt__work_ended(s, rv->task_ids, rv->count);
	}
	return rc;
}

static int
op_end_task(mdt_store *s, mdt__op *op)
{
	mdt__revocation_row row = *(const mdt__revocation_row *)op->rec;
	sqlite3_stmt *st = s->bs->st[MDT__W_TASK_ENDED];
	json_t *ids;
	char *text = NULL;
	int rc = query1(s, MDT__W_TASK_ENDED, row.task_id), ended;

	if (rc <= 0)
		return rc == 0 ? -MDT_ENOTFOUND : rc;
	ended = sqlite3_column_type(st, 0) != SQLITE_NULL;
	sqlite3_reset(st);
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
mdt__rec_checkpoint(mdt_store *s, int64_t now_ms)
{
	mdt__writer *w = &s->w;
	sqlite3_stmt *st = s->bs->st[MDT__W_CHECKPOINT_INSERT];
	uint8_t msg[MDT__CHECKPOINT_MSG_BYTES], sig[MDT_STORE_SIG_BYTES];
	size_t len;
	int rc;

	if (!s->have_key || w->head_seq == w->last_cp)
		return 0;
	len = mdt__checkpoint_msg(s->id, w->head_seq, w->head_hash, now_ms,
	    w->last_cp, msg);
	if (crypto_sign_detached(sig, NULL, msg, len, s->seal_sk) != 0)
		return -MDT_ECRYPTO;
	rc = sqlite3_bind_int64(st, 1, (int64_t)w->head_seq);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 2, w->head_hash, MDT_STORE_HASH_BYTES,
		    SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, now_ms);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, (int64_t)w->last_cp);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 5, sig, sizeof(sig), SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		sqlite3_reset(st);
		return mdt__store_sqlerr(s, s->bs->db, rc, "checkpoint");
	}
	if ((rc = mdt__step_done(s, st, "checkpoint")) != 0)
		return rc;
	w->last_cp = w->head_seq;
	return 0;
}

static int
op_checkpoint(mdt_store *s, mdt__op *op)
{
	uint64_t before = s->w.last_cp;
	int rc = mdt__rec_checkpoint(s, mdt_store_now_ms());

	op->seq = rc == 0 && s->w.last_cp != before ? s->w.last_cp : 0;
	return rc;
}

static int
op_exec(mdt_store *s, mdt__op *op)
{
	int rc = sqlite3_exec(s->bs->db, op->rec, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : mdt__store_sqlerr(s, s->bs->db, rc, "exec");
}

/* A second source of the same kind and hash, or a second mark of one
 * decision, is the UNIQUE index refusing the row (EEXIST). */
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
	[MDT__OP_WORK] = mdt__work_run,
	[MDT__OP_SOURCE] = op_source,
	[MDT__OP_REVIEW] = op_review,
	[MDT__OP_CLINICIAN] = mdt__sq_clinician_put,
};

int
mdt__rec_run(mdt_store *s, mdt__op *op)
{
	return ops[op->type](s, op);
}

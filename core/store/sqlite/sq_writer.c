/*
 * The SQLite backend's writer connection: opening it (schema, prepared
 * statements, chain head, WAL checkpointer, file identities), closing
 * it, and the transaction steps of a batch the writer thread (writer.c)
 * runs through the ops table.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "sqlite_int.h"

static const char *const wsql[MDT__W_COUNT_] = {
	[MDT__W_BEGIN] = "BEGIN IMMEDIATE",
	[MDT__W_COMMIT] = "COMMIT",
	[MDT__W_ROLLBACK] = "ROLLBACK",
	[MDT__W_SAVEPOINT] = "SAVEPOINT op",
	[MDT__W_RELEASE] = "RELEASE op",
	[MDT__W_ROLLBACK_TO] = "ROLLBACK TO op",
	[MDT__W_TASK_PARENT] = "SELECT root_id, depth, patient, clinician,"
	    " purpose FROM tasks WHERE task_id = ?1",
	[MDT__W_CHAIN_ENDED] = "WITH RECURSIVE up(id, n) AS (SELECT ?1, 0"
	    " UNION ALL SELECT t.parent_id, up.n + 1 FROM tasks t JOIN up"
	    " ON t.task_id = up.id WHERE t.parent_id IS NOT NULL AND up.n < 256)"
	    " SELECT e.task_id FROM up JOIN ended e ON e.task_id = up.id"
	    " ORDER BY up.n LIMIT 1",
	[MDT__W_COUNT_CHILDREN] = "SELECT count(*) FROM tasks"
	    " WHERE parent_id = ?1",
	[MDT__W_TASK_ENDED] = "SELECT e.state FROM tasks t LEFT JOIN ended e"
	    " ON e.task_id = t.task_id WHERE t.task_id = ?1",
	[MDT__W_DESCENDANTS] = "WITH RECURSIVE d(id, path, n) AS ("
	    " SELECT task_id, printf('%020d', seq), 0 FROM tasks"
	    " WHERE task_id = ?1 UNION ALL SELECT t.task_id,"
	    " d.path || '/' || printf('%020d', t.seq), d.n + 1 FROM tasks t"
	    " JOIN d ON t.parent_id = d.id WHERE d.n < 256)"
	    " SELECT d.id FROM d WHERE d.id = ?1 OR NOT EXISTS (SELECT 1 FROM"
	    " ended e WHERE e.task_id = d.id) ORDER BY d.path",
	[MDT__W_ENDED_INSERT] = "INSERT INTO ended(task_id, state, rev_seq,"
	    " time_ms) VALUES (?1, ?2, ?3, ?4)",
	[MDT__W_APPROVAL_EXISTS] = "SELECT 1 FROM approvals"
	    " WHERE approval_id = ?1",
	[MDT__W_CHECKPOINT_INSERT] = "INSERT INTO checkpoints(seq, hash,"
	    " time_ms, prev_cp, sig) VALUES (?1, ?2, ?3, ?4, ?5)",
	/* every agent of a decision, for queries by agent at any hop */
	[MDT__W_DECISION_AGENTS] = "INSERT OR IGNORE INTO decision_agents"
	    "(agent, seq) SELECT ?2, ?1 WHERE ?2 IS NOT NULL UNION"
	    " SELECT value, ?1 FROM json_each(?3) WHERE type = 'text'",
	[MDT__W_HEAD_INSERT] = "INSERT INTO receipt_heads(first_seq,"
	    " last_seq, head, sig) VALUES (?1, ?2, ?3, ?4)",
	[MDT__W_LEAF_INSERT] = "INSERT INTO receipt_leaves(seq, first_seq,"
	    " leaf_index, token_id) VALUES (?1, ?2, ?3, ?4)",
};

/* Runs a statement that returns no row; resets it on every path. */
static int
wexec(mdt_store *s, int idx, const char *what)
{
	return mdt__step_done(s, s->bs->st[idx], what);
}

static int
prepare_all(mdt_store *s, char *err, size_t errlen)
{
	struct mdt__bstate *w = s->bs;

	for (int i = 0; i < MDT__W_COUNT_; i++)
		if (mdt__prepare(w->db, wsql[i], &w->st[i], err, errlen) != 0)
			return -MDT_ESTORE;
	for (int k = 1; k < MDT__KIND_COUNT_; k++) {
		char *sql = mdt__insert_sql(mdt__kind_get(k), 0);
		int rc;
		if (sql == NULL)
			return -MDT_ENOMEM;
		rc = mdt__prepare(w->db, sql, &w->ins[k], err, errlen);
		mdt__free(sql);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Reads the chain head (last record) and the last checkpoint's seq. */
static int
load_head(mdt_store *s, char *err, size_t errlen)
{
	mdt__writer *w = &s->w;
	sqlite3 *db = s->bs->db;
	char sql[128];
	sqlite3_stmt *st;

	mdt__chain_genesis(s->id, w->head_hash);
	w->head_seq = 0;
	for (int k = 1; k < MDT__KIND_COUNT_; k++) {
		snprintf(sql, sizeof(sql), "SELECT seq, hash FROM %s ORDER BY"
		    " seq DESC LIMIT 1", mdt__kind_get(k)->table);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
			goto bad;
		if (sqlite3_step(st) == SQLITE_ROW &&
		    (uint64_t)sqlite3_column_int64(st, 0) > w->head_seq &&
		    sqlite3_column_bytes(st, 1) == MDT_STORE_HASH_BYTES) {
			w->head_seq = (uint64_t)sqlite3_column_int64(st, 0);
			memcpy(w->head_hash, sqlite3_column_blob(st, 1),
			    MDT_STORE_HASH_BYTES);
		}
		sqlite3_finalize(st);
	}
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM"
	    " checkpoints", -1, &st, NULL) != SQLITE_OK)
		goto bad;
	w->last_cp = sqlite3_step(st) == SQLITE_ROW ?
	    (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return 0;
bad:
	snprintf(err, errlen, "reading the chain head: %s",
	    sqlite3_errmsg(db));
	return -MDT_ESTORE;
}

int
mdt__sq_writer_open(mdt_store *s, char *err, size_t errlen)
{
	int rc;

	if ((rc = mdt__files_private(s->path, err, errlen)) != 0 ||
	    (rc = mdt__schema_open(s->path, 0, 0, &s->bs->db, s->id, err,
	    errlen)) != 0)
		return rc;
	if ((rc = mdt__sq_receipts_open(s, err, errlen)) != 0 ||
	    (rc = prepare_all(s, err, errlen)) != 0 ||
	    (rc = load_head(s, err, errlen)) != 0 ||
	    (rc = mdt__walckpt_start(s, s->bs->db, err, errlen)) != 0 ||
	    (rc = mdt__files_remember(s, err, errlen)) != 0)
		return rc;
	return 0;
}

void
mdt__sq_writer_close(mdt_store *s)
{
	struct mdt__bstate *w = s->bs;

	mdt__walckpt_stop(s, w->db);
	mdt__work_close(s);
	for (int i = 0; i < MDT__W_COUNT_; i++)
		sqlite3_finalize(w->st[i]);
	for (int k = 0; k < MDT__KIND_COUNT_; k++)
		sqlite3_finalize(w->ins[k]);
	sqlite3_close(w->db);
	w->db = NULL;
	mdt__free(w->wal_path);
	w->wal_path = NULL;
}

int
mdt__sq_begin(mdt_store *s)
{
	return wexec(s, MDT__W_BEGIN, "begin");
}

/* With synchronous=FULL the COMMIT returns after the WAL is fsync'ed:
 * the batch is durable before any op of it is reported. */
int
mdt__sq_commit(mdt_store *s)
{
	return wexec(s, MDT__W_COMMIT, "commit");
}

int
mdt__sq_rollback(mdt_store *s)
{
	return wexec(s, MDT__W_ROLLBACK, "rollback");
}

int
mdt__sq_savepoint(mdt_store *s)
{
	return wexec(s, MDT__W_SAVEPOINT, "savepoint");
}

int
mdt__sq_release(mdt_store *s)
{
	return wexec(s, MDT__W_RELEASE, "release");
}

int
mdt__sq_rollback_to(mdt_store *s)
{
	return wexec(s, MDT__W_ROLLBACK_TO, "rollback to");
}

int
mdt__sq_txn_gone(mdt_store *s)
{
	return sqlite3_get_autocommit(s->bs->db) != 0;
}

void
mdt__sq_between(mdt_store *s)
{
	mdt__walckpt_between(s, s->bs->db);
}

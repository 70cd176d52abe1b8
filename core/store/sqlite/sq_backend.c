/*
 * The SQLite backend's entry in the ops table (backend.h): its state
 * behind the handle, SQLite's error messages on the handle, and which
 * function does each operation.  One writable handle per store file at a
 * time (the lock in files.c): the backend is not shareable.
 */
#include "alloc_int.h"
#include "sqlite_int.h"

static int
state_new(mdt_store *s)
{
	if ((s->bs = mdt__calloc(1, sizeof(*s->bs))) == NULL)
		return -MDT_ENOMEM;
	s->bs->lock_fd = -1;
	return 0;
}

static void
state_free(mdt_store *s)
{
	mdt__free(s->bs);
	s->bs = NULL;
}

int
mdt__store_sqlerr(mdt_store *s, sqlite3 *db, int rc, const char *what)
{
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		mdt__store_seterr(s, "%s: already recorded (%s)", what,
		    sqlite3_errmsg(db));
		return -MDT_EEXIST;
	}
	mdt__store_seterr(s, "%s: %s (SQLite code %d)", what,
	    sqlite3_errmsg(db), rc);
	return -MDT_ESTORE;
}

const struct mdt__store_backend_ops mdt__sqlite_backend = {
	.scheme = "sqlite",
	.shareable = 0,
	.state_new = state_new,
	.state_free = state_free,
	.lock = mdt__files_lock,
	.unlock = mdt__files_unlock,
	.writer_open = mdt__sq_writer_open,
	.writer_close = mdt__sq_writer_close,
	.readers_open = mdt__readers_open,
	.readers_close = mdt__readers_close,
	.begin = mdt__sq_begin,
	.precommit = mdt__files_check,
	.commit = mdt__sq_commit,
	.committed = mdt__files_committed,
	.rollback = mdt__sq_rollback,
	.savepoint = mdt__sq_savepoint,
	.release = mdt__sq_release,
	.rollback_to = mdt__sq_rollback_to,
	.txn_gone = mdt__sq_txn_gone,
	.between = mdt__sq_between,
	.run_op = mdt__rec_run,
	.checkpoint = mdt__rec_checkpoint,
	.head_put = mdt__sq_head_put,
	.get_receipt = mdt__sq_get_receipt,
	.find_decision = mdt__sq_find_decision,
	.get_decision = mdt__sq_get_decision,
	.list_decisions = mdt__sq_list_decisions,
	.get_task = mdt__sq_get_task,
	.task_children = mdt__sq_task_children,
	.count_children = mdt__sq_count_children,
	.chain_revoked = mdt__sq_chain_revoked,
	.get_approval = mdt__sq_get_approval,
	.task_tree = mdt__sq_task_tree,
	.export_jsonl = mdt__sq_export_jsonl,
	.open_tasks = mdt__sq_open_tasks,
	.query_decisions = mdt__sq_query_decisions,
	.kind_rows = mdt__sq_kind_rows,
	.clinician_get = mdt__sq_clinician_get,
	.work_push = mdt__sq_work_push,
	.work_lease = mdt__sq_work_lease,
	.work_ack = mdt__sq_work_ack,
	.work_list = mdt__sq_work_list,
	.verify = mdt__sq_verify,
};

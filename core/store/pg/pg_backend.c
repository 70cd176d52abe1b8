/*
 * The PostgreSQL backend's entry in the ops table (backend.h): several
 * brokers may write one store (shareable), so there is no writer lock;
 * the chain is serialised by the head row's lock in each batch
 * (pg_writer.c).  The public work-item entry points are the shared ones
 * (sqlite/work.c builds the op; pg_work.c runs it).
 */
#include "alloc_int.h"
#include "pg_int.h"
#include "../sqlite/sq_shared.h"

static int
state_new(mdt_store *s)
{
	if ((s->bs = mdt__calloc(1, sizeof(*s->bs))) == NULL)
		return -MDT_ENOMEM;
	if (mdt__pg_cache_new(&s->bs->cache) != 0) {
		mdt__free(s->bs);
		s->bs = NULL;
		return -MDT_ENOMEM;
	}
	pthread_mutex_init(&s->bs->w.mu, NULL);
	return 0;
}

static void
state_free(mdt_store *s)
{
	mdt__pg_batch_free(s);
	mdt__pg_cache_free(s->bs->cache);
	pthread_mutex_destroy(&s->bs->w.mu);
	mdt__free(s->bs);
	s->bs = NULL;
}

static int
no_lock(mdt_store *s, char *err, size_t errlen)
{
	(void)s;
	(void)err;
	(void)errlen;
	return 0;
}

static void
nothing(mdt_store *s)
{
	(void)s;
}

const struct mdt__store_backend_ops mdt__pg_backend = {
	.scheme = "postgresql",
	.shareable = 1,
	.state_new = state_new,
	.state_free = state_free,
	.lock = no_lock,
	.unlock = nothing,
	.writer_open = mdt__pg_notify_writer_open,
	.writer_close = mdt__pg_writer_close,
	.readers_open = mdt__pg_readers_open,
	.readers_close = mdt__pg_readers_close,
	.begin = mdt__pg_notify_begin,
	.precommit = mdt__pg_precommit,
	.commit = mdt__pg_commit,
	.committed = nothing,
	.rollback = mdt__pg_rollback,
	.savepoint = mdt__pg_savepoint,
	.release = mdt__pg_release,
	.rollback_to = mdt__pg_rollback_to,
	.txn_gone = mdt__pg_txn_gone,
	.between = nothing,
	.run_op = mdt__pg_run_op,
	.checkpoint = mdt__pg_checkpoint,
	.head_put = mdt__pg_head_put,
	.get_receipt = mdt__pg_get_receipt,
	.find_decision = mdt__pg_find_decision,
	.get_decision = mdt__pg_get_decision,
	.list_decisions = mdt__pg_list_decisions,
	.get_task = mdt__pg_get_task,
	.task_children = mdt__pg_task_children,
	.count_children = mdt__pg_count_children,
	.chain_revoked = mdt__pg_chain_revoked,
	.task_check = mdt__pg_task_check,
	.get_approval = mdt__pg_get_approval,
	.task_tree = mdt__pg_task_tree,
	.export_jsonl = mdt__pg_export_jsonl,
	.open_tasks = mdt__pg_open_tasks,
	.kind_rows = mdt__pg_kind_rows,
	.clinician_get = mdt__pg_clinician_get,
	.query_decisions = mdt__pg_query_decisions,
	.work_push = mdt__sq_work_push,
	.work_lease = mdt__sq_work_lease,
	.work_ack = mdt__sq_work_ack,
	.work_list = mdt__pg_work_list,
	.verify = mdt__pg_verify,
	.watch = mdt__pg_watch,
	.unwatch = mdt__pg_unwatch,
};

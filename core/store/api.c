/*
 * The public reads, work-item calls and verification of the audit store,
 * dispatched to the handle's backend (backend.h).  The writes that
 * append records are write.c, through the writer thread.
 */
#include <stddef.h>

#include "alloc_int.h"
#include "backend.h"

int
mdt_store_find_decision(mdt_store *store, const char *request_id,
    mdt_store_decision **out)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->find_decision(store, request_id, out);
}

int
mdt_store_get_decision(mdt_store *store, uint64_t seq,
    mdt_store_decision **out)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->get_decision(store, seq, out);
}

int
mdt_store_list_decisions(mdt_store *store, uint64_t after_seq,
    uint32_t limit, mdt_store_decision_fn fn, void *arg)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->list_decisions(store, after_seq, limit, fn, arg);
}

int
mdt_store_query_decisions(mdt_store *store, const mdt_store_query *q,
    mdt_store_decision_fn fn, void *arg)
{
	static const mdt_store_query any;

	if (store == NULL || fn == NULL)
		return -MDT_EINVAL;
	if (store->be->query_decisions == NULL) /* a backend without it yet */
		return -MDT_EUNSUPPORTED;
	return store->be->query_decisions(store, q != NULL ? q : &any, fn,
	    arg);
}

int
mdt_store_get_task(mdt_store *store, const char *task_id,
    mdt_store_task **out)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->get_task(store, task_id, out);
}

int
mdt_store_task_children(mdt_store *store, const char *task_id,
    mdt_store_task_fn fn, void *arg)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->task_children(store, task_id, fn, arg);
}

int
mdt_store_count_children(mdt_store *store, const char *task_id,
    uint32_t *count)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->count_children(store, task_id, count);
}

int
mdt_store_chain_revoked(mdt_store *store, const char *task_id, int *revoked,
    char *revoked_by, size_t len)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->chain_revoked(store, task_id, revoked, revoked_by, len);
}

int
mdt_store_task_check(mdt_store *store, const char *task_id,
    mdt_store_task **out, int *revoked, char *revoked_by, size_t len)
{
	int rc;

	if (store == NULL || out == NULL || revoked == NULL)
		return -MDT_EINVAL;
	*out = NULL;
	if (store->be->task_check != NULL)
		return store->be->task_check(store, task_id, out, revoked,
		    revoked_by, len);
	if ((rc = store->be->get_task(store, task_id, out)) == 0 &&
	    (rc = store->be->chain_revoked(store, task_id, revoked,
	    revoked_by, len)) != 0) {
		mdt__free(*out);
		*out = NULL;
	}
	return rc;
}

int
mdt_store_get_approval(mdt_store *store, const char *approval_id,
    mdt_store_approval **out)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->get_approval(store, approval_id, out);
}

int
mdt_store_task_tree(mdt_store *store, const char *root_task_id,
    const mdt_store_tree_visitor *v, void *arg)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->task_tree(store, root_task_id, v, arg);
}

int
mdt_store_export_jsonl(mdt_store *store, const char *task_id,
    mdt_store_emit_fn emit, void *arg)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->export_jsonl(store, task_id, emit, arg);
}

int
mdt_store_open_tasks(mdt_store *store, mdt_store_task_fn fn, void *arg)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->open_tasks(store, fn, arg);
}

int
mdt_store_work_push(mdt_store *store, const mdt_work_item *it,
    uint32_t max_pending, uint64_t *seq_out)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->work_push(store, it, max_pending, seq_out);
}

int
mdt_store_work_lease(mdt_store *store, const char *agent,
    const mdt_work_filter *filter, uint32_t lease_ms, int64_t now_ms,
    mdt_work_item **out, int64_t *retry_ms)
{
	return store == NULL ? -MDT_EINVAL : store->be->work_lease(store,
	    agent, filter, lease_ms, now_ms, out, retry_ms);
}

int
mdt_store_work_ack(mdt_store *store, const char *id, const char *agent)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->work_ack(store, id, agent);
}

int
mdt_store_work_list(mdt_store *store, const char *agent,
    mdt_work_item_fn fn, void *arg)
{
	return store == NULL ? -MDT_EINVAL :
	    store->be->work_list(store, agent, fn, arg);
}

int
mdt_store_verify(const char *path, const unsigned char pk[MDT_STORE_PK_BYTES],
    mdt_store_issue_fn fn, void *arg, mdt_store_report *report, char *err,
    size_t errlen)
{
	const struct mdt__store_backend_ops *be;
	char tmp[MDT_ERRMSG_MAX];
	const char *loc;
	int rc;

	if (path == NULL || pk == NULL)
		return -MDT_EINVAL;
	if (err == NULL || errlen == 0) {
		err = tmp;
		errlen = sizeof(tmp);
	}
	if ((rc = mdt__store_uri(path, &be, &loc, err, errlen)) != 0)
		return rc;
	return be->verify(loc, pk, fn, arg, report, err, errlen);
}

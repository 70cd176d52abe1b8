/*
 * The public write functions of the audit store.  Each validates its
 * input in the caller's thread (bounds, JSON, enum ranges), fills
 * defaults, then hands one operation to the writer and waits for the
 * commit of its batch.
 */
#include <stddef.h>
#include <string.h>

#include "alloc_int.h"
#include "core_int.h"

/* Common entry checks; err detail goes to the handle's message. */
static int
writable(mdt_store *s, const void *rec)
{
	if (s == NULL || rec == NULL)
		return -MDT_EINVAL;
	if (s->read_only) {
		mdt__store_seterr(s, "store opened read-only");
		return -MDT_EINVAL;
	}
	return 0;
}

static int
check_kind(mdt_store *s, int kind, const void *rec)
{
	char err[MDT_ERRMSG_MAX];
	int rc = mdt__kind_check(mdt__kind_get(kind), rec, err, sizeof(err));

	if (rc != 0)
		mdt__store_seterr(s, "%s", err);
	return rc;
}

static int
invalid(mdt_store *s, const char *what)
{
	mdt__store_seterr(s, "%s", what);
	return -MDT_EINVAL;
}

static int
submit(mdt_store *s, int type, const void *rec, uint32_t max_children,
    uint64_t *seq_out, void **result)
{
	mdt__op op = {.type = type, .rec = rec, .max_children = max_children};
	int rc = mdt__writer_submit(s, &op);

	if (rc == 0 && seq_out != NULL)
		*seq_out = op.seq;
	if (rc == 0 && result != NULL)
		*result = op.result;
	else
		mdt__free(op.result);
	return rc;
}

/* Defaults and checks of a decision about to be appended, into *r. */
static int
decision_ready(mdt_store *s, const mdt_store_decision *rec,
    mdt_store_decision *r)
{
	int rc;

	if ((rc = writable(s, rec)) != 0)
		return rc;
	*r = *rec;
	if (r->time_ms == 0)
		r->time_ms = mdt_store_now_ms();
	if (r->operation == NULL)
		return invalid(s, "decision.operation is required");
	if (r->verdict < MDT_STORE_ALLOW || r->verdict > MDT_STORE_ERROR)
		return invalid(s, "decision.verdict out of range");
	return check_kind(s, MDT__KIND_DECISION, r);
}

int
mdt_store_append_decision(mdt_store *store, const mdt_store_decision *rec,
    uint64_t *seq_out)
{
	mdt_store_decision r;
	int rc;

	if ((rc = decision_ready(store, rec, &r)) != 0)
		return rc;
	return submit(store, MDT__OP_DECISION, &r, 0, seq_out, NULL);
}

/* The op and its record share one allocation; the record follows the op
 * at an offset that keeps it aligned. */
#define OP_SPACE ((sizeof(mdt__op) + _Alignof(max_align_t) - 1) / \
	_Alignof(max_align_t) * _Alignof(max_align_t))

/* Queues a heap decision op reported through done_fn or receipt_fn. */
static int
queue_decision(mdt_store *store, const mdt_store_decision *rec,
    const mdt__op *tmpl)
{
	mdt_store_decision r;
	mdt__op *op;
	int rc;

	if ((rc = decision_ready(store, rec, &r)) != 0)
		return rc;
	op = mdt__kind_dup(mdt__kind_get(MDT__KIND_DECISION), &r, OP_SPACE);
	if (op == NULL)
		return -MDT_ENOMEM;
	*op = *tmpl;
	op->type = MDT__OP_DECISION;
	op->rec = (unsigned char *)op + OP_SPACE;
	if ((rc = mdt__writer_enqueue(store, op)) != 0)
		mdt__free(op);
	return rc;
}

int
mdt_store_append_decision_async(mdt_store *store,
    const mdt_store_decision *rec, mdt_store_done_fn done, void *arg)
{
	mdt__op tmpl = {.done_fn = done, .done_arg = arg};

	if (done == NULL)
		return -MDT_EINVAL;
	return queue_decision(store, rec, &tmpl);
}

int
mdt_store_append_decision_receipt(mdt_store *store,
    const mdt_store_decision *rec, const uint8_t *token_id,
    mdt_store_receipt_fn done, void *arg)
{
	mdt__op tmpl = {.receipt_fn = done, .done_arg = arg};

	if (done == NULL)
		return -MDT_EINVAL;
	if (token_id != NULL)
		memcpy(tmpl.token_id, token_id, sizeof(tmpl.token_id));
	return queue_decision(store, rec, &tmpl);
}

static int
task_shape(mdt_store *s, mdt_store_task *t)
{
	if (t->task_id == NULL || t->operation == NULL)
		return invalid(s, "task.task_id and task.operation are required");
	if (t->parent_id != NULL)
		return t->depth == 0 ?
		    invalid(s, "a child task has depth >= 1") : 0;
	if (t->root_id == NULL)
		t->root_id = t->task_id;
	if (strcmp(t->root_id, t->task_id) != 0 || t->depth != 0)
		return invalid(s, "a root task has root_id == task_id and "
		    "depth 0");
	return 0;
}

int
mdt_store_add_task(mdt_store *store, const mdt_store_task *task,
    uint32_t max_children, uint64_t *seq_out)
{
	mdt_store_task t;
	int rc;

	if ((rc = writable(store, task)) != 0)
		return rc;
	t = *task;
	if (t.time_ms == 0)
		t.time_ms = mdt_store_now_ms();
	if ((rc = task_shape(store, &t)) != 0 ||
	    (rc = check_kind(store, MDT__KIND_TASK, &t)) != 0)
		return rc;
	return submit(store, MDT__OP_TASK, &t, max_children, seq_out, NULL);
}

int
mdt_store_end_task(mdt_store *store, const char *task_id,
    mdt_task_state state, const char *by, const char *reason,
    int64_t time_ms, mdt_store_revocation **out)
{
	mdt__revocation_row row = {.time_ms = time_ms, .task_id = task_id,
	    .state = state, .ended_by = by, .reason = reason};
	int rc;

	if ((rc = writable(store, task_id)) != 0)
		return rc;
	if (state != MDT_TASK_COMPLETED && state != MDT_TASK_CANCELLED)
		return invalid(store, "a task ends completed or cancelled");
	if (row.time_ms == 0)
		row.time_ms = mdt_store_now_ms();
	if ((rc = check_kind(store, MDT__KIND_REVOCATION, &row)) != 0)
		return rc;
	return submit(store, MDT__OP_END_TASK, &row, 0, NULL, (void **)out);
}

int
mdt_store_add_approval(mdt_store *store, const mdt_store_approval *ap,
    uint64_t *seq_out)
{
	mdt_store_approval a;
	int rc;

	if ((rc = writable(store, ap)) != 0)
		return rc;
	a = *ap;
	if (a.time_ms == 0)
		a.time_ms = mdt_store_now_ms();
	if (a.approval_id == NULL)
		return invalid(store, "approval.approval_id is required");
	if ((rc = check_kind(store, MDT__KIND_APPROVAL, &a)) != 0)
		return rc;
	return submit(store, MDT__OP_APPROVAL, &a, 0, seq_out, NULL);
}

int
mdt_store_decide_approval(mdt_store *store, const char *approval_id,
    mdt_approval_state state, const char *decided_by, int64_t decided_ms,
    int64_t valid_until_ms, const char *note, uint64_t *seq_out)
{
	mdt_store_approval a = {.approval_id = approval_id, .state = state,
	    .decided_by = decided_by, .decided_ms = decided_ms,
	    .valid_until_ms = valid_until_ms, .note = note};
	int rc;

	if ((rc = writable(store, approval_id)) != 0)
		return rc;
	if (state < MDT_APPROVAL_APPROVED || state > MDT_APPROVAL_EXPIRED)
		return invalid(store, "an approval is decided approved, "
		    "rejected or expired");
	if (a.decided_ms == 0)
		a.decided_ms = mdt_store_now_ms();
	if ((rc = check_kind(store, MDT__KIND_APPROVAL_DECISION, &a)) != 0)
		return rc;
	return submit(store, MDT__OP_APPROVAL_DECISION, &a, 0, seq_out, NULL);
}

int
mdt_store_use_act(mdt_store *store, const uint8_t hash[MDT_STORE_HASH_BYTES],
    const char *kind, const char *clinician, int64_t expires_ms)
{
	mdt__act_row a = {.act_kind = kind, .clinician = clinician,
	    .expires_ms = expires_ms};
	int rc;

	if ((rc = writable(store, hash)) != 0)
		return rc;
	memcpy(a.act_hash, hash, sizeof(a.act_hash));
	a.time_ms = mdt_store_now_ms();
	if ((rc = check_kind(store, MDT__KIND_ACT_USE, &a)) != 0)
		return rc;
	return submit(store, MDT__OP_USE_ACT, &a, 0, NULL, NULL);
}

int
mdt_store_checkpoint(mdt_store *store, uint64_t *seq_out)
{
	int rc;

	if ((rc = writable(store, store)) != 0)
		return rc;
	return submit(store, MDT__OP_CHECKPOINT, NULL, 0, seq_out, NULL);
}

int
mdt_store_put_source(mdt_store *store, const mdt_store_source *src,
    uint64_t *seq_out)
{
	mdt_store_source r;
	int rc;

	if ((rc = writable(store, src)) != 0)
		return rc;
	r = *src;
	if (r.time_ms == 0)
		r.time_ms = mdt_store_now_ms();
	if (r.source_kind == NULL || r.digest == NULL || r.content == NULL)
		return invalid(store, "source: kind, digest and content are "
		    "required");
	if (strcmp(r.source_kind, MDT_STORE_SOURCE_POLICIES) != 0 &&
	    strcmp(r.source_kind, MDT_STORE_SOURCE_ENTITIES) != 0)
		return invalid(store, "source.source_kind: policies or "
		    "entities");
	if ((rc = check_kind(store, MDT__KIND_SOURCE, &r)) != 0)
		return rc;
	return submit(store, MDT__OP_SOURCE, &r, 0, seq_out, NULL);
}

int
mdt_store_add_review(mdt_store *store, const mdt_store_review *rev,
    uint64_t *seq_out)
{
	mdt_store_decision *d = NULL;
	mdt_store_review r;
	int rc;

	if ((rc = writable(store, rev)) != 0)
		return rc;
	r = *rev;
	if (r.time_ms == 0)
		r.time_ms = mdt_store_now_ms();
	if (r.decision_seq == 0 || r.decision_seq > INT64_MAX ||
	    r.reviewer == NULL || r.note == NULL)
		return invalid(store, "review: decision_seq, reviewer and note "
		    "are required");
	if ((rc = check_kind(store, MDT__KIND_REVIEW, &r)) != 0)
		return rc;
	/* decisions are never removed, so a check before the write holds */
	if ((rc = mdt_store_get_decision(store, r.decision_seq, &d)) != 0)
		return rc;
	mdt__free(d);
	return submit(store, MDT__OP_REVIEW, &r, 0, seq_out, NULL);
}

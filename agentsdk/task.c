/*
 * mdt_task: tasks the caller holds (opened as a root, or received as
 * work), their accessors and the task-level operations: dispatch and
 * delegate, results, complete and cancel.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sdk_int.h"

#define NEXT_SLICE_MS 30000 /* the broker's default next_max_wait_ms */

void
mdt_task_free(mdt_task *t)
{
	if (t == NULL)
		return;
	if (t->token != NULL) {
		sodium_memzero(t->token, t->token_len);
		free(t->token);
	}
	free(t->id);
	free(t->parent);
	free(t->from);
	free(t->clinician);
	free(t->patient);
	free(t->purpose);
	free(t->scopes);
	free(t->item);
	free(t->payload);
	free(t);
}

const char *mdt_task_id(const mdt_task *t) { return t->id; }
const char *mdt_task_parent(const mdt_task *t) { return t->parent; }
const char *mdt_task_from(const mdt_task *t) { return t->from; }
const char *mdt_task_clinician(const mdt_task *t) { return t->clinician; }
const char *mdt_task_patient(const mdt_task *t) { return t->patient; }
const char *mdt_task_purpose(const mdt_task *t) { return t->purpose; }
const char *mdt_task_scopes(const mdt_task *t) { return t->scopes; }
uint32_t mdt_task_depth(const mdt_task *t) { return t->depth; }
int64_t mdt_task_expiry(const mdt_task *t) { return t->expires; }
const char *mdt_task_item_id(const mdt_task *t) { return t->item; }
uint32_t mdt_task_deliveries(const mdt_task *t) { return t->deliveries; }

const uint8_t *
mdt_task_payload(const mdt_task *t, size_t *len)
{
	*len = t->payload_len;
	return t->payload;
}

/* ---- building tasks from replies ---- */

static int
task_new(mdt_agent *a, mdt_task **out)
{
	mdt_task *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -MDT_ENOMEM;
	t->a = a;
	*out = t;
	return 0;
}

/* Reads the fields common to an open reply and a task item. */
static int
task_fill(mdt_task *t, const mdt_wire_val *m, char *err, size_t errlen)
{
	int64_t depth;
	int rv;

	if ((rv = sdk_get_dup(m, "task", 0, &t->id, err, errlen)) != 0 ||
	    (rv = sdk_get_dup(m, "scopes", 0, &t->scopes, err, errlen)) != 0 ||
	    (rv = sdk_get_dup(m, "clinician", 1, &t->clinician, err,
	    errlen)) != 0 ||
	    (rv = sdk_get_bin_dup(m, "token", MDT_AGENT_TOKEN_MAX, 0,
	    &t->token, &t->token_len, err, errlen)) != 0 ||
	    (rv = mdt_wire_get_int(m, "depth", 0, UINT32_MAX, &depth, err,
	    errlen)) != 0 ||
	    (rv = mdt_wire_get_int(m, "expires", 0, INT64_MAX, &t->expires,
	    err, errlen)) != 0)
		return rv;
	t->depth = (uint32_t)depth;
	return 0;
}

static int
task_from_item(mdt_agent *a, const mdt_wire_val *m, mdt_task **out,
    char *err, size_t errlen)
{
	mdt_task *t;
	int64_t deliveries = 0;
	int has, rv;

	if ((rv = task_new(a, &t)) != 0)
		return rv;
	if ((rv = task_fill(t, m, err, errlen)) != 0 ||
	    (rv = sdk_get_dup(m, "id", 1, &t->item, err, errlen)) != 0 ||
	    (rv = mdt_wire_get_int_opt(m, "deliveries", 0, UINT32_MAX,
	    &deliveries, &has, err, errlen)) != 0 ||
	    (rv = sdk_get_dup(m, "parent", 1, &t->parent, err, errlen)) != 0 ||
	    (rv = sdk_get_dup(m, "from", 1, &t->from, err, errlen)) != 0 ||
	    (rv = sdk_get_dup(m, "patient", 0, &t->patient, err,
	    errlen)) != 0 ||
	    (rv = sdk_get_dup(m, "purpose", 0, &t->purpose, err,
	    errlen)) != 0 ||
	    (rv = sdk_get_bin_dup(m, "payload", MDT_AGENT_PAYLOAD_MAX, 1,
	    &t->payload, &t->payload_len, err, errlen)) != 0) {
		mdt_task_free(t);
		return rv;
	}
	t->deliveries = (uint32_t)deliveries;
	*out = t;
	return 0;
}

static int
open_fields(sdk_req *r, const mdt_open_opts *o)
{
	int rv;

	if ((rv = mdt_wire_put_cstr(r->w, "assertion", o->assertion)) != 0 ||
	    (rv = mdt_wire_put_cstr(r->w, "patient", o->patient)) != 0 ||
	    (rv = mdt_wire_put_cstr(r->w, "purpose", o->purpose)) != 0)
		return rv;
	return mdt_wire_put_cstr(r->w, "scopes", o->scopes);
}

int
mdt_agent_open_task(mdt_agent *a, const mdt_open_opts *o, mdt_task **out,
    char *err, size_t errlen)
{
	mdt_task *t = NULL;
	sdk_req r;
	int rv;

	if (a == NULL || o == NULL || out == NULL || o->assertion == NULL ||
	    o->patient == NULL || o->purpose == NULL || o->scopes == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "open: assertion, patient, purpose and scopes are required");
	if ((rv = SDK_OPTS_CHECK(o, "open options", err, errlen)) != 0)
		return rv;
	if ((rv = sdk_req_begin(a, MDT_OP_OPEN, &r)) == 0 &&
	    (rv = open_fields(&r, o)) == 0 &&
	    (rv = sdk_call(a, &r, 0, err, errlen)) == 0 &&
	    (rv = sdk_reply_status(r.reply, err, errlen)) == 0 &&
	    (rv = task_new(a, &t)) == 0 &&
	    (rv = task_fill(t, mdt_wire_msg_root(r.reply), err, errlen)) == 0) {
		if ((t->parent = strdup("")) == NULL ||
		    (t->item = strdup("")) == NULL ||
		    (t->from = strdup("")) == NULL ||
		    (t->patient = strdup(o->patient)) == NULL ||
		    (t->purpose = strdup(o->purpose)) == NULL)
			rv = -MDT_ENOMEM;
	}
	sdk_req_end(&r);
	if (rv != 0) {
		mdt_task_free(t);
		return rv;
	}
	*out = t;
	return 0;
}

/* ---- next: work items, and results kept in the mailbox ---- */

/*
 * One `next` long poll of up to wait_ms.  A task item becomes *out; a
 * result item goes to the mailbox (and *got_result is set); no item is
 * -MDT_ETIMEDOUT.  child (may be NULL) filters for one child's results.
 */
static int
next_once(mdt_agent *a, const char *child, uint32_t wait_ms, mdt_task **out,
    int *got_result, char *err, size_t errlen)
{
	const mdt_wire_val *item;
	const char *kind;
	sdk_req r;
	int rv;

	if ((rv = sdk_req_begin(a, MDT_OP_NEXT, &r)) != 0 ||
	    (rv = mdt_wire_put_int(r.w, "wait_ms", wait_ms)) != 0 ||
	    (child != NULL && (rv = mdt_wire_put_cstr(r.w, "child",
	    child)) != 0) ||
	    (rv = sdk_call(a, &r, wait_ms, err, errlen)) != 0 ||
	    (rv = sdk_reply_status(r.reply, err, errlen)) != 0)
		goto out;
	item = mdt_wire_map_get(mdt_wire_msg_root(r.reply), "item");
	if (item == NULL || mdt_wire_val_type(item) == MDT_WIRE_NIL) {
		rv = -MDT_ETIMEDOUT;
	} else if ((rv = mdt_wire_get_str(item, "kind", 16, &kind, err,
	    errlen)) != 0) {
		;
	} else if (strcmp(kind, "task") == 0) {
		rv = task_from_item(a, item, out, err, errlen);
	} else if (strcmp(kind, "result") == 0) {
		rv = sdk_mailbox_put(a, item, err, errlen);
		*got_result = rv == 0;
	} else {
		rv = sdk_err(err, errlen, -MDT_EPROTO, "next: unknown item %s",
		    kind);
	}
out:
	sdk_req_end(&r);
	return rv;
}

int
mdt_agent_next(mdt_agent *a, uint32_t timeout_ms, mdt_task **out, char *err,
    size_t errlen)
{
	uint64_t deadline = sdk_clock_ms() + timeout_ms;

	if (a == NULL || out == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL, "next: NULL argument");
	for (;;) {
		uint64_t now = sdk_clock_ms();
		uint32_t wait = now >= deadline ? 0 :
		    (uint32_t)(deadline - now);
		int got = 0, rv;

		if (wait > NEXT_SLICE_MS)
			wait = NEXT_SLICE_MS;
		rv = next_once(a, NULL, wait, out, &got, err, errlen);
		if (rv == 0 && !got)
			return 0;
		if (rv != 0 && rv != -MDT_ETIMEDOUT)
			return rv;
		if (!got && sdk_clock_ms() >= deadline)
			return sdk_err(err, errlen, -MDT_ETIMEDOUT,
			    "no work within %u ms", timeout_ms);
	}
}

int
mdt_agent_serve(mdt_agent *a, mdt_work_fn fn, void *arg, uint32_t idle_ms)
{
	char err[MDT_ERRMSG_MAX];

	for (;;) {
		mdt_task *t = NULL;
		int rv = mdt_agent_next(a, idle_ms ? idle_ms : NEXT_SLICE_MS,
		    &t, err, sizeof(err));

		if (rv == -MDT_ETIMEDOUT && idle_ms == 0)
			continue;
		if (rv != 0)
			return rv;
		if (fn(a, t, arg) != 0)
			return 0;
	}
}

/*
 * A result left the mailbox: acknowledge its item, so the broker does
 * not deliver it again.  A result that cannot be acknowledged is not
 * handed over (it comes back, and the next wait gets it).
 */
static int
result_taken(mdt_agent *a, int rv, char *item, uint8_t **result)
{
	char err[MDT_ERRMSG_MAX];
	int arv = item != NULL && item[0] != 0 ? sdk_ack(a, item, err,
	    sizeof(err)) : 0;

	free(item);
	if (arv != 0 && rv == 0) {
		free(*result);
		*result = NULL;
	}
	return arv != 0 ? arv : rv;
}

int
sdk_ack(mdt_agent *a, const char *id, char *err, size_t errlen)
{
	sdk_req r;
	int rv;

	if ((rv = sdk_req_begin(a, MDT_OP_ACK, &r)) == 0 &&
	    (rv = mdt_wire_put_cstr(r.w, "item", id)) == 0 &&
	    (rv = sdk_call(a, &r, 0, err, errlen)) == 0)
		rv = sdk_reply_status(r.reply, err, errlen);
	sdk_req_end(&r);
	return rv == -MDT_ENOTFOUND ? 0 : rv;
}

int
mdt_task_ack(mdt_task *t, char *err, size_t errlen)
{
	if (t == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL, "ack: NULL task");
	if (t->item == NULL || t->item[0] == 0)
		return 0;
	return sdk_ack(t->a, t->item, err, errlen);
}

int
mdt_task_wait_result(mdt_task *t, const char *child_id, uint32_t timeout_ms,
    uint8_t **result, size_t *len, char *err, size_t errlen)
{
	uint64_t deadline = sdk_clock_ms() + timeout_ms;

	if (t == NULL || child_id == NULL || result == NULL || len == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "wait_result: NULL argument");
	for (;;) {
		uint64_t now = sdk_clock_ms();
		uint32_t wait = now >= deadline ? 0 :
		    (uint32_t)(deadline - now);
		mdt_task *stray = NULL;
		char *item = NULL;
		int got = 0, rv;

		rv = sdk_mailbox_take(t->a, child_id, result, len, &item, err,
		    errlen);
		if (rv != -MDT_ENOTFOUND)
			return result_taken(t->a, rv, item, result);
		if (now >= deadline)
			return sdk_err(err, errlen, -MDT_ETIMEDOUT,
			    "no result from task %s within %u ms", child_id,
			    timeout_ms);
		if (wait > NEXT_SLICE_MS)
			wait = NEXT_SLICE_MS;
		rv = next_once(t->a, child_id, wait, &stray, &got, err, errlen);
		mdt_task_free(stray); /* the child filter excludes work */
		if (rv != 0 && rv != -MDT_ETIMEDOUT)
			return rv;
	}
}

/* ---- dispatch, result, complete, cancel ---- */

/* Adds "task" and "token" of t to a request. */
int
sdk_put_task(sdk_req *r, const mdt_task *t)
{
	int rv = mdt_wire_put_cstr(r->w, "task", t->id);

	return rv != 0 ? rv :
	    mdt_wire_put_bin(r->w, "token", t->token, t->token_len);
}

static int
dispatch_fields(sdk_req *r, const mdt_task *t, const char *target,
    const char *scopes, const uint8_t *payload, size_t len)
{
	int rv;

	if ((rv = sdk_put_task(r, t)) != 0 ||
	    (rv = mdt_wire_put_cstr(r->w, "to", target)) != 0 ||
	    (rv = mdt_wire_put_cstr(r->w, "scopes", scopes)) != 0)
		return rv;
	return len > 0 ? mdt_wire_put_bin(r->w, "payload", payload, len) : 0;
}

int
mdt_task_dispatch(mdt_task *t, const char *target, const char *scopes,
    const uint8_t *payload, size_t len, char child_id[MDT_AGENT_ID_MAX],
    char *err, size_t errlen)
{
	mdt_wire_op op;
	const char *id;
	sdk_req r;
	int rv;

	if (t == NULL || target == NULL || scopes == NULL ||
	    child_id == NULL || (payload == NULL && len > 0))
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "dispatch: NULL argument");
	if (len > MDT_AGENT_PAYLOAD_MAX)
		return sdk_err(err, errlen, -MDT_ETOOBIG,
		    "dispatch: payload of %zu bytes exceeds %u", len,
		    MDT_AGENT_PAYLOAD_MAX);
	if ((rv = sdk_check_agent_id("dispatch: target", target, err,
	    errlen)) != 0)
		return rv;
	op = t->parent[0] == '\0' ? MDT_OP_DISPATCH : MDT_OP_DELEGATE;
	if ((rv = sdk_req_begin(t->a, op, &r)) == 0 &&
	    (rv = dispatch_fields(&r, t, target, scopes, payload, len)) == 0 &&
	    (rv = sdk_call(t->a, &r, 0, err, errlen)) == 0 &&
	    (rv = sdk_reply_status(r.reply, err, errlen)) == 0 &&
	    (rv = mdt_wire_get_str(mdt_wire_msg_root(r.reply), "task",
	    MDT_AGENT_ID_MAX - 1, &id, err, errlen)) == 0)
		memcpy(child_id, id, strlen(id) + 1);
	sdk_req_end(&r);
	return rv;
}

/* result / complete / cancel share one shape. */
static int
task_end_op(mdt_task *t, mdt_wire_op op, const uint8_t *payload,
    size_t len, const char *reason, char *err, size_t errlen)
{
	sdk_req r;
	int rv;

	if (t == NULL || (payload == NULL && len > 0))
		return sdk_err(err, errlen, -MDT_EINVAL, "NULL argument");
	if (len > MDT_AGENT_PAYLOAD_MAX)
		return sdk_err(err, errlen, -MDT_ETOOBIG,
		    "result of %zu bytes exceeds %u", len,
		    MDT_AGENT_PAYLOAD_MAX);
	if ((rv = sdk_req_begin(t->a, op, &r)) == 0 &&
	    (rv = sdk_put_task(&r, t)) == 0 &&
	    (len == 0 || (rv = mdt_wire_put_bin(r.w, "payload", payload,
	    len)) == 0) &&
	    (reason == NULL || (rv = mdt_wire_put_cstr(r.w, "reason",
	    reason)) == 0) &&
	    (rv = sdk_call(t->a, &r, 0, err, errlen)) == 0)
		rv = sdk_reply_status(r.reply, err, errlen);
	/*
	 * A completion or cancellation resent to a restarted (or another)
	 * broker after the first copy ended the task: run again it would be
	 * refused (the task has ended), a verdict other than the recorded
	 * one, so the broker answers id.reused.  The earlier copy, ours,
	 * ended the task; that is this call's outcome.
	 */
	if (rv != 0 && op != MDT_OP_RESULT && sdk_decided_before(&r))
		rv = 0;
	sdk_req_end(&r);
	return rv;
}

int
mdt_task_report(mdt_task *t, const uint8_t *result, size_t len, char *err,
    size_t errlen)
{
	return task_end_op(t, MDT_OP_RESULT, result, len, NULL, err, errlen);
}

int
mdt_task_complete(mdt_task *t, const uint8_t *result, size_t len, char *err,
    size_t errlen)
{
	return task_end_op(t, MDT_OP_COMPLETE, result, len, NULL, err, errlen);
}

int
mdt_task_cancel(mdt_task *t, const char *reason, char *err, size_t errlen)
{
	return task_end_op(t, MDT_OP_CANCEL, NULL, 0, reason, err, errlen);
}

/*
 * Clinician decisions on parked step-ups (approve / reject), the
 * read-only task-tree query and an admin's abort of a task, all sent
 * over an authenticated connection.
 */
#include <string.h>

#include "sdk_int.h"

static int
decide_fields(sdk_req *r, const char *request_id, const char *assertion,
    const char *note)
{
	int rv;

	if ((rv = mdt_wire_put_cstr(r->w, "stepup", request_id)) != 0 ||
	    (rv = mdt_wire_put_cstr(r->w, "assertion", assertion)) != 0)
		return rv;
	return note == NULL ? 0 : mdt_wire_put_cstr(r->w, "note", note);
}

int
mdt_agent_decide_step_up(mdt_agent *a, const char *request_id,
    const char *assertion, int approve, const char *note, char *err,
    size_t errlen)
{
	sdk_req r;
	int rv;

	if (a == NULL || request_id == NULL || assertion == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "step-up decision: request id and assertion are required");
	if ((rv = sdk_req_begin(a, approve ? MDT_OP_APPROVE : MDT_OP_REJECT,
	    &r)) == 0 &&
	    (rv = decide_fields(&r, request_id, assertion, note)) == 0 &&
	    (rv = sdk_call(a, &r, 0, err, errlen)) == 0)
		rv = sdk_reply_status(r.reply, err, errlen);
	sdk_req_end(&r);
	return rv;
}

/* Sends r and copies the reply's "json" string into *json. */
static int
call_json(mdt_agent *a, sdk_req *r, const char *what, char **json,
    char *err, size_t errlen)
{
	const mdt_wire_val *v;
	const char *s;
	size_t len;
	int rv;

	if ((rv = sdk_call(a, r, 0, err, errlen)) != 0 ||
	    (rv = sdk_reply_status(r->reply, err, errlen)) != 0)
		return rv;
	v = mdt_wire_map_get(mdt_wire_msg_root(r->reply), "json");
	if (mdt_wire_val_str(v, &s, &len) != 0)
		return sdk_err(err, errlen, -MDT_EPROTO,
		    "%s: reply field json: expected a string", what);
	if ((*json = strdup(s)) == NULL)
		return -MDT_ENOMEM;
	return 0;
}

int
mdt_agent_task_graph(mdt_agent *a, const char *task_id, char **json,
    char *err, size_t errlen)
{
	sdk_req r;
	int rv;

	if (a == NULL || task_id == NULL || json == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "task graph: task id is required");
	if ((rv = sdk_req_begin(a, MDT_OP_TREE, &r)) == 0 &&
	    (rv = mdt_wire_put_cstr(r.w, "task", task_id)) == 0)
		rv = call_json(a, &r, "tree", json, err, errlen);
	sdk_req_end(&r);
	return rv;
}

int
mdt_agent_broker_status(mdt_agent *a, char **json, char *err,
    size_t errlen)
{
	sdk_req r;
	int rv;

	if (a == NULL || json == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "status: an agent and an output are required");
	if ((rv = sdk_req_begin(a, MDT_OP_STATUS, &r)) == 0)
		rv = call_json(a, &r, "status", json, err, errlen);
	sdk_req_end(&r);
	return rv;
}

int
mdt_agent_abort_task(mdt_agent *a, const char *task_id, const char *reason,
    size_t *revoked, char *err, size_t errlen)
{
	const mdt_wire_val *v;
	sdk_req r;
	int rv;

	if (a == NULL || task_id == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "abort: task id is required");
	if ((rv = sdk_req_begin(a, MDT_OP_ABORT, &r)) == 0 &&
	    (rv = mdt_wire_put_cstr(r.w, "task", task_id)) == 0 &&
	    (reason == NULL || (rv = mdt_wire_put_cstr(r.w, "reason",
	    reason)) == 0) &&
	    (rv = sdk_call(a, &r, 0, err, errlen)) == 0 &&
	    (rv = sdk_reply_status(r.reply, err, errlen)) == 0 &&
	    revoked != NULL) {
		v = mdt_wire_map_get(mdt_wire_msg_root(r.reply), "revoked");
		*revoked = mdt_wire_val_type(v) == MDT_WIRE_ARRAY ?
		    mdt_wire_val_count(v) : 0;
	}
	sdk_req_end(&r);
	return rv;
}

int
mdt_agent_access(mdt_agent *a, const char *agent, const char *patient,
    char **json, char *err, size_t errlen)
{
	sdk_req r;
	int rv;

	if (a == NULL || agent == NULL || patient == NULL || json == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "access: agent and patient are required");
	if ((rv = sdk_req_begin(a, MDT_OP_ACCESS, &r)) == 0 &&
	    (rv = mdt_wire_put_cstr(r.w, "agent", agent)) == 0 &&
	    (rv = mdt_wire_put_cstr(r.w, "patient", patient)) == 0)
		rv = call_json(a, &r, "access", json, err, errlen);
	sdk_req_end(&r);
	return rv;
}

int
mdt_agent_review_mark(mdt_agent *a, uint64_t seq, const char *reviewer,
    const char *note, uint64_t *mark_seq, char *err, size_t errlen)
{
	const mdt_wire_val *v;
	int64_t n = 0;
	sdk_req r;
	int rv;

	if (a == NULL || seq == 0 || seq > INT64_MAX || note == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "review: a decision and a note are required");
	if ((rv = sdk_req_begin(a, MDT_OP_REVIEW, &r)) == 0 &&
	    (rv = mdt_wire_put_int(r.w, "seq", (int64_t)seq)) == 0 &&
	    (rv = mdt_wire_put_cstr(r.w, "note", note)) == 0 &&
	    (reviewer == NULL || (rv = mdt_wire_put_cstr(r.w, "by",
	    reviewer)) == 0) &&
	    (rv = sdk_call(a, &r, 0, err, errlen)) == 0 &&
	    (rv = sdk_reply_status(r.reply, err, errlen)) == 0 &&
	    mark_seq != NULL) {
		v = mdt_wire_map_get(mdt_wire_msg_root(r.reply), "seq");
		*mark_seq = mdt_wire_val_int(v, &n) == 0 && n > 0 ?
		    (uint64_t)n : 0;
	}
	sdk_req_end(&r);
	return rv;
}

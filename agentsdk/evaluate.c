/*
 * evaluate: an admin's question about any subject, action and resource,
 * answered by the broker's Cedar policy set (the AuthZEN front's path to
 * the broker).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sdk_int.h"

static int
put_opt(mdt_wire_writer *w, const char *key, const char *v)
{
	return v == NULL ? 0 : mdt_wire_put_cstr(w, key, v);
}

/* {reason, detail?, token_id?}: a deny the caller decided, to record. */
static int
refused_fields(mdt_wire_writer *w, const mdt_eval_request *q)
{
	int rv;

	if ((rv = mdt_wire_begin_map(w, "refused", 1 +
	    (q->refused_detail != NULL) + (q->token_id != NULL))) ||
	    (rv = mdt_wire_put_cstr(w, "reason", q->refused_reason)) ||
	    (rv = put_opt(w, "detail", q->refused_detail)))
		return rv;
	if ((rv = put_opt(w, "token_id", q->token_id)) != 0)
		return rv;
	return mdt_wire_end(w);
}

static int
eval_fields(mdt_wire_writer *w, const mdt_eval_request *q)
{
	int rv;

	if ((rv = mdt_wire_put_cstr(w, "subject_type", q->subject_type)) ||
	    (rv = mdt_wire_put_cstr(w, "subject_id", q->subject_id)) ||
	    (rv = put_opt(w, "subject_props", q->subject_props)) ||
	    (rv = mdt_wire_put_cstr(w, "action", q->action)) ||
	    (rv = mdt_wire_put_cstr(w, "resource_type", q->resource_type)) ||
	    (rv = mdt_wire_put_cstr(w, "resource_id", q->resource_id)) ||
	    (rv = put_opt(w, "resource_props", q->resource_props)))
		return rv;
	if ((rv = put_opt(w, "context", q->context)) != 0 ||
	    q->refused_reason == NULL)
		return rv;
	return refused_fields(w, q);
}

static void
copy_field(const mdt_wire_msg *m, const char *key, char *out, size_t len)
{
	const char *s = "";
	size_t n = 0;

	if (mdt_wire_val_str(mdt_wire_map_get(mdt_wire_msg_root(m), key), &s,
	    &n) != 0)
		s = "";
	snprintf(out, len, "%s", s);
}

static int
eval_result(const mdt_wire_msg *m, mdt_eval_result *out, char *err,
    size_t errlen)
{
	char decision[8];

	memset(out, 0, sizeof(*out));
	copy_field(m, "decision", decision, sizeof(decision));
	if (strcmp(decision, "allow") != 0 && strcmp(decision, "deny") != 0)
		return sdk_err(err, errlen, -MDT_EPROTO,
		    "evaluate: reply field decision: expected allow or deny");
	out->allow = strcmp(decision, "allow") == 0;
	copy_field(m, "reason", out->reason, sizeof(out->reason));
	copy_field(m, "detail", out->detail, sizeof(out->detail));
	copy_field(m, "policies", out->policies, sizeof(out->policies));
	return 0;
}

int
mdt_agent_evaluate(mdt_agent *a, const mdt_eval_request *req,
    mdt_eval_result *out, char *err, size_t errlen)
{
	mdt_eval_request q = { 0 };
	sdk_req r;
	int rv;

	if (a == NULL || req == NULL || out == NULL ||
	    req->subject_type == NULL || req->subject_id == NULL ||
	    req->action == NULL || req->resource_type == NULL ||
	    req->resource_id == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL, "evaluate: subject, "
		    "action and resource are required");
	if ((rv = sdk_opts_size(req, offsetof(mdt_eval_request,
	    refused_reason), sizeof(*req), "mdt_eval_request", err,
	    errlen)) != 0)
		return rv;
	/* a caller built against an older header has no refused_* fields */
	memcpy(&q, req, req->size != 0 && req->size < sizeof(q) ? req->size :
	    sizeof(q));
	if ((rv = sdk_req_begin(a, MDT_OP_EVALUATE, &r)) == 0 &&
	    (rv = eval_fields(r.w, &q)) == 0 &&
	    (rv = sdk_call(a, &r, 0, err, errlen)) == 0 &&
	    (rv = sdk_reply_status(r.reply, err, errlen)) == 0)
		rv = eval_result(r.reply, out, err, errlen);
	/* a broker that ignores refused (one older than it) asked Cedar:
	 * its allow is no record of the deny, so fail closed */
	if (rv == 0 && q.refused_reason != NULL && out->allow) {
		memset(out, 0, sizeof(*out));
		rv = sdk_err(err, errlen, -MDT_EPROTO, "evaluate: the broker "
		    "allowed a refused request (it does not know refused)");
	}
	sdk_req_end(&r);
	return rv;
}

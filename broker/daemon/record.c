/*
 * Audit glue: every decision becomes one durable audit record before its
 * answer leaves the broker.  The record's request id is the caller's
 * (agent, request id) key, so a request resent after a restart finds its
 * earlier decision instead of being recorded (or applied) twice.
 */
#include <stdio.h>
#include <string.h>

#include "broker.h"

static void
reasons_json(const struct brk_record *r, char *out, size_t len)
{
	char detail[BRK_DETAIL_MAX * 2];
	const char *code;

	if (r->deny == NULL) {
		snprintf(out, len, "{\"decision\":\"%s\"}",
		    mdt_audit_verdict_name(r->verdict));
		return;
	}
	code = mdt_wire_code_name(r->deny->status);
	brk_json_escape(r->deny->detail, detail, sizeof(detail));
	snprintf(out, len, "{\"failed\":\"%s\",\"code\":\"%s\","
	    "\"detail\":\"%s\"}", r->deny->reason, code ? code : "?", detail);
}

int
brk_record(struct brk_ctx *c, const struct brk_record *r,
    struct brk_deny *d)
{
	char rid[BRK_KEY_MAX + 16], reasons[BRK_DETAIL_MAX * 3];
	mdt_audit_decision rec = {
		.request_id = rid,
		.operation = r->op,
		.verdict = r->verdict,
		.flags = r->flags,
		.reasons = reasons,
		.policy_ids = r->policies_json && r->policies_json[0] ?
		    r->policies_json : "[]",
		.policy_hash = mdt_policy_set_hash(c->snap->policies),
		.task_id = r->task,
		.token_id = r->token_id,
		.clinician = r->clinician,
		.agent = c->agent,
		.agent_chain = r->chain_json && r->chain_json[0] ?
		    r->chain_json : "[]",
		.patient = r->patient,
		.purpose = r->purpose,
		.action = r->action,
		.resource = r->resource,
	};
	mdt_audit_decision *old = NULL;
	int rc;

	snprintf(rid, sizeof(rid), "%s%s", c->audit_id,
	    r->suffix ? r->suffix : "");
	reasons_json(r, reasons, sizeof(reasons));
	rc = mdt_store_append_decision(c->b->store, &rec, NULL);
	if (rc == -MDT_EEXIST &&
	    mdt_store_find_decision(c->b->store, rid, &old) == 0) {
		/* resent after a restart: the earlier decision stands, and
		 * only the same verdict may be answered again */
		rc = old->verdict == r->verdict ? 0 : -MDT_EEXIST;
		mdt_free(old);
	}
	if (rc == 0)
		return 0;
	BLOG(c->b, BRK_ERROR, "audit.failed", "request=%s op=%s error=%s",
	    rid, r->op, mdt_strerror(rc));
	brk_deny_set(d, rc == -MDT_EEXIST ? -MDT_EEXIST : -MDT_ESTORE,
	    rc == -MDT_EEXIST ? "id.reused" : "store",
	    "the decision could not be recorded durably: %s", mdt_strerror(rc));
	return -1;
}

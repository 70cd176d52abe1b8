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

/* The decision record of r for c; rid and reasons are its buffers. */
static void
decision_of(struct brk_ctx *c, const struct brk_record *r, const char *rid,
    char *reasons, size_t rlen, mdt_audit_decision *rec)
{
	*rec = (mdt_audit_decision){
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
	reasons_json(r, reasons, rlen);
}

/* The audit request id of r: the request's key, plus r's suffix when it
 * records a second decision of the same request. */
static void
rid_of(const struct brk_ctx *c, const struct brk_record *r, char *rid,
    size_t len)
{
	snprintf(rid, len, "%s%s", c->audit_id, r->suffix ? r->suffix : "");
}

/* An append refused with EEXIST: a resend after a restart, whose earlier
 * decision stands, so only the same verdict may be answered again. */
static int
earlier(brk_broker *b, const char *rid, mdt_audit_verdict v)
{
	mdt_audit_decision *old = NULL;
	int rc = -MDT_EEXIST;

	if (mdt_store_find_decision(b->store, rid, &old) == 0) {
		rc = old->verdict == v ? 0 : -MDT_EEXIST;
		mdt_free(old);
	}
	return rc;
}

static int
failed(brk_broker *b, const char *rid, const char *op, int rc,
    struct brk_deny *d)
{
	BLOG(b, BRK_ERROR, "audit.failed", "request=%s op=%s error=%s",
	    rid, op, mdt_strerror(rc));
	brk_deny_set(d, rc == -MDT_EEXIST ? -MDT_EEXIST : -MDT_ESTORE,
	    rc == -MDT_EEXIST ? "id.reused" : "store",
	    "the decision could not be recorded durably: %s", mdt_strerror(rc));
	return -1;
}

int
brk_record(struct brk_ctx *c, const struct brk_record *r,
    struct brk_deny *d)
{
	char rid[BRK_RID_MAX], reasons[BRK_DETAIL_MAX * 3];
	mdt_audit_decision rec;
	int rc;

	rid_of(c, r, rid, sizeof(rid));
	decision_of(c, r, rid, reasons, sizeof(reasons), &rec);
	rc = mdt_store_append_decision(c->b->store, &rec, NULL);
	if (rc == -MDT_EEXIST)
		rc = earlier(c->b, rid, r->verdict);
	return rc == 0 ? 0 : failed(c->b, rid, r->op, rc, d);
}

/* Runs on the store's writer thread once the record's batch is done.  A
 * committed record's answer is sent from here: handing it to a worker
 * would put one more thread hand-off, and its wait for a core, into every
 * answer (measured: a p99 half as long at half the peak rate).  Anything
 * else -- a resend whose earlier decision must be looked up, a store
 * failure -- goes to a worker, so the writer never reads the store. */
static void
record_done(void *arg, int rc, uint64_t seq)
{
	struct brk_ctx *c = arg;

	(void)seq;
	c->pending_rc = rc;
	if (rc == 0)
		brk_record_deliver(c);
	else
		brk_defer_reply(c);
}

void
brk_record_deliver(struct brk_ctx *c)
{
	mdt_wire_writer *w = c->pending;
	brk_broker *b = c->b;
	struct brk_deny d = { 0 };
	int rc = c->pending_rc;

	c->pending = NULL;
	if (rc == -MDT_EEXIST)
		rc = earlier(b, c->pending_rid, c->pending_verdict);
	if (rc == 0) {
		brk_reply(c, w);
	} else {
		mdt_wire_writer_free(w);
		(void)failed(b, c->pending_rid, "authorize", rc, &d);
		c->pending_fail(c, &d);
	}
	atomic_fetch_sub(&b->recording, 1);
}

int
brk_record_then_reply(struct brk_ctx *c, const struct brk_record *r,
    mdt_wire_writer *reply, brk_fail_fn fail, struct brk_deny *d)
{
	char reasons[BRK_DETAIL_MAX * 3];
	mdt_audit_decision rec;
	int rc;

	rid_of(c, r, c->pending_rid, sizeof(c->pending_rid));
	decision_of(c, r, c->pending_rid, reasons, sizeof(reasons), &rec);
	c->pending = reply;
	c->pending_verdict = r->verdict;
	c->pending_fail = fail;
	atomic_fetch_add(&c->b->recording, 1);
	/* from here on the writer thread may answer c at any moment */
	rc = mdt_store_append_decision_async(c->b->store, &rec, record_done,
	    c);
	if (rc == 0)
		return 0;
	atomic_fetch_sub(&c->b->recording, 1);
	c->pending = NULL;
	mdt_wire_writer_free(reply);
	return failed(c->b, c->pending_rid, r->op, rc, d);
}

/*
 * Audit glue: every decision becomes one durable audit record before its
 * answer leaves the broker.  The record's request id is the caller's
 * (agent, request id) key, so a request resent after a restart finds its
 * earlier decision instead of being recorded (or applied) twice.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "broker.h"

static void
reasons_json(const struct brk_record *r, char *out, size_t len)
{
	char detail[BRK_DETAIL_MAX * 2];
	const char *code;

	if (r->deny == NULL) {
		snprintf(out, len, "{\"decision\":\"%s\"}",
		    mdt_store_verdict_name(r->verdict));
		return;
	}
	code = mdt_wire_code_name(r->deny->status);
	brk_json_escape(r->deny->detail, detail, sizeof(detail));
	snprintf(out, len, "{\"failed\":\"%s\",\"code\":\"%s\","
	    "\"detail\":\"%s\"}", r->deny->reason, code ? code : "?", detail);
}

/* Every refusal on record gets one log line with its reason code and
 * audit sequence number, and nothing about the patient or the resource
 * (the audit record holds those). */
static void
log_refusal(brk_broker *b, const char *op, const char *verdict,
    const char *reason, uint64_t seq, const char *rid)
{
	BLOG(b, BRK_INFO, "decision.refused", "op=%s verdict=%s reason=%s "
	    "seq=%llu request=%s", op, verdict, reason,
	    (unsigned long long)seq, rid);
}

/* The decision record of r for c; rid and reasons are its buffers. */
static void
decision_of(struct brk_ctx *c, const struct brk_record *r, const char *rid,
    char *reasons, size_t rlen, mdt_store_decision *rec)
{
	*rec = (mdt_store_decision){
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
		.request_hash = c->hash,
		.request = c->cedar_request,
		.entities_version = c->cedar_request != NULL ?
		    c->snap->entities_version : NULL,
	};
	reasons_json(r, reasons, rlen);
	brk_metrics_decision(&c->b->metrics, r->op,
	    mdt_store_verdict_name(r->verdict),
	    r->deny != NULL && r->deny->reason != NULL ? r->deny->reason : "");
}

/* The audit request id of r: the request's key, plus r's suffix when it
 * records a second decision of the same request. */
static void
rid_of(const struct brk_ctx *c, const struct brk_record *r, char *rid,
    size_t len)
{
	snprintf(rid, len, "%s%s", c->audit_id, r->suffix ? r->suffix : "");
}

/*
 * The refusal of a request whose id is already recorded for other
 * content, or for another verdict: recorded under a derived id (the id
 * plus the content hash, so a resend of it is recorded once), then
 * answered.  Blocks on the store: workers only.
 */
static int
reused(struct brk_ctx *c, const char *rid, const char *op, struct brk_deny *d)
{
	char rid2[BRK_RID_MAX + 32], hx[17], reasons[BRK_DETAIL_MAX * 3];
	struct brk_deny rd = { 0 };
	struct brk_record r = { .op = op, .verdict = MDT_STORE_DENY,
	    .deny = &rd };
	mdt_store_decision rec;
	uint64_t seq = 0;
	int rc;

	brk_deny_set(&rd, -MDT_EEXIST, "id.reused", "request id %s was "
	    "already decided for other content or with another verdict; send "
	    "this request under a new id", rid);
	sodium_bin2hex(hx, sizeof(hx), c->hash, 8);
	snprintf(rid2, sizeof(rid2), "%s#reused.%s", rid, hx);
	decision_of(c, &r, rid2, reasons, sizeof(reasons), &rec);
	rc = mdt_store_append_decision(c->b->store, &rec, &seq);
	if (rc == 0)
		log_refusal(c->b, op, "deny", rd.reason, seq, rid2);
	if (rc != 0 && rc != -MDT_EEXIST) {
		atomic_fetch_add(&c->b->unrecorded, 1);
		BLOG(c->b, BRK_ERROR, "audit.failed", "request=%s op=%s "
		    "error=%s", rid2, op, mdt_strerror(rc));
		brk_deny_set(d, -MDT_ESTORE, "store", "the refusal of a reused "
		    "request id could not be recorded: %s", mdt_strerror(rc));
		return -1;
	}
	*d = rd;
	return -1;
}

/*
 * An append refused with EEXIST: the id is recorded.  The same content
 * with the same verdict is a resend (after a restart or past the reply
 * cache), whose earlier decision stands and is answered again; anything
 * else is a reused id, refused whatever the reply cache holds.
 */
static int
earlier(struct brk_ctx *c, const char *rid, const char *op,
    mdt_store_verdict v, struct brk_deny *d)
{
	mdt_store_decision *old = NULL;
	int rc = mdt_store_find_decision(c->b->store, rid, &old);
	int same;

	if (rc != 0) {
		brk_deny_set(d, -MDT_ESTORE, "store", "request id %s is "
		    "recorded but cannot be read: %s", rid, mdt_strerror(rc));
		return -1;
	}
	same = old->request_hash != NULL && old->verdict == v &&
	    sodium_memcmp(old->request_hash, c->hash, 32) == 0;
	mdt_free(old);
	return same ? 0 : reused(c, rid, op, d);
}

static int
failed(brk_broker *b, const char *rid, const char *op, int rc,
    struct brk_deny *d)
{
	atomic_fetch_add(&b->unrecorded, 1);
	BLOG(b, BRK_ERROR, "audit.failed", "request=%s op=%s error=%s",
	    rid, op, mdt_strerror(rc));
	brk_deny_set(d, -MDT_ESTORE, "store",
	    "the decision could not be recorded durably: %s", mdt_strerror(rc));
	return -1;
}

int
brk_id_check(struct brk_ctx *c, const char *op, struct brk_deny *d)
{
	mdt_store_decision *old = NULL;
	int rc = mdt_store_find_decision(c->b->store, c->audit_id, &old);
	int same;

	if (rc == -MDT_ENOTFOUND)
		return 0;
	if (rc != 0)
		return failed(c->b, c->audit_id, op, rc, d);
	same = old->request_hash != NULL &&
	    sodium_memcmp(old->request_hash, c->hash, 32) == 0;
	mdt_free(old);
	return same ? 0 : reused(c, c->audit_id, op, d);
}

int
brk_record(struct brk_ctx *c, const struct brk_record *r,
    struct brk_deny *d)
{
	char rid[BRK_RID_MAX], reasons[BRK_DETAIL_MAX * 3];
	mdt_store_decision rec;
	uint64_t seq = 0;
	int rc;

	rid_of(c, r, rid, sizeof(rid));
	decision_of(c, r, rid, reasons, sizeof(reasons), &rec);
	rc = mdt_store_append_decision(c->b->store, &rec, &seq);
	if (rc == 0 && r->deny != NULL)
		log_refusal(c->b, r->op, mdt_store_verdict_name(r->verdict),
		    r->deny->reason, seq, rid);
	if (rc == -MDT_EEXIST)
		return earlier(c, rid, r->op, r->verdict, d);
	return rc == 0 ? 0 : failed(c->b, rid, r->op, rc, d);
}

void
brk_refuse(struct brk_ctx *c, const char *op, const struct brk_held *h,
    const struct brk_deny *d, const char *resource)
{
	struct brk_record r = brk_held_record(c, h, op, d->status ==
	    -MDT_EPOLICY ? MDT_STORE_ERROR : MDT_STORE_DENY, d);
	struct brk_deny sd = { 0 };

	r.action = op;
	r.resource = resource;
	if (brk_record(c, &r, &sd) == 0)
		brk_reply_deny(c, d);
	else
		brk_reply_deny(c, &sd);
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

	if (rc == 0 && c->pending_reason != NULL)
		log_refusal(c->b, c->pending_op, mdt_store_verdict_name(
		    (mdt_store_verdict)c->pending_verdict), c->pending_reason, seq, c->pending_rid);
	c->pending_rc = rc;
	if (rc == 0)
		brk_record_deliver(c);
	else
		brk_defer_reply(c);
}

/* As record_done, adding the decision's receipt to the answer first (a
 * store without receipts gives none; the answer goes without). */
static void
record_receipt(void *arg, int rc, uint64_t seq, const mdt_receipt *r)
{
	struct brk_ctx *c = arg;
	uint8_t buf[MDT_RECEIPT_MAX_BYTES];
	size_t len;

	if (rc == 0 && r != NULL && c->pending != NULL &&
	    mdt_receipt_encode(r, buf, sizeof(buf), &len) == 0 &&
	    mdt_wire_put_bin(c->pending, "receipt", buf, len) != 0)
		BLOG(c->b, BRK_ERROR, "receipt.reply", "seq=%llu", (unsigned long long)seq);
	record_done(arg, rc, seq);
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
		rc = earlier(c, c->pending_rid, c->pending_op,
		    c->pending_verdict, &d);
	else if (rc != 0)
		rc = failed(b, c->pending_rid, c->pending_op, rc, &d);
	if (rc == 0) {
		brk_reply(c, w);
	} else {
		mdt_wire_writer_free(w);
		c->pending_fail(c, &d);
	}
	atomic_fetch_sub(&b->recording, 1);
}

int
brk_record_then_reply(struct brk_ctx *c, const struct brk_record *r,
    mdt_wire_writer *reply, brk_fail_fn fail, struct brk_deny *d)
{
	char reasons[BRK_DETAIL_MAX * 3];
	mdt_store_decision rec;
	int rc;

	rid_of(c, r, c->pending_rid, sizeof(c->pending_rid));
	decision_of(c, r, c->pending_rid, reasons, sizeof(reasons), &rec);
	c->pending = reply;
	c->pending_verdict = r->verdict;
	c->pending_op = r->op;
	c->pending_reason = r->deny != NULL ? r->deny->reason : NULL;
	c->pending_fail = fail;
	atomic_fetch_add(&c->b->recording, 1);
	/* from here on the writer thread may answer c at any moment */
	rc = r->issued_token_id != NULL ?
	    mdt_store_append_decision_receipt(c->b->store, &rec,
	    r->issued_token_id, record_receipt, c) :
	    mdt_store_append_decision_async(c->b->store, &rec, record_done,
	    c);
	if (rc == 0)
		return 0;
	atomic_fetch_sub(&c->b->recording, 1);
	c->pending = NULL;
	mdt_wire_writer_free(reply);
	return failed(c->b, c->pending_rid, r->op, rc, d);
}

/*
 * The checks every hop and every action share: the caller holds the
 * presented token, the token verifies under the root key and has not
 * expired, its task exists and nothing on its chain is revoked, and the
 * caller is a registered agent.  Then the three scope layers, each as it
 * is now: token, clinician, agent ceiling.  Every failure is a deny with a
 * machine-readable reason (fail closed).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "utf8_int.h"

void
brk_deny_set(struct brk_deny *d, int status, const char *reason,
    const char *fmt, ...)
{
	va_list ap;

	d->status = status < 0 ? status : -status;
	d->reason = reason;
	va_start(ap, fmt);
	vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
	va_end(ap);
	/* the detail is answered and recorded as text: a quoted value or the
	 * cut at the bound must not leave bytes a strict reader refuses */
	mdt__utf8_scrub(d->detail);
}

void
brk_held_clear(struct brk_held *h)
{
	mdt_token_free(h->tok);
	mdt_free(h->task);
	h->tok = NULL;
	h->task = NULL;
}

struct brk_record
brk_held_record(const struct brk_ctx *c, const struct brk_held *h,
    const char *op, mdt_store_verdict v, const struct brk_deny *deny)
{
	const mdt_store_task *t = h->task;
	const mdt_token *k = h->tok;
	struct brk_record r = {
		.op = op, .verdict = v, .deny = deny,
		.policies_json = deny != NULL ? deny->policies : NULL,
		.task = t ? t->task_id : k ? mdt_token_task_id(k) :
		    h->claimed_task,
		.token_id = k ? h->token_id : NULL,
		.clinician = t ? t->clinician : k ? mdt_token_clinician(k) :
		    NULL,
		.chain_json = k ? h->chain_json : NULL,
		.patient = t ? t->patient : k ? mdt_token_patient(k) : NULL,
		.purpose = t ? t->purpose : k ? mdt_token_purpose(k) : NULL,
	};
	const char *claimed = NULL;
	char err[MDT_ERRMSG_MAX];

	/* a refusal before the fields were read still names the task */
	if (r.task == NULL && c->root != NULL && mdt_wire_get_str(c->root,
	    "task", BRK_ID_MAX - 1, &claimed, err, sizeof(err)) == 0)
		r.task = claimed;
	return r;
}

/* The agent chain of the token (holders in block order) as JSON. */
static void
chain_json(const mdt_token *tok, char *out, size_t len)
{
	size_t n = mdt_token_block_count(tok), o = 0;
	char esc[BRK_ID_MAX * 2];
	const char *last = NULL;

	o += (size_t)snprintf(out, len, "[");
	for (size_t i = 0; i < n && o < len; i++) {
		mdt_token_block_view v;
		if (mdt_token_block(tok, i, &v) != 0 || v.holder_id == NULL ||
		    (last != NULL && strcmp(last, v.holder_id) == 0))
			continue;
		brk_json_escape(v.holder_id, esc, sizeof(esc));
		o += (size_t)snprintf(out + o, len - o, "%s\"%s\"",
		    last != NULL ? "," : "", esc);
		last = v.holder_id;
	}
	if (o < len)
		snprintf(out + o, len - o, "]");
}

/*
 * The presented token against the task's record: its task, its holder
 * (one holder rule: the pipe's agent, the holder the broker recorded for
 * the task when it made the hop, and the key registered for that agent
 * now, all three; a token whose holder the broker never set does not even
 * verify, docs/token-format.md), block 0's facts, and its expiry.
 */
static int
token_checks(struct brk_ctx *c, struct brk_held *h, const char *task,
    struct brk_deny *d)
{
	const mdt_store_task *t = h->task;
	const char *holder = mdt_token_holder_id(h->tok);
	mdt_pubkey hk;

	if (mdt_token_task_id(h->tok) == NULL ||
	    strcmp(mdt_token_task_id(h->tok), task) != 0) {
		brk_deny_set(d, -MDT_EINVAL, "token.task",
		    "the token is not the token of task %s", task);
		return -1;
	}
	mdt_token_holder_key(h->tok, &hk);
	if (holder == NULL || strcmp(holder, c->agent) != 0 ||
	    t->holder == NULL || strcmp(t->holder, c->agent) != 0 ||
	    !mdt_pubkey_equal(&hk, &h->agent->pk)) {
		brk_deny_set(d, -MDT_EHOLDER, "token.holder", "task %s is held "
		    "by %s (token names %s), not by %s", task,
		    t->holder ? t->holder : "?", holder ? holder : "?",
		    c->agent);
		return -1;
	}
	if (strcmp(mdt_token_patient(h->tok), t->patient) != 0 ||
	    strcmp(mdt_token_clinician(h->tok), t->clinician) != 0 ||
	    strcmp(mdt_token_purpose(h->tok), t->purpose) != 0) {
		brk_deny_set(d, -MDT_EINVAL, "token.task", "the token's "
		    "clinician, patient or purpose differs from task %s's", task);
		return -1;
	}
	if (mdt_token_expires_at(h->tok) <= brk_now_ms() / 1000) {
		brk_deny_set(d, -MDT_EEXPIRED, "token.expired",
		    "token of task %s expired at %lld", task,
		    (long long)mdt_token_expires_at(h->tok));
		return -1;
	}
	return 0;
}

static int
task_checks(brk_broker *b, struct brk_held *h, const char *task,
    struct brk_deny *d)
{
	char by[MDT_STORE_FIELD_MAX + 1];
	int revoked = 0;
	int rc = mdt_store_task_check(b->store, task, &h->task, &revoked, by,
	    sizeof(by));

	if (rc == -MDT_ENOTFOUND) {
		brk_deny_set(d, rc, "task.unknown", "no task %s", task);
		return -1;
	}
	if (rc != 0) {
		brk_deny_set(d, -MDT_ESTORE, "store",
		    "task store: %s", mdt_strerror(rc));
		return -1;
	}
	if (revoked) {
		/* ended by its holder, or revoked with an ended ancestor */
		int own = h->task->state == MDT_TASK_COMPLETED ||
		    h->task->state == MDT_TASK_CANCELLED;
		brk_deny_set(d, -MDT_EREVOKED, own ? "task.ended" : "revoked",
		    "task %s is %s (ended: %s)", task, own ? "ended" : "revoked",
		    by);
		return -1;
	}
	return 0;
}

int
brk_check_held(struct brk_worker *w, struct brk_ctx *c, struct brk_held *h,
    struct brk_deny *d)
{
	brk_broker *b = c->b;
	const uint8_t *tb;
	size_t tl;
	char err[MDT_ERRMSG_MAX];
	mdt_token_reason why;
	int rc;

	(void)w;
	memset(h, 0, sizeof(*h));
	if (mdt_wire_get_str(c->root, "task", BRK_ID_MAX - 1, &h->claimed_task,
	    err, sizeof(err)) != 0 || mdt_wire_get_bin(c->root, "token",
	    MDT_TOKEN_BYTES_MAX, &tb, &tl, err, sizeof(err)) != 0) {
		brk_deny_set(d, -MDT_EPROTO, "field", "%s", err);
		return -1;
	}
	h->agent = brk_agent_find(c->snap, c->agent);
	if (h->agent == NULL) {
		brk_deny_set(d, -MDT_ENOTFOUND, "agent.unknown",
		    "agent %s is no longer registered", c->agent);
		return -1;
	}
	rc = brk_token_open(b, tb, tl, &h->tok, &why);
	if (rc != 0) {
		brk_deny_set(d, rc, rc == -MDT_EHOLDER ? "token.holder" :
		    "token", "token does not verify: %s", why.message);
		return -1;
	}
	mdt_token_id_text(h->tok, h->token_id);
	chain_json(h->tok, h->chain_json, sizeof(h->chain_json));
	if (task_checks(b, h, h->claimed_task, d) != 0)
		return -1;
	return token_checks(c, h, h->claimed_task, d);
}

/* token scopes ∩ clinician now (when asserted since start) ∩ ceiling. */
int
brk_effective_scopes(brk_broker *b, const struct brk_held *h,
    mdt_scope_set **out, struct brk_deny *d)
{
	mdt_scope_set *ts = NULL, *cs = NULL, *t1 = NULL;
	int rc = mdt_token_scopes(h->tok, &ts);

	if (rc == 0) {
		rc = brk_clinician_scopes(b, mdt_token_clinician(h->tok), &cs);
		if (rc == -MDT_ENOTFOUND)
			rc = mdt_scope_set_dup(ts, &cs);
	}
	if (rc == 0)
		rc = mdt_scope_set_intersect(ts, cs, &t1);
	if (rc == 0)
		rc = mdt_scope_set_intersect(t1, h->agent->ceiling, out);
	mdt_scope_set_free(ts);
	mdt_scope_set_free(cs);
	mdt_scope_set_free(t1);
	if (rc != 0)
		brk_deny_set(d, rc, "internal", "scope intersection failed");
	return rc != 0 ? -1 : 0;
}

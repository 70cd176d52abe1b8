/*
 * Task operations: open (root task for a clinician), dispatch/delegate
 * (a narrower subtask to a named agent), result, complete/cancel (end a
 * task and revoke its subtree), and the admin tree query.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "broker.h"

#define TOKEN_DEPTH 3 /* hops below the root a task token allows */
/* The forbid of the default set that refuses cycles: a deny it determines
 * for a hop whose target is on the chain is answered as reason "cycle". */
#define CYCLE_POLICY "no-delegation-cycles"

/* A malformed field of op: recorded like any refusal. */
static int
field_deny(struct brk_ctx *c, const char *op, const char *err)
{
	struct brk_held h = { 0 };
	struct brk_deny d = { 0 };

	brk_deny_set(&d, -MDT_EPROTO, "field", "%s", err);
	brk_refuse(c, op, &h, &d, NULL);
	return -1;
}

/*
 * The task of a request already decided as an allow (a resend past the
 * reply cache, or after a restart) keeps its id: the resend is answered
 * for that task instead of making a second one that no record names.
 * 1 when id (len bytes) is that task's.
 */
static int
prior_task(struct brk_ctx *c, char *id, size_t len)
{
	mdt_store_decision *old = NULL;
	int found = mdt_store_find_decision(c->b->store, c->audit_id,
	    &old) == 0 && old->verdict == MDT_STORE_ALLOW &&
	    old->task_id != NULL && old->task_id[0] != 0;

	if (found)
		snprintf(id, len, "%s", old->task_id);
	mdt_free(old);
	return found;
}

/* ---------------------------------------------------------------- open */

struct open_req {
	const char *assertion, *patient, *purpose, *scopes;
	int64_t ttl;
};

static int
open_fields(struct brk_ctx *c, struct open_req *o)
{
	char err[MDT_ERRMSG_MAX];
	int has;

	o->ttl = c->snap->cfg.token_ttl;
	if (mdt_wire_get_str(c->root, "assertion", BRK_ASSERTION_MAX,
	    &o->assertion, err, sizeof(err)) ||
	    mdt_wire_get_str(c->root, "patient", BRK_ID_MAX - 1, &o->patient,
	    err, sizeof(err)) ||
	    mdt_wire_get_str(c->root, "purpose", 63, &o->purpose, err,
	    sizeof(err)) ||
	    mdt_wire_get_str(c->root, "scopes", BRK_SCOPES_TEXT_MAX - 1,
	    &o->scopes, err, sizeof(err)) ||
	    mdt_wire_get_int_opt(c->root, "ttl", 1, c->snap->cfg.token_ttl,
	    &o->ttl, &has, err, sizeof(err)))
		return field_deny(c, "open", err);
	return 0;
}

/* requested ∩ clinician ∩ ceiling, non-empty. */
static int
open_scopes(const struct open_req *o, const struct brk_claims *cl,
    const struct brk_agent *a, mdt_scope_set **out, struct brk_deny *d)
{
	mdt_scope_set *req = NULL, *t = NULL;
	char err[MDT_ERRMSG_MAX] = "";
	int rc = brk_scopes_parse(o->scopes, &req, err, sizeof(err));

	if (rc != 0) {
		brk_deny_set(d, rc, "field", "scopes: %s", err);
		return -1;
	}
	rc = mdt_scope_set_intersect(req, cl->scopes, &t);
	if (rc == 0)
		rc = mdt_scope_set_intersect(t, a->ceiling, out);
	mdt_scope_set_free(req);
	mdt_scope_set_free(t);
	if (rc != 0) {
		brk_deny_set(d, rc, "internal", "scope intersection failed");
		return -1;
	}
	if (mdt_scope_set_count(*out) == 0) {
		mdt_scope_set_free(*out);
		*out = NULL;
		brk_deny_set(d, -MDT_ESCOPE, "scope.empty", "requested scopes "
		    "share nothing with the clinician's grant and the "
		    "orchestrator's ceiling");
		return -1;
	}
	return 0;
}

/*
 * An emergency purpose (break-the-glass) is the clinician's own act: the
 * assertion must declare it (purpose_of_use), and is used for one task.
 * Software holding an ordinary launch assertion cannot choose it.
 */
static int
open_emergency(struct brk_ctx *c, const struct open_req *o,
    const struct brk_claims *cl, struct brk_deny *d)
{
	if (!brk_word_in(c->snap->cfg.emergency_purposes, o->purpose))
		return 0;
	if (strcmp(cl->purpose_of_use, o->purpose) != 0) {
		brk_deny_set(d, -MDT_EDENIED, "emergency.unasserted", "purpose "
		    "%s declares an emergency, which only the clinician can: "
		    "the assertion carries no purpose_of_use %s", o->purpose,
		    o->purpose);
		return -1;
	}
	return brk_act_use(c, cl, "emergency", d);
}

static int
open_mint(struct brk_ctx *c, const struct open_req *o,
    const struct brk_claims *cl, const mdt_scope_set *eff,
    const char *task, mdt_token **tok, struct brk_deny *d)
{
	int64_t now = brk_now_ms() / 1000;
	mdt_token_mint_params p = {
		.task_id = task, .clinician = cl->clinician,
		.patient = o->patient, .purpose = o->purpose, .scopes = eff,
		.issued_at = now, .expires_at = now + o->ttl,
		.depth = TOKEN_DEPTH, .holder_id = c->agent,
		.holder_key = &brk_agent_find(c->snap, c->agent)->pk,
	};
	mdt_token_reason why;
	int rc = mdt_token_mint(c->b->root, &p, tok, &why);

	if (rc != 0)
		brk_deny_set(d, rc, "internal", "mint: %s", why.message);
	return rc != 0 ? -1 : 0;
}

static int
open_store(struct brk_ctx *c, const struct open_req *o, const mdt_token *tok,
    const char *scopes, const char *chain, int resent, struct brk_deny *d)
{
	char tid[MDT_TOKEN_ID_TEXT_BYTES];
	const char *task = mdt_token_task_id(tok);
	mdt_store_task t = {
		.task_id = task, .root_id = task, .operation = "open",
		.clinician = mdt_token_clinician(tok), .patient = o->patient,
		.purpose = o->purpose, .from_agent = c->agent,
		.holder = c->agent, .scopes = scopes, .token_id = tid,
		.expires_ms = mdt_token_expires_at(tok) * 1000,
	};
	int etreat = brk_word_in(c->snap->cfg.emergency_purposes, o->purpose);
	struct brk_record r = {
		.op = "open", .verdict = MDT_STORE_ALLOW,
		.flags = etreat ? MDT_STORE_FLAG_BREAK_GLASS |
		    MDT_STORE_FLAG_REVIEW : 0,
		.policies_json = d->policies, .task = task, .token_id = tid,
		.clinician = t.clinician, .chain_json = chain,
		.patient = o->patient, .purpose = o->purpose,
		.action = "open", .resource = o->patient,
	};
	int rc;

	mdt_token_id_text(tok, tid);
	rc = mdt_store_add_task(c->b->store, &t, 0, NULL);
	if (rc == -MDT_EEXIST && resent)
		rc = 0; /* made by the first copy; its record follows */
	if (rc != 0) {
		brk_deny_set(d, -MDT_ESTORE, "store", "task store: %s",
		    mdt_strerror(rc));
		return -1;
	}
	return brk_record(c, &r, d);
}

static void
open_reply(struct brk_ctx *c, const mdt_token *tok, const char *scopes)
{
	mdt_wire_writer *w = brk_reply_writer(c, 1);
	size_t tl;
	const uint8_t *tb = mdt_token_bytes(tok, &tl);

	if (w != NULL && (mdt_wire_put_cstr(w, "task", mdt_token_task_id(tok)) ||
	    mdt_wire_put_bin(w, "token", tb, tl) ||
	    mdt_wire_put_cstr(w, "scopes", scopes) ||
	    mdt_wire_put_int(w, "depth", mdt_token_depth(tok)) ||
	    mdt_wire_put_int(w, "expires", mdt_token_expires_at(tok)) ||
	    mdt_wire_put_cstr(w, "clinician", mdt_token_clinician(tok)))) {
		mdt_wire_writer_free(w);
		w = NULL;
	}
	brk_reply(c, w);
}

void
brk_op_open(struct brk_worker *w, struct brk_ctx *c)
{
	struct open_req o;
	struct brk_claims cl = { 0 };
	struct brk_deny d = { 0 };
	const struct brk_agent *a = brk_agent_find(c->snap, c->agent);
	mdt_scope_set *eff = NULL;
	mdt_token *tok = NULL;
	char task[64], scopes[BRK_SCOPES_TEXT_MAX], chain[BRK_ID_MAX * 2 + 8];
	char esc[BRK_ID_MAX * 2], pjson[BRK_DETAIL_MAX] = "[]";
	mdt_decision dec;
	int resent;

	if (open_fields(c, &o) != 0)
		return;
	if (brk_id_check(c, "open", &d) != 0) {
		brk_reply_deny(c, &d); /* recorded, or a store failure */
		return;
	}
	resent = prior_task(c, task, sizeof(task));
	if (!resent)
		brk_random_id("t-", task, sizeof(task));
	brk_json_escape(c->agent, esc, sizeof(esc));
	snprintf(chain, sizeof(chain), "[\"%s\"]", esc);
	if (a == NULL) {
		brk_deny_set(&d, -MDT_ENOTFOUND, "agent.unknown",
		    "agent %s is not registered", c->agent);
		goto refuse;
	}
	if (brk_assertion_verify(c->b, c, o.assertion, &cl, &d) != 0)
		goto refuse;
	if (strcmp(cl.patient, o.patient) != 0) {
		brk_deny_set(&d, -MDT_EPATIENT, "patient", "the assertion is "
		    "for patient %s, not %s", cl.patient, o.patient);
		goto refuse;
	}
	if (open_emergency(c, &o, &cl, &d) != 0)
		goto refuse;
	if (brk_clinician_assert(c->b, cl.clinician, cl.iat, cl.scopes,
	    &d) != 0)
		goto refuse;
	if (open_scopes(&o, &cl, a, &eff, &d) != 0)
		goto refuse;
	{
		struct brk_pctx p = {
			.action = "open", .principal = c->agent,
			.res_type = "Mandate::Patient", .res_id = o.patient,
			.task_id = task, .clinician = cl.clinician,
			.patient = o.patient, .purpose = o.purpose,
			.chain_json = chain,
		};
		if (brk_policy_eval(w, c, &p, &dec, &d, pjson,
		    sizeof(pjson)) != 0 || dec != MDT_DECISION_ALLOW)
			goto refuse;
	}
	snprintf(d.policies, sizeof(d.policies), "%s", pjson);
	brk_scopes_text(eff, scopes, sizeof(scopes));
	if (open_mint(c, &o, &cl, eff, task, &tok, &d) != 0 ||
	    open_store(c, &o, tok, scopes, chain, resent, &d) != 0)
		goto refuse;
	/* the patient stays in the audit record, out of the log */
	BLOG(c->b, BRK_INFO, "task.open", "task=%s agent=%s clinician=%s "
	    "purpose=%s", task, c->agent, cl.clinician, o.purpose);
	/* c belongs to the transport once answered: publish first */
	if (!resent)
		brk_publish_task(c->b, "open", task, NULL, c->agent);
	open_reply(c, tok, scopes);
	goto out;
refuse:
	{
		struct brk_record r = {
			.op = "open", .verdict = d.status == -MDT_EPOLICY ?
			    MDT_STORE_ERROR : MDT_STORE_DENY,
			.deny = &d, .policies_json = d.policies, .task = task,
			.clinician = cl.clinician[0] ? cl.clinician : NULL,
			.chain_json = chain, .patient = o.patient,
			.purpose = o.purpose, .action = "open",
			.resource = o.patient,
		};
		struct brk_deny sd = { 0 };
		if (brk_record(c, &r, &sd) == 0)
			brk_reply_deny(c, &d);
		else
			brk_reply_deny(c, &sd);
	}
out:
	brk_claims_clear(&cl);
	mdt_scope_set_free(eff);
	mdt_token_free(tok);
}

/* ------------------------------------------------------------ dispatch */

struct disp {
	const char *to, *scopes;
	const uint8_t *payload;
	size_t plen;
	int64_t ttl;
	const struct brk_agent *target;
	uint32_t children;
	int cycle;                /* the target is already on the chain */
	mdt_scope_set *child;
	char child_text[BRK_SCOPES_TEXT_MAX];
	char id[64];
	int resent;               /* the id's subtask exists already */
};

static int
disp_fields(struct brk_ctx *c, struct disp *x)
{
	char err[MDT_ERRMSG_MAX];
	int has;

	x->ttl = c->snap->cfg.token_ttl;
	x->payload = (const uint8_t *)"";
	if (mdt_wire_get_str(c->root, "to", BRK_ID_MAX - 1, &x->to, err,
	    sizeof(err)) ||
	    mdt_wire_get_str(c->root, "scopes", BRK_SCOPES_TEXT_MAX - 1,
	    &x->scopes, err, sizeof(err)) ||
	    mdt_wire_get_bin_opt(c->root, "payload", MDT_WIRE_PAYLOAD_MAX,
	    &x->payload, &x->plen, &has, err, sizeof(err)) ||
	    mdt_wire_get_int_opt(c->root, "ttl", 1, c->snap->cfg.token_ttl,
	    &x->ttl, &has, err, sizeof(err)))
		return field_deny(c, mdt_wire_op_name(mdt_wire_msg_op(c->req)),
		    err);
	if (brk_agent_id_check(x->to, err, sizeof(err)) != 0) {
		struct brk_held h = { 0 };
		struct brk_deny d = { 0 };
		brk_deny_set(&d, -MDT_EINVAL, "agent.invalid", "to: %s", err);
		brk_refuse(c, mdt_wire_op_name(mdt_wire_msg_op(c->req)), &h,
		    &d, NULL);
		return -1;
	}
	return 0;
}

/*
 * Whether agent holds or held the token: some block names it as holder,
 * which is the chain Cedar sees as context.agentChain.  1 or 0; -1 when a
 * block cannot be read, and the caller denies (fail closed).
 */
static int
on_chain(const mdt_token *tok, const char *agent)
{
	size_t n = mdt_token_block_count(tok);

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		mdt_token_block_view v;
		if (mdt_token_block(tok, i, &v) != 0)
			return -1;
		if (v.holder_id != NULL && strcmp(v.holder_id, agent) == 0)
			return 1;
	}
	return 0;
}

/* Target, depth and fan-out checks; notes whether the hop is a cycle. */
static int
disp_limits(struct brk_ctx *c, const struct brk_held *h, struct disp *x,
    struct brk_deny *d)
{
	int64_t fan = h->agent->max_fanout > 0 ? h->agent->max_fanout :
	    c->snap->cfg.max_fanout;

	x->target = brk_agent_find(c->snap, x->to);
	if (x->target == NULL) {
		brk_deny_set(d, -MDT_ENOTFOUND, "agent.unknown",
		    "target agent %s is not registered", x->to);
		return -1;
	}
	if (!brk_agent_may_target(h->agent, x->to)) {
		brk_deny_set(d, -MDT_EDENIED, "target.not_allowed",
		    "%s may not delegate to %s", c->agent, x->to);
		return -1;
	}
	/* a cycle is the policy's call (disp_policy); depth below bounds it */
	x->cycle = on_chain(h->tok, x->to);
	if (x->cycle < 0) {
		brk_deny_set(d, -MDT_ECHAIN, "internal", "the agent chain of "
		    "task %s cannot be read", h->task->task_id);
		return -1;
	}
	if (mdt_token_depth(h->tok) == 0 ||
	    (int64_t)h->task->depth + 1 > x->target->max_depth) {
		brk_deny_set(d, -MDT_EDEPTH, "depth", "delegation depth "
		    "exhausted (token depth left %u, target %s max depth %lld)",
		    mdt_token_depth(h->tok), x->to,
		    (long long)x->target->max_depth);
		return -1;
	}
	if (mdt_store_count_children(c->b->store, h->task->task_id,
	    &x->children) != 0) {
		brk_deny_set(d, -MDT_ESTORE, "store", "cannot count children");
		return -1;
	}
	if ((int64_t)x->children >= fan) {
		brk_deny_set(d, -MDT_EFANOUT, "fanout", "task %s already has "
		    "%u subtasks (limit %lld)", h->task->task_id, x->children,
		    (long long)fan);
		return -1;
	}
	return 0;
}

/* Which layer refuses `req`: token, clinician now, or ceiling now. */
static void
widen_reason(brk_broker *b, const struct brk_held *h,
    const mdt_scope_set *req, struct brk_deny *d)
{
	mdt_scope_set *ts = NULL, *cs = NULL;
	int in = 0;

	if (mdt_token_scopes(h->tok, &ts) == 0 &&
	    mdt_scope_set_contains(ts, req, &in) == 0 && !in) {
		brk_deny_set(d, -MDT_ESCOPE, "scope.widen", "requested scopes "
		    "are not inside the task token's scopes");
	} else if (brk_clinician_scopes(b, mdt_token_clinician(h->tok),
	    &cs) == 0 && mdt_scope_set_contains(cs, req, &in) == 0 && !in) {
		brk_deny_set(d, -MDT_ESCOPE, "scope.clinician", "requested "
		    "scopes are not inside clinician %s's current grant",
		    mdt_token_clinician(h->tok));
	} else {
		brk_deny_set(d, -MDT_ESCOPE, "scope.ceiling", "requested "
		    "scopes are not inside the ceiling of %s",
		    h->agent->id);
	}
	mdt_scope_set_free(ts);
	mdt_scope_set_free(cs);
}

static int
disp_scopes(struct brk_ctx *c, const struct brk_held *h, struct disp *x,
    struct brk_deny *d)
{
	mdt_scope_set *req = NULL, *eff = NULL;
	char err[MDT_ERRMSG_MAX] = "";
	int in = 0, rc = brk_scopes_parse(x->scopes, &req, err, sizeof(err));

	if (rc != 0) {
		brk_deny_set(d, rc, "field", "scopes: %s", err);
		return -1;
	}
	if (brk_effective_scopes(c->b, h, &eff, d) != 0)
		rc = -1;
	else if (mdt_scope_set_contains(eff, req, &in) != 0 || !in) {
		widen_reason(c->b, h, req, d);
		rc = -1;
	} else if (mdt_scope_set_intersect(req, x->target->ceiling,
	    &x->child) != 0 || mdt_scope_set_count(x->child) == 0) {
		brk_deny_set(d, -MDT_ESCOPE, "scope.empty", "requested scopes "
		    "share nothing with the ceiling of %s", x->to);
		rc = -1;
	}
	mdt_scope_set_free(req);
	mdt_scope_set_free(eff);
	if (rc == 0)
		brk_scopes_text(x->child, x->child_text,
		    sizeof(x->child_text));
	return rc;
}

/* Whether id is an element of list (comma-separated policy ids). */
static int
id_listed(const char *list, const char *id)
{
	size_t n = strlen(id);

	for (const char *p = list; *p != 0; p += *p == ',') {
		size_t l = strcspn(p, ",");
		if (l == n && memcmp(p, id, n) == 0)
			return 1;
		p += l;
	}
	return 0;
}

static int
disp_policy(struct brk_worker *w, struct brk_ctx *c, const char *op,
    const struct brk_held *h, const struct disp *x, struct brk_deny *d,
    char *pjson, size_t plen)
{
	const mdt_token *t = h->tok;
	struct brk_pctx p = {
		.action = op, .principal = c->agent,
		.res_type = "Mandate::Agent", .res_id = x->to,
		.task_id = h->task->task_id, .clinician = mdt_token_clinician(t),
		.patient = mdt_token_patient(t), .purpose = mdt_token_purpose(t),
		.chain_json = h->chain_json, .depth = h->task->depth,
		.children = x->children,
	};
	mdt_decision dec;

	if (brk_policy_eval(w, c, &p, &dec, d, pjson, plen) != 0)
		return -1;
	if (dec == MDT_DECISION_STEP_UP) /* no approval path for hops */
		brk_deny_set(d, -MDT_EDENIED, "policy.deny",
		    "delegation held for step-up, which hops do not support");
	else if (dec == MDT_DECISION_DENY && x->cycle &&
	    id_listed(d->plist, CYCLE_POLICY))
		brk_deny_set(d, -MDT_ECYCLE, "cycle", "%s is already on the "
		    "task's agent chain (forbidden by %s)", x->to, d->plist);
	return dec == MDT_DECISION_ALLOW ? 0 : -1;
}

static int
disp_apply(struct brk_ctx *c, const char *op, const struct brk_held *h,
    struct disp *x, mdt_token **child, struct brk_deny *d)
{
	int64_t now = brk_now_ms() / 1000;
	char tid[MDT_TOKEN_ID_TEXT_BYTES], chain[sizeof(h->chain_json) + 300];
	char esc[BRK_ID_MAX * 2];
	mdt_token_attenuate_params ap = {
		.scopes = x->child, .expires_at = now + x->ttl,
		.depth = MDT_TOKEN_KEEP_DEPTH, .holder_id = x->to,
		.holder_key = &x->target->pk, .task_id = x->id,
		.broker = brk_root_for(c->b, h->tok),
	};
	mdt_token_reason why;
	int rc;

	if (ap.expires_at > mdt_token_expires_at(h->tok))
		ap.expires_at = mdt_token_expires_at(h->tok);
	rc = mdt_token_attenuate(h->tok, &ap, child, &why);
	if (rc != 0) {
		brk_deny_set(d, rc, rc == -MDT_ESCOPE ? "scope.widen" :
		    rc == -MDT_EDEPTH ? "depth" : "internal",
		    "attenuation refused: %s", why.message);
		return -1;
	}
	mdt_token_id_text(*child, tid);
	{
		mdt_store_task t = {
			.task_id = x->id, .parent_id = h->task->task_id,
			.root_id = h->task->root_id, .operation = op,
			.depth = h->task->depth + 1,
			.clinician = h->task->clinician,
			.patient = h->task->patient, .purpose = h->task->purpose,
			.from_agent = c->agent, .holder = x->to,
			.scopes = x->child_text, .token_id = tid,
			.expires_ms = mdt_token_expires_at(*child) * 1000,
		};
		int64_t fan = h->agent->max_fanout > 0 ?
		    h->agent->max_fanout : c->snap->cfg.max_fanout;
		rc = mdt_store_add_task(c->b->store, &t, (uint32_t)fan, NULL);
	}
	if (rc == -MDT_EEXIST && x->resent)
		rc = 0; /* made by the first copy; its record follows */
	if (rc == -MDT_EFANOUT || rc == -MDT_EREVOKED) {
		brk_deny_set(d, rc, rc == -MDT_EFANOUT ? "fanout" : "revoked",
		    "the task store refused the subtask: %s", mdt_strerror(rc));
		return -1;
	}
	if (rc != 0) {
		brk_deny_set(d, -MDT_ESTORE, "store", "task store: %s",
		    mdt_strerror(rc));
		return -1;
	}
	brk_json_escape(x->to, esc, sizeof(esc));
	snprintf(chain, sizeof(chain), "%.*s,\"%s\"]",
	    (int)strlen(h->chain_json) - 1, h->chain_json, esc);
	{
		struct brk_record r = {
			.op = op, .verdict = MDT_STORE_ALLOW,
			.policies_json = d->policies, .task = x->id,
			.token_id = tid, .clinician = h->task->clinician,
			.chain_json = chain, .patient = h->task->patient,
			.purpose = h->task->purpose, .action = op,
			.resource = x->to,
		};
		return brk_record(c, &r, d);
	}
}

static void
disp_reply(struct brk_ctx *c, const struct disp *x, const mdt_token *child)
{
	mdt_wire_writer *w = brk_reply_writer(c, 1);

	if (w != NULL && (mdt_wire_put_cstr(w, "task", x->id) ||
	    mdt_wire_put_cstr(w, "scopes", x->child_text) ||
	    mdt_wire_put_int(w, "depth", mdt_token_depth(child)) ||
	    mdt_wire_put_int(w, "expires", mdt_token_expires_at(child)))) {
		mdt_wire_writer_free(w);
		w = NULL;
	}
	brk_reply(c, w);
}

void
brk_op_dispatch(struct brk_worker *w, struct brk_ctx *c)
{
	const char *op = mdt_wire_op_name(mdt_wire_msg_op(c->req));
	struct brk_held h;
	struct disp x = { 0 };
	struct brk_deny d = { 0 };
	mdt_token *child = NULL;
	struct brk_item *it;
	char pjson[BRK_DETAIL_MAX];
	int qrc;

	if (disp_fields(c, &x) != 0)
		return;
	if (brk_id_check(c, op, &d) != 0) {
		brk_reply_deny(c, &d);
		return;
	}
	if (!(x.resent = prior_task(c, x.id, sizeof(x.id))))
		brk_random_id("t-", x.id, sizeof(x.id));
	if (brk_check_held(w, c, &h, &d) != 0 ||
	    disp_limits(c, &h, &x, &d) != 0 ||
	    disp_scopes(c, &h, &x, &d) != 0 ||
	    disp_policy(w, c, op, &h, &x, &d, pjson, sizeof(pjson)) != 0 ||
	    disp_apply(c, op, &h, &x, &child, &d) != 0) {
		brk_refuse(c, op, &h, &d, x.to);
		goto out;
	}
	if (x.resent) {
		/* delivered (or waiting) since the first copy */
		disp_reply(c, &x, child);
		goto out;
	}
	it = brk_item_task(x.id, h.task->task_id, c->agent, op, child,
	    x.child_text, x.payload, x.plen);
	/* durable before the answer; brk_queue_push cancels a subtask
	 * whose item it cannot store */
	if ((qrc = brk_queue_push(c->b, c->snap->cfg.queue_max, x.to,
	    it)) != 0) {
		brk_reply_error(c, qrc == -MDT_EBUSY ? qrc : -MDT_ESTORE,
		    qrc == -MDT_EBUSY ? "queue.full" : "store", "subtask %s "
		    "could not be queued for %s: %s", x.id, x.to,
		    mdt_strerror(qrc));
		goto out;
	}
	BLOG(c->b, BRK_INFO, "task.delegated", "op=%s task=%s parent=%s "
	    "from=%s to=%s scopes=\"%s\"%s", op, x.id, h.task->task_id,
	    c->agent, x.to, x.child_text, x.cycle ? " cycle=allowed" : "");
	brk_publish_task(c->b, op, x.id, h.task->task_id, x.to);
	disp_reply(c, &x, child);
out:
	mdt_scope_set_free(x.child);
	mdt_token_free(child);
	brk_held_clear(&h);
}

/* ------------------------------------------------------ result and end */

void
brk_op_result(struct brk_worker *w, struct brk_ctx *c)
{
	struct brk_held h;
	struct brk_deny d = { 0 };
	const uint8_t *pl = (const uint8_t *)"";
	size_t plen = 0;
	char err[MDT_ERRMSG_MAX];
	int has, qrc;
	mdt_wire_writer *wr;

	if (mdt_wire_get_bin_opt(c->root, "payload", MDT_WIRE_PAYLOAD_MAX, &pl,
	    &plen, &has, err, sizeof(err)) != 0) {
		field_deny(c, "result", err);
		return;
	}
	if (brk_id_check(c, "result", &d) != 0) {
		brk_reply_deny(c, &d);
		return;
	}
	if (brk_check_held(w, c, &h, &d) != 0)
		goto refuse;
	{
		struct brk_record r = brk_held_record(c, &h, "result",
		    MDT_STORE_ALLOW, NULL);
		r.action = "result";
		r.resource = h.task->parent_id;
		if (brk_record(c, &r, &d) != 0) {
			brk_held_clear(&h);
			brk_reply_deny(c, &d);
			return;
		}
	}
	if (h.task->parent_id != NULL && (qrc = brk_queue_push(c->b,
	    c->snap->cfg.queue_max, h.task->from_agent, brk_item_result(
	    h.task->task_id, h.task->parent_id, c->agent, "result", pl,
	    plen))) != 0) {
		brk_held_clear(&h);
		brk_reply_error(c, qrc == -MDT_EBUSY ? qrc : -MDT_ESTORE,
		    qrc == -MDT_EBUSY ? "busy" : "store",
		    "the result could not be queued: %s", mdt_strerror(qrc));
		return;
	}
	wr = brk_reply_writer(c, 1);
	if (wr != NULL && mdt_wire_put_cstr(wr, "task", h.task->task_id)) {
		mdt_wire_writer_free(wr);
		wr = NULL;
	}
	brk_held_clear(&h);
	brk_reply(c, wr);
	return;
refuse:
	brk_refuse(c, "result", &h, &d, NULL);
	brk_held_clear(&h);
}

/*
 * The task's state as the store holds it now, read under end_lock: the
 * check of the held token may predate another end of this task (or of an
 * ancestor) on another pipe, and only one end may be recorded allowed.
 */
static int
end_still_open(struct brk_ctx *c, const char *task, struct brk_deny *d)
{
	mdt_store_task *t = NULL;
	int rc = mdt_store_get_task(c->b->store, task, &t);

	if (rc != 0)
		brk_deny_set(d, -MDT_ESTORE, "store", "task %s cannot be read: "
		    "%s", task, mdt_strerror(rc));
	else if (t->state != MDT_TASK_OPEN)
		brk_deny_set(d, -MDT_EREVOKED, "task.ended", "task %s is "
		    "already %s", task, mdt_task_state_name(t->state));
	if (rc == 0 && t->state != MDT_TASK_OPEN)
		rc = -MDT_EREVOKED;
	mdt_free(t);
	return rc;
}

/*
 * An end resent after its allow was recorded (past the reply cache, or
 * after a restart: the agent cannot tell whether the first copy was
 * applied) is answered as it was.  An end is three commits (its
 * decision, the task's end, the result for the parent's holder), and a
 * broker that died between them left the rest undone: the resend does
 * what is missing, so the task is ended and its result is queued once the
 * agent has an answer.  The end is idempotent (an ended task stays as
 * it ended) and so is the push (the result's id is stable); a result the
 * parent's holder had already acknowledged is delivered again, as any
 * redelivery is (at least once, the same id).  1 when answered.
 */
struct end_args {
	int cancel;
	const char *reason;
	const uint8_t *pl;
	size_t plen;
};

static void
end_repair(struct brk_ctx *c, const char *task_id, const struct end_args *e)
{
	const char *status = e->cancel ? "cancelled" : "completed";
	mdt_store_revocation *rv = NULL;
	mdt_store_task *t = NULL;
	int rc;

	if (mdt_store_get_task(c->b->store, task_id, &t) != 0)
		return;
	pthread_mutex_lock(&c->b->end_lock);
	rc = mdt_store_end_task(c->b->store, task_id, e->cancel ?
	    MDT_TASK_CANCELLED : MDT_TASK_COMPLETED, c->agent, e->reason, 0,
	    &rv);
	pthread_mutex_unlock(&c->b->end_lock);
	if (rc == 0) {
		BLOG(c->b, BRK_WARN, "task.end_repaired", "task=%s status=%s",
		    task_id, status);
		brk_publish_revoke(c->b, rv, status);
	}
	mdt_free(rv);
	if (t->parent_id != NULL && t->from_agent != NULL)
		(void)brk_queue_push(c->b, c->snap->cfg.queue_max,
		    t->from_agent, brk_item_result(task_id, t->parent_id,
		    c->agent, status, e->pl, e->plen));
	mdt_free(t);
}

static int
end_resent(struct brk_ctx *c, const struct end_args *e)
{
	mdt_store_decision *old = NULL;
	mdt_store_revocation none = { 0 };
	int done = mdt_store_find_decision(c->b->store, c->audit_id,
	    &old) == 0 && old->verdict == MDT_STORE_ALLOW &&
	    old->request_hash != NULL && old->task_id != NULL &&
	    memcmp(old->request_hash, c->hash, 32) == 0;

	if (done) {
		end_repair(c, old->task_id, e);
		brk_reply_ended(c, old->task_id, &none);
	}
	mdt_free(old);
	return done;
}

void
brk_op_end(struct brk_worker *w, struct brk_ctx *c)
{
	int cancel = mdt_wire_msg_op(c->req) == MDT_OP_CANCEL;
	const char *op = cancel ? "cancel" : "complete";
	const char *status = cancel ? "cancelled" : "completed";
	const char *reason = NULL;
	const uint8_t *pl = (const uint8_t *)"";
	size_t plen = 0;
	struct brk_held h;
	struct brk_deny d = { 0 };
	mdt_store_revocation *rv = NULL;
	char err[MDT_ERRMSG_MAX];
	int has, rc;

	if (mdt_wire_get_bin_opt(c->root, "payload", MDT_WIRE_PAYLOAD_MAX, &pl,
	    &plen, &has, err, sizeof(err)) || mdt_wire_get_str_opt(c->root,
	    "reason", MDT_STORE_FIELD_MAX - 1, &reason, &has, err,
	    sizeof(err))) {
		field_deny(c, op, err);
		return;
	}
	if (brk_id_check(c, op, &d) != 0) {
		brk_reply_deny(c, &d);
		return;
	}
	if (end_resent(c, &(struct end_args){cancel, reason, pl, plen}))
		return;
	if (brk_check_held(w, c, &h, &d) != 0) {
		brk_refuse(c, op, &h, &d, NULL);
		brk_held_clear(&h);
		return;
	}
	pthread_mutex_lock(&c->b->end_lock);
	rc = end_still_open(c, h.task->task_id, &d);
	if (rc == 0) {
		struct brk_record r = {
			.op = op, .verdict = MDT_STORE_ALLOW,
			.task = h.task->task_id, .token_id = h.token_id,
			.clinician = h.task->clinician,
			.chain_json = h.chain_json, .patient = h.task->patient,
			.purpose = h.task->purpose, .action = op,
			.resource = h.task->task_id,
		};
		rc = brk_record(c, &r, &d);
	}
	if (rc == 0) {
		rc = mdt_store_end_task(c->b->store, h.task->task_id,
		    cancel ? MDT_TASK_CANCELLED : MDT_TASK_COMPLETED, c->agent,
		    reason, 0, &rv);
		if (rc != 0)
			brk_deny_set(&d, rc == -MDT_EREVOKED ? rc : -MDT_ESTORE,
			    rc == -MDT_EREVOKED ? "task.ended" : "store",
			    "ending task %s: %s", h.task->task_id,
			    mdt_strerror(rc));
	}
	pthread_mutex_unlock(&c->b->end_lock);
	if (rc != 0) {
		brk_refuse(c, op, &h, &d, NULL);
		brk_held_clear(&h);
		return;
	}
	brk_publish_revoke(c->b, rv, status);
	if (h.task->parent_id != NULL)
		(void)brk_queue_push(c->b, c->snap->cfg.queue_max,
		    h.task->from_agent, brk_item_result(h.task->task_id,
		    h.task->parent_id, c->agent, status, pl, plen));
	BLOG(c->b, BRK_INFO, "task.ended", "task=%s status=%s revoked=%zu",
	    h.task->task_id, status, rv->count);
	brk_reply_ended(c, h.task->task_id, rv);
	mdt_free(rv);
	brk_held_clear(&h);
}

/* ---------------------------------------------------------------- tree */

/* Whether c may read the tree of t: an admin, or the holder of its root
 * task (the orchestrator that opened it).  Only an admin learns that a
 * task does not exist: anyone else is refused alike for a task that is
 * not theirs and one that is nobody's, so ids cannot be probed. */
static int
tree_access(struct brk_ctx *c, const char *task)
{
	mdt_store_task *t = NULL, *root = NULL;
	int admin = brk_word_in(c->snap->cfg.admins, c->agent);
	int rc = mdt_store_get_task(c->b->store, task, &t);

	if (rc == 0)
		rc = mdt_store_get_task(c->b->store, t->root_id, &root);
	if (rc == 0 && !admin && strcmp(root->holder, c->agent) != 0)
		rc = -MDT_EAUTH;
	if (rc == -MDT_ENOTFOUND && !admin)
		rc = -MDT_EAUTH;
	mdt_free(t);
	mdt_free(root);
	return rc;
}

/*
 * A tree whose JSON does not fit one reply is refused as toobig, with the
 * way to read it instead: from the store, read-only, beside the broker.
 * 1 when refused (json freed).
 */
static int
tree_toobig(struct brk_ctx *c, const char *task, char *json)
{
	struct brk_held h = { .claimed_task = task };
	struct brk_deny d = { 0 };
	size_t n = strlen(json);

	if (n + 2 * BRK_ID_MAX + 64 <= MDT_WIRE_MSG_MAX)
		return 0;
	mdt_free(json);
	brk_deny_set(&d, -MDT_ETOOBIG, "toobig", "tree of %s: %zu bytes, "
	    "over the %u of one reply; read it from the store (read-only): "
	    "mandatectl audit tree --store URI --task %s", task, n,
	    (unsigned)MDT_WIRE_MSG_MAX, task);
	brk_refuse(c, "tree", &h, &d, task);
	return 1;
}

void
brk_op_tree(struct brk_worker *w, struct brk_ctx *c)
{
	const char *task;
	char err[MDT_ERRMSG_MAX];
	char *json = NULL;
	mdt_wire_writer *wr;
	struct brk_held h = { 0 };
	struct brk_deny d = { 0 };
	int rc;

	(void)w;
	if (mdt_wire_get_str(c->root, "task", BRK_ID_MAX - 1, &task, err,
	    sizeof(err)) != 0) {
		field_deny(c, "tree", err);
		return;
	}
	rc = tree_access(c, task);
	if (rc == 0)
		rc = mdt_store_task_tree_json(c->b->store, task, &json);
	if (rc == 0 && tree_toobig(c, task, json))
		return;
	if (rc != 0) {
		brk_deny_set(&d, rc, rc == -MDT_EAUTH ? "admin.required" :
		    rc == -MDT_ENOTFOUND ? "task.unknown" : "store",
		    "tree of %s: %s", task, mdt_strerror(rc));
		h.claimed_task = task;
		brk_refuse(c, "tree", &h, &d, task);
		return;
	}
	wr = brk_reply_writer(c, 1);
	if (wr != NULL && (mdt_wire_put_cstr(wr, "task", task) ||
	    mdt_wire_put_cstr(wr, "json", json))) {
		mdt_wire_writer_free(wr);
		wr = NULL;
	}
	mdt_free(json);
	brk_reply(c, wr);
}

/*
 * Runtime authorization: authorize (every action, every time: holder,
 * token, revocation, token ∩ clinician-now ∩ ceiling-now, Cedar with the
 * full context) answered with a sealed single-action token, a deny, or a
 * step-up; and approve/reject, by which a clinician decides a step-up.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "broker.h"

#define PARAMS_MAX MDT_SCOPE_PARAMS_MAX

static const struct {
	char letter;
	const char *action;
} fhir_actions[] = {
	{ 'c', "create" }, { 'r', "read" }, { 'u', "update" },
	{ 'd', "delete" }, { 's', "search" },
};

struct az {
	const char *action, *resource, *patient, *boundary, *audience;
	const char *stepup;
	int64_t wait;
	mdt_scope_request req;
	mdt_scope_param params[PARAMS_MAX];
	char buf[MDT_AUDIT_FIELD_MAX + 16];
	const char *cedar_action;
	uint8_t hash[32];
	char hash_hex[65];
	int approved;
};

static int
az_fields(struct brk_ctx *c, struct az *x, struct brk_deny *d)
{
	char err[MDT_ERRMSG_MAX];
	int has;
	const mdt_wire_val *r = c->root;

	x->boundary = "none";
	x->audience = c->snap->cfg.gateway_audience;
	if (mdt_wire_get_str(r, "action", 31, &x->action, err, sizeof(err)) ||
	    mdt_wire_get_str(r, "resource", MDT_AUDIT_FIELD_MAX - 1,
	    &x->resource, err, sizeof(err)) ||
	    mdt_wire_get_str_opt(r, "patient", BRK_ID_MAX - 1, &x->patient,
	    &has, err, sizeof(err)) ||
	    mdt_wire_get_str_opt(r, "boundary", 15, &x->boundary, &has, err,
	    sizeof(err)) ||
	    mdt_wire_get_str_opt(r, "audience", BRK_ID_MAX - 1, &x->audience,
	    &has, err, sizeof(err)) ||
	    mdt_wire_get_str_opt(r, "stepup", 63, &x->stepup, &has, err,
	    sizeof(err)) ||
	    mdt_wire_get_int_opt(r, "wait_ms", 0, INT32_MAX, &x->wait, &has,
	    err, sizeof(err))) {
		brk_deny_set(d, -MDT_EPROTO, "field", "%s", err);
		return -1;
	}
	if (strcmp(x->boundary, "none") != 0 &&
	    strcmp(x->boundary, "export") != 0 &&
	    strcmp(x->boundary, "writeback") != 0) {
		brk_deny_set(d, -MDT_EPROTO, "field", "field boundary: expected "
		    "none, export or writeback");
		return -1;
	}
	if (x->wait > c->snap->cfg.stepup_timeout_ms)
		x->wait = c->snap->cfg.stepup_timeout_ms;
	if (c->resume_stepup[0] != 0)
		x->stepup = c->resume_stepup;
	return 0;
}

/* Resource reference, patient and the Cedar action of the request. */
static int
az_request(const struct brk_held *h, struct az *x, struct brk_deny *d)
{
	char err[MDT_ERRMSG_MAX] = "";
	int rc = mdt_scope_request_parse(x->resource, &x->req, x->buf,
	    sizeof(x->buf), x->params, PARAMS_MAX, err, sizeof(err));

	if (rc != 0) {
		brk_deny_set(d, -MDT_EPROTO, "field", "resource: %s", err);
		return -1;
	}
	x->req.action = x->action;
	if (x->patient == NULL)
		x->patient = h->task->patient;
	x->req.patient = x->patient;
	if (strcmp(x->patient, h->task->patient) != 0) {
		brk_deny_set(d, -MDT_EPATIENT, "patient", "task %s is for "
		    "patient %s; %s belongs to %s", h->task->task_id,
		    h->task->patient, x->resource, x->patient);
		return -1;
	}
	x->cedar_action = x->req.context == MDT_SCOPE_TOOL ? x->req.type : NULL;
	for (size_t i = 0; x->cedar_action == NULL &&
	    i < sizeof(fhir_actions) / sizeof(fhir_actions[0]); i++)
		if (strlen(x->action) == 1 && x->action[0] ==
		    fhir_actions[i].letter)
			x->cedar_action = fhir_actions[i].action;
	if (x->cedar_action == NULL) {
		brk_deny_set(d, -MDT_EPROTO, "field", "action %s: expected one "
		    "of c, r, u, d, s for a FHIR resource", x->action);
		return -1;
	}
	return 0;
}

/* token, clinician now, ceiling now: each layer named when it refuses. */
static int
az_scopes(brk_broker *b, const struct brk_held *h, struct az *x,
    const char *agent, struct brk_deny *d)
{
	mdt_token_check_params p = {
		.action = x->action, .resource = x->resource,
		.patient = x->patient, .attrs = x->req.params,
		.nattrs = x->req.nparams, .now = brk_now_ms() / 1000,
		.holder_id = agent,
	};
	mdt_token_reason why;
	mdt_scope_set *cs = NULL;
	int in = 1, rc = mdt_token_check(h->tok, &p, &why);

	if (rc != 0) {
		brk_deny_set(d, rc, rc == -MDT_ESCOPE ? "scope.token" :
		    rc == -MDT_EEXPIRED ? "token.expired" :
		    rc == -MDT_EPATIENT ? "patient" :
		    rc == -MDT_EHOLDER ? "token.holder" : "token",
		    "token: %s", why.message);
		return -1;
	}
	if (brk_clinician_scopes(b, h->task->clinician, &cs) == 0) {
		rc = mdt_scope_set_matches(cs, &x->req, h->task->patient, &in);
		mdt_scope_set_free(cs);
		if (rc != 0 || !in) {
			brk_deny_set(d, -MDT_ESCOPE, "scope.clinician", "%s on %s "
			    "is outside clinician %s's current grant",
			    x->action, x->resource, h->task->clinician);
			return -1;
		}
	}
	rc = mdt_scope_set_matches(h->agent->ceiling, &x->req,
	    h->task->patient, &in);
	if (rc != 0 || !in) {
		brk_deny_set(d, -MDT_ESCOPE, "scope.ceiling", "%s on %s is "
		    "outside the registered ceiling of %s", x->action,
		    x->resource, agent);
		return -1;
	}
	return 0;
}

static int
az_policy(struct brk_worker *w, struct brk_ctx *c, const struct brk_held *h,
    struct az *x, mdt_decision *dec, struct brk_deny *d)
{
	int tool = x->req.context == MDT_SCOPE_TOOL;
	struct brk_pctx p = {
		.action = x->cedar_action, .principal = c->agent,
		.res_type = tool ? "Mandate::Tool" : "Mandate::Resource",
		.res_id = tool ? x->req.type : x->resource,
		.fhir_type = tool ? NULL : x->req.type,
		.fhir_id = tool ? NULL : x->req.id,
		.res_patient = x->patient, .task_id = h->task->task_id,
		.clinician = h->task->clinician, .patient = h->task->patient,
		.purpose = h->task->purpose, .tool = tool ? x->req.type : "",
		.boundary = x->boundary, .request_hash = x->hash_hex,
		.chain_json = h->chain_json, .depth = h->task->depth,
		.approved = x->approved,
	};
	char pjson[BRK_DETAIL_MAX];

	return brk_policy_eval(w, c, &p, dec, d, pjson, sizeof(pjson));
}

static struct brk_record
az_rec(struct brk_ctx *c, const struct brk_held *h, const struct az *x,
    mdt_audit_verdict v, uint32_t flags, const struct brk_deny *deny,
    const char *policies)
{
	return (struct brk_record){
		.op = "authorize", .verdict = v, .flags = flags, .deny = deny,
		.policies_json = policies, .task = h->task->task_id,
		.token_id = h->token_id, .clinician = h->task->clinician,
		.chain_json = h->chain_json, .patient = h->task->patient,
		.purpose = h->task->purpose, .action = x->action,
		.resource = x->resource, .suffix = c->resume ? "#final" : NULL,
	};
}

/* A deny or step-up answer with its decision field; NULL on no memory. */
static mdt_wire_writer *
refusal_writer(struct brk_ctx *c, const struct brk_deny *d,
    const char *decision, const char *stepup, int64_t expires)
{
	mdt_wire_writer *w = brk_reply_writer(c, 0);

	if (w != NULL && (mdt_wire_put_cstr(w, "decision", decision) ||
	    (stepup != NULL && (mdt_wire_put_cstr(w, "stepup", stepup) ||
	    mdt_wire_put_int(w, "expires", expires / 1000))) ||
	    brk_put_deny(w, d))) {
		mdt_wire_writer_free(w);
		w = NULL;
	}
	return w;
}

static void
reply_refusal(struct brk_ctx *c, const struct brk_deny *d,
    const char *decision, const char *stepup, int64_t expires)
{
	brk_reply(c, refusal_writer(c, d, decision, stepup, expires));
}

/* The answer when a decision could not be recorded: a store deny. */
static void
refusal_fail(struct brk_ctx *c, const struct brk_deny *d)
{
	reply_refusal(c, d, "deny", NULL, 0);
}

/* Records the decision, then sends w (taken) once it is durable. */
static void
az_answer(struct brk_ctx *c, const struct brk_record *r, mdt_wire_writer *w)
{
	struct brk_deny sd;

	if (w == NULL) {
		/* not even the refusal could be built: let the client
		 * resend rather than answer without a record */
		brk_reply(c, NULL);
		return;
	}
	if (brk_record_then_reply(c, r, w, refusal_fail, &sd) != 0)
		reply_refusal(c, &sd, "deny", NULL, 0);
}

static void
az_deny(struct brk_ctx *c, const struct brk_held *h, const struct az *x,
    const struct brk_deny *d)
{
	struct brk_record r;

	if (d->status == -MDT_EPROTO || h->task == NULL) {
		reply_refusal(c, d, "deny", NULL, 0);
		return;
	}
	r = az_rec(c, h, x, d->status == -MDT_EPOLICY ? MDT_AUDIT_ERROR :
	    MDT_AUDIT_DENY, 0, d, d->policies);
	az_answer(c, &r, refusal_writer(c, d, "deny", NULL, 0));
}

static uint32_t
az_flags(const struct brk_held *h, const struct az *x)
{
	uint32_t f = x->approved ? MDT_AUDIT_FLAG_APPROVED : 0;

	if (strcmp(h->task->purpose, "ETREAT") == 0)
		f |= MDT_AUDIT_FLAG_BREAK_GLASS | MDT_AUDIT_FLAG_REVIEW;
	return f;
}

/* "policies": [ids] from a comma-separated list. */
static int
put_policies(mdt_wire_writer *w, const char *list)
{
	char buf[BRK_DETAIL_MAX], *save = NULL;
	size_t n = list[0] != 0;
	int rc;

	for (const char *p = list; *p != 0; p++)
		n += *p == ',';
	rc = mdt_wire_begin_array(w, "policies", n);
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ",", &save); rc == 0 && t != NULL;
	    t = strtok_r(NULL, ",", &save))
		rc = mdt_wire_put_cstr(w, NULL, t);
	return rc != 0 ? rc : mdt_wire_end(w);
}

/* The allow answer: the single-action token and what decided it. */
static mdt_wire_writer *
allow_writer(struct brk_ctx *c, const mdt_token *st, const char *plist,
    uint32_t flags)
{
	mdt_wire_writer *w = brk_reply_writer(c, 1);
	const uint8_t *tb;
	size_t tl;

	tb = mdt_token_bytes(st, &tl);
	if (w != NULL && (mdt_wire_put_cstr(w, "decision", "allow") ||
	    mdt_wire_put_bin(w, "token", tb, tl) ||
	    mdt_wire_put_int(w, "expires", mdt_token_expires_at(st)) ||
	    put_policies(w, plist) ||
	    mdt_wire_begin_array(w, "flags", (flags & MDT_AUDIT_FLAG_REVIEW ?
	    1u : 0u) + (flags & MDT_AUDIT_FLAG_APPROVED ? 1u : 0u)) ||
	    ((flags & MDT_AUDIT_FLAG_REVIEW) &&
	    mdt_wire_put_cstr(w, NULL, "break_glass")) ||
	    ((flags & MDT_AUDIT_FLAG_APPROVED) &&
	    mdt_wire_put_cstr(w, NULL, "approved")) ||
	    mdt_wire_end(w))) {
		mdt_wire_writer_free(w);
		w = NULL;
	}
	return w;
}

static void
az_allow(struct brk_ctx *c, const struct brk_held *h, const struct az *x,
    const struct brk_deny *d)
{
	mdt_token_single_params sp = {
		.action = x->action, .resource = x->resource,
		.audience = x->audience, .now = brk_now_ms() / 1000,
		.ttl = c->snap->cfg.action_ttl, .broker = c->b->root,
	};
	mdt_token *st = NULL;
	mdt_token_reason why;
	struct brk_deny sd;
	struct brk_record r;
	uint32_t flags = az_flags(h, x);
	mdt_wire_writer *w;
	int rc = mdt_token_single_action(h->tok, &sp, &st, &why);

	if (rc != 0) {
		brk_deny_set(&sd, rc, rc == -MDT_ESCOPE ? "scope.token" :
		    "internal", "single-action token: %s", why.message);
		az_deny(c, h, x, &sd);
		return;
	}
	w = allow_writer(c, st, d->plist, flags);
	mdt_token_free(st);
	if (w == NULL) {
		brk_deny_set(&sd, -MDT_ENOMEM, "internal", "out of memory");
		az_deny(c, h, x, &sd);
		return;
	}
	r = az_rec(c, h, x, MDT_AUDIT_ALLOW, flags, NULL, d->policies);
	az_answer(c, &r, w);
}

/* ------------------------------------------------------------- step-up */

/* Announces a parked step-up to subscribers (clinician front ends). */
static void
publish_stepup(brk_broker *b, const struct brk_stepup_info *in)
{
	mdt_wire_writer *w = NULL;

	if (mdt_wire_event_writer_new(&w, MDT_WIRE_TOPIC_STEPUP) == 0 &&
	    (mdt_wire_put_int(w, "time", brk_now_ms() / 1000) ||
	    mdt_wire_put_cstr(w, "stepup", in->id) ||
	    mdt_wire_put_cstr(w, "task", in->task) ||
	    mdt_wire_put_cstr(w, "agent", in->agent) ||
	    mdt_wire_put_cstr(w, "clinician", in->clinician) ||
	    mdt_wire_put_cstr(w, "action", in->action) ||
	    mdt_wire_put_cstr(w, "resource", in->resource) ||
	    mdt_wire_put_cstr(w, "patient", in->patient) ||
	    mdt_wire_put_cstr(w, "purpose", in->purpose) ||
	    mdt_wire_put_int(w, "expires", in->expires_ms / 1000))) {
		mdt_wire_writer_free(w);
		w = NULL;
	}
	brk_publish(b, MDT_WIRE_TOPIC_STEPUP, w);
}

static void
az_stepup(struct brk_ctx *c, const struct brk_held *h, const struct az *x,
    const struct brk_deny *d)
{
	struct brk_stepup_info in = { 0 };
	mdt_audit_approval ap = { 0 };
	struct brk_record r;
	struct brk_deny sd;
	int64_t now = brk_now_ms();
	int64_t wait = x->wait > 0 ? x->wait : 0;
	int rc;

	brk_random_id("su-", in.id, sizeof(in.id));
	snprintf(in.task, sizeof(in.task), "%s", h->task->task_id);
	snprintf(in.agent, sizeof(in.agent), "%s", c->agent);
	snprintf(in.clinician, sizeof(in.clinician), "%s", h->task->clinician);
	snprintf(in.patient, sizeof(in.patient), "%s", h->task->patient);
	snprintf(in.purpose, sizeof(in.purpose), "%s", h->task->purpose);
	snprintf(in.action, sizeof(in.action), "%s", x->action);
	snprintf(in.resource, sizeof(in.resource), "%s", x->resource);
	memcpy(in.hash, x->hash, 32);
	in.expires_ms = now + c->snap->cfg.stepup_timeout_ms;
	ap.approval_id = in.id;
	memcpy(ap.request_hash, x->hash, 32);
	ap.request_id = c->audit_id;
	ap.task_id = in.task;
	ap.agent = in.agent;
	ap.clinician = in.clinician;
	ap.action = in.action;
	ap.resource = in.resource;
	ap.expires_ms = in.expires_ms;
	rc = mdt_store_add_approval(c->b->store, &ap, NULL);
	if (rc != 0) {
		brk_deny_set(&sd, -MDT_ESTORE, "store", "approval store: %s",
		    mdt_strerror(rc));
		az_deny(c, h, x, &sd);
		return;
	}
	r = az_rec(c, h, x, MDT_AUDIT_STEP_UP, 0, d, d->policies);
	r.suffix = NULL;
	if (brk_record(c, &r, &sd) != 0) {
		reply_refusal(c, &sd, "deny", NULL, 0);
		return;
	}
	BLOG(c->b, BRK_INFO, "stepup.parked", "stepup=%s task=%s agent=%s "
	    "action=%s resource=%s wait_ms=%lld", in.id, in.task, in.agent,
	    in.action, in.resource, (long long)wait);
	/* in the table before anyone can learn its id */
	if (wait > 0 && !atomic_load(&c->b->stopping)) {
		brk_broker *b = c->b;
		if (in.expires_ms > now + wait)
			in.expires_ms = now + wait;
		brk_park(c, in.expires_ms);
		if (brk_stepup_add(b, &in, c) == 0) {
			publish_stepup(b, &in); /* c may be answered already */
			return;
		}
	} else if (brk_stepup_add(c->b, &in, NULL) == 0) {
		publish_stepup(c->b, &in);
		reply_refusal(c, d, "step_up", in.id, in.expires_ms);
		return;
	}
	brk_deny_set(&sd, -MDT_ENOMEM, "internal", "out of memory");
	reply_refusal(c, &sd, "deny", NULL, 0);
}

void
brk_authorize_final_deny(struct brk_ctx *c, int status, const char *reason,
    const char *detail)
{
	struct brk_deny d = { 0 };
	struct brk_record r = {
		.op = "authorize", .verdict = MDT_AUDIT_DENY, .deny = &d,
		.suffix = "#final",
	};
	struct brk_deny sd;

	brk_deny_set(&d, status, reason, "%s", detail);
	if (brk_record(c, &r, &sd) == 0)
		reply_refusal(c, &d, "deny", NULL, 0);
	else
		reply_refusal(c, &sd, "deny", NULL, 0);
}

void
brk_op_authorize(struct brk_worker *w, struct brk_ctx *c)
{
	struct brk_held h;
	struct az x;
	struct brk_deny d = { 0 };
	mdt_decision dec = MDT_DECISION_DENY;

	memset(&x, 0, sizeof(x));
	memset(&h, 0, sizeof(h));
	if (az_fields(c, &x, &d) != 0) {
		reply_refusal(c, &d, "deny", NULL, 0);
		return;
	}
	if (brk_check_held(w, c, &h, &d) != 0 || az_request(&h, &x, &d) != 0 ||
	    az_scopes(c->b, &h, &x, c->agent, &d) != 0)
		goto refuse;
	brk_stepup_hash(h.task->task_id, c->agent, x.action, x.resource,
	    x.patient, h.task->purpose, x.boundary, x.hash);
	sodium_bin2hex(x.hash_hex, sizeof(x.hash_hex), x.hash, 32);
	if (x.stepup != NULL) {
		if (brk_stepup_consume(c->b, x.stepup, x.hash, &d) != 0)
			goto refuse;
		x.approved = 1;
	}
	if (az_policy(w, c, &h, &x, &dec, &d) != 0)
		goto refuse;
	if (dec == MDT_DECISION_ALLOW) {
		az_allow(c, &h, &x, &d);
	} else if (dec == MDT_DECISION_STEP_UP && !x.approved && w->on_nng) {
		/* a step-up waits for two records: not on an nng thread */
		brk_held_clear(&h);
		brk_rerun_on_worker(c);
		return;
	} else if (dec == MDT_DECISION_STEP_UP && !x.approved) {
		az_stepup(c, &h, &x, &d);
	} else {
		az_deny(c, &h, &x, &d);
	}
	brk_held_clear(&h);
	return;
refuse:
	az_deny(c, &h, &x, &d);
	brk_held_clear(&h);
}

/* ------------------------------------------------------ approve/reject */

void
brk_op_decide(struct brk_worker *w, struct brk_ctx *c)
{
	int approve = mdt_wire_msg_op(c->req) == MDT_OP_APPROVE;
	const char *rid, *jwt, *note = NULL;
	char id[64];
	char err[MDT_ERRMSG_MAX];
	struct brk_stepup_info in;
	struct brk_claims cl = { 0 };
	struct brk_deny d = { 0 };
	struct brk_ctx *parked = NULL;
	int64_t now = brk_now_ms();
	int64_t until = approve ? now + c->snap->cfg.approval_ttl_ms : 0;
	int has, rc;

	(void)w;
	if (mdt_wire_get_str(c->root, "stepup", 63, &rid, err, sizeof(err)) ||
	    mdt_wire_get_str(c->root, "assertion", BRK_ASSERTION_MAX, &jwt,
	    err, sizeof(err)) || mdt_wire_get_str_opt(c->root, "note",
	    MDT_AUDIT_FIELD_MAX - 1, &note, &has, err, sizeof(err))) {
		brk_reply_error(c, -MDT_EPROTO, "field", "%s", err);
		return;
	}
	snprintf(id, sizeof(id), "%s", rid); /* outlives the request */
	if (brk_stepup_get(c->b, id, &in) != 0) {
		brk_reply_error(c, -MDT_ENOTFOUND, "step_up.unknown",
		    "no step-up %s", id);
		return;
	}
	if (brk_assertion_verify(c->b, c, jwt, &cl, &d) != 0)
		goto refuse;
	if (strcmp(cl.clinician, in.clinician) != 0 ||
	    strcmp(cl.patient, in.patient) != 0) {
		brk_deny_set(&d, -MDT_EAUTH, "assertion", "the assertion is for "
		    "%s and patient %s; step-up %s needs %s and %s",
		    cl.clinician, cl.patient, id, in.clinician, in.patient);
		goto refuse;
	}
	brk_clinician_assert(c->b, cl.clinician, cl.iat, cl.scopes);
	rc = mdt_store_decide_approval(c->b->store, id, approve ?
	    MDT_APPROVAL_APPROVED : MDT_APPROVAL_REJECTED, cl.clinician, now,
	    until, note, NULL);
	if (rc != 0) {
		brk_deny_set(&d, rc == -MDT_EEXIST ? -MDT_EEXIST : -MDT_ESTORE,
		    rc == -MDT_EEXIST ? "step_up.unknown" : "store",
		    "step-up %s: %s", id, rc == -MDT_EEXIST ?
		    "already decided" : mdt_strerror(rc));
		goto refuse;
	}
	{
		struct brk_record r = {
			.op = approve ? "approve" : "reject",
			.verdict = MDT_AUDIT_ALLOW, .task = in.task,
			.clinician = cl.clinician, .patient = in.patient,
			.purpose = in.purpose, .action = in.action,
			.resource = in.resource,
		};
		if (brk_record(c, &r, &d) != 0)
			goto refuse;
	}
	if (brk_stepup_decide(c->b, id, approve, until, &parked) != 0) {
		brk_deny_set(&d, -MDT_EEXIST, "step_up.unknown",
		    "step-up %s was already decided or expired", id);
		goto refuse;
	}
	brk_stepup_publish_decided(c->b, &in, approve ? "approved" : "rejected");
	BLOG(c->b, BRK_INFO, "stepup.decided", "stepup=%s decision=%s by=%s",
	    id, approve ? "approved" : "rejected", cl.clinician);
	{
		mdt_wire_writer *wr = brk_reply_writer(c, 1);
		if (wr != NULL && (mdt_wire_put_cstr(wr, "stepup", id) ||
		    mdt_wire_put_cstr(wr, "decision", approve ? "approved" :
		    "rejected") || mdt_wire_put_int(wr, "expires",
		    until / 1000))) {
			mdt_wire_writer_free(wr);
			wr = NULL;
		}
		brk_reply(c, wr);
	}
	if (parked != NULL && approve) {
		snprintf(parked->resume_stepup, sizeof(parked->resume_stepup),
		    "%s", id);
		brk_resume(parked);
	} else if (parked != NULL) {
		brk_authorize_final_deny(parked, -MDT_EDENIED,
		    "step_up.rejected", "the clinician rejected the request");
	}
	brk_claims_clear(&cl);
	return;
refuse:
	{
		struct brk_record r = {
			.op = approve ? "approve" : "reject",
			.verdict = MDT_AUDIT_DENY, .deny = &d, .task = in.task,
			.patient = in.patient, .purpose = in.purpose,
			.action = in.action, .resource = in.resource,
		};
		struct brk_deny sd;
		if (d.status != -MDT_EEXIST && brk_record(c, &r, &sd) != 0)
			d = sd;
	}
	brk_claims_clear(&cl);
	brk_reply_deny(c, &d);
}

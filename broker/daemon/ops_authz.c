/*
 * Runtime authorization: authorize (every action, every time: holder,
 * token, revocation, token ∩ clinician-now ∩ ceiling-now, Cedar with the
 * full context) answered with a sealed single-action token, a deny, or a
 * step-up; and approve/reject, by which a clinician decides a step-up.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include <mandate/fhir.h>

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
	const char *action, *resource, *claimed, *boundary, *audience;
	const char *stepup;
	int64_t wait;
	mdt_scope_request req;
	mdt_scope_param params[PARAMS_MAX];
	char buf[MDT_STORE_FIELD_MAX + 16];
	/* the patient whose compartment the resource is in ("": none) */
	char patient[BRK_ID_MAX];
	/* the patient the record names: the resource's, else the task's */
	const char *rec_patient;
	const char *cedar_action;
	uint8_t hash[32];
	char hash_hex[65];
	int approved;
};

/*
 * Where a single-action token may go, and the boundary that crosses, are
 * the broker's facts (gateway_audience: none; `audiences`), not the
 * caller's: an unknown audience is refused, and a declared boundary may
 * only add a crossing to one the audience does not already imply.
 */
/* The boundary `audiences` (AUDIENCE=BOUNDARY ...) gives aud, or NULL
 * when it lists none, or none with a known boundary word. */
static const char *
listed_boundary(const char *list, const char *aud)
{
	static const char *const words[] = { "none", "export", "writeback" };
	size_t n = strlen(aud);

	for (const char *p = list; *p != 0;) {
		size_t l = strcspn(p, " ");
		for (size_t k = 0; l > n && memcmp(p, aud, n) == 0 &&
		    p[n] == '=' && k < 3; k++)
			if (l - n - 1 == strlen(words[k]) &&
			    memcmp(p + n + 1, words[k], l - n - 1) == 0)
				return words[k];
		p += l;
		while (*p == ' ')
			p++;
	}
	return NULL;
}

static int
az_boundary(const struct brk_config *cfg, struct az *x, struct brk_deny *d)
{
	const char *implied = strcmp(x->audience, cfg->gateway_audience) == 0 ?
	    "none" : listed_boundary(cfg->audiences, x->audience);

	if (implied == NULL) {
		brk_deny_set(d, -MDT_EAUDIENCE, "audience.unknown", "audience %s "
		    "is not a resource server of this broker (gateway_audience, "
		    "audiences)", x->audience);
		return -1;
	}
	if (strcmp(x->boundary, "none") == 0 || strcmp(implied, "none") == 0) {
		if (strcmp(x->boundary, "none") == 0)
			x->boundary = implied;
		return 0;
	}
	if (strcmp(x->boundary, implied) != 0) {
		brk_deny_set(d, -MDT_EPROTO, "field", "field boundary: %s, but "
		    "sending to %s crosses %s", x->boundary, x->audience,
		    implied);
		return -1;
	}
	return 0;
}

static int
az_fields(struct brk_ctx *c, struct az *x, struct brk_deny *d)
{
	char err[MDT_ERRMSG_MAX];
	int has;
	const mdt_wire_val *r = c->root;

	x->boundary = "none";
	x->audience = c->snap->cfg.gateway_audience;
	if (mdt_wire_get_str(r, "action", 31, &x->action, err, sizeof(err)) ||
	    mdt_wire_get_str(r, "resource", MDT_STORE_FIELD_MAX - 1,
	    &x->resource, err, sizeof(err)) ||
	    mdt_wire_get_str_opt(r, "patient", BRK_ID_MAX - 1, &x->claimed,
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
	if (az_boundary(&c->snap->cfg, x, d) != 0)
		return -1;
	if (x->wait > c->snap->cfg.stepup_timeout_ms)
		x->wait = c->snap->cfg.stepup_timeout_ms;
	if (c->phase == BRK_PHASE_RESUME)
		x->stepup = c->resume_stepup;
	return 0;
}

/*
 * The patient of a FHIR request comes from the request itself (the
 * resource's Patient compartment, docs/scopes.md), never from the task:
 * a reference to another patient, or a compartment type that names no
 * patient at all, is refused.  A type outside every patient compartment
 * is read in the task's patient context.
 */
static int
az_patient(const struct brk_held *h, struct az *x, struct brk_deny *d)
{
	char err[MDT_ERRMSG_MAX] = "";
	mdt_fhir_patient_source src;
	int rc = mdt_fhir_patient_of(x->resource, x->claimed, x->patient,
	    sizeof(x->patient), &src, err, sizeof(err));

	if (rc != 0) {
		brk_deny_set(d, rc == -MDT_EPATIENT ? rc : -MDT_EPROTO,
		    rc == -MDT_EPATIENT ? "patient" : "field", "resource %s: %s",
		    x->resource, err);
		/* a claim never vouches: the record names the patient the
		 * reference itself names, when it names one */
		if (rc == -MDT_EPATIENT && x->patient[0] != 0)
			x->rec_patient = x->patient;
		return -1;
	}
	if (src == MDT_FHIR_PATIENT_NONE) {
		x->rec_patient = h->task->patient;
		return 0;
	}
	if (src == MDT_FHIR_PATIENT_CLAIMED && x->req.id == NULL) {
		/* a claim cannot narrow what a search returns */
		brk_deny_set(d, -MDT_EPATIENT, "patient", "the search %s names "
		    "no patient: name it with a compartment parameter "
		    "(patient=, subject=, ...)", x->resource);
		return -1;
	}
	x->rec_patient = x->patient;
	if (strcmp(x->patient, h->task->patient) != 0) {
		brk_deny_set(d, -MDT_EPATIENT, "patient", "task %s is for "
		    "patient %s; %s belongs to %s", h->task->task_id,
		    h->task->patient, x->resource, x->patient);
		return -1;
	}
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
	if (x->req.context == MDT_SCOPE_TOOL) {
		/* a tool acts in the task's patient context */
		if (x->claimed != NULL && strcmp(x->claimed,
		    h->task->patient) != 0) {
			x->rec_patient = x->claimed;
			brk_deny_set(d, -MDT_EPATIENT, "patient", "task %s is "
			    "for patient %s, not %s", h->task->task_id,
			    h->task->patient, x->claimed);
			return -1;
		}
		x->rec_patient = h->task->patient;
	} else if (az_patient(h, x, d) != 0) {
		return -1;
	}
	x->req.patient = h->task->patient;
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
		.patient = x->req.patient, .attrs = x->req.params,
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
	rc = brk_clinician_scopes(b, h->task->clinician, &cs);
	if (rc != 0 && rc != -MDT_ENOTFOUND) {
		brk_deny_set(d, -MDT_ESTORE, "store", "clinician %s's current "
		    "grant: %s", h->task->clinician, mdt_strerror(rc));
		return -1;
	}
	if (rc == 0) {
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
		.res_patient = x->rec_patient, .task_id = h->task->task_id,
		.clinician = h->task->clinician, .patient = h->task->patient,
		.purpose = h->task->purpose, .tool = tool ? x->req.type : "",
		.args = tool ? x->req.params : NULL,
		.nargs = tool ? x->req.nparams : 0,
		.boundary = x->boundary, .request_hash = x->hash_hex,
		.chain_json = h->chain_json, .depth = h->task->depth,
		.approved = x->approved,
	};
	char pjson[BRK_DETAIL_MAX];

	return brk_policy_eval(w, c, &p, dec, d, pjson, sizeof(pjson));
}

/* The record of this authorize, with as much as is known of it: a
 * refusal before the task or the resource is known still names the
 * claimed task, the token's facts and the request's action and resource. */
static struct brk_record
az_rec(struct brk_ctx *c, const struct brk_held *h, const struct az *x,
    mdt_store_verdict v, uint32_t flags, const struct brk_deny *deny,
    const char *policies)
{
	struct brk_record r = brk_held_record(c, h, "authorize", v, deny);

	r.flags = flags;
	r.policies_json = policies;
	r.action = x->action;
	r.resource = x->resource;
	if (x->rec_patient != NULL)
		r.patient = x->rec_patient;
	r.suffix = c->phase == BRK_PHASE_RESUME ? "#final" : NULL;
	return r;
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
	struct brk_deny sd = { 0 };

	if (w == NULL) {
		/* not even the refusal could be built: let the client
		 * resend rather than answer without a record */
		brk_reply(c, NULL);
		return;
	}
	if (brk_record_then_reply(c, r, w, refusal_fail, &sd) != 0)
		reply_refusal(c, &sd, "deny", NULL, 0);
}

/* Every refusal is recorded before it is answered, the ones raised
 * before the task or the token is known included. */
static void
az_deny(struct brk_ctx *c, const struct brk_held *h, const struct az *x,
    const struct brk_deny *d)
{
	struct brk_record r = az_rec(c, h, x, d->status == -MDT_EPOLICY ?
	    MDT_STORE_ERROR : MDT_STORE_DENY, 0, d, d->policies);

	az_answer(c, &r, refusal_writer(c, d, "deny", NULL, 0));
}

static uint32_t
az_flags(struct brk_ctx *c, const struct brk_held *h, const struct az *x)
{
	uint32_t f = x->approved ? MDT_STORE_FLAG_APPROVED : 0;

	if (brk_word_in(c->snap->cfg.emergency_purposes, h->task->purpose))
		f |= MDT_STORE_FLAG_BREAK_GLASS | MDT_STORE_FLAG_REVIEW;
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
	    mdt_wire_begin_array(w, "flags", (flags & MDT_STORE_FLAG_REVIEW ?
	    1u : 0u) + (flags & MDT_STORE_FLAG_APPROVED ? 1u : 0u)) ||
	    ((flags & MDT_STORE_FLAG_REVIEW) &&
	    mdt_wire_put_cstr(w, NULL, "break_glass")) ||
	    ((flags & MDT_STORE_FLAG_APPROVED) &&
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
		.ttl = c->snap->cfg.action_ttl,
		.broker = brk_root_for(c->b, h->tok),
	};
	mdt_token *st = NULL;
	mdt_token_reason why;
	struct brk_deny sd = { 0 };
	struct brk_record r;
	uint32_t flags = az_flags(c, h, x);
	uint8_t tid[MDT_TOKEN_ID_BYTES];
	mdt_wire_writer *w;
	int rc = mdt_token_single_action(h->tok, &sp, &st, &why);

	if (rc != 0) {
		brk_deny_set(&sd, rc, rc == -MDT_ESCOPE ? "scope.token" :
		    "internal", "single-action token: %s", why.message);
		az_deny(c, h, x, &sd);
		return;
	}
	w = allow_writer(c, st, d->plist, flags);
	mdt_token_id(st, tid);
	mdt_token_free(st);
	if (w == NULL) {
		brk_deny_set(&sd, -MDT_ENOMEM, "internal", "out of memory");
		az_deny(c, h, x, &sd);
		return;
	}
	r = az_rec(c, h, x, MDT_STORE_ALLOW, flags, NULL, d->policies);
	r.issued_token_id = tid;
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
	mdt_store_approval ap = { 0 };
	struct brk_record r;
	struct brk_deny sd = { 0 };
	int64_t now = brk_now_ms();
	int64_t wait = x->wait > 0 ? x->wait : 0;
	int rc;

	if (brk_id_check(c, "authorize", &sd) != 0) {
		reply_refusal(c, &sd, "deny", NULL, 0);
		return;
	}
	brk_random_id("su-", in.id, sizeof(in.id));
	snprintf(in.task, sizeof(in.task), "%s", h->task->task_id);
	snprintf(in.agent, sizeof(in.agent), "%s", c->agent);
	snprintf(in.clinician, sizeof(in.clinician), "%s", h->task->clinician);
	snprintf(in.patient, sizeof(in.patient), "%s", h->task->patient);
	snprintf(in.purpose, sizeof(in.purpose), "%s", h->task->purpose);
	snprintf(in.action, sizeof(in.action), "%s", x->action);
	snprintf(in.resource, sizeof(in.resource), "%s", x->resource);
	memcpy(in.hash, x->hash, 32);
	in.created_ms = now;
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
	r = az_rec(c, h, x, MDT_STORE_STEP_UP, 0, d, d->policies);
	if (brk_record(c, &r, &sd) != 0) {
		reply_refusal(c, &sd, "deny", NULL, 0);
		return;
	}
	/* the resource (which may name the patient) stays in the audit */
	BLOG(c->b, BRK_INFO, "stepup.parked", "stepup=%s task=%s agent=%s "
	    "action=%s wait_ms=%lld", in.id, in.task, in.agent, in.action,
	    (long long)wait);
	/* parked before anyone can learn its id */
	if (wait > 0 && !atomic_load(&c->b->stopping)) {
		brk_broker *b = c->b;
		int64_t until = in.expires_ms < now + wait ? in.expires_ms :
		    now + wait;
		brk_park(c, until);
		if (brk_stepup_add(b, &in, c, until) == 0) {
			publish_stepup(b, &in); /* c may be answered already */
			return;
		}
	} else if (brk_stepup_add(c->b, &in, NULL, 0) == 0) {
		publish_stepup(c->b, &in);
		reply_refusal(c, d, "step_up", in.id, in.expires_ms);
		return;
	}
	brk_deny_set(&sd, -MDT_ENOMEM, "internal", "out of memory");
	reply_refusal(c, &sd, "deny", NULL, 0);
}

void
brk_authorize_final_deny(struct brk_ctx *c, const struct brk_stepup_info *in,
    int status, const char *reason, const char *detail)
{
	struct brk_deny d = { 0 };
	struct brk_record r = {
		.op = "authorize", .verdict = MDT_STORE_DENY, .deny = &d,
		.suffix = "#final", .task = in->task, .clinician =
		in->clinician, .patient = in->patient, .purpose = in->purpose,
		.action = in->action, .resource = in->resource,
	};
	struct brk_deny sd = { 0 };

	brk_deny_set(&d, status, reason, "%s", detail);
	if (brk_record(c, &r, &sd) == 0)
		reply_refusal(c, &d, "deny", NULL, 0);
	else
		reply_refusal(c, &sd, "deny", NULL, 0);
}

void
brk_authorize_stepup_pending(struct brk_ctx *c,
    const struct brk_stepup_info *in)
{
	struct brk_deny d = { 0 };

	brk_deny_set(&d, -MDT_ESTEPUP, "step_up.required", "%s awaits a "
	    "clinician's approval; this broker is stopping: resend with the "
	    "step-up once it is approved", in->id);
	reply_refusal(c, &d, "step_up", in->id, in->expires_ms);
}

/* Everything up to the policy's answer; -1 with d filled on a refusal,
 * 1 when it must run again on a worker (using an approval is a write). */
static int
az_check(struct brk_worker *w, struct brk_ctx *c, struct brk_held *h,
    struct az *x, mdt_decision *dec, struct brk_deny *d)
{
	if (az_fields(c, x, d) != 0 || brk_check_held(w, c, h, d) != 0 ||
	    az_request(h, x, d) != 0 || az_scopes(c->b, h, x, c->agent, d) != 0)
		return -1;
	brk_stepup_hash(h->task->task_id, c->agent, x->action, x->resource,
	    x->rec_patient, h->task->purpose, x->boundary, x->audience,
	    x->hash);
	sodium_bin2hex(x->hash_hex, sizeof(x->hash_hex), x->hash, 32);
	if (x->stepup != NULL && w->on_nng)
		return 1;
	if (x->stepup != NULL) {
		if (brk_stepup_consume(c->b, x->stepup, x->hash, d) != 0)
			return -1;
		x->approved = 1;
	}
	return az_policy(w, c, h, x, dec, d);
}

void
brk_op_authorize(struct brk_worker *w, struct brk_ctx *c)
{
	struct brk_held h;
	struct az x;
	struct brk_deny d = { 0 };
	mdt_decision dec = MDT_DECISION_DENY;

	int k;

	memset(&x, 0, sizeof(x));
	memset(&h, 0, sizeof(h));
	if ((k = az_check(w, c, &h, &x, &dec, &d)) > 0) {
		brk_held_clear(&h);
		brk_rerun_on_worker(c);
		return;
	} else if (k != 0) {
		az_deny(c, &h, &x, &d);
	} else if (dec == MDT_DECISION_ALLOW) {
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
}

/* ------------------------------------------------------ approve/reject */

/*
 * A decision is the clinician's own act: an assertion of the step-up's
 * clinician and patient that names this step-up (mandate_stepup) and was
 * issued after it (within the identity provider's clock skew).  A launch assertion the caller already held names no
 * step-up, and one step-up is decided once, so no act is used twice.
 */
static int
decide_act(const struct brk_claims *cl, const struct brk_stepup_info *in,
    struct brk_deny *d)
{
	if (strcmp(cl->clinician, in->clinician) != 0 ||
	    strcmp(cl->patient, in->patient) != 0) {
		brk_deny_set(d, -MDT_EAUTH, "assertion", "the assertion is for "
		    "%s and patient %s; step-up %s needs %s and %s",
		    cl->clinician, cl->patient, in->id, in->clinician,
		    in->patient);
		return -1;
	}
	if (strcmp(cl->stepup, in->id) != 0) {
		brk_deny_set(d, -MDT_EAUTH, "approval.unbound", "the assertion "
		    "does not decide step-up %s (its mandate_stepup claim is "
		    "\"%s\"): a decision needs a fresh assertion naming it",
		    in->id, cl->stepup);
		return -1;
	}
	/* iat is whole seconds of the identity provider's clock: the same
	 * skew allowance as every other time claim (an assertion naming a
	 * step-up cannot predate it anyway; the id is random) */
	if (cl->iat < in->created_ms / 1000 - BRK_IDP_SKEW) {
		brk_deny_set(d, -MDT_EAUTH, "approval.stale", "the assertion "
		    "was issued at %lld, before step-up %s was asked",
		    (long long)cl->iat, in->id);
		return -1;
	}
	return 0;
}

static void
decide_reply(struct brk_ctx *c, const char *id, int approve, int64_t until)
{
	mdt_wire_writer *wr = brk_reply_writer(c, 1);

	if (wr != NULL && (mdt_wire_put_cstr(wr, "stepup", id) ||
	    mdt_wire_put_cstr(wr, "decision", approve ? "approved" :
	    "rejected") || mdt_wire_put_int(wr, "expires", until / 1000))) {
		mdt_wire_writer_free(wr);
		wr = NULL;
	}
	brk_reply(c, wr);
}

/* Records the decision (allow) or its refusal (deny) of step-up in. */
static int
decide_record(struct brk_ctx *c, int approve, const struct brk_stepup_info *in,
    const char *clinician, const struct brk_deny *deny, struct brk_deny *d)
{
	struct brk_record r = {
		.op = approve ? "approve" : "reject",
		.verdict = deny != NULL ? MDT_STORE_DENY : MDT_STORE_ALLOW,
		.deny = deny, .task = in->task[0] ? in->task : NULL,
		.clinician = clinician, .patient = in->patient[0] ?
		    in->patient : NULL, .purpose = in->purpose[0] ?
		    in->purpose : NULL, .action = in->action[0] ? in->action :
		    NULL, .resource = in->resource[0] ? in->resource : in->id,
	};

	return brk_record(c, &r, d);
}

/* Applies a decision whose act checked out: store, record; *parked
 * gets the request parked here on it. */
static int
decide_apply(struct brk_ctx *c, int approve, const struct brk_stepup_info *in,
    const struct brk_claims *cl, const char *note, int64_t until,
    struct brk_ctx **parked, struct brk_deny *d)
{
	int64_t now = brk_now_ms();
	int rc;

	*parked = NULL;
	/* the first decision stored wins, on every broker: a decision
	 * racing the expiry or another decision loses before it is
	 * recorded.  Undecided past its expiry (no timer came by yet): it
	 * expires now, and the decision comes too late. */
	if (now > in->expires_ms) {
		(void)brk_stepup_expire(c->b, in, now);
		rc = -MDT_EEXIST;
	} else {
		rc = mdt_store_decide_approval(c->b->store, in->id, approve ?
		    MDT_APPROVAL_APPROVED : MDT_APPROVAL_REJECTED,
		    cl->clinician, now, until, note, NULL);
	}
	if (rc != 0) {
		brk_deny_set(d, rc == -MDT_EEXIST ? -MDT_EEXIST : -MDT_ESTORE,
		    rc == -MDT_EEXIST ? "step_up.unknown" : "store",
		    "step-up %s: %s", in->id, rc == -MDT_EEXIST ?
		    "already decided or expired" : mdt_strerror(rc));
		return -1;
	}
	*parked = brk_stepup_take(c->b, in->id);
	if (decide_record(c, approve, in, cl->clinician, NULL, d) == 0)
		return 0;
	/* not on record: the decision does not stand, and the request
	 * waiting for it is refused */
	brk_stepup_void(c->b, in->id);
	if (*parked != NULL)
		brk_authorize_final_deny(*parked, in, d->status, d->reason,
		    "the clinician's decision could not be recorded");
	*parked = NULL;
	return -1;
}

void
brk_op_decide(struct brk_worker *w, struct brk_ctx *c)
{
	int approve = mdt_wire_msg_op(c->req) == MDT_OP_APPROVE;
	const char *rid = NULL, *jwt, *note = NULL;
	char err[MDT_ERRMSG_MAX];
	struct brk_stepup_info in = { 0 };
	struct brk_claims cl = { 0 };
	struct brk_deny d = { 0 }, sd = { 0 };
	struct brk_ctx *parked = NULL;
	int64_t until = approve ? brk_now_ms() + c->snap->cfg.approval_ttl_ms :
	    0;
	int has, rc, state = 0;

	(void)w;
	if (mdt_wire_get_str(c->root, "stepup", 63, &rid, err, sizeof(err)) ||
	    mdt_wire_get_str(c->root, "assertion", BRK_ASSERTION_MAX, &jwt,
	    err, sizeof(err)) || mdt_wire_get_str_opt(c->root, "note",
	    MDT_STORE_FIELD_MAX - 1, &note, &has, err, sizeof(err))) {
		brk_deny_set(&d, -MDT_EPROTO, "field", "%s", err);
		snprintf(in.id, sizeof(in.id), "%s", rid ? rid : "");
		goto refuse;
	}
	snprintf(in.id, sizeof(in.id), "%s", rid); /* outlives the request */
	if (brk_id_check(c, approve ? "approve" : "reject", &d) != 0) {
		brk_reply_deny(c, &d); /* recorded, or a store failure */
		return;
	}
	if ((rc = brk_stepup_get(c->b, in.id, &in, &state)) != 0 ||
	    state != MDT_APPROVAL_PENDING) {
		brk_deny_set(&d, rc == 0 || rc == -MDT_ENOTFOUND ?
		    -MDT_ENOTFOUND : -MDT_ESTORE, rc == 0 || rc ==
		    -MDT_ENOTFOUND ? "step_up.unknown" : "store", "step-up "
		    "%s: %s", in.id, rc == 0 ? "already decided or expired" :
		    rc == -MDT_ENOTFOUND ? "none" : mdt_strerror(rc));
		goto refuse;
	}
	if (brk_assertion_verify(c->b, c, jwt, &cl, &d) != 0 ||
	    decide_act(&cl, &in, &d) != 0 ||
	    brk_act_use(c, &cl, "approval", &d) != 0 ||
	    brk_clinician_assert(c->b, cl.clinician, cl.iat, cl.scopes,
	    &d) != 0)
		goto refuse;
	if (decide_apply(c, approve, &in, &cl, note, until, &parked, &d) != 0)
		goto refuse;
	brk_stepup_publish_decided(c->b, &in, approve ? "approved" : "rejected");
	BLOG(c->b, BRK_INFO, "stepup.decided", "stepup=%s decision=%s by=%s",
	    in.id, approve ? "approved" : "rejected", cl.clinician);
	decide_reply(c, in.id, approve, until);
	if (parked != NULL && approve) {
		/* it authorizes again and uses the approval (stepup.c) */
		snprintf(parked->resume_stepup, sizeof(parked->resume_stepup),
		    "%s", in.id);
		brk_resume(parked);
	} else if (parked != NULL) {
		brk_authorize_final_deny(parked, &in, -MDT_EDENIED,
		    "step_up.rejected", "the clinician rejected the request");
	}
	brk_claims_clear(&cl);
	return;
refuse:
	if (decide_record(c, approve, &in, cl.clinician[0] ? cl.clinician :
	    NULL, &d, &sd) != 0)
		d = sd;
	brk_claims_clear(&cl);
	brk_reply_deny(c, &d);
}

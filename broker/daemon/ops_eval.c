/*
 * evaluate: a Cedar decision about any subject, action and resource,
 * asked by an admin on behalf of a policy enforcement point (the AuthZEN
 * front, mandate-authzen, docs/authzen.md).  The request names Cedar
 * entities and carries their attributes and the context as Cedar JSON;
 * the broker evaluates them against its policy set and entities, records
 * the decision (a refusal included) and only then answers.  Attributes
 * the request gives never replace those of an entity the broker holds.
 * A deny the evaluator decided itself (`refused`: a token the front
 * refused) is recorded and answered as given, Cedar unasked.
 */
#include <stdio.h>
#include <string.h>

#include "broker.h"

#define EV_TYPE_MAX 255     /* bytes of a Cedar type path */
#define EV_ID_MAX 511       /* bytes of an entity id */
#define EV_JSON_MAX (64u << 10) /* bytes of attributes or context */
#define EV_UID_TEXT (EV_TYPE_MAX + EV_ID_MAX + 8)
#define EV_REASON_MAX 63    /* bytes of a refused reason */
#define EV_DETAIL_MAX 255   /* bytes of a refused detail */

struct ev {
	const char *stype, *sid, *sprops;
	const char *action;
	const char *rtype, *rid, *rprops;
	const char *context;
	const char *refused, *rdetail, *token_id; /* a deny the caller decided */
	char action_type[EV_TYPE_MAX + 16];
	char subject[EV_UID_TEXT], resource[EV_UID_TEXT];
	char chain[(BRK_ID_MAX + EV_UID_TEXT) * 2 + 8];
	char policies[BRK_DETAIL_MAX];
};

/* The reasons an evaluator may record (a token it refused,
 * docs/authzen.md), as static strings: the metrics keep the pointer, and
 * a fixed set bounds their labels.  NULL for any other. */
static const char *
refused_reason(const char *s)
{
	static const char *const known[] = { "token.missing", "token.proof",
	    "token.unsupported", "token.malformed", "token.signature",
	    "token.key", "token.expired", "token.audience", "token.scope",
	    "token.patient", "token.revoked", "token.replay", "token.subject",
	    "token.invalid" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	return NULL;
}

/* refused: {reason, detail?, token_id?}, nothing else; absent is 0. */
static int
get_refused(const mdt_wire_val *r, struct ev *x, char *err, size_t elen)
{
	const mdt_wire_val *m = mdt_wire_map_get(r, "refused");
	int has, n = 1;

	if (m == NULL)
		return 0;
	if (mdt_wire_val_type(m) != MDT_WIRE_MAP) {
		snprintf(err, elen, "field refused: expected map");
		return -MDT_EPROTO;
	}
	if (mdt_wire_get_str(m, "reason", EV_REASON_MAX, &x->refused, err,
	    elen) || mdt_wire_get_str_opt(m, "detail", EV_DETAIL_MAX,
	    &x->rdetail, &has, err, elen))
		return -MDT_EPROTO;
	n += has;
	if (mdt_wire_get_str_opt(m, "token_id", BRK_ID_MAX - 1, &x->token_id,
	    &has, err, elen))
		return -MDT_EPROTO;
	n += has;
	if (mdt_wire_val_count(m) != (size_t)n ||
	    (x->refused = refused_reason(x->refused)) == NULL) {
		snprintf(err, elen, "field refused: only reason (a token.* "
		    "reason of docs/wire-protocol.md), detail and token_id");
		return -MDT_EPROTO;
	}
	return 0;
}

static int
get_fields(const mdt_wire_val *r, struct ev *x, char *err, size_t elen)
{
	int has;

	return mdt_wire_get_str(r, "subject_type", EV_TYPE_MAX, &x->stype,
	    err, elen) ||
	    mdt_wire_get_str(r, "subject_id", EV_ID_MAX, &x->sid, err, elen) ||
	    mdt_wire_get_str_opt(r, "subject_props", EV_JSON_MAX, &x->sprops,
	    &has, err, elen) ||
	    mdt_wire_get_str(r, "action", EV_TYPE_MAX, &x->action, err,
	    elen) ||
	    mdt_wire_get_str(r, "resource_type", EV_TYPE_MAX, &x->rtype, err,
	    elen) ||
	    mdt_wire_get_str(r, "resource_id", EV_ID_MAX, &x->rid, err,
	    elen) ||
	    mdt_wire_get_str_opt(r, "resource_props", EV_JSON_MAX, &x->rprops,
	    &has, err, elen) ||
	    mdt_wire_get_str_opt(r, "context", EV_JSON_MAX, &x->context, &has,
	    err, elen) || get_refused(r, x, err, elen);
}

/* A Cedar type path: identifiers ([A-Za-z_][A-Za-z0-9_]*) joined by ::. */
static int
cedar_path_ok(const char *s)
{
	for (;;) {
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    *s == '_'))
			return 0;
		while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_')
			s++;
		if (*s == 0)
			return 1;
		if (s[0] != ':' || s[1] != ':')
			return 0;
		s += 2;
	}
}

/* The action lives in the resource type's namespace, as Cedar schemas
 * put it: todo -> Action, Mandate::Resource -> Mandate::Action. */
static void
action_type(struct ev *x)
{
	const char *last = NULL;

	for (const char *p = strstr(x->rtype, "::"); p != NULL;
	    p = strstr(p + 2, "::"))
		last = p;
	if (last == NULL)
		snprintf(x->action_type, sizeof(x->action_type), "Action");
	else
		snprintf(x->action_type, sizeof(x->action_type), "%.*sAction",
		    (int)(last - x->rtype + 2), x->rtype);
}

static void
describe(struct brk_ctx *c, struct ev *x)
{
	char a[BRK_ID_MAX * 2], s[EV_UID_TEXT * 2];

	snprintf(x->subject, sizeof(x->subject), "%s::\"%s\"",
	    x->stype ? x->stype : "", x->sid ? x->sid : "");
	snprintf(x->resource, sizeof(x->resource), "%s::\"%s\"",
	    x->rtype ? x->rtype : "", x->rid ? x->rid : "");
	brk_json_escape(c->agent, a, sizeof(a));
	brk_json_escape(x->subject, s, sizeof(s));
	snprintf(x->chain, sizeof(x->chain), "[\"%s\",\"%s\"]", a, s);
}

/* Fields, the caller's right to ask, and the names of the entities. */
static int
ev_check(struct brk_ctx *c, struct ev *x, struct brk_deny *d)
{
	char err[MDT_ERRMSG_MAX] = "";

	if (get_fields(c->root, x, err, sizeof(err)) != 0) {
		describe(c, x);
		brk_deny_set(d, -MDT_EPROTO, "field", "%s", err);
		return -1;
	}
	describe(c, x);
	/* its own privilege: a front that asks for decisions need not be
	 * able to read trees or abort tasks */
	if (!brk_word_in(c->snap->cfg.evaluators, c->agent)) {
		brk_deny_set(d, -MDT_EAUTH, "evaluator.required", "evaluate "
		    "needs an agent listed in evaluators");
		return -1;
	}
	if (!cedar_path_ok(x->stype) || !cedar_path_ok(x->rtype)) {
		brk_deny_set(d, -MDT_EPROTO, "field", "subject_type and "
		    "resource_type must be Cedar type names (identifiers "
		    "joined by ::)");
		return -1;
	}
	action_type(x);
	return 0;
}

/* The request's attributes for uid, unless the broker holds it. */
static int
add_entity(struct brk_worker *w, const char *type, const char *id,
    const char *props, const char *what, struct brk_deny *d)
{
	mdt_entity_uid u = { type, id, strlen(id) };
	char err[MDT_ERRMSG_MAX] = "";
	int rc;

	if (props == NULL)
		return 0;
	rc = mdt_policy_record_load_json(w->attrs, props, strlen(props), what,
	    err, sizeof(err));
	if (rc == 0) {
		rc = mdt_entity_store_add(w->overlay, &u, w->attrs, NULL, 0);
		if (rc == -MDT_EEXIST)
			return 0; /* the broker's facts stand */
		snprintf(err, sizeof(err), "%s", mdt_strerror(rc));
	}
	if (rc != 0)
		brk_deny_set(d, -MDT_EPROTO, "field", "%s", err);
	return rc != 0 ? -1 : 0;
}

/* Builds the request's entities and context; 0 or -1 with d filled. */
static int
ev_inputs(struct brk_worker *w, struct brk_ctx *c, const struct ev *x,
    struct brk_deny *d)
{
	char err[MDT_ERRMSG_MAX] = "";
	int rc = brk_policy_overlay(w, c->snap);

	if (rc != 0) {
		brk_deny_set(d, -MDT_EPOLICY, "policy.error", "entities: %s",
		    mdt_strerror(rc));
		return -1;
	}
	mdt_policy_record_reset(w->rec);
	if (x->context != NULL && mdt_policy_record_load_json(w->rec,
	    x->context, strlen(x->context), "context", err, sizeof(err))) {
		brk_deny_set(d, -MDT_EPROTO, "field", "%s", err);
		return -1;
	}
	if (add_entity(w, x->stype, x->sid, x->sprops, "subject_props",
	    d) != 0 || add_entity(w, x->rtype, x->rid, x->rprops,
	    "resource_props", d) != 0)
		return -1;
	return 0;
}

/* Cedar's decision; policy errors and step-ups are denies. */
static int
ev_decide(struct brk_worker *w, struct brk_ctx *c, struct ev *x,
    struct brk_deny *d)
{
	mdt_policy_request req = {
		.principal = { x->stype, x->sid, strlen(x->sid) },
		.action = { x->action_type, x->action, strlen(x->action) },
		.resource = { x->rtype, x->rid, strlen(x->rid) },
		.context = w->rec,
	};
	char list[BRK_DETAIL_MAX];
	mdt_decision dec;
	int rc = mdt_policy_evaluate(c->snap->policies, w->overlay, &req,
	    w->ans);

	if (rc != 0) {
		brk_deny_set(d, -MDT_EPOLICY, "policy.error", "policy "
		    "evaluation failed: %s", mdt_strerror(rc));
		return -1;
	}
	dec = mdt_policy_answer_decision(w->ans);
	brk_policy_reasons(w->ans, x->policies, sizeof(x->policies), list,
	    sizeof(list));
	snprintf(d->policies, sizeof(d->policies), "%s", x->policies);
	snprintf(d->plist, sizeof(d->plist), "%s", list);
	if (mdt_policy_answer_error_count(w->ans) > 0) {
		brk_deny_set(d, -MDT_EPOLICY, "policy.error", "%zu policies "
		    "errored during evaluation; denied",
		    (size_t)mdt_policy_answer_error_count(w->ans));
		return 1;
	}
	if (dec == MDT_DECISION_ALLOW)
		return 0;
	if (dec == MDT_DECISION_STEP_UP)
		brk_deny_set(d, -MDT_ESTEPUP, "step_up.required", "held for a "
		    "clinician's approval by %s, which evaluate cannot ask",
		    list);
	else
		brk_deny_set(d, -MDT_EDENIED, "policy.deny", "%s%s",
		    list[0] ? "forbidden by " : "no policy permits this", list);
	return 1;
}

static void
ev_fail(struct brk_ctx *c, const struct brk_deny *d)
{
	brk_reply_deny(c, d);
}

static void
ev_answer(struct brk_ctx *c, const struct ev *x, const struct brk_deny *deny,
    const char *plist)
{
	struct brk_record r = {
		.op = "evaluate", .verdict = deny == NULL ? MDT_STORE_ALLOW :
		    deny->status == -MDT_EPOLICY ? MDT_STORE_ERROR :
		    MDT_STORE_DENY,
		.deny = deny, .policies_json = deny ? deny->policies :
		    x->policies, .chain_json = x->chain, .action = x->action,
		.resource = x->resource, .token_id = x->token_id,
	};
	struct brk_deny sd = { 0 };
	mdt_wire_writer *w = brk_reply_writer(c, 1);

	if (w != NULL && (mdt_wire_put_cstr(w, "decision", deny ? "deny" :
	    "allow") || mdt_wire_put_cstr(w, "policies", plist) ||
	    (deny != NULL && (mdt_wire_put_cstr(w, "reason", deny->reason) ||
	    mdt_wire_put_cstr(w, "detail", deny->detail))))) {
		mdt_wire_writer_free(w);
		w = NULL;
	}
	if (w == NULL) {
		brk_reply(c, NULL); /* no answer without a record: resend */
		return;
	}
	if (brk_record_then_reply(c, &r, w, ev_fail, &sd) != 0)
		brk_reply_deny(c, &sd);
}

/* A refusal of the request itself (not a decision about it): recorded,
 * then answered as an error. */
static void
ev_refuse(struct brk_ctx *c, const struct ev *x, const struct brk_deny *d)
{
	struct brk_record r = { .op = "evaluate", .verdict = MDT_STORE_DENY,
	    .deny = d, .chain_json = x->chain, .action = x->action,
	    .resource = x->resource };
	struct brk_deny sd = { 0 };

	brk_reply_deny(c, brk_record(c, &r, &sd) == 0 ? d : &sd);
}

void
brk_op_evaluate(struct brk_worker *w, struct brk_ctx *c)
{
	struct ev x;
	struct brk_deny d = { 0 };

	memset(&x, 0, sizeof(x));
	if (ev_check(c, &x, &d) != 0 || (ev_inputs(w, c, &x, &d) != 0 &&
	    d.status == -MDT_EPROTO)) {
		ev_refuse(c, &x, &d);
		return;
	}
	/* a deny the evaluator already decided: a caller can only make a
	 * decision stricter, so it is recorded as it says, Cedar unasked */
	if (x.refused != NULL) {
		brk_deny_set(&d, -MDT_EDENIED, x.refused, "%s", x.rdetail ?
		    x.rdetail : "");
		ev_answer(c, &x, &d, "");
		return;
	}
	/* a registered agent as the subject must be one this broker knows:
	 * any other is denied, as an unknown principal */
	if (d.status == 0 && strcmp(x.stype, "Mandate::Agent") == 0 &&
	    brk_agent_find(c->snap, x.sid) == NULL)
		brk_deny_set(&d, -MDT_EDENIED, "agent.unknown", "subject %s is "
		    "not a registered agent", x.sid);
	if (d.status == 0 && ev_decide(w, c, &x, &d) == 0)
		ev_answer(c, &x, NULL, d.plist);
	else
		ev_answer(c, &x, &d, d.plist);
}

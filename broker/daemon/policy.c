/*
 * Cedar glue: builds the principal, action, resource and the full request
 * context the default policies rely on (docs/policy-guide.md), evaluates
 * against the snapshot's policy set, and turns the answer into a decision
 * with its determining policies.  Evaluation failures, and answers that
 * list any policy error, are denies.
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "alloc_int.h"
#include "broker.h"

#define AGENT "Mandate::Agent"

static mdt_entity_uid
uid(const char *type, const char *id)
{
	mdt_entity_uid u = { type, id, strlen(id) };
	return u;
}

/*
 * One id of the chain at *pp, a JSON string as brk_json_escape writes it
 * (token holders are printable, so only \" and \\ occur), unescaped into
 * out; *pp moves past it.  -1 for anything else or an id that does not
 * fit.
 */
static int
chain_id(const char **pp, char *out, size_t len)
{
	const char *s = *pp;
	size_t o = 0;

	if (*s++ != '"')
		return -1;
	for (; *s != '"'; s++) {
		if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
			s++;
		else if (*s == '\\' || *s == 0)
			return -1;
		if (o + 1 >= len)
			return -1;
		out[o++] = *s;
	}
	out[o] = 0;
	*pp = s + 1;
	return 0;
}

/*
 * context.agentChain from chain_json, ["a","b",...].  The default set's
 * cycle guard is this set, so a chain that is absent, truncated or not
 * exactly that shape fails the evaluation (a deny) instead of reaching
 * Cedar with members missing.
 */
static int
set_chain(mdt_policy_record *r, const struct brk_pctx *p)
{
	const char *s = p->chain_json;
	char id[MDT_TOKEN_HOLDER_MAX + 1];
	int rc;

	if (s == NULL || *s++ != '[')
		return -MDT_EPARSE;
	rc = mdt_policy_record_begin_set(r, "agentChain");
	while (rc == 0 && *s != ']') {
		mdt_entity_uid u;
		if (chain_id(&s, id, sizeof(id)) != 0 ||
		    (*s != ',' && *s != ']') || (*s == ',' && s[1] == ']'))
			return -MDT_EPARSE;
		s += *s == ',';
		u = uid(AGENT, id);
		rc = mdt_policy_record_set_entity(r, NULL, &u);
	}
	if (rc == 0 && s[1] != 0)
		return -MDT_EPARSE;
	return rc != 0 ? rc : mdt_policy_record_end(r);
}

static int
set_approval(mdt_policy_record *r, const struct brk_pctx *p)
{
	return mdt_policy_record_begin_record(r, "approval") ||
	    mdt_policy_record_set_bool(r, "valid", p->approved) ||
	    mdt_policy_record_set_string(r, "requestHash", p->approved ?
	    p->request_hash : "", p->approved ? strlen(p->request_hash) : 0) ||
	    mdt_policy_record_end(r);
}

/*
 * context.args: the attributes of a tool request (tool/NAME?k=v&...), as
 * strings, so policy can read a tool call's arguments; empty for every
 * other request.  A name given twice fails the evaluation (a deny).
 */
static int
set_args(mdt_policy_record *r, const struct brk_pctx *p)
{
	char name[MDT_SCOPE_REF_MAX + 1];
	int rc = mdt_policy_record_begin_record(r, "args");

	for (size_t i = 0; rc == 0 && i < p->nargs; i++) {
		const mdt_scope_param *a = &p->args[i];
		if (a->name_len >= sizeof(name))
			return -MDT_ETOOBIG;
		memcpy(name, a->name, a->name_len);
		name[a->name_len] = 0;
		rc = mdt_policy_record_set_string(r, name, a->value,
		    a->value_len);
	}
	return rc != 0 ? rc : mdt_policy_record_end(r);
}

/* context.time: datetime("YYYY-MM-DDTHH:MM:SS.mmmZ"), the clock now. */
static int
set_time(mdt_policy_record *r)
{
	int64_t ms = brk_now_ms();
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char buf[40];
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(ms % 1000));
	return mdt_policy_record_set_extension(r, "time", "datetime", buf);
}

static int
build_context(mdt_policy_record *r, const struct brk_pctx *p)
{
	mdt_entity_uid cl = uid("Mandate::Clinician", p->clinician);
	mdt_entity_uid pt = uid("Mandate::Patient", p->patient);
	const char *boundary = p->boundary ? p->boundary : "none";
	const char *tool = p->tool ? p->tool : "";
	const char *hash = p->request_hash ? p->request_hash : "";

	mdt_policy_record_reset(r);
	if (mdt_policy_record_set_entity(r, "clinician", &cl) ||
	    mdt_policy_record_set_entity(r, "patient", &pt) ||
	    mdt_policy_record_set_string(r, "purpose", p->purpose,
	    strlen(p->purpose)) ||
	    mdt_policy_record_set_bool(r, "breakGlass",
	    strcmp(p->purpose, "ETREAT") == 0) ||
	    mdt_policy_record_set_long(r, "depth", p->depth) ||
	    set_chain(r, p) ||
	    mdt_policy_record_set_long(r, "children", p->children) ||
	    mdt_policy_record_set_string(r, "tool", tool, strlen(tool)) ||
	    set_args(r, p) ||
	    mdt_policy_record_set_string(r, "boundary", boundary,
	    strlen(boundary)) ||
	    mdt_policy_record_set_string(r, "requestHash", hash,
	    strlen(hash)) ||
	    set_approval(r, p) ||
	    set_time(r) ||
	    mdt_policy_record_set_string(r, "taskId", p->task_id,
	    strlen(p->task_id)))
		return -MDT_EPOLICY;
	return 0;
}

/* A per-request entity for a FHIR resource: type, id, patient, and the
 * patient as parent. */
static int
add_resource(struct brk_worker *w, const struct brk_pctx *p)
{
	mdt_entity_uid u = uid("Mandate::Resource", p->res_id);
	mdt_entity_uid pt = uid("Mandate::Patient", p->res_patient ?
	    p->res_patient : p->patient);
	const char *rid = p->fhir_id != NULL ? p->fhir_id : "";
	mdt_policy_record *a = w->attrs;

	mdt_policy_record_reset(a);
	if (mdt_policy_record_set_string(a, "type", p->fhir_type,
	    strlen(p->fhir_type)) ||
	    mdt_policy_record_set_string(a, "id", rid, strlen(rid)) ||
	    mdt_policy_record_set_entity(a, "patient", &pt))
		return -MDT_EPOLICY;
	return mdt_entity_store_add(w->overlay, &u, a, &pt, 1);
}

int
brk_policy_overlay(struct brk_worker *w, const struct brk_snapshot *s)
{
	if (w->overlay != NULL && w->overlay_base == s->entities) {
		mdt_entity_store_clear(w->overlay);
		return 0;
	}
	mdt_entity_store_free(w->overlay);
	w->overlay = NULL;
	w->overlay_base = s->entities;
	return mdt_entity_store_new_overlay(&w->overlay, s->entities);
}

/* Joins the answer's reasons as a JSON array and a comma list. */
void
brk_policy_reasons(const mdt_policy_answer *ans, char *json, size_t jlen, char *list,
    size_t llen)
{
	size_t n = mdt_policy_answer_reason_count(ans), jo = 0, lo = 0;
	char esc[256];

	jo += (size_t)snprintf(json, jlen, "[");
	list[0] = 0;
	for (size_t i = 0; i < n && jo < jlen && lo < llen; i++) {
		const char *id = mdt_policy_answer_reason(ans, i);
		brk_json_escape(id, esc, sizeof(esc));
		jo += (size_t)snprintf(json + jo, jlen - jo, "%s\"%s\"",
		    i ? "," : "", esc);
		lo += (size_t)snprintf(list + lo, llen - lo, "%s%s",
		    i ? "," : "", id);
	}
	if (jo < jlen)
		snprintf(json + jo, jlen - jo, "]");
}

/*
 * Keeps the request just evaluated on c, as the audit record's replay
 * input (mdt_store_decision.request): the principal, action, resource,
 * context and the per-request resource entity, written in one pass (the
 * entity data of the snapshot is recorded by version, not per decision).
 * Best effort: a request that cannot be written out is recorded without
 * it (explain then says so).
 */
static void
keep_request(struct brk_worker *w, struct brk_ctx *c,
    const mdt_policy_request *req, const struct brk_pctx *p)
{
	mdt_entity_uid pt = uid("Mandate::Patient", p->res_patient ?
	    p->res_patient : p->patient);
	mdt_policy_entity res = { .uid = uid("Mandate::Resource", p->res_id),
	    .attrs = w->attrs, .parents = &pt, .nparents = 1 };
	size_t len = 1024;
	int rc;

	/* sized for the common request; a retry up to the store's bound */
	for (;;) {
		mdt_free(c->cedar_request);
		if ((c->cedar_request = mdt__malloc(len)) == NULL)
			return;
		rc = mdt_policy_request_write_json(req, &res,
		    p->fhir_type != NULL ? 1u : 0u, c->cedar_request, len, NULL);
		if (rc != -MDT_ETOOBIG || len > MDT_STORE_JSON_MAX)
			break;
		len = len * 4 <= MDT_STORE_JSON_MAX ? len * 4 :
		    MDT_STORE_JSON_MAX + 1;
	}
	if (rc != 0) {
		mdt_free(c->cedar_request);
		c->cedar_request = NULL;
	}
}

int
brk_policy_eval(struct brk_worker *w, struct brk_ctx *c,
    const struct brk_pctx *p, mdt_decision *decision, struct brk_deny *d,
    char *pjson, size_t plen)
{
	const struct brk_snapshot *s = c->snap;
	mdt_policy_request req = {
		.principal = uid(AGENT, p->principal),
		.action = uid("Mandate::Action", p->action),
		.resource = uid(p->res_type, p->res_id),
		.context = w->rec,
	};
	char list[BRK_DETAIL_MAX];
	int rc = brk_policy_overlay(w, s);

	*decision = MDT_DECISION_DENY;
	if (rc == 0)
		rc = build_context(w->rec, p);
	if (rc == 0 && p->fhir_type != NULL)
		rc = add_resource(w, p);
	if (rc == 0)
		rc = mdt_policy_evaluate(s->policies, w->overlay, &req, w->ans);
	if (rc == 0)
		keep_request(w, c, &req, p);
	if (rc != 0) {
		snprintf(pjson, plen, "[]");
		brk_deny_set(d, -MDT_EPOLICY, "policy.error",
		    "policy evaluation failed: %s", mdt_strerror(rc));
		return -1;
	}
	*decision = mdt_policy_answer_decision(w->ans);
	brk_policy_reasons(w->ans, pjson, plen, list, sizeof(list));
	snprintf(d->policies, sizeof(d->policies), "%s", pjson);
	snprintf(d->plist, sizeof(d->plist), "%s", list);
	/*
	 * Cedar skips a policy whose condition errors, so an erroring forbid
	 * would silently stop guarding.  Fail closed: any error is a deny.
	 */
	if (*decision != MDT_DECISION_DENY &&
	    mdt_policy_answer_error_count(w->ans) > 0) {
		*decision = MDT_DECISION_DENY;
		brk_deny_set(d, -MDT_EPOLICY, "policy.error",
		    "%zu policies errored during evaluation; denied",
		    (size_t)mdt_policy_answer_error_count(w->ans));
		return 0;
	}
	if (*decision == MDT_DECISION_DENY)
		brk_deny_set(d, -MDT_EDENIED, "policy.deny", "%s%s%s",
		    list[0] ? "forbidden by " : "no policy permits this",
		    list, mdt_policy_answer_error_count(w->ans) > 0 ?
		    " (some policies errored)" : "");
	else if (*decision == MDT_DECISION_STEP_UP)
		brk_deny_set(d, -MDT_ESTEPUP, "step_up.required",
		    "held for clinician approval by %s", list);
	return 0;
}

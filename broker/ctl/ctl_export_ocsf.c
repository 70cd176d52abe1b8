/*
 * A decision as an OCSF 1.3.0 event of class API Activity [6003]
 * (category Application Activity [6]).  An authorization decision is
 * one request, by an agent acting for a clinician, to perform an API
 * operation on a patient's resources, with an outcome: API Activity
 * carries exactly that (actor with its user and authorization results,
 * the API operation, the source endpoint, the resources, the status).
 * Authorize Session [3003] reports privileges given to a new login
 * session, not a decision on one request.  docs/security-teams.md gives
 * the mapping field by field.
 */
#include <stdio.h>
#include <string.h>

#include <mandate/mandate.h>

#include "ctl_evidence.h"

#define OCSF_CLASS 6003
#define OCSF_CATEGORY 6

/* activity_id from the action letter: Create 1, Read 2 (read and
 * search), Update 3, Delete 4, Other 99 (tools, task operations). */
static int
activity(const char *action, const char **name)
{
	static const struct {
		const char *letter, *name;
		int id;
	} map[] = {{"c", "Create", 1}, {"r", "Read", 2}, {"s", "Read", 2},
	    {"u", "Update", 3}, {"d", "Delete", 4}};

	for (size_t i = 0; action != NULL && i < sizeof(map) / sizeof(map[0]);
	    i++)
		if (strcmp(action, map[i].letter) == 0) {
			*name = map[i].name;
			return map[i].id;
		}
	*name = "Other";
	return 99;
}

/* Informational for an allow, Low for a refusal or a step-up, Medium
 * for what a reviewer must see (break-the-glass, review, a widening
 * attempt), High when evaluation failed. */
static int
severity(const mdt_store_decision *d, const char *code, const char **name)
{
	static const char *const names[] = {"Unknown", "Informational", "Low",
	    "Medium", "High"};
	int s = d->verdict == MDT_STORE_ALLOW ? 1 : 2;

	if ((d->flags & (MDT_STORE_FLAG_BREAK_GLASS | MDT_STORE_FLAG_REVIEW))
	    || strcmp(code, "scope.widen") == 0)
		s = 3;
	if (d->verdict == MDT_STORE_ERROR)
		s = 4;
	*name = names[s];
	return s;
}

static int
status(const mdt_store_decision *d, const char **name)
{
	switch (d->verdict) {
	case MDT_STORE_ALLOW:
		*name = "Success";
		return 1;
	case MDT_STORE_STEP_UP:
		*name = "Step-up required";
		return 99;
	default:
		*name = "Failure";
		return 2;
	}
}

/* Sets key to a string, leaving it out when s is NULL. */
static void
set_str(json_t *o, const char *key, const char *s)
{
	if (s != NULL)
		json_object_set_new(o, key, json_string(s));
}

/* One authorization result per determining policy (none: the verdict
 * alone). */
static json_t *
authorizations(const mdt_store_decision *d, json_t *policies)
{
	const char *verdict = mdt_store_verdict_name(d->verdict);
	json_t *out = json_array(), *p;
	size_t i;

	json_array_foreach(policies, i, p) {
		json_t *pol = json_object();
		set_str(pol, "uid", json_string_value(p));
		set_str(pol, "name", json_string_value(p));
		set_str(pol, "version", d->policy_hash);
		json_object_set_new(pol, "is_applied", json_true());
		json_array_append_new(out, json_pack("{s:s,s:o}", "decision",
		    verdict, "policy", pol));
	}
	if (json_array_size(out) == 0)
		json_array_append_new(out, json_pack("{s:s}", "decision",
		    verdict));
	return out;
}

/* The acting agent's endpoint, with every hop of the chain as an
 * agent, orchestrator first. */
static json_t *
source(const char *acting, json_t *chain)
{
	json_t *ep = json_object(), *list = json_array(), *hop;
	size_t i;

	set_str(ep, "uid", acting != NULL ? acting : "unknown");
	set_str(ep, "name", acting != NULL ? acting : "unknown");
	json_array_foreach(chain, i, hop) {
		json_t *a = json_pack("{s:O,s:O,s:i,s:s}", "uid", hop, "name",
		    hop, "type_id", 99, "type", "AI agent");
		json_array_append_new(list, a);
	}
	if (json_array_size(list) > 0)
		json_object_set_new(ep, "agent_list", list);
	else
		json_decref(list);
	return ep;
}

/* The patient and the resource acted on. */
static json_t *
resources(const mdt_store_decision *d)
{
	json_t *out = json_array();
	char type[64];

	if (d->patient != NULL)
		json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "type",
		    "Patient", "uid", d->patient, "name", d->patient));
	if (d->resource != NULL) {
		size_t n = strcspn(d->resource, "/?");
		snprintf(type, sizeof(type), "%.*s", (int)n, d->resource);
		json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "type",
		    n > 0 ? type : "resource", "uid", d->resource, "name",
		    d->resource));
	}
	return out;
}

static json_t *
actor(const mdt_store_decision *d, const char *acting, json_t *chain,
    json_t *policies)
{
	json_t *a = json_object();

	if (d->clinician != NULL)
		json_object_set_new(a, "user", json_pack("{s:s,s:s,s:i,s:s}",
		    "uid", d->clinician, "name", d->clinician, "type_id", 1,
		    "type", "User"));
	set_str(a, "app_uid", acting);
	set_str(a, "app_name", acting);
	if (json_array_size(chain) > 1)
		set_str(a, "invoked_by",
		    json_string_value(json_array_get(chain, 0)));
	else if (acting == NULL && d->clinician == NULL)
		set_str(a, "invoked_by", "mandated"); /* the broker's own */
	json_object_set_new(a, "authorizations", authorizations(d, policies));
	return a;
}

static json_t *
metadata(const mdt_store_decision *d, const char *uid)
{
	json_t *m = json_pack("{s:s,s:{s:s,s:s,s:s},s:s,s:I,s:s}", "version",
	    CTL_OCSF_VERSION, "product", "name", "Mandate", "vendor_name",
	    "Mandate", "version", mdt_version(), "uid", uid, "sequence",
	    (json_int_t)d->seq, "log_name", "decisions");
	set_str(m, "correlation_uid", d->task_id);
	return m;
}

static json_t *
unmapped(const mdt_store_decision *d, json_t *chain, json_t *policies)
{
	static const char *const flag_names[] = {"break_glass", "review",
	    "approved", "replay"};
	json_t *u = json_object(), *flags = json_array();

	for (unsigned i = 0; i < 4; i++)
		if (d->flags & (1u << i))
			json_array_append_new(flags, json_string(flag_names[i]));
	json_object_set_new(u, "verdict",
	    json_string(mdt_store_verdict_name(d->verdict)));
	json_object_set_new(u, "flags", flags);
	json_object_set_new(u, "reasons", ctl_json_field(d->reasons, "null"));
	json_object_set(u, "policy_ids", policies);
	json_object_set(u, "agent_chain", chain);
	set_str(u, "policy_hash", d->policy_hash);
	set_str(u, "purpose", d->purpose);
	set_str(u, "task", d->task_id);
	set_str(u, "token", d->token_id);
	set_str(u, "action", d->action);
	set_str(u, "request_id", d->request_id);
	return u;
}

static void
set_message(json_t *ev, const mdt_store_decision *d, const char *acting,
    const char *why)
{
	char msg[4 * MDT_STORE_FIELD_MAX];

	snprintf(msg, sizeof(msg), "%s %s %s%s%s by %s for %s (%s)",
	    mdt_store_verdict_name(d->verdict), d->operation,
	    d->action ? d->action : "", d->resource ? " " : "",
	    d->resource ? d->resource : "", acting ? acting : "?",
	    d->clinician ? d->clinician : "?", why);
	json_object_set_new(ev, "message", json_string(msg));
}

json_t *
ctl_ocsf_event(const mdt_store_decision *d)
{
	json_t *chain = ctl_json_field(d->agent_chain, "[]");
	json_t *policies = ctl_json_field(d->policy_ids, "[]");
	const char *aname, *sname, *stname, *acting = ctl_acting_agent(d, chain);
	char code[128], why[1024], tname[64], uid[32];
	int act = activity(d->action, &aname);
	json_t *ev;

	ctl_reason_code(d, code, sizeof(code));
	ctl_reason_text(d, why, sizeof(why));
	snprintf(uid, sizeof(uid), "%llu", (unsigned long long)d->seq);
	snprintf(tname, sizeof(tname), "API Activity: %s", aname);
	ev = json_pack("{s:i,s:s,s:i,s:s,s:i,s:s,s:i,s:s,s:I}", "activity_id",
	    act, "activity_name", aname, "category_uid", OCSF_CATEGORY,
	    "category_name", "Application Activity", "class_uid", OCSF_CLASS,
	    "class_name", "API Activity", "type_uid", OCSF_CLASS * 100 + act,
	    "type_name", tname, "time", (json_int_t)d->time_ms);
	json_object_set_new(ev, "severity_id", json_integer(severity(d, code,
	    &sname)));
	json_object_set_new(ev, "severity", json_string(sname));
	json_object_set_new(ev, "status_id", json_integer(status(d, &stname)));
	json_object_set_new(ev, "status", json_string(stname));
	json_object_set_new(ev, "status_code", json_string(code[0] ? code :
	    mdt_store_verdict_name(d->verdict)));
	json_object_set_new(ev, "status_detail", json_string(why));
	set_message(ev, d, acting, why);
	json_object_set_new(ev, "metadata", metadata(d, uid));
	json_object_set_new(ev, "actor", actor(d, acting, chain, policies));
	json_object_set_new(ev, "api", json_pack("{s:s,s:{s:s},s:{s:s}}",
	    "operation", d->operation, "request", "uid", d->request_id ?
	    d->request_id : uid, "service", "name", "Mandate broker"));
	json_object_set_new(ev, "src_endpoint", source(acting, chain));
	json_object_set_new(ev, "resources", resources(d));
	json_object_set_new(ev, "unmapped", unmapped(d, chain, policies));
	json_decref(chain);
	json_decref(policies);
	return ev;
}

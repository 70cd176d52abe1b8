/*
 * A decision as a FHIR R4 AuditEvent following IHE Basic Audit Log
 * Patterns (BALP): a RESTful interaction on a patient's data (type
 * rest, subtype the interaction) with the clinician as the requesting
 * user agent, every hop of the agent chain as an agent (the acting one
 * as the client, Source Role ID), the broker as the source, the patient
 * and the resource as entities, the purpose of use and the outcome.
 * Task operations and tools, which are no FHIR interaction, are typed
 * with their Mandate operation.  docs/security-teams.md gives the
 * mapping.
 */
#include <stdio.h>
#include <string.h>

#include <mandate/mandate.h>

#include "ctl_evidence.h"
#include "ctl_query.h"

#define SYS_EVENT "http://terminology.hl7.org/CodeSystem/audit-event-type"
#define SYS_REST "http://hl7.org/fhir/restful-interaction"
#define SYS_DCM "http://dicom.nema.org/resources/ontology/DCM"
#define SYS_PART "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
#define SYS_ROLECLASS "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
#define SYS_REASON "http://terminology.hl7.org/CodeSystem/v3-ActReason"
#define SYS_ENTITY "http://terminology.hl7.org/CodeSystem/audit-entity-type"
#define SYS_OROLE "http://terminology.hl7.org/CodeSystem/object-role"
#define SYS_SOURCE "http://terminology.hl7.org/CodeSystem/security-source-type"
#define SYS_URI "urn:ietf:rfc:3986"
#define SYS_OP "urn:mandate:operation"

static json_t *
coding(const char *system, const char *code, const char *display)
{
	json_t *c = json_pack("{s:s,s:s}", "system", system, "code", code);

	if (display != NULL)
		json_object_set_new(c, "display", json_string(display));
	return c;
}

static json_t *
concept(const char *system, const char *code, const char *display)
{
	return json_pack("{s:[o]}", "coding", coding(system, code, display));
}

/* v3 PurposeOfUse codes (ActReason) for the purposes Mandate knows;
 * BTG, break-the-glass, is an emergency treatment too. */
static json_t *
purpose_of_event(const char *purpose)
{
	static const struct {
		const char *code, *display;
	} known[] = {{"TREAT", "treatment"},
	    {"ETREAT", "Emergency Treatment"},
	    {"HPAYMT", "healthcare payment"},
	    {"HOPERAT", "healthcare operations"},
	    {"HRESCH", "healthcare research"},
	    {"CLINTRCH", "clinical trial research"},
	    {"PUBHLTH", "public health"},
	    {"HMARKT", "healthcare marketing"},
	    {"PATRQT", "patient requested"},
	    {"COVERAGE", "coverage under policy or program"},
	    {"BTG", "break the glass"}};
	json_t *cc;

	if (purpose == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(purpose, known[i].code) == 0) {
			cc = concept(SYS_REASON, known[i].code,
			    known[i].display);
			if (strcmp(purpose, "BTG") == 0)
				json_array_insert_new(json_object_get(cc,
				    "coding"), 0, coding(SYS_REASON, "ETREAT",
				    "Emergency Treatment"));
			json_object_set_new(cc, "text", json_string(purpose));
			return json_pack("[o]", cc);
		}
	return json_pack("[{s:s}]", "text", purpose);
}

/* C, R, U, D, or E (execute: search, tools, task operations). */
static const char *
action_code(const char *action)
{
	static const char *const crud = "crud";
	const char *p;

	if (action != NULL && strlen(action) == 1 &&
	    (p = strchr(crud, action[0])) != NULL)
		return (const char *[]){"C", "R", "U", "D"}[p - crud];
	return "E";
}

/* 0 success, 4 minor failure (refused, or held for a step-up), 8
 * serious failure (evaluation failed). */
static const char *
outcome(mdt_store_verdict v)
{
	return v == MDT_STORE_ALLOW ? "0" : v == MDT_STORE_ERROR ? "8" : "4";
}

static json_t *
who(const char *id)
{
	return json_pack("{s:{s:s,s:s},s:s}", "identifier", "system", SYS_URI,
	    "value", id, "display", id);
}

/* The clinician on whose behalf (the user, requestor), then each hop of
 * the chain from the orchestrator; the last hop made the request. */
static json_t *
agents(const mdt_store_decision *d, json_t *chain, const char *acting)
{
	const char *utype = strcmp(action_code(d->action), "R") == 0 ||
	    strcmp(action_code(d->action), "E") == 0 ? "IRCP" : "AGNT";
	json_t *out = json_array(), *hop;
	size_t i, n = json_array_size(chain);

	if (d->clinician != NULL)
		json_array_append_new(out, json_pack("{s:o,s:o,s:b}", "type",
		    strcmp(utype, "IRCP") == 0 ? concept(SYS_PART, "IRCP",
		    "information recipient") : concept(SYS_ROLECLASS, "AGNT",
		    "agent"), "who", json_pack("{s:{s:s},s:s}", "identifier",
		    "value", d->clinician, "display", d->clinician),
		    "requestor", 1));
	json_array_foreach(chain, i, hop) {
		const char *id = json_string_value(hop);
		int client = i + 1 == n;
		if (id == NULL)
			continue;
		json_array_append_new(out, json_pack("{s:o,s:o,s:b,s:[{s:s}]}",
		    "type", client ? concept(SYS_DCM, "110153",
		    "Source Role ID") : concept(SYS_ROLECLASS, "AGNT", "agent"),
		    "who", who(id), "requestor", 0, "role", "text", client ?
		    "acting agent" : i == 0 ? "orchestrator" :
		    "delegating agent"));
	}
	if (json_array_size(out) == 0 || (n == 0 && acting != NULL))
		json_array_append_new(out, json_pack("{s:o,s:o,s:b}", "type",
		    concept(SYS_DCM, "110153", "Source Role ID"), "who",
		    acting != NULL ? who(acting) : json_pack("{s:s}", "display",
		    "Mandate broker (mandated)"), "requestor", 0));
	return out;
}

/* A "Type/id" reference, or NULL for a search or a tool. */
static int
is_reference(const char *r)
{
	const char *slash = strchr(r, '/');

	return slash != NULL && slash != r && slash[1] != '\0' &&
	    strpbrk(r, "?# ") == NULL && strchr(slash + 1, '/') == NULL;
}

static json_t *
resource_entity(const mdt_store_decision *d)
{
	json_t *e;

	if (is_reference(d->resource))
		return json_pack("{s:{s:s},s:o,s:o}", "what", "reference",
		    d->resource, "type", coding(SYS_ENTITY, "2",
		    "System Object"), "role", coding(SYS_OROLE, "4",
		    "Domain Resource"));
	e = json_pack("{s:{s:s},s:o,s:o,s:s}", "what", "display", d->resource,
	    "type", coding(SYS_ENTITY, "2", "System Object"), "role",
	    strchr(d->resource, '?') ? coding(SYS_OROLE, "24", "Query") :
	    coding(SYS_OROLE, "4", "Domain Resource"), "name", d->resource);
	return e;
}

/* The decision's own record: the task, with why and under which
 * policies it was decided as details. */
static json_t *
task_entity(const mdt_store_decision *d, const char *why)
{
	json_t *e = json_pack("{s:{s:{s:s}},s:o,s:o,s:[]}", "what",
	    "identifier", "value", d->task_id ? d->task_id : "none", "type",
	    coding(SYS_ENTITY, "2", "System Object"), "role",
	    coding(SYS_OROLE, "20", "Job"), "detail");
	json_t *det = json_object_get(e, "detail");

	json_array_append_new(det, json_pack("{s:s,s:s}", "type", "verdict",
	    "valueString", mdt_store_verdict_name(d->verdict)));
	json_array_append_new(det, json_pack("{s:s,s:s}", "type", "reason",
	    "valueString", why));
	if (d->policy_ids != NULL && d->policy_ids[0] != '\0')
		json_array_append_new(det, json_pack("{s:s,s:s}", "type",
		    "policy_ids", "valueString", d->policy_ids));
	if (d->policy_hash != NULL && d->policy_hash[0] != '\0')
		json_array_append_new(det, json_pack("{s:s,s:s}", "type",
		    "policy_hash", "valueString", d->policy_hash));
	if (d->reasons != NULL && d->reasons[0] != '\0')
		json_array_append_new(det, json_pack("{s:s,s:s}", "type",
		    "reasons", "valueString", d->reasons));
	return e;
}

static json_t *
entities(const mdt_store_decision *d, const char *why)
{
	json_t *out = json_array();

	if (d->patient != NULL && d->patient[0] != '\0') {
		char ref[MDT_STORE_FIELD_MAX + 16];
		snprintf(ref, sizeof(ref), "%s%s", strncmp(d->patient,
		    "Patient/", 8) == 0 ? "" : "Patient/", d->patient);
		json_array_append_new(out, json_pack("{s:{s:s},s:o,s:o}",
		    "what", "reference", ref, "type", coding(SYS_ENTITY, "1",
		    "Person"), "role", coding(SYS_OROLE, "1", "Patient")));
	}
	if (d->resource != NULL && d->resource[0] != '\0')
		json_array_append_new(out, resource_entity(d));
	json_array_append_new(out, task_entity(d, why));
	return out;
}

static void
set_type(json_t *ev, const mdt_store_decision *d)
{
	const char *interaction = ctl_fhir_interaction(d->action);

	if (interaction != NULL && strcmp(d->operation, "authorize") == 0) {
		json_object_set_new(ev, "type", coding(SYS_EVENT, "rest",
		    "Restful Operation"));
		json_object_set_new(ev, "subtype", json_pack("[o]",
		    coding(SYS_REST, interaction, NULL)));
		return;
	}
	json_object_set_new(ev, "type", coding(SYS_OP, d->operation, NULL));
	if (d->action != NULL && d->action[0] != '\0')
		json_object_set_new(ev, "subtype", json_pack("[o]",
		    coding(SYS_OP, d->action, NULL)));
}

json_t *
ctl_fhir_audit_event(const mdt_store_decision *d)
{
	json_t *chain = ctl_json_field(d->agent_chain, "[]"), *ev, *pou;
	char id[40], when[40], why[1024];

	snprintf(id, sizeof(id), "mandate-%llu", (unsigned long long)d->seq);
	ctl_iso_time(d->time_ms, when, sizeof(when));
	ctl_reason_text(d, why, sizeof(why));
	ev = json_pack("{s:s,s:s}", "resourceType", "AuditEvent", "id", id);
	set_type(ev, d);
	json_object_set_new(ev, "action", json_string(action_code(d->action)));
	json_object_set_new(ev, "recorded", json_string(when));
	json_object_set_new(ev, "outcome", json_string(outcome(d->verdict)));
	json_object_set_new(ev, "outcomeDesc", json_string(why));
	if ((pou = purpose_of_event(d->purpose)) != NULL)
		json_object_set_new(ev, "purposeOfEvent", pou);
	json_object_set_new(ev, "agent", agents(d, chain,
	    ctl_acting_agent(d, chain)));
	json_object_set_new(ev, "source", json_pack("{s:s,s:{s:s},s:[o]}",
	    "site", "mandate", "observer", "display", "Mandate broker "
	    "(mandated)", "type", coding(SYS_SOURCE, "4",
	    "Application Server")));
	json_object_set_new(ev, "entity", entities(d, why));
	json_decref(chain);
	return ev;
}

json_t *
ctl_fhir_bundle(json_t *entries)
{
	json_t *list = json_array(), *r, *b;
	size_t i;

	b = json_pack("{s:s,s:s}", "resourceType", "Bundle", "type",
	    "collection");
	json_array_foreach(entries, i, r)
		json_array_append_new(list, json_pack("{s:O}", "resource", r));
	json_decref(entries);
	/* FHIR JSON has no empty arrays: no decision, no entry */
	if (json_array_size(list) > 0)
		json_object_set(b, "entry", list);
	json_decref(list);
	return b;
}

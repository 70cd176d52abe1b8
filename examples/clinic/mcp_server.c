/*
 * clinic-mcp: the clinic's FHIR data as an MCP server on stdio, meant to
 * sit behind mandate-mcp.  It trusts no caller: every tools/call must
 * carry, in params._meta, a single-action token minted for this server's
 * audience and a proof of possession by the token's holder, both checked
 * offline with the SDK's resource-server verifier against the resource
 * the call itself names (the tool mapping of docs/mcp.md, rebuilt here
 * from the arguments, never taken from the caller).  The verifier follows
 * the broker's revocations.
 *
 *   fhir-read    {patient, type, id}   one resource of the patient's
 *   fhir-search  {patient, type}       the patient's resources of a type
 *   export       {patient, destination} sends the patient's record out of
 *                                      the organisation (policy holds it
 *                                      for the clinician: a step-up)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/agent.h>

#include "fhir_store.h"
#include "mcp.h"

struct server {
	fhir_store *store;
	mdt_rs_verifier *v;
	mcp_writer out;
	size_t calls;
};

static const char *const patient_args[] = { "patient" };

static json_t *
tool(const char *name, const char *desc, json_t *props, json_t *required)
{
	return json_pack("{s:s,s:s,s:{s:s,s:o,s:o}}", "name", name,
	    "description", desc, "inputSchema", "type", "object",
	    "properties", props, "required", required);
}

static json_t *
tools_list(void)
{
	json_t *str = json_pack("{s:s}", "type", "string"), *list;

	list = json_pack("{s:[ooo]}", "tools",
	    tool("fhir-read", "Reads one FHIR resource of the patient.",
	    json_pack("{s:O,s:O,s:O}", "patient", str, "type", str, "id", str),
	    json_pack("[sss]", "patient", "type", "id")),
	    tool("fhir-search", "Lists the patient's FHIR resources of a "
	    "type (Observation, Condition, Encounter, Procedure).",
	    json_pack("{s:O,s:O}", "patient", str, "type", str),
	    json_pack("[ss]", "patient", "type")),
	    tool("export", "Sends the patient's record to an outside "
	    "organisation (needs the clinician's approval).",
	    json_pack("{s:O,s:O}", "patient", str, "destination", str),
	    json_pack("[ss]", "patient", "destination")));
	json_decref(str);
	return list;
}

/* The presentation in _meta, checked for exactly this call. */
static int
verify(struct server *s, const char *name, json_t *params, json_t *args,
    mdt_rs_grant *grant, char *err, size_t errlen)
{
	json_t *meta = json_object_get(params, "_meta");
	const char *tok = json_string_value(json_object_get(meta,
	    MCP_META_TOKEN));
	const char *proof = json_string_value(json_object_get(meta,
	    MCP_META_PROOF));
	char ref[MDT_SCOPE_REF_MAX + 1], patient[MDT_AGENT_ID_MAX];
	int has = mcp_patient_arg(args, patient_args, 1, patient,
	    sizeof(patient));
	mdt_rs_request rq = { .size = sizeof(rq), .action = "x",
	    .resource = ref, .patient = has ? patient : NULL };

	if (tok == NULL || proof == NULL)
		return snprintf(err, errlen, "no Mandate token and proof in "
		    "_meta"), -MDT_EAUTH;
	if (mcp_tool_ref(name, args, ref, sizeof(ref)) != 0)
		return snprintf(err, errlen, "unknown tool"), -MDT_EINVAL;
	return mdt_rs_verify(s->v, tok, proof, &rq, grant, err, errlen);
}

/* Runs the tool for the verified patient; the JSON text (malloc'd). */
static char *
run_tool(struct server *s, const char *name, json_t *args,
    const mdt_rs_grant *g)
{
	const char *type = json_string_value(json_object_get(args, "type"));
	const char *id = json_string_value(json_object_get(args, "id"));
	const char *dest = json_string_value(json_object_get(args,
	    "destination"));
	fhir_query q;
	char *out = NULL;

	memset(&q, 0, sizeof(q));
	if (type != NULL)
		snprintf(q.type, sizeof(q.type), "%s", type);
	if (strcmp(name, "fhir-read") == 0 && type != NULL && id != NULL) {
		snprintf(q.id, sizeof(q.id), "%s", id);
		/* the record decides whose it is, not the caller's claim */
		if (fhir_store_read(s->store, &q, &out) == 0 &&
		    strcmp(q.patient, g->patient) != 0) {
			free(out);
			return fhir_outcome("forbidden", "that resource belongs "
			    "to another patient");
		}
		return out != NULL ? out : fhir_outcome("not-found", "no such "
		    "resource");
	}
	if (strcmp(name, "fhir-search") == 0 && type != NULL) {
		if (strlen(g->patient) >= sizeof(q.patient))
			return fhir_outcome("invalid", "patient id too long");
		memcpy(q.patient, g->patient, strlen(g->patient) + 1);
		return fhir_store_search(s->store, &q, &out) == 0 ? out : NULL;
	}
	if (strcmp(name, "export") == 0 && dest != NULL) {
		json_t *r = json_pack("{s:s,s:s,s:s,s:s}", "status", "sent",
		    "patient", g->patient, "destination", dest, "task",
		    g->task_id);
		out = json_dumps(r, JSON_COMPACT);
		json_decref(r);
		return out;
	}
	return fhir_outcome("invalid", "missing or wrong arguments");
}

static json_t *
on_call(struct server *s, json_t *params)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	json_t *args = json_object_get(params, "arguments"), *res;
	char err[MDT_ERRMSG_MAX], text[MDT_ERRMSG_MAX + 64], *out;
	mdt_rs_grant g;
	int rc;

	if (name == NULL || (args != NULL && !json_is_object(args)))
		return NULL;
	if ((rc = verify(s, name, params, args, &g, err, sizeof(err))) != 0) {
		snprintf(text, sizeof(text), "clinic-mcp refused the "
		    "presentation: %s: %s", mdt_strerror(rc), err);
		return mcp_text_result(text, 1);
	}
	s->calls++;
	if ((out = run_tool(s, name, args, &g)) == NULL)
		return mcp_text_result("internal error", 1);
	res = mcp_text_result(out, 0);
	free(out);
	return res;
}

static json_t *
answer(struct server *s, mcp_msg *m)
{
	json_t *r;

	if (strcmp(m->method, "initialize") == 0)
		return mcp_result_msg(m->id, json_pack("{s:s,s:{s:{}},s:{s:s,"
		    "s:s}}", "protocolVersion", MCP_PROTOCOL_LATEST,
		    "capabilities", "tools", "serverInfo", "name", "clinic-mcp",
		    "version", "1.0"));
	if (strcmp(m->method, "ping") == 0)
		return mcp_result_msg(m->id, json_object());
	if (strcmp(m->method, "tools/list") == 0)
		return mcp_result_msg(m->id, tools_list());
	if (strcmp(m->method, "tools/call") == 0)
		return (r = on_call(s, m->params)) != NULL ?
		    mcp_result_msg(m->id, r) : mcp_error_msg(m->id,
		    MCP_INVALID_PARAMS, "name and arguments expected");
	return mcp_error_msg(m->id, MCP_METHOD_NOT_FOUND, "no such method");
}

static void
serve(struct server *s)
{
	mcp_reader r;
	const char *line;
	size_t len;
	int rc;

	if (mcp_reader_init(&r, 0, MCP_MESSAGE_MAX_DEFAULT) != 0)
		return;
	while ((rc = mcp_reader_next(&r, &line, &len)) != 1 && rc != -MDT_EIO) {
		mcp_msg m;
		char err[256];
		int code;
		json_t *a = NULL;
		if (rc != 0)
			continue;
		if ((code = mcp_msg_parse(line, len, MCP_MESSAGE_MAX_DEFAULT,
		    &m, err, sizeof(err))) != 0)
			a = mcp_error_msg(m.id, code, err);
		else if (m.kind == MCP_REQUEST)
			a = answer(s, &m);
		if (a != NULL)
			(void)mcp_write(&s->out, a);
		json_decref(a);
		mcp_msg_clear(&m);
	}
	mcp_reader_free(&r);
}

static const char usage[] =
"usage: clinic-mcp --data FILE --root-pub FILE --audience ID [--events URL]\n"
"  An MCP server on stdio with the tools fhir-read, fhir-search and export\n"
"  over the FHIR Bundle in FILE; every call must carry a Mandate token\n"
"  for audience ID and its proof in params._meta, verified offline\n"
"  against the broker key in --root-pub; --events follows revocations.\n";

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "root-pub", required_argument, NULL, 'k' },
		{ "audience", required_argument, NULL, 'a' },
		{ "events", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = NULL, *root = NULL, *aud = NULL, *events = NULL;
	struct server s;
	mdt_pubkey pk;
	char err[MDT_ERRMSG_MAX];
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'k': root = optarg; break;
		case 'a': aud = optarg; break;
		case 'e': events = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (data == NULL || root == NULL || aud == NULL) {
		fputs(usage, stderr);
		return 2;
	}
	memset(&s, 0, sizeof(s));
	if (fhir_store_load(data, &s.store) != 0 ||
	    mdt_pubkey_load(root, &pk, err, sizeof(err)) != 0) {
		fprintf(stderr, "clinic-mcp: cannot load %s or %s\n", data, root);
		fhir_store_free(s.store);
		return 1;
	}
	mdt_rs_verifier_opts vo = { .size = sizeof(vo), .broker_key = &pk,
	    .audience = aud, .events_url = events, .max_skew_s = 30 };
	if (mdt_rs_verifier_new(&vo, &s.v, err, sizeof(err)) != 0) {
		fprintf(stderr, "clinic-mcp: %s\n", err);
		fhir_store_free(s.store);
		return 1;
	}
	mcp_writer_init(&s.out, 1);
	serve(&s);
	mcp_writer_destroy(&s.out);
	mdt_rs_verifier_free(s.v);
	fhir_store_free(s.store);
	return 0;
}

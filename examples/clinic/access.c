/*
 * Guarded access for the clinic agents: runtime authorization at the
 * broker, then presentation of the single-action token and a proof of
 * possession to the FHIR gateway, narrated as it happens.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clinic.h"

int
clinic_check(const char *who, const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	printf("[%s] CHECK %s: %s -- ", who, name, ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return ok;
}

static const char *
decision_name(mdt_authz_decision d)
{
	static const char *const names[] = {"DENY", "ALLOW", "STEP-UP"};

	return (unsigned)d < 3 ? names[d] : "?";
}

/*
 * The permission letters of the demo, spelled out for the narrative; on a
 * tool the verb is the tool's name ("x" on tool/export is "export").
 */
const char *
clinic_action_word(const char *a, const char *resource)
{
	static const struct {
		const char *letter, *word;
	} words[] = {
		{"r", "read"}, {"s", "search"}, {"c", "create"},
		{"u", "update"}, {"d", "delete"}, {"x", "use"},
	};

	if (strcmp(a, "x") == 0 && resource != NULL &&
	    strncmp(resource, "tool/", 5) == 0 && resource[5] != '\0')
		return resource + 5;
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (strcmp(a, words[i].letter) == 0)
			return words[i].word;
	return a;
}

int
clinic_present(const char *who, mdt_task *t, const mdt_authz *az,
    const char *method, const char *url)
{
	static char token[MDT_AGENT_HEADER_MAX], proof[MDT_AGENT_HEADER_MAX];
	clinic_http_res res;
	int rv;

	if ((rv = mdt_task_present(t, az, 0, token, proof)) != 0) {
		clinic_log(who, "cannot present the token: %s", mdt_strerror(rv));
		return -1;
	}
	if (clinic_http(method, url, token, proof, &res) != 0) {
		clinic_log(who, "gateway %s unreachable", url);
		return -1;
	}
	clinic_log(who, "  gateway: HTTP %d for %s %s%s%.120s", res.status,
	    method, url, res.status == 200 ? "" : " -- ",
	    res.status == 200 ? "" : res.body);
	free(res.body);
	return res.status;
}

int
clinic_access(const char *who, mdt_task *t, const clinic_access_req *r,
    clinic_access_res *out)
{
	mdt_authz_request q = {.action = r->action, .resource = r->resource,
	    .patient = r->patient, .boundary = r->boundary,
	    .audience = r->audience, .wait_ms = r->wait_ms};
	char err[MDT_ERRMSG_MAX];
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = mdt_task_authorize_req(t, &q, &out->az, err,
	    sizeof(err))) != 0) {
		clinic_log(who, "authorize %s %s: no decision: %s", r->action,
		    r->resource, err);
		return -1;
	}
	out->decision = mdt_authz_decision_of(out->az);
	out->flags = mdt_authz_flags(out->az);
	snprintf(out->reason, sizeof(out->reason), "%s",
	    mdt_authz_reason(out->az));
	clinic_log(who, "broker: %s %s %s%s%s%s%s", decision_name(out->decision),
	    clinic_action_word(r->action, r->resource), r->resource,
	    out->reason[0] ? " -- " : "", out->reason,
	    mdt_authz_detail(out->az)[0] ? ": " : "", mdt_authz_detail(out->az));
	if (out->decision == MDT_AUTHZ_ALLOW && r->url != NULL)
		out->http_status = clinic_present(who, t, out->az,
		    r->method ? r->method : "GET", r->url);
	return 0;
}

/*
 * The access question: what an agent may do to a patient at this
 * instant.  Only a live broker can answer it (the admin `access`
 * operation, mdt_agent_access, which the broker records as a decision),
 * so the page asks the broker given with --broker, as the admin agent
 * given with --admin-id and --admin-key, and shows its answer as it is:
 * each open task with its token, clinician, ceiling and effective
 * scopes, and each action with the policy set's decision.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <mandate/agent.h>

#include "console_int.h"

#define ACCESS_TIMEOUT_MS 5000

static const char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "-";
}

static void
task_block(con_buf *b, json_t *t)
{
	size_t i;
	json_t *x;

	con_puts(b, "<h2>Task <a href=\"/task?id=");
	con_url(b, str(t, "task"));
	con_puts(b, "\">");
	con_esc(b, str(t, "task"));
	con_puts(b, "</a></h2><dl class=\"facts\">");
	con_fact(b, "Clinician", str(t, "clinician"));
	con_fact(b, "Purpose", str(t, "purpose"));
	con_fact(b, "Token scopes", str(t, "token_scopes"));
	con_fact(b, "Clinician's scopes now", str(t, "clinician_scopes"));
	con_fact(b, "Agent's ceiling", str(t, "ceiling"));
	con_fact(b, "Effective", str(t, "effective_scopes"));
	con_puts(b, "</dl><table class=\"access\"><thead><tr><th>Decision</th>"
	    "<th>Action</th><th>Cedar action</th><th>Resource</th>"
	    "<th>Policies</th></tr></thead><tbody>\n");
	json_array_foreach(json_object_get(t, "actions"), i, x) {
		char *p = json_dumps(json_object_get(x, "policies"),
		    JSON_COMPACT);
		con_printf(b, "<tr class=\"v-%s\"><td class=\"verdict\">",
		    strcmp(str(x, "decision"), "allow") == 0 ? "allow" :
		    strcmp(str(x, "decision"), "step_up") == 0 ? "step_up" :
		    "deny");
		con_esc(b, str(x, "decision"));
		con_puts(b, "</td><td>");
		con_esc(b, str(x, "action"));
		con_puts(b, "</td><td>");
		con_esc(b, str(x, "cedar_action"));
		con_puts(b, "</td><td>");
		con_esc(b, str(x, "resource"));
		con_puts(b, "</td><td><code>");
		con_esc(b, p ? p : "[]");
		con_puts(b, "</code></td></tr>\n");
		free(p);
	}
	con_puts(b, "</tbody></table>\n");
}

static void
answer(con_buf *b, const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je), *t;
	char when[48];
	size_t i;

	if (j == NULL) {
		con_puts(b, "<p class=\"error\">The broker's answer is not "
		    "JSON.</p>");
		return;
	}
	con_iso_time(json_integer_value(json_object_get(j, "time_ms")), when,
	    sizeof(when));
	con_puts(b, "<dl class=\"facts\" id=\"access-answer\">");
	con_fact(b, "Agent", str(j, "agent"));
	con_fact(b, "Patient", str(j, "patient"));
	con_fact(b, "At (UTC)", when);
	con_fact(b, "Policy set", str(j, "policy_hash"));
	con_puts(b, "</dl>\n");
	if (json_array_size(json_object_get(j, "tasks")) == 0)
		con_puts(b, "<p id=\"no-task\">No open task: nothing is "
		    "allowed.</p>\n");
	json_array_foreach(json_object_get(j, "tasks"), i, t)
		task_block(b, t);
	json_decref(j);
}

/* Asks the broker; its JSON into *json (caller frees with mdt_free). */
static int
ask(const con_app *a, const char *agent, const char *patient, char **json,
    char *err, size_t errlen)
{
	mdt_agent_opts ao = MDT_AGENT_OPTS_INIT;
	mdt_agent *conn = NULL;
	int rc;

	ao.url = a->broker_url;
	ao.spiffe_id = a->admin_id;
	ao.key = a->admin_key;
	ao.timeout_ms = ACCESS_TIMEOUT_MS;
	rc = mdt_agent_connect(&ao, &conn, err, errlen);
	if (rc == 0)
		rc = mdt_agent_access(conn, agent, patient, json, err, errlen);
	mdt_agent_close(conn);
	return rc;
}

static void
form(con_buf *b, const char *agent, const char *patient)
{
	con_puts(b, "<form method=\"get\" action=\"/access\" id=\"access\" "
	    "class=\"filters\"><label for=\"f-agent\">Agent</label>"
	    "<input name=\"agent\" id=\"f-agent\" value=\"");
	con_esc(b, agent);
	con_puts(b, "\"><label for=\"f-patient\">Patient</label>"
	    "<input name=\"patient\" id=\"f-patient\" value=\"");
	con_esc(b, patient);
	con_puts(b, "\"><button type=\"submit\" id=\"ask\">Ask the broker"
	    "</button></form>\n<p class=\"hint\">Asked of the live broker "
	    "(it records the question); at a past instant, use "
	    "<code>mandatectl access --at</code>.</p>\n");
}

void
con_page_access(con_app *a, const con_req *r, con_resp *out)
{
	char agent[CON_VALUE_MAX] = "", patient[CON_VALUE_MAX] = "";
	char err[MDT_ERRMSG_MAX] = "", *json = NULL;
	int ga = con_form_get(r->query, r->query_len, "agent", agent,
	    sizeof(agent));
	int gp = con_form_get(r->query, r->query_len, "patient", patient,
	    sizeof(patient));
	int rc;

	con_page_open(&out->body, "Access now", 1);
	form(&out->body, agent, patient);
	if (ga < 0 || gp < 0) {
		out->status = 400;
		con_puts(&out->body, "<p class=\"error\">agent, patient: not "
		    "valid values</p>");
	} else if (a->broker_url == NULL) {
		con_puts(&out->body, "<p id=\"access-status\">Not available: "
		    "start mandate-console with --broker, --admin-id and "
		    "--admin-key to ask a live broker.</p>");
	} else if (ga == 1 && gp == 1 && agent[0] && patient[0]) {
		rc = ask(a, agent, patient, &json, err, sizeof(err));
		if (rc == 0) {
			answer(&out->body, json);
		} else {
			con_puts(&out->body, "<p class=\"error\" "
			    "id=\"access-status\">The broker did not answer: ");
			con_esc(&out->body, mdt_strerror(rc));
			con_puts(&out->body, ": ");
			con_esc(&out->body, err);
			con_puts(&out->body, "</p>");
		}
		mdt_free(json);
	}
	con_page_close(&out->body);
}

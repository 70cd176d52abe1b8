/*
 * clinic-orchestrator: acts for clinician dr-alice (launch assertions
 * from the development identity provider).  Opens tasks, dispatches work
 * to the summarizer and the prior-authorization agent, approves the
 * export step-up as the clinician, opens a break-the-glass task, completes
 * everything (revoking every token) and prints the delegation graph.
 * CHECK lines state the outcomes the demo expects.
 *
 * Uses only the public Mandate headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "clinic.h"

#define WHO "orchestrator"
#define STEP_UP_EVENT_MS 20000
#define RESULT_WAIT_MS 30000

#define SUMMARIZER "spiffe://clinic.example/agent/summarizer"
#define PRIORAUTH "spiffe://clinic.example/agent/priorauth"

typedef struct orch {
	const clinic_args *args;
	mdt_agent *a;
	mdt_event_sub *ev;
	char *assert1, *assert3, *emerg3;
	int failures;
} orch;

static void
check(orch *o, const char *name, int ok, const char *detail)
{
	if (!clinic_check(WHO, name, ok, "%s", detail))
		o->failures++;
}

static int
open_task(orch *o, const char *assertion, const char *patient,
    const char *purpose, const char *scopes, mdt_task **out, char *err,
    size_t errlen)
{
	mdt_open_opts op = {.assertion = assertion, .patient = patient,
	    .purpose = purpose, .scopes = scopes};
	int rv;

	clinic_log(WHO, "opening a task for dr-alice: patient %s, purpose %s",
	    patient, purpose);
	rv = mdt_agent_open_task(o->a, &op, out, err, errlen);
	if (rv == 0)
		clinic_log(WHO, "  task %s granted: %s", mdt_task_id(*out),
		    mdt_task_scopes(*out));
	else
		clinic_log(WHO, "  refused: %s", err);
	return rv;
}

static int
dispatch(orch *o, mdt_task *t, const char *to, const char *scopes,
    const char *payload, char child[MDT_AGENT_ID_MAX])
{
	char err[MDT_ERRMSG_MAX];
	int rv = mdt_task_dispatch(t, to, scopes, (const uint8_t *)payload,
	    strlen(payload), child, err, sizeof(err));

	clinic_log(WHO, "dispatch to %s (%s): %s", to, scopes,
	    rv == 0 ? child : err);
	if (rv != 0)
		o->failures++;
	return rv;
}

static void
wait_result(orch *o, mdt_task *t, const char *child, const char *name)
{
	char err[MDT_ERRMSG_MAX];
	uint8_t *res = NULL;
	size_t len = 0;
	int rv = mdt_task_wait_result(t, child, RESULT_WAIT_MS, &res, &len,
	    err, sizeof(err));

	if (rv == 0)
		clinic_log(WHO, "result of %s: %.*s", child, (int)len,
		    (char *)res);
	check(o, name, rv == 0, rv == 0 ? "result received" : err);
	mdt_free(res);
}

/*
 * The clinician's act: the orchestrator shows dr-alice the step-up (it
 * writes its id to ACTS/stepup.id) and her UI answers with a fresh
 * assertion from the identity provider naming it (ACTS/stepup.jwt).  The
 * launch assertion the orchestrator holds is not an approval.
 */
static char *
ask_clinician(orch *o, const char *stepup)
{
	char path[1024], tmp[1100];
	FILE *f;
	char *jwt = NULL;

	snprintf(path, sizeof(path), "%s/stepup.id", o->args->acts);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return NULL;
	fprintf(f, "%s\n", stepup);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/stepup.jwt", o->args->acts);
	for (int i = 0; i < STEP_UP_EVENT_MS / 100 && jwt == NULL; i++) {
		jwt = clinic_read_file(path);
		if (jwt == NULL) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	return jwt;
}

/* As the clinician's UI: wait for the parked export, then approve it. */
static void
approve_export(orch *o)
{
	char err[MDT_ERRMSG_MAX];
	mdt_event e;
	char *act;
	int found = 0, rv;

	for (int i = 0; i < STEP_UP_EVENT_MS / 100 && !found; i++)
		found = mdt_event_sub_next(o->ev, 100, &e) == 0 &&
		    e.kind == MDT_EVENT_STEP_UP;
	check(o, "export-held-for-step-up", found, found ? e.request_id :
	    "no step-up request was published");
	if (!found)
		return;
	clinic_log(WHO, "dr-alice is asked: %s wants to %s (%s on %s) for %s "
	    "(purpose %s)", e.agent, clinic_action_word(e.action, e.resource),
	    e.action, e.resource, e.patient, e.purpose);
	rv = mdt_agent_decide_step_up(o->a, e.request_id, o->assert1, 1,
	    "the launch assertion, not an approval", err, sizeof(err));
	check(o, "approval-without-act-refused", rv != 0, rv != 0 ? err :
	    "the launch assertion was taken as the clinician's approval");
	if ((act = ask_clinician(o, e.request_id)) == NULL) {
		check(o, "clinician-approved", 0, "dr-alice's UI did not answer");
		return;
	}
	rv = mdt_agent_decide_step_up(o->a, e.request_id, act, 1,
	    "prior authorization for the scheduled colonoscopy", err,
	    sizeof(err));
	free(act);
	check(o, "clinician-approved", rv == 0, rv == 0 ?
	    "dr-alice approved this one export" : err);
}

/* Treatment task for pat-001: summary, coding, prior authorization. */
static mdt_task *
treat_pat001(orch *o)
{
	char s[MDT_AGENT_ID_MAX], p[MDT_AGENT_ID_MAX], err[MDT_ERRMSG_MAX];
	mdt_task *t = NULL;
	int rv;

	rv = open_task(o, o->assert1, "pat-001", "TREAT",
	    "patient/*.rs tool/export.x", &t, err, sizeof(err));
	check(o, "open-task", rv == 0, rv == 0 ? "dr-alice is on pat-001's "
	    "care team" : err);
	if (rv != 0)
		return NULL;
	if (dispatch(o, t, SUMMARIZER, "patient/Patient.rs "
	    "patient/Observation.rs patient/Condition.rs patient/Encounter.rs "
	    "patient/Procedure.rs", "summarize the chart for the visit", s) != 0 ||
	    dispatch(o, t, PRIORAUTH, "patient/Procedure.rs "
	    "patient/Condition.rs tool/export.x",
	    "prior authorization for the colonoscopy", p) != 0)
		return t;
	approve_export(o);
	wait_result(o, t, p, "priorauth-result");
	wait_result(o, t, s, "summary-result");
	return t;
}

/* pat-003 is outside dr-alice's care teams: TREAT refused, ETREAT not. */
static mdt_task *
break_glass(orch *o)
{
	char child[MDT_AGENT_ID_MAX], err[MDT_ERRMSG_MAX];
	mdt_task *t = NULL;
	int rv;

	rv = open_task(o, o->assert3, "pat-003", "TREAT", "patient/*.rs", &t,
	    err, sizeof(err));
	check(o, "care-team-refused", rv == -MDT_EDENIED, rv != 0 ? err :
	    "opened a TREAT task outside the care team");
	mdt_task_free(t);
	t = NULL;
	rv = open_task(o, o->assert3, "pat-003", "ETREAT", "patient/*.rs", &t,
	    err, sizeof(err));
	check(o, "emergency-by-software-refused", rv != 0, rv != 0 ? err :
	    "software declared an emergency with a plain launch assertion");
	mdt_task_free(t);
	t = NULL;
	rv = open_task(o, o->emerg3, "pat-003", "ETREAT", "patient/*.rs", &t,
	    err, sizeof(err));
	check(o, "break-glass-open", rv == 0, rv == 0 ? "emergency access "
	    "declared by dr-alice, opened, flagged for review" : err);
	if (rv != 0)
		return NULL;
	if (dispatch(o, t, SUMMARIZER, "patient/Patient.rs",
	    "emergency summary", child) == 0)
		wait_result(o, t, child, "break-glass-result");
	return t;
}

static void
complete(orch *o, mdt_task *t, const char *name)
{
	char err[MDT_ERRMSG_MAX];
	int rv;

	if (t == NULL)
		return;
	rv = mdt_task_complete(t, NULL, 0, err, sizeof(err));
	clinic_log(WHO, "completing task %s: %s", mdt_task_id(t),
	    rv == 0 ? "done, every token on it revoked" : err);
	check(o, name, rv == 0, rv == 0 ? mdt_task_id(t) : err);
}

static void
print_graph(orch *o, mdt_task *t)
{
	char err[MDT_ERRMSG_MAX], *js = NULL;
	json_error_t je;
	json_t *doc;
	int rv = mdt_agent_task_graph(o->a, mdt_task_id(t), &js, err,
	    sizeof(err));

	if (rv == 0 && (doc = json_loads(js, 0, &je)) != NULL) {
		clinic_log(WHO, "delegation graph of task %s:", mdt_task_id(t));
		clinic_print_node(doc, 1);
		json_decref(doc);
	} else if (rv == 0) {
		rv = -MDT_EPROTO;
		snprintf(err, sizeof(err), "tree JSON: %s", je.text);
	}
	check(o, "delegation-graph", rv == 0, rv == 0 ? "printed" : err);
	mdt_free(js);
}

int
main(int argc, char **argv)
{
	clinic_args args = {0};
	orch o = {0};
	char err[MDT_ERRMSG_MAX];
	mdt_task *t1, *t3;

	int rc = clinic_parse_opts(argc, argv, clinic_arg_table, &args,
	    "usage: clinic-orchestrator --broker URL --events URL --key FILE "
	    "--id SPIFFE-ID --assertion-pat-001 FILE --assertion-pat-003 FILE "
	    "--emergency-pat-003 FILE --acts DIR");

	if (rc != 0)
		return rc > 0 ? 0 : 2;
	o.args = &args;
	if ((o.assert1 = clinic_read_file(args.assert1 ? args.assert1 : "")) ==
	    NULL || (o.assert3 = clinic_read_file(args.assert3 ?
	    args.assert3 : "")) == NULL || (o.emerg3 = clinic_read_file(
	    args.emerg3 ? args.emerg3 : "")) == NULL || args.events == NULL ||
	    args.acts == NULL) {
		fprintf(stderr, "clinic-orchestrator: assertion files, --acts "
		    "and --events are required\n");
		return 2;
	}
	if (mdt_event_sub_open(args.events, &o.ev, err, sizeof(err)) != 0 ||
	    clinic_connect(WHO, &args, &o.a) != 0)
		return 1;
	t1 = treat_pat001(&o);
	t3 = break_glass(&o);
	complete(&o, t3, "complete-break-glass");
	complete(&o, t1, "complete-task");
	if (t1 != NULL)
		print_graph(&o, t1);
	if (t3 != NULL)
		print_graph(&o, t3);
	mdt_task_free(t1);
	mdt_task_free(t3);
	mdt_agent_close(o.a);
	mdt_event_sub_close(o.ev);
	free(o.assert1);
	free(o.assert3);
	free(o.emerg3);
	return o.failures == 0 ? 0 : 1;
}

/*
 * clinic-agent: the three agents of the clinic example, one process per
 * role (--role summarizer | coder | priorauth).  Each receives scoped work
 * from the broker, asks for runtime authorization of every access,
 * presents the single-action tokens to the FHIR gateway, and narrates
 * what happened and why; CHECK lines state the outcomes the demo expects.
 *
 * Uses only the public Mandate headers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "clinic.h"

#define WORK_WAIT_MS 1000
#define STEP_UP_WAIT_MS 20000
#define RESULT_WAIT_MS 20000

typedef struct agent_ctx {
	const clinic_args *args;
	const char *who;
	mdt_agent *a;
	int done;          /* work items finished */
	int failures;
	mdt_task *held;    /* summarizer: task of the held late token */
	mdt_authz *late;   /* summarizer: a token kept past completion */
	char root[MDT_AGENT_ID_MAX];
} agent_ctx;

static void
url_of(const agent_ctx *c, char *buf, size_t len, const char *path)
{
	int n = snprintf(buf, len, "%s%s", c->args->gateway, path);

	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0'; /* an empty URL fails loudly at parse time */
}

static void
check(agent_ctx *c, const char *name, int ok, const char *detail)
{
	if (!clinic_check(c->who, name, ok, "%s", detail))
		c->failures++;
}

/* Authorizes and fetches `path` from the gateway; returns the status. */
static int
fetch_in(agent_ctx *c, mdt_task *t, const char *action, const char *resource,
    const char *patient, const char *path, clinic_access_res *res)
{
	char url[512];
	clinic_access_req r = {action, resource, patient, NULL, NULL, 0, "GET",
	    url};

	url_of(c, url, sizeof(url), path);
	if (clinic_access(c->who, t, &r, res) != 0)
		return -1;
	return res->http_status;
}

/*
 * Authorizes and fetches a resource of the task's own patient.  A search
 * names the patient itself, in a compartment parameter; an instance read
 * (Type/id) cannot, so the agent claims the task's patient for it and the
 * gateway checks the claim against the record.
 */
static int
fetch(agent_ctx *c, mdt_task *t, const char *action, const char *resource,
    const char *path, clinic_access_res *res)
{
	const char *claim = strchr(resource, '?') == NULL ?
	    mdt_task_patient(t) : NULL;

	return fetch_in(c, t, action, resource, claim, path, res);
}

/* ---- summarizer ---- */

static void
summarize_break_glass(agent_ctx *c, mdt_task *t)
{
	clinic_access_res res;
	char res_ref[128], path[160];

	snprintf(res_ref, sizeof(res_ref), "Patient/%s", mdt_task_patient(t));
	snprintf(path, sizeof(path), "/fhir/%s", res_ref);
	clinic_log(c->who, "emergency task %s for %s (purpose %s)",
	    mdt_task_id(t), mdt_task_patient(t), mdt_task_purpose(t));
	fetch(c, t, "r", res_ref, path, &res);
	check(c, "break-glass-read", res.decision == MDT_AUTHZ_ALLOW &&
	    res.http_status == 200 && (res.flags & MDT_AUTHZ_FLAG_REVIEW),
	    "read outside the care team under ETREAT: allowed, flagged for "
	    "review");
	mdt_authz_free(res.az);
}

static void
summarize_reads(agent_ctx *c, mdt_task *t, const char *pat)
{
	clinic_access_res res;
	char ref[128], path[160];
	int st;

	snprintf(ref, sizeof(ref), "Patient/%s", pat);
	snprintf(path, sizeof(path), "/fhir/%s", ref);
	st = fetch(c, t, "r", ref, path, &res);
	check(c, "read-in-scope", st == 200, "Patient read inside the "
	    "task's scope served by the gateway");
	mdt_authz_free(res.az);

	snprintf(ref, sizeof(ref), "Observation?subject=Patient/%s", pat);
	snprintf(path, sizeof(path), "/fhir/%s", ref);
	st = fetch(c, t, "s", ref, path, &res);
	check(c, "search-in-scope", st == 200, "Observation search served");
	if (res.az != NULL && st == 200) {
		url_of(c, path, sizeof(path), "/fhir/");
		strncat(path, ref, sizeof(path) - strlen(path) - 1);
		clinic_log(c->who, "re-presenting the same single-action token "
		    "(a replay)");
		st = clinic_present(c->who, t, res.az, "GET", path);
		check(c, "replay-refused", st == 403,
		    "a single-action token is accepted once");
	}
	mdt_authz_free(res.az);
}

static void
summarize_other_patient(agent_ctx *c, mdt_task *t, const char *pat)
{
	const char *other = strcmp(pat, "pat-002") == 0 ? "pat-001" : "pat-002";
	clinic_access_res res;
	char ref[128], path[160];

	snprintf(ref, sizeof(ref), "Patient/%s", other);
	snprintf(path, sizeof(path), "/fhir/%s", ref);
	clinic_log(c->who, "trying to read another patient (%s)", other);
	fetch_in(c, t, "r", ref, other, path, &res);
	check(c, "other-patient-refused", res.az != NULL &&
	    res.decision == MDT_AUTHZ_DENY && strcmp(res.reason, "patient") == 0,
	    "a task is bound to one patient");
	mdt_authz_free(res.az);
}

static void
summarize_delegate(agent_ctx *c, mdt_task *t)
{
	const char *want = "patient/Condition.rs patient/Procedure.rs "
	    "patient/Observation.rs";
	char child[MDT_AGENT_ID_MAX], err[MDT_ERRMSG_MAX];
	uint8_t *result = NULL;
	size_t len = 0;
	int rv;

	clinic_log(c->who, "delegating coding to the coder, asking for: %s",
	    want);
	rv = mdt_task_dispatch(t, "spiffe://clinic.example/agent/coder", want,
	    (const uint8_t *)"assign ICD-10 and CPT codes", 28, child, err,
	    sizeof(err));
	check(c, "delegation-allowed", rv == 0, rv == 0 ? child : err);
	if (rv != 0)
		return;
	rv = mdt_task_wait_result(t, child, RESULT_WAIT_MS, &result, &len, err,
	    sizeof(err));
	check(c, "coder-result", rv == 0, rv == 0 ? "coder reported its codes"
	    : err);
	if (rv == 0)
		clinic_log(c->who, "coder says: %.*s", (int)len, (char *)result);
	mdt_free(result);
}

/* Keeps an allowed, unused token to present after the task ends. */
static void
summarize_hold_late(agent_ctx *c, mdt_task *t, const char *pat)
{
	clinic_access_res res;
	char ref[128];
	clinic_access_req r = {"s", ref, NULL, NULL, NULL, 0, NULL, NULL};

	snprintf(ref, sizeof(ref), "Encounter?patient=%s", pat);
	if (clinic_access(c->who, t, &r, &res) == 0 &&
	    res.decision == MDT_AUTHZ_ALLOW) {
		clinic_log(c->who, "keeping this Encounter token unused until "
		    "after the task is completed");
		c->late = res.az;
		c->held = t;
		snprintf(c->root, sizeof(c->root), "%s", mdt_task_parent(t));
		return;
	}
	mdt_authz_free(res.az);
	mdt_task_free(t);
}

static void
summarize(agent_ctx *c, mdt_task *t)
{
	const char *pat = mdt_task_patient(t);
	char err[MDT_ERRMSG_MAX];
	const char *summary = "summary: T2DM (HbA1c 8.1%), hypertension; "
	    "colonoscopy 2026-08";

	if (strcmp(mdt_task_purpose(t), "ETREAT") == 0) {
		summarize_break_glass(c, t);
		if (mdt_task_complete(t, (const uint8_t *)"emergency summary",
		    17, err, sizeof(err)) != 0)
			clinic_log(c->who, "complete: %s", err);
		mdt_task_free(t);
		return;
	}
	clinic_log(c->who, "task %s for %s, purpose %s, scopes: %s",
	    mdt_task_id(t), pat, mdt_task_purpose(t), mdt_task_scopes(t));
	summarize_reads(c, t, pat);
	summarize_other_patient(c, t, pat);
	summarize_delegate(c, t);
	if (mdt_task_report(t, (const uint8_t *)summary, strlen(summary), err,
	    sizeof(err)) != 0)
		clinic_log(c->who, "report: %s", err);
	summarize_hold_late(c, t, pat);
}

/* After the root task is completed: the held token must be refused. */
static void
summarize_late(agent_ctx *c, mdt_event_sub *ev)
{
	char url[1024], path[512];
	clinic_http_res h;
	mdt_event e;
	int seen = 0, st;

	clinic_log(c->who, "waiting for the revocation of task %s", c->root);
	for (int i = 0; i < 200 && !seen; i++)
		if (mdt_event_sub_next(ev, 100, &e) == 0 &&
		    e.kind == MDT_EVENT_REVOKED)
			for (size_t k = 0; k < e.nids; k++)
				seen |= strcmp(e.ids[k], c->root) == 0;
	/* The gateway hears the same publication; wait until it has. */
	snprintf(path, sizeof(path), "/status/revoked/%s", c->root);
	url_of(c, url, sizeof(url), path);
	for (int i = 0; i < 100; i++) {
		int yes = clinic_http("GET", url, NULL, NULL, &h) == 0 &&
		    strstr(h.body, "true") != NULL;
		free(h.body);
		if (yes)
			break;
		nng_msleep(50);
	}
	snprintf(path, sizeof(path), "Encounter?patient=%s",
	    mdt_task_patient(c->held));
	url_of(c, url, sizeof(url), "/fhir/");
	strncat(url, path, sizeof(url) - strlen(url) - 1);
	clinic_log(c->who, "late request with the token obtained before "
	    "completion");
	st = clinic_present(c->who, c->held, c->late, "GET", url);
	check(c, "late-request-refused", seen && st == 403,
	    "completion revoked every token on the task's chain");
}

/* ---- coder ---- */

static void
code(agent_ctx *c, mdt_task *t)
{
	const char *pat = mdt_task_patient(t), *sc = mdt_task_scopes(t);
	char ref[128], path[160], child[MDT_AGENT_ID_MAX], err[MDT_ERRMSG_MAX];
	const char *codes = "E11.9 (T2DM), I10 (hypertension), CPT 45378";
	clinic_access_res res;
	int rv;

	clinic_log(c->who, "task %s from %s, scopes: %s", mdt_task_id(t),
	    mdt_task_from(t), sc);
	check(c, "delegation-narrowed", strstr(sc, "Condition") != NULL &&
	    strstr(sc, "Observation") == NULL,
	    "Observation was asked for but is outside the coder's ceiling");
	snprintf(ref, sizeof(ref), "Condition?patient=%s", pat);
	snprintf(path, sizeof(path), "/fhir/%s", ref);
	check(c, "coder-read", fetch(c, t, "s", ref, path, &res) == 200,
	    "Condition search inside the narrowed scope served");
	mdt_authz_free(res.az);
	snprintf(ref, sizeof(ref), "Observation?subject=Patient/%s", pat);
	snprintf(path, sizeof(path), "/fhir/%s", ref);
	clinic_log(c->who, "trying to widen: an Observation search");
	fetch(c, t, "s", ref, path, &res);
	check(c, "coder-widen-refused", res.az != NULL &&
	    res.decision == MDT_AUTHZ_DENY &&
	    strncmp(res.reason, "scope", 5) == 0, "outside the delegated scope");
	mdt_authz_free(res.az);
	clinic_log(c->who, "trying to widen by delegating patient/*.rs on");
	rv = mdt_task_dispatch(t, "spiffe://clinic.example/agent/priorauth",
	    "patient/*.rs", NULL, 0, child, err, sizeof(err));
	check(c, "coder-delegate-refused", rv == -MDT_EDENIED ||
	    rv == -MDT_ESCOPE, rv != 0 ? err : child);
	if (mdt_task_complete(t, (const uint8_t *)codes, strlen(codes), err,
	    sizeof(err)) != 0)
		clinic_log(c->who, "complete: %s", err);
	mdt_task_free(t);
}

/* ---- prior authorization ---- */

static void
prior_auth(agent_ctx *c, mdt_task *t)
{
	char url[512], path[160], ref[128], err[MDT_ERRMSG_MAX];
	clinic_access_res res;
	clinic_access_req ex = {"x", "tool/export", NULL, "export",
	    c->args->payer, STEP_UP_WAIT_MS, "POST", url};

	clinic_log(c->who, "task %s for %s, scopes: %s", mdt_task_id(t),
	    mdt_task_patient(t), mdt_task_scopes(t));
	snprintf(ref, sizeof(ref), "Procedure/proc-%s-1",
	    mdt_task_patient(t) + 4);
	snprintf(path, sizeof(path), "/fhir/%s", ref);
	check(c, "priorauth-read", fetch(c, t, "r", ref, path, &res) == 200,
	    "Procedure read for the prior-authorization package");
	mdt_authz_free(res.az);
	snprintf(path, sizeof(path), "/export/%s", ref);
	url_of(c, url, sizeof(url), path);
	clinic_log(c->who, "sending the package to the payer (a boundary "
	    "crossing): waiting for the clinician");
	clinic_access(c->who, t, &ex, &res);
	check(c, "export-approved", res.decision == MDT_AUTHZ_ALLOW &&
	    res.http_status == 200, "export allowed after the clinician's "
	    "approval and accepted by the payer exchange");
	mdt_authz_free(res.az);
	if (mdt_task_complete(t, (const uint8_t *)"prior-auth package sent",
	    23, err, sizeof(err)) != 0)
		clinic_log(c->who, "complete: %s", err);
	mdt_task_free(t);
}

typedef struct role {
	const char *name;
	void (*work)(agent_ctx *, mdt_task *);
	int items; /* work items the demo sends this role */
} role;

static const role roles[] = {
	{"summarizer", summarize, 2},
	{"coder", code, 1},
	{"priorauth", prior_auth, 1},
};

static int
run(agent_ctx *c, const role *r, mdt_event_sub *ev, uint64_t deadline_ms)
{
	char err[MDT_ERRMSG_MAX];

	while (c->done < r->items && nng_clock() < deadline_ms) {
		mdt_task *t = NULL;
		int rv = mdt_agent_next(c->a, WORK_WAIT_MS, &t, err, sizeof(err));

		if (rv == -MDT_ETIMEDOUT)
			continue;
		if (rv != 0) {
			clinic_log(c->who, "next: %s", err);
			return 1;
		}
		r->work(c, t);
		c->done++;
	}
	if (c->late != NULL)
		summarize_late(c, ev);
	mdt_authz_free(c->late);
	mdt_task_free(c->held);
	if (c->done < r->items)
		clinic_log(c->who, "only %d of %d work items arrived", c->done,
		    r->items);
	return c->failures == 0 && c->done == r->items ? 0 : 1;
}

int
main(int argc, char **argv)
{
	clinic_args args = {0};
	agent_ctx c = {0};
	mdt_event_sub *ev = NULL;
	const role *r = NULL;
	char err[MDT_ERRMSG_MAX];
	int rc;

	if ((rc = clinic_parse_opts(argc, argv, clinic_arg_table, &args,
	    "usage: clinic-agent --role summarizer|coder|priorauth --broker URL "
	    "--events URL --key FILE --id SPIFFE-ID --gateway URL "
	    "[--payer-audience ID] [--timeout SECONDS]")) != 0)
		return rc > 0 ? 0 : 2;
	for (size_t i = 0; i < sizeof(roles) / sizeof(*roles); i++)
		if (args.role != NULL && strcmp(args.role, roles[i].name) == 0)
			r = &roles[i];
	if (r == NULL || args.gateway == NULL || args.events == NULL) {
		fprintf(stderr, "clinic-agent: --role, --gateway and --events "
		    "are required\n");
		return 2;
	}
	c.args = &args;
	c.who = r->name;
	if (mdt_event_sub_open(args.events, &ev, err, sizeof(err)) != 0 ||
	    clinic_connect(c.who, &args, &c.a) != 0) {
		mdt_event_sub_close(ev);
		return 1;
	}
	rc = run(&c, r, ev, nng_clock() + 1000u *
	    (uint64_t)(args.timeout ? atoi(args.timeout) : 50));
	mdt_agent_close(c.a);
	mdt_event_sub_close(ev);
	return rc;
}

/*
 * `mandatectl access --agent ID --patient ID [--at TIME]`: what an agent
 * may do to a patient.  Now: asked of a live broker (the admin `access`
 * operation, recorded there).  At a past instant: reconstructed from
 * the store: the tasks open then, their scopes ∩ the agent's ceiling in
 * the entity data in force then, and the answer of the policy set in
 * force then (the one the last decision before that instant named), by
 * replaying the request authorize would have built.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <mandate/mandate.h>
#include <mandate/agent.h>
#include <mandate/key.h>

#include "ctl.h"
#include "ctl_query.h"

static const char access_usage[] =
    "usage: mandatectl access --agent ID --patient ID --url URL --id ADMIN\n"
    "           --key FILE [--format text|json]\n"
    "       mandatectl access --agent ID --patient ID --at TIME --store URI\n"
    "           [--format text|json]\n"
    "\n"
    "What agent ID may do to patient ID, across every open task it holds\n"
    "for that patient: the task's scopes, the clinician's grant, the\n"
    "agent's registered ceiling, their intersection (effective scopes),\n"
    "and for each action they grant whether the policy set in force\n"
    "allows it, asks a step-up for it, or denies it.\n"
    "\n"
    "Without --at the running broker answers (an admin operation: ADMIN\n"
    "must be listed in its `admins`; the question is recorded in the\n"
    "audit store).  With --at TIME (ISO 8601 or relative, e.g. 2h) the\n"
    "answer is reconstructed from the store: the tasks open at TIME, the\n"
    "policy set and entity data in force then; the clinician's grant at\n"
    "that instant is not kept, so the task's scopes (already narrowed by\n"
    "it when the task was made) stand for it.\n"
    "\n"
    "Actions are asked at the resource type (Observation, not\n"
    "Observation/obs-1): policies that read a resource's id are not\n"
    "reflected.\n"
    "\n"
    "Exit status: 0 answered, 2 broker or store error, 64 usage error.\n";

typedef struct access_opts {
	const char *agent, *patient, *at, *store, *url, *id, *key, *format;
} access_opts;

static int
usage_error(const char *msg)
{
	ctl_error("%s (see `mandatectl access --help`)", msg);
	return CTL_EXIT_USAGE;
}

static int
parse(int argc, char **argv, access_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = strcmp(a, "--agent") == 0 ? &o->agent :
		    strcmp(a, "--patient") == 0 ? &o->patient :
		    strcmp(a, "--at") == 0 ? &o->at :
		    strcmp(a, "--store") == 0 || strcmp(a, "--db") == 0 ?
		    &o->store : strcmp(a, "--url") == 0 ? &o->url :
		    strcmp(a, "--id") == 0 ? &o->id :
		    strcmp(a, "--key") == 0 ? &o->key :
		    strcmp(a, "--format") == 0 ? &o->format : NULL;
		if (dst == NULL || i + 1 >= argc) {
			ctl_error("bad or incomplete option '%s'", a);
			return CTL_EXIT_USAGE;
		}
		*dst = argv[++i];
	}
	if (o->agent == NULL || o->patient == NULL)
		return usage_error("access needs --agent and --patient");
	if (o->at != NULL ? o->store == NULL :
	    (o->url == NULL || o->id == NULL || o->key == NULL))
		return usage_error(o->at ? "--at needs --store URI" :
		    "access now needs --url, --id and --key (or --at and "
		    "--store)");
	if (o->format != NULL && strcmp(o->format, "text") != 0 &&
	    strcmp(o->format, "json") != 0)
		return usage_error("--format: text or json");
	return 0;
}

/* ---- the answer, printed ------------------------------------------ */

static const char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "-";
}

static void
print_task(json_t *t)
{
	size_t i;
	json_t *a;

	printf("task %s  clinician %s  purpose %s\n", str(t, "task"),
	    str(t, "clinician"), str(t, "purpose"));
	printf("  token scopes      %s\n", str(t, "token_scopes"));
	printf("  clinician now     %s\n", str(t, "clinician_scopes"));
	printf("  agent ceiling     %s\n", str(t, "ceiling"));
	printf("  effective         %s\n", str(t, "effective_scopes"));
	json_array_foreach(json_object_get(t, "actions"), i, a) {
		char *p = json_dumps(json_object_get(a, "policies"),
		    JSON_COMPACT);
		printf("  %-8s %-3s %-10s %-28s %s\n", str(a, "decision"),
		    str(a, "action"), str(a, "cedar_action"),
		    str(a, "resource"), p ? p : "[]");
		free(p);
	}
}

static int
print_answer(const char *text, const access_opts *o)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je), *t;
	size_t i;

	if (j == NULL) {
		ctl_error("access: the answer is not JSON: %s", je.text);
		return CTL_EXIT_INVALID;
	}
	if (o->format != NULL && strcmp(o->format, "json") == 0) {
		printf("%s\n", text);
	} else {
		char when[40];
		ctl_iso_time(json_integer_value(json_object_get(j, "time_ms")),
		    when, sizeof(when));
		printf("agent %s  patient %s  at %s%s\npolicy set %s\n",
		    str(j, "agent"), str(j, "patient"), when,
		    json_is_true(json_object_get(j, "reconstructed")) ?
		    " (reconstructed from the store)" : "",
		    str(j, "policy_hash"));
		if (json_array_size(json_object_get(j, "tasks")) == 0)
			printf("no open task: nothing is allowed\n");
		json_array_foreach(json_object_get(j, "tasks"), i, t)
			print_task(t);
	}
	json_decref(j);
	return CTL_EXIT_OK;
}

/* ---- now: the broker ---------------------------------------------- */

static int
access_now(const access_opts *o)
{
	mdt_keypair *kp = NULL;
	mdt_agent_opts ao = {.url = o->url, .spiffe_id = o->id};
	char err[MDT_ERRMSG_MAX] = "", *json = NULL;
	mdt_agent *a = NULL;
	int rc = mdt_keypair_load(o->key, &kp, err, sizeof(err));

	if (rc == 0) {
		ao.key = kp;
		rc = mdt_agent_connect(&ao, &a, err, sizeof(err));
	}
	if (rc == 0)
		rc = mdt_agent_access(a, o->agent, o->patient, &json, err,
		    sizeof(err));
	mdt_agent_close(a);
	mdt_keypair_free(kp);
	if (rc != 0) {
		ctl_error("access: %s: %s", mdt_strerror(rc), err);
		return CTL_EXIT_INVALID;
	}
	rc = print_answer(json, o);
	mdt_free(json);
	return rc;
}

static int
access_at(const access_opts *o)
{
	ctl_query_opts qo = {.store = o->store};
	char err[MDT_ERRMSG_MAX] = "", *json = NULL;
	int64_t at;
	mdt_store *s;
	int rc;

	if (ctl_parse_time(o->at, mdt_store_now_ms(), &at) != 0)
		return usage_error("--at: ISO 8601 or relative (2h, 1d)");
	if (ctl_query_open(&qo, &s) != 0)
		return CTL_EXIT_INVALID;
	rc = ctl_access_at(s, o->agent, o->patient, at, &json, err,
	    sizeof(err));
	mdt_store_close(s);
	if (rc != 0) {
		ctl_error("access at %s: %s: %s", o->at, mdt_strerror(rc), err);
		return CTL_EXIT_INVALID;
	}
	rc = print_answer(json, o);
	free(json);
	return rc;
}

int
ctl_access_main(int argc, char **argv)
{
	access_opts o;
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(access_usage, stdout);
		return CTL_EXIT_OK;
	}
	if ((rc = parse(argc, argv, &o)) != 0)
		return rc;
	return o.at != NULL ? access_at(&o) : access_now(&o);
}

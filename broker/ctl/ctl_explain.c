/*
 * `mandatectl audit explain SEQ`: replays one decision from the store:
 * the request as Cedar saw it, the policy set and entity data it was
 * decided under (kept in the store by hash), the determining policies,
 * and whether the policy set in force today (--policies DIR, or the last
 * one the store keeps) would decide the same.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <mandate/mandate.h>

#include "ctl.h"
#include "ctl_query.h"

static const char explain_usage[] =
    "usage: mandatectl audit explain SEQ --store URI [--policies DIR]\n"
    "           [--format text|json]\n"
    "\n"
    "Replays decision SEQ: prints what was asked (operation, agent chain,\n"
    "patient, clinician, purpose, action, resource, the Cedar request\n"
    "with its context), the verdict and reasons recorded, the policy-set\n"
    "hash and entity version it was decided under, then evaluates the\n"
    "recorded request again under that policy set (kept in the store by\n"
    "hash) and under today's: the policy files of --policies DIR, else\n"
    "the last policy set the store keeps.  Says `same decision` or\n"
    "`would now decide differently` with the determining policies.\n"
    "A decision refused before Cedar was asked (a scope, a token, a\n"
    "revoked task) has no Cedar request; its reasons say why.\n"
    "\n"
    "Exit status: 0 explained (whatever today's answer), 2 unknown\n"
    "decision or unreadable store, 64 usage error.\n"
    "\n"
    "Example:\n"
    "    mandatectl audit explain 42 --store audit.db --policies policies/\n";

typedef struct explain_opts {
	const char *store, *policies, *format;
	uint64_t seq;
} explain_opts;

/* One replay: the decision and its determining policies (JSON array). */
typedef struct replay {
	int ok;                  /* 0: could not replay (why says) */
	mdt_decision decision;
	json_t *policies;
	char hash[MDT_POLICY_HASH_HEX];
	char why[MDT_ERRMSG_MAX];
} replay;

static int
usage_error(const char *msg)
{
	ctl_error("%s (see `mandatectl audit explain --help`)", msg);
	return CTL_EXIT_USAGE;
}

static int
parse(int argc, char **argv, explain_opts *o)
{
	char *end;

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char **dst = strcmp(argv[i], "--store") == 0 ||
		    strcmp(argv[i], "--db") == 0 ? &o->store :
		    strcmp(argv[i], "--policies") == 0 ? &o->policies :
		    strcmp(argv[i], "--format") == 0 ? &o->format : NULL;
		if (dst != NULL && i + 1 < argc) {
			*dst = argv[++i];
		} else if (o->seq == 0 && argv[i][0] >= '1' &&
		    argv[i][0] <= '9') {
			o->seq = strtoull(argv[i], &end, 10);
			if (*end != 0)
				return usage_error("SEQ: a decimal number");
		} else {
			ctl_error("bad or incomplete option '%s'", argv[i]);
			return CTL_EXIT_USAGE;
		}
	}
	if (o->store == NULL || o->seq == 0)
		return usage_error("explain needs SEQ and --store URI");
	if (o->format != NULL && strcmp(o->format, "text") != 0 &&
	    strcmp(o->format, "json") != 0)
		return usage_error("--format: text or json");
	return 0;
}

/* The entity data named version, from the store; NULL (why filled)
 * when it is not kept. */
static mdt_entity_store *
entities_of(mdt_store *s, const char *version, char *why, size_t len)
{
	mdt_store_source *src = NULL;
	mdt_entity_store *es = NULL;
	char err[MDT_ERRMSG_MAX] = "";
	int rc = mdt_store_get_source(s, MDT_STORE_SOURCE_ENTITIES, version,
	    &src);

	if (rc == 0)
		rc = mdt_entity_store_from_source(&es, src->content,
		    strlen(src->content), err, sizeof(err));
	if (rc != 0)
		snprintf(why, len, "entity data %s: %s %s", version ? version :
		    "(latest)", mdt_strerror(rc), err);
	mdt_free(src);
	return es;
}

/* The policy set hash from the store (NULL: the last kept), or from
 * directory dir when not NULL. */
static mdt_policy_set *
policies_of(mdt_store *s, const char *hash, const char *dir, char *why,
    size_t len)
{
	mdt_store_source *src = NULL;
	mdt_policy_set *ps = NULL;
	char err[MDT_ERRMSG_MAX] = "";
	int rc;

	if (dir != NULL) {
		rc = mdt_policy_set_load_dir(&ps, dir, err, sizeof(err));
	} else if ((rc = mdt_store_get_source(s, MDT_STORE_SOURCE_POLICIES,
	    hash, &src)) == 0) {
		rc = mdt_policy_set_from_source(&ps, src->content,
		    strlen(src->content), err, sizeof(err));
	}
	if (rc != 0)
		snprintf(why, len, "policy set %s: %s %s", dir ? dir : hash ?
		    hash : "(latest)", mdt_strerror(rc), err);
	mdt_free(src);
	return ps;
}

static void
run_replay(const mdt_policy_set *ps, const mdt_entity_store *es,
    const char *request, replay *r)
{
	mdt_policy_answer *ans = NULL;
	char err[MDT_ERRMSG_MAX / 2] = ""; /* fits r->why with its prefix */
	int rc = mdt_policy_answer_new(&ans);

	if (rc == 0)
		rc = mdt_policy_replay(ps, es, request, strlen(request), ans, err,
		    sizeof(err));
	if (rc != 0) {
		snprintf(r->why, sizeof(r->why), "replay failed: %s %s",
		    mdt_strerror(rc), err);
	} else {
		r->ok = 1;
		r->decision = mdt_policy_answer_decision(ans);
		r->policies = json_array();
		for (size_t i = 0; i < mdt_policy_answer_reason_count(ans); i++)
			json_array_append_new(r->policies, json_string(
			    mdt_policy_answer_reason(ans, i)));
	}
	snprintf(r->hash, sizeof(r->hash), "%s", mdt_policy_set_hash(ps));
	mdt_policy_answer_free(ans);
}

/* Replays d under the recorded policy set (then) and today's (now). */
static void
replay_both(mdt_store *s, const explain_opts *o, const mdt_store_decision *d,
    replay *then, replay *now)
{
	mdt_entity_store *es_then = NULL, *es_now = NULL;
	mdt_policy_set *ps_then = NULL, *ps_now = NULL;

	es_then = entities_of(s, d->entities_version, then->why,
	    sizeof(then->why));
	if (es_then != NULL)
		ps_then = policies_of(s, d->policy_hash, NULL, then->why,
		    sizeof(then->why));
	if (ps_then != NULL)
		run_replay(ps_then, es_then, d->request, then);
	es_now = entities_of(s, NULL, now->why, sizeof(now->why));
	if (es_now != NULL)
		ps_now = policies_of(s, NULL, o->policies, now->why,
		    sizeof(now->why));
	if (ps_now != NULL)
		run_replay(ps_now, es_now, d->request, now);
	mdt_policy_set_free(ps_then);
	mdt_policy_set_free(ps_now);
	mdt_entity_store_free(es_then);
	mdt_entity_store_free(es_now);
}

static const char *
decision_word(mdt_decision d)
{
	return d == MDT_DECISION_ALLOW ? "allow" :
	    d == MDT_DECISION_STEP_UP ? "step_up" : "deny";
}

/* The Cedar answer the record implies: its verdict, as Cedar words. */
static const char *
recorded_word(const mdt_store_decision *d)
{
	return d->verdict == MDT_STORE_ALLOW ? "allow" :
	    d->verdict == MDT_STORE_STEP_UP ? "step_up" : "deny";
}

static json_t *
replay_json(const replay *r)
{
	if (!r->ok)
		return json_pack("{s:s}", "error", r->why);
	return json_pack("{s:s, s:s, s:O}", "policy_hash", r->hash,
	    "decision", decision_word(r->decision), "policies", r->policies);
}

static int
same(const replay *a, const replay *b)
{
	return a->ok && b->ok && a->decision == b->decision &&
	    json_equal(a->policies, b->policies);
}

static json_t *
explain_json(const mdt_store_decision *d, const replay *then,
    const replay *now)
{
	char t[40];
	json_t *req = d->request ? json_loads(d->request, 0, NULL) : NULL;
	json_t *j;

	ctl_iso_time(d->time_ms, t, sizeof(t));
	j = json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?,"
	    " s:s?, s:s?, s:s?, s:s?, s:s?}",
	    "seq", (json_int_t)d->seq, "time", t, "operation", d->operation,
	    "verdict", mdt_store_verdict_name(d->verdict), "agent", d->agent,
	    "patient", d->patient, "clinician", d->clinician, "purpose",
	    d->purpose, "task", d->task_id, "action", d->action, "resource",
	    d->resource, "policy_hash", d->policy_hash, "entities_version",
	    d->entities_version, "reasons", d->reasons);
	json_object_set_new(j, "agent_chain", json_loads(d->agent_chain ?
	    d->agent_chain : "[]", 0, NULL));
	json_object_set_new(j, "policy_ids", json_loads(d->policy_ids ?
	    d->policy_ids : "[]", 0, NULL));
	json_object_set_new(j, "request", req != NULL ? req : json_null());
	if (d->request != NULL) {
		json_object_set_new(j, "replay_then", replay_json(then));
		json_object_set_new(j, "replay_now", replay_json(now));
		json_object_set_new(j, "same_now", json_boolean(same(then,
		    now)));
	}
	return j;
}

static void
print_policies(const char *label, json_t *ids)
{
	size_t i;
	json_t *e;

	printf("%s", label);
	if (json_array_size(ids) == 0)
		printf(" (none)");
	json_array_foreach(ids, i, e)
		printf("%s%s", i ? ", " : " ", json_string_value(e));
	printf("\n");
}

static void
print_replays(const mdt_store_decision *d, const replay *then,
    const replay *now)
{
	if (!then->ok) {
		printf("replay (then):   cannot replay: %s\n", then->why);
	} else {
		printf("replay (then):   %s under %s%s\n",
		    decision_word(then->decision), then->hash,
		    strcmp(decision_word(then->decision), recorded_word(d)) ==
		    0 ? " (as recorded)" : " (the record's verdict came from "
		    "a later check)");
		print_policies("  determining:  ", then->policies);
	}
	if (!now->ok) {
		printf("today:           cannot replay: %s\n", now->why);
		return;
	}
	if (same(then, now))
		printf("today:           same decision under %s\n", now->hash);
	else
		printf("today:           would now decide differently: %s "
		    "under %s\n", decision_word(now->decision), now->hash);
	print_policies("  determining:  ", now->policies);
}

static void
print_text(const mdt_store_decision *d, json_t *j, const replay *then,
    const replay *now)
{
	const char *k;
	json_t *v;
	char *req;

	printf("decision %" PRIu64 "\n", d->seq);
	json_object_foreach(j, k, v) {
		if (strcmp(k, "seq") == 0 || strcmp(k, "request") == 0 ||
		    strncmp(k, "replay_", 7) == 0 || strcmp(k, "same_now") == 0)
			continue;
		if (json_is_string(v)) {
			printf("  %-16s %s\n", k, json_string_value(v));
		} else if (!json_is_null(v)) {
			char *t = json_dumps(v, JSON_COMPACT);
			printf("  %-16s %s\n", k, t ? t : "?");
			free(t);
		}
	}
	if (d->request == NULL) {
		printf("no Cedar request is recorded with this decision: it was "
		    "settled before the policies were asked (see reasons)\n");
		return;
	}
	req = json_dumps(json_object_get(j, "request"), JSON_INDENT(2) |
	    JSON_SORT_KEYS);
	printf("cedar request:\n%s\n", req ? req : "?");
	free(req);
	print_replays(d, then, now);
}

int
ctl_audit_explain_main(int argc, char **argv)
{
	replay then = {0}, now = {0};
	mdt_store_decision *d = NULL;
	ctl_query_opts qo = {0};
	explain_opts o;
	mdt_store *s;
	json_t *j;
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(explain_usage, stdout);
		return CTL_EXIT_OK;
	}
	if ((rc = parse(argc, argv, &o)) != 0)
		return rc;
	qo.store = o.store;
	if (ctl_query_open(&qo, &s) != 0)
		return CTL_EXIT_INVALID;
	if ((rc = mdt_store_get_decision(s, o.seq, &d)) != 0) {
		ctl_error("decision %" PRIu64 ": %s", o.seq, mdt_strerror(rc));
		mdt_store_close(s);
		return CTL_EXIT_INVALID;
	}
	if (d->request != NULL)
		replay_both(s, &o, d, &then, &now);
	j = explain_json(d, &then, &now);
	if (o.format != NULL && strcmp(o.format, "json") == 0) {
		char *t = json_dumps(j, JSON_COMPACT);
		printf("%s\n", t ? t : "{}");
		free(t);
	} else {
		print_text(d, j, &then, &now);
	}
	json_decref(j);
	json_decref(then.policies);
	json_decref(now.policies);
	mdt_free(d);
	mdt_store_close(s);
	return CTL_EXIT_OK;
}

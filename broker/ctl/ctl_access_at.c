/*
 * `mandatectl access --at TIME`: the access answer reconstructed from
 * the audit store alone.  The rules in force at TIME are those the last
 * decision at or before it names (policy_hash, entities_version), kept
 * in the store as sources; the tasks open then are found through the
 * patient's decisions and their task trees; each action is replayed as
 * the request authorize builds (broker/daemon/policy.c), at the
 * resource type.  The answer has the broker's `access` JSON shape, with
 * "reconstructed": true.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <mandate/mandate.h>

#include "ctl.h"
#include "ctl_query.h"

struct at {
	mdt_store *s;
	const char *agent, *patient;
	int64_t at;
	char hash[MDT_STORE_FIELD_MAX + 1], version[MDT_STORE_FIELD_MAX + 1];
	json_t *ids;              /* task ids of the patient's decisions */
	json_t *tree;             /* task id -> [holder, parent], every task
	                             of the patient's trees */
	json_t *open;             /* the agent's tasks open at `at` */
	json_t *tasks;            /* the answer's tasks */
	mdt_policy_set *ps;
	mdt_entity_store *es;
	mdt_scope_set *ceiling;
	char *err;
	size_t errlen;
};

/* Before `at`: the rules the last decision named, the patient's trees. */
static int
scan(void *arg, const mdt_store_decision *d)
{
	struct at *a = arg;

	if (d->time_ms > a->at)
		return 1;
	if (d->policy_hash != NULL && d->policy_hash[0])
		snprintf(a->hash, sizeof(a->hash), "%s", d->policy_hash);
	if (d->entities_version != NULL)
		snprintf(a->version, sizeof(a->version), "%s",
		    d->entities_version);
	if (d->patient == NULL || strcmp(d->patient, a->patient) != 0 ||
	    d->task_id == NULL)
		return 0;
	json_object_set_new(a->ids, d->task_id, json_true());
	return 0;
}

static int
load_rules(struct at *a)
{
	mdt_store_source *ps = NULL, *es = NULL;
	int rc = mdt_store_get_source(a->s, MDT_STORE_SOURCE_POLICIES,
	    a->hash[0] ? a->hash : NULL, &ps);

	if (rc == 0)
		rc = mdt_store_get_source(a->s, MDT_STORE_SOURCE_ENTITIES,
		    a->version[0] ? a->version : NULL, &es);
	if (rc == 0)
		rc = mdt_policy_set_from_source(&a->ps, ps->content,
		    strlen(ps->content), a->err, a->errlen);
	if (rc == 0)
		rc = mdt_entity_store_from_source(&a->es, es->content,
		    strlen(es->content), a->err, a->errlen);
	if (rc == 0) {
		snprintf(a->hash, sizeof(a->hash), "%s", ps->digest);
		snprintf(a->version, sizeof(a->version), "%s", es->digest);
	}
	if (rc == -MDT_ENOTFOUND)
		snprintf(a->err, a->errlen, "the policy set or entity data in "
		    "force then is not kept in the store");
	mdt_free(ps);
	mdt_free(es);
	return rc;
}

/* ---- the agent's ceiling in the entity data then ------------------- */

static int
is_agent(json_t *e, const char *agent)
{
	json_t *u = json_object_get(e, "uid"), *x;
	const char *type, *id;

	if ((x = json_object_get(u, "__entity")) != NULL)
		u = x;
	type = json_string_value(json_object_get(u, "type"));
	id = json_string_value(json_object_get(u, "id"));
	return type != NULL && id != NULL &&
	    strcmp(type, "Mandate::Agent") == 0 && strcmp(id, agent) == 0;
}

/* ceiling: a space-separated string or an array of scope strings. */
static int
ceiling_of(json_t *v, mdt_scope_set **out)
{
	char err[MDT_ERRMSG_MAX];
	size_t i;
	json_t *it;
	int rc;

	if (json_is_string(v))
		return mdt_scope_set_parse(json_string_value(v),
		    json_string_length(v), out, err, sizeof(err));
	if ((rc = mdt_scope_set_new(out)) != 0)
		return rc;
	json_array_foreach(v, i, it)
		if (rc == 0 && json_is_string(it))
			rc = mdt_scope_set_add(*out, json_string_value(it),
			    json_string_length(it), err, sizeof(err));
	return rc;
}

static int
find_ceiling(struct at *a, const char *content)
{
	json_t *src = json_loads(content, 0, NULL), *f, *ents, *e;
	size_t i, k;
	int rc = 0;

	json_array_foreach(json_object_get(src, "files"), i, f) {
		ents = json_loads(json_string_value(json_object_get(f, "text")),
		    0, NULL);
		json_array_foreach(ents, k, e)
			if (a->ceiling == NULL && is_agent(e, a->agent))
				rc = ceiling_of(json_object_get(json_object_get(
				    e, "attrs"), "ceiling"), &a->ceiling);
		json_decref(ents);
	}
	json_decref(src);
	return rc;
}

static int
load_ceiling(struct at *a)
{
	mdt_store_source *es = NULL;
	int rc = mdt_store_get_source(a->s, MDT_STORE_SOURCE_ENTITIES,
	    a->version, &es);

	if (rc == 0)
		rc = find_ceiling(a, es->content);
	mdt_free(es);
	/* an agent outside the registry then may do nothing */
	if (rc == 0 && a->ceiling == NULL)
		rc = mdt_scope_set_new(&a->ceiling);
	return rc;
}

/* ---- the tasks open at `at` ---------------------------------------- */

static int
tree_task(void *arg, const mdt_store_task *t)
{
	struct at *a = arg;

	json_object_set_new(a->tree, t->task_id, json_pack("[s, s?]",
	    t->holder ? t->holder : "", t->parent_id));
	if (t->holder == NULL || strcmp(t->holder, a->agent) != 0 ||
	    t->patient == NULL || strcmp(t->patient, a->patient) != 0 ||
	    t->time_ms > a->at || t->expires_ms <= a->at ||
	    (t->ended_ms != 0 && t->ended_ms <= a->at))
		return 0;
	return json_array_append_new(a->open, json_pack("{s:s, s:s?, s:s?,"
	    " s:s?, s:s?, s:I, s:I}", "task", t->task_id, "clinician",
	    t->clinician, "purpose", t->purpose, "scopes", t->scopes,
	    "parent", t->parent_id, "depth", (json_int_t)t->depth,
	    "expires_ms", (json_int_t)t->expires_ms)) == 0 ? 0 : -MDT_ENOMEM;
}

/* Every task of the trees the patient's decisions name. */
static int
find_tasks(struct at *a)
{
	mdt_store_tree_visitor v = {.task = tree_task};
	json_t *roots = json_object(), *x;
	const char *id;
	void *tmp;
	int rc = 0;

	json_object_foreach(a->ids, id, x) {
		mdt_store_task *t = NULL;
		if (mdt_store_get_task(a->s, id, &t) == 0 && t->root_id)
			json_object_set_new(roots, t->root_id, json_true());
		mdt_free(t);
	}
	json_object_foreach_safe(roots, tmp, id, x)
		if (rc == 0)
			rc = mdt_store_task_tree(a->s, id, &v, a);
	json_decref(roots);
	return rc;
}

/* The holders from the root down to task, as a JSON array. */
static json_t *
chain_of(struct at *a, const char *task)
{
	json_t *chain = json_array();

	for (int n = 0; task != NULL && n < 256; n++) {
		json_t *e = json_object_get(a->tree, task);
		if (e == NULL)
			break;
		json_array_insert(chain, 0, json_array_get(e, 0));
		task = json_string_value(json_array_get(e, 1));
	}
	return chain;
}

/* ---- the actions ---------------------------------------------------- */

/* The request authorize builds for this action (policy.c's context). */
static json_t *
request_of(struct at *a, json_t *t, json_t *chain, const char *cedar_action,
    const char *type, int tool)
{
	char when[40];
	const char *pt = a->patient, *purpose = json_string_value(
	    json_object_get(t, "purpose"));
	json_t *ctx;

	ctl_iso_time(a->at, when, sizeof(when));
	ctx = json_pack("{s:{s:{s:s, s:s?}}, s:{s:{s:s, s:s}}, s:s?, s:b, s:O,"
	    " s:O, s:i, s:s, s:{}, s:s, s:s, s:{s:b, s:s}, s:{s:{s:s, s:s}},"
	    " s:O}",
	    "clinician", "__entity", "type", "Mandate::Clinician", "id",
	    json_string_value(json_object_get(t, "clinician")),
	    "patient", "__entity", "type", "Mandate::Patient", "id", pt,
	    "purpose", purpose, "breakGlass", purpose != NULL &&
	    strcmp(purpose, "ETREAT") == 0, "depth", json_object_get(t,
	    "depth"), "agentChain", chain, "children", 0, "tool", tool ?
	    type : "", "args", "boundary", "none", "requestHash", "",
	    "approval", "valid", 0, "requestHash", "", "time", "__extn", "fn",
	    "datetime", "arg", when, "taskId", json_object_get(t, "task"));
	return json_pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:o,"
	    " s:o}", "principal", "type", "Mandate::Agent", "id", a->agent,
	    "action", "type", "Mandate::Action", "id", cedar_action,
	    "resource", "type", tool ? "Mandate::Tool" : "Mandate::Resource",
	    "id", type, "context", ctx, "entities", tool ? json_array() :
	    json_pack("[{s:{s:s, s:s}, s:{s:s, s:s, s:{s:{s:s, s:s}}},"
	    " s:[{s:s, s:s}]}]", "uid", "type", "Mandate::Resource", "id",
	    type, "attrs", "type", type, "id", "", "patient", "__entity",
	    "type", "Mandate::Patient", "id", pt, "parents", "type",
	    "Mandate::Patient", "id", pt));
}

static json_t *
ask(struct at *a, json_t *t, json_t *chain, const char *letter,
    const char *cedar_action, const char *type, int tool)
{
	json_t *req = request_of(a, t, chain, cedar_action, type, tool), *pol;
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL, res[160];
	mdt_policy_answer *ans = NULL;
	mdt_decision dec = MDT_DECISION_DENY;
	char err[MDT_ERRMSG_MAX];

	pol = json_array();
	if (text != NULL && mdt_policy_answer_new(&ans) == 0 &&
	    mdt_policy_replay(a->ps, a->es, text, strlen(text), ans, err,
	    sizeof(err)) == 0) {
		/* as the broker: an answer with errors is a deny */
		dec = mdt_policy_answer_error_count(ans) > 0 ?
		    MDT_DECISION_DENY : mdt_policy_answer_decision(ans);
		for (size_t i = 0; i < mdt_policy_answer_reason_count(ans); i++)
			json_array_append_new(pol, json_string(
			    mdt_policy_answer_reason(ans, i)));
	}
	mdt_policy_answer_free(ans);
	free(text);
	json_decref(req);
	snprintf(res, sizeof(res), "%s%s", tool ? "tool/" : "", type);
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "action", letter,
	    "cedar_action", cedar_action, "resource", res, "decision",
	    dec == MDT_DECISION_ALLOW ? "allow" : dec == MDT_DECISION_STEP_UP ?
	    "step_up" : "deny", "policies", pol);
}

/* One action a scope grants, replayed and appended to the task's list. */
struct one {
	struct at *a;
	json_t *t, *chain, *out;
};

static int
one_action(void *arg, const char *action, const char *cedar_action,
    const char *type, int tool)
{
	struct one *o = arg;

	return json_array_append_new(o->out, ask(o->a, o->t, o->chain, action,
	    cedar_action, type, tool)) == 0 ? 0 : -MDT_ENOMEM;
}

static json_t *
scopes_json(const mdt_scope_set *s)
{
	char *text = NULL;
	json_t *j;

	if (mdt_scope_set_format(s, &text) != 0)
		return json_null();
	j = json_string(text);
	mdt_free(text);
	return j;
}

static int
answer_task(struct at *a, json_t *t)
{
	const char *sc = json_string_value(json_object_get(t, "scopes"));
	mdt_scope_set *ts = NULL, *eff = NULL;
	json_t *acts = json_array(), *chain, *j;
	char buf[MDT_STORE_FIELD_MAX], err[MDT_ERRMSG_MAX];
	int rc = mdt_scope_set_parse(sc ? sc : "", sc ? strlen(sc) : 0, &ts,
	    err, sizeof(err));
	struct one o = { a, t, NULL, acts };

	chain = chain_of(a, json_string_value(json_object_get(t, "task")));
	o.chain = chain;
	if (rc == 0)
		rc = mdt_scope_set_intersect(ts, a->ceiling, &eff);
	for (size_t i = 0; rc == 0 && i < mdt_scope_set_count(eff); i++)
		if ((rc = mdt_scope_set_get(eff, i, buf, sizeof(buf))) == 0)
			rc = mdt_scope_actions(buf, one_action, &o);
	j = rc != 0 ? NULL : json_pack("{s:O, s:O, s:O, s:O, s:O, s:o, s:n,"
	    " s:o, s:o, s:o}", "task", json_object_get(t, "task"),
	    "clinician", json_object_get(t, "clinician"), "purpose",
	    json_object_get(t, "purpose"), "parent", json_object_get(t,
	    "parent"), "expires_ms", json_object_get(t, "expires_ms"),
	    "token_scopes", scopes_json(ts), "clinician_scopes", "ceiling",
	    scopes_json(a->ceiling), "effective_scopes", scopes_json(eff),
	    "actions", acts);
	if (j == NULL)
		json_decref(acts);
	json_decref(chain);
	mdt_scope_set_free(ts);
	mdt_scope_set_free(eff);
	if (j == NULL)
		return rc != 0 ? rc : -MDT_ENOMEM;
	return json_array_append_new(a->tasks, j) == 0 ? 0 : -MDT_ENOMEM;
}

static int
reconstruct(struct at *a)
{
	size_t i;
	json_t *t;
	int rc = mdt_store_list_decisions(a->s, 0, 0, scan, a);

	if (rc == 0)
		rc = load_rules(a);
	if (rc == 0)
		rc = load_ceiling(a);
	if (rc == 0)
		rc = find_tasks(a);
	json_array_foreach(a->open, i, t)
		if (rc == 0)
			rc = answer_task(a, t);
	return rc;
}

int
ctl_access_at(mdt_store *s, const char *agent, const char *patient,
    int64_t at_ms, char **json, char *err, size_t errlen)
{
	struct at a = {.s = s, .agent = agent, .patient = patient,
	    .at = at_ms, .err = err, .errlen = errlen};
	json_t *j = NULL;
	int rc;

	a.ids = json_object();
	a.tree = json_object();
	a.open = json_array();
	a.tasks = json_array();
	err[0] = 0;
	rc = a.ids && a.tree && a.open && a.tasks ? reconstruct(&a) :
	    -MDT_ENOMEM;
	if (rc == 0)
		j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:b, s:O}", "agent",
		    agent, "patient", patient, "time_ms", (json_int_t)at_ms,
		    "policy_hash", a.hash, "entities_version", a.version,
		    "reconstructed", 1, "tasks", a.tasks);
	*json = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	if (rc == 0 && *json == NULL)
		rc = -MDT_ENOMEM;
	json_decref(j);
	json_decref(a.ids);
	json_decref(a.tree);
	json_decref(a.open);
	json_decref(a.tasks);
	mdt_policy_set_free(a.ps);
	mdt_entity_store_free(a.es);
	mdt_scope_set_free(a.ceiling);
	return rc;
}

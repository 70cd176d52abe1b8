/*
 * `access`: an admin asks what an agent may do to a patient at this
 * instant.  For every open task the agent holds for the patient: token
 * scopes ∩ the clinician's grant now ∩ the agent's ceiling now, and for
 * each action those scopes grant, the answer of the policy set in force,
 * asked with the context authorize would build (at the resource type).
 * The question is recorded (operation "access") before it is answered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "broker.h"

#define CHAIN_MAX 64 /* hops walked up from a task (depth is bounded) */

struct acc {
	struct brk_worker *w;
	struct brk_ctx *c;
	const char *agent, *patient;
	const struct brk_agent *entry;  /* the agent's registry entry */
	json_t *ids;      /* the open tasks found, read after the walk */
	json_t *tasks;
	int rc;
};

/* The holders from the root of t's tree down to t, as a JSON array. */
static int
holder_chain(brk_broker *b, const mdt_store_task *t, char *out, size_t len)
{
	char ids[CHAIN_MAX][BRK_ID_MAX];
	mdt_store_task *cur = NULL;
	const char *parent = t->parent_id;
	size_t n = 0, o;
	int rc = 0;

	snprintf(ids[n++], BRK_ID_MAX, "%s", t->holder ? t->holder : "");
	while (rc == 0 && parent != NULL && n < CHAIN_MAX) {
		mdt_free(cur);
		cur = NULL;
		if ((rc = mdt_store_get_task(b->store, parent, &cur)) == 0) {
			snprintf(ids[n++], BRK_ID_MAX, "%s", cur->holder ?
			    cur->holder : "");
			parent = cur->parent_id;
		}
	}
	mdt_free(cur);
	if (rc != 0 || parent != NULL)
		return -1;
	o = (size_t)snprintf(out, len, "[");
	for (size_t i = n; i-- > 0 && o < len;) {
		char esc[BRK_ID_MAX * 2];
		brk_json_escape(ids[i], esc, sizeof(esc));
		o += (size_t)snprintf(out + o, len - o, "%s\"%s\"",
		    i + 1 < n ? "," : "", esc);
	}
	if (o + 2 > len)
		return -1;
	snprintf(out + o, len - o, "]");
	return 0;
}

/* token ∩ clinician now (when asserted since start) ∩ ceiling. */
static int
effective(struct acc *a, const mdt_store_task *t, mdt_scope_set **ts,
    mdt_scope_set **cs, mdt_scope_set **eff)
{
	mdt_scope_set *t1 = NULL;
	char err[MDT_ERRMSG_MAX];
	int rc = mdt_scope_set_parse(t->scopes ? t->scopes : "",
	    t->scopes ? strlen(t->scopes) : 0, ts, err, sizeof(err));

	if (rc == 0) {
		rc = brk_clinician_scopes(a->c->b, t->clinician, cs);
		if (rc == -MDT_ENOTFOUND)
			rc = mdt_scope_set_dup(*ts, cs);
	}
	if (rc == 0)
		rc = mdt_scope_set_intersect(*ts, *cs, &t1);
	if (rc == 0)
		rc = mdt_scope_set_intersect(t1, a->entry->ceiling, eff);
	mdt_scope_set_free(t1);
	return rc;
}

/* Asks Cedar about one action; the answer as JSON. */
static json_t *
ask(struct acc *a, const mdt_store_task *t, const char *chain,
    const char *letter, const char *cedar_action, const char *type,
    int tool)
{
	struct brk_pctx p = {
		.action = cedar_action, .principal = a->agent,
		.res_type = tool ? "Mandate::Tool" : "Mandate::Resource",
		.res_id = type, .fhir_type = tool ? NULL : type,
		.res_patient = t->patient, .task_id = t->task_id,
		.clinician = t->clinician, .patient = t->patient,
		.purpose = t->purpose, .tool = tool ? type : "",
		.boundary = "none", .chain_json = chain, .depth = t->depth,
	};
	char pjson[BRK_DETAIL_MAX], res[MDT_STORE_FIELD_MAX];
	struct brk_deny d = { 0 };
	mdt_decision dec = MDT_DECISION_DENY;
	const char *word;

	snprintf(res, sizeof(res), "%s%s", tool ? "tool/" : "", type);
	if (brk_policy_eval(a->w, a->c, &p, &dec, &d, pjson,
	    sizeof(pjson)) != 0)
		snprintf(pjson, sizeof(pjson), "[]");
	word = dec == MDT_DECISION_ALLOW ? "allow" :
	    dec == MDT_DECISION_STEP_UP ? "step_up" : "deny";
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "action", letter,
	    "cedar_action", cedar_action, "resource", res, "decision", word,
	    "policies", json_loads(pjson, 0, NULL));
}

/* One action a scope grants, asked and appended to the task's list. */
struct one {
	struct acc *a;
	const mdt_store_task *t;
	const char *chain;
	json_t *out;
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

static json_t *
task_json(struct acc *a, const mdt_store_task *t, mdt_scope_set *ts,
    mdt_scope_set *cs, mdt_scope_set *eff, const char *chain)
{
	json_t *acts = json_array();
	char buf[MDT_STORE_FIELD_MAX];
	struct one o = { a, t, chain, acts };

	for (size_t i = 0; acts != NULL && i < mdt_scope_set_count(eff); i++)
		if (mdt_scope_set_get(eff, i, buf, sizeof(buf)) != 0 ||
		    mdt_scope_actions(buf, one_action, &o) != 0) {
			json_decref(acts);
			return NULL;
		}
	return json_pack("{s:s, s:s?, s:s?, s:s?, s:I, s:o, s:o, s:o, s:o,"
	    " s:o}", "task", t->task_id, "clinician", t->clinician, "purpose",
	    t->purpose, "parent", t->parent_id, "expires_ms",
	    (json_int_t)t->expires_ms, "token_scopes", scopes_json(ts),
	    "clinician_scopes", scopes_json(cs), "ceiling",
	    scopes_json(a->entry->ceiling), "effective_scopes",
	    scopes_json(eff), "actions", acts);
}

/* Collects the ids of the agent's open tasks for the patient (the walk
 * holds a read connection: the tasks are read after it). */
static int
each_task(void *arg, const mdt_store_task *t)
{
	struct acc *a = arg;

	if (t->holder == NULL || strcmp(t->holder, a->agent) != 0 ||
	    t->patient == NULL || strcmp(t->patient, a->patient) != 0 ||
	    t->expires_ms <= brk_now_ms())
		return 0;
	if (json_array_append_new(a->ids, json_string(t->task_id)) != 0) {
		a->rc = -MDT_ENOMEM;
		return 1;
	}
	return 0;
}

static int
one_task(struct acc *a, const mdt_store_task *t)
{
	mdt_scope_set *ts = NULL, *cs = NULL, *eff = NULL;
	char chain[MDT_STORE_JSON_MAX / 4];
	json_t *j = NULL;

	if (holder_chain(a->c->b, t, chain, sizeof(chain)) == 0 &&
	    effective(a, t, &ts, &cs, &eff) == 0)
		j = task_json(a, t, ts, cs, eff, chain);
	mdt_scope_set_free(ts);
	mdt_scope_set_free(cs);
	mdt_scope_set_free(eff);
	if (j == NULL || json_array_append_new(a->tasks, j) != 0)
		return -MDT_ENOMEM;
	return 0;
}

/* The answer's tasks, from the ids each_task collected. */
static int
answer_tasks(struct acc *a)
{
	size_t i;
	json_t *id;
	int rc = 0;

	json_array_foreach(a->ids, i, id) {
		mdt_store_task *t = NULL;
		/* a task that ended since the walk is left out */
		if (mdt_store_get_task(a->c->b->store, json_string_value(id),
		    &t) == 0 && t->state == MDT_TASK_OPEN)
			rc = one_task(a, t);
		mdt_free(t);
		if (rc != 0)
			break;
	}
	return rc;
}

/* The answer for a known agent, as JSON text (caller frees). */
static char *
answer(struct acc *a)
{
	const struct brk_snapshot *s = a->c->snap;
	char *text = NULL;
	json_t *j;
	int rc;

	if ((a->tasks = json_array()) == NULL ||
	    (a->ids = json_array()) == NULL) {
		json_decref(a->tasks);
		return NULL;
	}
	/* an agent outside the registry may do nothing: no tasks */
	rc = a->entry == NULL ? 0 :
	    mdt_store_open_tasks(a->c->b->store, each_task, a);
	if (rc == 0 && a->rc == 0)
		rc = answer_tasks(a);
	json_decref(a->ids);
	if (rc != 0 || a->rc != 0) {
		json_decref(a->tasks);
		return NULL;
	}
	j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o}", "agent", a->agent,
	    "patient", a->patient, "time_ms", (json_int_t)brk_now_ms(),
	    "policy_hash", mdt_policy_set_hash(s->policies),
	    "entities_version", s->entities_version, "tasks", a->tasks);
	if (j != NULL)
		text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

/* Records the question: the admin asked about agent and patient. */
static int
access_record(struct brk_ctx *c, const char *agent, const char *patient,
    struct brk_deny *d)
{
	char esc[BRK_ID_MAX * 2], chain[BRK_ID_MAX * 2 + 8];
	struct brk_record r = {
		.op = "access", .verdict = MDT_STORE_ALLOW, .patient = patient,
		.action = "access", .resource = agent, .chain_json = chain,
	};

	/* the record is the admin's question, not a policy evaluation */
	mdt_free(c->cedar_request);
	c->cedar_request = NULL;
	brk_json_escape(c->agent, esc, sizeof(esc));
	snprintf(chain, sizeof(chain), "[\"%s\"]", esc);
	return brk_record(c, &r, d);
}

static int
access_fields(struct brk_ctx *c, const char **agent, const char **patient,
    struct brk_deny *d)
{
	char err[MDT_ERRMSG_MAX];

	if (mdt_wire_get_str(c->root, "agent", BRK_ID_MAX - 1, agent, err,
	    sizeof(err)) != 0 || mdt_wire_get_str(c->root, "patient",
	    BRK_ID_MAX - 1, patient, err, sizeof(err)) != 0) {
		brk_deny_set(d, -MDT_EPROTO, "field", "%s", err);
		return -1;
	}
	if (!brk_word_in(c->snap->cfg.admins, c->agent)) {
		brk_deny_set(d, -MDT_EAUTH, "admin.required", "access needs an "
		    "agent listed in admins");
		return -1;
	}
	return 0;
}

static void
access_reply(struct brk_ctx *c, const char *json)
{
	mdt_wire_writer *wr = brk_reply_writer(c, 1);

	if (wr != NULL && mdt_wire_put_cstr(wr, "json", json) != 0) {
		mdt_wire_writer_free(wr);
		wr = NULL;
	}
	if (wr == NULL) {
		brk_reply_error(c, -MDT_ENOMEM, "internal", "access: out of "
		    "memory");
		return;
	}
	brk_reply(c, wr);
}

void
brk_op_access(struct brk_worker *w, struct brk_ctx *c)
{
	struct acc a = { .w = w, .c = c };
	struct brk_held h = { 0 };
	struct brk_deny d = { 0 };
	char *json = NULL;

	if (access_fields(c, &a.agent, &a.patient, &d) != 0) {
		brk_refuse(c, "access", &h, &d, NULL);
		return;
	}
	if (brk_id_check(c, "access", &d) != 0) {
		brk_reply_deny(c, &d);
		return;
	}
	a.entry = brk_agent_find(c->snap, a.agent);
	if ((json = answer(&a)) == NULL) {
		brk_reply_error(c, -MDT_ESTORE, "store", "access: reading the "
		    "open tasks failed");
		return;
	}
	if (access_record(c, a.agent, a.patient, &d) != 0) {
		free(json);
		brk_reply_deny(c, &d);
		return;
	}
	access_reply(c, json);
	free(json);
}

/* ---- review: an admin marks a decision reviewed ------------------- */

static int
review_fields(struct brk_ctx *c, mdt_store_review *r, struct brk_deny *d)
{
	char err[MDT_ERRMSG_MAX];
	int64_t seq = 0;
	int has = 0;

	r->reviewer = NULL;
	if (mdt_wire_get_int(c->root, "seq", 1, INT64_MAX, &seq, err,
	    sizeof(err)) != 0 || mdt_wire_get_str(c->root, "note",
	    MDT_STORE_JSON_MAX - 1, &r->note, err, sizeof(err)) != 0 ||
	    mdt_wire_get_str_opt(c->root, "by", BRK_ID_MAX - 1, &r->reviewer,
	    &has, err, sizeof(err)) != 0) {
		brk_deny_set(d, -MDT_EPROTO, "field", "%s", err);
		return -1;
	}
	r->decision_seq = (uint64_t)seq;
	if (!has)
		r->reviewer = c->agent;
	if (!brk_word_in(c->snap->cfg.admins, c->agent)) {
		brk_deny_set(d, -MDT_EAUTH, "admin.required", "review needs an "
		    "agent listed in admins");
		return -1;
	}
	return 0;
}

/*
 * The mark is itself the chained record of this operation; a refusal is
 * recorded as a decision.  A second mark of one decision is refused
 * (review.marked), and so is a mark of no decision (review.unknown).
 */
void
brk_op_review(struct brk_worker *w, struct brk_ctx *c)
{
	mdt_store_review r = { 0 };
	struct brk_held h = { 0 };
	struct brk_deny d = { 0 };
	mdt_wire_writer *wr;
	uint64_t seq = 0;
	int rc;

	(void)w;
	if (review_fields(c, &r, &d) != 0) {
		brk_refuse(c, "review", &h, &d, NULL);
		return;
	}
	rc = mdt_store_add_review(c->b->store, &r, &seq);
	if (rc == -MDT_EEXIST || rc == -MDT_ENOTFOUND) {
		brk_deny_set(&d, rc, rc == -MDT_EEXIST ? "review.marked" :
		    "review.unknown", "decision %llu: %s",
		    (unsigned long long)r.decision_seq, rc == -MDT_EEXIST ?
		    "already marked reviewed" : "no such decision");
		brk_refuse(c, "review", &h, &d, NULL);
		return;
	}
	if (rc != 0) {
		brk_reply_error(c, -MDT_ESTORE, "store", "review: %s",
		    mdt_strerror(rc));
		return;
	}
	wr = brk_reply_writer(c, 1);
	if (wr != NULL && mdt_wire_put_int(wr, "seq", (int64_t)seq) != 0) {
		mdt_wire_writer_free(wr);
		wr = NULL;
	}
	if (wr == NULL) {
		brk_reply_error(c, -MDT_ENOMEM, "internal", "review: out of "
		    "memory");
		return;
	}
	brk_reply(c, wr);
}

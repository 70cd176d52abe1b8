/*
 * Conformance cases in the format of the shared Cedar corpus (one JSON
 * object per line: name, policies, entities, requests with expected
 * decision, reasons and errors).  Policies use positional ids only, and
 * bare {"type","id"} attribute values are read as entity references, as
 * Cedar does for these cases through their schema.
 */
#include <string.h>

#include "alloc_int.h"
#include "cedar/json_int.h"

typedef struct case_req {
	mdt_policy_request req;
	mdt_policy_record ctx;
	mdt_policy_expect exp;
} case_req;

struct mdt_policy_case {
	cedar_arena arena;
	const char *name;
	mdt_policy_set *set;
	mdt_entity_store *store;
	case_req *reqs;
	size_t n;
};

void
mdt_policy_case_free(mdt_policy_case *c)
{
	if (c == NULL)
		return;
	mdt_policy_set_free(c->set);
	mdt_entity_store_free(c->store);
	cedar_arena_free(&c->arena);
	mdt__free(c->reqs);
	mdt__free(c);
}

static const char *
dup_cstr(cedar_arena *a, const json_t *j)
{
	return json_is_string(j) ? cedar_arena_dup(a, json_string_value(j),
	    json_string_length(j)) : NULL;
}

static int
uid_of(cedar_arena *a, const json_t *j, mdt_entity_uid *u)
{
	const json_t *id = json_object_get(j, "id");

	u->type = dup_cstr(a, json_object_get(j, "type"));
	u->id = dup_cstr(a, id);
	u->id_len = json_string_length(id);
	return u->type != NULL && u->id != NULL ? 0 : -1;
}

/* A JSON array of strings as a NULL-free array in the arena. */
static int
id_list(cedar_arena *a, const json_t *arr, const char *const **out, size_t *n)
{
	const char **v;

	if (!json_is_array(arr))
		return -1;
	*n = json_array_size(arr);
	if ((v = cedar_arena_alloc(a, (*n + 1) * sizeof(*v))) == NULL)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if ((v[i] = dup_cstr(a, json_array_get(arr, i))) == NULL)
			return -1;
	*out = v;
	return 0;
}

static int
request(mdt_policy_case *c, const json_t *j, case_req *r, char *err,
    size_t errlen)
{
	cedar_jctx jc;
	const char *dec;
	cedar_value ctx;

	memset(r, 0, sizeof(*r));
	memset(&jc, 0, sizeof(jc));
	jc.a = &c->arena;
	jc.bare_uids = 1;
	dec = json_string_value(json_object_get(j, "decision"));
	if (uid_of(&c->arena, json_object_get(j, "principal"), &r->req.principal) ||
	    uid_of(&c->arena, json_object_get(j, "action"), &r->req.action) ||
	    uid_of(&c->arena, json_object_get(j, "resource"), &r->req.resource) ||
	    dec == NULL ||
	    id_list(&c->arena, json_object_get(j, "reason"), &r->exp.reasons,
	    &r->exp.nreasons) != 0 ||
	    id_list(&c->arena, json_object_get(j, "errors"), &r->exp.errors,
	    &r->exp.nerrors) != 0) {
		snprintf(err, errlen, "%s: malformed request", c->name);
		return -MDT_EPARSE;
	}
	if (cj_record(&jc, json_object_get(j, "context"), &ctx) != 0) {
		snprintf(err, errlen, "%s: context: %s", c->name, jc.msg);
		return -MDT_EPARSE;
	}
	r->ctx.root = ctx;
	r->ctx.depth = 1;
	r->req.context = &r->ctx;
	r->exp.description = dup_cstr(&c->arena, json_object_get(j, "description"));
	r->exp.decision = strcmp(dec, "allow") == 0 ? MDT_DECISION_ALLOW :
	    MDT_DECISION_DENY;
	return 0;
}

static int
load(mdt_policy_case *c, const json_t *root, char *err, size_t errlen)
{
	const json_t *pol = json_object_get(root, "policies"),
	    *reqs = json_object_get(root, "requests");
	char msg[MDT_ERRMSG_MAX];
	int rc;

	if ((c->name = dup_cstr(&c->arena, json_object_get(root, "name"))) == NULL ||
	    !json_is_string(pol) || !json_is_array(reqs)) {
		snprintf(err, errlen, "not a conformance case (name, policies, "
		    "entities, requests)");
		return -MDT_EPARSE;
	}
	if ((rc = cedar_policy_set_from_text(&c->set, json_string_value(pol),
	    json_string_length(pol), c->name, 1, err, errlen)) != 0)
		return rc;
	if ((rc = mdt_entity_store_new(&c->store)) != 0)
		return rc;
	if ((rc = cedar_entities_load_tree(c->store,
	    json_object_get(root, "entities"), 1, msg, sizeof(msg))) != 0) {
		snprintf(err, errlen, "%s: entities: %s", c->name, msg);
		return rc;
	}
	c->n = json_array_size(reqs);
	if ((c->reqs = mdt__calloc(c->n + 1, sizeof(*c->reqs))) == NULL)
		return -MDT_ENOMEM;
	for (size_t i = 0; i < c->n; i++)
		if ((rc = request(c, json_array_get(reqs, i), &c->reqs[i], err,
		    errlen)) != 0)
			return rc;
	return 0;
}

int
mdt_policy_case_parse(mdt_policy_case **out, const char *line, size_t len,
    char *err, size_t errlen)
{
	mdt_policy_case *c;
	json_t *root;
	int rc;

	if (out == NULL || line == NULL)
		return -MDT_EINVAL;
	if ((root = cj_parse(line, len, "case", err, errlen)) == NULL)
		return -MDT_EPARSE;
	if ((c = mdt__calloc(1, sizeof(*c))) == NULL) {
		json_decref(root);
		return -MDT_ENOMEM;
	}
	cedar_arena_init(&c->arena, 0);
	rc = load(c, root, err, errlen);
	json_decref(root);
	if (rc != 0) {
		mdt_policy_case_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

const char *
mdt_policy_case_name(const mdt_policy_case *c)
{
	return c == NULL ? NULL : c->name;
}

size_t
mdt_policy_case_request_count(const mdt_policy_case *c)
{
	return c == NULL ? 0 : c->n;
}

const mdt_policy_set *
mdt_policy_case_policies(const mdt_policy_case *c)
{
	return c == NULL ? NULL : c->set;
}

const mdt_entity_store *
mdt_policy_case_entities(const mdt_policy_case *c)
{
	return c == NULL ? NULL : c->store;
}

int
mdt_policy_case_request(const mdt_policy_case *c, size_t i,
    mdt_policy_request *req, mdt_policy_expect *exp)
{
	if (c == NULL || i >= c->n || req == NULL || exp == NULL)
		return -MDT_EINVAL;
	*req = c->reqs[i].req;
	*exp = c->reqs[i].exp;
	return 0;
}

/*
 * Loading Cedar's entities JSON (array of {"uid", "attrs", "parents",
 * "tags"}) into a store, atomically: everything is built in a scratch
 * store first and only moved into the target when every entity is valid
 * and no uid is duplicated.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "cedar/json_int.h"

static int
parents(cedar_jctx *jc, const cjnode *arr, cedar_entity *e)
{
	if (arr->kind != CJ_ARR)
		return cj_fail(jc, arr, "\"parents\" must be an array");
	e->parents = cedar_arena_alloc(jc->a, (arr->n + 1) * sizeof(cedar_uid));
	e->pent = cedar_arena_alloc(jc->a, (arr->n + 1) * sizeof(*e->pent));
	if (e->parents == NULL || e->pent == NULL)
		return cj_fail(jc, arr, "out of memory");
	for (size_t i = 0; i < arr->n; i++) {
		e->pent[i] = NULL;
		if (cj_uid(jc, arr->items[i], &e->parents[i]) != 0)
			return -1;
	}
	e->nparents = arr->n;
	return 0;
}

static int
field(cedar_jctx *jc, cedar_str key, const cjnode *v, cedar_entity *e)
{
	if (cedar_str_eq(key, cedar_cstr("uid", 3)))
		return cj_uid(jc, v, &e->uid);
	if (cedar_str_eq(key, cedar_cstr("attrs", 5)))
		return cj_record(jc, v, &e->attrs);
	if (cedar_str_eq(key, cedar_cstr("tags", 4)))
		return cj_record(jc, v, &e->tags);
	if (cedar_str_eq(key, cedar_cstr("parents", 7)))
		return parents(jc, v, e);
	return 0;   /* Cedar ignores other fields */
}

static int
entity(cedar_jctx *jc, const cjnode *obj, mdt_entity_store *scratch)
{
	cedar_entity *e = cedar_arena_alloc(jc->a, sizeof(*e));
	int rc;

	if (e == NULL)
		return cj_fail(jc, obj, "out of memory");
	memset(e, 0, sizeof(*e));
	e->attrs.kind = e->tags.kind = CK_RECORD;
	if (obj->kind != CJ_OBJ)
		return cj_fail(jc, obj, "expected an entity object");
	if (cjson_get(obj, "uid") == NULL)
		return cj_fail(jc, obj, "entity without \"uid\"");
	for (size_t i = 0; i < obj->n; i++)
		if (field(jc, obj->keys[i], obj->items[i], e) != 0)
			return -1;
	/* Cedar 4 requires "attrs" and "parents"; "tags" is optional. */
	if (cjson_get(obj, "attrs") == NULL)
		return cj_fail(jc, obj, "entity without \"attrs\"");
	if (cjson_get(obj, "parents") == NULL)
		return cj_fail(jc, obj, "entity without \"parents\"");
	if ((rc = cedar_store_insert(scratch, e)) != 0)
		return cj_fail(jc, obj, rc == -MDT_EEXIST ? "duplicate entity uid" :
		    "out of memory");
	return 0;
}

/* Moves every entity of scratch into store (uids checked beforehand). */
static int
commit(mdt_entity_store *store, mdt_entity_store *scratch, cedar_jctx *jc,
    const cjnode *root)
{
	const cedar_entity *cyc = NULL;
	char msg[256];

	for (cedar_entity *e = scratch->first; e != NULL; e = e->all)
		if (cedar_store_find(store, &e->uid) != NULL)
			return cj_fail(jc, root, "an entity is already in the store");
	switch (cedar_store_find_cycle(store, scratch, &cyc)) {
	case 0:
		break;
	case 1:
		snprintf(msg, sizeof(msg), "the parents hierarchy has a "
		    "cycle containing %.*s::\"%.*s\"", (int)(cyc->uid.type.n > 100 ?
		    100 : cyc->uid.type.n), cyc->uid.type.p,
		    (int)(cyc->uid.id.n > 100 ? 100 : cyc->uid.id.n), cyc->uid.id.p);
		return cj_fail(jc, root, msg);
	default:
		return cj_fail(jc, root, "out of memory");
	}
	for (cedar_entity *e = scratch->first, *next; e != NULL; e = next) {
		next = e->all;
		if (cedar_store_insert(store, e) != 0)
			return cj_fail(jc, root, "out of memory");
	}
	cedar_arena_adopt(&store->arena, &scratch->arena);
	cedar_store_resolve(store);
	return 0;
}

int
cedar_entities_load_tree(mdt_entity_store *store, const cjnode *root,
    int bare_uids, cedar_jctx *jc)
{
	mdt_entity_store *scratch;
	int rc = 0;

	memset(jc, 0, sizeof(*jc));
	jc->bare_uids = bare_uids;
	if (root == NULL || root->kind != CJ_ARR)
		return cj_fail(jc, root, "entities must be a JSON array");
	if (mdt_entity_store_new(&scratch) != 0)
		return cj_fail(jc, root, "out of memory");
	jc->a = &scratch->arena;
	for (size_t i = 0; rc == 0 && i < root->n; i++)
		rc = entity(jc, root->items[i], scratch);
	if (rc == 0)
		rc = commit(store, scratch, jc, root);
	mdt_entity_store_free(scratch);
	return rc;
}

int
cedar_entities_load(mdt_entity_store *store, const char *json, size_t len,
    const char *name, int bare_uids, char *err, size_t errlen)
{
	cedar_arena tree;
	cedar_jctx jc;
	cjnode *root;
	int rc = -MDT_EPARSE;

	if (store == NULL || (json == NULL && len > 0))
		return -MDT_EINVAL;
	if (name == NULL)
		name = "<entities>";
	if (len > MDT_ENTITY_JSON_MAX) {
		snprintf(err, errlen, "%s: larger than %u bytes", name,
		    MDT_ENTITY_JSON_MAX);
		return -MDT_ETOOBIG;
	}
	cedar_arena_init(&tree, 0);
	if ((root = cjson_parse(&tree, json == NULL ? "" : json, len, name, err,
	    errlen)) != NULL) {
		rc = cedar_entities_load_tree(store, root, bare_uids, &jc);
		if (rc != 0) {
			cj_report(&jc, json, name, err, errlen);
			rc = -MDT_EPARSE;
		}
	}
	cedar_arena_free(&tree);
	return rc;
}

int
mdt_entity_store_load_json(mdt_entity_store *store, const char *json,
    size_t len, const char *name, char *err, size_t errlen)
{
	return cedar_entities_load(store, json, len, name, 0, err, errlen);
}

int
mdt_entity_store_load_file(mdt_entity_store *store, const char *path,
    char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	if (store == NULL || path == NULL)
		return -MDT_EINVAL;
	if ((rc = cedar_read_file(path, MDT_ENTITY_JSON_MAX, &text, &len, err,
	    errlen)) != 0)
		return rc;
	rc = mdt_entity_store_load_json(store, text, len, path, err, errlen);
	mdt__free(text);
	return rc;
}

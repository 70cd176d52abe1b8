/*
 * Loading Cedar's entities JSON (array of {"uid", "attrs", "parents",
 * "tags"}) into a store, atomically: everything is built in a scratch
 * store first and only moved into the target when every entity is valid
 * and no uid is duplicated.  Also the record builder's JSON loader.
 */
#include <string.h>

#include "alloc_int.h"
#include "cedar/json_int.h"

static int
parents(cedar_jctx *jc, const json_t *arr, cedar_entity *e)
{
	size_t n = json_array_size(arr);

	if (!json_is_array(arr))
		return cj_fail(jc, "\"parents\" must be an array");
	if ((e->parents = cedar_arena_alloc(jc->a, (n + 1) * sizeof(cedar_uid))) == NULL)
		return cj_fail(jc, "out of memory");
	for (size_t i = 0; i < n; i++) {
		cj_push_index(jc, i);
		if (cj_uid(jc, json_array_get(arr, i), &e->parents[i]) != 0)
			return -1;
		cj_pop(jc);
	}
	e->nparents = n;
	return 0;
}

static int
field(cedar_jctx *jc, const char *key, const json_t *v, cedar_entity *e)
{
	int rc;

	cj_push_key(jc, key);
	if (strcmp(key, "uid") == 0)
		rc = cj_uid(jc, v, &e->uid);
	else if (strcmp(key, "attrs") == 0)
		rc = cj_record(jc, v, &e->attrs);
	else if (strcmp(key, "tags") == 0)
		rc = cj_record(jc, v, &e->tags);
	else if (strcmp(key, "parents") == 0)
		rc = parents(jc, v, e);
	else
		rc = cj_fail(jc, "unknown entity field");
	if (rc == 0)
		cj_pop(jc);
	return rc;
}

static int
entity(cedar_jctx *jc, const json_t *obj, mdt_entity_store *scratch)
{
	cedar_entity *e = cedar_arena_alloc(jc->a, sizeof(*e));
	const char *key;
	json_t *v;
	int rc;

	if (e == NULL)
		return cj_fail(jc, "out of memory");
	memset(e, 0, sizeof(*e));
	e->attrs.kind = e->tags.kind = CK_RECORD;
	if (!json_is_object(obj))
		return cj_fail(jc, "expected an entity object");
	if (json_object_get(obj, "uid") == NULL)
		return cj_fail(jc, "entity without \"uid\"");
	json_object_foreach((json_t *)obj, key, v)
		if (field(jc, key, v, e) != 0)
			return -1;
	if ((rc = cedar_store_insert(scratch, e)) != 0)
		return cj_fail(jc, rc == -MDT_EEXIST ? "duplicate entity uid" :
		    "out of memory");
	return 0;
}

/* Moves every entity of scratch into store (uids checked beforehand). */
static int
commit(mdt_entity_store *store, mdt_entity_store *scratch, cedar_jctx *jc)
{
	size_t i = 0;

	for (cedar_entity *e = scratch->first; e != NULL; e = e->all, i++)
		if (cedar_store_find(store, &e->uid) != NULL) {
			jc->depth = 0;
			return cj_fail(jc, "entity already present in the store");
		}
	for (cedar_entity *e = scratch->first, *next; e != NULL; e = next) {
		next = e->all;
		if (cedar_store_insert(store, e) != 0)
			return cj_fail(jc, "out of memory");
	}
	cedar_arena_adopt(&store->arena, &scratch->arena);
	return 0;
}

static int
load_array(mdt_entity_store *store, const json_t *arr, cedar_jctx *jc)
{
	mdt_entity_store *scratch;
	int rc = 0;

	if (!json_is_array(arr))
		return cj_fail(jc, "entities must be a JSON array");
	if (mdt_entity_store_new(&scratch) != 0)
		return cj_fail(jc, "out of memory");
	jc->a = &scratch->arena;
	for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
		cj_push_index(jc, i);
		rc = entity(jc, json_array_get(arr, i), scratch);
		cj_pop(jc);
	}
	if (rc == 0)
		rc = commit(store, scratch, jc);
	mdt_entity_store_free(scratch);
	return rc;
}

int
cedar_entities_load_tree(mdt_entity_store *store, const json_t *root,
    int bare_uids, char *msg, size_t msglen)
{
	cedar_jctx jc;

	memset(&jc, 0, sizeof(jc));
	jc.bare_uids = bare_uids;
	if (load_array(store, root, &jc) == 0)
		return 0;
	snprintf(msg, msglen, "%s", jc.msg);
	return -MDT_EPARSE;
}

int
cedar_entities_load(mdt_entity_store *store, const char *json, size_t len,
    const char *name, int bare_uids, char *err, size_t errlen)
{
	cedar_jctx jc;
	json_t *root;
	int rc;

	if (store == NULL || (json == NULL && len > 0))
		return -MDT_EINVAL;
	if (name == NULL)
		name = "<entities>";
	if (len > MDT_ENTITY_JSON_MAX) {
		snprintf(err, errlen, "%s: larger than %u bytes", name,
		    MDT_ENTITY_JSON_MAX);
		return -MDT_ETOOBIG;
	}
	if ((root = cj_parse(json, len, name, err, errlen)) == NULL)
		return -MDT_EPARSE;
	memset(&jc, 0, sizeof(jc));
	jc.bare_uids = bare_uids;
	rc = load_array(store, root, &jc);
	if (rc != 0)
		cj_report(&jc, json, len, name, err, errlen);
	json_decref(root);
	return rc == 0 ? 0 : -MDT_EPARSE;
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

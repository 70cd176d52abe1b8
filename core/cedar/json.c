/*
 * Cedar JSON values: bool, long, string, set (array), record (object),
 * {"__entity": {"type", "id"}} and {"__extn": {"fn", "arg" | "args"}};
 * floats and null are rejected.  Also the entity uid forms.
 */
#include <string.h>

#include "cedar/json_int.h"

void
cj_push_key(cedar_jctx *jc, const char *key)
{
	if (!jc->failed && jc->depth < CEDAR_JSON_DEPTH)
		jc->path[jc->depth].key = key;
	if (!jc->failed)
		jc->depth++;
}

void
cj_push_index(cedar_jctx *jc, size_t i)
{
	if (!jc->failed && jc->depth < CEDAR_JSON_DEPTH) {
		jc->path[jc->depth].key = NULL;
		jc->path[jc->depth].index = i;
	}
	if (!jc->failed)
		jc->depth++;
}

void
cj_pop(cedar_jctx *jc)
{
	if (!jc->failed && jc->depth > 0)
		jc->depth--;
}

int
cj_fail(cedar_jctx *jc, const char *msg)
{
	if (!jc->failed) {
		snprintf(jc->msg, sizeof(jc->msg), "%s", msg);
		jc->failed = 1;
	}
	return -1;
}

static int
str_of(cedar_jctx *jc, const json_t *j, cedar_str *out)
{
	if (!json_is_string(j))
		return cj_fail(jc, "expected a string");
	out->p = json_string_value(j);
	out->n = json_string_length(j);
	return 0;
}

/* Strings stay in the jansson tree during conversion; copy at the end. */
static int
dup_str(cedar_jctx *jc, cedar_str *s)
{
	char *p = cedar_arena_dup(jc->a, s->p, s->n);

	if (p == NULL)
		return cj_fail(jc, "out of memory");
	s->p = p;
	return 0;
}

static int
uid_fields(cedar_jctx *jc, const json_t *j, cedar_uid *out)
{
	const char *key;
	json_t *v;

	if (!json_is_object(j))
		return cj_fail(jc, "expected an entity uid object {\"type\", \"id\"}");
	if (json_object_size(j) != 2 || json_object_get(j, "type") == NULL ||
	    json_object_get(j, "id") == NULL)
		return cj_fail(jc, "entity uid needs exactly \"type\" and \"id\"");
	json_object_foreach((json_t *)j, key, v) {
		cedar_str *dst = key[0] == 't' ? &out->type : &out->id;
		cj_push_key(jc, key);
		if (str_of(jc, v, dst) != 0 || dup_str(jc, dst) != 0)
			return -1;
		cj_pop(jc);
	}
	return 0;
}

int
cj_uid(cedar_jctx *jc, const json_t *j, cedar_uid *out)
{
	const json_t *inner = json_is_object(j) && json_object_size(j) == 1 ?
	    json_object_get(j, "__entity") : NULL;
	int rc;

	if (inner == NULL)
		return uid_fields(jc, j, out);
	cj_push_key(jc, "__entity");
	rc = uid_fields(jc, inner, out);
	cj_pop(jc);
	return rc;
}

static int
set_value(cedar_jctx *jc, const json_t *arr, cedar_value *out)
{
	size_t n = json_array_size(arr);
	cedar_value *v = cedar_arena_alloc(jc->a, (n + 1) * sizeof(*v));

	if (v == NULL)
		return cj_fail(jc, "out of memory");
	for (size_t i = 0; i < n; i++) {
		cj_push_index(jc, i);
		if (cj_value(jc, json_array_get(arr, i), &v[i]) != 0)
			return -1;
		cj_pop(jc);
	}
	out->kind = CK_SET;
	out->u.set.v = v;
	out->u.set.n = n;
	return 0;
}

int
cj_record(cedar_jctx *jc, const json_t *obj, cedar_value *out)
{
	size_t n = json_object_size(obj), i = 0;
	cedar_field *f = cedar_arena_alloc(jc->a, (n + 1) * sizeof(*f));
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return cj_fail(jc, "expected an object");
	if (f == NULL)
		return cj_fail(jc, "out of memory");
	json_object_foreach((json_t *)obj, key, v) {
		cj_push_key(jc, key);
		f[i].key = cedar_cstr(key, strlen(key));
		if (dup_str(jc, &f[i].key) != 0 || cj_value(jc, v, &f[i].val) != 0)
			return -1;
		cj_pop(jc);
		i++;
	}
	if (cedar_record_sort(f, n, NULL) != 0)
		return cj_fail(jc, "duplicate key");
	out->kind = CK_RECORD;
	out->u.rec.f = f;
	out->u.rec.n = n;
	return 0;
}

/* {"fn": name, "arg": string} or {"fn": method, "args": [recv, args...]} */
static int
extn_value(cedar_jctx *jc, const json_t *j, cedar_value *out)
{
	const json_t *fn = json_object_get(j, "fn"), *arg = json_object_get(j, "arg"),
	    *args = json_object_get(j, "args");
	cedar_value vals[4];
	cedar_str name, s;
	cedar_eval ev;
	int id;

	if (!json_is_object(j) || fn == NULL || (arg == NULL) == (args == NULL) ||
	    json_object_size(j) != 2)
		return cj_fail(jc, "__extn needs \"fn\" and one of \"arg\", \"args\"");
	cj_push_key(jc, "fn");
	if (str_of(jc, fn, &name) != 0)
		return -1;
	cj_pop(jc);
	if (arg != NULL || json_array_size(args) == 1) {
		const json_t *a1 = arg != NULL ? arg : json_array_get(args, 0);
		cj_push_key(jc, arg != NULL ? "arg" : "args");
		if (str_of(jc, a1, &s) != 0)
			return -1;
		if (cedar_ext_construct(name, s, out) != 0)
			return cj_fail(jc, "invalid extension value or function");
		cj_pop(jc);
		return 0;
	}
	if (!json_is_array(args) || json_array_size(args) < 1 ||
	    json_array_size(args) > 4 || (id = cedar_method_id(name)) < 0 ||
	    cedar_method_arity(id) != json_array_size(args) - 1)
		return cj_fail(jc, "unsupported extension function call");
	cj_push_key(jc, "args");
	for (size_t i = 0; i < json_array_size(args); i++) {
		cj_push_index(jc, i);
		if (cj_value(jc, json_array_get(args, i), &vals[i]) != 0)
			return -1;
		cj_pop(jc);
	}
	memset(&ev, 0, sizeof(ev));
	ev.arena = jc->a;
	if (cedar_method_apply(&ev, id, &vals[0], vals + 1,
	    json_array_size(args) - 1, out) != 0)
		return cj_fail(jc, ev.msg);
	cj_pop(jc);
	return 0;
}

static int
object_value(cedar_jctx *jc, const json_t *j, cedar_value *out)
{
	const json_t *esc;
	int rc;

	if (json_object_size(j) == 1 && (esc = json_object_get(j, "__extn")) != NULL) {
		cj_push_key(jc, "__extn");
		rc = extn_value(jc, esc, out);
		cj_pop(jc);
		return rc;
	}
	if ((json_object_size(j) == 1 && json_object_get(j, "__entity") != NULL) ||
	    (jc->bare_uids && json_object_size(j) == 2 &&
	    json_is_string(json_object_get(j, "type")) &&
	    json_is_string(json_object_get(j, "id")))) {
		out->kind = CK_ENTITY;
		return cj_uid(jc, j, &out->u.uid);
	}
	return cj_record(jc, j, out);
}

int
cj_value(cedar_jctx *jc, const json_t *j, cedar_value *out)
{
	if (jc->depth >= CEDAR_JSON_DEPTH)
		return cj_fail(jc, "value nested too deeply");
	switch (json_typeof(j)) {
	case JSON_TRUE:
	case JSON_FALSE:
		out->kind = CK_BOOL;
		out->u.b = json_is_true(j);
		return 0;
	case JSON_INTEGER:
		out->kind = CK_LONG;
		out->u.l = (int64_t)json_integer_value(j);
		return 0;
	case JSON_STRING:
		out->kind = CK_STRING;
		return str_of(jc, j, &out->u.s) == 0 ? dup_str(jc, &out->u.s) : -1;
	case JSON_ARRAY:
		return set_value(jc, j, out);
	case JSON_OBJECT:
		return object_value(jc, j, out);
	case JSON_REAL:
		return cj_fail(jc, "floating-point numbers are not Cedar values");
	default:
		return cj_fail(jc, "null is not a Cedar value");
	}
}

json_t *
cj_parse(const char *text, size_t len, const char *name, char *err,
    size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);

	if (j == NULL)
		snprintf(err, errlen, "%s:%d:%d: %s", name, je.line, je.column,
		    je.text);
	return j;
}

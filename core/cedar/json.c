/*
 * Cedar JSON values: bool, long, string, set (array), record (object),
 * {"__entity": {"type", "id"}} and {"__extn": {"fn", "arg" | "args"}};
 * floats and null are rejected.  Also the entity uid forms.
 */
#include <stdio.h>
#include <string.h>

#include "cedar/json_int.h"

int
cj_fail(cedar_jctx *jc, const cjnode *j, const char *msg)
{
	if (!jc->failed) {
		snprintf(jc->msg, sizeof(jc->msg), "%s", msg);
		jc->off = j == NULL ? 0 : j->off;
		jc->failed = 1;
	}
	return -1;
}

void
cj_report(const cedar_jctx *jc, const char *text, const char *name,
    char *err, size_t errlen)
{
	uint32_t line, col;

	cedar_line_col(text, jc->off, &line, &col);
	snprintf(err, errlen, "%s:%u:%u: %s", name, line, col, jc->msg);
}

static int
str_of(cedar_jctx *jc, const cjnode *j, cedar_str *out)
{
	if (j->kind != CJ_STR)
		return cj_fail(jc, j, "expected a string");
	*out = j->s;
	return 0;
}

/* The JSON tree may be freed after conversion: strings are copied. */
static int
dup_str(cedar_jctx *jc, const cjnode *j, cedar_str *s)
{
	char *p = cedar_arena_dup(jc->a, s->p, s->n);

	if (p == NULL)
		return cj_fail(jc, j, "out of memory");
	s->p = p;
	return 0;
}

static int
uid_fields(cedar_jctx *jc, const cjnode *j, cedar_uid *out)
{
	const cjnode *t = cjson_get(j, "type"), *id = cjson_get(j, "id");

	if (j->kind != CJ_OBJ)
		return cj_fail(jc, j, "expected an entity uid {\"type\", \"id\"}");
	if (j->n != 2 || t == NULL || id == NULL)
		return cj_fail(jc, j, "entity uid needs exactly \"type\" and \"id\"");
	if (str_of(jc, t, &out->type) != 0 || dup_str(jc, t, &out->type) != 0 ||
	    str_of(jc, id, &out->id) != 0 || dup_str(jc, id, &out->id) != 0)
		return -1;
	return 0;
}

int
cj_uid(cedar_jctx *jc, const cjnode *j, cedar_uid *out)
{
	const cjnode *inner = j->kind == CJ_OBJ && j->n == 1 ?
	    cjson_get(j, "__entity") : NULL;

	return uid_fields(jc, inner != NULL ? inner : j, out);
}

static int
set_value(cedar_jctx *jc, const cjnode *arr, cedar_value *out)
{
	cedar_value *v = cedar_arena_alloc(jc->a, (arr->n + 1) * sizeof(*v));

	if (v == NULL)
		return cj_fail(jc, arr, "out of memory");
	for (size_t i = 0; i < arr->n; i++)
		if (cj_value(jc, arr->items[i], &v[i]) != 0)
			return -1;
	out->kind = CK_SET;
	out->u.set.v = v;
	out->u.set.n = arr->n;
	return 0;
}

int
cj_record(cedar_jctx *jc, const cjnode *obj, cedar_value *out)
{
	cedar_field *f;

	if (obj == NULL || obj->kind != CJ_OBJ)
		return cj_fail(jc, obj, "expected an object");
	if ((f = cedar_arena_alloc(jc->a, (obj->n + 1) * sizeof(*f))) == NULL)
		return cj_fail(jc, obj, "out of memory");
	for (size_t i = 0; i < obj->n; i++) {
		f[i].key = obj->keys[i];
		if (dup_str(jc, obj, &f[i].key) != 0 ||
		    cj_value(jc, obj->items[i], &f[i].val) != 0)
			return -1;
	}
	(void)cedar_record_sort(f, obj->n, NULL); /* the parser rejects dups */
	out->kind = CK_RECORD;
	out->u.rec.f = f;
	out->u.rec.n = obj->n;
	return 0;
}

/* {"fn": method, "args": [receiver, args...]}, e.g. offset. */
static int
extn_call(cedar_jctx *jc, const cjnode *j, cedar_str name, const cjnode *args,
    cedar_value *out)
{
	cedar_value vals[4];
	cedar_eval ev;
	int id = cedar_method_id(name);

	if (args->kind != CJ_ARR || args->n < 1 || args->n > 4 || id < 0 ||
	    cedar_method_arity(id) != args->n - 1)
		return cj_fail(jc, j, "unsupported extension function call");
	for (size_t i = 0; i < args->n; i++)
		if (cj_value(jc, args->items[i], &vals[i]) != 0)
			return -1;
	memset(&ev, 0, sizeof(ev));
	ev.arena = jc->a;
	if (cedar_method_apply(&ev, id, &vals[0], vals + 1, args->n - 1, out) != 0)
		return cj_fail(jc, j, ev.msg);
	return 0;
}

/* {"fn": name, "arg": string} or with "args". */
static int
extn_value(cedar_jctx *jc, const cjnode *j, cedar_value *out)
{
	const cjnode *fn = cjson_get(j, "fn"), *arg = cjson_get(j, "arg"),
	    *args = cjson_get(j, "args");
	cedar_str name, s;

	if (j->kind != CJ_OBJ || fn == NULL || (arg == NULL) == (args == NULL) ||
	    j->n != 2)
		return cj_fail(jc, j, "__extn needs \"fn\" and one of \"arg\", \"args\"");
	if (str_of(jc, fn, &name) != 0)
		return -1;
	if (arg == NULL && (args->kind != CJ_ARR || args->n != 1))
		return extn_call(jc, j, name, args, out);
	if (arg == NULL)
		arg = args->items[0];
	if (str_of(jc, arg, &s) != 0)
		return -1;
	if (cedar_ext_construct(name, s, out) != 0)
		return cj_fail(jc, arg, "invalid extension function or literal");
	return 0;
}

static int
object_value(cedar_jctx *jc, const cjnode *j, cedar_value *out)
{
	const cjnode *esc;
	const cjnode *t = cjson_get(j, "type"), *id = cjson_get(j, "id");

	if (j->n == 1 && (esc = cjson_get(j, "__extn")) != NULL)
		return extn_value(jc, esc, out);
	if ((j->n == 1 && cjson_get(j, "__entity") != NULL) ||
	    (jc->bare_uids && j->n == 2 && t != NULL && t->kind == CJ_STR &&
	    id != NULL && id->kind == CJ_STR)) {
		out->kind = CK_ENTITY;
		return cj_uid(jc, j, &out->u.uid);
	}
	return cj_record(jc, j, out);
}

int
cj_value(cedar_jctx *jc, const cjnode *j, cedar_value *out)
{
	switch (j->kind) {
	case CJ_BOOL:
		out->kind = CK_BOOL;
		out->u.b = j->b;
		return 0;
	case CJ_INT:
		out->kind = CK_LONG;
		out->u.l = j->i;
		return 0;
	case CJ_STR:
		out->kind = CK_STRING;
		out->u.s = j->s;
		return dup_str(jc, j, &out->u.s);
	case CJ_ARR:
		return set_value(jc, j, out);
	case CJ_OBJ:
		return object_value(jc, j, out);
	case CJ_REAL:
		return cj_fail(jc, j, "floating-point numbers are not Cedar values");
	default:
		return cj_fail(jc, j, "null is not a Cedar value");
	}
}

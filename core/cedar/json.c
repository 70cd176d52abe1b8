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

/* Cedar 4 removed the `{"__expr": "..."}` escape and refuses it. */
static int
is_expr_escape(const cjnode *j)
{
	const cjnode *x = j->kind == CJ_OBJ && j->n == 1 ?
	    cjson_get(j, "__expr") : NULL;

	return x != NULL && x->kind == CJ_STR;
}

/* {"type": string, "id": string, ...}: Cedar ignores other fields. */
static int
uid_shape(const cjnode *j)
{
	const cjnode *t = cjson_get(j, "type"), *id = cjson_get(j, "id");

	return j->kind == CJ_OBJ && t != NULL && t->kind == CJ_STR &&
	    id != NULL && id->kind == CJ_STR;
}

static int
uid_fields(cedar_jctx *jc, const cjnode *j, cedar_uid *out)
{
	const char *why;

	if (!uid_shape(j))
		return cj_fail(jc, j, "expected an entity uid {\"type\": string, "
		    "\"id\": string}");
	out->type = cjson_get(j, "type")->s;
	out->id = cjson_get(j, "id")->s;
	if ((why = cedar_type_name_check(out->type)) != NULL)
		return cj_fail(jc, j, why);
	return dup_str(jc, j, &out->type) != 0 || dup_str(jc, j, &out->id) != 0 ?
	    -1 : 0;
}

int
cj_uid(cedar_jctx *jc, const cjnode *j, cedar_uid *out)
{
	const cjnode *inner = j->kind == CJ_OBJ && j->n == 1 ?
	    cjson_get(j, "__entity") : NULL;

	if (is_expr_escape(j))
		return cj_fail(jc, j, "the `__expr` escape is no longer supported");
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

/* {"fn": name, "arg": value} or with "args"; other fields are ignored,
 * as by Cedar. */
static int
extn_value(cedar_jctx *jc, const cjnode *j, cedar_value *out)
{
	const cjnode *fn = cjson_get(j, "fn"), *arg = cjson_get(j, "arg"),
	    *args = cjson_get(j, "args");
	cedar_str s;

	if (arg == NULL && (args->kind != CJ_ARR || args->n != 1))
		return extn_call(jc, j, fn->s, args, out);
	if (arg == NULL)
		arg = args->items[0];
	if (str_of(jc, arg, &s) != 0)
		return -1;
	if (cedar_ext_construct(fn->s, s, out) != 0)
		return cj_fail(jc, arg, "invalid extension function or literal");
	return 0;
}

/* Cedar reads {"__extn": {"fn": string, "arg" | "args": [...]}} as an
 * extension value; any other object with the key is a record. */
static int
extn_shape(const cjnode *e)
{
	const cjnode *fn, *args;

	if (e == NULL || e->kind != CJ_OBJ || e->n < 2 ||
	    (fn = cjson_get(e, "fn")) == NULL || fn->kind != CJ_STR)
		return 0;
	args = cjson_get(e, "args");
	return cjson_get(e, "arg") != NULL || (args != NULL && args->kind == CJ_ARR);
}

/* Cedar's escapes apply to an object with a single key, and only when the
 * escape has its shape; otherwise the object is a record. */
static int
object_value(cedar_jctx *jc, const cjnode *j, cedar_value *out)
{
	const cjnode *esc = j->n == 1 ? cjson_get(j, "__extn") : NULL;
	const cjnode *ent = j->n == 1 ? cjson_get(j, "__entity") : NULL;

	if (extn_shape(esc))
		return extn_value(jc, esc, out);
	if (is_expr_escape(j))
		return cj_fail(jc, j, "the `__expr` escape is no longer supported");
	if ((ent != NULL && ent->n >= 2 && uid_shape(ent)) ||
	    (jc->bare_uids && j->n == 2 && uid_shape(j))) {
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

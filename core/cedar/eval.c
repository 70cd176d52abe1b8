/*
 * The Cedar evaluator: expressions (with Cedar's type errors, short-
 * circuit &&/||, checked 64-bit arithmetic, `in`, `has`, `like`, `is`,
 * attribute access, set and record literals) and policies (scope, then
 * when/unless clauses).  Scratch values live in the per-request arena.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cedar/cedar_int.h"

int
cedar_fail(cedar_eval *ev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ev->msg, sizeof(ev->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int
type_error(cedar_eval *ev, const char *op, const char *want,
    const cedar_value *got)
{
	return cedar_fail(ev, "type error: %s expects %s, got %s", op, want,
	    cedar_kind_name(got->kind));
}

static int
eval_typed(cedar_eval *ev, const cedar_expr *e, cedar_kind k,
    const char *op, cedar_value *out)
{
	if (cedar_eval_expr(ev, e, out) != 0)
		return -1;
	if (out->kind != k)
		return type_error(ev, op, cedar_kind_name(k), out);
	return 0;
}

static void
set_bool(cedar_value *out, int b)
{
	out->kind = CK_BOOL;
	out->u.b = b != 0;
}

/* A flat chain of && or ||: left to right, stopping at the first operand
 * that decides it, as the nested form would. */
static int
eval_and_or(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	int is_and = e->kind == EX_AND;
	const char *op = is_and ? "&&" : "||";

	for (size_t i = 0; i < e->nargs; i++) {
		if (eval_typed(ev, e->args[i], CK_BOOL, op, out) != 0)
			return -1;
		if (out->u.b != is_and)
			return 0;
	}
	return 0;
}

static int
arith(cedar_eval *ev, int op, const cedar_value *xv, const cedar_value *yv,
    cedar_value *out)
{
	int64_t x, y, r = 0;
	int ovf = 0;

	if (xv->kind != CK_LONG)
		return type_error(ev, "arithmetic", "long", xv);
	if (yv->kind != CK_LONG)
		return type_error(ev, "arithmetic", "long", yv);
	x = xv->u.l;
	y = yv->u.l;
	switch (op) {
	case OP_ADD:
		ovf = __builtin_add_overflow(x, y, &r);
		break;
	case OP_SUB:
		ovf = __builtin_sub_overflow(x, y, &r);
		break;
	default:
		ovf = __builtin_mul_overflow(x, y, &r);
		break;
	}
	if (ovf)
		return cedar_fail(ev, "integer overflow: %lld %s %lld",
		    (long long)x, op == OP_ADD ? "+" : op == OP_SUB ? "-" : "*",
		    (long long)y);
	out->kind = CK_LONG;
	out->u.l = r;
	return 0;
}

/* A flat chain of + and - (or of *), folded left to right: ((a+b)-c). */
static int
eval_arith(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	cedar_value acc, y;

	if (cedar_eval_expr(ev, e->args[0], &acc) != 0)
		return -1;
	for (size_t i = 1; i < e->nargs; i++)
		if (cedar_eval_expr(ev, e->args[i], &y) != 0 ||
		    arith(ev, e->ops[i], &acc, &y, &acc) != 0)
			return -1;
	*out = acc;
	return 0;
}

/* Kinds ordered by < <= > >=: long, datetime and duration. */
static int
compare(cedar_eval *ev, int op, const cedar_value *x, const cedar_value *y,
    cedar_value *out)
{
	int64_t a = x->u.l, b = y->u.l;

	if (x->kind != y->kind ||
	    (x->kind != CK_LONG && x->kind != CK_DATETIME && x->kind != CK_DURATION))
		return cedar_fail(ev, "type error: comparison of %s and %s",
		    cedar_kind_name(x->kind), cedar_kind_name(y->kind));
	switch (op) {
	case OP_LT:
		set_bool(out, a < b);
		break;
	case OP_LE:
		set_bool(out, a <= b);
		break;
	case OP_GT:
		set_bool(out, a > b);
		break;
	default:
		set_bool(out, a >= b);
		break;
	}
	return 0;
}

static int
eval_in(cedar_eval *ev, const cedar_value *x, const cedar_value *y,
    cedar_value *out)
{
	int r;

	if (x->kind != CK_ENTITY)
		return type_error(ev, "in", "an entity", x);
	if (y->kind == CK_ENTITY) {
		if ((r = cedar_entity_in(ev, &x->u.uid, &y->u.uid)) < 0)
			return -1;
		set_bool(out, r);
		return 0;
	}
	if (y->kind != CK_SET)
		return type_error(ev, "in", "an entity or a set", y);
	for (size_t i = 0; i < y->u.set.n; i++)
		if (y->u.set.v[i].kind != CK_ENTITY)
			return type_error(ev, "in", "a set of entities",
			    &y->u.set.v[i]);
	for (size_t i = 0; i < y->u.set.n; i++) {
		if ((r = cedar_entity_in(ev, &x->u.uid, &y->u.set.v[i].u.uid)) < 0)
			return -1;
		if (r) {
			set_bool(out, 1);
			return 0;
		}
	}
	set_bool(out, 0);
	return 0;
}

static int
eval_bin(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	cedar_value x, y;

	if (cedar_eval_expr(ev, e->a, &x) != 0 || cedar_eval_expr(ev, e->b, &y) != 0)
		return -1;
	switch (e->op) {
	case OP_EQ:
	case OP_NE:
		set_bool(out, cedar_value_eq(&x, &y) == (e->op == OP_EQ));
		return 0;
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		return compare(ev, e->op, &x, &y, out);
	case OP_IN:
		return eval_in(ev, &x, &y, out);
	default:
		return arith(ev, e->op, &x, &y, out);
	}
}

/* Attributes of a record or of an (existing) entity; NULL rec if the
 * entity is unknown. */
static int
attrs_of(cedar_eval *ev, const cedar_value *v, const char *op,
    const cedar_value **rec)
{
	const cedar_entity *ent;

	if (v->kind == CK_RECORD) {
		*rec = v;
		return 0;
	}
	if (v->kind != CK_ENTITY)
		return type_error(ev, op, "an entity or a record", v);
	ent = cedar_eval_find(ev, &v->u.uid);
	*rec = ent == NULL ? NULL : &ent->attrs;
	return 0;
}

/* v.name, v being a record or an entity; v is replaced by the value. */
static int
attr_step(cedar_eval *ev, cedar_value *v, cedar_str name)
{
	const cedar_value *rec = NULL, *f;

	if (attrs_of(ev, v, "attribute access", &rec) != 0)
		return -1;
	if (rec == NULL)
		return cedar_fail(ev, "entity %.*s::\"%.*s\" does not exist",
		    (int)v->u.uid.type.n, v->u.uid.type.p, (int)v->u.uid.id.n,
		    v->u.uid.id.p);
	if ((f = cedar_record_get(rec, name)) == NULL)
		return cedar_fail(ev, "attribute `%.*s` not found",
		    (int)name.n, name.p);
	*v = *f;
	return 0;
}

/* A chain of accesses `x.a.b.c` (nested EX_ATTR nodes) is followed in a
 * loop from x outwards, its nodes listed in the evaluation arena. */
static int
eval_attr(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	const cedar_expr *x = e, **path;
	size_t k = 0;

	while (x->kind == EX_ATTR) {
		x = x->a;
		k++;
	}
	if (k == 1)
		return cedar_eval_expr(ev, e->a, out) != 0 ? -1 :
		    attr_step(ev, out, e->name);
	if ((path = cedar_arena_alloc(ev->arena, k * sizeof(*path))) == NULL) {
		ev->oom = 1;
		return cedar_fail(ev, "evaluation arena exhausted");
	}
	x = e;
	for (size_t i = k; i-- > 0; x = x->a)
		path[i] = x;
	if (cedar_eval_expr(ev, x, out) != 0)
		return -1;
	for (size_t i = 0; i < k; i++)
		if (attr_step(ev, out, path[i]->name) != 0)
			return -1;
	return 0;
}

static int
eval_has(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	const cedar_value *rec;
	cedar_value v;

	if (cedar_eval_expr(ev, e->a, &v) != 0 || attrs_of(ev, &v, "has", &rec) != 0)
		return -1;
	set_bool(out, rec != NULL && cedar_record_get(rec, e->name) != NULL);
	return 0;
}

static int
eval_is(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	cedar_value v, t;

	if (eval_typed(ev, e->a, CK_ENTITY, "is", &v) != 0)
		return -1;
	if (!cedar_str_eq(v.u.uid.type, e->name) || e->b == NULL) {
		set_bool(out, cedar_str_eq(v.u.uid.type, e->name));
		return 0;
	}
	if (cedar_eval_expr(ev, e->b, &t) != 0)
		return -1;
	return eval_in(ev, &v, &t, out);
}

static int
eval_set(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	cedar_value *v = cedar_arena_alloc(ev->arena, (e->nargs + 1) * sizeof(*v));

	if (v == NULL) {
		ev->oom = 1;
		return cedar_fail(ev, "evaluation arena exhausted");
	}
	for (size_t i = 0; i < e->nargs; i++)
		if (cedar_eval_expr(ev, e->args[i], &v[i]) != 0)
			return -1;
	out->kind = CK_SET;
	out->u.set.v = v;
	out->u.set.n = e->nargs;
	return 0;
}

static int
eval_record(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	cedar_field *f = cedar_arena_alloc(ev->arena, (e->nargs + 1) * sizeof(*f));

	if (f == NULL) {
		ev->oom = 1;
		return cedar_fail(ev, "evaluation arena exhausted");
	}
	for (size_t i = 0; i < e->nargs; i++) {
		f[i].key = e->keys[i];
		if (cedar_eval_expr(ev, e->args[i], &f[i].val) != 0)
			return -1;
	}
	(void)cedar_record_sort(f, e->nargs, NULL); /* keys unique by parser */
	out->kind = CK_RECORD;
	out->u.rec.f = f;
	out->u.rec.n = e->nargs;
	return 0;
}

static int
eval_unary(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	if (e->kind == EX_NOT) {
		if (eval_typed(ev, e->a, CK_BOOL, "!", out) != 0)
			return -1;
		out->u.b = !out->u.b;
		return 0;
	}
	if (eval_typed(ev, e->a, CK_LONG, "unary -", out) != 0)
		return -1;
	if (out->u.l == INT64_MIN)
		return cedar_fail(ev, "integer overflow: -(%lld)", (long long)out->u.l);
	out->u.l = -out->u.l;
	return 0;
}

static int
eval_if(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	cedar_value c;

	if (eval_typed(ev, e->a, CK_BOOL, "if", &c) != 0)
		return -1;
	return cedar_eval_expr(ev, c.u.b ? e->b : e->c, out);
}

static int
eval_like(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	cedar_value v;

	if (eval_typed(ev, e->a, CK_STRING, "like", &v) != 0)
		return -1;
	set_bool(out, cedar_like(&v.u.s, e->pat, e->npat));
	return 0;
}

int
cedar_eval_expr(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	switch (e->kind) {
	case EX_LIT:
		*out = e->lit;
		return 0;
	case EX_VAR:
		*out = ev->vars[e->op];
		return 0;
	case EX_AND:
	case EX_OR:
		return eval_and_or(ev, e, out);
	case EX_NOT:
	case EX_NEG:
		return eval_unary(ev, e, out);
	case EX_IF:
		return eval_if(ev, e, out);
	case EX_BIN:
		return eval_bin(ev, e, out);
	case EX_ARITH:
		return eval_arith(ev, e, out);
	case EX_HAS:
		return eval_has(ev, e, out);
	case EX_LIKE:
		return eval_like(ev, e, out);
	case EX_IS:
		return eval_is(ev, e, out);
	case EX_ATTR:
		return eval_attr(ev, e, out);
	case EX_METHOD:
		return cedar_eval_method(ev, e, out);
	case EX_CALL:
		return cedar_eval_call(ev, e, out);
	case EX_SET:
		return eval_set(ev, e, out);
	case EX_RECORD:
		return eval_record(ev, e, out);
	}
	return cedar_fail(ev, "internal error: unknown expression");
}

/* ---- policies ---- */

/* 1 when the scope constraint holds for v, 0 when not, -1 on error. */
static int
scope_holds(cedar_eval *ev, const cedar_scope *sc, const cedar_value *v)
{
	const cedar_uid *u = &v->u.uid;
	int r;

	switch (sc->kind) {
	case SC_ANY:
		return 1;
	case SC_EQ:
		return cedar_uid_eq(u, &sc->uid);
	case SC_IN:
		return cedar_entity_in(ev, u, &sc->uid);
	case SC_IS:
		return cedar_str_eq(u->type, sc->type);
	case SC_IS_IN:
		return cedar_str_eq(u->type, sc->type) ?
		    cedar_entity_in(ev, u, &sc->uid) : 0;
	case SC_IN_LIST:
		for (size_t i = 0; i < sc->nlist; i++)
			if ((r = cedar_entity_in(ev, u, &sc->list[i])) != 0)
				return r;
		return 0;
	}
	return 0;
}

int
cedar_eval_policy(cedar_eval *ev, const cedar_policy *p)
{
	const cedar_scope *sc[3] = {&p->principal, &p->action, &p->resource};
	int r;

	for (int i = 0; i < 3; i++)
		if ((r = scope_holds(ev, sc[i], &ev->vars[i])) <= 0)
			return r;
	for (size_t i = 0; i < p->nclauses; i++) {
		cedar_value v;
		if (eval_typed(ev, p->clauses[i].expr, CK_BOOL,
		    p->clauses[i].unless ? "unless" : "when", &v) != 0)
			return -1;
		if (v.u.b == p->clauses[i].unless)
			return 0;
	}
	return 1;
}

/*
 * Method calls and extension functions: set methods (contains,
 * containsAll, containsAny, isEmpty), entity tags (hasTag, getTag), and
 * the extension types' methods (decimal comparisons, ip predicates and
 * ranges, datetime and duration arithmetic and conversions), dispatched
 * by a table of name, receiver kind, argument kind and implementation.
 * The pure extension functions live in ext*.c (ext_int.h).
 */
#include <string.h>

#include "cedar/json_int.h"

typedef int (*method_fn)(cedar_eval *ev, const cedar_value *r,
    const cedar_value *arg, cedar_value *out);

#define ANY_KIND ((cedar_kind)-1)

static void
mk_bool(cedar_value *out, int b)
{
	out->kind = CK_BOOL;
	out->u.b = b != 0;
}

static void
mk_i64(cedar_value *out, cedar_kind k, int64_t v)
{
	out->kind = k;
	out->u.l = v;
}

static int
set_has(const cedar_value *set, const cedar_value *v)
{
	for (size_t i = 0; i < set->u.set.n; i++)
		if (cedar_value_eq(&set->u.set.v[i], v))
			return 1;
	return 0;
}

static int
m_contains(cedar_eval *ev, const cedar_value *r, const cedar_value *a,
    cedar_value *out)
{
	(void)ev;
	mk_bool(out, set_has(r, a));
	return 0;
}

static int
m_contains_all(cedar_eval *ev, const cedar_value *r, const cedar_value *a,
    cedar_value *out)
{
	(void)ev;
	for (size_t i = 0; i < a->u.set.n; i++)
		if (!set_has(r, &a->u.set.v[i])) {
			mk_bool(out, 0);
			return 0;
		}
	mk_bool(out, 1);
	return 0;
}

static int
m_contains_any(cedar_eval *ev, const cedar_value *r, const cedar_value *a,
    cedar_value *out)
{
	(void)ev;
	for (size_t i = 0; i < a->u.set.n; i++)
		if (set_has(r, &a->u.set.v[i])) {
			mk_bool(out, 1);
			return 0;
		}
	mk_bool(out, 0);
	return 0;
}

static int
m_is_empty(cedar_eval *ev, const cedar_value *r, const cedar_value *a,
    cedar_value *out)
{
	(void)ev;
	(void)a;
	mk_bool(out, r->u.set.n == 0);
	return 0;
}

static const cedar_value *
tag_of(cedar_eval *ev, const cedar_value *r, const cedar_value *a,
    const cedar_entity **ent)
{
	*ent = cedar_eval_find(ev, &r->u.uid);
	return *ent == NULL ? NULL : cedar_record_get(&(*ent)->tags, a->u.s);
}

static int
m_has_tag(cedar_eval *ev, const cedar_value *r, const cedar_value *a,
    cedar_value *out)
{
	const cedar_entity *ent;

	mk_bool(out, tag_of(ev, r, a, &ent) != NULL);
	return 0;
}

static int
m_get_tag(cedar_eval *ev, const cedar_value *r, const cedar_value *a,
    cedar_value *out)
{
	const cedar_entity *ent;
	const cedar_value *v = tag_of(ev, r, a, &ent);

	if (ent == NULL)
		return cedar_fail(ev, "entity %.*s::\"%.*s\" does not exist",
		    (int)r->u.uid.type.n, r->u.uid.type.p, (int)r->u.uid.id.n,
		    r->u.uid.id.p);
	if (v == NULL)
		return cedar_fail(ev, "tag `%.*s` not found", (int)a->u.s.n,
		    a->u.s.p);
	*out = *v;
	return 0;
}

static int
m_lt(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)ev;
	mk_bool(out, r->u.l < a->u.l);
	return 0;
}

static int
m_le(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)ev;
	mk_bool(out, r->u.l <= a->u.l);
	return 0;
}

static int
m_gt(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)ev;
	mk_bool(out, r->u.l > a->u.l);
	return 0;
}

static int
m_ge(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)ev;
	mk_bool(out, r->u.l >= a->u.l);
	return 0;
}

static int
m_ip_pred(cedar_eval *ev, const cedar_value *r, int (*pred)(const cedar_ip *),
    cedar_value *out)
{
	(void)ev;
	mk_bool(out, pred(&r->u.ip));
	return 0;
}

static int
m_is_ipv4(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)a;
	return m_ip_pred(ev, r, cedar_ip_is_ipv4, out);
}

static int
m_is_ipv6(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)a;
	return m_ip_pred(ev, r, cedar_ip_is_ipv6, out);
}

static int
m_is_loopback(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)a;
	return m_ip_pred(ev, r, cedar_ip_is_loopback, out);
}

static int
m_is_multicast(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)a;
	return m_ip_pred(ev, r, cedar_ip_is_multicast, out);
}

static int
m_in_range(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)ev;
	mk_bool(out, cedar_ip_in_range(&r->u.ip, &a->u.ip));
	return 0;
}

static int
m_offset(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	int64_t v;

	if (cedar_datetime_offset(r->u.l, a->u.l, &v) != 0)
		return cedar_fail(ev, "overflow in datetime offset");
	mk_i64(out, CK_DATETIME, v);
	return 0;
}

static int
m_since(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	int64_t v;

	if (cedar_datetime_duration_since(r->u.l, a->u.l, &v) != 0)
		return cedar_fail(ev, "overflow in durationSince");
	mk_i64(out, CK_DURATION, v);
	return 0;
}

static int
m_to_date(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	int64_t v;

	(void)a;
	if (cedar_datetime_to_date(r->u.l, &v) != 0)
		return cedar_fail(ev, "overflow in toDate");
	mk_i64(out, CK_DATETIME, v);
	return 0;
}

static int
m_to_time(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	int64_t v;

	(void)a;
	if (cedar_datetime_to_time(r->u.l, &v) != 0)
		return cedar_fail(ev, "overflow in toTime");
	mk_i64(out, CK_DURATION, v);
	return 0;
}

static int
div_ms(const cedar_value *r, int64_t unit, cedar_value *out)
{
	mk_i64(out, CK_LONG, r->u.l / unit);
	return 0;
}

static int
m_to_ms(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)ev;
	(void)a;
	return div_ms(r, 1, out);
}

static int
m_to_s(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)ev;
	(void)a;
	return div_ms(r, 1000, out);
}

static int
m_to_min(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)ev;
	(void)a;
	return div_ms(r, 60000, out);
}

static int
m_to_h(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)ev;
	(void)a;
	return div_ms(r, 3600000, out);
}

static int
m_to_d(cedar_eval *ev, const cedar_value *r, const cedar_value *a, cedar_value *out)
{
	(void)ev;
	(void)a;
	return div_ms(r, 86400000, out);
}

static const struct method {
	const char *name;
	cedar_kind recv;
	size_t arity;
	cedar_kind arg;      /* kind of the argument, ANY_KIND for any */
	method_fn fn;
} methods[] = {
	{"contains", CK_SET, 1, ANY_KIND, m_contains},
	{"containsAll", CK_SET, 1, CK_SET, m_contains_all},
	{"containsAny", CK_SET, 1, CK_SET, m_contains_any},
	{"isEmpty", CK_SET, 0, ANY_KIND, m_is_empty},
	{"hasTag", CK_ENTITY, 1, CK_STRING, m_has_tag},
	{"getTag", CK_ENTITY, 1, CK_STRING, m_get_tag},
	{"lessThan", CK_DECIMAL, 1, CK_DECIMAL, m_lt},
	{"lessThanOrEqual", CK_DECIMAL, 1, CK_DECIMAL, m_le},
	{"greaterThan", CK_DECIMAL, 1, CK_DECIMAL, m_gt},
	{"greaterThanOrEqual", CK_DECIMAL, 1, CK_DECIMAL, m_ge},
	{"isIpv4", CK_IP, 0, ANY_KIND, m_is_ipv4},
	{"isIpv6", CK_IP, 0, ANY_KIND, m_is_ipv6},
	{"isLoopback", CK_IP, 0, ANY_KIND, m_is_loopback},
	{"isMulticast", CK_IP, 0, ANY_KIND, m_is_multicast},
	{"isInRange", CK_IP, 1, CK_IP, m_in_range},
	{"offset", CK_DATETIME, 1, CK_DURATION, m_offset},
	{"durationSince", CK_DATETIME, 1, CK_DATETIME, m_since},
	{"toDate", CK_DATETIME, 0, ANY_KIND, m_to_date},
	{"toTime", CK_DATETIME, 0, ANY_KIND, m_to_time},
	{"toMilliseconds", CK_DURATION, 0, ANY_KIND, m_to_ms},
	{"toSeconds", CK_DURATION, 0, ANY_KIND, m_to_s},
	{"toMinutes", CK_DURATION, 0, ANY_KIND, m_to_min},
	{"toHours", CK_DURATION, 0, ANY_KIND, m_to_h},
	{"toDays", CK_DURATION, 0, ANY_KIND, m_to_d},
};

#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

int
cedar_method_id(cedar_str name)
{
	for (size_t i = 0; i < NMETHODS; i++)
		if (cedar_str_eq(name, cedar_cstr(methods[i].name,
		    strlen(methods[i].name))))
			return (int)i;
	return -1;
}

size_t
cedar_method_arity(int id)
{
	return id < 0 || (size_t)id >= NMETHODS ? 0 : methods[id].arity;
}

int
cedar_method_builtin(int id)
{
	return id >= 0 && methods[id].recv != CK_DECIMAL &&
	    methods[id].recv != CK_IP && methods[id].recv != CK_DATETIME &&
	    methods[id].recv != CK_DURATION;
}

int
cedar_method_apply(cedar_eval *ev, int id, const cedar_value *recv,
    const cedar_value *args, size_t nargs, cedar_value *out)
{
	const struct method *m;

	if (id < 0 || (size_t)id >= NMETHODS)
		return cedar_fail(ev, "invalid method call");
	m = &methods[id];
	if (nargs != m->arity)
		return cedar_fail(ev, "%s takes %zu argument(s), got %zu", m->name,
		    m->arity, nargs);
	if (recv->kind != m->recv)
		return cedar_fail(ev, "type error: %s expects a %s receiver, got %s",
		    m->name, cedar_kind_name(m->recv), cedar_kind_name(recv->kind));
	if (nargs == 1 && m->arg != ANY_KIND && args[0].kind != m->arg)
		return cedar_fail(ev, "type error: %s expects a %s argument, got %s",
		    m->name, cedar_kind_name(m->arg), cedar_kind_name(args[0].kind));
	return m->fn(ev, recv, nargs == 1 ? &args[0] : NULL, out);
}

int
cedar_eval_method(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	cedar_value recv, arg[1], *args = arg;

	if (cedar_eval_expr(ev, e->a, &recv) != 0)
		return -1;
	if (e->nargs > 1 &&
	    (args = cedar_arena_alloc(ev->arena, e->nargs * sizeof(*args))) == NULL) {
		ev->oom = 1;
		return cedar_fail(ev, "evaluation arena exhausted");
	}
	for (size_t i = 0; i < e->nargs; i++)
		if (cedar_eval_expr(ev, e->args[i], &args[i]) != 0)
			return -1;
	return cedar_method_apply(ev, e->op, &recv, args, e->nargs, out);
}

int
cedar_eval_call(cedar_eval *ev, const cedar_expr *e, cedar_value *out)
{
	cedar_value arg;

	for (size_t i = 0; i < e->nargs; i++)
		if (cedar_eval_expr(ev, e->args[i], &arg) != 0)
			return -1;
	if (e->nargs != 1)
		return cedar_fail(ev, "%.*s takes one argument, got %zu",
		    (int)e->name.n, e->name.p, e->nargs);
	if (arg.kind != CK_STRING)
		return cedar_fail(ev, "type error: %.*s expects a string, got %s",
		    (int)e->name.n, e->name.p, cedar_kind_name(arg.kind));
	if (cedar_ext_construct(e->name, arg.u.s, out) != 0)
		return cedar_fail(ev, "invalid %.*s literal", (int)e->name.n,
		    e->name.p);
	return 0;
}

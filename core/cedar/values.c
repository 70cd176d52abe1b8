/*
 * Cedar values: comparison (Cedar equality: sets compare as sets, records
 * by keys and values, entities by uid, extension values by their meaning),
 * record lookup, deep copies and extension-value construction.
 */
#include <stdlib.h>
#include <string.h>

#include "cedar/cedar_int.h"

int
cedar_str_eq(cedar_str a, cedar_str b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* Orders by length first, then bytes: record keys only need some total
 * order, and this one settles most comparisons without touching bytes. */
int
cedar_str_cmp(cedar_str a, cedar_str b)
{
	if (a.n != b.n)
		return a.n < b.n ? -1 : 1;
	return a.n == 0 ? 0 : memcmp(a.p, b.p, a.n);
}

int
cedar_uid_eq(const cedar_uid *a, const cedar_uid *b)
{
	return cedar_str_eq(a->id, b->id) && cedar_str_eq(a->type, b->type);
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
set_subset(const cedar_value *a, const cedar_value *b)
{
	for (size_t i = 0; i < a->u.set.n; i++)
		if (!set_has(b, &a->u.set.v[i]))
			return 0;
	return 1;
}

static int
record_eq(const cedar_value *a, const cedar_value *b)
{
	if (a->u.rec.n != b->u.rec.n)
		return 0;
	for (size_t i = 0; i < a->u.rec.n; i++) {
		const cedar_field *x = &a->u.rec.f[i], *y = &b->u.rec.f[i];
		if (!cedar_str_eq(x->key, y->key) ||
		    !cedar_value_eq(&x->val, &y->val))
			return 0;
	}
	return 1;
}

int
cedar_value_eq(const cedar_value *a, const cedar_value *b)
{
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case CK_BOOL:
		return !a->u.b == !b->u.b;
	case CK_LONG:
	case CK_DECIMAL:
	case CK_DATETIME:
	case CK_DURATION:
		return a->u.l == b->u.l;
	case CK_STRING:
		return cedar_str_eq(a->u.s, b->u.s);
	case CK_ENTITY:
		return cedar_uid_eq(&a->u.uid, &b->u.uid);
	case CK_SET:
		return set_subset(a, b) && set_subset(b, a);
	case CK_RECORD:
		return record_eq(a, b);
	case CK_IP:
		return cedar_ip_equal(&a->u.ip, &b->u.ip);
	}
	return 0;
}

const cedar_value *
cedar_record_get(const cedar_value *rec, cedar_str key)
{
	size_t lo = 0, hi = rec->u.rec.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cedar_str_cmp(rec->u.rec.f[mid].key, key);
		if (c == 0)
			return &rec->u.rec.f[mid].val;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const char *const kind_names[] = {
	[CK_BOOL] = "bool", [CK_LONG] = "long", [CK_STRING] = "string",
	[CK_ENTITY] = "entity", [CK_SET] = "set", [CK_RECORD] = "record",
	[CK_DECIMAL] = "decimal", [CK_IP] = "ipaddr",
	[CK_DATETIME] = "datetime", [CK_DURATION] = "duration",
};

const char *
cedar_kind_name(cedar_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ?
	    kind_names[k] : "?";
}

static int
str_copy(cedar_arena *a, cedar_str *s)
{
	char *p = cedar_arena_dup(a, s->p, s->n);

	if (p == NULL)
		return -1;
	s->p = p;
	return 0;
}

int
cedar_value_copy(cedar_arena *a, const cedar_value *src, cedar_value *dst)
{
	*dst = *src;
	switch (src->kind) {
	case CK_STRING:
		return str_copy(a, &dst->u.s);
	case CK_ENTITY:
		return str_copy(a, &dst->u.uid.type) || str_copy(a, &dst->u.uid.id)
		    ? -1 : 0;
	case CK_SET: {
		size_t n = src->u.set.n;
		cedar_value *v = cedar_arena_alloc(a, n * sizeof(*v) + 1);
		if (v == NULL)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (cedar_value_copy(a, &src->u.set.v[i], &v[i]) != 0)
				return -1;
		dst->u.set.v = v;
		return 0;
	}
	case CK_RECORD: {
		size_t n = src->u.rec.n;
		cedar_field *f = cedar_arena_alloc(a, n * sizeof(*f) + 1);
		if (f == NULL)
			return -1;
		for (size_t i = 0; i < n; i++) {
			f[i].key = src->u.rec.f[i].key;
			if (str_copy(a, &f[i].key) != 0 ||
			    cedar_value_copy(a, &src->u.rec.f[i].val, &f[i].val))
				return -1;
		}
		dst->u.rec.f = f;
		return 0;
	}
	default:
		return 0;
	}
}

static int
field_cmp(const void *x, const void *y)
{
	return cedar_str_cmp(((const cedar_field *)x)->key,
	    ((const cedar_field *)y)->key);
}

int
cedar_record_sort(cedar_field *f, size_t n, cedar_str *dup)
{
	if (n > 1)
		qsort(f, n, sizeof(*f), field_cmp);
	for (size_t i = 1; i < n; i++)
		if (cedar_str_eq(f[i - 1].key, f[i].key)) {
			if (dup != NULL)
				*dup = f[i].key;
			return -1;
		}
	return 0;
}

static int
mk_ip(const char *s, size_t n, cedar_value *out)
{
	out->kind = CK_IP;
	return cedar_ip_parse(s, n, &out->u.ip);
}

static int
mk_decimal(const char *s, size_t n, cedar_value *out)
{
	out->kind = CK_DECIMAL;
	return cedar_decimal_parse(s, n, &out->u.l);
}

static int
mk_datetime(const char *s, size_t n, cedar_value *out)
{
	out->kind = CK_DATETIME;
	return cedar_datetime_parse(s, n, &out->u.l);
}

static int
mk_duration(const char *s, size_t n, cedar_value *out)
{
	out->kind = CK_DURATION;
	return cedar_duration_parse(s, n, &out->u.l);
}

static const struct {
	const char *name;
	int (*make)(const char *, size_t, cedar_value *);
} constructors[] = {
	{"ip", mk_ip}, {"decimal", mk_decimal},
	{"datetime", mk_datetime}, {"duration", mk_duration},
};

int
cedar_ext_construct(cedar_str fn, cedar_str arg, cedar_value *out)
{
	cedar_value v;

	for (size_t i = 0; i < sizeof(constructors) / sizeof(constructors[0]); i++) {
		const char *name = constructors[i].name;
		if (!cedar_str_eq(fn, cedar_cstr(name, strlen(name))))
			continue;
		if (constructors[i].make(arg.p, arg.n, &v) != 0)
			return -1;
		*out = v;
		return 0;
	}
	return -1;
}

int
cedar_function_known(cedar_str name)
{
	for (size_t i = 0; i < sizeof(constructors) / sizeof(constructors[0]); i++)
		if (cedar_str_eq(name, cedar_cstr(constructors[i].name,
		    strlen(constructors[i].name))))
			return 1;
	return 0;
}

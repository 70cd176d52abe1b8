/*
 * Record builders (mdt_policy_record): the request context and the
 * attributes of entities added by code.  Values are built in the
 * builder's arena; open containers are frames whose items grow in the
 * arena (doubling), and the root record is kept sorted by key so that it
 * can be used for evaluation without a copy.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "cedar/json_int.h"

int
mdt_policy_record_new(mdt_policy_record **out)
{
	mdt_policy_record *r;

	if (out == NULL)
		return -MDT_EINVAL;
	if ((r = mdt__calloc(1, sizeof(*r))) == NULL)
		return -MDT_ENOMEM;
	cedar_arena_init(&r->arena, 0);
	r->depth = 1;
	r->root.kind = CK_RECORD;
	*out = r;
	return 0;
}

void
mdt_policy_record_free(mdt_policy_record *rec)
{
	if (rec == NULL)
		return;
	cedar_arena_free(&rec->arena);
	mdt__free(rec);
}

void
mdt_policy_record_reset(mdt_policy_record *rec)
{
	if (rec == NULL)
		return;
	cedar_arena_reset(&rec->arena);
	memset(rec->frames, 0, sizeof(rec->frames));
	rec->depth = 1;
	rec->root.u.rec.f = NULL;
	rec->root.u.rec.n = 0;
}

const cedar_value *
cedar_record_root(const mdt_policy_record *r)
{
	return &r->root;
}

static int
reserve(mdt_policy_record *r, cedar_frame *fr)
{
	size_t ncap = fr->cap == 0 ? 16 : fr->cap * 2;
	cedar_field *nf;

	if (fr->n < fr->cap)
		return 0;
	if ((nf = cedar_arena_alloc(&r->arena, ncap * sizeof(*nf))) == NULL)
		return -MDT_ENOMEM;
	if (fr->n > 0)
		memcpy(nf, fr->f, fr->n * sizeof(*nf));
	fr->f = nf;
	fr->cap = ncap;
	return 0;
}

/* Inserts (key, v) into the innermost frame: sorted and unique in a
 * record, appended in a set. */
static int
put(mdt_policy_record *r, const char *key, const cedar_value *v)
{
	cedar_frame *fr = &r->frames[r->depth - 1];
	size_t pos = fr->n;
	cedar_str k = {"", 0};
	int rc;

	if (!fr->is_set) {
		if (key == NULL)
			return -MDT_EINVAL;
		k = cedar_cstr(key, strlen(key));
		for (pos = 0; pos < fr->n; pos++) {
			int c = cedar_str_cmp(fr->f[pos].key, k);
			if (c == 0)
				return -MDT_EEXIST;
			if (c > 0)
				break;
		}
		if ((k.p = cedar_arena_dup(&r->arena, key, k.n)) == NULL)
			return -MDT_ENOMEM;
	}
	if ((rc = reserve(r, fr)) != 0)
		return rc;
	memmove(fr->f + pos + 1, fr->f + pos, (fr->n - pos) * sizeof(*fr->f));
	fr->f[pos].key = k;
	fr->f[pos].val = *v;
	fr->n++;
	if (r->depth == 1) {
		r->root.u.rec.f = fr->f;
		r->root.u.rec.n = fr->n;
	}
	return 0;
}

static int
put_str(mdt_policy_record *r, const char *key, const char *s, size_t len,
    cedar_value *v)
{
	char *p;

	if (s == NULL && len > 0)
		return -MDT_EINVAL;
	if ((p = cedar_arena_dup(&r->arena, s == NULL ? "" : s, len)) == NULL)
		return -MDT_ENOMEM;
	v->kind = CK_STRING;
	v->u.s = cedar_cstr(p, len);
	return put(r, key, v);
}

int
mdt_policy_record_set_string(mdt_policy_record *rec, const char *key,
    const char *value, size_t len)
{
	cedar_value v;

	return rec == NULL ? -MDT_EINVAL : put_str(rec, key, value, len, &v);
}

int
mdt_policy_record_set_long(mdt_policy_record *rec, const char *key,
    int64_t value)
{
	cedar_value v = {.kind = CK_LONG, .u.l = value};

	return rec == NULL ? -MDT_EINVAL : put(rec, key, &v);
}

int
mdt_policy_record_set_bool(mdt_policy_record *rec, const char *key,
    int value)
{
	cedar_value v = {.kind = CK_BOOL, .u.b = value != 0};

	return rec == NULL ? -MDT_EINVAL : put(rec, key, &v);
}

int
mdt_policy_record_set_entity(mdt_policy_record *rec, const char *key,
    const mdt_entity_uid *uid)
{
	cedar_value v = {.kind = CK_ENTITY};
	size_t tn;

	if (rec == NULL || uid == NULL || uid->type == NULL ||
	    (uid->id == NULL && uid->id_len > 0))
		return -MDT_EINVAL;
	tn = strlen(uid->type);
	v.u.uid.type = cedar_cstr(cedar_arena_dup(&rec->arena, uid->type, tn), tn);
	v.u.uid.id = cedar_cstr(cedar_arena_dup(&rec->arena,
	    uid->id == NULL ? "" : uid->id, uid->id_len), uid->id_len);
	if (v.u.uid.type.p == NULL || v.u.uid.id.p == NULL)
		return -MDT_ENOMEM;
	return put(rec, key, &v);
}

int
mdt_policy_record_set_extension(mdt_policy_record *rec, const char *key,
    const char *fn, const char *arg)
{
	cedar_value v;

	if (rec == NULL || fn == NULL || arg == NULL ||
	    cedar_ext_construct(cedar_cstr(fn, strlen(fn)),
	    cedar_cstr(arg, strlen(arg)), &v) != 0)
		return -MDT_EINVAL;
	return put(rec, key, &v);
}

static int
begin(mdt_policy_record *rec, const char *key, int is_set)
{
	cedar_frame *fr;

	if (rec == NULL || (key == NULL && !rec->frames[rec->depth - 1].is_set))
		return -MDT_EINVAL;
	if (rec->depth == CEDAR_RECORD_NEST_MAX)
		return -MDT_ETOOBIG;
	fr = &rec->frames[rec->depth];
	memset(fr, 0, sizeof(*fr));
	fr->is_set = is_set;
	if (key != NULL) {
		cedar_frame *parent = &rec->frames[rec->depth - 1];
		for (size_t i = 0; !parent->is_set && i < parent->n; i++)
			if (strcmp(parent->f[i].key.p, key) == 0)
				return -MDT_EEXIST;
		fr->key = cedar_cstr(cedar_arena_dup(&rec->arena, key, strlen(key)),
		    strlen(key));
		if (fr->key.p == NULL)
			return -MDT_ENOMEM;
	}
	rec->depth++;
	return 0;
}

int
mdt_policy_record_begin_record(mdt_policy_record *rec, const char *key)
{
	return begin(rec, key, 0);
}

int
mdt_policy_record_begin_set(mdt_policy_record *rec, const char *key)
{
	return begin(rec, key, 1);
}

int
mdt_policy_record_end(mdt_policy_record *rec)
{
	cedar_frame *fr;
	cedar_value v;

	if (rec == NULL || rec->depth <= 1)
		return -MDT_EINVAL;
	fr = &rec->frames[rec->depth - 1];
	if (fr->is_set) {
		cedar_value *items = cedar_arena_alloc(&rec->arena,
		    (fr->n + 1) * sizeof(*items));
		if (items == NULL)
			return -MDT_ENOMEM;
		for (size_t i = 0; i < fr->n; i++)
			items[i] = fr->f[i].val;
		v.kind = CK_SET;
		v.u.set.v = items;
		v.u.set.n = fr->n;
	} else {
		v.kind = CK_RECORD;
		v.u.rec.f = fr->f;
		v.u.rec.n = fr->n;
	}
	rec->depth--;
	return put(rec, fr->key.p, &v);
}

int
mdt_policy_record_set_strings(mdt_policy_record *rec, const char *key,
    const char *const *values, size_t n)
{
	int rc;

	if (values == NULL && n > 0)
		return -MDT_EINVAL;
	if ((rc = mdt_policy_record_begin_set(rec, key)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		cedar_value v;
		if (values[i] == NULL)
			return -MDT_EINVAL;
		if ((rc = put_str(rec, NULL, values[i], strlen(values[i]), &v)) != 0)
			return rc;
	}
	return mdt_policy_record_end(rec);
}

int
mdt_policy_record_load_json(mdt_policy_record *rec, const char *json,
    size_t len, const char *name, char *err, size_t errlen)
{
	cedar_arena tree;
	cedar_jctx jc;
	cedar_value v;
	cjnode *root;
	int rc = -MDT_EPARSE;

	if (rec == NULL || (json == NULL && len > 0))
		return -MDT_EINVAL;
	mdt_policy_record_reset(rec);
	if (name == NULL)
		name = "<context>";
	if (len > MDT_ENTITY_JSON_MAX) {
		snprintf(err, errlen, "%s: larger than %u bytes", name,
		    MDT_ENTITY_JSON_MAX);
		return -MDT_ETOOBIG;
	}
	cedar_arena_init(&tree, 0);
	memset(&jc, 0, sizeof(jc));
	jc.a = &rec->arena;
	if ((root = cjson_parse(&tree, json == NULL ? "" : json, len, name, err,
	    errlen)) != NULL) {
		if (cj_record(&jc, root, &v) == 0) {
			rec->frames[0].f = v.u.rec.f;
			rec->frames[0].n = rec->frames[0].cap = v.u.rec.n;
			rec->root = v;
			rc = 0;
		} else {
			cj_report(&jc, json, name, err, errlen);
			mdt_policy_record_reset(rec);
		}
	}
	cedar_arena_free(&tree);
	return rc;
}

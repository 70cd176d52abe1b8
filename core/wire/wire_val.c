/* Read access to decoded wire messages: envelope, values, typed fields. */
#include <stdio.h>
#include <string.h>

#include "wire_int.h"

mdt_wire_op
mdt_wire_msg_op(const mdt_wire_msg *msg)
{
	return msg != NULL ? msg->op : MDT_OP_INVALID;
}

const char *
mdt_wire_msg_id(const mdt_wire_msg *msg)
{
	return msg != NULL ? msg->id : NULL;
}

int
mdt_wire_msg_ok(const mdt_wire_msg *msg)
{
	return msg != NULL ? msg->ok : -1;
}

const mdt_wire_val *
mdt_wire_msg_root(const mdt_wire_msg *msg)
{
	return msg != NULL ? &msg->nodes[0] : NULL;
}

int
mdt_wire_msg_error(const mdt_wire_msg *msg, const char **reason,
    const char **detail)
{
	const mdt_wire_val *e, *c;
	const char *s;
	size_t n;
	int code;

	if (msg == NULL || msg->ok != 0)
		return 0;
	e = mdt_wire_map_get(&msg->nodes[0], "error");
	c = mdt_wire_map_get(e, "code");
	code = mdt_wire_val_str(c, &s, &n) == 0 ? mdt_wire_code_parse(s) :
	    -MDT_EPROTO;
	if (code == 0)
		code = -MDT_EPROTO; /* ok:false must carry a failure */
	if (reason != NULL)
		*reason = mdt_wire_val_str(mdt_wire_map_get(e, "reason"), &s,
		    &n) == 0 ? s : NULL;
	if (detail != NULL)
		*detail = mdt_wire_val_str(mdt_wire_map_get(e, "detail"), &s,
		    &n) == 0 ? s : NULL;
	return code;
}

mdt_wire_type
mdt_wire_val_type(const mdt_wire_val *v)
{
	return v != NULL ? v->type : MDT_WIRE_NIL;
}

const mdt_wire_val *
mdt_wire_map_get(const mdt_wire_val *m, const char *key)
{
	size_t klen;

	if (m == NULL || m->type != MDT_WIRE_MAP || key == NULL)
		return NULL;
	klen = strlen(key);
	for (size_t i = 0; i < m->n; i++) {
		const mdt_wire_val *k = &m->u.items[2 * i];
		if (k->n == klen && memcmp(k->u.p, key, klen) == 0)
			return &m->u.items[2 * i + 1];
	}
	return NULL;
}

size_t
mdt_wire_val_count(const mdt_wire_val *v)
{
	if (v == NULL || (v->type != MDT_WIRE_MAP && v->type != MDT_WIRE_ARRAY))
		return 0;
	return v->n;
}

const mdt_wire_val *
mdt_wire_array_at(const mdt_wire_val *a, size_t i)
{
	if (a == NULL || a->type != MDT_WIRE_ARRAY || i >= a->n)
		return NULL;
	return &a->u.items[i];
}

const mdt_wire_val *
mdt_wire_map_entry(const mdt_wire_val *m, size_t i, const char **key)
{
	if (m == NULL || m->type != MDT_WIRE_MAP || i >= m->n)
		return NULL;
	if (key != NULL)
		*key = (const char *)m->u.items[2 * i].u.p;
	return &m->u.items[2 * i + 1];
}

int
mdt_wire_val_str(const mdt_wire_val *v, const char **s, size_t *len)
{
	if (v == NULL || v->type != MDT_WIRE_STR)
		return -MDT_EPROTO;
	if (s != NULL)
		*s = (const char *)v->u.p;
	if (len != NULL)
		*len = v->n;
	return 0;
}

int
mdt_wire_val_bin(const mdt_wire_val *v, const uint8_t **p, size_t *len)
{
	if (v == NULL || v->type != MDT_WIRE_BIN)
		return -MDT_EPROTO;
	if (p != NULL)
		*p = v->u.p;
	if (len != NULL)
		*len = v->n;
	return 0;
}

int
mdt_wire_val_int(const mdt_wire_val *v, int64_t *out)
{
	if (v == NULL || v->type != MDT_WIRE_INT)
		return -MDT_EPROTO;
	if (out != NULL)
		*out = v->u.i;
	return 0;
}

int
mdt_wire_val_bool(const mdt_wire_val *v, bool *out)
{
	if (v == NULL || v->type != MDT_WIRE_BOOL)
		return -MDT_EPROTO;
	if (out != NULL)
		*out = v->u.i != 0;
	return 0;
}

/* Looks up key and checks its type; *present tells a missing field. */
static int
field(const mdt_wire_val *m, const char *key, mdt_wire_type t,
    const char *tname, const mdt_wire_val **out, int *present, char *err,
    size_t errlen)
{
	const mdt_wire_val *v = mdt_wire_map_get(m, key);

	*present = v != NULL;
	if (v == NULL)
		return 0;
	if (v->type != t) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "field %s: expected %s", key, tname);
		return -MDT_EPROTO;
	}
	*out = v;
	return 0;
}

static int
missing(const char *key, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "missing field %s", key);
	return -MDT_EPROTO;
}

static int
too_long(const char *key, size_t max, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "field %s: longer than %zu bytes", key,
		    max);
	return -MDT_ETOOBIG;
}

int
mdt_wire_get_str_opt(const mdt_wire_val *m, const char *key, size_t max,
    const char **s, int *present, char *err, size_t errlen)
{
	const mdt_wire_val *v = NULL;
	int rc = field(m, key, MDT_WIRE_STR, "string", &v, present, err,
	    errlen);

	if (rc != 0 || !*present)
		return rc;
	if (v->n > max)
		return too_long(key, max, err, errlen);
	*s = (const char *)v->u.p;
	return 0;
}

int
mdt_wire_get_str(const mdt_wire_val *m, const char *key, size_t max,
    const char **s, char *err, size_t errlen)
{
	int present;
	int rc = mdt_wire_get_str_opt(m, key, max, s, &present, err, errlen);

	if (rc == 0 && !present)
		return missing(key, err, errlen);
	return rc;
}

int
mdt_wire_get_bin_opt(const mdt_wire_val *m, const char *key, size_t max,
    const uint8_t **p, size_t *len, int *present, char *err, size_t errlen)
{
	const mdt_wire_val *v = NULL;
	int rc = field(m, key, MDT_WIRE_BIN, "binary", &v, present, err,
	    errlen);

	if (rc != 0 || !*present)
		return rc;
	if (v->n > max)
		return too_long(key, max, err, errlen);
	*p = v->u.p;
	*len = v->n;
	return 0;
}

int
mdt_wire_get_bin(const mdt_wire_val *m, const char *key, size_t max,
    const uint8_t **p, size_t *len, char *err, size_t errlen)
{
	int present;
	int rc = mdt_wire_get_bin_opt(m, key, max, p, len, &present, err,
	    errlen);

	if (rc == 0 && !present)
		return missing(key, err, errlen);
	return rc;
}

int
mdt_wire_get_int_opt(const mdt_wire_val *m, const char *key, int64_t min,
    int64_t max, int64_t *out, int *present, char *err, size_t errlen)
{
	const mdt_wire_val *v = NULL;
	int rc = field(m, key, MDT_WIRE_INT, "integer", &v, present, err,
	    errlen);

	if (rc != 0 || !*present)
		return rc;
	if (v->u.i < min || v->u.i > max) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen,
			    "field %s: %lld outside %lld..%lld", key,
			    (long long)v->u.i, (long long)min, (long long)max);
		return -MDT_EPROTO;
	}
	*out = v->u.i;
	return 0;
}

int
mdt_wire_get_int(const mdt_wire_val *m, const char *key, int64_t min,
    int64_t max, int64_t *out, char *err, size_t errlen)
{
	int present;
	int rc = mdt_wire_get_int_opt(m, key, min, max, out, &present, err,
	    errlen);

	if (rc == 0 && !present)
		return missing(key, err, errlen);
	return rc;
}

/*
 * JSON views of audit records (export lines, the task-tree document):
 * every chained column under its own name, text exactly as stored, blobs
 * as lowercase hex, so a record can be re-hashed from its export.
 */
#include <string.h>

#include <jansson.h>

#include "alloc_int.h"
#include "core_int.h"

/* Text that is not UTF-8 (only a tampered file has that), as hex. */
static json_t *
bytes_json(const mdt__val *v)
{
	char *hex = mdt__malloc(2 * v->len + 1);
	json_t *o;

	if (hex == NULL)
		return NULL;
	mdt__hex(v->p, v->len, hex);
	o = json_pack("{s:s}", "invalid_utf8_hex", hex);
	mdt__free(hex);
	return o;
}

static json_t *
val_json(const mdt__val *v)
{
	char hex[2 * MDT_STORE_HASH_BYTES + 1];
	json_t *s;

	switch (v->type) {
	case 'T':
		s = json_stringn(v->p, v->len);
		return s != NULL ? s : bytes_json(v);
	case 'I':
		return json_integer(v->i);
	case 'B':
		if (v->len > MDT_STORE_HASH_BYTES)
			return json_string("(oversized blob)");
		mdt__hex(v->p, v->len, hex);
		return json_string(hex);
	default:
		return json_null();
	}
}

json_t *
mdt__vals_json(const mdt__kind_desc *d, uint64_t seq, const mdt__val *vals)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (json_object_set_new(o, "seq", json_integer((json_int_t)seq)) != 0 ||
	    json_object_set_new(o, "kind", json_string(d->name)) != 0)
		goto fail;
	for (size_t i = 0; i < d->ncols; i++) {
		json_t *v = val_json(&vals[i]);
		if (v == NULL || json_object_set_new(o, d->cols[i].name, v) != 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *
mdt__struct_json(int kind, const void *rec)
{
	const mdt__kind_desc *d = mdt__kind_get(kind);
	mdt__val vals[MDT__COLS_MAX];
	uint64_t seq;

	memcpy(&seq, (const unsigned char *)rec + d->seq_off, sizeof(seq));
	mdt__kind_vals(d, rec, vals);
	return mdt__vals_json(d, seq, vals);
}

/*
 * Structure on top of the canonical reader: table-driven maps with
 * ascending integer keys, and skipping a whole value.
 */
#include <mandate/common.h>

#include "codec_int.h"

static const mdt__mp_field *
find_field(const mdt__mp_field *fields, size_t n, uint64_t key)
{
	for (size_t i = 0; i < n; i++)
		if (fields[i].key == key)
			return &fields[i];
	return NULL;
}

int
mdt__mp_read_fields(mdt__mp_reader *r, const mdt__mp_field *fields,
    size_t nfields, void *ctx, uint64_t *seen)
{
	size_t n;
	uint64_t prev = 0, key, mask = 0;
	int rc = mdt__mp_read_map(r, &n, 64);

	if (rc != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const mdt__mp_field *f;
		size_t at = r->off;

		if ((rc = mdt__mp_read_uint(r, &key)) != 0)
			return rc;
		if (i > 0 && key <= prev) {
			r->off = at;
			return mdt__mp_fail(r, -MDT_EDECODE,
			    "map key %llu %s", (unsigned long long)key,
			    key == prev ? "repeated" : "out of ascending order");
		}
		f = key < 64 ? find_field(fields, nfields, key) : NULL;
		if (f == NULL) {
			r->off = at;
			return mdt__mp_fail(r, -MDT_EDECODE,
			    "unknown field key %llu", (unsigned long long)key);
		}
		if ((rc = f->read(r, f, ctx)) != 0)
			return mdt__mp_fail(r, rc, "field %s", f->name);
		mask |= 1ull << key;
		prev = key;
	}
	mdt__mp_leave(r);
	*seen = mask;
	return 0;
}

static int skip_value(mdt__mp_reader *r);

static int
skip_entries(mdt__mp_reader *r, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		if ((rc = skip_value(r)) != 0)
			return rc;
	mdt__mp_leave(r);
	return 0;
}

/* Recursion is bounded by the reader's depth limit (read_container). */
static int
skip_value(mdt__mp_reader *r)
{
	mdt__mp_kind k = MDT__MP_OTHER;
	uint64_t u;
	int64_t i;
	int b;
	const uint8_t *p;
	const char *s;
	size_t n;
	int rc = mdt__mp_peek(r, &k);

	if (rc != 0)
		return rc;
	switch (k) {
	case MDT__MP_NIL:
		return mdt__mp_read_nil(r);
	case MDT__MP_BOOL:
		return mdt__mp_read_bool(r, &b);
	case MDT__MP_UINT:
		return mdt__mp_read_uint(r, &u);
	case MDT__MP_NINT:
		return mdt__mp_read_int(r, &i);
	case MDT__MP_STR:
		return mdt__mp_read_str(r, &s, &n, SIZE_MAX);
	case MDT__MP_BIN:
		return mdt__mp_read_bin(r, &p, &n, SIZE_MAX);
	case MDT__MP_ARRAY:
		if ((rc = mdt__mp_read_array(r, &n, SIZE_MAX)) != 0)
			return rc;
		return skip_entries(r, n);
	case MDT__MP_MAP:
		if ((rc = mdt__mp_read_map(r, &n, SIZE_MAX / 2)) != 0)
			return rc;
		return skip_entries(r, 2 * n);
	case MDT__MP_OTHER:
	default:
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "tag 0x%02x is not allowed", r->buf[r->off]);
	}
}

int
mdt__mp_skip(mdt__mp_reader *r)
{
	return skip_value(r);
}

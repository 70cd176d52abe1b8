/*
 * Structure on top of the canonical reader: table-driven maps with
 * ascending integer keys, string keys, and skipping a whole value.
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

int
mdt__mp_read_key(mdt__mp_reader *r, const char **s, size_t *n, size_t max)
{
	size_t at = r->off;
	uint8_t b;
	int rc;

	if (at >= r->len)
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "truncated: map key expected, input ends");
	b = r->buf[at];
	if (!((b >= 0xa0 && b <= 0xbf) || b == 0xd9))
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "map key is not a short string");
	if ((rc = mdt__mp_read_str(r, s, n, SIZE_MAX)) != 0)
		return rc;
	if (*n == 0 || *n > max) {
		r->off = at;
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "map key empty or longer than %zu bytes", max);
	}
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

/* Recursion is bounded by the reader's depth limit. */
static int
skip_value(mdt__mp_reader *r)
{
	mdt__mp_item it;
	int rc = mdt__mp_read_item(r, &it, SIZE_MAX, SIZE_MAX / 2);

	if (rc != 0 || (it.kind != MDT__MP_ARRAY && it.kind != MDT__MP_MAP))
		return rc;
	return skip_entries(r, it.kind == MDT__MP_MAP ? 2 * it.n : it.n);
}

int
mdt__mp_skip(mdt__mp_reader *r)
{
	return skip_value(r);
}

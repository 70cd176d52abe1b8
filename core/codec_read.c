/*
 * The strict canonical msgpack reader (see codec_int.h): every header is
 * checked for its shortest form before its value is used, and every length
 * against both the caller's bound and the bytes that remain.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mandate/common.h>

#include "codec_int.h"

void
mdt__mp_reader_init(mdt__mp_reader *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->off = 0;
	r->depth = 0;
	r->max_depth = MDT__MP_DEPTH_MAX;
	r->text_refuse = MDT__UTF8_CONTROLS;
	r->err[0] = '\0';
}

int
mdt__mp_fail(mdt__mp_reader *r, int status, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->err[0] != '\0')
		return status;
	n = snprintf(r->err, sizeof(r->err), "byte %zu: ", r->off);
	if (n < 0 || (size_t)n >= sizeof(r->err))
		return status;
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return status;
}

/* Big-endian integer of n bytes at p. */
static uint64_t
be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * The header byte's kind and the width of the length/value that follows
 * it; for fix forms the value is in the byte itself.
 */
typedef struct head {
	mdt__mp_kind kind;
	size_t width;     /* bytes after the tag holding value or length */
	uint64_t fixval;  /* value of fix forms (width 0) */
	int neg;          /* negative integer forms */
} head;

static int
classify_fix(uint8_t b, head *h)
{
	h->width = 0;
	h->neg = 0;
	if (b <= 0x7f) {
		h->kind = MDT__MP_UINT;
		h->fixval = b;
	} else if (b <= 0x8f) {
		h->kind = MDT__MP_MAP;
		h->fixval = b & 0x0fu;
	} else if (b <= 0x9f) {
		h->kind = MDT__MP_ARRAY;
		h->fixval = b & 0x0fu;
	} else if (b <= 0xbf) {
		h->kind = MDT__MP_STR;
		h->fixval = b & 0x1fu;
	} else if (b >= 0xe0) {
		h->kind = MDT__MP_NINT;
		h->neg = 1;
		h->fixval = b;
	} else {
		return 0;
	}
	return 1;
}

/* Tags 0xc0..0xdf: kind and width; 0 for float/ext/reserved. */
static const struct {
	uint8_t tag;
	mdt__mp_kind kind;
	uint8_t width;
} tagtab[] = {
	{0xc0, MDT__MP_NIL, 0}, {0xc2, MDT__MP_BOOL, 0}, {0xc3, MDT__MP_BOOL, 0},
	{0xc4, MDT__MP_BIN, 1}, {0xc5, MDT__MP_BIN, 2}, {0xc6, MDT__MP_BIN, 4},
	{0xcc, MDT__MP_UINT, 1}, {0xcd, MDT__MP_UINT, 2},
	{0xce, MDT__MP_UINT, 4}, {0xcf, MDT__MP_UINT, 8},
	{0xd0, MDT__MP_NINT, 1}, {0xd1, MDT__MP_NINT, 2},
	{0xd2, MDT__MP_NINT, 4}, {0xd3, MDT__MP_NINT, 8},
	{0xd9, MDT__MP_STR, 1}, {0xda, MDT__MP_STR, 2}, {0xdb, MDT__MP_STR, 4},
	{0xdc, MDT__MP_ARRAY, 2}, {0xdd, MDT__MP_ARRAY, 4},
	{0xde, MDT__MP_MAP, 2}, {0xdf, MDT__MP_MAP, 4},
};

static int
classify(uint8_t b, head *h)
{
	if (classify_fix(b, h))
		return 1;
	for (size_t i = 0; i < sizeof(tagtab) / sizeof(tagtab[0]); i++) {
		if (tagtab[i].tag == b) {
			h->kind = tagtab[i].kind;
			h->width = tagtab[i].width;
			h->fixval = b;
			h->neg = tagtab[i].kind == MDT__MP_NINT;
			return 1;
		}
	}
	h->kind = MDT__MP_OTHER;
	return 0;
}

int
mdt__mp_peek(mdt__mp_reader *r, mdt__mp_kind *kind)
{
	head h;

	if (r->off >= r->len)
		return mdt__mp_fail(r, -MDT_EDECODE, "unexpected end of input");
	classify(r->buf[r->off], &h);
	*kind = h.kind;
	return 0;
}

/*
 * Reads a header of the expected kind: *v is the value (integers) or the
 * length (containers, strings, binaries).  Enforces the shortest width.
 */
static int
read_head(mdt__mp_reader *r, mdt__mp_kind want, const char *what,
    uint64_t *v, head *h)
{
	*v = 0;
	*h = (head){MDT__MP_OTHER, 0, 0, 0};
	if (r->off >= r->len)
		return mdt__mp_fail(r, -MDT_EDECODE, "%s expected, input ends",
		    what);
	if (!classify(r->buf[r->off], h) || h->kind != want)
		return mdt__mp_fail(r, -MDT_EDECODE, "%s expected, tag 0x%02x",
		    what, r->buf[r->off]);
	if (h->width == 0) {
		*v = h->fixval;
		r->off++;
		return 0;
	}
	if (r->len - r->off - 1 < h->width)
		return mdt__mp_fail(r, -MDT_EDECODE, "%s header truncated",
		    what);
	*v = be(r->buf + r->off + 1, h->width);
	r->off += 1 + h->width;
	return 0;
}

/* Smallest width (in bytes after the tag) a length n needs for a kind
 * that has a fix form holding up to fixmax (0 when it has none). */
static size_t
min_len_width(uint64_t n, uint64_t fixmax, int has_w1)
{
	if (fixmax > 0 && n <= fixmax)
		return 0;
	if (has_w1 && n <= 0xff)
		return 1;
	if (n <= 0xffff)
		return 2;
	return 4;
}

static int
check_len_form(mdt__mp_reader *r, const head *h, uint64_t n,
    uint64_t fixmax, int has_w1, const char *what)
{
	if (h->width != min_len_width(n, fixmax, has_w1)) {
		r->off -= 1 + h->width;
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "%s length %llu not in its shortest form", what,
		    (unsigned long long)n);
	}
	return 0;
}

int
mdt__mp_read_nil(mdt__mp_reader *r)
{
	uint64_t v = 0;
	head h;

	return read_head(r, MDT__MP_NIL, "nil", &v, &h);
}

int
mdt__mp_read_bool(mdt__mp_reader *r, int *out)
{
	uint64_t v = 0;
	head h;
	int rc = read_head(r, MDT__MP_BOOL, "boolean", &v, &h);

	if (rc == 0)
		*out = v == 0xc3;
	return rc;
}

int
mdt__mp_read_uint(mdt__mp_reader *r, uint64_t *out)
{
	uint64_t v = 0;
	head h;
	int rc = read_head(r, MDT__MP_UINT, "unsigned integer", &v, &h);
	size_t need;

	if (rc != 0)
		return rc;
	need = v <= 0x7f ? 0 : v <= 0xff ? 1 : v <= 0xffff ? 2 :
	    v <= 0xffffffffu ? 4 : 8;
	if (h.width != need) {
		r->off -= 1 + h.width;
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "integer %llu not in its shortest form",
		    (unsigned long long)v);
	}
	*out = v;
	return 0;
}

/* Sign-extends a big-endian two's complement value of `width` bytes. */
static int64_t
sign_extend(uint64_t v, size_t width)
{
	unsigned bits = (unsigned)(width * 8);

	if (bits < 64 && (v & (1ull << (bits - 1))) != 0)
		v |= ~0ull << bits;
	return (int64_t)v;
}

static int
read_nint(mdt__mp_reader *r, int64_t *out)
{
	uint64_t raw = 0;
	head h;
	int64_t v;
	size_t need;
	int rc = read_head(r, MDT__MP_NINT, "integer", &raw, &h);

	if (rc != 0)
		return rc;
	v = h.width == 0 ? (int64_t)(int8_t)(uint8_t)raw :
	    sign_extend(raw, h.width);
	need = v >= -32 ? 0 : v >= INT8_MIN ? 1 : v >= INT16_MIN ? 2 :
	    v >= INT32_MIN ? 4 : 8;
	if (v >= 0 || h.width != need) {
		r->off -= 1 + h.width;
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "integer %lld not in its shortest form", (long long)v);
	}
	*out = v;
	return 0;
}

int
mdt__mp_read_int(mdt__mp_reader *r, int64_t *out)
{
	mdt__mp_kind k = MDT__MP_OTHER;
	uint64_t u = 0;
	int rc = mdt__mp_peek(r, &k);

	if (rc != 0)
		return rc;
	if (k == MDT__MP_NINT)
		return read_nint(r, out);
	if ((rc = mdt__mp_read_uint(r, &u)) != 0)
		return rc;
	if (u > INT64_MAX)
		return mdt__mp_fail(r, -MDT_EDECODE, "integer out of range");
	*out = (int64_t)u;
	return 0;
}

/* Common part of str and bin: header, form, bound, bytes present. */
static int
read_bytes(mdt__mp_reader *r, mdt__mp_kind kind, const uint8_t **p,
    size_t *n, size_t max)
{
	const char *what = kind == MDT__MP_STR ? "string" : "binary";
	uint64_t len = 0;
	head h;
	int rc = read_head(r, kind, what, &len, &h);

	if (rc != 0)
		return rc;
	rc = check_len_form(r, &h, len, kind == MDT__MP_STR ? 31 : 0, 1, what);
	if (rc != 0)
		return rc;
	if (len > max)
		return mdt__mp_fail(r, -MDT_ETOOBIG,
		    "%s of %llu bytes exceeds %zu", what,
		    (unsigned long long)len, max);
	if (len > r->len - r->off)
		return mdt__mp_fail(r, -MDT_EDECODE, "%s truncated", what);
	*p = r->buf + r->off;
	*n = (size_t)len;
	r->off += (size_t)len;
	return 0;
}

/* What is wrong with the first refused character, led by b then c. */
static const char *
text_fault(uint8_t b, uint8_t c)
{
	if (b == 0)
		return "holds a NUL byte";
	if (b < 0x20 || b == 0x7f || (b == 0xc2 && c >= 0x80 && c <= 0x9f))
		return "holds a control character";
	return "is not valid UTF-8";
}

int
mdt__mp_read_str(mdt__mp_reader *r, const char **s, size_t *n, size_t max)
{
	const uint8_t *p = NULL;
	size_t len = 0, bad;
	int rc = read_bytes(r, MDT__MP_STR, &p, &len, max);

	if (rc != 0)
		return rc;
	bad = mdt__utf8_check((const char *)p, len, r->text_refuse);
	if (bad != len) {
		r->off -= len - bad;
		return mdt__mp_fail(r, -MDT_EDECODE, "string %s",
		    text_fault(p[bad], len - bad > 1 ? p[bad + 1] : 0));
	}
	*s = (const char *)p;
	*n = len;
	return 0;
}

int
mdt__mp_read_bin(mdt__mp_reader *r, const uint8_t **p, size_t *n, size_t max)
{
	return read_bytes(r, MDT__MP_BIN, p, n, max);
}

int
mdt__mp_read_bin_fixed(mdt__mp_reader *r, const uint8_t **p, size_t n)
{
	const uint8_t *q = NULL;
	size_t got = 0;
	size_t start = r->off;
	int rc = read_bytes(r, MDT__MP_BIN, &q, &got, n);

	if (rc != 0)
		return rc;
	if (got != n) {
		r->off = start;
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "binary of %zu bytes, %zu expected", got, n);
	}
	*p = q;
	return 0;
}

static int
read_container(mdt__mp_reader *r, mdt__mp_kind kind, size_t *n, size_t max)
{
	const char *what = kind == MDT__MP_MAP ? "map" : "array";
	uint64_t len = 0;
	head h;
	int rc = read_head(r, kind, what, &len, &h);

	if (rc != 0)
		return rc;
	if ((rc = check_len_form(r, &h, len, 15, 0, what)) != 0)
		return rc;
	if (len > max)
		return mdt__mp_fail(r, -MDT_ETOOBIG,
		    "%s of %llu entries exceeds %zu", what,
		    (unsigned long long)len, max);
	/* Each entry takes at least one byte: cheap early truncation check. */
	if (len > r->len - r->off)
		return mdt__mp_fail(r, -MDT_EDECODE, "%s truncated", what);
	if (r->depth >= r->max_depth)
		return mdt__mp_fail(r, -MDT_ETOOBIG,
		    "nesting deeper than %u", r->max_depth);
	r->depth++;
	*n = (size_t)len;
	return 0;
}

int
mdt__mp_read_array(mdt__mp_reader *r, size_t *n, size_t max)
{
	return read_container(r, MDT__MP_ARRAY, n, max);
}

int
mdt__mp_read_map(mdt__mp_reader *r, size_t *n, size_t max)
{
	return read_container(r, MDT__MP_MAP, n, max);
}

void
mdt__mp_leave(mdt__mp_reader *r)
{
	if (r->depth > 0)
		r->depth--;
}

int
mdt__mp_read_end(mdt__mp_reader *r)
{
	if (r->off != r->len)
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "%zu trailing bytes", r->len - r->off);
	return 0;
}

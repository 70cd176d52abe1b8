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
	r->any_width = 0;
	r->where = "byte";
	r->err[0] = '\0';
}

int
mdt__mp_fail(mdt__mp_reader *r, int status, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->err[0] != '\0')
		return status;
	n = snprintf(r->err, sizeof(r->err), "%s %zu: ", r->where, r->off);
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

/* Tags 0xc0..0xdf, indexed by tag - 0xc0: kind and width (float, ext
 * and reserved tags stay 0, that is no kind). */
static const struct {
	uint8_t kind;
	uint8_t width;
} tagtab[32] = {
	[0x00] = {MDT__MP_NIL, 0}, [0x02] = {MDT__MP_BOOL, 0},
	[0x03] = {MDT__MP_BOOL, 0},
	[0x04] = {MDT__MP_BIN, 1}, [0x05] = {MDT__MP_BIN, 2},
	[0x06] = {MDT__MP_BIN, 4},
	[0x0c] = {MDT__MP_UINT, 1}, [0x0d] = {MDT__MP_UINT, 2},
	[0x0e] = {MDT__MP_UINT, 4}, [0x0f] = {MDT__MP_UINT, 8},
	[0x10] = {MDT__MP_NINT, 1}, [0x11] = {MDT__MP_NINT, 2},
	[0x12] = {MDT__MP_NINT, 4}, [0x13] = {MDT__MP_NINT, 8},
	[0x19] = {MDT__MP_STR, 1}, [0x1a] = {MDT__MP_STR, 2},
	[0x1b] = {MDT__MP_STR, 4},
	[0x1c] = {MDT__MP_ARRAY, 2}, [0x1d] = {MDT__MP_ARRAY, 4},
	[0x1e] = {MDT__MP_MAP, 2}, [0x1f] = {MDT__MP_MAP, 4},
};

static int
classify(uint8_t b, head *h)
{
	if (classify_fix(b, h))
		return 1;
	if (tagtab[b - 0xc0].kind == 0) {
		h->kind = MDT__MP_OTHER;
		return 0;
	}
	h->kind = (mdt__mp_kind)tagtab[b - 0xc0].kind;
	h->width = tagtab[b - 0xc0].width;
	h->fixval = b;
	h->neg = h->kind == MDT__MP_NINT;
	return 1;
}

int
mdt__mp_peek(mdt__mp_reader *r, mdt__mp_kind *kind)
{
	head h;

	if (r->off >= r->len)
		return mdt__mp_fail(r, -MDT_EDECODE, "truncated: input ends");
	classify(r->buf[r->off], &h);
	*kind = h.kind;
	return 0;
}

/* Classifies the tag at r->off without consuming it. */
static int
head_at(mdt__mp_reader *r, head *h, const char *what)
{
	*h = (head){MDT__MP_OTHER, 0, 0, 0};
	if (r->off >= r->len)
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "truncated: %s expected, input ends", what);
	classify(r->buf[r->off], h);
	return 0;
}

/*
 * Consumes the classified header at r->off: *v is the value (integers),
 * the length (strings, binaries, containers) or the tag (nil, booleans).
 */
static int
take_head(mdt__mp_reader *r, const head *h, uint64_t *v, const char *what)
{
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

/* Reads a header of the expected kind. */
static int
read_head(mdt__mp_reader *r, mdt__mp_kind want, const char *what,
    uint64_t *v, head *h)
{
	int rc = head_at(r, h, what);

	*v = 0;
	if (rc != 0)
		return rc;
	if (h->kind != want)
		return mdt__mp_fail(r, -MDT_EDECODE, "%s expected, tag 0x%02x",
		    what, r->buf[r->off]);
	return take_head(r, h, v, what);
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
	if (!r->any_width && h->width != min_len_width(n, fixmax, has_w1)) {
		r->off -= 1 + h->width;
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "%s length %llu not in its shortest form", what,
		    (unsigned long long)n);
	}
	return 0;
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

/* The form of an unsigned integer v just read. */
static int
uint_form(mdt__mp_reader *r, const head *h, uint64_t v)
{
	size_t need = v <= 0x7f ? 0 : v <= 0xff ? 1 : v <= 0xffff ? 2 :
	    v <= 0xffffffffu ? 4 : 8;

	if (!r->any_width && h->width != need) {
		r->off -= 1 + h->width;
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "integer %llu not in its shortest form",
		    (unsigned long long)v);
	}
	return 0;
}

int
mdt__mp_read_uint(mdt__mp_reader *r, uint64_t *out)
{
	uint64_t v = 0;
	head h;
	int rc = read_head(r, MDT__MP_UINT, "unsigned integer", &v, &h);

	if (rc == 0 && (rc = uint_form(r, &h, v)) == 0)
		*out = v;
	return rc;
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

/* The value and form of a signed integer whose header gave raw. */
static int
nint_value(mdt__mp_reader *r, const head *h, uint64_t raw, int64_t *out)
{
	int64_t v = h->width == 0 ? (int64_t)(int8_t)(uint8_t)raw :
	    sign_extend(raw, h->width);
	size_t need = v >= -32 ? 0 : v >= INT8_MIN ? 1 : v >= INT16_MIN ? 2 :
	    v >= INT32_MIN ? 4 : 8;

	if (!r->any_width && (v >= 0 || h->width != need)) {
		r->off -= 1 + h->width;
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "integer %lld not in its shortest form", (long long)v);
	}
	*out = v;
	return 0;
}

/* An unsigned integer v, just read, as an int64. */
static int
uint_as_int(mdt__mp_reader *r, const head *h, uint64_t v, int64_t *out)
{
	int rc = uint_form(r, h, v);

	if (rc != 0)
		return rc;
	if (v > INT64_MAX)
		return mdt__mp_fail(r, -MDT_EDECODE, "integer exceeds int64");
	*out = (int64_t)v;
	return 0;
}

int
mdt__mp_read_int(mdt__mp_reader *r, int64_t *out)
{
	uint64_t v = 0;
	head h;
	int rc = head_at(r, &h, "integer");

	if (rc != 0)
		return rc;
	if (h.kind != MDT__MP_NINT && h.kind != MDT__MP_UINT)
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "integer expected, tag 0x%02x", r->buf[r->off]);
	if ((rc = take_head(r, &h, &v, "integer")) != 0)
		return rc;
	return h.kind == MDT__MP_NINT ? nint_value(r, &h, v, out) :
	    uint_as_int(r, &h, v, out);
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

/* The body of a string or binary whose header gave len: form, bound,
 * bytes present, and the text rule for strings. */
static int
bytes_body(mdt__mp_reader *r, const head *h, uint64_t len, size_t max,
    const uint8_t **p)
{
	int str = h->kind == MDT__MP_STR;
	const char *what = str ? "string" : "binary";
	size_t bad;
	int rc = check_len_form(r, h, len, str ? 31 : 0, 1, what);

	if (rc != 0)
		return rc;
	if (len > max)
		return mdt__mp_fail(r, -MDT_ETOOBIG,
		    "%s of %llu bytes exceeds %zu", what,
		    (unsigned long long)len, max);
	if (len > r->len - r->off)
		return mdt__mp_fail(r, -MDT_EDECODE, "%s truncated", what);
	*p = r->buf + r->off;
	r->off += (size_t)len;
	if (!str)
		return 0;
	bad = mdt__utf8_check((const char *)*p, (size_t)len, r->text_refuse);
	if (bad == len)
		return 0;
	r->off -= (size_t)len - bad;
	return mdt__mp_fail(r, -MDT_EDECODE, "string %s",
	    text_fault((*p)[bad], len - bad > 1 ? (*p)[bad + 1] : 0));
}

static int
read_bytes(mdt__mp_reader *r, mdt__mp_kind kind, const uint8_t **p,
    size_t *n, size_t max)
{
	uint64_t len = 0;
	head h;
	int rc = read_head(r, kind, kind == MDT__MP_STR ? "string" : "binary",
	    &len, &h);

	if (rc == 0 && (rc = bytes_body(r, &h, len, max, p)) == 0)
		*n = (size_t)len;
	return rc;
}

int
mdt__mp_read_str(mdt__mp_reader *r, const char **s, size_t *n, size_t max)
{
	const uint8_t *p = NULL;
	int rc = read_bytes(r, MDT__MP_STR, &p, n, max);

	if (rc == 0)
		*s = (const char *)p;
	return rc;
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

/* Opens a container whose header gave len entries: form, bound, bytes
 * present, nesting. */
static int
container_open(mdt__mp_reader *r, const head *h, uint64_t len, size_t max)
{
	int map = h->kind == MDT__MP_MAP;
	const char *what = map ? "map" : "array";
	int rc = check_len_form(r, h, len, 15, 0, what);

	if (rc != 0)
		return rc;
	if (len > max)
		return mdt__mp_fail(r, -MDT_ETOOBIG,
		    "%s of %llu entries: too many (at most %zu)", what,
		    (unsigned long long)len, max);
	/* Each value takes at least one byte: cheap early truncation check. */
	if ((map ? 2 * len : len) > r->len - r->off)
		return mdt__mp_fail(r, -MDT_EDECODE, "%s truncated", what);
	if (r->depth >= r->max_depth)
		return mdt__mp_fail(r, -MDT_ETOOBIG,
		    "nesting deeper than %u", r->max_depth);
	r->depth++;
	return 0;
}

static int
read_container(mdt__mp_reader *r, mdt__mp_kind kind, size_t *n, size_t max)
{
	uint64_t len = 0;
	head h;
	int rc = read_head(r, kind, kind == MDT__MP_MAP ? "map" : "array",
	    &len, &h);

	if (rc == 0 && (rc = container_open(r, &h, len, max)) == 0)
		*n = (size_t)len;
	return rc;
}

int
mdt__mp_read_item(mdt__mp_reader *r, mdt__mp_item *it, size_t max_array,
    size_t max_map)
{
	uint64_t v = 0;
	head h;
	int rc = head_at(r, &h, "value");

	if (rc != 0)
		return rc;
	if (h.kind == MDT__MP_OTHER)
		return mdt__mp_fail(r, -MDT_EDECODE, "tag 0x%02x is not allowed "
		    "(float, extension or reserved)", r->buf[r->off]);
	if ((rc = take_head(r, &h, &v, "value")) != 0)
		return rc;
	it->kind = h.kind;
	it->n = (size_t)v;
	switch (h.kind) {
	case MDT__MP_BOOL:
		it->i = v == 0xc3;
		return 0;
	case MDT__MP_UINT:
		return uint_as_int(r, &h, v, &it->i);
	case MDT__MP_NINT:
		return nint_value(r, &h, v, &it->i);
	case MDT__MP_STR:
	case MDT__MP_BIN:
		return bytes_body(r, &h, v, SIZE_MAX, &it->p);
	case MDT__MP_ARRAY:
	case MDT__MP_MAP:
		return container_open(r, &h, v,
		    h.kind == MDT__MP_MAP ? max_map : max_array);
	default:
		return 0; /* nil */
	}
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
		    "trailing bytes (%zu)", r->len - r->off);
	return 0;
}

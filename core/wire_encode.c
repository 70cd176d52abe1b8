/*
 * Wire message writer: a bounded byte buffer, a stack of counted
 * containers, and the envelope.  The top-level map header is written last,
 * into room reserved at the front, so callers need not count fields.
 */
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "wire_int.h"

#define HDR_ROOM 3 /* map16 header, enough for MDT_WIRE_MAP_MAX entries */

struct level {
	int is_map;
	size_t left; /* entries/items still expected */
};

struct mdt_wire_writer {
	uint8_t *buf;
	size_t len, cap;
	size_t top_fields;
	int depth;          /* open containers below the top-level map */
	struct level stack[MDT_WIRE_DEPTH_MAX];
	int status;         /* first error, sticky */
	int finished;
	size_t start;       /* where the finished message begins */
};

static int
grow(mdt_wire_writer *w, size_t need)
{
	size_t ncap;
	uint8_t *nb;

	if (w->len + need <= w->cap)
		return 0;
	if (w->len + need > MDT_WIRE_MSG_MAX + HDR_ROOM)
		return -MDT_ETOOBIG;
	ncap = w->cap * 2;
	while (ncap < w->len + need)
		ncap *= 2;
	/* not realloc: a moved buffer would leave its bytes (tokens, their
	 * carried secrets) behind in freed memory */
	nb = mdt__malloc(ncap);
	if (nb == NULL)
		return -MDT_ENOMEM;
	memcpy(nb, w->buf, w->len);
	sodium_memzero(w->buf, w->cap);
	mdt__free(w->buf);
	w->buf = nb;
	w->cap = ncap;
	return 0;
}

static void
raw(mdt_wire_writer *w, const void *p, size_t n)
{
	if (w->status != 0)
		return;
	w->status = grow(w, n);
	if (w->status != 0)
		return;
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void
tagged(mdt_wire_writer *w, uint8_t tag, uint64_t v, size_t width)
{
	uint8_t b[9];

	b[0] = tag;
	for (size_t i = 0; i < width; i++)
		b[1 + i] = (uint8_t)(v >> (8 * (width - 1 - i)));
	raw(w, b, 1 + width);
}

/* Header of a str/bin/array/map: fix form when small, else the sized one.
 * tags = {fix base, fix max, 8-bit tag (0 = none), 16-bit, 32-bit}. */
static void
header(mdt_wire_writer *w, const uint8_t tags[5], uint64_t n)
{
	if (n <= tags[1] && tags[0] != 0)
		tagged(w, (uint8_t)(tags[0] | n), 0, 0);
	else if (n <= 0xff && tags[2] != 0)
		tagged(w, tags[2], n, 1);
	else if (n <= 0xffff)
		tagged(w, tags[3], n, 2);
	else
		tagged(w, tags[4], n, 4);
}

static const uint8_t str_tags[5] = { 0xa0, 31, 0xd9, 0xda, 0xdb };
static const uint8_t bin_tags[5] = { 0, 0, 0xc4, 0xc5, 0xc6 };
static const uint8_t arr_tags[5] = { 0x90, 15, 0, 0xdc, 0xdd };
static const uint8_t map_tags[5] = { 0x80, 15, 0, 0xde, 0xdf };

static void
strbytes(mdt_wire_writer *w, const char *s, size_t n)
{
	header(w, str_tags, n);
	raw(w, s, n);
}

/* Accounts for one value in the current container and writes its key. */
static int
slot(mdt_wire_writer *w, const char *key)
{
	struct level *l = w->depth > 0 ? &w->stack[w->depth - 1] : NULL;
	int in_map = l == NULL || l->is_map;

	if (w->status != 0)
		return w->status;
	if (w->finished || (in_map != (key != NULL)) ||
	    (l != NULL && l->left == 0))
		return w->status = -MDT_EINVAL;
	if (key != NULL && (key[0] == 0 || strlen(key) > MDT_WIRE_KEY_MAX))
		return w->status = -MDT_EINVAL;
	if (l != NULL)
		l->left--;
	else if (++w->top_fields > MDT_WIRE_MAP_MAX)
		return w->status = -MDT_ETOOBIG;
	if (key != NULL)
		strbytes(w, key, strlen(key));
	return w->status;
}

int
mdt_wire_put_str(mdt_wire_writer *w, const char *key, const char *s,
    size_t len)
{
	if (w == NULL || (s == NULL && len > 0))
		return -MDT_EINVAL;
	if (slot(w, key) == 0)
		strbytes(w, s, len);
	return w->status;
}

int
mdt_wire_put_cstr(mdt_wire_writer *w, const char *key, const char *s)
{
	if (s == NULL)
		return w != NULL ? (w->status = -MDT_EINVAL) : -MDT_EINVAL;
	return mdt_wire_put_str(w, key, s, strlen(s));
}

int
mdt_wire_put_bin(mdt_wire_writer *w, const char *key, const void *p,
    size_t len)
{
	if (w == NULL || (p == NULL && len > 0))
		return -MDT_EINVAL;
	if (slot(w, key) == 0) {
		header(w, bin_tags, len);
		raw(w, p, len);
	}
	return w->status;
}

int
mdt_wire_put_int(mdt_wire_writer *w, const char *key, int64_t v)
{
	if (w == NULL)
		return -MDT_EINVAL;
	if (slot(w, key) != 0)
		return w->status;
	if (v >= 0 && v <= 0x7f)
		tagged(w, (uint8_t)v, 0, 0);
	else if (v < 0 && v >= -32)
		tagged(w, (uint8_t)(0x100 + v), 0, 0);
	else if (v > 0)
		tagged(w, v <= 0xff ? 0xcc : v <= 0xffff ? 0xcd :
		    v <= 0xffffffffLL ? 0xce : 0xcf, (uint64_t)v,
		    v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffLL ? 4 : 8);
	else
		tagged(w, v >= -128 ? 0xd0 : v >= -32768 ? 0xd1 :
		    v >= INT32_MIN ? 0xd2 : 0xd3, (uint64_t)v,
		    v >= -128 ? 1 : v >= -32768 ? 2 : v >= INT32_MIN ? 4 : 8);
	return w->status;
}

int
mdt_wire_put_bool(mdt_wire_writer *w, const char *key, bool v)
{
	if (w == NULL)
		return -MDT_EINVAL;
	if (slot(w, key) == 0)
		tagged(w, v ? 0xc3 : 0xc2, 0, 0);
	return w->status;
}

int
mdt_wire_put_nil(mdt_wire_writer *w, const char *key)
{
	if (w == NULL)
		return -MDT_EINVAL;
	if (slot(w, key) == 0)
		tagged(w, 0xc0, 0, 0);
	return w->status;
}

static int
begin(mdt_wire_writer *w, const char *key, size_t n, int is_map)
{
	if (w == NULL)
		return -MDT_EINVAL;
	if (slot(w, key) != 0)
		return w->status;
	if (w->depth + 1 >= MDT_WIRE_DEPTH_MAX ||
	    n > (is_map ? MDT_WIRE_MAP_MAX : MDT_WIRE_ARRAY_MAX))
		return w->status = -MDT_ETOOBIG;
	header(w, is_map ? map_tags : arr_tags, n);
	w->stack[w->depth].is_map = is_map;
	w->stack[w->depth].left = n;
	w->depth++;
	return w->status;
}

int
mdt_wire_begin_map(mdt_wire_writer *w, const char *key, size_t n)
{
	return begin(w, key, n, 1);
}

int
mdt_wire_begin_array(mdt_wire_writer *w, const char *key, size_t n)
{
	return begin(w, key, n, 0);
}

int
mdt_wire_end(mdt_wire_writer *w)
{
	if (w == NULL)
		return -MDT_EINVAL;
	if (w->status != 0)
		return w->status;
	if (w->depth == 0 || w->stack[w->depth - 1].left != 0)
		return w->status = -MDT_EINVAL;
	w->depth--;
	return 0;
}

int
mdt_wire_writer_new(mdt_wire_writer **out, mdt_wire_op op, const char *id,
    int is_reply, int ok)
{
	mdt_wire_writer *w;
	const char *name = mdt_wire_op_name(op);
	size_t idlen = id != NULL ? strlen(id) : 0;

	if (out == NULL || name == NULL || idlen == 0 || idlen > MDT_WIRE_ID_MAX)
		return -MDT_EINVAL;
	for (size_t i = 0; i < idlen; i++)
		if (id[i] < 0x21 || id[i] > 0x7e)
			return -MDT_EINVAL;
	w = mdt__calloc(1, sizeof(*w));
	if (w == NULL)
		return -MDT_ENOMEM;
	w->cap = 256;
	w->buf = mdt__malloc(w->cap);
	if (w->buf == NULL) {
		mdt__free(w);
		return -MDT_ENOMEM;
	}
	w->len = HDR_ROOM;
	/* the status is sticky: checking it once covers every put */
	if (mdt_wire_put_int(w, "v", MDT_WIRE_VERSION) != 0 ||
	    mdt_wire_put_cstr(w, "op", name) != 0 ||
	    mdt_wire_put_cstr(w, "id", id) != 0 ||
	    (is_reply && mdt_wire_put_bool(w, "ok", ok != 0) != 0)) {
		int rc = w->status;
		mdt_wire_writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int
mdt_wire_event_writer_new(mdt_wire_writer **out, const char *topic)
{
	mdt_wire_writer *w;
	size_t tl = topic != NULL ? strlen(topic) : 0;

	if (out == NULL || tl == 0 || tl > MDT_WIRE_KEY_MAX)
		return -MDT_EINVAL;
	w = mdt__calloc(1, sizeof(*w));
	if (w == NULL)
		return -MDT_ENOMEM;
	w->cap = 256;
	w->buf = mdt__malloc(w->cap);
	if (w->buf == NULL) {
		mdt__free(w);
		return -MDT_ENOMEM;
	}
	w->len = HDR_ROOM;
	if (mdt_wire_put_int(w, "v", MDT_WIRE_VERSION) != 0 ||
	    mdt_wire_put_cstr(w, "topic", topic) != 0) {
		int rc = w->status;
		mdt_wire_writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

void
mdt_wire_writer_free(mdt_wire_writer *w)
{
	if (w == NULL)
		return;
	if (w->buf != NULL)
		sodium_memzero(w->buf, w->cap); /* may hold secrets */
	mdt__free(w->buf);
	mdt__free(w);
}

int
mdt_wire_put_error(mdt_wire_writer *w, int status, const char *reason,
    const char *detail)
{
	const char *code = mdt_wire_code_name(status);
	int neg = status > 0 ? -status : status;

	if (w == NULL || code == NULL || neg == 0 || reason == NULL)
		return w != NULL ? (w->status = -MDT_EINVAL) : -MDT_EINVAL;
	if (mdt_wire_begin_map(w, "error", detail != NULL ? 4 : 3) != 0 ||
	    mdt_wire_put_cstr(w, "code", code) != 0 ||
	    mdt_wire_put_int(w, "status", neg) != 0 ||
	    mdt_wire_put_cstr(w, "reason", reason) != 0 ||
	    (detail != NULL && mdt_wire_put_cstr(w, "detail", detail) != 0))
		return w->status;
	return mdt_wire_end(w);
}

int
mdt_wire_writer_finish(mdt_wire_writer *w, const uint8_t **buf, size_t *len)
{
	uint8_t hdr[HDR_ROOM];
	size_t hlen;

	if (w == NULL || buf == NULL || len == NULL)
		return -MDT_EINVAL;
	if (w->status != 0)
		return w->status;
	if (w->depth != 0)
		return w->status = -MDT_EINVAL;
	if (!w->finished) {
		if (w->top_fields <= 15) {
			hdr[0] = (uint8_t)(0x80 | w->top_fields);
			hlen = 1;
		} else {
			hdr[0] = 0xde;
			hdr[1] = (uint8_t)(w->top_fields >> 8);
			hdr[2] = (uint8_t)w->top_fields;
			hlen = 3;
		}
		w->start = HDR_ROOM - hlen;
		memcpy(w->buf + w->start, hdr, hlen);
		w->finished = 1;
		if (w->len - w->start > MDT_WIRE_MSG_MAX)
			return w->status = -MDT_ETOOBIG;
	}
	*buf = w->buf + w->start;
	*len = w->len - w->start;
	return 0;
}

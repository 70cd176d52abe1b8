/*
 * The canonical msgpack writer: msgpack-c's packer (which always picks the
 * shortest form) writing into a bounded buffer.  Callers write map keys in
 * ascending order themselves; strings are checked against the reader's
 * text rule so nothing the writer emits is refused by the reader (unless
 * a user of the layer turns the check off, see codec_int.h).
 */
#include <string.h>

#include <sodium.h>

#include <mandate/common.h>

#include "alloc_int.h"
#include "codec_int.h"

/* Out of line: the packer's appends are many and small, growth rare. */
__attribute__((noinline)) static int
grow(mdt__mp_writer *w, size_t need)
{
	size_t cap = w->cap < 256 ? 256 : w->cap;
	uint8_t *nb;

	/* need <= max (checked by the caller), so this ends. */
	if (cap > w->max)
		cap = w->max;

	while (cap < need)
		cap = cap > w->max / 2 ? w->max : cap * 2;
	if ((nb = mdt__malloc(cap)) == NULL)
		return -MDT_ENOMEM;
	if (w->len > 0)
		memcpy(nb, w->buf, w->len);
	if (w->buf != NULL) {
		/* Buffers may hold secrets: never leave a stale copy. */
		sodium_memzero(w->buf, w->cap);
		mdt__free(w->buf);
	}
	w->buf = nb;
	w->cap = cap;
	return 0;
}

/* The packer's output: a bound, growth (out of line) and the copy. */
static int
sink(void *data, const char *buf, size_t len)
{
	mdt__mp_writer *w = data;

	if (w->status != 0)
		return -1;
	if (len == 0) /* an empty body may come with a NULL pointer */
		return 0;
	if (len > w->cap - w->len) {
		if (!w->owned || len > w->max - w->len) {
			w->status = -MDT_ETOOBIG;
			return -1;
		}
		if ((w->status = grow(w, w->len + len)) != 0)
			return -1;
	}
	/* Most pieces are one-byte headers: no call for those. */
	if (len == 1)
		w->buf[w->len] = (uint8_t)buf[0];
	else
		memcpy(w->buf + w->len, buf, len);
	w->len += len;
	return 0;
}

void
mdt__mp_writer_init(mdt__mp_writer *w, uint8_t *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	w->max = cap;
	w->text_refuse = MDT__UTF8_CONTROLS;
	w->text_checked = 1;
	msgpack_packer_init(&w->pk, w, sink);
}

void
mdt__mp_writer_init_dyn(mdt__mp_writer *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
	w->owned = 1;
	w->text_refuse = MDT__UTF8_CONTROLS;
	w->text_checked = 1;
	msgpack_packer_init(&w->pk, w, sink);
}

void
mdt__mp_writer_dispose(mdt__mp_writer *w)
{
	if (w->owned && w->buf != NULL) {
		sodium_memzero(w->buf, w->cap);
		mdt__free(w->buf);
	}
	w->buf = NULL;
	w->len = w->cap = 0;
}

int
mdt__mp_writer_take(mdt__mp_writer *w, uint8_t **out, size_t *len)
{
	int rc = w->status;

	if (rc == 0 && !w->owned)
		rc = -MDT_EINVAL;
	if (rc == 0 && w->buf == NULL && (rc = grow(w, 1)) != 0)
		w->status = rc;
	if (rc != 0) {
		mdt__mp_writer_dispose(w);
		return rc;
	}
	*out = w->buf;
	*len = w->len;
	w->buf = NULL;
	w->len = w->cap = 0;
	return 0;
}

size_t
mdt__mp_writer_reserve(mdt__mp_writer *w, size_t n)
{
	static const uint8_t zero[16];
	size_t at = w->len;

	/* The packer's own append path: the same bound, growth and wiping. */
	while (n > 0 && w->status == 0) {
		size_t k = n < sizeof(zero) ? n : sizeof(zero);

		sink(w, (const char *)zero, k);
		n -= k;
	}
	return at;
}

int
mdt__mp_writer_status(const mdt__mp_writer *w)
{
	return w->status;
}

void
mdt__mp_write_nil(mdt__mp_writer *w)
{
	msgpack_pack_nil(&w->pk);
}

void
mdt__mp_write_bool(mdt__mp_writer *w, int v)
{
	if (v)
		msgpack_pack_true(&w->pk);
	else
		msgpack_pack_false(&w->pk);
}

void
mdt__mp_write_uint(mdt__mp_writer *w, uint64_t v)
{
	msgpack_pack_uint64(&w->pk, v);
}

void
mdt__mp_write_int(mdt__mp_writer *w, int64_t v)
{
	msgpack_pack_int64(&w->pk, v);
}

void
mdt__mp_write_str(mdt__mp_writer *w, const char *s, size_t n)
{
	if (w->status != 0)
		return;
	if (n > UINT32_MAX || (w->text_checked &&
	    !mdt__utf8_ok(s, n, w->text_refuse))) {
		w->status = -MDT_EINVAL;
		return;
	}
	/* The body goes straight to the sink, not through the packer. */
	msgpack_pack_str(&w->pk, n);
	sink(w, s, n);
}

void
mdt__mp_write_cstr(mdt__mp_writer *w, const char *s)
{
	mdt__mp_write_str(w, s, strlen(s));
}

void
mdt__mp_write_bin(mdt__mp_writer *w, const uint8_t *p, size_t n)
{
	if (w->status != 0)
		return;
	if (n > UINT32_MAX) {
		w->status = -MDT_ETOOBIG;
		return;
	}
	msgpack_pack_bin(&w->pk, n);
	sink(w, (const char *)p, n);
}

void
mdt__mp_write_array(mdt__mp_writer *w, size_t n)
{
	if (n > UINT32_MAX) {
		w->status = -MDT_ETOOBIG;
		return;
	}
	msgpack_pack_array(&w->pk, n);
}

void
mdt__mp_write_map(mdt__mp_writer *w, size_t n)
{
	if (n > UINT32_MAX) {
		w->status = -MDT_ETOOBIG;
		return;
	}
	msgpack_pack_map(&w->pk, n);
}

/*
 * Wire message writer on the msgpack writer of codec_int.h (shortest
 * forms, a bounded buffer that is wiped whenever it grows or is freed),
 * with a stack of counted containers and the envelope.  The top-level map
 * header is written last, into room reserved at the front, so callers
 * need not count fields.
 */
#include <string.h>

#include "alloc_int.h"
#include "codec_int.h"
#include "wire_int.h"

#define HDR_ROOM 3 /* map16 header, enough for MDT_WIRE_MAP_MAX entries */

struct level {
	int is_map;
	size_t left; /* entries/items still expected */
};

struct mdt_wire_writer {
	mdt__mp_writer mp;  /* bytes and the sticky status */
	size_t top_fields;
	int depth;          /* open containers below the top-level map */
	struct level stack[MDT_WIRE_DEPTH_MAX];
	int finished;
	size_t start;       /* where the finished message begins */
};

static int
misuse(mdt_wire_writer *w, int rc)
{
	if (w->mp.status == 0)
		w->mp.status = rc;
	return w->mp.status;
}

/* Accounts for one value in the current container and writes its key. */
static int
slot(mdt_wire_writer *w, const char *key)
{
	struct level *l = w->depth > 0 ? &w->stack[w->depth - 1] : NULL;
	int in_map = l == NULL || l->is_map;
	size_t klen = key != NULL ? strnlen(key, MDT_WIRE_KEY_MAX + 1) : 0;

	if (w->mp.status != 0)
		return w->mp.status;
	if (w->finished || (in_map != (key != NULL)) ||
	    (l != NULL && l->left == 0))
		return misuse(w, -MDT_EINVAL);
	if (key != NULL && (klen == 0 || klen > MDT_WIRE_KEY_MAX))
		return misuse(w, -MDT_EINVAL);
	if (l != NULL)
		l->left--;
	else if (++w->top_fields > MDT_WIRE_MAP_MAX)
		return misuse(w, -MDT_ETOOBIG);
	if (key != NULL)
		mdt__mp_write_str(&w->mp, key, klen);
	return w->mp.status;
}

int
mdt_wire_put_str(mdt_wire_writer *w, const char *key, const char *s,
    size_t len)
{
	if (w == NULL || (s == NULL && len > 0))
		return -MDT_EINVAL;
	if (slot(w, key) == 0)
		mdt__mp_write_str(&w->mp, s, len);
	return w->mp.status;
}

int
mdt_wire_put_cstr(mdt_wire_writer *w, const char *key, const char *s)
{
	if (s == NULL)
		return w != NULL ? misuse(w, -MDT_EINVAL) : -MDT_EINVAL;
	return mdt_wire_put_str(w, key, s, strlen(s));
}

int
mdt_wire_put_bin(mdt_wire_writer *w, const char *key, const void *p,
    size_t len)
{
	if (w == NULL || (p == NULL && len > 0))
		return -MDT_EINVAL;
	if (slot(w, key) == 0)
		mdt__mp_write_bin(&w->mp, p, len);
	return w->mp.status;
}

int
mdt_wire_put_int(mdt_wire_writer *w, const char *key, int64_t v)
{
	if (w == NULL)
		return -MDT_EINVAL;
	if (slot(w, key) == 0)
		mdt__mp_write_int(&w->mp, v);
	return w->mp.status;
}

int
mdt_wire_put_bool(mdt_wire_writer *w, const char *key, bool v)
{
	if (w == NULL)
		return -MDT_EINVAL;
	if (slot(w, key) == 0)
		mdt__mp_write_bool(&w->mp, v);
	return w->mp.status;
}

int
mdt_wire_put_nil(mdt_wire_writer *w, const char *key)
{
	if (w == NULL)
		return -MDT_EINVAL;
	if (slot(w, key) == 0)
		mdt__mp_write_nil(&w->mp);
	return w->mp.status;
}

static int
begin(mdt_wire_writer *w, const char *key, size_t n, int is_map)
{
	if (w == NULL)
		return -MDT_EINVAL;
	if (slot(w, key) != 0)
		return w->mp.status;
	if (w->depth + 1 >= MDT_WIRE_DEPTH_MAX ||
	    n > (is_map ? MDT_WIRE_MAP_MAX : MDT_WIRE_ARRAY_MAX))
		return misuse(w, -MDT_ETOOBIG);
	if (is_map)
		mdt__mp_write_map(&w->mp, n);
	else
		mdt__mp_write_array(&w->mp, n);
	w->stack[w->depth].is_map = is_map;
	w->stack[w->depth].left = n;
	w->depth++;
	return w->mp.status;
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
	if (w->mp.status != 0)
		return w->mp.status;
	if (w->depth == 0 || w->stack[w->depth - 1].left != 0)
		return misuse(w, -MDT_EINVAL);
	w->depth--;
	return 0;
}

/*
 * A writer with room for the top-level map header; NULL when out of
 * memory.  Strings are not checked here (wire.h: the caller's to keep
 * valid UTF-8 without NUL); the receiving decoder refuses what breaks the
 * rule, and every broker string comes from a decoded message, a
 * validated record or the program's own text.
 */
static mdt_wire_writer *
writer_alloc(void)
{
	mdt_wire_writer *w = mdt__calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	mdt__mp_writer_init_dyn(&w->mp, MDT_WIRE_MSG_MAX + HDR_ROOM);
	w->mp.text_refuse = MDT__UTF8_NUL;
	w->mp.text_checked = 0;
	mdt__mp_writer_reserve(&w->mp, HDR_ROOM);
	if (w->mp.status != 0) {
		mdt__mp_writer_dispose(&w->mp);
		mdt__free(w);
		return NULL;
	}
	return w;
}

int
mdt_wire_writer_new(mdt_wire_writer **out, mdt_wire_op op, const char *id,
    int is_reply, int ok)
{
	mdt_wire_writer *w;
	const char *name = mdt_wire_op_name(op);
	size_t idlen = id != NULL ? strlen(id) : 0;

	if (out == NULL || name == NULL || !mdt__wire_id_ok(id, idlen))
		return -MDT_EINVAL;
	if ((w = writer_alloc()) == NULL)
		return -MDT_ENOMEM;
	/* the status is sticky: checking it once covers every put */
	if (mdt_wire_put_int(w, "v", MDT_WIRE_VERSION) != 0 ||
	    mdt_wire_put_cstr(w, "op", name) != 0 ||
	    mdt_wire_put_cstr(w, "id", id) != 0 ||
	    (is_reply && mdt_wire_put_bool(w, "ok", ok != 0) != 0)) {
		int rc = w->mp.status;
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
	if ((w = writer_alloc()) == NULL)
		return -MDT_ENOMEM;
	if (mdt_wire_put_int(w, "v", MDT_WIRE_VERSION) != 0 ||
	    mdt_wire_put_cstr(w, "topic", topic) != 0) {
		int rc = w->mp.status;
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
	mdt__mp_writer_dispose(&w->mp); /* wipes what the message held */
	mdt__free(w);
}

int
mdt_wire_put_error(mdt_wire_writer *w, int status, const char *reason,
    const char *detail)
{
	const char *code = mdt_wire_code_name(status);
	int neg = status > 0 ? -status : status;

	if (w == NULL || code == NULL || neg == 0 || reason == NULL)
		return w != NULL ? misuse(w, -MDT_EINVAL) : -MDT_EINVAL;
	if (mdt_wire_begin_map(w, "error", detail != NULL ? 4 : 3) != 0 ||
	    mdt_wire_put_cstr(w, "code", code) != 0 ||
	    mdt_wire_put_int(w, "status", neg) != 0 ||
	    mdt_wire_put_cstr(w, "reason", reason) != 0 ||
	    (detail != NULL && mdt_wire_put_cstr(w, "detail", detail) != 0))
		return w->mp.status;
	return mdt_wire_end(w);
}

int
mdt_wire_writer_finish(mdt_wire_writer *w, const uint8_t **buf, size_t *len)
{
	uint8_t hdr[HDR_ROOM];
	mdt__mp_writer hw;

	if (w == NULL || buf == NULL || len == NULL)
		return -MDT_EINVAL;
	if (w->mp.status != 0)
		return w->mp.status;
	if (w->depth != 0)
		return misuse(w, -MDT_EINVAL);
	if (!w->finished) {
		mdt__mp_writer_init(&hw, hdr, sizeof(hdr));
		mdt__mp_write_map(&hw, w->top_fields);
		w->start = HDR_ROOM - hw.len;
		memcpy(w->mp.buf + w->start, hdr, hw.len);
		w->finished = 1;
		if (w->mp.len - w->start > MDT_WIRE_MSG_MAX)
			return misuse(w, -MDT_ETOOBIG);
	}
	*buf = w->mp.buf + w->start;
	*len = w->mp.len - w->start;
	return 0;
}

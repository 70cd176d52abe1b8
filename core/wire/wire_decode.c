/*
 * Decoder of wire messages on the msgpack layer of codec_int.h, read in
 * the wire's dialect: any integer or length width, strings valid UTF-8
 * without NUL, string map keys of 1..MDT_WIRE_KEY_MAX bytes without
 * duplicates, and the MDT_WIRE_* bounds.
 *
 * One pass.  The message is copied once; strings and binaries point into
 * the copy, each string NUL-terminated in place (the byte after a string
 * is the next header, which is read from the caller's bytes, never from
 * the copy).  Nodes live in one array that grows as containers are met; a
 * container reserves its items' slots only after the reader has checked
 * that enough bytes remain for them, so nothing is sized from an
 * unchecked claim.  Containers refer to their items by index until the
 * array stops moving.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "codec_int.h"
#include "wire_int.h"

struct dec {
	mdt__mp_reader r;
	struct mdt_wire_val *nodes;
	size_t nnodes, cap;
	uint8_t *copy;       /* len + 1 bytes */
};

/* n more node slots; *first is the index of the first. */
static int
reserve(struct dec *d, size_t n, size_t *first)
{
	size_t cap = d->cap;
	struct mdt_wire_val *nb;

	if (n > cap - d->nnodes) {
		while (n > cap - d->nnodes)
			cap *= 2;
		if ((nb = mdt__realloc(d->nodes, cap * sizeof(*nb))) == NULL)
			return mdt__mp_fail(&d->r, -MDT_ENOMEM, "out of memory");
		d->nodes = nb;
		d->cap = cap;
	}
	*first = d->nnodes;
	d->nnodes += n;
	return 0;
}

/* A string or binary at p in the caller's bytes, as node vi. */
static void
keep(struct dec *d, size_t vi, mdt_wire_type t, const uint8_t *p, size_t n)
{
	size_t at = (size_t)(p - d->r.buf);
	struct mdt_wire_val *v = &d->nodes[vi];

	v->type = t;
	v->n = (uint32_t)n;
	v->u.p = d->copy + at;
	if (t == MDT_WIRE_STR)
		d->copy[at + n] = 0;
}

static void
scalar(struct dec *d, size_t vi, mdt_wire_type t, int64_t i)
{
	d->nodes[vi].type = t;
	d->nodes[vi].n = 0;
	d->nodes[vi].u.i = i;
}

static int value(struct dec *d, size_t vi);

/* 1 when key slot i of the map at `first` repeats an earlier key. */
static int
dup_key(const struct dec *d, size_t first, size_t i)
{
	const struct mdt_wire_val *k = &d->nodes[first + 2 * i];

	for (size_t j = 0; j < i; j++) {
		const struct mdt_wire_val *o = &d->nodes[first + 2 * j];
		if (o->n == k->n && memcmp(o->u.p, k->u.p, k->n) == 0)
			return 1;
	}
	return 0;
}

static int
map_key(struct dec *d, size_t first, size_t i)
{
	size_t at = d->r.off;
	const char *s;
	size_t n;
	int rc = mdt__mp_read_key(&d->r, &s, &n, MDT_WIRE_KEY_MAX);

	if (rc != 0)
		return rc;
	keep(d, first + 2 * i, MDT_WIRE_STR, (const uint8_t *)s, n);
	if (dup_key(d, first, i)) {
		d->r.off = at;
		return mdt__mp_fail(&d->r, -MDT_EDECODE, "duplicate map key");
	}
	return 0;
}

static int
container(struct dec *d, size_t vi, const mdt__mp_item *it)
{
	int is_map = it->kind == MDT__MP_MAP;
	size_t first = 0;
	int rc = reserve(d, is_map ? 2 * it->n : it->n, &first);

	if (rc != 0)
		return rc;
	d->nodes[vi].type = is_map ? MDT_WIRE_MAP : MDT_WIRE_ARRAY;
	d->nodes[vi].n = (uint32_t)it->n;
	d->nodes[vi].u.i = (int64_t)first; /* an index until the end */
	for (size_t i = 0; i < it->n; i++) {
		if (is_map && (rc = map_key(d, first, i)) != 0)
			return rc;
		if ((rc = value(d, is_map ? first + 2 * i + 1 : first + i)) != 0)
			return rc;
	}
	mdt__mp_leave(&d->r);
	return 0;
}

static int
value(struct dec *d, size_t vi)
{
	mdt__mp_item it;
	int rc = mdt__mp_read_item(&d->r, &it, MDT_WIRE_ARRAY_MAX,
	    MDT_WIRE_MAP_MAX);

	if (rc != 0)
		return rc;
	switch (it.kind) {
	case MDT__MP_BOOL:
		scalar(d, vi, MDT_WIRE_BOOL, it.i);
		return 0;
	case MDT__MP_UINT:
	case MDT__MP_NINT:
		scalar(d, vi, MDT_WIRE_INT, it.i);
		return 0;
	case MDT__MP_STR:
	case MDT__MP_BIN:
		keep(d, vi, it.kind == MDT__MP_STR ? MDT_WIRE_STR :
		    MDT_WIRE_BIN, it.p, it.n);
		return 0;
	case MDT__MP_ARRAY:
	case MDT__MP_MAP:
		return container(d, vi, &it);
	default:
		scalar(d, vi, MDT_WIRE_NIL, 0);
		return 0;
	}
}

/* Containers' item indexes into pointers, now that the array is final. */
static void
link_items(struct dec *d)
{
	for (size_t i = 0; i < d->nnodes; i++) {
		struct mdt_wire_val *v = &d->nodes[i];
		if (v->type == MDT_WIRE_MAP || v->type == MDT_WIRE_ARRAY)
			v->u.items = &d->nodes[(size_t)v->u.i];
	}
}

static int
run(struct dec *d, const uint8_t *p, size_t len)
{
	mdt__mp_kind k = MDT__MP_OTHER;
	size_t root = 0;
	int rc;

	mdt__mp_reader_init(&d->r, p, len);
	d->r.any_width = 1;
	d->r.text_refuse = MDT__UTF8_NUL;
	d->r.max_depth = MDT_WIRE_DEPTH_MAX;
	d->r.where = "byte offset";
	if (len == 0)
		return mdt__mp_fail(&d->r, -MDT_EDECODE, "empty message");
	if (mdt__mp_peek(&d->r, &k) != 0 || k != MDT__MP_MAP)
		return mdt__mp_fail(&d->r, -MDT_EDECODE, "message is not a map");
	if ((rc = reserve(d, 1, &root)) != 0 || (rc = value(d, root)) != 0)
		return rc;
	if ((rc = mdt__mp_read_end(&d->r)) != 0)
		return rc;
	link_items(d);
	return 0;
}

static int
env_fail(char *err, size_t errlen, int code, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "envelope: %s", what);
	return code;
}

static int
envelope(mdt_wire_msg *m, char *err, size_t errlen)
{
	const mdt_wire_val *root = &m->nodes[0];
	const mdt_wire_val *v = mdt_wire_map_get(root, "v");
	const mdt_wire_val *op = mdt_wire_map_get(root, "op");
	const mdt_wire_val *id = mdt_wire_map_get(root, "id");
	const mdt_wire_val *ok = mdt_wire_map_get(root, "ok");

	if (v == NULL || v->type != MDT_WIRE_INT)
		return env_fail(err, errlen, -MDT_EPROTO, "missing field v");
	if (v->u.i != MDT_WIRE_VERSION)
		return env_fail(err, errlen, -MDT_EVERSION,
		    "unsupported protocol version");
	if (id == NULL || id->type != MDT_WIRE_STR ||
	    !mdt__wire_id_ok((const char *)id->u.p, id->n))
		return env_fail(err, errlen, -MDT_EPROTO,
		    "field id: expected 1..64 printable ASCII bytes "
		    "other than #");
	m->id = (const char *)id->u.p;
	if (op == NULL || op->type != MDT_WIRE_STR)
		return env_fail(err, errlen, -MDT_EPROTO, "missing field op");
	m->op = mdt_wire_op_parse((const char *)op->u.p, op->n);
	if (m->op == MDT_OP_INVALID)
		return env_fail(err, errlen, -MDT_EPROTO, "unknown op");
	if (ok != NULL && ok->type != MDT_WIRE_BOOL)
		return env_fail(err, errlen, -MDT_EPROTO,
		    "field ok: expected bool");
	m->ok = ok == NULL ? -1 : (int)ok->u.i;
	return 0;
}

static int
event_envelope(mdt_wire_msg *m, const char *topic, size_t tl, char *err,
    size_t errlen)
{
	const mdt_wire_val *root = &m->nodes[0];
	const mdt_wire_val *v = mdt_wire_map_get(root, "v");
	const mdt_wire_val *t = mdt_wire_map_get(root, "topic");

	if (v == NULL || v->type != MDT_WIRE_INT)
		return env_fail(err, errlen, -MDT_EPROTO, "missing field v");
	if (v->u.i != MDT_WIRE_VERSION)
		return env_fail(err, errlen, -MDT_EVERSION,
		    "unsupported protocol version");
	if (t == NULL || t->type != MDT_WIRE_STR || t->n != tl ||
	    memcmp(t->u.p, topic, tl) != 0)
		return env_fail(err, errlen, -MDT_EPROTO,
		    "field topic: missing or not the message's topic");
	m->op = MDT_OP_INVALID;
	m->id = (const char *)t->u.p;
	m->ok = -1;
	return 0;
}

static int decode_any(const void *buf, size_t len, mdt_wire_msg **out,
    const char *topic, size_t tl, char *err, size_t errlen);

int
mdt_wire_decode(const void *buf, size_t len, mdt_wire_msg **out, char *err,
    size_t errlen)
{
	return decode_any(buf, len, out, NULL, 0, err, errlen);
}

int
mdt_wire_decode_event(const void *buf, size_t len, mdt_wire_msg **out,
    char *err, size_t errlen)
{
	const uint8_t *p = buf;
	const uint8_t *z = buf != NULL ? memchr(buf, 0,
	    len < MDT_WIRE_KEY_MAX + 1 ? len : MDT_WIRE_KEY_MAX + 1) : NULL;

	if (buf == NULL || out == NULL)
		return -MDT_EINVAL;
	if (z == NULL || z == p) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "byte offset 0: event has no "
			    "topic prefix");
		return -MDT_EDECODE;
	}
	return decode_any(z + 1, len - (size_t)(z + 1 - p), out,
	    (const char *)p, (size_t)(z - p), err, errlen);
}

/* The reader's message (offset and rule) into the caller's buffer. */
static int
dec_fail(const struct dec *d, int rc, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", d->r.err);
	return rc;
}

static int
decode_any(const void *buf, size_t len, mdt_wire_msg **out,
    const char *topic, size_t tl, char *err, size_t errlen)
{
	struct dec d = { .cap = 32 };
	mdt_wire_msg *m;
	int rc;

	if (buf == NULL || out == NULL)
		return -MDT_EINVAL;
	if (len > MDT_WIRE_MSG_MAX) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "byte offset %u: message exceeds "
			    "1 MiB", MDT_WIRE_MSG_MAX);
		return -MDT_ETOOBIG;
	}
	m = mdt__calloc(1, sizeof(*m));
	d.nodes = mdt__malloc(d.cap * sizeof(*d.nodes));
	d.copy = mdt__malloc(len + 1);
	if (m == NULL || d.nodes == NULL || d.copy == NULL) {
		mdt__free(m);
		mdt__free(d.nodes);
		mdt__free(d.copy);
		return -MDT_ENOMEM;
	}
	memcpy(d.copy, buf, len);
	m->nodes = d.nodes;
	m->arena = d.copy;
	m->arena_len = len + 1;
	rc = run(&d, buf, len);
	m->nodes = d.nodes; /* run may have moved them */
	if (rc != 0)
		rc = dec_fail(&d, rc, err, errlen);
	else
		rc = topic != NULL ? event_envelope(m, topic, tl, err, errlen) :
		    envelope(m, err, errlen);
	if (rc != 0) {
		mdt_wire_msg_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

void
mdt_wire_msg_free(mdt_wire_msg *msg)
{
	if (msg == NULL)
		return;
	mdt__free(msg->nodes);
	/* the copy holds the message's bytes: tokens and the secrets they
	 * may carry */
	if (msg->arena != NULL)
		sodium_memzero(msg->arena, msg->arena_len);
	mdt__free(msg->arena);
	mdt__free(msg);
}

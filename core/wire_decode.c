/*
 * Strict, bounded msgpack decoder of wire messages.  Two passes over the
 * bytes: the first validates and counts nodes and string bytes, so the
 * second fills exactly-sized arrays; nothing is allocated from a size the
 * input claims before that claim is checked against the bytes present.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "wire_int.h"

struct dec {
	const uint8_t *p;
	size_t len;
	size_t off;
	size_t nnodes;       /* nodes used (or counted) so far */
	size_t nbytes;       /* arena bytes used (or counted) so far */
	struct mdt_wire_val *nodes; /* NULL in the counting pass */
	uint8_t *arena;
	char *err;
	size_t errlen;
};

static int
fail(struct dec *d, int code, size_t at, const char *what)
{
	if (d->err != NULL && d->errlen > 0)
		snprintf(d->err, d->errlen, "byte offset %zu: %s", at, what);
	return code;
}

static int
take(struct dec *d, size_t n, const uint8_t **out)
{
	if (d->len - d->off < n)
		return fail(d, -MDT_EDECODE, d->off, "truncated message");
	*out = d->p + d->off;
	d->off += n;
	return 0;
}

static uint64_t
be(const uint8_t *b, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << 8) | b[i];
	return v;
}

/* Reads an n-byte big-endian length or value. */
static int
take_be(struct dec *d, size_t n, uint64_t *out)
{
	const uint8_t *b;
	int rc = take(d, n, &b);

	if (rc == 0)
		*out = be(b, n);
	return rc;
}

static int
utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) { k = 1; cp = c & 0x1fu; }
		else if (c >= 0xe0 && c <= 0xef) { k = 2; cp = c & 0x0fu; }
		else if (c >= 0xf0 && c <= 0xf4) { k = 3; cp = c & 0x07u; }
		else return 0;
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3fu);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

static struct mdt_wire_val *
node(struct dec *d)
{
	struct mdt_wire_val *v = d->nodes != NULL ? &d->nodes[d->nnodes] : NULL;

	d->nnodes++;
	return v;
}

static int
bytes(struct dec *d, struct mdt_wire_val *v, mdt_wire_type t, uint64_t n,
    size_t at)
{
	const uint8_t *b;
	int rc;

	if (n > d->len - d->off)
		return fail(d, -MDT_EDECODE, at, "truncated string or binary");
	rc = take(d, (size_t)n, &b);
	if (rc != 0)
		return rc;
	if (t == MDT_WIRE_STR && !utf8_ok(b, (size_t)n))
		return fail(d, -MDT_EDECODE, at,
		    "string is not valid UTF-8 or contains NUL");
	if (v != NULL) {
		v->type = t;
		v->n = (uint32_t)n;
		memcpy(d->arena + d->nbytes, b, (size_t)n);
		d->arena[d->nbytes + n] = 0;
		v->u.p = d->arena + d->nbytes;
	}
	d->nbytes += (size_t)n + 1;
	return 0;
}

static int value(struct dec *d, struct mdt_wire_val *v, int depth);

static int
dup_key(const struct mdt_wire_val *items, size_t nkeys)
{
	const struct mdt_wire_val *k = &items[2 * nkeys];

	for (size_t i = 0; i < nkeys; i++) {
		const struct mdt_wire_val *o = &items[2 * i];
		if (o->n == k->n && memcmp(o->u.p, k->u.p, k->n) == 0)
			return 1;
	}
	return 0;
}

static int
map_key(struct dec *d, struct mdt_wire_val *items, size_t i)
{
	size_t at = d->off;
	uint8_t c = d->off < d->len ? d->p[d->off] : 0;
	int rc;

	if (d->off >= d->len)
		return fail(d, -MDT_EDECODE, at, "truncated message");
	if (!((c >= 0xa0 && c <= 0xbf) || c == 0xd9))
		return fail(d, -MDT_EDECODE, at, "map key is not a short string");
	rc = value(d, items != NULL ? &items[2 * i] : NULL, 1);
	if (rc != 0)
		return rc;
	if (items == NULL)
		return 0;
	if (items[2 * i].n == 0 || items[2 * i].n > MDT_WIRE_KEY_MAX)
		return fail(d, -MDT_EDECODE, at, "map key empty or too long");
	if (dup_key(items, i))
		return fail(d, -MDT_EDECODE, at, "duplicate map key");
	return 0;
}

static int
container(struct dec *d, struct mdt_wire_val *v, mdt_wire_type t,
    uint64_t n, int depth, size_t at)
{
	uint64_t slots = t == MDT_WIRE_MAP ? 2 * n : n;
	struct mdt_wire_val *items = NULL;
	int rc;

	if (depth >= MDT_WIRE_DEPTH_MAX)
		return fail(d, -MDT_ETOOBIG, at, "nesting too deep");
	if ((t == MDT_WIRE_MAP && n > MDT_WIRE_MAP_MAX) ||
	    (t == MDT_WIRE_ARRAY && n > MDT_WIRE_ARRAY_MAX))
		return fail(d, -MDT_ETOOBIG, at, "too many entries");
	if (slots > d->len - d->off)
		return fail(d, -MDT_EDECODE, at, "truncated container");
	if (v != NULL) {
		items = &d->nodes[d->nnodes];
		v->type = t;
		v->n = (uint32_t)n;
		v->u.items = items;
	}
	d->nnodes += (size_t)slots;
	for (size_t i = 0; i < n; i++) {
		if (t == MDT_WIRE_MAP) {
			rc = map_key(d, items, i);
			if (rc == 0)
				rc = value(d, items != NULL ?
				    &items[2 * i + 1] : NULL, depth + 1);
		} else {
			rc = value(d, items != NULL ? &items[i] : NULL,
			    depth + 1);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
integer(struct dec *d, struct mdt_wire_val *v, uint8_t c, size_t at)
{
	static const size_t width[8] = { 1, 2, 4, 8, 1, 2, 4, 8 };
	size_t w = width[(c - 0xcc) & 7];
	uint64_t u;
	int64_t i;
	int rc = take_be(d, w, &u);

	if (rc != 0)
		return rc;
	if (c <= 0xcf) {
		if (u > (uint64_t)INT64_MAX)
			return fail(d, -MDT_EDECODE, at, "integer exceeds int64");
		i = (int64_t)u;
	} else {
		unsigned bits = (unsigned)(w * 8);
		uint64_t sign = (uint64_t)1 << (bits - 1);
		uint64_t mask = bits == 64 ? UINT64_MAX : (sign << 1) - 1;
		/* two's complement by hand: no implementation-defined
		 * conversions, no overflow (~u & mask < 2^63) */
		i = (u & sign) ? -(int64_t)(~u & mask) - 1 : (int64_t)u;
	}
	if (v != NULL) {
		v->type = MDT_WIRE_INT;
		v->u.i = i;
	}
	return 0;
}

static int
scalar(struct mdt_wire_val *v, mdt_wire_type t, int64_t i)
{
	if (v != NULL) {
		v->type = t;
		v->u.i = i;
	}
	return 0;
}

/* Length-prefixed forms: {first byte, type, width of the length}. */
static const struct {
	uint8_t c;
	mdt_wire_type t;
	uint8_t w;
} sized[] = {
	{ 0xc4, MDT_WIRE_BIN, 1 }, { 0xc5, MDT_WIRE_BIN, 2 },
	{ 0xc6, MDT_WIRE_BIN, 4 }, { 0xd9, MDT_WIRE_STR, 1 },
	{ 0xda, MDT_WIRE_STR, 2 }, { 0xdb, MDT_WIRE_STR, 4 },
	{ 0xdc, MDT_WIRE_ARRAY, 2 }, { 0xdd, MDT_WIRE_ARRAY, 4 },
	{ 0xde, MDT_WIRE_MAP, 2 }, { 0xdf, MDT_WIRE_MAP, 4 },
};

static int
sized_value(struct dec *d, struct mdt_wire_val *v, mdt_wire_type t,
    uint64_t n, int depth, size_t at)
{
	if (t == MDT_WIRE_STR || t == MDT_WIRE_BIN)
		return bytes(d, v, t, n, at);
	return container(d, v, t, n, depth, at);
}

static int
value(struct dec *d, struct mdt_wire_val *v, int depth)
{
	size_t at = d->off;
	const uint8_t *b;
	uint64_t n;
	uint8_t c;
	int rc = take(d, 1, &b);

	if (rc != 0)
		return rc;
	c = *b;
	if (c <= 0x7f)
		return scalar(v, MDT_WIRE_INT, c);
	if (c >= 0xe0)
		return scalar(v, MDT_WIRE_INT, (int64_t)c - 256);
	if (c <= 0x8f)
		return container(d, v, MDT_WIRE_MAP, c & 0x0fu, depth, at);
	if (c <= 0x9f)
		return container(d, v, MDT_WIRE_ARRAY, c & 0x0fu, depth, at);
	if (c <= 0xbf)
		return bytes(d, v, MDT_WIRE_STR, c & 0x1fu, at);
	if (c == 0xc0)
		return scalar(v, MDT_WIRE_NIL, 0);
	if (c == 0xc2 || c == 0xc3)
		return scalar(v, MDT_WIRE_BOOL, c == 0xc3);
	if (c >= 0xcc && c <= 0xd3)
		return integer(d, v, c, at);
	for (size_t i = 0; i < sizeof(sized) / sizeof(sized[0]); i++) {
		if (sized[i].c != c)
			continue;
		rc = take_be(d, sized[i].w, &n);
		if (rc != 0)
			return rc;
		return sized_value(d, v, sized[i].t, n, depth, at);
	}
	return fail(d, -MDT_EDECODE, at,
	    "unsupported msgpack type (float, extension or reserved)");
}

static int
run(struct dec *d)
{
	int rc;

	d->off = 0;
	d->nnodes = 0;
	d->nbytes = 0;
	if (d->len == 0)
		return fail(d, -MDT_EDECODE, 0, "empty message");
	if (!(d->p[0] >= 0x80 && d->p[0] <= 0x8f) && d->p[0] != 0xde &&
	    d->p[0] != 0xdf)
		return fail(d, -MDT_EDECODE, 0, "message is not a map");
	rc = value(d, node(d), 0);
	if (rc == 0 && d->off != d->len)
		return fail(d, -MDT_EDECODE, d->off, "trailing bytes");
	return rc;
}

static int
env_fail(char *err, size_t errlen, int code, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "envelope: %s", what);
	return code;
}

static int
id_ok(const char *s, size_t n)
{
	if (n == 0 || n > MDT_WIRE_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
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
	    !id_ok((const char *)id->u.p, id->n))
		return env_fail(err, errlen, -MDT_EPROTO,
		    "field id: expected 1..64 printable ASCII bytes");
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

static int
decode_any(const void *buf, size_t len, mdt_wire_msg **out,
    const char *topic, size_t tl, char *err, size_t errlen)
{
	struct dec d = { .p = buf, .len = len, .err = err, .errlen = errlen };
	mdt_wire_msg *m;
	int rc;

	if (buf == NULL || out == NULL)
		return -MDT_EINVAL;
	if (len > MDT_WIRE_MSG_MAX)
		return fail(&d, -MDT_ETOOBIG, MDT_WIRE_MSG_MAX,
		    "message exceeds 1 MiB");
	rc = run(&d);
	if (rc != 0)
		return rc;
	m = mdt__calloc(1, sizeof(*m));
	if (m == NULL)
		return -MDT_ENOMEM;
	m->nodes = mdt__calloc(d.nnodes, sizeof(*m->nodes));
	m->arena = mdt__malloc(d.nbytes + 1);
	m->arena_len = m->arena != NULL ? d.nbytes + 1 : 0;
	if (m->nodes == NULL || m->arena == NULL) {
		mdt_wire_msg_free(m);
		return -MDT_ENOMEM;
	}
	d.nodes = m->nodes;
	d.arena = m->arena;
	rc = run(&d);
	if (rc == 0)
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
	/* the arena holds the message's strings and binaries: tokens and
	 * the secrets they may carry */
	if (msg->arena != NULL)
		sodium_memzero(msg->arena, msg->arena_len);
	mdt__free(msg->arena);
	mdt__free(msg);
}

/*
 * The broker's publish/subscribe events: decoding one published message
 * (topic, 0x00, msgpack map) into an mdt_event, and the mdt_event_sub
 * handle over an nng sub0 socket.  Events are untrusted input: sizes,
 * counts and types are bounded and checked; a malformed event is skipped.
 */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "sdk_int.h"

#define EVENT_IDS_MAX 65536

struct mdt_event_sub {
	nng_socket sock;
	sdk_event_buf buf;
};

typedef struct topic_kind {
	const char *topic;
	mdt_event_kind kind;
} topic_kind;

static const topic_kind topics[] = {
	{"revoke", MDT_EVENT_REVOKED},
	{"stepup", MDT_EVENT_STEP_UP},
	{"task", MDT_EVENT_TASK},
	{"decided", MDT_EVENT_DECIDED},
};

/* String fields of an event map and where they go in mdt_event. */
typedef struct str_field {
	const char *key;
	size_t off;
} str_field;

static const str_field str_fields[] = {
	{"task", offsetof(mdt_event, task_id)},
	{"parent", offsetof(mdt_event, parent)},
	{"stepup", offsetof(mdt_event, request_id)},
	{"agent", offsetof(mdt_event, agent)},
	{"clinician", offsetof(mdt_event, clinician)},
	{"patient", offsetof(mdt_event, patient)},
	{"purpose", offsetof(mdt_event, purpose)},
	{"action", offsetof(mdt_event, action)},
	{"resource", offsetof(mdt_event, resource)},
	{"event", offsetof(mdt_event, detail)},
	{"reason", offsetof(mdt_event, detail)},
	{"decision", offsetof(mdt_event, detail)},
};

void
sdk_event_buf_clear(sdk_event_buf *b)
{
	free(b->arena);
	free(b->ids);
	msgpack_unpacked_destroy(&b->up);
	memset(b, 0, sizeof(*b));
}

static int
key_is(const msgpack_object *k, const char *name)
{
	size_t n = strlen(name);

	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	    memcmp(k->via.str.ptr, name, n) == 0;
}

/* Copies a msgpack string into the arena as a NUL-terminated string. */
static const char *
arena_str(sdk_event_buf *b, const msgpack_object *o)
{
	char *s = b->arena + b->used;

	memcpy(s, o->via.str.ptr, o->via.str.size);
	s[o->via.str.size] = '\0';
	b->used += o->via.str.size + 1;
	return s;
}

/* Bytes of arena the strings of map m need (each + NUL), or 0 on a type
 * error in a known field. */
static size_t
arena_need(const msgpack_object_map *m)
{
	size_t need = 1;

	for (uint32_t i = 0; i < m->size; i++) {
		const msgpack_object *v = &m->ptr[i].val;
		if (v->type == MSGPACK_OBJECT_STR)
			need += v->via.str.size + 1;
		if (v->type == MSGPACK_OBJECT_ARRAY)
			for (uint32_t j = 0; j < v->via.array.size; j++)
				if (v->via.array.ptr[j].type ==
				    MSGPACK_OBJECT_STR)
					need += v->via.array.ptr[j].via.str.size
					    + 1;
	}
	return need;
}

static int
decode_ids(sdk_event_buf *b, const msgpack_object *v, mdt_event *ev)
{
	const msgpack_object_array *a = &v->via.array;

	if (v->type != MSGPACK_OBJECT_ARRAY || a->size > EVENT_IDS_MAX ||
	    b->ids != NULL)
		return -MDT_EPROTO;
	if ((b->ids = calloc(a->size + 1, sizeof(*b->ids))) == NULL)
		return -MDT_ENOMEM;
	for (uint32_t j = 0; j < a->size; j++) {
		if (a->ptr[j].type != MSGPACK_OBJECT_STR)
			return -MDT_EPROTO;
		b->ids[j] = arena_str(b, &a->ptr[j]);
	}
	ev->ids = b->ids;
	ev->nids = a->size;
	return 0;
}

static int
decode_int(const msgpack_object *v, int64_t *out)
{
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    v->via.u64 <= INT64_MAX)
		*out = (int64_t)v->via.u64;
	else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*out = v->via.i64;
	else
		return -MDT_EPROTO;
	return 0;
}

static int
decode_entry(sdk_event_buf *b, const msgpack_object_kv *kv, mdt_event *ev)
{
	if (key_is(&kv->key, "tasks"))
		return decode_ids(b, &kv->val, ev);
	if (key_is(&kv->key, "time"))
		return decode_int(&kv->val, &ev->time);
	if (key_is(&kv->key, "expires"))
		return decode_int(&kv->val, &ev->expires);
	for (size_t i = 0; i < sizeof(str_fields) / sizeof(*str_fields); i++) {
		if (!key_is(&kv->key, str_fields[i].key))
			continue;
		if (kv->val.type != MSGPACK_OBJECT_STR)
			return -MDT_EPROTO;
		*(const char **)((char *)ev + str_fields[i].off) =
		    arena_str(b, &kv->val);
	}
	return 0; /* unknown fields: later protocol additions */
}

static void
event_defaults(mdt_event *ev)
{
	static const char empty[] = "";

	memset(ev, 0, sizeof(*ev));
	for (size_t i = 0; i < sizeof(str_fields) / sizeof(*str_fields); i++)
		*(const char **)((char *)ev + str_fields[i].off) = empty;
}

static int
event_kind(const uint8_t *buf, size_t len, size_t *body, mdt_event_kind *k)
{
	const uint8_t *nul = memchr(buf, 0, len);

	if (nul == NULL)
		return -MDT_EPROTO;
	for (size_t i = 0; i < sizeof(topics) / sizeof(*topics); i++) {
		size_t n = strlen(topics[i].topic);
		if ((size_t)(nul - buf) == n &&
		    memcmp(buf, topics[i].topic, n) == 0) {
			*k = topics[i].kind;
			*body = n + 1;
			return 0;
		}
	}
	return -MDT_EUNSUPPORTED;
}

int
sdk_event_decode(const uint8_t *buf, size_t len, sdk_event_buf *b,
    mdt_event *ev)
{
	mdt_event_kind kind;
	size_t body, off = 0;
	const msgpack_object_map *m;
	int rv;

	sdk_event_buf_clear(b);
	msgpack_unpacked_init(&b->up);
	if ((rv = event_kind(buf, len, &body, &kind)) != 0)
		return rv;
	if (msgpack_unpack_next(&b->up, (const char *)buf + body, len - body,
	    &off) != MSGPACK_UNPACK_SUCCESS || off != len - body ||
	    b->up.data.type != MSGPACK_OBJECT_MAP)
		return -MDT_EDECODE;
	m = &b->up.data.via.map;
	if ((b->arena = malloc(arena_need(m))) == NULL)
		return -MDT_ENOMEM;
	event_defaults(ev);
	ev->kind = kind;
	for (uint32_t i = 0; i < m->size; i++)
		if ((rv = decode_entry(b, &m->ptr[i], ev)) != 0)
			return rv;
	return 0;
}

int
mdt_event_sub_open(const char *url, mdt_event_sub **out, char *err,
    size_t errlen)
{
	mdt_event_sub *s;
	int rv;

	if (url == NULL || out == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL, "url is NULL");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -MDT_ENOMEM;
	msgpack_unpacked_init(&s->buf.up);
	if ((rv = sdk_sub_dial(&s->sock, url, err, errlen)) != 0) {
		sdk_event_buf_clear(&s->buf);
		free(s);
		return rv;
	}
	*out = s;
	return 0;
}

int
mdt_event_sub_next(mdt_event_sub *s, uint32_t timeout_ms, mdt_event *ev)
{
	uint64_t deadline = sdk_clock_ms() + timeout_ms;

	for (;;) {
		uint64_t now = sdk_clock_ms();
		nng_msg *msg;
		int rv;

		if (now >= deadline && timeout_ms > 0)
			return -MDT_ETIMEDOUT;
		nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO,
		    (nng_duration)(timeout_ms ? deadline - now : 0));
		if ((rv = nng_recvmsg(s->sock, &msg, 0)) != 0)
			return rv == NNG_ETIMEDOUT ? -MDT_ETIMEDOUT :
			    rv == NNG_ECLOSED ? -MDT_ECLOSED : -MDT_ETRANSPORT;
		rv = sdk_event_decode(nng_msg_body(msg), nng_msg_len(msg),
		    &s->buf, ev);
		nng_msg_free(msg);
		if (rv == 0)
			return 0;
		/* malformed or unknown events are skipped */
	}
}

void
mdt_event_sub_close(mdt_event_sub *s)
{
	if (s == NULL)
		return;
	nng_close(s->sock);
	sdk_event_buf_clear(&s->buf);
	free(s);
}

int
sdk_sub_dial(nng_socket *sock, const char *url, char *err, size_t errlen)
{
	int rv;

	if ((rv = nng_sub0_open(sock)) != 0)
		return sdk_err(err, errlen, -MDT_ETRANSPORT, "sub0 open: %s",
		    nng_strerror(rv));
	if ((rv = nng_socket_set(*sock, NNG_OPT_SUB_SUBSCRIBE, "", 0)) != 0 ||
	    (rv = nng_socket_set_size(*sock, NNG_OPT_RECVMAXSZ,
	    SDK_MSG_MAX)) != 0 ||
	    (rv = nng_dial(*sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		nng_close(*sock);
		return sdk_err(err, errlen, -MDT_ETRANSPORT, "%s: %s", url,
		    nng_strerror(rv));
	}
	return 0;
}

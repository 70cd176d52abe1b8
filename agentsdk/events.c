/*
 * The broker's publish/subscribe events: decoding one published message
 * (topic, 0x00, msgpack map) into an mdt_event, and the mdt_event_sub
 * handle over an nng sub0 socket.  Events are untrusted input: they go
 * through the wire codec's strict, bounded event decoder, and a malformed
 * event is skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "sdk_int.h"

#include <nng/protocol/pubsub0/sub.h>

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
	{"epoch", MDT_EVENT_EPOCH},
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
	mdt_wire_msg_free(b->msg);
	free(b->ids);
	memset(b, 0, sizeof(*b));
}

static int
decode_ids(sdk_event_buf *b, const mdt_wire_val *arr, mdt_event *ev)
{
	size_t n = mdt_wire_val_count(arr), len;

	if (mdt_wire_val_type(arr) != MDT_WIRE_ARRAY)
		return -MDT_EPROTO;
	if ((b->ids = calloc(n + 1, sizeof(*b->ids))) == NULL)
		return -MDT_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (mdt_wire_val_str(mdt_wire_array_at(arr, i), &b->ids[i],
		    &len) != 0)
			return -MDT_EPROTO;
	ev->ids = b->ids;
	ev->nids = n;
	return 0;
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
event_fields(sdk_event_buf *b, const mdt_wire_val *m, mdt_event *ev)
{
	const mdt_wire_val *tasks = mdt_wire_map_get(m, "tasks");
	int present, rv;
	size_t len;

	for (size_t i = 0; i < sizeof(str_fields) / sizeof(*str_fields); i++) {
		const mdt_wire_val *v = mdt_wire_map_get(m, str_fields[i].key);
		if (v != NULL && mdt_wire_val_type(v) == MDT_WIRE_STR &&
		    mdt_wire_val_str(v, (const char **)((char *)ev +
		    str_fields[i].off), &len) != 0)
			return -MDT_EPROTO;
	}
	if ((rv = mdt_wire_get_int_opt(m, "time", 0, INT64_MAX, &ev->time,
	    &present, NULL, 0)) != 0 ||
	    (rv = mdt_wire_get_int_opt(m, "expires", 0, INT64_MAX,
	    &ev->expires, &present, NULL, 0)) != 0)
		return rv;
	return tasks != NULL ? decode_ids(b, tasks, ev) : 0;
}

static int
event_kind(const char *topic, mdt_event_kind *k)
{
	for (size_t i = 0; i < sizeof(topics) / sizeof(*topics); i++)
		if (strcmp(topic, topics[i].topic) == 0) {
			*k = topics[i].kind;
			return 0;
		}
	return -MDT_EUNSUPPORTED;
}

int
sdk_event_decode(const uint8_t *buf, size_t len, sdk_event_buf *b,
    mdt_event *ev)
{
	mdt_event_kind kind;
	int rv;

	sdk_event_buf_clear(b);
	if ((rv = mdt_wire_decode_event(buf, len, &b->msg, NULL, 0)) != 0)
		return rv;
	if ((rv = event_kind(mdt_wire_msg_id(b->msg), &kind)) != 0)
		return rv;
	event_defaults(ev);
	ev->kind = kind;
	return event_fields(b, mdt_wire_msg_root(b->msg), ev);
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

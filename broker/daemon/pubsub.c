/*
 * Events on the PUB socket: each message is the topic, one 0x00 byte and
 * a msgpack map (docs/wire-protocol.md).  Revocations are published after
 * they are durable, so a subscriber never learns of a revocation the
 * store could lose.
 */
#include <string.h>

#include "broker.h"

void
brk_publish(brk_broker *b, const char *topic, mdt_wire_writer *w)
{
	const uint8_t *buf;
	size_t len, tl = strlen(topic) + 1;
	nng_msg *m;

	if (w == NULL || mdt_wire_writer_finish(w, &buf, &len) != 0 ||
	    nng_msg_alloc(&m, tl + len) != 0) {
		BLOG(b, BRK_ERROR, "publish.failed", "topic=%s", topic);
		mdt_wire_writer_free(w);
		return;
	}
	memcpy(nng_msg_body(m), topic, tl);
	memcpy((uint8_t *)nng_msg_body(m) + tl, buf, len);
	mdt_wire_writer_free(w);
	pthread_mutex_lock(&b->pub_lock);
	if (nng_sendmsg(b->pub, m, NNG_FLAG_NONBLOCK) != 0)
		nng_msg_free(m);
	pthread_mutex_unlock(&b->pub_lock);
}

static mdt_wire_writer *
event(const char *topic)
{
	mdt_wire_writer *w = NULL;

	if (mdt_wire_event_writer_new(&w, topic) != 0)
		return NULL;
	if (mdt_wire_put_int(w, "time", brk_now_ms() / 1000) != 0) {
		mdt_wire_writer_free(w);
		return NULL;
	}
	return w;
}

void
brk_publish_revoke(brk_broker *b, const mdt_store_revocation *rv,
    const char *reason)
{
	mdt_wire_writer *w = event(MDT_WIRE_TOPIC_REVOKE);
	int rc = w == NULL;

	atomic_fetch_add(&b->metrics.revocations, rv->count);

	if (!rc)
		rc = mdt_wire_put_cstr(w, "reason", reason) ||
		    mdt_wire_begin_array(w, "tasks", rv->count);
	for (size_t i = 0; !rc && i < rv->count; i++)
		rc = mdt_wire_put_cstr(w, NULL, rv->task_ids[i]);
	if (!rc)
		rc = mdt_wire_end(w);
	if (rc) {
		mdt_wire_writer_free(w);
		w = NULL;
	}
	brk_publish(b, MDT_WIRE_TOPIC_REVOKE, w);
}

void
brk_publish_task(brk_broker *b, const char *ev, const char *task,
    const char *parent, const char *agent)
{
	mdt_wire_writer *w = event(MDT_WIRE_TOPIC_TASK);

	if (w != NULL && (mdt_wire_put_cstr(w, "event", ev) ||
	    mdt_wire_put_cstr(w, "task", task) ||
	    mdt_wire_put_cstr(w, "parent", parent ? parent : "") ||
	    mdt_wire_put_cstr(w, "agent", agent))) {
		mdt_wire_writer_free(w);
		w = NULL;
	}
	brk_publish(b, MDT_WIRE_TOPIC_TASK, w);
}

void
brk_publish_epoch(brk_broker *b)
{
	mdt_wire_writer *w = NULL;

	if (mdt_wire_event_writer_new(&w, MDT_WIRE_TOPIC_EPOCH) == 0 &&
	    mdt_wire_put_int(w, "time", atomic_load(&b->epoch)) != 0) {
		mdt_wire_writer_free(w);
		w = NULL;
	}
	brk_publish(b, MDT_WIRE_TOPIC_EPOCH, w);
}

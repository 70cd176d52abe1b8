/*
 * Other brokers on a shared store.  Their revocations must reach the
 * resource servers subscribed to this broker, their work must wake the
 * nexts parked here, their step-up decisions must answer the authorizes
 * parked here, and their clinician-now grants must replace the ones
 * cached here; the store's watch (mdt_store_watch) reports all four as
 * they commit.  The clinician-now cache is the only cache of shared
 * state: while the watch is lost it caches nothing, and it starts empty
 * when the watch is back.  A lost watch otherwise delays only events and
 * wake-ups: the watch reports the ends it missed when it is back, and
 * every parked next and step-up looks at the store again
 * (docs/several-brokers.md).
 */
#include "broker.h"

static void
ended(brk_broker *b, const mdt_store_event *ev)
{
	const char *ids[1] = { ev->id };
	mdt_store_revocation rv = { .seq = ev->seq, .count = 1,
	    .task_ids = ids };

	brk_publish_revoke(b, &rv, mdt_task_state_name(
	    (mdt_task_state)ev->state));
}

static void
on_event(const mdt_store_event *ev, void *arg)
{
	brk_broker *b = arg;

	switch (ev->kind) {
	case MDT_STORE_EV_ENDED:
		ended(b, ev);
		break;
	case MDT_STORE_EV_WORK:
		brk_queue_wake(b, ev->id);
		break;
	case MDT_STORE_EV_APPROVAL:
		brk_stepup_wake(b, ev->id);
		break;
	case MDT_STORE_EV_CLINICIAN:
		brk_clinician_forget(b, ev->id, 0);
		break;
	case MDT_STORE_EV_LOST:
		brk_clinician_forget(b, NULL, 1);
		BLOG(b, BRK_WARN, "peers.lost", "the store's change notices "
		    "stopped; other brokers' revocations and work are "
		    "announced here late");
		break;
	case MDT_STORE_EV_BACK:
		BLOG(b, BRK_INFO, "peers.back", "change notices again");
		/* a push or a decision may have been missed: every parked
		 * next and step-up looks, and grants are read afresh */
		brk_clinician_forget(b, NULL, 0);
		brk_queue_wake(b, NULL);
		brk_stepup_wake_all(b);
		break;
	default:
		break;
	}
}

int
brk_peers_start(brk_broker *b, char *err, size_t errlen)
{
	int rc = mdt_store_watch(b->store, on_event, b);

	if (rc == -MDT_EUNSUPPORTED)
		return 0;
	if (rc != 0)
		snprintf(err, errlen, "watching the store: %s",
		    mdt_strerror(rc));
	return rc;
}

void
brk_peers_stop(brk_broker *b)
{
	mdt_store_unwatch(b->store);
}

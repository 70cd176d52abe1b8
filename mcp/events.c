/*
 * The gateway follows the broker's events: once its task (or an
 * ancestor, whose revocation names every descendant) is completed or
 * cancelled, every grant of the gateway ends at once, not at the next
 * refused authorize.
 */
#include <stdio.h>
#include <string.h>

#include "gateway.h"

static int
names_task(const mdt_event *ev, const char *task)
{
	if (ev->kind == MDT_EVENT_TASK)
		return strcmp(ev->task_id, task) == 0 &&
		    (strcmp(ev->detail, "completed") == 0 ||
		    strcmp(ev->detail, "cancelled") == 0);
	if (ev->kind != MDT_EVENT_REVOKED)
		return 0;
	for (size_t i = 0; i < ev->nids; i++)
		if (strcmp(ev->ids[i], task) == 0)
			return 1;
	return 0;
}

static void *
events_main(void *arg)
{
	struct gw *g = arg;
	mdt_event_sub *s = g->sub;
	const char *task = mdt_task_id(g->task);

	while (!atomic_load(&g->stopping)) {
		mdt_event ev;
		if (mdt_event_sub_next(s, 200, &ev) != 0)
			continue;
		if (names_task(&ev, task))
			gw_task_ended(g, ev.detail[0] ? ev.detail : "revoked");
	}
	return NULL;
}

int
gw_events_open(struct gw *g, char *err, size_t errlen)
{
	return mdt_event_sub_open(g->cfg.events, &g->sub, err, errlen);
}

int
gw_events_start(struct gw *g, char *err, size_t errlen)
{
	if (pthread_create(&g->events, NULL, events_main, g) != 0)
		return snprintf(err, errlen, "cannot start the event thread"),
		    -MDT_ENOMEM;
	g->events_running = 1;
	return 0;
}

void
gw_events_stop(struct gw *g)
{
	atomic_store(&g->stopping, 1);
	if (g->events_running)
		pthread_join(g->events, NULL);
	g->events_running = 0;
	mdt_event_sub_close(g->sub);
	g->sub = NULL;
}

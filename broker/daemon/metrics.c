/*
 * The request-path half of the monitoring counters: latency buckets per
 * operation and decision counts per (operation, verdict, reason), kept
 * in a fixed open-addressed table claimed slot by slot with one atomic
 * compare-and-swap, so counting never takes a lock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"

const int64_t brk_lat_bounds_us[BRK_LAT_BUCKETS] = { 100, 250, 500, 1000,
    2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 10000000,
    INT64_MAX };

int64_t
brk_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
brk_metrics_request(struct brk_metrics *m, int op, int64_t us)
{
	size_t i = 0;

	if (op <= MDT_OP_INVALID || op >= MDT_OP_COUNT_)
		op = MDT_OP_COUNT_;
	if (us < 0)
		us = 0;
	while (i < BRK_LAT_BUCKETS - 1 && us > brk_lat_bounds_us[i])
		i++;
	atomic_fetch_add_explicit(&m->lat[op][i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->lat_sum_us[op], (unsigned long long)us,
	    memory_order_relaxed);
}

static uint32_t
hash_str(uint32_t h, const char *s)
{
	for (; *s != 0; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return (h ^ 0xffu) * 16777619u;
}

static int
slot_is(const struct brk_decision_slot *s, const char *op,
    const char *verdict, const char *reason)
{
	return strcmp(s->op, op) == 0 && strcmp(s->verdict, verdict) == 0 &&
	    strcmp(s->reason, reason) == 0;
}

void
brk_metrics_decision(struct brk_metrics *m, const char *op,
    const char *verdict, const char *reason)
{
	uint32_t h = hash_str(hash_str(hash_str(2166136261u, op), verdict),
	    reason);

	for (size_t k = 0; k < BRK_DECISION_SLOTS; k++) {
		struct brk_decision_slot *s =
		    &m->slots[(h + k) % BRK_DECISION_SLOTS];
		int st = atomic_load_explicit(&s->state, memory_order_acquire);
		int free_state = 0;

		if (st == 0) {
			if (atomic_compare_exchange_strong(&s->state,
			    &free_state, 1)) {
				s->op = op;
				s->verdict = verdict;
				s->reason = reason;
				atomic_store_explicit(&s->state, 2,
				    memory_order_release);
				st = 2;
			} else {
				st = free_state; /* claimed meanwhile */
			}
		}
		/* another thread is filling it in: a few instructions */
		while (st == 1)
			st = atomic_load_explicit(&s->state,
			    memory_order_acquire);
		if (slot_is(s, op, verdict, reason)) {
			atomic_fetch_add_explicit(&s->n, 1,
			    memory_order_relaxed);
			return;
		}
	}
	atomic_fetch_add(&m->decisions_dropped, 1);
}

void
brk_buf_printf(struct brk_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (int tries = 0; !b->oom && tries < 2; tries++) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->p != NULL ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
		} else if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		} else {
			size_t cap = (b->cap + (size_t)n + 1) * 2;
			char *p = realloc(b->p, cap);
			if (p == NULL)
				b->oom = 1;
			b->p = p != NULL ? p : b->p;
			b->cap = p != NULL ? cap : b->cap;
		}
	}
}

void
brk_buf_free(struct brk_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

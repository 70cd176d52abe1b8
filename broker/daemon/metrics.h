/*
 * The broker's monitoring counters: plain atomics bumped on the request
 * path (no lock, no allocation), read and rendered in the Prometheus text
 * exposition format by the HTTP listener (http.c).
 */
#ifndef BRK_METRICS_H
#define BRK_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <mandate/wire.h>

#define BRK_LAT_BUCKETS 14       /* request latency, last one +Inf */
#define BRK_DECISION_SLOTS 512   /* (op, verdict, reason) combinations */
#define BRK_OPS (MDT_OP_COUNT_ + 1) /* the last: requests not decoded */

/* One (op, verdict, reason) counter; state 0 free, 1 being claimed,
 * 2 ready (op, verdict and reason then never change). */
struct brk_decision_slot {
	atomic_int state;
	const char *op;          /* static strings */
	const char *verdict;
	const char *reason;      /* "" for an allow */
	atomic_ullong n;
};

struct brk_metrics {
	int64_t start_ms;        /* wall clock at start */
	atomic_ullong lat[BRK_OPS][BRK_LAT_BUCKETS];
	atomic_ullong lat_sum_us[BRK_OPS];
	atomic_ullong decisions_dropped; /* no free slot */
	atomic_ullong revocations;       /* tasks in published revocations */
	atomic_ullong revoke_events;
	atomic_int queued;               /* jobs waiting for a worker */
	struct brk_decision_slot slots[BRK_DECISION_SLOTS];
};

/* Monotonic microseconds, for latencies. */
int64_t brk_mono_us(void);
/* A request of op (MDT_OP_INVALID and out-of-range ones: not decoded)
 * answered us microseconds after it arrived. */
void brk_metrics_request(struct brk_metrics *m, int op, int64_t us);
/* One decision; op, verdict and reason must be static strings. */
void brk_metrics_decision(struct brk_metrics *m, const char *op,
    const char *verdict, const char *reason);

/* A growing text buffer for rendering. */
struct brk_buf {
	char *p;
	size_t len, cap;
	int oom;                 /* an append failed: the text is cut */
};
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void brk_buf_printf(struct brk_buf *b, const char *fmt, ...);
void brk_buf_free(struct brk_buf *b);

struct brk_broker;
/* Appends the whole exposition of b to out. */
void brk_metrics_render(struct brk_broker *b, struct brk_buf *out);

#endif

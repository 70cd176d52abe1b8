/*
 * /metrics: the broker's counters, the store writer's and a few gauges
 * read at scrape time, in the Prometheus text exposition format 0.0.4.
 * Everything here runs on the HTTP listener's thread, never on a
 * request's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"

extern const int64_t brk_lat_bounds_us[BRK_LAT_BUCKETS];

/* A label value: backslash, double quote and newline escaped. */
static void
label(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s != 0 && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			out[o++] = '\\';
			out[o++] = *s == '\n' ? 'n' : *s;
		} else {
			out[o++] = *s;
		}
	}
	out[o] = 0;
}

static void
head(struct brk_buf *o, const char *name, const char *type,
    const char *help)
{
	brk_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static const char *
op_name(int op)
{
	return op == MDT_OP_COUNT_ ? "undecoded" : mdt_wire_op_name(op);
}

static void
latency(struct brk_metrics *m, struct brk_buf *o)
{
	head(o, "mandate_request_duration_seconds", "histogram",
	    "Time from a request's arrival to its answer, by operation.");
	for (int op = 1; op < BRK_OPS; op++) {
		unsigned long long cum = 0;
		for (size_t i = 0; i < BRK_LAT_BUCKETS; i++) {
			cum += atomic_load(&m->lat[op][i]);
			if (i + 1 == BRK_LAT_BUCKETS)
				brk_buf_printf(o, "mandate_request_duration_"
				    "seconds_bucket{op=\"%s\",le=\"+Inf\"} %llu\n",
				    op_name(op), cum);
			else
				brk_buf_printf(o, "mandate_request_duration_"
				    "seconds_bucket{op=\"%s\",le=\"%g\"} %llu\n",
				    op_name(op),
				    (double)brk_lat_bounds_us[i] / 1e6, cum);
		}
		brk_buf_printf(o, "mandate_request_duration_seconds_sum"
		    "{op=\"%s\"} %.6f\n", op_name(op),
		    (double)atomic_load(&m->lat_sum_us[op]) / 1e6);
		brk_buf_printf(o, "mandate_request_duration_seconds_count"
		    "{op=\"%s\"} %llu\n", op_name(op), cum);
	}
	head(o, "mandate_requests_total", "counter",
	    "Requests answered, by operation.");
	for (int op = 1; op < BRK_OPS; op++) {
		unsigned long long n = 0;
		for (size_t i = 0; i < BRK_LAT_BUCKETS; i++)
			n += atomic_load(&m->lat[op][i]);
		brk_buf_printf(o, "mandate_requests_total{op=\"%s\"} %llu\n",
		    op_name(op), n);
	}
}

static void
decisions(struct brk_metrics *m, struct brk_buf *o)
{
	char op[64], v[64], r[128];

	head(o, "mandate_decisions_total", "counter",
	    "Decisions recorded in the audit log, by operation, verdict and "
	    "reason (empty for an allow).");
	for (size_t i = 0; i < BRK_DECISION_SLOTS; i++) {
		struct brk_decision_slot *s = &m->slots[i];
		if (atomic_load_explicit(&s->state, memory_order_acquire) != 2)
			continue;
		label(s->op, op, sizeof(op));
		label(s->verdict, v, sizeof(v));
		label(s->reason, r, sizeof(r));
		brk_buf_printf(o, "mandate_decisions_total{op=\"%s\",verdict="
		    "\"%s\",reason=\"%s\"} %llu\n", op, v, r,
		    atomic_load(&s->n));
	}
	head(o, "mandate_decisions_uncounted_total", "counter",
	    "Decisions of a combination beyond the counter table's size.");
	brk_buf_printf(o, "mandate_decisions_uncounted_total %llu\n",
	    atomic_load(&m->decisions_dropped));
}

static void
store_hist(struct brk_buf *o, const char *name, const uint64_t *bound,
    const uint64_t *n, double scale, double sum, const char *help)
{
	uint64_t cum = 0;

	head(o, name, "histogram", help);
	for (size_t i = 0; i < MDT_STORE_STATS_BUCKETS; i++) {
		cum += n[i];
		if (i + 1 == MDT_STORE_STATS_BUCKETS)
			brk_buf_printf(o, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n",
			    name, cum);
		else
			brk_buf_printf(o, "%s_bucket{le=\"%g\"} %" PRIu64 "\n",
			    name, (double)bound[i] * scale, cum);
	}
	brk_buf_printf(o, "%s_sum %.6f\n%s_count %" PRIu64 "\n", name, sum,
	    name, cum);
}

static void
store(brk_broker *b, struct brk_buf *o)
{
	mdt_store_stats st;

	if (mdt_store_stats_get(b->store, &st) != 0)
		return;
	store_hist(o, "mandate_store_batch_size", st.batch_size_bound,
	    st.batch_size, 1.0, (double)st.records,
	    "Records per committed audit transaction (group commit).");
	store_hist(o, "mandate_store_commit_seconds", st.commit_us_bound,
	    st.commit_us, 1e-6, (double)st.commit_us_sum / 1e6,
	    "Time of each committed audit transaction.");
	head(o, "mandate_store_batches_failed_total", "counter",
	    "Audit transactions rolled back or refused.");
	brk_buf_printf(o, "mandate_store_batches_failed_total %" PRIu64 "\n",
	    st.failed_batches);
	head(o, "mandate_store_writable", "gauge",
	    "1 while the audit store accepts writes.");
	brk_buf_printf(o, "mandate_store_writable %d\n", st.writable);
	head(o, "mandate_audit_head_seq", "gauge",
	    "Sequence number of the last audit record.");
	brk_buf_printf(o, "mandate_audit_head_seq %" PRIu64 "\n", st.head_seq);
	head(o, "mandate_audit_checkpoint_seq", "gauge",
	    "Sequence number covered by the last signed checkpoint or "
	    "receipt head.");
	brk_buf_printf(o, "mandate_audit_checkpoint_seq %" PRIu64 "\n",
	    st.checkpoint_seq);
}

static void
gauge(struct brk_buf *o, const char *name, const char *help, long long v)
{
	head(o, name, "gauge", help);
	brk_buf_printf(o, "%s %lld\n", name, v);
}

static void
gauges(brk_broker *b, struct brk_buf *o)
{
	struct brk_status s;

	brk_status_get(b, &s);
	gauge(o, "mandate_jobs_queued", "Requests waiting for a worker thread.",
	    s.queued);
	gauge(o, "mandate_audit_pending", "Answers waiting for their audit "
	    "record to commit.", s.audit_pending);
	gauge(o, "mandate_requests_in_flight", "Requests received and not yet "
	    "answered (parked ones included).", s.in_flight);
	gauge(o, "mandate_parked_waits", "Requests parked in a long poll or a "
	    "step-up wait.", s.parked);
	gauge(o, "mandate_sessions", "Authenticated connections.", s.sessions);
	gauge(o, "mandate_policies_loaded", "Policies in the set in force.",
	    s.policies);
	gauge(o, "mandate_uptime_seconds", "Seconds since the broker started.",
	    s.uptime_s);
	head(o, "mandate_revocations_published_total", "counter",
	    "Tasks named in published revocation events.");
	brk_buf_printf(o, "mandate_revocations_published_total %llu\n",
	    atomic_load(&b->metrics.revocations));
	head(o, "mandate_unrecorded_refusals_total", "counter",
	    "Refusals answered without an audit record (store failures).");
	brk_buf_printf(o, "mandate_unrecorded_refusals_total %ld\n",
	    atomic_load(&b->unrecorded));
	head(o, "mandate_build_info", "gauge", "Version of the broker.");
	brk_buf_printf(o, "mandate_build_info{version=\"%s\"} 1\n",
	    mdt_version());
}

void
brk_metrics_render(struct brk_broker *b, struct brk_buf *out)
{
	latency(&b->metrics, out);
	decisions(&b->metrics, out);
	store(b, out);
	gauges(b, out);
}

/*
 * authorize throughput and latency over ipc with durable audit, beside a
 * bare nng request/reply echo (64 contexts, same message size) measured in
 * the same run.  Starts its own mandated on a temporary directory.
 *
 *   ratio authorize_64c_vs_nng_echo: throughput(authorize, 64 clients) /
 *                                    throughput(echo, 64 clients)
 *   ratio authorize_p99_vs_nng_echo_p99: p99 latency of each, both driven
 *                                    at half of authorize's peak rate
 */
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "benchutil.h"

/* The integration-test harness: a real broker process and wire clients. */
#include "../tests/common/brk_test.c"
#include "../tests/common/brk_test_idp.c"

#define MAXC 64
#define ECHO_CTX 64

static struct bt_broker B;
static struct bt_task task;
static size_t req_size;

struct worker {
	int kind;              /* 0 authorize, 1 echo */
	const char *url;
	double rate;           /* requests/s for this worker, 0 = closed loop */
	uint64_t until;
	double *lat;
	size_t n, cap;
	int failed;
	pthread_t th;
};

static void
sleep_until(uint64_t t)
{
	uint64_t now = bench_now_ns();

	if (t > now) {
		struct timespec ts = { (time_t)((t - now) / 1000000000u),
		    (long)((t - now) % 1000000000u) };
		nanosleep(&ts, NULL);
	}
}

static int
one_authorize(struct bt_conn *c)
{
	mdt_wire_msg *m = bt_authorize(c, task.id, task.tok, task.tlen, "r",
	    "Observation/obs-001-1", NULL, NULL, 0);
	int ok = m != NULL && mdt_wire_msg_ok(m) == 1;

	mdt_wire_msg_free(m);
	return ok ? 0 : -1;
}

static int
one_echo(struct bt_conn *c, const uint8_t *payload)
{
	void *r;
	size_t rn;

	if (bt_raw(c, payload, req_size, &r, &rn) != 0)
		return -1;
	nng_free(r, rn);
	return rn == req_size ? 0 : -1;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct bt_conn c;
	uint8_t *payload = calloc(1, req_size);
	uint64_t start, next;
	double gap = w->rate > 0 ? 1e9 / w->rate : 0;

	if (bt_dial(&c, w->url) != 0 || (w->kind == 0 &&
	    bt_auth(&c, BT_SUMM, bt_key(&B, BT_SUMM)) != 0)) {
		w->failed = 1;
		free(payload);
		return NULL;
	}
	start = next = bench_now_ns();
	while (bench_now_ns() < w->until && w->n < w->cap) {
		uint64_t t0;
		if (gap > 0) {
			sleep_until(next);
			t0 = next; /* latency from the scheduled time */
			next += (uint64_t)gap;
		} else {
			t0 = bench_now_ns();
		}
		if ((w->kind == 0 ? one_authorize(&c) : one_echo(&c,
		    payload)) != 0) {
			w->failed = 1;
			break;
		}
		w->lat[w->n++] = (double)(bench_now_ns() - t0) / 1000.0;
	}
	(void)start;
	bt_close(&c);
	free(payload);
	return NULL;
}

struct result {
	double rps, p50, p99;
	size_t n;
};

static struct result
run(int kind, const char *url, int clients, double seconds, double rate)
{
	static struct worker w[MAXC];
	struct result r = { 0 };
	uint64_t t0 = bench_now_ns();
	uint64_t until = t0 + (uint64_t)(seconds * 1e9);
	double *all;
	size_t total = 0;

	for (int i = 0; i < clients; i++) {
		w[i] = (struct worker){ .kind = kind, .url = url,
		    .rate = rate / clients, .until = until, .cap = 200000 };
		w[i].lat = malloc(w[i].cap * sizeof(double));
		pthread_create(&w[i].th, NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].n;
		if (w[i].failed)
			fprintf(stderr, "bench: a %s client failed\n",
			    kind ? "echo" : "authorize");
	}
	all = malloc((total + 1) * sizeof(double));
	total = 0;
	for (int i = 0; i < clients; i++) {
		memcpy(all + total, w[i].lat, w[i].n * sizeof(double));
		total += w[i].n;
		free(w[i].lat);
	}
	r.n = total;
	r.rps = (double)total / ((double)(bench_now_ns() - t0) / 1e9);
	r.p50 = bench_percentile(all, total, 50);
	r.p99 = bench_percentile(all, total, 99);
	free(all);
	return r;
}

/* ---- the bare echo server: rep0 with ECHO_CTX contexts ---- */

struct ectx {
	nng_ctx ctx;
	nng_aio *aio;
	int sending;
};

static void
echo_cb(void *arg)
{
	struct ectx *e = arg;

	if (nng_aio_result(e->aio) != 0) {
		if (e->sending)
			nng_msg_free(nng_aio_get_msg(e->aio));
		if (nng_aio_result(e->aio) == NNG_ECLOSED)
			return;
		e->sending = 0;
		nng_ctx_recv(e->ctx, e->aio);
		return;
	}
	if (e->sending) {
		e->sending = 0;
		nng_ctx_recv(e->ctx, e->aio);
		return;
	}
	e->sending = 1;
	nng_aio_set_msg(e->aio, nng_aio_get_msg(e->aio));
	nng_ctx_send(e->ctx, e->aio);
}

static int
echo_start(nng_socket *s, struct ectx *ctxs, const char *url)
{
	if (nng_rep0_open(s) != 0 || nng_listen(*s, url, NULL, 0) != 0)
		return -1;
	for (int i = 0; i < ECHO_CTX; i++) {
		if (nng_ctx_open(&ctxs[i].ctx, *s) != 0 ||
		    nng_aio_alloc(&ctxs[i].aio, echo_cb, &ctxs[i]) != 0)
			return -1;
		nng_ctx_recv(ctxs[i].ctx, ctxs[i].aio);
	}
	return 0;
}

static void
env(void)
{
	char exe[1024], *d;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	setenv("MDT_SOURCE_DIR", MDT_SOURCE_DIR, 0);
	if (n > 0) {
		exe[n] = 0;
		d = dirname(dirname(exe)); /* BUILD/bench/x -> BUILD */
		setenv("MDT_BINARY_DIR", d, 0);
	}
}

static int
prepare(void)
{
	struct bt_conn o, s;
	struct bt_task root;
	char *jwt = bt_assertion(&B, "dr-alice", "pat-001", "patient/*.rs", 0);
	mdt_wire_msg *m;
	mdt_wire_writer *w;
	const uint8_t *b;
	int rc = -1;

	if (jwt == NULL || bt_dial(&o, B.url) || bt_dial(&s, B.url) ||
	    bt_auth(&o, BT_ORCH, bt_key(&B, BT_ORCH)) ||
	    bt_auth(&s, BT_SUMM, bt_key(&B, BT_SUMM)))
		return -1;
	m = bt_open(&o, jwt, "pat-001", "TREAT", "patient/*.rs");
	if (m != NULL && bt_task_from(&root, m, 0) == 0) {
		mdt_wire_msg_free(m);
		m = bt_delegate(&o, MDT_OP_DISPATCH, root.id, root.tok,
		    root.tlen, BT_SUMM, "patient/Observation.rs");
		mdt_wire_msg_free(m);
		m = bt_next(&s, 3000);
		rc = m != NULL ? bt_task_from(&task, m, 1) : -1;
	}
	mdt_wire_msg_free(m);
	/* the size of one authorize request, for the echo */
	w = bt_req(&s, MDT_OP_AUTHORIZE);
	if (mdt_wire_put_cstr(w, "task", task.id) ||
	    mdt_wire_put_bin(w, "token", task.tok, task.tlen) ||
	    mdt_wire_put_cstr(w, "action", "r") ||
	    mdt_wire_put_cstr(w, "resource", "Observation/obs-001-1") ||
	    mdt_wire_writer_finish(w, &b, &req_size))
		rc = -1;
	mdt_wire_writer_free(w);
	free(jwt);
	bt_close(&o);
	bt_close(&s);
	return rc;
}

/* CPU seconds (user + system) the broker process has used so far, or a
 * negative value when /proc cannot tell. */
static double
broker_cpu_s(void)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)B.pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* fields after the parenthesised name: state is field 3, utime 14 */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2, "%*c %*d %*d "
	    "%*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void
show(const char *name, struct result r)
{
	printf("%-28s %9.0f req/s  p50 %8.1f us  p99 %8.1f us  (%zu requests)\n",
	    name, r.rps, r.p50, r.p99, r.n);
}

int
main(void)
{
	const char *args[] = { "--set", "workers=4", "--set", "contexts=512",
	    "--set", "log_level=warn", NULL };
	static struct ectx ctxs[ECHO_CTX];
	struct result a1, a16, a64, e64, ah, eh;
	char echo_url[600];
	nng_socket es;
	double half, cpu0, cpu1;

	env();
	if (bt_setup(&B, NULL) != 0 || bt_start(&B, args) != 0 ||
	    prepare() != 0) {
		fprintf(stderr, "bench_authorize: cannot start the broker "
		    "(log %s)\n", B.log);
		bt_cleanup(&B);
		return 1;
	}
	snprintf(echo_url, sizeof(echo_url), "ipc://%s/echo.sock", B.dir);
	if (echo_start(&es, ctxs, echo_url) != 0) {
		bt_cleanup(&B);
		return 1;
	}
	printf("authorize over ipc, durable audit (synchronous=FULL, group "
	    "commit); request %zu bytes\n", req_size);
	a1 = run(0, B.url, 1, 1.5, 0);
	show("authorize 1 client", a1);
	a16 = run(0, B.url, 16, 2.0, 0);
	show("authorize 16 clients", a16);
	cpu0 = broker_cpu_s();
	a64 = run(0, B.url, 64, 2.0, 0);
	cpu1 = broker_cpu_s();
	show("authorize 64 clients", a64);
	if (cpu0 >= 0 && cpu1 >= 0 && a64.n > 0)
		printf("broker CPU per authorize at 64 clients: %.0f us "
		    "(user+system of the broker process)\n",
		    (cpu1 - cpu0) * 1e6 / (double)a64.n);
	e64 = run(1, echo_url, 64, 2.0, 0);
	show("nng echo 64 clients", e64);
	half = 0.5 * (a64.rps > a16.rps ? a64.rps : a16.rps);
	ah = run(0, B.url, 16, 2.0, half);
	show("authorize at half peak", ah);
	eh = run(1, echo_url, 16, 2.0, half);
	show("nng echo at the same rate", eh);
	bench_ratio("authorize_64c_vs_nng_echo", a64.rps / e64.rps);
	bench_ratio("authorize_p99_vs_nng_echo_p99", ah.p99 / eh.p99);
	nng_close(es);
	(void)bt_stop(&B, SIGTERM);
	bt_cleanup(&B);
	return 0;
}

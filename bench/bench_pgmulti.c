/*
 * Several brokers on one PostgreSQL store.  Starts its own PostgreSQL 15
 * (tests/common/pg_harness.sh, a temporary directory) and two mandated
 * processes on it, sharing a root key and registry.
 *
 *   ratio authorize_2brokers_vs_1_pg: authorize/s of 64 clients split
 *       32/32 across the two brokers over 64 clients on one of them
 *       (closed loop, each answer after its decision is committed; the
 *       two sides alternate, three rounds each, medians compared)
 *   revocation_propagation_p50_ms / _p99_ms: from a cancel leaving the
 *       client for broker A to the revocation on broker B's PUB socket
 *       (A commits, the trigger's NOTIFY reaches B's watch, B publishes)
 *   ratio revocation_propagation_vs_local_p50: that p50 over the p50 of
 *       the same cancels' revocation on A's own PUB socket; the
 *       difference (also printed per cancel, B's event after A's) is what
 *       crossing brokers costs
 *   notify_roundtrip_p50_ms: a bare NOTIFY from one connection to a
 *       LISTENing one on the same server, the floor of the crossing
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <nng/nng.h>

#include <mandate/agent.h>

#include "benchutil.h"

#include "../tests/common/brk_test.c"
#include "../tests/common/brk_test_idp.c"
#include "../tests/common/brk_twin.c"

#define MAXC 64
#define RUN_S 2.0
#define ROUNDS 3
#define NREVOKE 200

static struct bt_broker A, B;
static struct bt_task task;
static char pgdir[64] = "/tmp/mdt-benchpgm-XXXXXX";
static char *jwt;

struct worker {
	const char *url;
	uint64_t until;
	size_t n;
	int failed;
	pthread_t th;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct bt_conn c;

	if (bt_dial(&c, w->url) != 0 ||
	    bt_auth(&c, BT_SUMM, bt_key(&A, BT_SUMM)) != 0) {
		w->failed = 1;
		return NULL;
	}
	while (bench_now_ns() < w->until) {
		mdt_wire_msg *m = bt_authorize(&c, task.id, task.tok,
		    task.tlen, "r", "Observation/obs-001-1", "pat-001", NULL,
		    NULL, 0);
		int ok = m != NULL && mdt_wire_msg_ok(m) == 1;
		mdt_wire_msg_free(m);
		if (!ok) {
			w->failed = 1;
			break;
		}
		w->n++;
	}
	bt_close(&c);
	return NULL;
}

/* authorize/s of 64 clients, the first `on_b` of them on B. */
static double
run(int on_b)
{
	static struct worker w[MAXC];
	uint64_t t0 = bench_now_ns(), until = t0 + (uint64_t)(RUN_S * 1e9);
	size_t total = 0;
	int failed = 0;

	for (int i = 0; i < MAXC; i++) {
		w[i] = (struct worker){ .url = i < on_b ? B.url : A.url,
		    .until = until };
		pthread_create(&w[i].th, NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < MAXC; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].n;
		failed |= w[i].failed;
	}
	if (failed)
		fprintf(stderr, "bench_pgmulti: a client failed\n");
	return (double)total / ((double)(bench_now_ns() - t0) / 1e9);
}

static int
prepare(void)
{
	struct bt_conn o, s;
	struct bt_task root;
	mdt_wire_msg *m;
	int rc = -1;

	if (bt_dial(&o, A.url) || bt_dial(&s, B.url) ||
	    bt_auth(&o, BT_ORCH, bt_key(&A, BT_ORCH)) ||
	    bt_auth(&s, BT_SUMM, bt_key(&A, BT_SUMM)))
		return -1;
	m = bt_open(&o, jwt, "pat-001", "TREAT", "patient/*.rs");
	if (m != NULL && bt_task_from(&root, m, 0) == 0) {
		mdt_wire_msg_free(m);
		m = bt_delegate(&o, MDT_OP_DISPATCH, root.id, root.tok,
		    root.tlen, BT_SUMM, "patient/Observation.rs");
		mdt_wire_msg_free(m);
		/* dispatched on A, taken on B */
		m = bt_next(&s, 10000);
		rc = m != NULL ? bt_task_from(&task, m, 1) : -1;
	}
	mdt_wire_msg_free(m);
	bt_close(&o);
	bt_close(&s);
	return rc;
}

/* ---- revocation propagation ------------------------------------- */

/* A subscriber noting when each revoked task id arrived. */
struct listener {
	mdt_event_sub *sub;
	pthread_mutex_t mu;
	char want[128];
	uint64_t at;           /* 0 until want arrived */
	atomic_int stop;
	pthread_t th;
};

static void *
listen_main(void *arg)
{
	struct listener *l = arg;
	mdt_event ev;

	while (!atomic_load(&l->stop)) {
		if (mdt_event_sub_next(l->sub, 200, &ev) != 0 ||
		    ev.kind != MDT_EVENT_REVOKED)
			continue;
		uint64_t now = bench_now_ns();
		pthread_mutex_lock(&l->mu);
		for (size_t i = 0; i < ev.nids; i++)
			if (l->at == 0 && strcmp(ev.ids[i], l->want) == 0)
				l->at = now;
		pthread_mutex_unlock(&l->mu);
	}
	return NULL;
}

static int
listener_start(struct listener *l, const char *url)
{
	char err[256];

	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	if (mdt_event_sub_open(url, &l->sub, err, sizeof(err)) != 0)
		return -1;
	return pthread_create(&l->th, NULL, listen_main, l);
}

static void
listener_stop(struct listener *l)
{
	atomic_store(&l->stop, 1);
	pthread_join(l->th, NULL);
	mdt_event_sub_close(l->sub);
	pthread_mutex_destroy(&l->mu);
}

static void
listener_want(struct listener *l, const char *id)
{
	pthread_mutex_lock(&l->mu);
	snprintf(l->want, sizeof(l->want), "%s", id);
	l->at = 0;
	pthread_mutex_unlock(&l->mu);
}

static uint64_t
listener_wait(struct listener *l, uint64_t deadline)
{
	uint64_t at = 0;

	while (at == 0 && bench_now_ns() < deadline) {
		pthread_mutex_lock(&l->mu);
		at = l->at;
		pthread_mutex_unlock(&l->mu);
		if (at == 0)
			nanosleep(&(struct timespec){ 0, 100000 }, NULL);
	}
	return at;
}

/* One root opened and cancelled on A; ms to each PUB socket, or -1. */
static int
one_revocation(struct bt_conn *o, struct listener *la, struct listener *lb,
    double *ms_a, double *ms_b)
{
	struct bt_task t;
	mdt_wire_msg *m = bt_open(o, jwt, "pat-001", "TREAT", "patient/*.rs");
	uint64_t t0, a, b;

	if (m == NULL || bt_task_from(&t, m, 0) != 0) {
		mdt_wire_msg_free(m);
		return -1;
	}
	mdt_wire_msg_free(m);
	listener_want(la, t.id);
	listener_want(lb, t.id);
	t0 = bench_now_ns();
	m = bt_end(o, MDT_OP_CANCEL, t.id, t.tok, t.tlen);
	if (m == NULL || mdt_wire_msg_ok(m) != 1) {
		mdt_wire_msg_free(m);
		return -1;
	}
	mdt_wire_msg_free(m);
	a = listener_wait(la, t0 + 10000000000u);
	b = listener_wait(lb, t0 + 10000000000u);
	if (a == 0 || b == 0)
		return -1;
	*ms_a = (double)(a - t0) / 1e6;
	*ms_b = (double)(b - t0) / 1e6;
	return 0;
}

/* p50/p99 of the revocation on A's PUB (pa), on B's (pb), and of B's
 * lag behind A on each cancel (pc). */
static int
revocations(double *pa, double *pb, double *pc, size_t *n)
{
	static double va[NREVOKE], vb[NREVOKE], vc[NREVOKE];
	struct listener la, lb;
	struct bt_conn o;
	int rc = 0;

	*n = 0;
	if (listener_start(&la, A.pub) != 0 || listener_start(&lb, B.pub) != 0)
		return -1;
	nanosleep(&(struct timespec){ 0, 300000000 }, NULL); /* subscribed */
	if (bt_dial(&o, A.url) || bt_auth(&o, BT_ORCH, bt_key(&A, BT_ORCH)))
		rc = -1;
	for (int i = 0; rc == 0 && i < NREVOKE; i++)
		if ((rc = one_revocation(&o, &la, &lb, &va[*n], &vb[*n])) == 0) {
			vc[*n] = vb[*n] - va[*n];
			(*n)++;
		}
	bt_close(&o);
	listener_stop(&la);
	listener_stop(&lb);
	if (*n == 0)
		return -1;
	pa[0] = bench_percentile(va, *n, 50);
	pa[1] = bench_percentile(va, *n, 99);
	pb[0] = bench_percentile(vb, *n, 50);
	pb[1] = bench_percentile(vb, *n, 99);
	pc[0] = bench_percentile(vc, *n, 50);
	pc[1] = bench_percentile(vc, *n, 99);
	return rc;
}

/* p50 ms of a NOTIFY (autocommit) until a LISTENing connection has it. */
static double
notify_roundtrip(const char *uri)
{
	PGconn *l = PQconnectdb(uri), *s = PQconnectdb(uri);
	double v[NREVOKE];
	size_t n = 0;

	if (PQstatus(l) == CONNECTION_OK && PQstatus(s) == CONNECTION_OK) {
		PQclear(PQexec(l, "LISTEN bench"));
		for (int i = 0; i < NREVOKE; i++) {
			uint64_t t0 = bench_now_ns();
			PGnotify *nt = NULL;
			PQclear(PQexec(s, "NOTIFY bench, 'x'"));
			while (nt == NULL && bench_now_ns() < t0 + 5000000000u) {
				if (PQconsumeInput(l) == 0)
					break;
				nt = PQnotifies(l);
			}
			if (nt == NULL)
				break;
			v[n++] = (double)(bench_now_ns() - t0) / 1e6;
			PQfreemem(nt);
		}
	}
	PQfinish(l);
	PQfinish(s);
	return n > 0 ? bench_percentile(v, n, 50) : -1;
}

/* ---- setup --------------------------------------------------------- */

static int
pg(const char *cmd, char *uri, size_t len)
{
	char line[1024];
	FILE *p;

	snprintf(line, sizeof(line), "bash '%s/tests/common/pg_harness.sh' "
	    "%s '%s'", MDT_SOURCE_DIR, cmd, pgdir);
	if ((p = popen(line, "r")) == NULL)
		return -1;
	if (uri != NULL && fgets(uri, (int)len, p) != NULL)
		uri[strcspn(uri, "\n")] = '\0';
	while (fgets(line, sizeof(line), p) != NULL)
		;
	return pclose(p) == 0 ? 0 : -1;
}

static int
brokers(const char *uri)
{
	const char *args[] = { "--set", "workers=8", "--set", "contexts=512",
	    "--set", "log_level=warn", NULL };

	if (bt_start_pair(&A, &B, uri, args) != 0)
		return -1;
	jwt = bt_assertion(&A, "dr-alice", "pat-001", "patient/*.rs", 0);
	return jwt != NULL ? prepare() : -1;
}

static void
measure(const char *uri)
{
	double one[ROUNDS], two[ROUNDS], m1, m2, pa[2], pb[2], pc[2], nrt;
	size_t n;

	for (int i = 0; i < ROUNDS; i++) {
		one[i] = run(0);
		two[i] = run(MAXC / 2);
		printf("round %d: 1 broker %.0f authorize/s, 2 brokers %.0f "
		    "authorize/s\n", i + 1, one[i], two[i]);
	}
	m1 = bench_percentile(one, ROUNDS, 50);
	m2 = bench_percentile(two, ROUNDS, 50);
	printf("medians: 1 broker %.0f authorize/s, 2 brokers %.0f "
	    "authorize/s (64 clients, %ld CPUs)\n", m1, m2,
	    sysconf(_SC_NPROCESSORS_ONLN));
	bench_ratio("authorize_2brokers_vs_1_pg", m2 / m1);
	nrt = notify_roundtrip(uri);
	if (revocations(pa, pb, pc, &n) != 0 || n == 0) {
		fprintf(stderr, "bench_pgmulti: revocations failed\n");
		return;
	}
	printf("%zu cancels on A: revocation on A's PUB p50 %.2f ms p99 %.2f "
	    "ms; on B's PUB p50 %.2f ms p99 %.2f ms\n", n, pa[0], pa[1],
	    pb[0], pb[1]);
	printf("B after A on the same cancel: p50 %.2f ms, p99 %.2f ms\n",
	    pc[0], pc[1]);
	printf("revocation_propagation_p50_ms: %.2f\n", pb[0]);
	printf("revocation_propagation_p99_ms: %.2f\n", pb[1]);
	if (nrt > 0)
		printf("notify_roundtrip_p50_ms: %.3f\n", nrt);
	bench_ratio("revocation_propagation_vs_local_p50", pb[0] / pa[0]);
	fflush(stdout);
}

int
main(void)
{
	char uri[600] = "";

	bench_env();
	if (mkdtemp(pgdir) == NULL || pg("start", uri, sizeof(uri)) != 0 ||
	    uri[0] == '\0') {
		fprintf(stderr, "bench_pgmulti: cannot start PostgreSQL\n");
		return 1;
	}
	if (brokers(uri) != 0)
		fprintf(stderr, "bench_pgmulti: cannot start the brokers (logs "
		    "%s, %s)\n", A.log, B.log);
	else
		measure(uri);
	(void)bt_stop(&B, SIGTERM);
	(void)bt_stop(&A, SIGTERM);
	bt_twin_cleanup(&B);
	bt_cleanup(&A);
	free(jwt);
	return pg("stop", NULL, 0);
}

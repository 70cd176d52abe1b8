/*
 * authorize throughput and latency over ipc with durable audit, beside a
 * bare nng request/reply echo (64 contexts, same message size) measured in
 * the same run.  Starts its own mandated on a temporary directory.
 *
 *   ratio authorize_64c_vs_nng_echo: throughput(authorize, 64 clients) /
 *                                    throughput(echo, 64 clients)
 *   ratio authorize_p99_vs_nng_echo_p99: p99 latency of each, both driven
 *                                    at half of authorize's peak rate
 *   ratio authorize_p99_vs_floor_p99: authorize's p99 at that rate over the
 *                                    floor: the echo's p99 plus twice the
 *                                    p99 of one fdatasync on the store's
 *                                    filesystem (an answer waits for at
 *                                    most the commit in flight and its own)
 *   ratio broker_ctx_switches_vs_echo: context switches (voluntary and
 *                                    involuntary, every thread, from /proc)
 *                                    of the broker per authorize over the
 *                                    echo server's per request, 64 clients
 *
 * The echo server runs in a process of its own, as the broker does, so
 * that /proc counts its switches alone.
 *
 *   ratio authorize_pg_vs_sqlite:    throughput(authorize, 64 clients) with
 *                                    the store on PostgreSQL / the same
 *                                    on SQLite (one broker, each store
 *                                    durable; the server is a throwaway
 *                                    one, tests/common/pg_harness.sh)
 *
 * MDT_BENCH_PG_ONLY=1 runs only that last comparison; with
 * MDT_BENCH_PG_STATS=1 and MDT_PG_OPTS="-c
 * shared_preload_libraries=pg_stat_statements" it also prints the
 * statements the server ran, by calls (round trips per authorize and
 * per batch, and the server's time in each).
 *
 * Both echo comparisons alternate authorize and echo runs, three of each,
 * and use each side's median.
 *
 * MDT_BENCH_ECHO_WORK_US=N is a diagnostic: the echo server spends N us
 * of CPU on each request before answering it, so that an echo doing the
 * broker's own CPU work per request (the "CPU per authorize" line) can be
 * set beside authorize.  The ratios are then against that echo, not the
 * targets' bare one; the bench says so when it starts.
 *
 * The paced runs are open loop: each client sends at the instants of a
 * Poisson process of its share of the rate (independent exponential
 * gaps, so the clients are not in step and the total is Poisson too), and
 * latency counts from the instant a request was due, so a request held up
 * behind a slow one is charged for the wait.
 */
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

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
static size_t per_client_cap = 200000;

struct worker {
	int kind;              /* 0 authorize, 1 echo */
	int index;
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

/* An exponentially distributed gap of the given mean (ns): the next
 * arrival of a Poisson process (xorshift64* for the uniform draw). */
static uint64_t
exp_gap(uint64_t *state, double mean)
{
	uint64_t x = *state;
	double u;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	u = (double)((x * 0x2545f4914f6cdd1du) >> 11) / 9007199254740992.0;
	return (uint64_t)(-log(1.0 - u) * mean);
}

static int
one_authorize(struct bt_conn *c)
{
	mdt_wire_msg *m = bt_authorize(c, task.id, task.tok, task.tlen, "r",
	    "Observation/obs-001-1", "pat-001", NULL, NULL, 0);
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
	uint64_t rng = 0x9e3779b97f4a7c15u * (uint64_t)(w->index + 1);

	if (bt_dial(&c, w->url) != 0 || (w->kind == 0 &&
	    bt_auth(&c, BT_SUMM, bt_key(&B, BT_SUMM)) != 0)) {
		w->failed = 1;
		free(payload);
		return NULL;
	}
	start = next = bench_now_ns();
	if (gap > 0)
		next += exp_gap(&rng, gap);
	while (bench_now_ns() < w->until && w->n < w->cap) {
		uint64_t t0;
		if (gap > 0) {
			sleep_until(next);
			t0 = next; /* latency from the scheduled time */
			next += exp_gap(&rng, gap);
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
		w[i] = (struct worker){ .kind = kind, .index = i, .url = url,
		    .rate = rate / clients, .until = until,
		    .cap = per_client_cap };
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
	long work_us; /* CPU spent on each request (MDT_BENCH_ECHO_WORK_US) */
};

/* Burns us microseconds of this thread's CPU: an echo given the work an
 * authorize does, to tell the cost of the work from that of the broker's
 * thread hand-offs and commits. */
static void
spin(long us)
{
	struct timespec t0, t1;

	if (us <= 0)
		return;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	while ((t1.tv_sec - t0.tv_sec) * 1000000L +
	    (t1.tv_nsec - t0.tv_nsec) / 1000 < us);
}

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
	spin(e->work_us);
	nng_aio_set_msg(e->aio, nng_aio_get_msg(e->aio));
	nng_ctx_send(e->ctx, e->aio);
}

static int
echo_start(nng_socket *s, struct ectx *ctxs, const char *url)
{
	const char *w = getenv("MDT_BENCH_ECHO_WORK_US");

	if (nng_rep0_open(s) != 0 || nng_listen(*s, url, NULL, 0) != 0)
		return -1;
	for (int i = 0; i < ECHO_CTX; i++) {
		ctxs[i].work_us = w != NULL ? atol(w) : 0;
		if (nng_ctx_open(&ctxs[i].ctx, *s) != 0 ||
		    nng_aio_alloc(&ctxs[i].aio, echo_cb, &ctxs[i]) != 0)
			return -1;
		nng_ctx_recv(ctxs[i].ctx, ctxs[i].aio);
	}
	return 0;
}

/* Runs the echo server in a child process until it is killed; its pid,
 * or -1.  The parent dials until the server answers. */
static pid_t
echo_spawn(const char *url)
{
	static struct ectx ctxs[ECHO_CTX];
	nng_socket s;
	pid_t pid = fork();

	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives us */
		if (echo_start(&s, ctxs, url) != 0)
			_exit(1);
		for (;;)
			pause();
	}
	for (int i = 0; pid > 0 && i < 200; i++) {
		struct bt_conn c;
		if (bt_dial(&c, url) == 0) {
			bt_close(&c);
			return pid;
		}
		nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	}
	if (pid > 0)
		kill(pid, SIGKILL);
	return -1;
}

/* Context switches of every thread of process pid so far (voluntary and
 * involuntary), or -1 when /proc cannot tell. */
static int
ctxsw(pid_t pid, double *vol, double *invol)
{
	char path[300], line[256];
	struct dirent *de;
	DIR *d;

	*vol = *invol = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		FILE *f;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status",
		    (int)pid, de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			unsigned long v;
			if (sscanf(line, "voluntary_ctxt_switches: %lu", &v) == 1)
				*vol += (double)v;
			else if (sscanf(line, "nonvoluntary_ctxt_switches: %lu",
			    &v) == 1)
				*invol += (double)v;
		}
		fclose(f);
	}
	closedir(d);
	return 0;
}

/* A run of kind against url with the serving process's (pid) context
 * switches per request into *per (and its voluntary share into *vol). */
static struct result
run_ctxsw(int kind, const char *url, pid_t pid, double *per, double *vol)
{
	double v0, i0, v1, i1;
	int ok = ctxsw(pid, &v0, &i0);
	struct result r = run(kind, url, 64, 2.0, 0);

	ok |= ctxsw(pid, &v1, &i1);
	*per = *vol = -1;
	if (ok == 0 && r.n > 0) {
		*per = (v1 - v0 + i1 - i0) / (double)r.n;
		*vol = (v1 - v0) / (double)r.n;
	}
	return r;
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

/* CPU seconds the broker process has used so far in user mode and in
 * the kernel, or -1 when /proc cannot tell. */
static int
broker_cpu_s(double *user, double *sys)
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
	*user = (double)ut / (double)sysconf(_SC_CLK_TCK);
	*sys = (double)st / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

/* The PostgreSQL server's data directory while the broker runs on it. */
static char pg_data[640];

/* CPU seconds used so far by the PostgreSQL server of pg_data (the
 * postmaster and its live children: the broker's connections stay open
 * through a run), or -1 when none runs. */
static double
pg_cpu_s(void)
{
	char path[700], buf[1024], *p;
	unsigned long ut, st;
	long pm = 0, ppid;
	double sum = 0;
	DIR *d;
	struct dirent *e;
	FILE *f;

	snprintf(path, sizeof(path), "%s/postmaster.pid", pg_data);
	if (pg_data[0] == 0 || (f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld", &pm) != 1)
		pm = 0;
	fclose(f);
	if (pm <= 0 || (d = opendir("/proc")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t n;
		long pid = atol(e->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2, "%*c %ld "
		    "%*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ppid, &ut,
		    &st) != 3 || (pid != pm && ppid != pm))
			continue;
		sum += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	}
	closedir(d);
	return sum;
}

static void
show(const char *name, struct result r)
{
	printf("%-28s %9.0f req/s  p50 %8.1f us  p99 %8.1f us  (%zu requests)\n",
	    name, r.rps, r.p50, r.p99, r.n);
}

/* CPU seconds this process (the clients, and the echo server when it
 * runs) has used so far. */
static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

#define ROUNDS 3

/* An authorize run with the CPU per request beside it. */
static struct result
run_cpu(const char *name, int clients)
{
	double u0, s0, u1, s1, c0 = self_cpu_s(), c1, p0 = pg_cpu_s(), p1;
	int ok = broker_cpu_s(&u0, &s0);
	struct result r = run(0, B.url, clients, 2.0, 0);

	ok |= broker_cpu_s(&u1, &s1);
	c1 = self_cpu_s();
	p1 = pg_cpu_s();
	show(name, r);
	if (p0 >= 0 && p1 >= 0 && r.n > 0)
		printf("%-28s CPU per authorize: PostgreSQL server %.0f us\n",
		    "", (p1 - p0) * 1e6 / (double)r.n);
	if (ok == 0 && r.n > 0)
		printf("%-28s CPU per authorize: broker %.0f us user + %.0f us "
		    "kernel, clients %.0f us\n", "",
		    (u1 - u0) * 1e6 / (double)r.n,
		    (s1 - s0) * 1e6 / (double)r.n,
		    (c1 - c0) * 1e6 / (double)r.n);
	return r;
}

/* Median microseconds of one Ed25519 signature over a message the size
 * of a single-action block: every allow makes one. */
static double
sign_us(void)
{
	uint8_t pk[32], sk[64], sig[64], m[400] = { 0 };
	double v[9];

	crypto_sign_keypair(pk, sk);
	for (int r = 0; r < 9; r++) {
		uint64_t t0 = bench_now_ns();
		for (int i = 0; i < 200; i++) {
			m[0] = (uint8_t)i;
			crypto_sign_detached(sig, NULL, m, sizeof(m), sk);
		}
		v[r] = (double)(bench_now_ns() - t0) / 200e3;
	}
	sodium_memzero(sk, sizeof(sk));
	return bench_percentile(v, 9, 50);
}

/* p50 and p99 microseconds of a 4 KiB write + fdatasync in dir, the
 * filesystem of the audit store: every answer waits for one commit. */
static void
fsync_us(const char *dir, double *p50, double *p99)
{
	char path[600];
	static double v[200];
	uint8_t page[4096] = { 1 };
	int fd;

	*p50 = *p99 = -1;
	snprintf(path, sizeof(path), "%s/fsync-probe", dir);
	if ((fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600)) < 0)
		return;
	for (int i = 0; i < 200; i++) {
		uint64_t t0 = bench_now_ns();
		if (pwrite(fd, page, sizeof(page), (off_t)(i % 16) * 4096) < 0 ||
		    fdatasync(fd) != 0)
			break;
		v[i] = (double)(bench_now_ns() - t0) / 1e3;
		if (i == 199) {
			*p50 = bench_percentile(v, 200, 50);
			*p99 = bench_percentile(v, 200, 99);
		}
	}
	close(fd);
	unlink(path);
}

/* With MDT_BENCH_PG_STATS=1 (and MDT_PG_OPTS="-c
 * shared_preload_libraries=pg_stat_statements"): the statements the
 * server ran for the whole PostgreSQL part, most called first, so the
 * round trips per authorize and per batch can be counted. */
static void
pg_statements(const char *uri)
{
	char cmd[1400];

	if (getenv("MDT_BENCH_PG_STATS") == NULL)
		return;
	snprintf(cmd, sizeof(cmd), "psql -X -q '%s' -c 'CREATE EXTENSION IF "
	    "NOT EXISTS pg_stat_statements' -c \"SELECT calls, rows, "
	    "round(total_exec_time::numeric, 1) AS ms, left(regexp_replace("
	    "query, '\\s+', ' ', 'g'), 90) AS query FROM pg_stat_statements "
	    "ORDER BY calls DESC LIMIT 20\"", uri);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_authorize: no pg_stat_statements\n");
}

/* The broker restarted on a PostgreSQL store: the median of ROUNDS
 * authorize runs with 64 clients, or -1 when it cannot run. */
static double
on_postgresql(const char *const *args)
{
	char cmd[1024], uri[600] = "", pgdir[600];
	const char *pargs[16];
	double v[ROUNDS];
	size_t n = 0;
	FILE *p;
	int ok;

	/* not under B.dir (0700): the server may run as another user */
	snprintf(pgdir, sizeof(pgdir), "/tmp/mdt-benchpg-XXXXXX");
	if (mkdtemp(pgdir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/common/pg_harness.sh' "
	    "start '%s'", MDT_SOURCE_DIR, pgdir);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (fgets(uri, sizeof(uri), p) != NULL)
		uri[strcspn(uri, "\n")] = '\0';
	ok = pclose(p) == 0 && uri[0] != '\0';
	while (args[n] != NULL && n < 12) {
		pargs[n] = args[n];
		n++;
	}
	pargs[n++] = "--store";
	pargs[n++] = uri;
	pargs[n] = NULL;
	(void)bt_stop(&B, SIGTERM);
	snprintf(pg_data, sizeof(pg_data), "%s/data", pgdir);
	if (ok && bt_start(&B, pargs) == 0 && prepare() == 0) {
		for (int i = 0; i < ROUNDS; i++)
			v[i] = run_cpu("authorize 64 clients, pg", 64).rps;
	} else {
		ok = 0;
		fprintf(stderr, "bench_authorize: no broker on PostgreSQL "
		    "(log %s)\n", B.log);
	}
	(void)bt_stop(&B, SIGTERM);
	pg_statements(uri);
	pg_data[0] = 0;
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/common/pg_harness.sh' "
	    "stop '%s'", MDT_SOURCE_DIR, pgdir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_authorize: stopping PostgreSQL failed\n");
	return ok ? bench_percentile(v, ROUNDS, 50) : -1;
}

/* The echo server stopped, the PostgreSQL comparison against a64 (the
 * SQLite median), the broker stopped: main's exit status. */
static int
finish(pid_t echo, const char *const *args, double a64)
{
	double pg;

	kill(echo, SIGKILL);
	waitpid(echo, NULL, 0);
	/* MDT_BENCH_PG=0 leaves out the PostgreSQL run (comparing builds) */
	pg = getenv("MDT_BENCH_PG") != NULL &&
	    strcmp(getenv("MDT_BENCH_PG"), "0") == 0 ? -1 :
	    on_postgresql(args);
	if (pg > 0)
		bench_ratio("authorize_pg_vs_sqlite", pg / a64);
	(void)bt_stop(&B, SIGTERM);
	bt_cleanup(&B);
	return 0;
}

int
main(void)
{
	const char *args[] = { "--set", "workers=8", "--set", "contexts=512",
	    "--set", "log_level=warn", NULL };
	struct result a16, r;
	double a64, e64, ah, eh, va[ROUNDS], ve[ROUNDS];
	double sa[ROUNDS], se[ROUNDS], vola, vole, sw_a, sw_e;
	char echo_url[600];
	pid_t echo;
	double half, sig, f50, f99;

	env();
	/* the echo's process is forked before this one first uses nng,
	 * which does not survive a fork */
	if (bt_setup(&B, NULL) != 0) {
		fprintf(stderr, "bench_authorize: cannot set up %s\n", B.dir);
		return 1;
	}
	snprintf(echo_url, sizeof(echo_url), "ipc://%s/echo.sock", B.dir);
	if (getenv("MDT_BENCH_ECHO_WORK_US") != NULL)
		printf("MDT_BENCH_ECHO_WORK_US=%s: the echo spends that many us of"
		    " CPU per request; the ratios below are against it, not the"
		    " targets' bare echo\n", getenv("MDT_BENCH_ECHO_WORK_US"));
	if ((echo = echo_spawn(echo_url)) < 0) {
		fprintf(stderr, "bench_authorize: cannot start the echo server\n");
		bt_cleanup(&B);
		return 1;
	}
	if (bt_start(&B, args) != 0 || prepare() != 0) {
		fprintf(stderr, "bench_authorize: cannot start the broker "
		    "(log %s)\n", B.log);
		kill(echo, SIGKILL);
		bt_cleanup(&B);
		return 1;
	}
	if (getenv("MDT_BENCH_COUNT") != NULL) {
		/* a fixed amount of work, for a broker run under a profiler
		 * (MDT_BROKER_WRAP): 16 clients, then a clean stop */
		per_client_cap = (size_t)atol(getenv("MDT_BENCH_COUNT")) / 16;
		r = run(0, B.url, 16, 600.0, 0);
		printf("authorize: %zu requests answered\n", r.n);
		kill(echo, SIGKILL);
		waitpid(echo, NULL, 0);
		(void)bt_stop(&B, SIGTERM);
		bt_cleanup(&B);
		return 0;
	}
	if (getenv("MDT_BENCH_PG_ONLY") != NULL) {
		/* the PostgreSQL comparison alone: SQLite, then PostgreSQL */
		for (int i = 0; i < ROUNDS; i++)
			va[i] = run_cpu("authorize 64 clients", 64).rps;
		return finish(echo, args,
		    bench_percentile(va, ROUNDS, 50));
	}
	if (getenv("MDT_BENCH_RATE") != NULL) {
		/* one paced run at a given rate, beside the echo */
		double rate = atof(getenv("MDT_BENCH_RATE"));
		show("authorize at the rate", run(0, B.url, 16, 3.0, rate));
		show("nng echo at the rate", run(1, echo_url, 16, 3.0, rate));
		kill(echo, SIGKILL);
		waitpid(echo, NULL, 0);
		(void)bt_stop(&B, SIGTERM);
		bt_cleanup(&B);
		return 0;
	}
	printf("authorize over ipc, durable audit (synchronous=FULL, group "
	    "commit); request %zu bytes\n", req_size);
	(void)run_cpu("authorize 1 client", 1);
	a16 = run_cpu("authorize 16 clients", 16);
	/* The comparisons alternate the two sides, ROUNDS times each, and
	 * take each side's median, so a passing disturbance of a shared
	 * machine weighs on one round of one side, not on the ratio. */
	for (int i = 0; i < ROUNDS; i++) {
		va[i] = run_cpu("authorize 64 clients", 64).rps;
		r = run(1, echo_url, 64, 2.0, 0);
		show("nng echo 64 clients", r);
		ve[i] = r.rps;
	}
	a64 = bench_percentile(va, ROUNDS, 50);
	e64 = bench_percentile(ve, ROUNDS, 50);
	/* hand-offs: context switches per request of each serving process */
	for (int i = 0; i < ROUNDS; i++) {
		r = run_ctxsw(0, B.url, B.pid, &sa[i], &vola);
		printf("%-28s %9.0f req/s  broker: %.2f context switches per "
		    "authorize (%.2f voluntary)\n", "authorize 64 clients",
		    r.rps, sa[i], vola);
		r = run_ctxsw(1, echo_url, echo, &se[i], &vole);
		printf("%-28s %9.0f req/s  echo server: %.2f context switches "
		    "per request (%.2f voluntary)\n", "nng echo 64 clients",
		    r.rps, se[i], vole);
	}
	sw_a = bench_percentile(sa, ROUNDS, 50);
	sw_e = bench_percentile(se, ROUNDS, 50);
	half = 0.5 * (a64 > a16.rps ? a64 : a16.rps);
	for (int i = 0; i < ROUNDS; i++) {
		r = run(0, B.url, 16, 2.0, half);
		show("authorize at half peak", r);
		va[i] = r.p99;
		r = run(1, echo_url, 16, 2.0, half);
		show("nng echo at the same rate", r);
		ve[i] = r.p99;
	}
	ah = bench_percentile(va, ROUNDS, 50);
	eh = bench_percentile(ve, ROUNDS, 50);
	printf("medians of %d rounds: authorize %.0f req/s, echo %.0f req/s; "
	    "at %.0f req/s p99 authorize %.1f us, echo %.1f us\n", ROUNDS,
	    a64, e64, half, ah, eh);
	/* What no implementation of the checks can go below on
	 * this machine, measured now: one signature per allow, one commit
	 * (fdatasync) before each answer. */
	sig = sign_us();
	fsync_us(B.dir, &f50, &f99);
	printf("floor: one Ed25519 signature %.1f us; the echo uses %.1f us "
	    "of machine CPU per request (%ld CPUs / echo rate)\n", sig,
	    (double)sysconf(_SC_NPROCESSORS_ONLN) * 1e6 / e64,
	    sysconf(_SC_NPROCESSORS_ONLN));
	printf("floor: 4 KiB write + fdatasync on the store's filesystem "
	    "p50 %.0f us, p99 %.0f us\n", f50, f99);
	bench_ratio("authorize_64c_vs_nng_echo", a64 / e64);
	bench_ratio("authorize_p99_vs_nng_echo_p99", ah / eh);
	if (f99 > 0) {
		printf("floor p99 at %.0f req/s: echo %.1f us + 2 x fdatasync "
		    "%.1f us = %.1f us\n", half, eh, f99, eh + 2 * f99);
		bench_ratio("authorize_p99_vs_floor_p99", ah / (eh + 2 * f99));
	}
	if (sw_a > 0 && sw_e > 0)
		bench_ratio("broker_ctx_switches_vs_echo", sw_a / sw_e);
	return finish(echo, args, a64);
}

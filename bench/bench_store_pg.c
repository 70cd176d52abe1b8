/*
 * The audit store on PostgreSQL against SQLite: durable decision appends
 * per second with 64 threads (every append committed, synchronous_commit
 * on / synchronous=FULL, before it returns), on one handle of each, and
 * on PostgreSQL with two handles (two brokers, 32 threads each) sharing
 * one chain.  Starts its own PostgreSQL 15 server with
 * tests/common/pg_harness.sh in a temporary directory and stops it at the
 * end.  Prints `ratio store_pg_vs_sqlite_64t: R` and
 * `ratio store_2writers_vs_1_pg: R`.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include <mandate/store.h>

#include "benchutil.h"

#define RUN_MS 3000u
#define THREADS 64

typedef struct run {
	mdt_store *s[2];
	int nstores;
	atomic_int stop;
	atomic_uint_fast64_t done;
	atomic_uint seq;
} run;

typedef struct worker {
	run *r;
	int k;
} worker;

static char g_dir[64];

static void *
appender(void *arg)
{
	worker *w = arg;
	run *r = w->r;
	char req[48];

	while (!atomic_load(&r->stop)) {
		mdt_store_decision d = {.request_id = req,
		    .operation = "authorize", .verdict = MDT_STORE_ALLOW,
		    .reasons = "{}", .policy_ids = "[\"permit-care-team\"]",
		    .task_id = "t-1", .agent = "spiffe://clinic.example/labs",
		    .patient = "pat-001", .purpose = "TREAT", .action = "read",
		    .resource = "Observation/obs-1"};
		snprintf(req, sizeof(req), "r%u", atomic_fetch_add(&r->seq, 1));
		if (mdt_store_append_decision(r->s[w->k % r->nstores], &d,
		    NULL) != 0) {
			fprintf(stderr, "bench_store_pg: append failed\n");
			exit(1);
		}
		atomic_fetch_add(&r->done, 1);
	}
	return NULL;
}

/* Appends/s with THREADS threads spread over nstores handles of uri. */
static double
measure(const char *label, const char *uri, int nstores)
{
	static run r;
	static worker w[THREADS];
	pthread_t th[THREADS];
	mdt_store_opts o = {.checkpoint_every = 1000};
	char err[512];
	uint64_t t0;
	double rate;

	memset(&r, 0, sizeof(r));
	r.nstores = nstores;
	for (int i = 0; i < nstores; i++)
		if (mdt_store_open(uri, &o, &r.s[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_store_pg: %s\n", err);
			exit(1);
		}
	t0 = bench_now_ns();
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker){&r, i};
		pthread_create(&th[i], NULL, appender, &w[i]);
	}
	{
		struct timespec ts = {RUN_MS / 1000u, 0};
		nanosleep(&ts, NULL);
	}
	atomic_store(&r.stop, 1);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	rate = (double)atomic_load(&r.done) * 1e9 /
	    (double)(bench_now_ns() - t0);
	for (int i = 0; i < nstores; i++)
		mdt_store_close(r.s[i]);
	printf("%-40s %d threads: %9.0f durable appends/s\n", label, THREADS,
	    rate);
	return rate;
}

static int
harness(const char *cmd, char *out, size_t len)
{
	char line[512];
	FILE *p;

	snprintf(line, sizeof(line), "bash '%s/tests/common/pg_harness.sh' "
	    "%s '%s'", MDT_SOURCE_DIR, cmd, g_dir);
	if ((p = popen(line, "r")) == NULL)
		return -1;
	if (out != NULL && fgets(out, (int)len, p) != NULL)
		out[strcspn(out, "\n")] = '\0';
	return pclose(p);
}

static void
server_stop(void)
{
	(void)harness("stop", NULL, 0);
}

/* A fresh database on the server; its URI in uri. */
static void
fresh(const char *base, const char *name, char *uri, size_t len)
{
	const char *at = strstr(base, "///postgres?");
	char sql[96];
	PGconn *c = PQconnectdb(base);
	PGresult *r;

	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	r = PQexec(c, sql);
	if (at == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "bench_store_pg: %s\n", PQerrorMessage(c));
		exit(1);
	}
	PQclear(r);
	PQfinish(c);
	snprintf(uri, len, "%.*s///%s?%s", (int)(at - base), base, name,
	    at + strlen("///postgres?"));
}

int
main(void)
{
	char base[512], uri[600], sq[96], sdir[64];
	double lite, pg1, pg2;

	snprintf(g_dir, sizeof(g_dir), "/tmp/mdt-benchpg-XXXXXX");
	snprintf(sdir, sizeof(sdir), "/tmp/mdt-benchsq-XXXXXX");
	if (mkdtemp(g_dir) == NULL || mkdtemp(sdir) == NULL ||
	    harness("start", base, sizeof(base)) != 0) {
		fprintf(stderr, "bench_store_pg: cannot start PostgreSQL\n");
		server_stop();
		return 1;
	}
	atexit(server_stop);
	printf("audit store, every append durable before it returns "
	    "(SQLite synchronous=FULL; PostgreSQL synchronous_commit=on, "
	    "fsync=on, Unix socket)\n");
	snprintf(sq, sizeof(sq), "sqlite:%s/audit.db", sdir);
	lite = measure("sqlite, one handle", sq, 1);
	fresh(base, "bench1", uri, sizeof(uri));
	pg1 = measure("postgresql, one handle (one broker)", uri, 1);
	fresh(base, "bench2", uri, sizeof(uri));
	pg2 = measure("postgresql, two handles (two brokers)", uri, 2);
	bench_ratio("store_pg_vs_sqlite_64t", pg1 / lite);
	bench_ratio("store_2writers_vs_1_pg", pg2 / pg1);
	snprintf(uri, sizeof(uri), "rm -rf '%s'", sdir);
	if (system(uri) != 0)
		return 1;
	return 0;
}

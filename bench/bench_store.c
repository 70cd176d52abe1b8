/*
 * Audit store throughput: durable decision appends per second (each
 * append returns only after its transaction is fsync'ed) with 1, 16 and
 * 64 concurrent threads under group commit, against one transaction and
 * one fsync per record (max_batch = 1) with the same 64 threads, measured
 * in the same run on the same file system.  Prints
 * `ratio store_group_commit_64t_vs_single: R`.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <mandate/store.h>

#include "benchutil.h"

#define RUN_MS 3000u
#define LAT_MAX 100000

typedef struct run {
	mdt_store *s;
	atomic_int stop;
	atomic_uint_fast64_t done;
	atomic_size_t nlat;
	double lat_us[LAT_MAX];
} run;

static void *
appender(void *arg)
{
	run *r = arg;
	char req[48];

	for (unsigned i = 0; !atomic_load(&r->stop); i++) {
		mdt_store_decision d = {.request_id = req,
		    .operation = "authorize", .verdict = MDT_STORE_ALLOW,
		    .reasons = "{}", .policy_ids = "[\"permit-care-team\"]",
		    .task_id = "t-1", .agent = "spiffe://clinic.example/labs",
		    .agent_chain = "[\"spiffe://clinic.example/orch\","
		    "\"spiffe://clinic.example/labs\"]", .patient = "pat-001",
		    .purpose = "TREAT", .action = "read",
		    .resource = "Observation/obs-1"};
		uint64_t t0 = bench_now_ns();
		size_t k;
		snprintf(req, sizeof(req), "%p#%u", (void *)&req, i);
		if (mdt_store_append_decision(r->s, &d, NULL) != 0) {
			fprintf(stderr, "bench_store: append failed\n");
			exit(1);
		}
		atomic_fetch_add(&r->done, 1);
		k = atomic_fetch_add(&r->nlat, 1);
		if (k < LAT_MAX)
			r->lat_us[k] = (double)(bench_now_ns() - t0) / 1e3;
	}
	return NULL;
}

static void
remove_store(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm", ".lock"};
	char p[300];

	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

/* Durable appends per second with `threads` threads. */
static double
measure(const char *dir, const char *name, int threads, uint32_t max_batch)
{
	static run r;
	uint8_t seed[32];
	mdt_store_opts o = {.seal_seed = seed, .max_batch = max_batch};
	pthread_t th[64];
	char path[256], err[MDT_ERRMSG_MAX];
	uint64_t t0, t1;
	double rate;
	size_t n;

	randombytes_buf(seed, sizeof(seed));
	snprintf(path, sizeof(path), "%s/%s.db", dir, name);
	memset(&r, 0, sizeof(r));
	if (mdt_store_open(path, &o, &r.s, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_store: %s\n", err);
		exit(1);
	}
	t0 = bench_now_ns();
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, appender, &r);
	nanosleep(&(struct timespec){RUN_MS / 1000, (RUN_MS % 1000) *
	    1000000L}, NULL);
	atomic_store(&r.stop, 1);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	t1 = bench_now_ns();
	mdt_store_close(r.s);
	remove_store(path);
	rate = (double)atomic_load(&r.done) / ((double)(t1 - t0) / 1e9);
	n = atomic_load(&r.nlat);
	if (n > LAT_MAX)
		n = LAT_MAX;
	printf("%-34s %3d threads: %9.0f durable appends/s  p50 %8.0f us"
	    "  p99 %8.0f us\n", name, threads, rate,
	    bench_percentile(r.lat_us, n, 50), bench_percentile(r.lat_us, n,
	    99));
	fflush(stdout);
	return rate;
}

int
main(void)
{
	char dir[] = "/tmp/mdt-bench-store-XXXXXX";
	double g1, g16, g64, s64;

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	printf("audit store, synchronous=FULL (every append fsync'ed before "
	    "it returns), %u ms per run, in %s\n", RUN_MS, dir);
	s64 = measure(dir, "one_fsync_per_record", 64, 1);
	g1 = measure(dir, "group_commit", 1, 0);
	g16 = measure(dir, "group_commit", 16, 0);
	g64 = measure(dir, "group_commit", 64, 0);
	rmdir(dir);
	bench_ratio("store_group_commit_16t_vs_1t", g16 / g1);
	bench_ratio("store_group_commit_64t_vs_single", g64 / s64);
	return 0;
}

/*
 * Filtered audit queries stay index bound as the store grows: the same
 * one-patient and one-agent queries (mdt_store_query_decisions) on a
 * store of 1,000,000 decisions and on one of 10,000, each store built
 * through the store API (asynchronous appends, large group commits).
 * The queried patient and agent have the same 64 decisions in both
 * stores among many other patients and agents, so the answers are the
 * same size and only the store differs.  Prints
 * `ratio audit_query_1m_vs_10k: R` (target <= 3).
 *
 * Then the export rate of `mandatectl audit export` on the 1m store, in
 * records per second written to a pipe, for each format (evidence: every
 * hashed record; jsonl, ocsf, fhir: the first EXPORT_N decisions), as
 * `export_rate_FORMAT_per_s: N`, and each against jsonl as
 * `ratio export_FORMAT_vs_jsonl: R` (a rate ratio: above 1 is faster).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mandate/store.h>

#include "benchutil.h"

#define HITS 64       /* decisions of the queried patient and agent */
#define WINDOW 8192   /* appends in flight */
#define REPS 300      /* timed runs of each query */
#define EXPORT_N 200000 /* decisions exported per typed format */

typedef struct window {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned inflight;
	int failed;
} window;

static void
done(void *arg, int rc, uint64_t seq)
{
	window *w = arg;

	(void)seq;
	pthread_mutex_lock(&w->mu);
	w->inflight--;
	if (rc != 0)
		w->failed = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_audit_query: %s\n", what);
	exit(1);
}

/* Decision i of n: every (n / HITS)-th one is for the queried patient
 * and through the queried agent; the rest spread over n / 100 patients
 * and n / 1000 agents. */
static void
append_one(mdt_store *s, window *w, unsigned i, unsigned n)
{
	char pat[32], agent[64], chain[160];
	unsigned step = n / HITS;
	int hit = i % step == 0 && i / step < HITS;

	snprintf(pat, sizeof(pat), hit ? "pat-q" : "pat-%u", i % (n / 100));
	snprintf(agent, sizeof(agent), hit ? "spiffe://c/agent-q" :
	    "spiffe://c/agent-%u", (i / 7) % (n / 1000));
	snprintf(chain, sizeof(chain), "[\"spiffe://c/orch\",\"%s\"]", agent);
	mdt_store_decision d = {.time_ms = 1764806400000LL + i,
	    .operation = "authorize", .verdict = MDT_STORE_ALLOW,
	    .reasons = "{\"decision\":\"allow\"}", .policy_ids = "[\"p\"]",
	    .policy_hash = "ph", .task_id = "t", .clinician = "dr",
	    .agent = agent, .agent_chain = chain, .patient = pat,
	    .purpose = "TREAT", .action = "read", .resource = "Observation/o"};
	pthread_mutex_lock(&w->mu);
	while (w->inflight >= WINDOW)
		pthread_cond_wait(&w->cv, &w->mu);
	w->inflight++;
	pthread_mutex_unlock(&w->mu);
	if (mdt_store_append_decision_async(s, &d, done, w) != 0)
		die("append");
}

static void
build(const char *path, unsigned n)
{
	mdt_store_opts o = {.max_batch = 8192};
	window w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
	char err[MDT_ERRMSG_MAX];
	mdt_store *s;
	uint64_t t0 = bench_now_ns();

	if (mdt_store_open(path, &o, &s, err, sizeof(err)) != 0)
		die(err);
	for (unsigned i = 0; i < n; i++)
		append_one(s, &w, i, n);
	mdt_store_close(s);
	if (w.failed)
		die("an append failed");
	printf("built %7u decisions in %6.1f s\n", n,
	    (double)(bench_now_ns() - t0) / 1e9);
}

static int
count_row(void *arg, const mdt_store_decision *d)
{
	(void)d;
	(*(unsigned *)arg)++;
	return 0;
}

/* Mean ns of the patient query and the agent query, read-only. */
static double
query_ns(const char *path)
{
	mdt_store_opts o = {.read_only = 1, .readers = 1};
	const mdt_store_query qs[2] = {{.patient = "pat-q"},
	    {.agent = "spiffe://c/agent-q"}};
	char err[MDT_ERRMSG_MAX];
	mdt_store *s;
	uint64_t t0;

	if (mdt_store_open(path, &o, &s, err, sizeof(err)) != 0)
		die(err);
	t0 = bench_now_ns();
	for (int r = 0; r < REPS; r++)
		for (int k = 0; k < 2; k++) {
			unsigned rows = 0;
			if (mdt_store_query_decisions(s, &qs[k], count_row,
			    &rows) != 0 || rows != HITS)
				die("query answered wrongly");
		}
	mdt_store_close(s);
	return (double)(bench_now_ns() - t0) / (2.0 * REPS);
}

/* Records per second `mandatectl audit export --format FMT` writes: the
 * lines read from its pipe over the wall time, start to exit. */
static double
export_rate(const char *path, const char *fmt)
{
	static char buf[1 << 16];
	char cmd[1024];
	uint64_t t0 = bench_now_ns(), lines = 0;
	size_t n;
	FILE *p;

	if (strcmp(fmt, "evidence") == 0)
		snprintf(cmd, sizeof(cmd), "%s/broker/mandatectl audit export "
		    "--db %s --format evidence", MDT_BINARY_DIR, path);
	else
		snprintf(cmd, sizeof(cmd), "%s/broker/mandatectl audit export "
		    "--db %s --format %s --limit %d", MDT_BINARY_DIR, path, fmt,
		    EXPORT_N);
	if ((p = popen(cmd, "r")) == NULL)
		die("popen mandatectl");
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		for (size_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	if (pclose(p) != 0 || lines < EXPORT_N)
		die("mandatectl audit export failed");
	return (double)lines / ((double)(bench_now_ns() - t0) / 1e9);
}

static void
export_rates(const char *path)
{
	static const char *const fmts[] = {"evidence", "jsonl", "ocsf",
	    "fhir"};
	double rate[4];
	char name[64];

	for (int i = 0; i < 4; i++) {
		rate[i] = export_rate(path, fmts[i]);
		printf("export_rate_%s_per_s: %.0f\n", fmts[i], rate[i]);
	}
	for (int i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		snprintf(name, sizeof(name), "export_%s_vs_jsonl", fmts[i]);
		bench_ratio(name, rate[i] / rate[1]);
	}
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

int
main(void)
{
	char dir[] = "/tmp/mdt-bench-query-XXXXXX", small[128], big[128];
	double ns_small, ns_big;

	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(small, sizeof(small), "%s/10k.db", dir);
	snprintf(big, sizeof(big), "%s/1m.db", dir);
	build(small, 10000);
	build(big, 1000000);
	ns_small = query_ns(small);
	ns_big = query_ns(big);
	printf("audit query (one patient, one agent; %d rows): 10k %.0f us, "
	    "1m %.0f us\n", HITS, ns_small / 1e3, ns_big / 1e3);
	bench_ratio("audit_query_1m_vs_10k", ns_big / ns_small);
	export_rates(big);
	remove_store(small);
	remove_store(big);
	rmdir(dir);
	return 0;
}

/*
 * Policy engine cost on the default policy set (policies/), each figure
 * beside one Ed25519 verification measured in the same run:
 *   - one decision as the broker makes it for a realistic authorize: the
 *     summarizer reading Observation/obs-001-1 of pat-001 for dr-alice
 *     (care team member) under TREAT, with the full context rebuilt and the
 *     resource added to a per-request overlay store, then evaluated;
 *   - evaluation alone on a prebuilt request;
 *   - parsing the policy set's text.
 * Prints `ratio policy_decision_vs_ed25519` (target <= 0.1) and
 * `ratio policy_parse_vs_ed25519`.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/policy.h>

#include "benchutil.h"

#define ROUNDS 41
#define ED_PER_ROUND 200
#define DECISIONS_PER_ROUND 500
#define PARSES_PER_ROUND 10
#define TEXT_MAX (256u * 1024u)

#define SUMMARIZER "spiffe://clinic.example/agent/summarizer"
#define ORCHESTRATOR "spiffe://clinic.example/orchestrator"
#define RESOURCE "Observation/obs-001-1"

struct bench {
	mdt_policy_set *set;
	mdt_entity_store *base, *overlay;
	mdt_policy_record *ctx, *attrs;
	mdt_policy_answer *ans;
	mdt_policy_request req;
};

static void
die(const char *what, int rc, const char *err)
{
	fprintf(stderr, "bench_policy: %s: %s%s%s\n", what, mdt_strerror(rc),
		err && err[0] ? ": " : "", err ? err : "");
	exit(1);
}

static mdt_entity_uid
uid(const char *type, const char *id)
{
	mdt_entity_uid u = {type, id, strlen(id)};

	return u;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.cedar files of dir concatenated in name order, as load_dir reads them. */
static size_t
read_policy_text(const char *dir, char *text, size_t cap)
{
	char *names[64], path[8192];
	size_t n = 0, len = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		die(dir, -MDT_EIO, "cannot open");
	while ((de = readdir(d)) != NULL && n < 64) {
		size_t l = strlen(de->d_name);
		if (l > 6 && strcmp(de->d_name + l - 6, ".cedar") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof names[0], cmp_str);
	for (size_t i = 0; i < n; i++) {
		FILE *fp;

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		fp = fopen(path, "r");
		if (fp == NULL)
			die(path, -MDT_EIO, "cannot read");
		len += fread(text + len, 1, cap - len - 1, fp);
		fclose(fp);
		free(names[i]);
	}
	return len;
}

static int
set_entity(mdt_policy_record *r, const char *key, const char *type, const char *id)
{
	mdt_entity_uid u = uid(type, id);

	return mdt_policy_record_set_entity(r, key, &u);
}

/* The context the broker builds for this request (docs/policy-guide.md). */
static int
build_context(mdt_policy_record *r)
{
	mdt_policy_record_reset(r);
	return set_entity(r, "clinician", "Mandate::Clinician", "dr-alice") ||
	       set_entity(r, "patient", "Mandate::Patient", "pat-001") ||
	       mdt_policy_record_set_string(r, "purpose", "TREAT", 5) ||
	       mdt_policy_record_set_bool(r, "breakGlass", 0) ||
	       mdt_policy_record_set_long(r, "depth", 1) ||
	       mdt_policy_record_begin_set(r, "agentChain") ||
	       set_entity(r, NULL, "Mandate::Agent", ORCHESTRATOR) ||
	       set_entity(r, NULL, "Mandate::Agent", SUMMARIZER) ||
	       mdt_policy_record_end(r) ||
	       mdt_policy_record_set_long(r, "children", 0) ||
	       mdt_policy_record_set_string(r, "tool", "", 0) ||
	       mdt_policy_record_set_string(r, "boundary", "none", 4) ||
	       mdt_policy_record_set_string(r, "requestHash",
		       "5d41402abc4b2a76b9719d911017c592d0a5b2b9cbb3c3e2f18e7a1e7b1c2d3e", 64) ||
	       mdt_policy_record_begin_record(r, "approval") ||
	       mdt_policy_record_set_bool(r, "valid", 0) ||
	       mdt_policy_record_set_string(r, "requestHash", "", 0) ||
	       mdt_policy_record_end(r) ||
	       mdt_policy_record_set_extension(r, "time", "datetime", "2026-11-29T09:30:00.000Z") ||
	       mdt_policy_record_set_string(r, "taskId", "task-7f3a", 9);
}

/* The per-request Mandate::Resource entity, in a cleared overlay. */
static int
add_resource(struct bench *b)
{
	mdt_entity_uid res = uid("Mandate::Resource", RESOURCE);
	mdt_entity_uid pat = uid("Mandate::Patient", "pat-001");

	mdt_entity_store_clear(b->overlay);
	mdt_policy_record_reset(b->attrs);
	if (mdt_policy_record_set_string(b->attrs, "type", "Observation", 11) ||
	    mdt_policy_record_set_string(b->attrs, "id", "obs-001-1", 9) ||
	    mdt_policy_record_set_entity(b->attrs, "patient", &pat))
		return -1;
	return mdt_entity_store_add(b->overlay, &res, b->attrs, &pat, 1);
}

/* One decision as the broker makes it; must be an allow. */
static void
decide(struct bench *b, int rebuild)
{
	int rc = 0;

	if (rebuild && (build_context(b->ctx) != 0 || add_resource(b) != 0))
		die("building the request", -MDT_EINVAL, NULL);
	rc = mdt_policy_evaluate(b->set, b->overlay, &b->req, b->ans);
	if (rc != 0)
		die("evaluate", rc, NULL);
	if (mdt_policy_answer_decision(b->ans) != MDT_DECISION_ALLOW ||
	    mdt_policy_answer_error_count(b->ans) != 0)
		die("evaluate", -MDT_EINVAL, "the benchmark request is not a clean allow");
}

static double
ns_per_decision(struct bench *b, int rebuild)
{
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < DECISIONS_PER_ROUND; i++)
		decide(b, rebuild);
	return (double)(bench_now_ns() - t0) / DECISIONS_PER_ROUND;
}

static double
ns_per_parse(const char *text, size_t len)
{
	char err[512];
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < PARSES_PER_ROUND; i++) {
		mdt_policy_set *s = NULL;
		int rc = mdt_policy_set_parse(&s, text, len, "policies", err, sizeof err);

		if (rc != 0)
			die("parse", rc, err);
		mdt_policy_set_free(s);
	}
	return (double)(bench_now_ns() - t0) / PARSES_PER_ROUND;
}

/* Per-round figures; rounds interleave the baseline with the measurements
 * so that load on a shared machine weighs on both alike. */
enum { F_ED, F_FULL, F_EVAL, F_PARSE, R_FULL, R_EVAL, R_PARSE, F_COUNT };

static void
measure(struct bench *b, const char *text, size_t len, double med[F_COUNT])
{
	static double v[F_COUNT][ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		v[F_ED][r] = bench_ed25519_verify_ns(1, ED_PER_ROUND);
		v[F_FULL][r] = ns_per_decision(b, 1);
		v[F_EVAL][r] = ns_per_decision(b, 0);
		v[F_PARSE][r] = ns_per_parse(text, len);
		v[R_FULL][r] = v[F_FULL][r] / v[F_ED][r];
		v[R_EVAL][r] = v[F_EVAL][r] / v[F_ED][r];
		v[R_PARSE][r] = v[F_PARSE][r] / v[F_ED][r];
	}
	for (int f = 0; f < F_COUNT; f++)
		med[f] = bench_percentile(v[f], ROUNDS, 50);
}

static void
setup(struct bench *b, const char *dir)
{
	char path[8192], err[512];
	int rc;

	rc = mdt_policy_set_load_dir(&b->set, dir, err, sizeof err);
	if (rc != 0)
		die("load policies", rc, err);
	snprintf(path, sizeof path, "%s/entities.json", dir);
	if ((rc = mdt_entity_store_new(&b->base)) != 0 ||
	    (rc = mdt_entity_store_load_file(b->base, path, err, sizeof err)) != 0)
		die("load entities", rc, err);
	if ((rc = mdt_entity_store_new_overlay(&b->overlay, b->base)) != 0 ||
	    (rc = mdt_policy_record_new(&b->ctx)) != 0 ||
	    (rc = mdt_policy_record_new(&b->attrs)) != 0 ||
	    (rc = mdt_policy_answer_new(&b->ans)) != 0)
		die("setup", rc, NULL);
	b->req.principal = uid("Mandate::Agent", SUMMARIZER);
	b->req.action = uid("Mandate::Action", "read");
	b->req.resource = uid("Mandate::Resource", RESOURCE);
	b->req.context = b->ctx;
}

static void
teardown(struct bench *b)
{
	mdt_policy_answer_free(b->ans);
	mdt_policy_record_free(b->attrs);
	mdt_policy_record_free(b->ctx);
	mdt_entity_store_free(b->overlay);
	mdt_entity_store_free(b->base);
	mdt_policy_set_free(b->set);
}

int
main(void)
{
	static char text[TEXT_MAX];
	struct bench b = {0};
	const char *src = getenv("MDT_SOURCE_DIR") ? getenv("MDT_SOURCE_DIR") : MDT_SOURCE_DIR;
	char dir[4096];
	double m[F_COUNT];
	size_t len;

	snprintf(dir, sizeof dir, "%s/policies", src);
	setup(&b, dir);
	len = read_policy_text(dir, text, sizeof text);
	decide(&b, 1); /* warm up, and check the request is a clean allow */
	measure(&b, text, len, m);

	printf("policy set: %zu policies, %zu bytes of text; medians of %d rounds\n",
	       mdt_policy_set_count(b.set), len, ROUNDS);
	printf("ed25519 verify:                           %8.0f ns\n", m[F_ED]);
	printf("decision (context + resource + evaluate): %8.0f ns  (%.0f decisions/s)\n",
	       m[F_FULL], 1e9 / m[F_FULL]);
	printf("evaluate only (prebuilt request):         %8.0f ns  (%.0f decisions/s)\n",
	       m[F_EVAL], 1e9 / m[F_EVAL]);
	printf("parse policy set:                         %8.0f ns\n", m[F_PARSE]);
	bench_ratio("policy_decision_vs_ed25519", m[R_FULL]);
	bench_ratio("policy_evaluate_only_vs_ed25519", m[R_EVAL]);
	bench_ratio("policy_parse_vs_ed25519", m[R_PARSE]);
	teardown(&b);
	return 0;
}

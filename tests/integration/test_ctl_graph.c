/*
 * `mandatectl graph` on a delegation tree of 5 hops (6 tasks) and 1,000
 * decisions written through the store API: every format names every
 * hop and the clinician; tree shows a deny's reason, a step-up and a
 * break-the-glass decision and a revoked hop; SVG (through Graphviz's
 * dot) is a picture with a node per hop; an unsupported format and an
 * unknown task are refused.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <mandate/store.h>

#include "pg_fixture.h"
#include "testutil.h"

static char dir[] = "/tmp/mdt-graph-XXXXXX";
static char db[512], ctl[512];
static char *out;
static size_t outcap = 1 << 24;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "test_ctl_graph:%d: ", __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fprintf(stderr, "\n--- output (start) ---\n%.4000s\n", out); \
		exit(1); \
	} \
} while (0)

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[2048], args[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s graph %s 2>&1", ctl, args);
	return mdt_test_capture(cmd, out, outcap);
}

static size_t
occurrences(const char *needle)
{
	size_t n = 0;

	for (const char *p = out; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static const char *const holders[] = {"spiffe://c/orch", "spiffe://c/a1",
    "spiffe://c/a2", "spiffe://c/a3", "spiffe://c/a4", "spiffe://c/a5"};

static void
write_store(void)
{
	char err[MDT_ERRMSG_MAX], id[16], parent[16];
	mdt_store *s;

	CHECK(mdt_store_open(db, NULL, &s, err, sizeof(err)) == 0, "%s", err);
	for (uint32_t i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "hop-%u", i);
		snprintf(parent, sizeof(parent), "hop-%u", i ? i - 1 : 0);
		mdt_store_task t = {.task_id = id, .parent_id = i ? parent : NULL,
		    .root_id = "hop-0", .operation = i ? "delegate" : "open",
		    .depth = i, .clinician = "dr-alice", .patient = "pat-001",
		    .purpose = "TREAT", .from_agent = i ? holders[i - 1] : NULL,
		    .holder = holders[i], .scopes = "patient/Observation.rs",
		    .expires_ms = 1};
		CHECK(mdt_store_add_task(s, &t, 0, NULL) == 0, "task %u", i);
	}
	for (int i = 0; i < 1000; i++) {
		int deny = i == 500, step = i == 501;
		snprintf(id, sizeof(id), "hop-%d", i % 6);
		mdt_store_decision d = {.operation = "authorize",
		    .verdict = deny ? MDT_STORE_DENY : step ? MDT_STORE_STEP_UP :
		    MDT_STORE_ALLOW,
		    .flags = i == 502 ? MDT_STORE_FLAG_BREAK_GLASS : 0,
		    .reasons = deny ? "{\"failed\":\"scope.widen\"}" : "{}",
		    .task_id = id, .agent = holders[i % 6],
		    .patient = "pat-001", .action = "read",
		    .resource = "Observation/o1"};
		CHECK(mdt_store_append_decision(s, &d, NULL) == 0, "dec %d", i);
	}
	CHECK(mdt_store_end_task(s, "hop-4", MDT_TASK_CANCELLED, "dr-alice",
	    NULL, 0, NULL) == 0, "revoke");
	mdt_store_close(s);
}

int
main(void)
{
	const char *bin = getenv("MDT_BINARY_DIR");
	char cmd[256], err[512];

	out = malloc(outcap);
	CHECK(out != NULL && mkdtemp(dir) != NULL, "setup");
	out[0] = '\0';
	snprintf(ctl, sizeof(ctl), "%s/broker/mandatectl", bin ? bin : ".");
	/* SQLite, or PostgreSQL as integration/test_ctl_graph@postgresql */
	CHECK(mdt_test_pick_store(dir, db, sizeof(db), err, sizeof(err)) >= 0,
	    "store: %s", err);
	write_store();

	CHECK(run("hop-3 --store '%s'", db) == 0, "tree");
	CHECK(strstr(out, "clinician dr-alice") != NULL, "clinician at root");
	for (int i = 0; i < 6; i++)
		CHECK(strstr(out, holders[i]) != NULL, "holder %d", i);
	CHECK(occurrences(" authorize read ") == 1000, "every decision");
	CHECK(strstr(out, "-> deny scope.widen") != NULL, "deny reason");
	CHECK(strstr(out, "-> step_up") != NULL, "step-up");
	CHECK(strstr(out, "-> allow break_glass") != NULL, "break glass");
	CHECK(strstr(out, "hop-4 [cancelled]") != NULL &&
	    strstr(out, "hop-5 [revoked]") != NULL, "revocations");

	CHECK(run("--store '%s' --format dot hop-0", db) == 0, "dot");
	CHECK(strstr(out, "digraph") != NULL && strstr(out, "h4 -> h5") !=
	    NULL, "dot edges");
	CHECK(run("--store '%s' --format mermaid hop-0", db) == 0, "mermaid");
	CHECK(strstr(out, "flowchart TD") != NULL && strstr(out,
	    "h4 -->|delegate| h5") != NULL, "mermaid edges");
	CHECK(run("--store '%s' --format json hop-5", db) == 0 &&
	    strstr(out, "\"hop-5\"") != NULL, "json");

	CHECK(run("--store '%s' --format svg hop-2", db) == 0, "svg");
	CHECK(strstr(out, "<svg") != NULL && strstr(out, "</svg>") != NULL,
	    "an SVG document");
	CHECK(occurrences("class=\"node\"") >= 6 + 6, "hop and decision nodes");
	for (int i = 0; i < 6; i++)
		CHECK(strstr(out, holders[i]) != NULL, "svg holder %d", i);
	CHECK(strstr(out, "deny scope.widen") != NULL, "svg deny reason");

	CHECK(run("--store '%s' --format png hop-0", db) == 64, "bad format");
	CHECK(run("--store '%s' nosuch", db) == 2, "unknown task");
	CHECK(run("--store '%s'", db) == 64, "no task");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
	free(out);
	return 0;
}

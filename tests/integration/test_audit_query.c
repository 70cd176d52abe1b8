/*
 * `mandatectl audit query` end to end on a store written through the
 * store API: each filter alone and combined picks exactly the decisions
 * it names (agent at any hop of the chain, task tree, reason code,
 * flags, ISO and relative time ranges); the table shows ISO times; JSON
 * Lines are typed; `audit export --format jsonl` gives the same lines
 * and with --follow (as jsonl, ocsf and fhir) streams decisions appended
 * after it started; `audit disclosures` lists a patient's allowed
 * accesses in a time range, as a table and as JSON Lines; a copy
 * of the store file answers the same while the original is still open
 * for writing; bad values are usage errors.  Runs on the backend named
 * by MDT_TEST_STORE_BACKEND (tests/CMakeLists.txt): on PostgreSQL the
 * store is a fresh database on the fixture's server, and the copy of the
 * file is SQLite's alone.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mandate/store.h>

#include "pg_fixture.h"
#include "testutil.h"

static char dir[] = "/tmp/mdt-auditq-XXXXXX";
static char db[512], ctl[512];
static char out[1 << 18];

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "test_audit_query:%d: ", __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fprintf(stderr, "\n--- output ---\n%s\n", out); \
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
	snprintf(cmd, sizeof(cmd), "%s audit query %s 2>&1", ctl, args);
	return mdt_test_capture(cmd, out, sizeof(out));
}

static int
lines(void)
{
	int n = 0;

	for (const char *p = out; *p; p++)
		n += *p == '\n';
	return n;
}

/* JSONL output lines for `--format jsonl --db DB FILTERS`. */
static int
count(const char *filters)
{
	CHECK(run("--format jsonl --db '%s' %s", db, filters) == 0, "query %s",
	    filters);
	return lines();
}

#define T0 1764806400000LL /* 2025-12-04T00:00:00Z */
#define HOUR 3600000LL

static void
add_task(mdt_store *s, const char *id, const char *parent, uint32_t depth,
    const char *patient, const char *holder)
{
	mdt_store_task t = {.time_ms = T0, .task_id = id, .parent_id = parent,
	    .root_id = "root-a", .operation = parent ? "delegate" : "open",
	    .depth = depth, .patient = patient, .clinician = "dr-a",
	    .purpose = "TREAT", .holder = holder, .expires_ms = 1};

	if (strcmp(id, "root-b") == 0)
		t.root_id = "root-b";
	CHECK(mdt_store_add_task(s, &t, 0, NULL) == 0, "task %s", id);
}

/* 40 decisions: i % 2 picks the patient, i % 4 == 3 are widening
 * denials, i % 10 == 0 break-the-glass, one an hour apart. */
static void
write_store(mdt_store *s)
{
	add_task(s, "root-a", NULL, 0, "pat-1", "spiffe://c/orch");
	add_task(s, "sub-a", "root-a", 1, "pat-1", "spiffe://c/labs");
	add_task(s, "root-b", NULL, 0, "pat-2", "spiffe://c/orch");
	for (int i = 0; i < 40; i++) {
		int widen = i % 4 == 3;
		mdt_store_decision d = {.time_ms = T0 + i * HOUR,
		    .operation = "authorize",
		    .verdict = widen ? MDT_STORE_DENY : MDT_STORE_ALLOW,
		    .flags = i % 10 == 0 ? MDT_STORE_FLAG_BREAK_GLASS : 0,
		    .reasons = widen ? "{\"failed\":\"scope.widen\",\"code\":"
		    "\"scope\",\"detail\":\"x\"}" : "{\"decision\":\"allow\"}",
		    .policy_ids = "[\"p1\"]", .policy_hash = "ph1",
		    .task_id = i % 2 ? "sub-a" : "root-b",
		    .clinician = "dr-a",
		    .agent = i % 2 ? "spiffe://c/labs" : "spiffe://c/orch",
		    .agent_chain = i % 2 ? "[\"spiffe://c/orch\","
		    "\"spiffe://c/labs\"]" : "[\"spiffe://c/orch\"]",
		    .patient = i % 2 ? "pat-1" : "pat-2",
		    .purpose = i % 10 == 0 ? "ETREAT" : "TREAT",
		    .action = "read", .resource = "Observation/o1"};
		CHECK(mdt_store_append_decision(s, &d, NULL) == 0, "dec %d", i);
	}
}

static void
check_filters(void)
{
	CHECK(count("") == 40, "all");
	CHECK(count("--patient pat-1") == 20, "patient");
	CHECK(count("--agent spiffe://c/labs") == 20, "acting agent");
	CHECK(count("--agent spiffe://c/orch") == 40, "agent at any hop");
	CHECK(count("--agent spiffe://c/none") == 0, "unknown agent");
	CHECK(count("--task sub-a") == 20, "task tree from a child");
	CHECK(count("--task root-b") == 20, "other tree");
	CHECK(count("--verdict deny") == 10, "verdict");
	CHECK(count("--reason scope.widen") == 10, "reason");
	CHECK(count("--flag widening --patient pat-1") == 10, "widening");
	CHECK(count("--flag break-glass") == 4, "break glass");
	CHECK(count("--purpose ETREAT --patient pat-2") == 4, "purpose");
	CHECK(count("--policy-hash ph1 --clinician dr-a") == 40, "hash");
	CHECK(count("--policy-hash ph2") == 0, "other hash");
	CHECK(count("--operation open") == 0, "operation");
	CHECK(count("--since 2025-12-04T10:00:00Z --until 2025-12-04T20:00Z")
	    == 10, "ISO range");
	CHECK(count("--since 2025-12-04T11:00:00+01:00 --until 2025-12-05")
	    == 14, "ISO range with offset and date");
	CHECK(count("--since 7d") == 0, "relative: records are a year old");
	CHECK(count("--until 1d --patient pat-1 --limit 5") == 5, "limit");
	CHECK(count("--after 30 --agent spiffe://c/labs") == 7, "after");
}

static void
check_formats(void)
{
	CHECK(run("--db '%s' --patient pat-1 --reason scope.widen --limit 1",
	    db) == 0, "table");
	CHECK(lines() == 2, "header and one row");
	CHECK(strstr(out, "SEQ") == out && strstr(out, "PATIENT") != NULL,
	    "header");
	CHECK(strstr(out, "2025-12-04T03:00:00.000Z") != NULL, "ISO time");
	CHECK(strstr(out, "scope.widen") != NULL, "reason column");
	CHECK(run("--db '%s' --format jsonl --seq 1 --limit 1", db) == 64,
	    "unknown option");
	CHECK(run("--db '%s' --format jsonl --flag break-glass --limit 1", db)
	    == 0, "jsonl");
	CHECK(strstr(out, "\"verdict\":\"allow\"") != NULL &&
	    strstr(out, "\"time\":\"2025-12-04T00:00:00.000Z\"") != NULL &&
	    strstr(out, "\"flags\":[\"break_glass\"]") != NULL &&
	    strstr(out, "\"reasons\":{\"decision\":\"allow\"}") != NULL &&
	    strstr(out, "\"agent_chain\":[\"spiffe://c/orch\"]") != NULL,
	    "typed fields");
	CHECK(run("--db '%s' --format csv", db) == 64, "bad format");
	CHECK(run("--db '%s' --since yesterday", db) == 64, "bad time");
	CHECK(run("--db '%s' --since 2025-13-01", db) == 64, "bad month");
	CHECK(run("--db '%s' --verdict maybe", db) == 64, "bad verdict");
	CHECK(run("--db '%s' --flag step-up --verdict deny", db) == 64,
	    "step-up and deny conflict");
	CHECK(run("--db '%s/missing.db'", dir) == 2, "missing store");
}

static int
file_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	if (f == NULL)
		return 0;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* export --follow in format fmt sees decisions appended while it runs;
 * each streamed line holds marker. */
static void
check_follow(mdt_store *s, const char *fmt, const char *marker)
{
	const struct timespec tick = {0, 50000000L};
	char cmd[2048], path[160], pidf[160];
	int before = count("--patient pat-1");
	long pid = 0;
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/follow-%s.jsonl", dir, fmt);
	snprintf(pidf, sizeof(pidf), "%s/follow-%s.pid", dir, fmt);
	snprintf(cmd, sizeof(cmd), "%s audit export --db '%s' --format %s "
	    "--patient pat-1 --follow > %s 2>&1 & echo $! > %s", ctl, db,
	    fmt, path, pidf);
	CHECK(system(cmd) == 0, "start follow");
	for (int i = 0; i < 1200 && file_lines(path) < before; i++)
		nanosleep(&tick, NULL);
	CHECK(file_lines(path) == before, "the existing decisions first");
	for (int i = 0; i < 3; i++) {
		mdt_store_decision d = {.operation = "authorize",
		    .verdict = MDT_STORE_ALLOW, .patient = "pat-1",
		    .agent = "spiffe://c/late", .action = "read"};
		CHECK(mdt_store_append_decision(s, &d, NULL) == 0, "late");
	}
	for (int i = 0; i < 1200 && (n = file_lines(path)) < before + 3; i++)
		nanosleep(&tick, NULL);
	f = fopen(pidf, "r");
	CHECK(f != NULL && fscanf(f, "%ld", &pid) == 1 && pid > 0, "pid");
	fclose(f);
	kill((pid_t)pid, SIGTERM);
	CHECK(n == before + 3, "3 streamed decisions, got %d lines", n);
	f = fopen(path, "r");
	memset(out, 0, sizeof(out));
	CHECK(f != NULL && fread(out, 1, sizeof(out) - 1, f) > 0, "read");
	fclose(f);
	CHECK(strstr(out, "spiffe://c/late") != NULL, "the new decisions");
	for (const char *p = out; *p; p = strchr(p, '\n') + 1)
		CHECK(strncmp(p, marker, strlen(marker)) == 0, "%s line: %.80s",
		    fmt, p);
}

static int
disclosures(const char *args)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "%s audit disclosures --db '%s' %s 2>&1", ctl,
	    db, args);
	return mdt_test_capture(cmd, out, sizeof(out));
}

/* pat-1's allowed decisions are the odd i but i % 4 == 3: 10 of them,
 * two (13 and 17) in [10h, 20h). */
static void
check_disclosures(void)
{
	CHECK(disclosures("--patient pat-1 --format jsonl") == 0, "jsonl");
	CHECK(lines() == 10, "the allowed accesses only");
	CHECK(disclosures("--patient pat-1 --since 2025-12-04T10:00Z --until "
	    "2025-12-04T20:00Z --format jsonl") == 0, "range");
	CHECK(lines() == 2, "two in the range");
	CHECK(strstr(out, "{\"date\":\"2025-12-04T13:00:00.000Z\","
	    "\"recipient\":\"spiffe://c/labs\",\"agent_chain\":["
	    "\"spiffe://c/orch\",\"spiffe://c/labs\"],\"on_behalf_of\":"
	    "\"dr-a\",\"purpose\":\"TREAT\",\"action\":\"read\","
	    "\"resource\":\"Observation/o1\",\"task\":\"sub-a\","
	    "\"break_glass\":false,\"seq\":17}") != NULL, "a disclosure");
	CHECK(disclosures("--patient pat-2 --since 2025-12-04T10:00Z --until "
	    "2025-12-04T21:00Z") == 0, "table");
	CHECK(lines() == 7, "header and 6 rows");
	CHECK(strncmp(out, "DATE ", 5) == 0 && strstr(out, "ON BEHALF OF") &&
	    strstr(out, "2025-12-04T20:00:00.000Z  spiffe://c/orch  dr-a"
	    "          ETREAT   read") != NULL, "break-the-glass row");
	CHECK(disclosures("--patient pat-9") == 0 && lines() == 1, "none");
	CHECK(disclosures("--since 1d") == 64, "no patient");
	CHECK(disclosures("--patient pat-1 --verdict deny") == 64, "deny");
	CHECK(disclosures("--patient pat-1 --format csv") == 64, "format");
	CHECK(disclosures("--help") == 0 && strstr(out,
	    "usage: mandatectl audit disclosures") == out, "its own help");
}

static void
check_export(void)
{
	static char q[sizeof(out)];
	char cmd[2048];
	size_t n;
	FILE *p;

	CHECK(run("--db '%s' --format jsonl --agent spiffe://c/labs", db) == 0,
	    "query");
	memcpy(q, out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "%s audit export --db '%s' --format jsonl "
	    "--agent spiffe://c/labs", ctl, db);
	p = popen(cmd, "r");
	CHECK(p != NULL, "popen");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	CHECK(pclose(p) == 0, "export exit");
	CHECK(strcmp(out, q) == 0, "export jsonl is the query's JSON Lines");
}

/* A copy taken while the broker writes (the file and its WAL) answers
 * as the original. */
static void
check_copy(mdt_store *s)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "cp %s %s/copy.db && { ! test -e %s-wal ||"
	    " cp %s-wal %s/copy.db-wal; }", db, dir, db, db, dir);
	CHECK(system(cmd) == 0, "copy");
	mdt_store_close(s);
	snprintf(db, sizeof(db), "%s/copy.db", dir);
	CHECK(count("--agent spiffe://c/orch --patient pat-1") == 20,
	    "a copy of the store file");
	CHECK(count("--agent spiffe://c/late") == 9, "the copy has them all");
}

int
main(void)
{
	const char *bin = getenv("MDT_BINARY_DIR");
	char err[MDT_ERRMSG_MAX], cmd[512];
	mdt_store *s;
	int sqlite;

	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(ctl, sizeof(ctl), "%s/broker/mandatectl", bin ? bin : ".");
	sqlite = mdt_test_pick_store(dir, db, sizeof(db), err,
	    sizeof(err));
	CHECK(sqlite >= 0, "store: %s", err);
	sqlite = !sqlite;
	CHECK(mdt_store_open(db, NULL, &s, err, sizeof(err)) == 0, "%s", err);
	write_store(s);
	/* The writer stays open: queries run beside it. */
	check_filters();
	check_formats();
	check_export();
	check_disclosures();
	check_follow(s, "jsonl", "{\"seq\":");
	check_follow(s, "ocsf", "{\"activity_id\":");
	check_follow(s, "fhir", "{\"resourceType\":\"AuditEvent\"");
	if (sqlite) {
		check_copy(s);
	} else {
		CHECK(count("--agent spiffe://c/orch --patient pat-1") == 20,
		    "agent and patient");
		CHECK(count("--agent spiffe://c/late") == 9, "all of them");
		mdt_store_close(s);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "cleanup");
	return 0;
}

/*
 * Shared fixture of the audit store suites: a store file in a fresh
 * temporary folder, a real Ed25519 checkpoint key, record builders, and
 * a verify runner that collects the issues.  Header-only (static) so
 * each suite stays one file.
 *
 * The store is opened and verified by URI, for the backend named by
 * MDT_TEST_STORE_BACKEND (tests/CMakeLists.txt sets it per registered
 * run): "sqlite" (or unset) is sqlite:<fresh file>; "postgresql" is a
 * fresh database on the server MDT_TEST_STORE_URI names (the ctest
 * fixture's, tests/common/pg_harness.sh); any other backend takes its URI
 * from MDT_TEST_STORE_URI (docs/audit.md, "Backends").
 */
#ifndef MDT_STORE_FIXTURE_H
#define MDT_STORE_FIXTURE_H

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include <mandate/store.h>

#include "pg_fixture.h"

/* SQL that takes a SQLite store of schema 6 back to what schema 5 wrote,
 * and one of PostgreSQL's schema 7 back to 6 (the clinician-now grants),
 * version rows aside. */
#define FX_SQLITE_UNDO_6 "DROP TABLE IF EXISTS clinician_now;" \
	" DROP INDEX IF EXISTS approvals_expires;"
#define FX_PG_UNDO_7 FX_SQLITE_UNDO_6

/* SQL that takes a SQLite store of schema 5 (or later) back to what
 * schema 4 wrote (before the version is set lower for a migration test). */
#define FX_SQLITE_UNDO_5 FX_SQLITE_UNDO_6 \
	"DROP TABLE sources; DROP TABLE reviews;" \
	" ALTER TABLE decisions DROP COLUMN request;" \
	" ALTER TABLE decisions DROP COLUMN entities_version;"

typedef struct fx {
	char dir[64];
	char path[128];
	char uri[512];         /* what open and verify are given */
	uint8_t seed[32], pk[32];
	mdt_store *s;
} fx;

#define FX_ISSUES_MAX 64

typedef struct fx_issues {
	size_t n;
	mdt_store_issue v[FX_ISSUES_MAX];
} fx_issues;

static inline void
fx_open_opts(fx *f, mdt_store_opts *o)
{
	char err[MDT_ERRMSG_MAX];
	int rc;

	o->seal_seed = f->seed;
	rc = mdt_store_open(f->uri, o, &f->s, err, sizeof(err));
	ck_assert_msg(rc == 0, "open: %s: %s", mdt_strerror(rc), err);
}

static inline void
fx_open(fx *f)
{
	/* Checkpoints by count only, so tests know where they are. */
	mdt_store_opts o = {.checkpoint_every = 10, .checkpoint_ms = 3600000};

	fx_open_opts(f, &o);
}

/* 1 when the suite runs on SQLite: cases about SQLite's own files,
 * PRAGMAs and storage classes register only then. */
static inline int
fx_backend_sqlite(void)
{
	const char *b = getenv("MDT_TEST_STORE_BACKEND");

	return b == NULL || b[0] == '\0' || strcmp(b, "sqlite") == 0;
}

static inline void
fx_uri(fx *f)
{
	const char *b = getenv("MDT_TEST_STORE_BACKEND");
	const char *u = getenv("MDT_TEST_STORE_URI");

	if (b == NULL || b[0] == '\0' || strcmp(b, "sqlite") == 0) {
		snprintf(f->uri, sizeof(f->uri), "sqlite:%s", f->path);
		return;
	}
	ck_assert_msg(u != NULL && u[0] != '\0', "store backend %s: set "
	    "MDT_TEST_STORE_URI to a fresh store of it", b);
	if (strcmp(b, "postgresql") == 0) {
		char err[512];
		ck_assert_msg(mdt_test_pg_fresh(u, f->uri, sizeof(f->uri), err,
		    sizeof(err)) == 0, "fresh database: %s", err);
		return;
	}
	snprintf(f->uri, sizeof(f->uri), "%s", u);
}

static inline void
fx_init(fx *f)
{
	uint8_t sk[64];

	ck_assert_int_ge(sodium_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/mdt-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/audit.db", f->dir);
	fx_uri(f);
	randombytes_buf(f->seed, sizeof(f->seed));
	crypto_sign_seed_keypair(f->pk, sk, f->seed);
	sodium_memzero(sk, sizeof(sk));
	f->s = NULL;
}

static inline void
fx_close(fx *f)
{
	mdt_store_close(f->s);
	f->s = NULL;
}

static inline void
fx_cleanup(fx *f)
{
	static const char *const sfx[] = {"", "-wal", "-shm", ".lock"};
	char p[160];

	fx_close(f);
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
		unlink(p);
	}
	rmdir(f->dir);
}

static inline void
fx_root(fx *f, const char *id)
{
	mdt_store_task t = {.task_id = id, .operation = "open",
	    .clinician = "dr-who", .patient = "pat-001", .purpose = "TREAT",
	    .holder = "spiffe://clinic.example/orchestrator",
	    .scopes = "patient/*.rs", .token_id = "tok-root",
	    .expires_ms = mdt_store_now_ms() + 60000};
	int rc = mdt_store_add_task(f->s, &t, 0, NULL);

	ck_assert_msg(rc == 0, "root %s: %s", id, mdt_strerror(rc));
}

static inline int
fx_child(fx *f, const char *id, const char *parent, uint32_t depth,
    uint32_t max_children)
{
	mdt_store_task t = {.task_id = id, .parent_id = parent,
	    .operation = "delegate", .depth = depth, .clinician = "dr-who",
	    .patient = "pat-001", .purpose = "TREAT",
	    .from_agent = "spiffe://clinic.example/orchestrator",
	    .holder = "spiffe://clinic.example/labs",
	    .scopes = "patient/Observation.rs", .token_id = "tok-child",
	    .expires_ms = mdt_store_now_ms() + 60000};

	return mdt_store_add_task(f->s, &t, max_children, NULL);
}

static inline uint64_t
fx_decision(fx *f, const char *req, const char *task, mdt_store_verdict v)
{
	mdt_store_decision d = {.request_id = req, .operation = "authorize",
	    .verdict = v, .reasons = v == MDT_STORE_ALLOW ? "{}" :
	    "{\"failed\":\"scope\",\"layer\":\"clinician\"}",
	    .policy_ids = "[\"permit-care-team\"]", .policy_hash = "ab12",
	    .task_id = task, .token_id = "tok-child", .clinician = "dr-who",
	    .agent = "spiffe://clinic.example/labs",
	    .agent_chain = "[\"spiffe://clinic.example/orchestrator\","
	    "\"spiffe://clinic.example/labs\"]", .patient = "pat-001",
	    .purpose = "TREAT", .action = "read",
	    .resource = "Observation/obs-1"};
	uint64_t seq = 0;
	int rc = mdt_store_append_decision(f->s, &d, &seq);

	ck_assert_msg(rc == 0, "decision %s: %s", req, mdt_strerror(rc));
	ck_assert_uint_gt(seq, 0);
	return seq;
}

static inline void
fx_collect(void *arg, const mdt_store_issue *is)
{
	fx_issues *c = arg;

	if (c->n < FX_ISSUES_MAX)
		c->v[c->n++] = *is;
}

/* Verifies the file; returns the status, issues in *out. */
static inline int
fx_verify(fx *f, fx_issues *out, mdt_store_report *rep)
{
	char err[MDT_ERRMSG_MAX] = "";

	memset(out, 0, sizeof(*out));
	return mdt_store_verify(f->uri, f->pk, fx_collect, out, rep, err,
	    sizeof(err));
}

/* True when an issue of kind covers seq. */
static inline int
fx_has(const fx_issues *c, mdt_store_issue_kind kind, uint64_t seq)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].kind == kind && c->v[i].seq <= seq &&
		    seq <= c->v[i].seq_end)
			return 1;
	return 0;
}

static inline int
fx_is_pg(const fx *f)
{
	return strncmp(f->uri, "postgres", 8) == 0;
}

/* The SQLite blob functions the tamper cases use, in PostgreSQL's
 * words: zeroblob(N) and randomblob(N) as bytea of N bytes. */
static inline void
fx_pg_dialect(const char *sql, char *out, size_t len)
{
	size_t o = 0;

	while (*sql != '\0' && o + 80 < len) {
		int zero = strncmp(sql, "zeroblob(", 9) == 0;
		int rnd = strncmp(sql, "randomblob(", 11) == 0;
		if (zero || rnd) {
			char *end;
			long n = strtol(sql + (zero ? 9 : 11), &end, 10);
			if (zero)
				o += (size_t)snprintf(out + o, len - o,
				    "decode(repeat('00', %ld), 'hex')", n);
			else
				o += (size_t)snprintf(out + o, len - o,
				    "substr(decode(repeat(md5(random()::text),"
				    " 8), 'hex'), 1, %ld)", n);
			sql = end + 1;
		} else {
			out[o++] = *sql++;
		}
	}
	out[o] = '\0';
}

/* Runs SQL directly on the store, as an attacker with write access. */
static inline void
fx_sql(fx *f, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;
	int rc;

	if (fx_is_pg(f)) {
		char err[512], pg[1024];
		fx_pg_dialect(sql, pg, sizeof(pg));
		ck_assert_msg(mdt_test_pg_exec(f->uri, pg, err,
		    sizeof(err)) == 0, "%s", err);
		return;
	}
	ck_assert_int_eq(sqlite3_open(f->path, &db), SQLITE_OK);
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
	sqlite3_close(db);
}

#endif

/* The PostgreSQL store's schema migrations: a store of the schema before
 * schema_version (its DDL written out here, as that code made it) is
 * migrated at open and then written and queried; the decisions a store
 * held before the migration are indexed by agent; a store newer than the
 * code is refused, by writers and readers; brokers opening one fresh
 * database at once create the schema once. */
#include <pthread.h>

#include <mandate/mandate.h>

#include "store/pg/pg_int.h"   /* MDT__PG_SCHEMA_VERSION */
#include "store_fixture.h"
#include "testutil.h"

/* Version 4, the schema of the PostgreSQL backend before migrations. */
static const char v4_sql[] =
    "CREATE TABLE meta(key text PRIMARY KEY, value bytea NOT NULL);"
    "CREATE TABLE tasks(seq bigint PRIMARY KEY, prev bytea NOT NULL,"
    " hash bytea NOT NULL, time_ms bigint, task_id text, parent_id text,"
    " root_id text, operation text, depth bigint, clinician text,"
    " patient text, purpose text, from_agent text, holder text,"
    " scopes text, token_id text, expires_ms bigint);"
    "CREATE TABLE decisions(seq bigint PRIMARY KEY, prev bytea NOT NULL,"
    " hash bytea NOT NULL, time_ms bigint, request_id text,"
    " operation text, verdict bigint, flags bigint, reasons text,"
    " policy_ids text, policy_hash text, task_id text, token_id text,"
    " clinician text, agent text, agent_chain text, patient text,"
    " purpose text, action text, resource text, request_hash bytea);"
    "CREATE TABLE approvals(seq bigint PRIMARY KEY, prev bytea NOT NULL,"
    " hash bytea NOT NULL, time_ms bigint, approval_id text,"
    " request_hash bytea, request_id text, task_id text, agent text,"
    " clinician text, action text, resource text, expires_ms bigint);"
    "CREATE TABLE approval_decisions(seq bigint PRIMARY KEY, prev bytea"
    " NOT NULL, hash bytea NOT NULL, time_ms bigint, approval_id text,"
    " state bigint, decided_by text, valid_until_ms bigint, note text);"
    "CREATE TABLE revocations(seq bigint PRIMARY KEY, prev bytea NOT NULL,"
    " hash bytea NOT NULL, time_ms bigint, task_id text, state bigint,"
    " ended_by text, reason text, revoked text);"
    "CREATE TABLE act_uses(seq bigint PRIMARY KEY, prev bytea NOT NULL,"
    " hash bytea NOT NULL, time_ms bigint, act_hash bytea, act_kind text,"
    " clinician text, expires_ms bigint);"
    "CREATE UNIQUE INDEX tasks_id ON tasks(task_id);"
    "CREATE INDEX tasks_parent ON tasks(parent_id, seq);"
    "CREATE INDEX tasks_root ON tasks(root_id, seq);"
    "CREATE UNIQUE INDEX decisions_req ON decisions(request_id);"
    "CREATE INDEX decisions_task ON decisions(task_id, seq);"
    "CREATE UNIQUE INDEX approvals_id ON approvals(approval_id);"
    "CREATE INDEX approvals_task ON approvals(task_id, seq);"
    "CREATE UNIQUE INDEX approval_decisions_id ON"
    " approval_decisions(approval_id);"
    "CREATE INDEX revocations_task ON revocations(task_id);"
    "CREATE UNIQUE INDEX act_uses_hash ON act_uses(act_hash);"
    "CREATE TABLE ended(task_id text PRIMARY KEY, state bigint NOT NULL,"
    " rev_seq bigint NOT NULL, time_ms bigint NOT NULL);"
    "CREATE TABLE checkpoints(seq bigint PRIMARY KEY, hash bytea NOT NULL,"
    " time_ms bigint NOT NULL, prev_cp bigint NOT NULL, sig bytea NOT NULL);"
    "CREATE TABLE head(one int PRIMARY KEY CHECK (one = 1),"
    " seq bigint NOT NULL, hash bytea, last_cp bigint NOT NULL);"
    "INSERT INTO head VALUES (1, 0, NULL, 0);"
    "CREATE TABLE work(seq bigserial PRIMARY KEY, item_id text NOT NULL"
    " UNIQUE, agent text NOT NULL, kind bigint NOT NULL, task_id text"
    " NOT NULL, parent_id text, from_agent text, op text, status text,"
    " scopes text, patient text, purpose text, clinician text,"
    " depth bigint NOT NULL, expires bigint NOT NULL, token bytea,"
    " payload bytea, time_ms bigint NOT NULL, lease_until bigint NOT NULL"
    " DEFAULT 0, deliveries bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX work_agent ON work(agent, seq);"
    "CREATE INDEX work_task ON work(task_id);"
    "INSERT INTO meta VALUES ('id', decode(repeat('ab', 16), 'hex')),"
    " ('version', '\\x04');";

/* What versions 5 and later added, taken away again: a version 4 store
 * with the records this code wrote. */
static const char to_v4_sql[] =
    FX_PG_UNDO_7 "DROP TABLE sources; DROP TABLE reviews; ALTER TABLE decisions"
    " DROP COLUMN request, DROP COLUMN entities_version;"
    "DROP TABLE decision_agents; DROP TABLE schema_version;"
    "DROP INDEX decisions_patient; DROP INDEX decisions_clinician;"
    "DROP INDEX decisions_time; DROP FUNCTION mdt_json_str;"
    "UPDATE meta SET value = '\\x04' WHERE key = 'version'";

static void
pg_run(fx *f, const char *sql)
{
	char err[512];

	ck_assert_msg(mdt_test_pg_exec(f->uri, sql, err, sizeof(err)) == 0,
	    "%s", err);
}

/* Fails the case unless the query's single value is true. */
static void
pg_true(fx *f, const char *cond)
{
	char sql[512], err[512];

	snprintf(sql, sizeof(sql), "DO $$ BEGIN IF NOT (%s) THEN RAISE"
	    " EXCEPTION 'false'; END IF; END $$", cond);
	ck_assert_msg(mdt_test_pg_exec(f->uri, sql, err, sizeof(err)) == 0,
	    "%s: %s", cond, err);
}

static int
count_dec(void *arg, const mdt_store_decision *d)
{
	(void)d;
	(*(int *)arg)++;
	return 0;
}

static int
by_agent(fx *f, const char *agent)
{
	mdt_store_query q = {.agent = agent};
	int n = 0;

	ck_assert_int_eq(mdt_store_query_decisions(f->s, &q, count_dec, &n),
	    0);
	return n;
}

#define ORCH "spiffe://clinic.example/orchestrator"
#define LABS "spiffe://clinic.example/labs"

START_TEST(migrates_a_version_4_store)
{
	fx F;
	fx_issues is;
	mdt_store_report rep;

	fx_init(&F);
	pg_run(&F, v4_sql);
	fx_open(&F);
	{
		char cond[300];
		snprintf(cond, sizeof(cond), "(SELECT array_agg(version ORDER"
		    " BY version) FROM schema_version) = ARRAY(SELECT"
		    " generate_series(4, %d)) AND (SELECT value FROM meta WHERE"
		    " key = 'version') = '\\x%02x'", MDT__PG_SCHEMA_VERSION,
		    MDT__PG_SCHEMA_VERSION);
		pg_true(&F, cond);
	}
	pg_true(&F, "(SELECT value FROM meta WHERE key = 'id') ="
	    " decode(repeat('ab', 16), 'hex')");
	fx_root(&F, "t-root");
	ck_assert_int_eq(fx_child(&F, "t-c", "t-root", 1, 0), 0);
	fx_decision(&F, "r-1", "t-c", MDT_STORE_ALLOW);
	fx_decision(&F, "r-2", "t-c", MDT_STORE_DENY);
	ck_assert_int_eq(by_agent(&F, ORCH), 2);
	ck_assert_int_eq(by_agent(&F, LABS), 2);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(rep.records, 4);
	fx_cleanup(&F);
}
END_TEST

START_TEST(migration_indexes_the_decisions_there)
{
	mdt_store_query q = {.reason = "scope"};
	fx F;
	fx_issues is;
	int n = 0;

	fx_init(&F);
	fx_open(&F);
	fx_root(&F, "t-root");
	fx_decision(&F, "r-1", "t-root", MDT_STORE_ALLOW);
	fx_decision(&F, "r-2", "t-root", MDT_STORE_DENY);
	fx_close(&F);
	pg_run(&F, to_v4_sql);
	/* a reader does not migrate: it asks for a writer first */
	{
		mdt_store_opts o = {.read_only = 1};
		mdt_store *ro = NULL;
		char err[MDT_ERRMSG_MAX];
		ck_assert_int_eq(mdt_store_open(F.uri, &o, &ro, err,
		    sizeof(err)), -MDT_EVERSION);
		ck_assert_ptr_nonnull(strstr(err, "older"));
	}
	fx_open(&F);
	ck_assert_int_eq(by_agent(&F, ORCH), 2);
	ck_assert_int_eq(by_agent(&F, LABS), 2);
	ck_assert_int_eq(by_agent(&F, "spiffe://clinic.example/none"), 0);
	ck_assert_int_eq(mdt_store_query_decisions(F.s, &q, count_dec, &n), 0);
	ck_assert_int_eq(n, 1);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, NULL), 0);
	fx_cleanup(&F);
}
END_TEST

START_TEST(refuses_a_newer_store)
{
	mdt_store_opts ro = {.read_only = 1};
	char err[MDT_ERRMSG_MAX];
	mdt_store *s = NULL;
	fx F;

	fx_init(&F);
	fx_open(&F);
	fx_close(&F);
	fx_sql(&F, "INSERT INTO schema_version VALUES (99, 0)");
	ck_assert_int_eq(mdt_store_open(F.uri, NULL, &s, err, sizeof(err)),
	    -MDT_EVERSION);
	ck_assert_ptr_nonnull(strstr(err, "newer"));
	ck_assert_int_eq(mdt_store_open(F.uri, &ro, &s, err, sizeof(err)),
	    -MDT_EVERSION);
	ck_assert_ptr_null(s);
	fx_cleanup(&F);
}
END_TEST

/* An empty database opened read-only (audit commands, a broker's
 * --check-config before its first start) says what it is, apart from a
 * store that cannot be read. */
START_TEST(empty_database_read_only)
{
	mdt_store_opts ro = {.read_only = 1};
	char err[MDT_ERRMSG_MAX];
	mdt_store *s = NULL;
	fx F;

	fx_init(&F);
	ck_assert_int_eq(mdt_store_open(F.uri, &ro, &s, err, sizeof(err)),
	    -MDT_ENOTFOUND);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(err, "empty database"));
	fx_open(&F);    /* a writer makes it a store */
	fx_close(&F);
	ck_assert_int_eq(mdt_store_open(F.uri, &ro, &s, err, sizeof(err)), 0);
	mdt_store_close(s);
	fx_cleanup(&F);
}
END_TEST

#define OPENERS 6

struct opener {
	const char *uri;
	int rc;
	char err[MDT_ERRMSG_MAX];
	uint8_t id[16];
};

static void *
open_one(void *arg)
{
	struct opener *o = arg;
	mdt_store *s = NULL;

	o->rc = mdt_store_open(o->uri, NULL, &s, o->err, sizeof(o->err));
	if (o->rc == 0) {
		mdt_store_decision d = {.operation = "authorize",
		    .verdict = MDT_STORE_ALLOW, .agent = LABS};
		o->rc = mdt_store_append_decision(s, &d, NULL);
	}
	mdt_store_close(s);
	return NULL;
}

START_TEST(brokers_starting_together_create_it_once)
{
	pthread_t t[OPENERS];
	struct opener o[OPENERS];
	fx F;
	fx_issues is;
	mdt_store_report rep;

	fx_init(&F);
	for (int i = 0; i < OPENERS; i++) {
		memset(&o[i], 0, sizeof(o[i]));
		o[i].uri = F.uri;
		ck_assert_int_eq(pthread_create(&t[i], NULL, open_one, &o[i]),
		    0);
	}
	for (int i = 0; i < OPENERS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(o[i].rc == 0, "opener %d: %s", i, o[i].err);
	}
	{
		char cond[300];
		snprintf(cond, sizeof(cond), "(SELECT array_agg(version ORDER"
		    " BY version) FROM schema_version) = ARRAY(SELECT"
		    " generate_series(4, %d)) AND (SELECT count(*) FROM meta"
		    " WHERE key = 'id') = 1", MDT__PG_SCHEMA_VERSION);
		pg_true(&F, cond);
	}
	fx_open(&F);
	ck_assert_int_eq(by_agent(&F, LABS), OPENERS);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(rep.records, OPENERS);
	fx_cleanup(&F);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_pgschema");
	TCase *tc = tcase_create("migrations");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, migrates_a_version_4_store);
	tcase_add_test(tc, migration_indexes_the_decisions_there);
	tcase_add_test(tc, refuses_a_newer_store);
	tcase_add_test(tc, brokers_starting_together_create_it_once);
	tcase_add_test(tc, empty_database_read_only);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

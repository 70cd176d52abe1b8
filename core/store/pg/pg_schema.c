/*
 * The audit store's PostgreSQL schema and its migrations: the chained
 * tables generated from the record-kind descriptors (the same columns as
 * the SQLite schema, the replay sources and review marks among them),
 * the derived `ended` and `decision_agents` tables,
 * checkpoints, the store id in `meta`, `head` (the one row that
 * serialises the chain across brokers, docs/state-model.md, "The hash
 * chain"), and `schema_version`, one row per migration applied.
 *
 * Migrations run in order at open, in one transaction under an advisory
 * lock, so brokers that start together migrate once and the others wait
 * and find the work done.  A store newer than this code is refused.  The
 * version is also kept in meta('version'): code that predates the
 * schema_version table checks that byte, and refuses a store migrated
 * past it instead of writing rows without the tables it does not know.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "pg_int.h"

/* Arbitrary: the advisory lock held while the schema changes. */
#define SCHEMA_LOCK 0x4d445453 /* "MDTS" */

/* The first version with a migration of its own: stores made before
 * schema_version existed are at 4 (the SQLite numbering of that day). */
#define FIRST_VERSION 4

static const char *const base_sql =
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
    /* work items waiting for delivery (pg_work.c); not chained */
    "CREATE TABLE work(seq bigserial PRIMARY KEY, item_id text NOT NULL"
    " UNIQUE, agent text NOT NULL, kind bigint NOT NULL, task_id text"
    " NOT NULL, parent_id text, from_agent text, op text, status text,"
    " scopes text, patient text, purpose text, clinician text,"
    " depth bigint NOT NULL, expires bigint NOT NULL, token bytea,"
    " payload bytea, time_ms bigint NOT NULL, lease_until bigint NOT NULL"
    " DEFAULT 0, deliveries bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX work_agent ON work(agent, seq);"
    "CREATE INDEX work_task ON work(task_id);";

/*
 * Migration i brings a store from version FIRST_VERSION + i - 1 to
 * FIRST_VERSION + i (the first, NULL here, is the base schema: create()).
 * The base schema's chained tables follow today's kind descriptors, so a
 * migration that adds a column to a kind uses ADD COLUMN IF NOT EXISTS.
 */
static const char *const migrations[] = {
	NULL, /* -> 4: the base schema (create) */
	/* 4 -> 5: indexes for filtered queries (pg_query.c), and every agent
	 * of a decision's chain (derived, written with each decision by
	 * pg_batch.c; not chained), filled for the decisions already there */
	"CREATE INDEX decisions_patient ON decisions(patient, seq);"
	"CREATE INDEX decisions_clinician ON decisions(clinician, seq);"
	"CREATE INDEX decisions_time ON decisions(time_ms, seq);"
	"CREATE TABLE decision_agents(agent text NOT NULL, seq bigint NOT NULL,"
	" PRIMARY KEY(agent, seq));"
	"INSERT INTO decision_agents SELECT agent, seq FROM decisions"
	" WHERE agent IS NOT NULL ON CONFLICT DO NOTHING;"
	/* a chain that is not a JSON array indexes nothing, as on SQLite */
	"DO $$ DECLARE r record; BEGIN FOR r IN SELECT seq, agent_chain"
	" FROM decisions WHERE agent_chain IS NOT NULL LOOP BEGIN"
	" INSERT INTO decision_agents SELECT e #>> '{}', r.seq FROM"
	" jsonb_array_elements(r.agent_chain::jsonb) e WHERE jsonb_typeof(e)"
	" = 'string' ON CONFLICT DO NOTHING; EXCEPTION WHEN others THEN"
	" NULL; END; END LOOP; END $$;"
	/* the string a JSON document holds under key, NULL when it holds
	 * none or is not JSON (only a tampered row can be: values are
	 * checked on append), as SQLite's json_extract in queries */
	"CREATE FUNCTION mdt_json_str(doc text, key text) RETURNS text"
	" LANGUAGE plpgsql IMMUTABLE STRICT COST 1000 AS $$ BEGIN RETURN"
	" CASE WHEN jsonb_typeof(doc::jsonb -> key) = 'string' THEN"
	" doc::jsonb ->> key END; EXCEPTION WHEN others THEN RETURN NULL;"
	" END $$;",
	/* 5 -> 6: what a decision's replay needs (audit explain): its Cedar
	 * request and entity version, the policy sets and entity data by
	 * hash (sources) and review marks; their tables come from the kind
	 * descriptors (kind_tables), before this */
	"ALTER TABLE decisions ADD COLUMN IF NOT EXISTS request text,"
	" ADD COLUMN IF NOT EXISTS entities_version text;"
	"CREATE UNIQUE INDEX IF NOT EXISTS sources_id ON sources(source_kind,"
	" digest);"
	"CREATE UNIQUE INDEX IF NOT EXISTS reviews_decision ON"
	" reviews(decision_seq);",
	/* 6 -> 7: clinician-now grants (not chained: the latest launch
	 * assertion's scope of each clinician; pg_clinician.c), and the
	 * index the step-up expiry reads undecided approvals by */
	"CREATE TABLE IF NOT EXISTS clinician_now(clinician text PRIMARY KEY,"
	" iat bigint NOT NULL, scopes text NOT NULL, time_ms bigint NOT NULL);"
	"CREATE INDEX IF NOT EXISTS approvals_expires ON"
	" approvals(expires_ms);",
	/* 7 -> 8: receipts (pg_receipts.c): each batch's signed head and
	 * its leaves, and the last head's hash in the locked head row, so
	 * that the heads of every broker's batches form one chain */
	"ALTER TABLE head ADD COLUMN IF NOT EXISTS rhead bytea;"
	"CREATE TABLE IF NOT EXISTS receipt_heads(first_seq bigint PRIMARY"
	" KEY, last_seq bigint NOT NULL, head bytea NOT NULL, sig bytea"
	" NOT NULL);"
	"CREATE TABLE IF NOT EXISTS receipt_leaves(seq bigint PRIMARY KEY,"
	" first_seq bigint NOT NULL, leaf_index integer NOT NULL, token_id"
	" bytea NOT NULL);"
	"CREATE INDEX IF NOT EXISTS receipt_leaves_batch ON"
	" receipt_leaves(first_seq, leaf_index);",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(FIRST_VERSION - 1 + sizeof(migrations) /
    sizeof(migrations[0]) == MDT__PG_SCHEMA_VERSION,
    "one migration per PostgreSQL schema version");

static const char *
col_type(char t)
{
	return t == 'T' ? "text" : (t == 'H' || t == 'P') ? "bytea" : "bigint";
}

/* CREATE TABLE for one chained kind; caller frees. */
static char *
table_sql(const mdt__kind_desc *d)
{
	size_t cap = 144 + d->ncols * 48, o;
	char *sql = mdt__malloc(cap);

	if (sql == NULL)
		return NULL;
	o = (size_t)snprintf(sql, cap, "CREATE TABLE IF NOT EXISTS %s(seq"
	    " bigint PRIMARY KEY, prev bytea NOT NULL, hash bytea NOT NULL",
	    d->table);
	for (size_t i = 0; i < d->ncols; i++)
		o += (size_t)snprintf(sql + o, cap - o, ", %s %s",
		    d->cols[i].name, col_type(d->cols[i].type));
	snprintf(sql + o, cap - o, ")");
	return sql;
}

static int
run(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	PQclear(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	snprintf(err, errlen, "PostgreSQL schema: %s", PQerrorMessage(c));
	return -MDT_ESTORE;
}

/* The chained tables of kinds first..last (those that exist are kept). */
static int
kind_tables(PGconn *c, int first, int last, char *err, size_t errlen)
{
	int rc = 0;

	for (int k = first; rc == 0 && k <= last; k++) {
		char *t = table_sql(mdt__kind_get(k));
		if (t == NULL)
			return -MDT_ENOMEM;
		rc = run(c, t, err, errlen);
		mdt__free(t);
	}
	return rc;
}

/* The base schema (version FIRST_VERSION) and a new store id. */
static int
create(PGconn *c, char *err, size_t errlen)
{
	uint8_t id[MDT__STORE_ID_BYTES];
	char sql[160], hex[2 * MDT__STORE_ID_BYTES + 1];
	int rc = 0;

	rc = kind_tables(c, 1, MDT__KIND_COUNT_ - 1, err, errlen);
	if (rc == 0)
		rc = run(c, base_sql, err, errlen);
	randombytes_buf(id, sizeof(id));
	mdt__hex(id, sizeof(id), hex);
	snprintf(sql, sizeof(sql), "INSERT INTO meta VALUES ('id',"
	    " decode('%s', 'hex')), ('version', '\\x%02x')", hex,
	    FIRST_VERSION);
	return rc == 0 ? run(c, sql, err, errlen) : rc;
}

/* The store's schema version: 0 when there is none, else the highest
 * migration in schema_version, or for a store made before that table the
 * byte in meta('version').  Negative on error. */
static int
version(PGconn *c, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, "SELECT to_regclass('meta') IS NOT NULL,"
	    " to_regclass('schema_version') IS NOT NULL");
	const char *sql = NULL;
	int v = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snprintf(err, errlen, "PostgreSQL: %s", PQerrorMessage(c));
		PQclear(r);
		return -MDT_ESTORE;
	}
	if (strcmp(PQgetvalue(r, 0, 1), "t") == 0)
		sql = "SELECT coalesce(max(version), 0) FROM schema_version";
	else if (strcmp(PQgetvalue(r, 0, 0), "t") == 0)
		sql = "SELECT coalesce((SELECT get_byte(value, 0) FROM meta"
		    " WHERE key = 'version' AND length(value) = 1), 0)";
	PQclear(r);
	if (sql == NULL)
		return 0;
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snprintf(err, errlen, "PostgreSQL schema version: %s",
		    PQerrorMessage(c));
		v = -MDT_ESTORE;
	} else {
		v = atoi(PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return v;
}

static int
read_id(PGconn *c, uint8_t id[MDT__STORE_ID_BYTES], char *err,
    size_t errlen)
{
	PGresult *r = PQexecParams(c, "SELECT value FROM meta WHERE"
	    " key = 'id'", 0, NULL, NULL, NULL, NULL, 1);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
	    PQgetlength(r, 0, 0) != MDT__STORE_ID_BYTES) {
		snprintf(err, errlen, "not a Mandate audit store (%s)",
		    PQerrorMessage(c));
		rc = -MDT_ESTORE;
	} else {
		memcpy(id, PQgetvalue(r, 0, 0), MDT__STORE_ID_BYTES);
	}
	PQclear(r);
	return rc;
}

/* Records version v as applied (and in meta, for older code). */
static int
mark(PGconn *c, int v, char *err, size_t errlen)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "INSERT INTO schema_version(version,"
	    " applied_ms) VALUES (%d, (extract(epoch FROM clock_timestamp())"
	    " * 1000)::bigint); UPDATE meta SET value = '\\x%02x' WHERE"
	    " key = 'version'", v, v);
	return run(c, sql, err, errlen);
}

/* Applies the migrations after version `from`, the lock held. */
static int
migrate(PGconn *c, int from, char *err, size_t errlen)
{
	int rc = run(c, "CREATE TABLE IF NOT EXISTS schema_version(version"
	    " int PRIMARY KEY, applied_ms bigint NOT NULL)", err, errlen);

	if (rc == 0 && from == 0)
		rc = create(c, err, errlen);
	if (rc == 0 && from <= FIRST_VERSION)
		rc = mark(c, FIRST_VERSION, err, errlen);
	for (int v = from < FIRST_VERSION ? FIRST_VERSION : from;
	    rc == 0 && v < MDT__PG_SCHEMA_VERSION; v++) {
		if (v + 1 == 6)
			rc = kind_tables(c, MDT__KIND_SOURCE, MDT__KIND_REVIEW,
			    err, errlen);
		if (rc == 0)
			rc = run(c, migrations[v + 1 - FIRST_VERSION], err,
			    errlen);
		if (rc == 0)
			rc = mark(c, v + 1, err, errlen);
	}
	return rc;
}

static int
check(int v, int read_only, char *err, size_t errlen)
{
	if (v > MDT__PG_SCHEMA_VERSION) {
		snprintf(err, errlen, "schema version %d is newer than this "
		    "library's %d", v, MDT__PG_SCHEMA_VERSION);
		return -MDT_EVERSION;
	}
	/* An empty database is what an operator points the first broker
	 * at: distinguishable (ENOTFOUND), so that a check can say so. */
	if (v == 0 && read_only) {
		snprintf(err, errlen, "not a Mandate audit store yet (an empty "
		    "database: mandated creates the schema at its first start)");
		return -MDT_ENOTFOUND;
	}
	if (v < MDT__PG_SCHEMA_VERSION && read_only) {
		snprintf(err, errlen, "schema version %d is older than this "
		    "library's %d: open the store for writing once (start "
		    "mandated) to migrate it", v, MDT__PG_SCHEMA_VERSION);
		return -MDT_EVERSION;
	}
	return 0;
}

/* Under the advisory lock: the version again (another broker may have
 * migrated meanwhile), then the migrations still missing. */
static int
upgrade(PGconn *c, char *err, size_t errlen)
{
	char sql[160];
	int rc, v;

	snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%d);"
	    " CREATE TABLE IF NOT EXISTS meta(key text PRIMARY KEY, value"
	    " bytea NOT NULL)", SCHEMA_LOCK);
	if ((rc = run(c, sql, err, errlen)) != 0)
		goto bad;
	if ((v = version(c, err, errlen)) < 0) {
		rc = v;
		goto bad;
	}
	if ((rc = check(v, 0, err, errlen)) != 0 ||
	    (v < MDT__PG_SCHEMA_VERSION &&
	    (rc = migrate(c, v, err, errlen)) != 0))
		goto bad;
	if ((rc = run(c, "COMMIT", err, errlen)) != 0)
		return rc;
	err[0] = '\0';
	return 0;
bad:
	PQclear(PQexec(c, "ROLLBACK"));
	return rc;
}

int
mdt__pg_schema(PGconn *c, int read_only, uint8_t id[MDT__STORE_ID_BYTES],
    char *err, size_t errlen)
{
	int v = version(c, err, errlen), rc;

	if (v < 0)
		return v;
	if ((rc = check(v, read_only, err, errlen)) != 0)
		return rc;
	if (v < MDT__PG_SCHEMA_VERSION && (rc = upgrade(c, err, errlen)) != 0)
		return rc;
	return read_id(c, id, err, errlen);
}

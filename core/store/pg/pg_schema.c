/*
 * The audit store's PostgreSQL schema: the chained tables generated from
 * the record-kind descriptors (the same columns as the SQLite schema),
 * the derived `ended` table, checkpoints, the store id and schema
 * version in `meta`, and `head`, the one row that serialises the chain
 * across brokers (docs/state-model.md, "The hash chain").
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "pg_int.h"

/* Arbitrary: the advisory lock held while the schema is created. */
#define SCHEMA_LOCK 0x4d445453 /* "MDTS" */

static const char *const extra_sql =
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

static const char *
col_type(char t)
{
	return t == 'T' ? "text" : (t == 'H' || t == 'P') ? "bytea" : "bigint";
}

/* CREATE TABLE for one chained kind; caller frees. */
char *
mdt__pg_table_sql(const mdt__kind_desc *d)
{
	size_t cap = 128 + d->ncols * 48, o;
	char *sql = mdt__malloc(cap);

	if (sql == NULL)
		return NULL;
	o = (size_t)snprintf(sql, cap, "CREATE TABLE %s(seq bigint PRIMARY KEY,"
	    " prev bytea NOT NULL, hash bytea NOT NULL", d->table);
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

static int
create(PGconn *c, char *err, size_t errlen)
{
	uint8_t id[MDT__STORE_ID_BYTES];
	char sql[160], hex[2 * MDT__STORE_ID_BYTES + 1];
	int rc = 0;

	for (int k = 1; rc == 0 && k < MDT__KIND_COUNT_; k++) {
		char *t = mdt__pg_table_sql(mdt__kind_get(k));
		if (t == NULL)
			return -MDT_ENOMEM;
		rc = run(c, t, err, errlen);
		mdt__free(t);
	}
	if (rc == 0)
		rc = run(c, extra_sql, err, errlen);
	if (rc == 0)
		rc = run(c, mdt__pg_schema5_sql, err, errlen);
	randombytes_buf(id, sizeof(id));
	mdt__hex(id, sizeof(id), hex);
	snprintf(sql, sizeof(sql), "INSERT INTO meta VALUES ('id',"
	    " decode('%s', 'hex')), ('version', '\\x%02x')", hex,
	    MDT__STORE_SCHEMA_VERSION);
	return rc == 0 ? run(c, sql, err, errlen) : rc;
}

int
mdt__pg_schema_run(PGconn *c, const char *sql, char *err, size_t errlen)
{
	return run(c, sql, err, errlen);
}

/* 1 when the schema exists, 0 when not, negative on error. */
static int
exists(PGconn *c, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, "SELECT to_regclass('meta') IS NOT NULL");
	int rc;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snprintf(err, errlen, "PostgreSQL: %s", PQerrorMessage(c));
		rc = -MDT_ESTORE;
	} else {
		rc = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	}
	PQclear(r);
	return rc;
}

static int
read_meta(PGconn *c, uint8_t id[MDT__STORE_ID_BYTES], char *err,
    size_t errlen)
{
	PGresult *r = PQexecParams(c, "SELECT (SELECT value FROM meta WHERE"
	    " key = 'id'), (SELECT value FROM meta WHERE key = 'version')", 0,
	    NULL, NULL, NULL, NULL, 1);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
	    PQgetlength(r, 0, 0) != MDT__STORE_ID_BYTES ||
	    PQgetlength(r, 0, 1) != 1) {
		snprintf(err, errlen, "not a Mandate audit store (%s)",
		    PQerrorMessage(c));
		rc = -MDT_ESTORE;
	} else if ((unsigned char)PQgetvalue(r, 0, 1)[0] !=
	    MDT__STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "schema version %d is not this "
		    "library's %d", (unsigned char)PQgetvalue(r, 0, 1)[0],
		    MDT__STORE_SCHEMA_VERSION);
		rc = -MDT_EVERSION;
	} else {
		memcpy(id, PQgetvalue(r, 0, 0), MDT__STORE_ID_BYTES);
	}
	PQclear(r);
	return rc;
}

int
mdt__pg_schema(PGconn *c, int read_only, uint8_t id[MDT__STORE_ID_BYTES],
    char *err, size_t errlen)
{
	char sql[200];
	int rc = exists(c, err, errlen);

	if (rc < 0)
		return rc;
	if (rc == 0 && read_only) {
		snprintf(err, errlen, "not a Mandate audit store (no schema)");
		return -MDT_ESTORE;
	}
	if (rc == 0) {
		/* Brokers starting together: one creates, the others wait
		 * and find it made. */
		snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock"
		    "(%d); CREATE TABLE IF NOT EXISTS meta(key text PRIMARY"
		    " KEY, value bytea NOT NULL)", SCHEMA_LOCK);
		if ((rc = run(c, sql, err, errlen)) != 0)
			goto bad;
		rc = read_meta(c, id, err, errlen);
		if (rc != 0 && (rc = create(c, err, errlen)) != 0)
			goto bad;
		if ((rc = run(c, "COMMIT", err, errlen)) != 0)
			return rc;
		err[0] = '\0';
	}
	if (!read_only && (rc = mdt__pg_migrate5(c, err, errlen)) != 0)
		return rc;
	return read_meta(c, id, err, errlen);
bad:
	PQclear(PQexec(c, "ROLLBACK"));
	return rc;
}

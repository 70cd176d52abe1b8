/*
 * The audit store's SQLite schema: connection settings (WAL,
 * synchronous=FULL, busy timeout), schema creation and migration by
 * version (PRAGMA user_version), and the store id kept in the meta table.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "alloc_int.h"
#include "sqlite_int.h"

/*
 * Migration i brings a store from version i to i + 1.  Chained tables
 * share the columns seq (global, contiguous from 1), prev and hash.
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
	"CREATE TABLE tasks(seq INTEGER PRIMARY KEY, prev BLOB NOT NULL,"
	" hash BLOB NOT NULL, time_ms INTEGER NOT NULL,"
	" task_id TEXT NOT NULL UNIQUE, parent_id TEXT, root_id TEXT NOT NULL,"
	" operation TEXT, depth INTEGER NOT NULL, clinician TEXT,"
	" patient TEXT, purpose TEXT, from_agent TEXT, holder TEXT,"
	" scopes TEXT, token_id TEXT, expires_ms INTEGER NOT NULL);"
	"CREATE INDEX tasks_parent ON tasks(parent_id, seq);"
	"CREATE INDEX tasks_root ON tasks(root_id, seq);"
	"CREATE TABLE decisions(seq INTEGER PRIMARY KEY, prev BLOB NOT NULL,"
	" hash BLOB NOT NULL, time_ms INTEGER NOT NULL,"
	" request_id TEXT UNIQUE, operation TEXT NOT NULL,"
	" verdict INTEGER NOT NULL, flags INTEGER NOT NULL, reasons TEXT,"
	" policy_ids TEXT, policy_hash TEXT, task_id TEXT, token_id TEXT,"
	" clinician TEXT, agent TEXT, agent_chain TEXT, patient TEXT,"
	" purpose TEXT, action TEXT, resource TEXT);"
	"CREATE INDEX decisions_task ON decisions(task_id, seq);"
	"CREATE TABLE approvals(seq INTEGER PRIMARY KEY, prev BLOB NOT NULL,"
	" hash BLOB NOT NULL, time_ms INTEGER NOT NULL,"
	" approval_id TEXT NOT NULL UNIQUE, request_hash BLOB NOT NULL,"
	" request_id TEXT, task_id TEXT, agent TEXT, clinician TEXT,"
	" action TEXT, resource TEXT, expires_ms INTEGER NOT NULL);"
	"CREATE INDEX approvals_task ON approvals(task_id, seq);"
	"CREATE TABLE approval_decisions(seq INTEGER PRIMARY KEY,"
	" prev BLOB NOT NULL, hash BLOB NOT NULL, time_ms INTEGER NOT NULL,"
	" approval_id TEXT NOT NULL UNIQUE, state INTEGER NOT NULL,"
	" decided_by TEXT, valid_until_ms INTEGER NOT NULL, note TEXT);"
	"CREATE TABLE revocations(seq INTEGER PRIMARY KEY, prev BLOB NOT NULL,"
	" hash BLOB NOT NULL, time_ms INTEGER NOT NULL, task_id TEXT NOT NULL,"
	" state INTEGER NOT NULL, ended_by TEXT, reason TEXT,"
	" revoked TEXT NOT NULL);"
	"CREATE INDEX revocations_task ON revocations(task_id);"
	/* Derived from revocations (verify cross-checks it): ended tasks. */
	"CREATE TABLE ended(task_id TEXT PRIMARY KEY, state INTEGER NOT NULL,"
	" rev_seq INTEGER NOT NULL, time_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE checkpoints(seq INTEGER PRIMARY KEY,"
	" hash BLOB NOT NULL, time_ms INTEGER NOT NULL,"
	" prev_cp INTEGER NOT NULL, sig BLOB NOT NULL);"
	"CREATE VIEW edges AS SELECT seq, time_ms, parent_id, task_id AS"
	" child_id, from_agent, holder AS to_agent, scopes, operation"
	" FROM tasks WHERE parent_id IS NOT NULL;",
	/* 1 -> 2: the request's content hash on decisions (hashed only when
	 * present, so version 1 records verify unchanged) and the chained
	 * record of single-use clinician acts. */
	"ALTER TABLE decisions ADD COLUMN request_hash BLOB;"
	"CREATE TABLE act_uses(seq INTEGER PRIMARY KEY, prev BLOB NOT NULL,"
	" hash BLOB NOT NULL, time_ms INTEGER NOT NULL,"
	" act_hash BLOB NOT NULL UNIQUE, act_kind TEXT, clinician TEXT,"
	" expires_ms INTEGER NOT NULL);",
	/* 2 -> 3: work items waiting for delivery (work.c); not chained */
	"CREATE TABLE work(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" item_id TEXT NOT NULL UNIQUE, agent TEXT NOT NULL,"
	" kind INTEGER NOT NULL, task_id TEXT NOT NULL, parent_id TEXT,"
	" from_agent TEXT, op TEXT, status TEXT, scopes TEXT, patient TEXT,"
	" purpose TEXT, clinician TEXT, depth INTEGER NOT NULL,"
	" expires INTEGER NOT NULL, token BLOB, payload BLOB,"
	" time_ms INTEGER NOT NULL, lease_until INTEGER NOT NULL DEFAULT 0,"
	" deliveries INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX work_agent ON work(agent, seq);"
	"CREATE INDEX work_task ON work(task_id);",
	/* 3 -> 4: indexes for filtered queries (query.c), and every agent
	 * of a decision's chain (derived, written with each decision by
	 * records.c; not chained) */
	"CREATE INDEX decisions_patient ON decisions(patient, seq);"
	"CREATE INDEX decisions_clinician ON decisions(clinician, seq);"
	"CREATE INDEX decisions_time ON decisions(time_ms, seq);"
	"CREATE TABLE decision_agents(agent TEXT NOT NULL,"
	" seq INTEGER NOT NULL, PRIMARY KEY(agent, seq)) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO decision_agents SELECT agent, seq FROM"
	" decisions WHERE agent IS NOT NULL;"
	"INSERT OR IGNORE INTO decision_agents SELECT j.value, d.seq FROM"
	" decisions d, json_each(CASE WHEN json_valid(d.agent_chain) THEN"
	" d.agent_chain ELSE '[]' END) j WHERE j.type = 'text';",
	/* 4 -> 5: what a decision's replay needs (hashed only when present,
	 * so earlier records verify unchanged), the sources (policy sets,
	 * entity data) decisions were made under, and review marks */
	"ALTER TABLE decisions ADD COLUMN request TEXT;"
	"ALTER TABLE decisions ADD COLUMN entities_version TEXT;"
	"CREATE TABLE sources(seq INTEGER PRIMARY KEY, prev BLOB NOT NULL,"
	" hash BLOB NOT NULL, time_ms INTEGER NOT NULL,"
	" source_kind TEXT NOT NULL, digest TEXT NOT NULL,"
	" content TEXT NOT NULL, UNIQUE(source_kind, digest));"
	"CREATE TABLE reviews(seq INTEGER PRIMARY KEY, prev BLOB NOT NULL,"
	" hash BLOB NOT NULL, time_ms INTEGER NOT NULL,"
	" decision_seq INTEGER NOT NULL UNIQUE, reviewer TEXT, note TEXT);",
	/* 5 -> 6: clinician-now grants (not chained: the latest launch
	 * assertion's scope of each clinician), and the index the step-up
	 * expiry reads undecided approvals by */
	"CREATE TABLE clinician_now(clinician TEXT PRIMARY KEY,"
	" iat INTEGER NOT NULL, scopes TEXT NOT NULL,"
	" time_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX approvals_expires ON approvals(expires_ms);",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
    MDT__STORE_SCHEMA_VERSION, "one migration per schema version");

static int
fail(sqlite3 *db, const char *what, char *err, size_t errlen)
{
	if (err != NULL)
		snprintf(err, errlen, "%s: %s", what,
		    db != NULL ? sqlite3_errmsg(db) : "cannot allocate");
	return -MDT_ESTORE;
}

int
mdt__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out, char *err,
    size_t errlen)
{
	int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    out, NULL);

	if (rc != SQLITE_OK) {
		if (err != NULL)
			snprintf(err, errlen, "preparing \"%.60s...\": %s", sql,
			    sqlite3_errmsg(db));
		return -MDT_ESTORE;
	}
	return 0;
}

/* Runs one integer-valued query (a pragma); -1 on error. */
static int64_t
query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
read_id(sqlite3 *db, uint8_t id[MDT__STORE_ID_BYTES])
{
	sqlite3_stmt *st;
	int ok = 0;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='id'",
	    -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == MDT__STORE_ID_BYTES) {
		memcpy(id, sqlite3_column_blob(st, 0), MDT__STORE_ID_BYTES);
		ok = 1;
	}
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

static int
write_id(sqlite3 *db)
{
	uint8_t id[MDT__STORE_ID_BYTES];
	sqlite3_stmt *st;
	int rc;

	randombytes_buf(id, sizeof(id));
	if (sqlite3_prepare_v2(db, "INSERT INTO meta(key, value) VALUES"
	    "('id', ?1)", -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_bind_blob(st, 1, id, sizeof(id), SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Applies migrations from version `from` in one transaction. */
static int
migrate(sqlite3 *db, int from, char *err, size_t errlen)
{
	char sql[64];

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(db, "starting the schema migration", err, errlen);
	/* Re-read under the write lock: another process may have migrated. */
	from = (int)query_int(db, "PRAGMA user_version");
	for (int v = from; v >= 0 && v < NMIGRATIONS; v++) {
		if (sqlite3_exec(db, migrations[v], NULL, NULL, NULL) !=
		    SQLITE_OK)
			goto bad;
		if (v == 0 && write_id(db) != 0)
			goto bad;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d",
	    MDT__STORE_SCHEMA_VERSION);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto bad;
	return 0;
bad:
	fail(db, "migrating the schema", err, errlen);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -MDT_ESTORE;
}

/* 1 when the database is (now) in WAL mode. */
static int
set_wal(sqlite3 *db)
{
	sqlite3_stmt *st;
	int ok = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st,
	    NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *m = sqlite3_column_text(st, 0);
		ok = m != NULL && strcmp((const char *)m, "wal") == 0;
	}
	sqlite3_finalize(st);
	return ok;
}

static int
configure(sqlite3 *db, int read_only, uint32_t busy_ms, char *err,
    size_t errlen)
{
	sqlite3_busy_timeout(db, (int)busy_ms);
	if (!read_only && !set_wal(db))
		return fail(db, "setting WAL mode", err, errlen);
	if (sqlite3_exec(db, "PRAGMA synchronous=FULL;"
	    "PRAGMA foreign_keys=OFF; PRAGMA trusted_schema=OFF", NULL, NULL,
	    NULL) != SQLITE_OK)
		return fail(db, "setting pragmas", err, errlen);
	return 0;
}

static int
check_version(sqlite3 *db, int read_only, char *err, size_t errlen)
{
	int64_t v = query_int(db, "PRAGMA user_version");

	if (v < 0)
		return fail(db, "reading the schema version", err, errlen);
	if (v > MDT__STORE_SCHEMA_VERSION) {
		if (err != NULL)
			snprintf(err, errlen, "schema version %lld is newer "
			    "than this library's %d", (long long)v,
			    MDT__STORE_SCHEMA_VERSION);
		return -MDT_EVERSION;
	}
	if (v < MDT__STORE_SCHEMA_VERSION) {
		if (!read_only)
			return migrate(db, (int)v, err, errlen);
		if (err != NULL && v == 0)
			snprintf(err, errlen, "not a Mandate audit store "
			    "(schema version 0)");
		else if (err != NULL)
			snprintf(err, errlen, "schema version %lld is older "
			    "than this library's %d: open the store for writing "
			    "once (start mandated) to migrate it", (long long)v,
			    MDT__STORE_SCHEMA_VERSION);
		return v == 0 ? -MDT_ESTORE : -MDT_EVERSION;
	}
	return 0;
}

int
mdt__schema_open(const char *path, int read_only, uint32_t busy_ms,
    sqlite3 **out, uint8_t id[MDT__STORE_ID_BYTES], char *err, size_t errlen)
{
	int flags = (read_only ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
	sqlite3 *db = NULL;
	int rc;

	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		rc = fail(db, path, err, errlen);
		goto out;
	}
	sqlite3_extended_result_codes(db, 1);
	if ((rc = configure(db, read_only, busy_ms, err, errlen)) != 0 ||
	    (rc = check_version(db, read_only, err, errlen)) != 0)
		goto out;
	if (read_id(db, id) != 0) {
		rc = fail(db, "reading the store id", err, errlen);
		goto out;
	}
	*out = db;
	return 0;
out:
	sqlite3_close(db);
	return rc;
}

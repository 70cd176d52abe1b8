/*
 * Schema 5 on PostgreSQL: the unique indexes of the sources and review
 * marks (their tables come from the record-kind descriptors), and the
 * migration of a schema 4 store: the replay columns of decisions and the
 * two new tables, under the schema lock so brokers starting together
 * migrate once.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "pg_int.h"

#define SCHEMA_LOCK 0x4d445453 /* pg_schema.c's */

const char *const mdt__pg_schema5_sql =
    "CREATE UNIQUE INDEX sources_id ON sources(source_kind, digest);"
    "CREATE UNIQUE INDEX reviews_decision ON reviews(decision_seq);";

/* The version byte in meta, or negative. */
static int
version(PGconn *c)
{
	PGresult *r = PQexecParams(c, "SELECT value FROM meta WHERE key ="
	    " 'version'", 0, NULL, NULL, NULL, NULL, 1);
	int v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    PQgetlength(r, 0, 0) == 1)
		v = (unsigned char)PQgetvalue(r, 0, 0)[0];
	PQclear(r);
	return v;
}

static int
migrate(PGconn *c, char *err, size_t errlen)
{
	int rc = mdt__pg_schema_run(c, "ALTER TABLE decisions ADD COLUMN"
	    " request text, ADD COLUMN entities_version text", err, errlen);

	for (int k = MDT__KIND_SOURCE; rc == 0 && k <= MDT__KIND_REVIEW; k++) {
		char *t = mdt__pg_table_sql(mdt__kind_get(k));
		if (t == NULL)
			return -MDT_ENOMEM;
		rc = mdt__pg_schema_run(c, t, err, errlen);
		mdt__free(t);
	}
	if (rc == 0)
		rc = mdt__pg_schema_run(c, mdt__pg_schema5_sql, err, errlen);
	if (rc == 0)
		rc = mdt__pg_schema_run(c, "UPDATE meta SET value = '\\x05' WHERE key ="
		    " 'version'", err, errlen);
	return rc;
}

int
mdt__pg_migrate5(PGconn *c, char *err, size_t errlen)
{
	char sql[96];
	int rc;

	if (version(c) != 4)
		return 0;
	snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%d)",
	    SCHEMA_LOCK);
	if ((rc = mdt__pg_schema_run(c, sql, err, errlen)) != 0)
		return rc;
	rc = version(c) == 4 ? migrate(c, err, errlen) : 0;
	if (rc == 0)
		return mdt__pg_schema_run(c, "COMMIT", err, errlen);
	PQclear(PQexec(c, "ROLLBACK"));
	return rc;
}

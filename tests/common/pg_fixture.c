/*
 * PostgreSQL helpers for the tests (pg_fixture.h): fresh databases, SQL
 * on a store, and private servers driven through pg_harness.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pg_fixture.h"

static int
run(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	PQclear(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	snprintf(err, errlen, "%s: %s", sql, PQerrorMessage(c));
	return -1;
}

int
mdt_test_pg_exec(const char *uri, const char *sql, char *err, size_t errlen)
{
	PGconn *c = PQconnectdb(uri);
	int rc;

	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "%s: %s", uri, PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	rc = run(c, sql, err, errlen);
	PQfinish(c);
	return rc;
}

int
mdt_test_pg_fresh(const char *base, char *uri, size_t len, char *err,
    size_t errlen)
{
	static unsigned n;
	const char *at = strstr(base, "///postgres?");
	char name[64], sql[128];

	if (at == NULL) {
		snprintf(err, errlen, "%s: not a postgresql:///postgres?... "
		    "URI", base);
		return -1;
	}
	snprintf(name, sizeof(name), "mdt_%ld_%u_%d", (long)getpid(), n++,
	    rand() & 0xffff);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	if (mdt_test_pg_exec(base, sql, err, errlen) != 0)
		return -1;
	snprintf(uri, len, "%.*s///%s?%s", (int)(at - base), base, name,
	    at + strlen("///postgres?"));
	return 0;
}

int
mdt_test_pick_store(const char *dir, char *uri, size_t len, char *err,
    size_t errlen)
{
	const char *b = getenv("MDT_TEST_STORE_BACKEND");
	const char *u = getenv("MDT_TEST_STORE_URI");

	if (b == NULL || b[0] == '\0' || strcmp(b, "sqlite") == 0) {
		snprintf(uri, len, "%s/audit.db", dir);
		return 0;
	}
	if (strcmp(b, "postgresql") != 0 || u == NULL) {
		snprintf(err, errlen, "store backend %s: set "
		    "MDT_TEST_STORE_URI to its server", b);
		return -1;
	}
	return mdt_test_pg_fresh(u, uri, len, err, errlen) == 0 ? 1 : -1;
}

static int
harness(const char *cmd, const char *dir, char *out, size_t len)
{
	const char *src = getenv("MDT_SOURCE_DIR");
	char line[1024];
	FILE *p;
	int rc;

	snprintf(line, sizeof(line), "bash '%s/tests/common/pg_harness.sh' "
	    "%s '%s'", src != NULL ? src : ".", cmd, dir);
	if ((p = popen(line, "r")) == NULL)
		return -1;
	if (out != NULL && fgets(out, (int)len, p) != NULL)
		out[strcspn(out, "\n")] = '\0';
	while (fgets(line, sizeof(line), p) != NULL)
		;
	rc = pclose(p);
	return rc;
}

int
mdt_test_pg_start(const char *dir, char *uri, size_t len)
{
	return harness("start", dir, uri, len);
}

int
mdt_test_pg_halt(const char *dir)
{
	return harness("halt", dir, NULL, 0);
}

int
mdt_test_pg_resume(const char *dir)
{
	return harness("resume", dir, NULL, 0);
}

int
mdt_test_pg_stop(const char *dir)
{
	return harness("stop", dir, NULL, 0);
}

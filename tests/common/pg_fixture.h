/*
 * PostgreSQL for tests: fresh databases on the server the ctest fixture
 * started (tests/common/pg_harness.sh, MDT_TEST_STORE_URI), SQL run
 * directly on a store (as an attacker with database access would), and
 * private servers a test can stop and start under a store.
 */
#ifndef MDT_TEST_PG_FIXTURE_H
#define MDT_TEST_PG_FIXTURE_H

#include <stddef.h>

/* Creates an empty database on the server of base (a
 * "postgresql:///postgres?..." URI) and writes its URI to uri.  0, or -1
 * with the reason in err. */
int mdt_test_pg_fresh(const char *base, char *uri, size_t len, char *err,
    size_t errlen);
/* A fresh store of the backend MDT_TEST_STORE_BACKEND names, for the
 * integration tests that run on each (tests/CMakeLists.txt,
 * MDT_STORE_INTEG_TESTS): DIR/audit.db for SQLite (returns 0), a fresh
 * database on the server of MDT_TEST_STORE_URI for PostgreSQL (returns
 * 1); -1 with the reason in err. */
int mdt_test_pick_store(const char *dir, char *uri, size_t len, char *err,
    size_t errlen);
/* Runs sql (one or more statements) on the database at uri: 0 or -1
 * with the reason in err. */
int mdt_test_pg_exec(const char *uri, const char *sql, char *err,
    size_t errlen);

/* A private server in dir (created; removed by stop), its maintenance
 * URI in uri.  halt stops it and keeps its data; resume starts it again.
 * Each returns the harness script's exit status (0 on success). */
int mdt_test_pg_start(const char *dir, char *uri, size_t len);
int mdt_test_pg_halt(const char *dir);
int mdt_test_pg_resume(const char *dir);
int mdt_test_pg_stop(const char *dir);

#endif

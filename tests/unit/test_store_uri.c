/*
 * Stores named by URI: sqlite:PATH and a plain PATH are the SQLite
 * backend and the same store (one lock); sqlite: with no path is refused;
 * a scheme this build has no backend for fails with MDT_EUNSUPPORTED and
 * a message listing the backends it has.
 */
#include <mandate/mandate.h>

#include "store/store_int.h"
#include "store_fixture.h"
#include "testutil.h"

static fx F;

static void
setup(void)
{
	fx_init(&F);
}

static void
teardown(void)
{
	fx_cleanup(&F);
}

START_TEST(parse_forms)
{
	const struct mdt__store_backend_ops *be;
	const char *loc;
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt__store_uri("sqlite:/var/x.db", &be, &loc, err,
	    sizeof(err)), 0);
	ck_assert_ptr_eq(be, &mdt__sqlite_backend);
	ck_assert_str_eq(loc, "/var/x.db");
	ck_assert_str_eq(be->scheme, "sqlite");
	ck_assert_int_eq(be->shareable, 0);
	ck_assert_int_eq(mdt__store_uri("sqlite:rel.db", &be, &loc, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(loc, "rel.db");
	/* plain paths, a colon before any "//" included */
	ck_assert_int_eq(mdt__store_uri("/var/x.db", &be, &loc, err,
	    sizeof(err)), 0);
	ck_assert_ptr_eq(be, &mdt__sqlite_backend);
	ck_assert_str_eq(loc, "/var/x.db");
	ck_assert_int_eq(mdt__store_uri("a:b.db", &be, &loc, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(loc, "a:b.db");
	ck_assert_int_eq(mdt__store_uri("./x://y", &be, &loc, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(loc, "./x://y");
}
END_TEST

START_TEST(empty_location)
{
	const struct mdt__store_backend_ops *be;
	const char *loc;
	char err[MDT_ERRMSG_MAX] = "";
	mdt_store *s = NULL;

	ck_assert_int_eq(mdt__store_uri("sqlite:", &be, &loc, err,
	    sizeof(err)), -MDT_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no location"));
	ck_assert_int_eq(mdt__store_uri("", &be, &loc, err, sizeof(err)),
	    -MDT_EINVAL);
	ck_assert_int_eq(mdt_store_open("sqlite:", NULL, &s, err,
	    sizeof(err)), -MDT_EINVAL);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(mdt_store_verify("sqlite:", F.pk, NULL, NULL, NULL,
	    err, sizeof(err)), -MDT_EINVAL);
}
END_TEST

START_TEST(unsupported_scheme)
{
	static const char *const uris[] = {
		"mysql://broker@db.example/audit", "redis://h/a",
		"mysql+tls://h/a",
	};
	const struct mdt__store_backend_ops *be;
	const char *loc;
	char err[MDT_ERRMSG_MAX];
	mdt_store *s = NULL;

	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		ck_assert_int_eq(mdt__store_uri(uris[i], &be, &loc, err,
		    sizeof(err)), -MDT_EUNSUPPORTED);
		ck_assert_int_eq(mdt_store_open(uris[i], NULL, &s, err,
		    sizeof(err)), -MDT_EUNSUPPORTED);
		ck_assert_ptr_null(s);
		ck_assert_msg(strstr(err, "not supported") != NULL &&
		    strstr(err, "backends") != NULL &&
		    strstr(err, "sqlite") != NULL, "message: %s", err);
	}
	ck_assert_ptr_nonnull(strstr(err, "\"mysql+tls\""));
	err[0] = '\0';
	ck_assert_int_eq(mdt_store_verify(uris[0], F.pk, NULL, NULL, NULL,
	    err, sizeof(err)), -MDT_EUNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(err, "\"mysql\""));
	ck_assert_ptr_nonnull(strstr(err, "sqlite"));
	ck_assert_ptr_nonnull(strstr(err, "postgresql"));
	/* nothing was created for them */
	ck_assert_int_ne(access("mysql:", F_OK), 0);
}
END_TEST

START_TEST(redacted_for_logs)
{
	char out[256];

	ck_assert_str_eq(mdt_store_uri_redact("postgresql://mdt:s3cret@db:5432"
	    "/audit?sslmode=require", out, sizeof(out)),
	    "postgresql://mdt:***@db:5432/audit?sslmode=require");
	ck_assert_str_eq(mdt_store_uri_redact("postgresql:host=db "
	    "password=s3cret dbname=a", out, sizeof(out)),
	    "postgresql:host=db password=*** dbname=a");
	ck_assert_str_eq(mdt_store_uri_redact("postgres:///a?host=/s&"
	    "password=x&user=u", out, sizeof(out)),
	    "postgres:///a?host=/s&password=***&user=u");
	ck_assert_str_eq(mdt_store_uri_redact("postgresql://mdt@db/a", out,
	    sizeof(out)), "postgresql://mdt@db/a");
	ck_assert_str_eq(mdt_store_uri_redact("/var/lib/mandate/audit.db",
	    out, sizeof(out)), "/var/lib/mandate/audit.db");
	ck_assert_str_eq(mdt_store_uri_redact("postgresql://u:pw@h/a", out,
	    12), "postgresql:");
	ck_assert_ptr_null(strstr(mdt_store_uri_redact("postgresql://u:pw@h",
	    out, sizeof(out)), "pw"));
}
END_TEST

/* PostgreSQL URIs go to libpq whole; the key/value form loses only
 * its scheme. */
START_TEST(postgresql_forms)
{
	static const char *const uris[] = {
		"postgresql://broker@db.example/audit", "postgres://h/a",
		"postgresql:///audit?host=/run/postgresql",
	};
	const struct mdt__store_backend_ops *be;
	const char *loc;
	char err[MDT_ERRMSG_MAX];

	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		ck_assert_int_eq(mdt__store_uri(uris[i], &be, &loc, err,
		    sizeof(err)), 0);
		ck_assert_ptr_eq(be, &mdt__pg_backend);
		ck_assert_ptr_eq(loc, uris[i]);
		ck_assert_int_eq(be->shareable, 1);
	}
	ck_assert_int_eq(mdt__store_uri("postgresql:host=/tmp dbname=a", &be,
	    &loc, err, sizeof(err)), 0);
	ck_assert_ptr_eq(be, &mdt__pg_backend);
	ck_assert_str_eq(loc, "host=/tmp dbname=a");
	ck_assert_int_eq(mdt__store_uri("postgresql:", &be, &loc, err,
	    sizeof(err)), -MDT_EINVAL);
	ck_assert_int_eq(mdt__store_uri("sqlite:x.db", &be, &loc, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(be->shareable, 0);
}
END_TEST

/* sqlite:PATH and PATH are one store: the same records, one lock. */
START_TEST(both_forms_one_store)
{
	char uri[256], err[MDT_ERRMSG_MAX] = "";
	mdt_store_opts ro = {.read_only = 1};
	mdt_store *s2 = NULL;
	mdt_store_decision *d = NULL;
	mdt_store_report rep;

	snprintf(uri, sizeof(uri), "sqlite:%s", F.path);
	snprintf(F.uri, sizeof(F.uri), "%s", uri);
	fx_open(&F);
	fx_root(&F, "t1");
	fx_decision(&F, "r1", "t1", MDT_STORE_ALLOW);
	ck_assert_int_eq(mdt_store_open(F.path, NULL, &s2, err, sizeof(err)),
	    -MDT_EBUSY);
	ck_assert_ptr_nonnull(strstr(err, "locked"));
	ck_assert_int_eq(mdt_store_open(F.path, &ro, &s2, err, sizeof(err)),
	    0);
	ck_assert_int_eq(mdt_store_find_decision(s2, "r1", &d), 0);
	ck_assert_str_eq(d->task_id, "t1");
	mdt_free(d);
	mdt_store_close(s2);
	fx_close(&F);
	ck_assert_int_eq(mdt_store_verify(uri, F.pk, NULL, NULL, &rep, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(rep.records, 2);
	ck_assert_int_eq(mdt_store_verify(F.path, F.pk, NULL, NULL, &rep, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(rep.records, 2);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("store_uri");
	TCase *tc = tcase_create("uri");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parse_forms);
	tcase_add_test(tc, empty_location);
	tcase_add_test(tc, unsupported_scheme);
	tcase_add_test(tc, postgresql_forms);
	tcase_add_test(tc, redacted_for_logs);
	tcase_add_test(tc, both_forms_one_store);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}

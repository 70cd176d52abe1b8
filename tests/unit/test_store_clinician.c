/*
 * Broker state kept in the store on every backend: clinician-now grants
 * (the latest issued-at wins, an older one changes nothing, a grant as
 * recent replaces it, a second handle reads what the first wrote, the
 * grants survive a reopen, bounds are refused) and undecided step-ups
 * past their expiry (listed until decided, whoever decides them, and
 * verification still passes).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store_fixture.h"
#include "testutil.h"

static fx F;

static void
setup(void)
{
	fx_init(&F);
	fx_open(&F);
	fx_root(&F, "t1");
}

static void
teardown(void)
{
	fx_cleanup(&F);
}

/* The stored grant of who: its scopes (caller frees), *iat set. */
static char *
grant(mdt_store *s, const char *who, int64_t *iat)
{
	char *scopes = NULL;

	ck_assert_int_eq(mdt_store_get_clinician_now(s, who, iat, &scopes), 0);
	return scopes;
}

static void
expect_grant(mdt_store *s, const char *who, int64_t iat, const char *scopes)
{
	int64_t got = 0;
	char *text = grant(s, who, &got);

	ck_assert_int_eq(got, iat);
	ck_assert_str_eq(text, scopes);
	mdt_free(text);
}

START_TEST(latest_grant_wins)
{
	int64_t iat = 0;
	char *text = NULL;

	ck_assert_int_eq(mdt_store_get_clinician_now(F.s, "dr-a", &iat, &text),
	    -MDT_ENOTFOUND);
	ck_assert_ptr_null(text);
	ck_assert_int_eq(mdt_store_put_clinician_now(F.s, "dr-a", 100,
	    "patient/*.rs"), 0);
	expect_grant(F.s, "dr-a", 100, "patient/*.rs");
	/* narrowed by a later assertion */
	ck_assert_int_eq(mdt_store_put_clinician_now(F.s, "dr-a", 200,
	    "patient/Observation.rs"), 0);
	expect_grant(F.s, "dr-a", 200, "patient/Observation.rs");
	/* an older assertion arriving late does not widen it again */
	ck_assert_int_eq(mdt_store_put_clinician_now(F.s, "dr-a", 150,
	    "patient/*.rs"), -MDT_EEXIST);
	expect_grant(F.s, "dr-a", 200, "patient/Observation.rs");
	/* one as recent replaces it (the same second, a new assertion) */
	ck_assert_int_eq(mdt_store_put_clinician_now(F.s, "dr-a", 200,
	    "patient/Condition.rs"), 0);
	expect_grant(F.s, "dr-a", 200, "patient/Condition.rs");
	/* an empty grant is a grant */
	ck_assert_int_eq(mdt_store_put_clinician_now(F.s, "dr-b", 5, ""), 0);
	expect_grant(F.s, "dr-b", 5, "");
	expect_grant(F.s, "dr-a", 200, "patient/Condition.rs");
}
END_TEST

START_TEST(grants_are_shared_and_durable)
{
	mdt_store *r = NULL;
	mdt_store_opts o = {.read_only = 1};
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_store_put_clinician_now(F.s, "dr-a", 100,
	    "patient/*.rs"), 0);
	fx_close(&F);
	fx_open(&F);
	expect_grant(F.s, "dr-a", 100, "patient/*.rs");
	ck_assert_msg(mdt_store_open(F.uri, &o, &r, err, sizeof(err)) == 0,
	    "%s", err);
	expect_grant(r, "dr-a", 100, "patient/*.rs");
	ck_assert_int_eq(mdt_store_put_clinician_now(r, "dr-a", 300, "x"),
	    -MDT_EINVAL);
	mdt_store_close(r);
}
END_TEST

/* What a read through to the store costs on the request path (printed
 * for docs/state-model.md, not asserted: the machine is shared). */
START_TEST(read_cost)
{
	struct timespec t0, t1;
	int64_t iat;
	char *text;
	int n = 300;

	ck_assert_int_eq(mdt_store_put_clinician_now(F.s, "dr-a", 100,
	    "patient/*.rs"), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(mdt_store_get_clinician_now(F.s, "dr-a", &iat,
		    &text), 0);
		mdt_free(text);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("clinician-now read on %s: %.1f us each\n",
	    fx_backend_sqlite() ? "sqlite" : "postgresql",
	    ((double)(t1.tv_sec - t0.tv_sec) * 1e6 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / n);
}
END_TEST

START_TEST(grant_bounds)
{
	char *big = malloc(MDT_STORE_JSON_MAX + 2);

	ck_assert_ptr_nonnull(big);
	memset(big, 'a', MDT_STORE_JSON_MAX + 1);
	big[MDT_STORE_JSON_MAX + 1] = '\0';
	ck_assert_int_eq(mdt_store_put_clinician_now(F.s, "dr-a", 1, big),
	    -MDT_EINVAL);
	ck_assert_int_eq(mdt_store_put_clinician_now(F.s, "", 1, "x"),
	    -MDT_EINVAL);
	ck_assert_int_eq(mdt_store_put_clinician_now(F.s, NULL, 1, "x"),
	    -MDT_EINVAL);
	ck_assert_int_eq(mdt_store_put_clinician_now(NULL, "dr-a", 1, "x"),
	    -MDT_EINVAL);
	free(big);
}
END_TEST

static void
add_approval(const char *id, int64_t expires_ms)
{
	mdt_store_approval ap = {.approval_id = id, .task_id = "t1",
	    .agent = "spiffe://clinic.example/agent/a", .clinician = "dr-a",
	    .action = "x", .resource = "tool/export",
	    .expires_ms = expires_ms};

	memset(ap.request_hash, 7, sizeof(ap.request_hash));
	ck_assert_int_eq(mdt_store_add_approval(F.s, &ap, NULL), 0);
}

typedef struct ids {
	size_t n;
	char id[8][32];
} ids;

static int
collect(void *arg, const mdt_store_approval *ap)
{
	ids *x = arg;

	ck_assert_int_eq(ap->state, MDT_APPROVAL_PENDING);
	if (x->n < 8)
		snprintf(x->id[x->n++], sizeof(x->id[0]), "%s",
		    ap->approval_id);
	return 0;
}

static ids
expired(mdt_store *s, int64_t now, uint32_t limit)
{
	ids x = {0};

	ck_assert_int_eq(mdt_store_expired_approvals(s, now, limit, collect,
	    &x), 0);
	return x;
}

START_TEST(undecided_past_expiry)
{
	fx_issues is;
	ids x;

	add_approval("su-1", 1000);
	add_approval("su-2", 2000);
	add_approval("su-3", 3000);
	add_approval("su-4", 9000);
	ck_assert_uint_eq(expired(F.s, 999, 8).n, 0);
	x = expired(F.s, 3000, 8);
	ck_assert_uint_eq(x.n, 3);
	ck_assert_str_eq(x.id[0], "su-1");
	ck_assert_str_eq(x.id[2], "su-3");
	ck_assert_uint_eq(expired(F.s, 3000, 2).n, 2);
	/* decided ones are no longer listed, whatever the decision */
	ck_assert_int_eq(mdt_store_decide_approval(F.s, "su-1",
	    MDT_APPROVAL_APPROVED, "dr-a", 500, 5000, NULL, NULL), 0);
	ck_assert_int_eq(mdt_store_decide_approval(F.s, "su-2",
	    MDT_APPROVAL_EXPIRED, "broker", 2500, 0, "timed out", NULL), 0);
	/* the first decision wins: a second one is refused */
	ck_assert_int_eq(mdt_store_decide_approval(F.s, "su-2",
	    MDT_APPROVAL_APPROVED, "dr-a", 2600, 5000, NULL, NULL),
	    -MDT_EEXIST);
	x = expired(F.s, 3000, 8);
	ck_assert_uint_eq(x.n, 1);
	ck_assert_str_eq(x.id[0], "su-3");
	ck_assert_int_eq(mdt_store_expired_approvals(F.s, 3000, 0, collect,
	    &x), -MDT_EINVAL);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, NULL), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_clinician");
	TCase *tc = tcase_create("state");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, latest_grant_wins);
	tcase_add_test(tc, grants_are_shared_and_durable);
	tcase_add_test(tc, grant_bounds);
	tcase_add_test(tc, read_cost);
	tcase_add_test(tc, undecided_past_expiry);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

/*
 * The records kept for after-the-fact questions, on every backend:
 * decisions with their Cedar request and entity version, sources
 * (policy sets and entity data) kept once per kind and digest and found
 * by digest or as the last one, review marks (once per decision, of a
 * decision that exists), the review queue's rules, and verification over
 * all of them, including a changed mark.
 */
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

static uint64_t
decision(const char *req, mdt_store_verdict v, uint32_t flags,
    const char *reasons, const char *agent, int64_t time_ms)
{
	mdt_store_decision d = {.time_ms = time_ms, .request_id = req,
	    .operation = "authorize", .verdict = v, .flags = flags,
	    .reasons = reasons, .policy_ids = "[]", .policy_hash = "ph-1",
	    .task_id = "t1", .agent = agent, .agent_chain = "[]",
	    .patient = "pat-001", .purpose = "TREAT", .action = "r",
	    .resource = "Observation/o1",
	    .request = "{\"principal\":{\"type\":\"Mandate::Agent\",\"id\":\"a\"}}",
	    .entities_version = "ev-1"};
	uint64_t seq = 0;

	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, &seq), 0);
	return seq;
}

START_TEST(decision_keeps_replay_inputs)
{
	uint64_t seq = decision("r1", MDT_STORE_ALLOW, 0, "{}", "a", 0);
	mdt_store_decision *d = NULL;

	ck_assert_int_eq(mdt_store_get_decision(F.s, seq, &d), 0);
	ck_assert_str_eq(d->entities_version, "ev-1");
	ck_assert_ptr_nonnull(strstr(d->request, "Mandate::Agent"));
	mdt_free(d);
	/* a request that is not JSON is refused, nothing written */
	{
		mdt_store_decision bad = {.operation = "authorize",
		    .verdict = MDT_STORE_ALLOW, .request = "{nope"};
		ck_assert_int_eq(mdt_store_append_decision(F.s, &bad, NULL),
		    -MDT_EPARSE);
	}
}
END_TEST

START_TEST(sources_once_per_digest)
{
	mdt_store_source a = {.source_kind = MDT_STORE_SOURCE_POLICIES,
	    .digest = "h1", .content = "{\"files\":[]}"};
	mdt_store_source b = a, e = a, *got = NULL;
	uint64_t s1 = 0, s2 = 0;

	ck_assert_int_eq(mdt_store_put_source(F.s, &a, &s1), 0);
	ck_assert_int_eq(mdt_store_put_source(F.s, &a, NULL), -MDT_EEXIST);
	b.digest = "h2";
	b.content = "{\"files\":[{\"name\":\"a.cedar\",\"text\":\"x\"}]}";
	ck_assert_int_eq(mdt_store_put_source(F.s, &b, &s2), 0);
	ck_assert_uint_gt(s2, s1);
	e.source_kind = MDT_STORE_SOURCE_ENTITIES; /* same digest, other kind */
	ck_assert_int_eq(mdt_store_put_source(F.s, &e, NULL), 0);
	e.source_kind = "rules";
	ck_assert_int_eq(mdt_store_put_source(F.s, &e, NULL), -MDT_EINVAL);
	e.source_kind = MDT_STORE_SOURCE_ENTITIES;
	e.digest = "h9";
	e.content = "not json";
	ck_assert_int_eq(mdt_store_put_source(F.s, &e, NULL), -MDT_EPARSE);

	ck_assert_int_eq(mdt_store_get_source(F.s, MDT_STORE_SOURCE_POLICIES,
	    "h1", &got), 0);
	ck_assert_str_eq(got->content, "{\"files\":[]}");
	ck_assert_uint_eq(got->seq, s1);
	mdt_free(got);
	ck_assert_int_eq(mdt_store_get_source(F.s, MDT_STORE_SOURCE_POLICIES,
	    NULL, &got), 0);
	ck_assert_str_eq(got->digest, "h2");
	mdt_free(got);
	ck_assert_int_eq(mdt_store_get_source(F.s, MDT_STORE_SOURCE_POLICIES,
	    "h3", &got), -MDT_ENOTFOUND);
	ck_assert_ptr_null(got);
}
END_TEST

struct q {
	uint64_t seq[32];
	uint32_t why[32];
	int reviewed[32];
	size_t n;
};

static int
collect(void *arg, const mdt_review_item *it)
{
	struct q *q = arg;

	if (q->n < 32) {
		q->seq[q->n] = it->decision->seq;
		q->why[q->n] = it->why;
		q->reviewed[q->n++] = it->review != NULL;
	}
	return 0;
}

static uint32_t
why_of(const struct q *q, uint64_t seq)
{
	for (size_t i = 0; i < q->n; i++)
		if (q->seq[i] == seq)
			return q->why[i];
	return 0;
}

START_TEST(queue_and_marks)
{
	const char *widen = "{\"failed\":\"scope.widen\"}";
	const char *deny = "{\"failed\":\"policy.deny\"}";
	int64_t t0 = mdt_store_now_ms() - 10 * 3600000LL;
	uint64_t allow = decision("q1", MDT_STORE_ALLOW, 0, "{}", "a", t0);
	uint64_t glass = decision("q2", MDT_STORE_ALLOW,
	    MDT_STORE_FLAG_BREAK_GLASS, "{}", "a", t0 + 1);
	uint64_t step = decision("q3", MDT_STORE_STEP_UP, 0, "{}", "a", t0 + 2);
	uint64_t wid = decision("q4", MDT_STORE_DENY, 0, widen, "b", t0 + 3);
	/* c: three denials within a minute; d: three, hours apart */
	uint64_t c1 = decision("q5", MDT_STORE_DENY, 0, deny, "c", t0 + 10);
	uint64_t c3, d1;
	mdt_store_review r = {.decision_seq = step, .reviewer = "sec",
	    .note = "ok"};
	mdt_review_opts all = {.include_reviewed = 1};
	struct q q = {0};

	decision("q6", MDT_STORE_DENY, 0, deny, "c", t0 + 20);
	c3 = decision("q7", MDT_STORE_DENY, 0, deny, "c", t0 + 30);
	d1 = decision("q8", MDT_STORE_DENY, 0, deny, "d", t0);
	decision("q9", MDT_STORE_DENY, 0, deny, "d", t0 + 2 * 3600000LL);
	decision("qa", MDT_STORE_DENY, 0, deny, "d", t0 + 4 * 3600000LL);

	ck_assert_int_eq(mdt_store_review_queue(F.s, NULL, collect, &q), 0);
	ck_assert_uint_eq(why_of(&q, allow), 0);
	ck_assert_uint_eq(why_of(&q, glass), MDT_REVIEW_BREAK_GLASS);
	ck_assert_uint_eq(why_of(&q, step), MDT_REVIEW_STEP_UP);
	ck_assert_uint_eq(why_of(&q, wid), MDT_REVIEW_WIDENING);
	ck_assert_uint_eq(why_of(&q, c1), MDT_REVIEW_REPEATED);
	ck_assert_uint_eq(why_of(&q, c3), MDT_REVIEW_REPEATED);
	ck_assert_uint_eq(why_of(&q, d1), 0);
	ck_assert_uint_eq(q.n, 6);

	ck_assert_int_eq(mdt_store_add_review(F.s, &r, NULL), 0);
	ck_assert_int_eq(mdt_store_add_review(F.s, &r, NULL), -MDT_EEXIST);
	r.decision_seq = 999999;
	ck_assert_int_eq(mdt_store_add_review(F.s, &r, NULL), -MDT_ENOTFOUND);
	r.decision_seq = glass;
	r.note = NULL;
	ck_assert_int_eq(mdt_store_add_review(F.s, &r, NULL), -MDT_EINVAL);

	memset(&q, 0, sizeof(q));
	ck_assert_int_eq(mdt_store_review_queue(F.s, NULL, collect, &q), 0);
	ck_assert_uint_eq(q.n, 5);
	ck_assert_uint_eq(why_of(&q, step), 0);
	memset(&q, 0, sizeof(q));
	ck_assert_int_eq(mdt_store_review_queue(F.s, &all, collect, &q), 0);
	ck_assert_uint_eq(q.n, 6);
	ck_assert_uint_eq(why_of(&q, step), MDT_REVIEW_STEP_UP);
	/* a window of 3 hours makes d's denials repeated as well */
	{
		mdt_review_opts w = {.deny_window_ms = 5 * 3600000LL};
		memset(&q, 0, sizeof(q));
		ck_assert_int_eq(mdt_store_review_queue(F.s, &w, collect, &q),
		    0);
		ck_assert_uint_eq(why_of(&q, d1), MDT_REVIEW_REPEATED);
	}
}
END_TEST

START_TEST(verify_covers_them)
{
	mdt_store_source a = {.source_kind = MDT_STORE_SOURCE_POLICIES,
	    .digest = "h1", .content = "{\"files\":[]}"};
	uint64_t seq = decision("v1", MDT_STORE_DENY, 0, "{}", "a", 0);
	mdt_store_review r = {.decision_seq = seq, .reviewer = "sec",
	    .note = "looked at it"};
	fx_issues is;

	ck_assert_int_eq(mdt_store_put_source(F.s, &a, NULL), 0);
	ck_assert_int_eq(mdt_store_add_review(F.s, &r, NULL), 0);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, NULL), 0);
	if (!fx_backend_sqlite())
		return;
	{
		sqlite3 *db;
		ck_assert_int_eq(sqlite3_open(F.path, &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(db, "UPDATE reviews SET note ="
		    " 'nothing to see'", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	ck_assert_int_eq(fx_verify(&F, &is, NULL), -MDT_EAUDIT);
	ck_assert_int_eq(is.v[0].kind, MDT_STORE_CHANGED);
}
END_TEST

/* Takes a fresh store back to the schema before replay data: no replay
 * columns, no sources or review marks (SQLite's version 4, PostgreSQL's
 * 5). */
static void
downgrade_to_4(void)
{
	char err[512] = "";

	if (fx_backend_sqlite()) {
		sqlite3 *db;
		ck_assert_int_eq(sqlite3_open(F.path, &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(db, FX_SQLITE_UNDO_5
		    "PRAGMA user_version=4", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		return;
	}
	ck_assert_msg(mdt_test_pg_exec(F.uri, FX_PG_UNDO_7 "DROP TABLE sources;"
	    " DROP TABLE reviews; ALTER TABLE decisions DROP COLUMN request,"
	    " DROP COLUMN entities_version; DELETE FROM schema_version WHERE"
	    " version >= 6; UPDATE meta SET value = '\\x05' WHERE key ="
	    " 'version'", err, sizeof(err)) == 0, "%s", err);
}

START_TEST(migrates_from_4)
{
	mdt_store_decision old = {.operation = "authorize",
	    .verdict = MDT_STORE_ALLOW, .reasons = "{}", .task_id = "t1"};
	mdt_store_source a = {.source_kind = MDT_STORE_SOURCE_POLICIES,
	    .digest = "h1", .content = "{\"files\":[]}"};
	uint64_t seq;
	fx_issues is;

	ck_assert_int_eq(mdt_store_append_decision(F.s, &old, &seq), 0);
	fx_close(&F);
	downgrade_to_4();
	fx_open(&F);
	ck_assert_int_eq(mdt_store_put_source(F.s, &a, NULL), 0);
	decision("m1", MDT_STORE_ALLOW, 0, "{}", "a", 0);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, NULL), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_review");
	TCase *tc = tcase_create("review");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, decision_keeps_replay_inputs);
	tcase_add_test(tc, sources_once_per_digest);
	tcase_add_test(tc, queue_and_marks);
	tcase_add_test(tc, verify_covers_them);
	tcase_add_test(tc, migrates_from_4);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

/* The audit store on PostgreSQL, what only a server can show: the server
 * stopped under an open store (every write fails, nothing is reported
 * written that is not, the handle reconnects by itself once it is back),
 * two writable handles (two brokers) sharing one chain (a task's check
 * on one sees an end on the other at once), and the writer's
 * batches of staged decisions (text that array literals must escape
 * comes back byte for byte; a request id twice in one batch is refused
 * once). */
#include <pthread.h>
#include <time.h>

#include <mandate/mandate.h>

#include "store_fixture.h"
#include "testutil.h"

static fx F;

static void
nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}
static char g_dir[64];   /* the private server of the outage case */
static char g_base[512];

static void
server_up(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/mdt-pgdown-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g_dir));
	ck_assert_int_eq(mdt_test_pg_start(g_dir, g_base, sizeof(g_base)), 0);
}

/* Unchecked: runs in the parent, so the server stops also when a case
 * failed. */
static void
server_down(void)
{
	if (g_dir[0] != '\0')
		(void)mdt_test_pg_stop(g_dir);
}

static void
setup(void)
{
	char err[512];

	fx_init(&F);
	ck_assert_msg(mdt_test_pg_fresh(g_base, F.uri, sizeof(F.uri), err,
	    sizeof(err)) == 0, "%s", err);
	fx_open(&F);
}

static void
teardown(void)
{
	fx_cleanup(&F);
}

#define ACKED_MAX 20000

typedef struct writer {
	pthread_t th;
	int stop;               /* atomic */
	uint32_t n, ok, failed, bad_rc;
	char (*acked)[24];      /* request ids reported written */
} writer;

static void *
write_loop(void *arg)
{
	writer *w = arg;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE) &&
	    w->n < ACKED_MAX) {
		char req[24];
		mdt_store_decision d = {.request_id = req,
		    .operation = "authorize", .verdict = MDT_STORE_ALLOW,
		    .task_id = "t1", .action = "read",
		    .resource = "Observation/obs-1"};
		uint64_t seq = 0;
		int rc;
		snprintf(req, sizeof(req), "down-%u", w->n++);
		rc = mdt_store_append_decision(F.s, &d, &seq);
		if (rc == 0) {
			uint32_t k = w->ok; /* only this thread writes it */
			memcpy(w->acked[k], req, sizeof(req));
			__atomic_store_n(&w->ok, k + 1, __ATOMIC_RELEASE);
		}
		else if (rc == -MDT_ESTORE)
			w->failed++;
		else
			w->bad_rc++;
	}
	return NULL;
}

static int
try_write(const char *req)
{
	mdt_store_decision d = {.request_id = req, .operation = "authorize",
	    .verdict = MDT_STORE_DENY, .action = "read", .resource = "x"};

	return mdt_store_append_decision(F.s, &d, NULL);
}

START_TEST(server_stopped_and_back)
{
	writer w = {0};
	fx_issues is;
	mdt_store_report rep;
	int rc = -1;

	w.acked = calloc(ACKED_MAX, sizeof(*w.acked));
	ck_assert_ptr_nonnull(w.acked);
	fx_root(&F, "t1");
	ck_assert_int_eq(pthread_create(&w.th, NULL, write_loop, &w), 0);
	while (__atomic_load_n(&w.ok, __ATOMIC_ACQUIRE) < 50)
		nap_ms(5);
	ck_assert_int_eq(mdt_test_pg_halt(g_dir), 0);
	/* Down: every write and read fails, as a store error. */
	for (int i = 0; i < 20; i++) {
		char req[32];
		snprintf(req, sizeof(req), "while-down-%d", i);
		ck_assert_int_eq(try_write(req), -MDT_ESTORE);
	}
	{
		mdt_store_task *t = NULL;
		ck_assert_int_eq(mdt_store_get_task(F.s, "t1", &t),
		    -MDT_ESTORE);
	}
	ck_assert_int_eq(mdt_test_pg_resume(g_dir), 0);
	/* Back: the handle reconnects by itself on the next batch. */
	for (int i = 0; i < 600 && rc != 0; i++) {
		rc = try_write("after-up");
		if (rc != 0)
			nap_ms(50);
	}
	ck_assert_int_eq(rc, 0);
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(w.th, NULL);
	ck_assert_uint_eq(w.bad_rc, 0);
	ck_assert_uint_gt(w.failed, 0);
	/* Nothing reported written is missing. */
	for (uint32_t i = 0; i < w.ok; i++) {
		mdt_store_decision *got = NULL;
		ck_assert_msg(mdt_store_find_decision(F.s, w.acked[i], &got) ==
		    0, "acknowledged %s missing", w.acked[i]);
		mdt_free(got);
	}
	for (int i = 0; i < 20; i++) {
		mdt_store_decision *got = NULL;
		char req[32];
		snprintf(req, sizeof(req), "while-down-%d", i);
		ck_assert_int_eq(mdt_store_find_decision(F.s, req, &got),
		    -MDT_ENOTFOUND);
	}
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	free(w.acked);
}
END_TEST

typedef struct twin {
	mdt_store *s;
	int id;
	int failures;
} twin;

static void *
twin_writes(void *arg)
{
	twin *t = arg;

	for (int i = 0; i < 300; i++) {
		char req[32];
		mdt_store_decision d = {.request_id = req,
		    .operation = "authorize", .verdict = MDT_STORE_ALLOW,
		    .action = "read", .resource = "x"};
		snprintf(req, sizeof(req), "b%d-%d", t->id, i);
		if (mdt_store_append_decision(t->s, &d, NULL) != 0)
			t->failures++;
	}
	return NULL;
}

/* Two writable handles (two brokers) append to one chain in turn; an
 * end on one is seen by the other at once (no cache across brokers). */
START_TEST(two_writers_one_chain)
{
	mdt_store_opts o = {.seal_seed = F.seed, .checkpoint_every = 50};
	twin a = {.s = F.s, .id = 1}, b = {.id = 2};
	pthread_t ta, tb;
	char err[MDT_ERRMSG_MAX];
	fx_issues is;
	mdt_store_report rep;
	mdt_store_revocation *rv = NULL;
	mdt_store_task *t;
	int revoked = 0;
	char by[64] = "";

	ck_assert_int_eq(mdt_store_open(F.uri, &o, &b.s, err, sizeof(err)),
	    0);
	fx_root(&F, "t1");
	ck_assert_int_eq(fx_child(&F, "c1", "t1", 1, 0), 0);
	ck_assert_int_eq(mdt_store_chain_revoked(b.s, "c1", &revoked, NULL,
	    0), 0);
	ck_assert_int_eq(revoked, 0);
	/* F keeps c1's row and chain from here on; their ended state stays
	 * fresh */
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "c1", &revoked, NULL,
	    0), 0);
	ck_assert_int_eq(revoked, 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(mdt_store_task_check(F.s, "c1", &t, &revoked,
		    NULL, 0), 0);
		ck_assert_int_eq(t->state, MDT_TASK_OPEN);
		ck_assert_int_eq(revoked, 0);
		mdt_free(t);
	}
	ck_assert_int_eq(pthread_create(&ta, NULL, twin_writes, &a), 0);
	ck_assert_int_eq(pthread_create(&tb, NULL, twin_writes, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ck_assert_int_eq(a.failures + b.failures, 0);
	ck_assert_int_eq(mdt_store_end_task(b.s, "t1", MDT_TASK_CANCELLED,
	    "ops", "test", 0, &rv), 0);
	mdt_free(rv);
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "c1", &revoked, by,
	    sizeof(by)), 0);
	ck_assert_int_eq(revoked, 1);
	ck_assert_str_eq(by, "c1"); /* revoked in the cascade */
	ck_assert_int_eq(mdt_store_task_check(F.s, "c1", &t, &revoked, by,
	    sizeof(by)), 0);
	ck_assert_int_eq(revoked, 1);
	ck_assert_str_eq(by, "c1");
	ck_assert_int_eq(t->state, MDT_TASK_REVOKED); /* t1 ended */
	ck_assert_uint_gt(t->end_seq, 0);
	mdt_free(t);
	ck_assert_int_eq(fx_child(&F, "c2", "t1", 1, 0), -MDT_EREVOKED);
	mdt_store_close(b.s);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(rep.records, 2 + 600 + 1);
}
END_TEST

/* What a handle keeps of a task never answers for the store: a
 * database that lost the row (restored from an older copy) makes the
 * task unknown, kept or not. */
START_TEST(kept_task_not_the_store)
{
	mdt_store_task dummy, *t;
	char err[512];
	int revoked = -1;

	fx_root(&F, "t1");
	ck_assert_int_eq(fx_child(&F, "c1", "t1", 1, 0), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(mdt_store_task_check(F.s, "c1", &t, &revoked,
		    NULL, 0), 0);
		ck_assert_int_eq(revoked, 0);
		mdt_free(t);
	}
	ck_assert_msg(mdt_test_pg_exec(F.uri, "DELETE FROM tasks WHERE"
	    " task_id = 'c1'", err, sizeof(err)) == 0, "%s", err);
	t = &dummy;
	ck_assert_int_eq(mdt_store_task_check(F.s, "c1", &t, &revoked, NULL,
	    0), -MDT_ENOTFOUND);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "c1", &revoked, NULL,
	    0), -MDT_ENOTFOUND);
}
END_TEST

static int
count_one(void *arg, const mdt_store_decision *d)
{
	(void)d;
	(*(int *)arg)++;
	return 0;
}

struct dup_log {
	pthread_mutex_t mu;
	int ok, eexist, other;
};

static void
dup_done(void *arg, int rc, uint64_t seq)
{
	struct dup_log *l = arg;

	pthread_mutex_lock(&l->mu);
	if (rc == 0 && seq > 0)
		l->ok++;
	else if (rc == -MDT_EEXIST)
		l->eexist++;
	else
		l->other++;
	pthread_mutex_unlock(&l->mu);
}

START_TEST(staged_decisions)
{
	/* what a text array literal must escape, and what it must not take
	 * for its own words */
	static const char *const odd[] = {"a\"b", "back\\slash", "{x,y}",
	    "NULL", "", " lead and trail ", "\\x00", "caf\xc3\xa9 \xe2\x9c\x93"};
	struct dup_log l = {.mu = PTHREAD_MUTEX_INITIALIZER};
	mdt_store_decision d = {.operation = "authorize",
	    .verdict = MDT_STORE_ALLOW, .agent = "spiffe://c/a\"q",
	    .agent_chain = "[\"spiffe://c/o\",\"spiffe://c/a\\\"q\"]"};
	mdt_store_query q = {.agent = "spiffe://c/a\"q"};
	mdt_store_decision *got;
	fx_issues is;
	uint64_t seq;
	int n = 0;

	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		char req[32];
		snprintf(req, sizeof(req), "odd-%zu", i);
		d.request_id = req;
		d.resource = odd[i];
		d.patient = odd[i];
		ck_assert_int_eq(mdt_store_append_decision(F.s, &d, &seq), 0);
		ck_assert_int_eq(mdt_store_get_decision(F.s, seq, &got), 0);
		ck_assert_str_eq(got->resource, odd[i]);
		ck_assert_str_eq(got->patient, odd[i]);
		ck_assert_str_eq(got->agent, d.agent);
		mdt_free(got);
	}
	ck_assert_int_eq(mdt_store_query_decisions(F.s, &q, count_one, &n), 0);
	ck_assert_int_eq(n, (int)(sizeof(odd) / sizeof(odd[0])));
	/* the same request id queued twice: one batch or two, one wins */
	d.request_id = "twice";
	d.resource = "r";
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(mdt_store_append_decision_async(F.s, &d,
		    dup_done, &l), 0);
	ck_assert_int_eq(mdt_store_append_decision(F.s, &d, &seq),
	    -MDT_EEXIST);
	ck_assert_int_eq(l.ok, 1);
	ck_assert_int_eq(l.eexist, 1);
	ck_assert_int_eq(l.other, 0);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, NULL), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_pg");
	TCase *tc = tcase_create("pg");

	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, server_up, server_down);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, server_stopped_and_back);
	tcase_add_test(tc, two_writers_one_chain);
	tcase_add_test(tc, staged_decisions);
	tcase_add_test(tc, kept_task_not_the_store);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

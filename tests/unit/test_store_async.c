/* Audit store: asynchronous appends (each reported once, after its
 * commit, in order with waited-for writes, all reported before close),
 * the task-row cache (ended and revoked tasks seen at once, never a stale
 * row after an end returns) and the allocation-free JSON check, which
 * must agree with jansson on every input; error detail per thread. */
#include <pthread.h>
#include <time.h>

#include <mandate/mandate.h>

#include "store/store_int.h"
#include "store_fixture.h"
#include "testutil.h"

static fx F;

struct done_log {
	pthread_mutex_t mu;
	size_t calls, ok, eexist;
	uint64_t max_seq;
	int bad_arg;
};

struct done_arg {
	struct done_log *log;
	int calls;
	char req[32];
};

static void
on_done(void *arg, int rc, uint64_t seq)
{
	struct done_arg *a = arg;
	struct done_log *l = a->log;

	pthread_mutex_lock(&l->mu);
	a->calls++;
	l->calls++;
	if (rc == 0 && seq > 0)
		l->ok++;
	else if (rc == -MDT_EEXIST && seq == 0)
		l->eexist++;
	else
		l->bad_arg++;
	if (seq > l->max_seq)
		l->max_seq = seq;
	pthread_mutex_unlock(&l->mu);
}

static mdt_store_decision
decision(const char *req)
{
	return (mdt_store_decision){.request_id = req,
	    .operation = "authorize", .verdict = MDT_STORE_ALLOW,
	    .reasons = "{\"decision\":\"allow\"}",
	    .policy_ids = "[\"permit-care-team\"]", .task_id = "t1",
	    .agent_chain = "[\"spiffe://clinic.example/orchestrator\"]",
	    .action = "r", .resource = "Observation/obs-1"};
}

#define N_ASYNC 400

START_TEST(async_each_reported_once)
{
	static struct done_arg args[N_ASYNC];
	struct done_log log = {.mu = PTHREAD_MUTEX_INITIALIZER};
	mdt_store_decision *got = NULL;
	fx_issues is;
	mdt_store_report rep;
	uint64_t seq = 0;

	fx_init(&F);
	fx_open(&F);
	for (int i = 0; i < N_ASYNC; i++) {
		mdt_store_decision d;
		args[i] = (struct done_arg){.log = &log};
		snprintf(args[i].req, sizeof(args[i].req), "a#%d", i);
		d = decision(args[i].req);
		ck_assert_int_eq(mdt_store_append_decision_async(F.s, &d,
		    on_done, &args[i]), 0);
	}
	/* a waited-for write queued after them returns after they are
	 * reported */
	seq = fx_decision(&F, "sync#1", "t1", MDT_STORE_DENY);
	pthread_mutex_lock(&log.mu);
	ck_assert_uint_eq(log.calls, N_ASYNC);
	ck_assert_uint_eq(log.ok, N_ASYNC);
	ck_assert_int_eq(log.bad_arg, 0);
	ck_assert_uint_lt(log.max_seq, seq);
	pthread_mutex_unlock(&log.mu);
	for (int i = 0; i < N_ASYNC; i++)
		ck_assert_int_eq(args[i].calls, 1);
	ck_assert_int_eq(mdt_store_find_decision(F.s, "a#399", &got), 0);
	ck_assert_str_eq(got->resource, "Observation/obs-1");
	mdt_free(got);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(is.n, 0);
	fx_cleanup(&F);
}
END_TEST

START_TEST(async_duplicate_and_bad_input)
{
	struct done_log log = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct done_arg a1 = {.log = &log}, a2 = {.log = &log};
	struct done_arg a3 = {.log = &log};
	mdt_store_decision d = decision("dup#1");

	fx_init(&F);
	fx_open(&F);
	ck_assert_int_eq(mdt_store_append_decision_async(F.s, &d, on_done,
	    &a1), 0);
	ck_assert_int_eq(mdt_store_append_decision_async(F.s, &d, on_done,
	    &a2), 0);
	/* refused at once: never queued, never reported */
	d.request_id = "bad#1";
	d.reasons = "{\"failed\":";
	ck_assert_int_eq(mdt_store_append_decision_async(F.s, &d, on_done,
	    &a3), -MDT_EPARSE);
	ck_assert_int_eq(mdt_store_append_decision_async(F.s, &d, NULL,
	    NULL), -MDT_EINVAL);
	fx_close(&F); /* reports everything queued before it returns */
	ck_assert_uint_eq(log.calls, 2);
	ck_assert_uint_eq(log.ok, 1);
	ck_assert_uint_eq(log.eexist, 1);
	ck_assert_int_eq(a3.calls, 0);
	fx_cleanup(&F);
}
END_TEST

/* Copied strings: the caller's buffers may change right after the call. */
START_TEST(async_copies_the_record)
{
	struct done_log log = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct done_arg a = {.log = &log};
	char res[64];
	mdt_store_decision d = decision("copy#1"), *got = NULL;

	fx_init(&F);
	fx_open(&F);
	snprintf(res, sizeof(res), "Observation/obs-77");
	d.resource = res;
	ck_assert_int_eq(mdt_store_append_decision_async(F.s, &d, on_done,
	    &a), 0);
	memset(res, 'x', sizeof(res) - 1);
	(void)fx_decision(&F, "sync#2", "t1", MDT_STORE_ALLOW);
	ck_assert_int_eq(mdt_store_find_decision(F.s, "copy#1", &got), 0);
	ck_assert_str_eq(got->resource, "Observation/obs-77");
	mdt_free(got);
	fx_cleanup(&F);
}
END_TEST

START_TEST(cache_sees_ends_at_once)
{
	mdt_store_task *t = NULL;
	char by[MDT_STORE_FIELD_MAX + 1];
	int revoked = -1;

	fx_init(&F);
	fx_open(&F);
	fx_root(&F, "r1");
	ck_assert_int_eq(fx_child(&F, "c1", "r1", 1, 0), 0);
	ck_assert_int_eq(fx_child(&F, "g1", "c1", 2, 0), 0);
	/* warm the cache with open rows */
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "g1", &revoked, by,
	    sizeof(by)), 0);
	ck_assert_int_eq(revoked, 0);
	ck_assert_int_eq(mdt_store_get_task(F.s, "c1", &t), 0);
	ck_assert_int_eq(t->state, MDT_TASK_OPEN);
	mdt_free(t);
	ck_assert_int_eq(mdt_store_end_task(F.s, "c1", MDT_TASK_COMPLETED,
	    "spiffe://clinic.example/labs", NULL, 0, NULL), 0);
	ck_assert_int_eq(mdt_store_get_task(F.s, "c1", &t), 0);
	ck_assert_int_eq(t->state, MDT_TASK_COMPLETED);
	mdt_free(t);
	ck_assert_int_eq(mdt_store_get_task(F.s, "g1", &t), 0);
	ck_assert_int_eq(t->state, MDT_TASK_REVOKED);
	mdt_free(t);
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "g1", &revoked, by,
	    sizeof(by)), 0);
	ck_assert_int_eq(revoked, 1);
	ck_assert_str_eq(by, "g1");
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "r1", &revoked, by,
	    sizeof(by)), 0);
	ck_assert_int_eq(revoked, 0);
	ck_assert_int_eq(mdt_store_chain_revoked(F.s, "nope", &revoked, by,
	    sizeof(by)), -MDT_ENOTFOUND);
	ck_assert_int_eq(mdt_store_get_task(F.s, "nope", &t), -MDT_ENOTFOUND);
	fx_cleanup(&F);
}
END_TEST

/* Readers hammer a chain while tasks end: once an end has returned, no
 * reader may see any task of its subtree open again. */
#define RACE_TASKS 40

struct race {
	int ended;      /* index of the last ended task, -1 none (atomic) */
	int stop;       /* atomic */
	int stale;      /* atomic: three readers count into it */
};

static void *
race_reader(void *arg)
{
	struct race *r = arg;
	char id[32];

	while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
		int upto = __atomic_load_n(&r->ended, __ATOMIC_SEQ_CST);
		int revoked = 0;
		for (int i = 0; i <= upto; i++) {
			snprintf(id, sizeof(id), "leaf%d", i);
			if (mdt_store_chain_revoked(F.s, id, &revoked, NULL,
			    0) != 0 || !revoked)
				__atomic_fetch_add(&r->stale, 1,
				    __ATOMIC_SEQ_CST);
		}
		/* and warms rows of tasks about to end */
		snprintf(id, sizeof(id), "leaf%d", RACE_TASKS - 1);
		if (mdt_store_chain_revoked(F.s, id, &revoked, NULL, 0) != 0)
			__atomic_fetch_add(&r->stale, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

START_TEST(cache_never_stale_after_end)
{
	struct race r = {.ended = -1};
	pthread_t th[3];
	char id[32], mid[32];

	fx_init(&F);
	fx_open(&F);
	fx_root(&F, "root");
	for (int i = 0; i < RACE_TASKS; i++) {
		snprintf(mid, sizeof(mid), "mid%d", i);
		snprintf(id, sizeof(id), "leaf%d", i);
		ck_assert_int_eq(fx_child(&F, mid, "root", 1, 0), 0);
		ck_assert_int_eq(fx_child(&F, id, mid, 2, 0), 0);
	}
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, race_reader, &r),
		    0);
	for (int i = 0; i < RACE_TASKS; i++) {
		snprintf(mid, sizeof(mid), "mid%d", i);
		ck_assert_int_eq(mdt_store_end_task(F.s, mid,
		    MDT_TASK_CANCELLED, "test", NULL, 0, NULL), 0);
		__atomic_store_n(&r.ended, i, __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(r.stale, 0);
	fx_cleanup(&F);
}
END_TEST

static long
file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n = -1;

	if (f != NULL && fseek(f, 0, SEEK_END) == 0)
		n = ftell(f);
	if (f != NULL)
		fclose(f);
	return n;
}

/* Past SQLite's threshold the WAL is copied into the database file by the
 * checkpoint thread while the store stays open and writing, and the WAL
 * starts over instead of growing for as long as writes go on. */
#define WAL_RECORDS 8000

START_TEST(wal_checkpoints_while_writing)
{
	struct done_log log = {.mu = PTHREAD_MUTEX_INITIALIZER};
	static struct done_arg args[WAL_RECORDS];
	char res[1000], wal[160];
	long db0, db1, wal_max = 0;

	fx_init(&F);
	fx_open(&F);
	db0 = file_size(F.path);
	snprintf(wal, sizeof(wal), "%s-wal", F.path);
	memset(res, 'r', sizeof(res) - 1);
	res[sizeof(res) - 1] = 0;
	for (int i = 0; i < WAL_RECORDS; i++) {
		mdt_store_decision d;
		args[i] = (struct done_arg){.log = &log};
		snprintf(args[i].req, sizeof(args[i].req), "w#%d", i);
		d = decision(args[i].req);
		d.resource = res;
		ck_assert_int_eq(mdt_store_append_decision_async(F.s, &d,
		    on_done, &args[i]), 0);
		if (i % 100 == 99) { /* a commit per 100 at least */
			char rid[32];
			long w;
			snprintf(rid, sizeof(rid), "s#%d", i);
			(void)fx_decision(&F, rid, "t1", MDT_STORE_ALLOW);
			if ((w = file_size(wal)) > wal_max)
				wal_max = w;
		}
	}
	for (int t = 0; t < 500 && mdt__walckpt_runs(F.s) == 0; t++)
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	ck_assert_uint_gt(mdt__walckpt_runs(F.s), 0);
	db1 = file_size(F.path);
	ck_assert_msg(db1 > db0, "database file %ld -> %ld bytes", db0, db1);
	/* about 8000 pages were written; a WAL that never restarted would
	 * hold them all (over 32 MB) */
	ck_assert_msg(wal_max < 12L * 1024 * 1024, "WAL grew to %ld bytes",
	    wal_max);
	ck_assert_uint_eq(log.ok, WAL_RECORDS);
	fx_cleanup(&F);
}
END_TEST

/* Error detail is the calling thread's: one thread's duplicate (found by
 * the writer, for the thread that queued it) and another's bad input
 * (found before queuing), interleaved, each reads its own message. */
struct err_thread {
	int dup;               /* 1: duplicates, 0: invalid JSON */
	int wrong;             /* messages that were not this thread's */
	int runs;
	_Atomic int *busy;     /* duplicates still running */
};

static void *
err_main(void *arg)
{
	struct err_thread *t = arg;
	mdt_store_decision d = {.operation = "authorize",
	    .verdict = MDT_STORE_DENY};
	char msg[MDT_ERRMSG_MAX];

	d.request_id = t->dup ? "dup#1" : NULL;
	d.reasons = t->dup ? NULL : "{\"failed\":";
	/* The invalid-input thread fails fast: it keeps failing for as long
	 * as the duplicates (one commit wait each) are running. */
	for (t->runs = 0; t->runs < 200 || (!t->dup && *t->busy);
	    t->runs++) {
		int rc = mdt_store_append_decision(F.s, &d, NULL);
		const char *want = t->dup ? "already recorded" : "reasons";
		if (rc == 0 && t->dup)
			continue; /* the first append of the id */
		mdt_store_errmsg(F.s, msg, sizeof(msg));
		if (rc == 0 || strstr(msg, want) == NULL)
			t->wrong++;
	}
	if (t->dup)
		*t->busy = 0;
	return NULL;
}

START_TEST(errmsg_is_per_thread)
{
	_Atomic int busy = 1;
	struct err_thread t[2] = {{.dup = 1, .busy = &busy},
	    {.dup = 0, .busy = &busy}};
	pthread_t th[2];
	char msg[MDT_ERRMSG_MAX];

	fx_init(&F);
	fx_open(&F);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, err_main, &t[i]),
		    0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(t[0].wrong, 0);
	ck_assert_int_eq(t[1].wrong, 0);
	/* A thread that has not failed has no detail of others' failures. */
	ck_assert_str_eq(mdt_store_errmsg(F.s, msg, sizeof(msg)), "");
	fx_cleanup(&F);
}
END_TEST

START_TEST(json_check_agrees_with_jansson)
{
	static const char *const fixed[] = {
		"[]", "{}", "[\"a\"]", "[\"a\",\"b\"]", "{\"a\":\"b\"}",
		"{\"a\":\"b\",\"a\":\"c\"}", "{\"a\":\"b\",\"\\u0061\":\"c\"}",
		"[\"a\\\"]", "[\"\\q\"]", "[\"a\",]", "[,\"a\"]", "{\"a\":1}",
		"[\"\\u00e9\"]", "[\"\\ud800\"]", "{\"a\":\"b\",}", "[\"a\"]x",
		"{\"\\/\":\"1\",\"/\":\"2\"}", "\"s\"", "{\"a\" :\"b\"}", "[\"\\",
		("{\"k1\":\"v\",\"k2\":\"v\",\"k3\":\"v\",\"k4\":\"v\",\"k5\":\"v\","
		"\"k6\":\"v\",\"k7\":\"v\",\"k8\":\"v\",\"k9\":\"v\",\"k1\":\"v\"}"),
		/* raw UTF-8: RFC 3629 exactly, controls from U+0080 on allowed */
		"[\"\xc3\xa9\"]", "[\"\xe0\x80\x80\"]", "[\"\xed\xa0\x80\"]",
		"[\"\xf4\x8f\xbf\xbf\"]", "[\"\xf4\x90\x80\x80\"]",
		"{\"\xc3\xa9\":\"\xc2\x85\"}", "[\"\xc3\"]",
		"[\"a\xc3\xa9\xa9\"]", "[\"\xc0\xaf\"]", "[\"\xef\xbf\xbf\"]",
		/* nested, numbers, literals: the broker's Cedar requests */
		"{\"a\":{\"b\":[1,-2,true,false,null,{}]},\"c\":[]}",
		"{\"a\":{\"b\":1,\"b\":2}}", "[{\"a\":1},{\"a\":1}]",
		"[0]", "[-0]", "[01]", "[-]", "[1.5]", "[1e3]", "[-01]",
		"[123456789012345678]", "[1234567890123456789]",
		"[99999999999999999999]", "[truex]", "[tru]", "[nul]",
		"[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]", "{\"a\":[1,]}",
		"[1,{\"a\":\"b\"}]x", "{\"a\":{\"b\":1}", "[1 ]",
		("{\"principal\":{\"type\":\"Mandate::Agent\",\"id\":\"a\"},"
		"\"context\":{\"depth\":1,\"breakGlass\":false,\"agentChain\":"
		"[{\"__entity\":{\"type\":\"Mandate::Agent\",\"id\":\"a\"}}],"
		"\"time\":{\"__extn\":{\"fn\":\"datetime\",\"arg\":\"x\"}}},"
		"\"entities\":[]}"),
	};
	/* pieces of the two shapes and of what breaks them */
	static const char *const piece[] = {"\"a\"", "\"b\"", "\"\\n\"",
	    "\"\\u0061\"", "\"\\/\"", ",", ":", "[", "]", "{", "}", " ",
	    "1", "\"", "\\", "\"a\":\"b\"", "\"a\",", "\t",
	    "\"\xc3\xa9\"", "\xc2\x85", "\xe0\x80\x80", "\xed\xa0\x80",
	    "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xc3", "\xa9",
	    "true", "false", "null", "0", "-", "12", ".5", "e1", "-0",
	    "99999999999999999999", "{\"a\":", "[1,"};
	char buf[256];
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		for (int want = 1; want <= 2; want++)
			ck_assert_msg(mdt__json_ok(fixed[i], want) ==
			    mdt__json_ok_jansson(fixed[i], want), "%s (want %d)",
			    fixed[i], want);
	for (int n = 0; n < 200000; n++) {
		size_t np = 1 + (x >> 9) % 9, o = 0;
		buf[o++] = n % 2 ? '[' : '{';
		for (size_t i = 0; i < np; i++) {
			const char *p;
			x = x * 1103515245u + 12345u;
			p = piece[(x >> 16) % (sizeof(piece) / sizeof(piece[0]))];
			memcpy(buf + o, p, strlen(p));
			o += strlen(p);
		}
		x = x * 1103515245u + 12345u;
		if ((x >> 16) % 4 != 0)
			buf[o++] = n % 2 ? ']' : '}';
		buf[o] = 0;
		for (int want = 1; want <= 2; want++)
			ck_assert_msg(mdt__json_ok(buf, want) ==
			    mdt__json_ok_jansson(buf, want), "%s (want %d)", buf, want);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_async");
	TCase *tc = tcase_create("async");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, async_each_reported_once);
	tcase_add_test(tc, async_duplicate_and_bad_input);
	tcase_add_test(tc, async_copies_the_record);
	tcase_add_test(tc, cache_sees_ends_at_once);
	tcase_add_test(tc, cache_never_stale_after_end);
	if (fx_backend_sqlite()) /* SQLite's WAL checkpointer */
		tcase_add_test(tc, wal_checkpoints_while_writing);
	tcase_add_test(tc, errmsg_is_per_thread);
	tcase_add_test(tc, json_check_agrees_with_jansson);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

/* Audit store under concurrency: group commit with many writer threads
 * (every record present, distinct seqs, read-your-writes, chain intact)
 * and revocation racing with delegation. */
#include <pthread.h>
#include <time.h>

#include <mandate/mandate.h>

#include "store_fixture.h"
#include "testutil.h"

#define THREADS 16
#define PER_THREAD 500

static fx F;

typedef struct worker {
	int id;
	uint64_t seqs[PER_THREAD];
	int failures;
} worker;

static void *
append_many(void *arg)
{
	worker *w = arg;
	char req[32];

	for (int i = 0; i < PER_THREAD; i++) {
		mdt_store_decision d = {.request_id = req,
		    .operation = "authorize", .verdict = MDT_STORE_ALLOW,
		    .task_id = "t1", .action = "read",
		    .resource = "Observation/obs-1"};
		mdt_store_decision *got = NULL;
		snprintf(req, sizeof(req), "w%d#%d", w->id, i);
		if (mdt_store_append_decision(F.s, &d, &w->seqs[i]) != 0)
			w->failures++;
		/* Durable on return, so visible to every reader now. */
		else if (i % 50 == 0 &&
		    (mdt_store_find_decision(F.s, req, &got) != 0 ||
		    got->seq != w->seqs[i]))
			w->failures++;
		mdt_free(got);
	}
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
count_cb(void *arg, const mdt_store_decision *d)
{
	(void)d;
	(*(size_t *)arg)++;
	return 0;
}

START_TEST(group_commit_many_threads)
{
	static worker w[THREADS];
	static uint64_t all[THREADS * PER_THREAD];
	mdt_store_opts o = {.checkpoint_every = 1000};
	pthread_t th[THREADS];
	mdt_store_report rep;
	fx_issues is;
	size_t n = 0, listed = 0;

	fx_init(&F);
	fx_open_opts(&F, &o);
	fx_root(&F, "t1");
	for (int i = 0; i < THREADS; i++) {
		w[i].id = i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, append_many,
		    &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		ck_assert_int_eq(w[i].failures, 0);
		for (int k = 0; k < PER_THREAD; k++) {
			if (k > 0) /* one thread's appends are ordered */
				ck_assert_uint_gt(w[i].seqs[k],
				    w[i].seqs[k - 1]);
			all[n++] = w[i].seqs[k];
		}
	}
	qsort(all, n, sizeof(all[0]), cmp_u64);
	for (size_t i = 0; i < n; i++) /* seq 1 is the task */
		ck_assert_uint_eq(all[i], i + 2);
	ck_assert_int_eq(mdt_store_list_decisions(F.s, 0, 0, count_cb,
	    &listed), 0);
	ck_assert_uint_eq(listed, THREADS * PER_THREAD);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	ck_assert_uint_eq(is.n, 0);
	ck_assert_uint_eq(rep.records, THREADS * PER_THREAD + 1);
	ck_assert_uint_ge(rep.checkpoints, 8);
	fx_cleanup(&F);
}
END_TEST

#define DELEGATORS 4
#define CHILDREN 40

typedef struct delegator {
	int id;
	int added[CHILDREN];
} delegator;

static void *
delegate_many(void *arg)
{
	delegator *d = arg;
	char id[32];

	for (int i = 0; i < CHILDREN; i++) {
		snprintf(id, sizeof(id), "c%d-%d", d->id, i);
		d->added[i] = fx_child(&F, id, "t1", 1, 0);
	}
	return NULL;
}

START_TEST(revocation_races_delegation)
{
	static delegator d[DELEGATORS];
	pthread_t th[DELEGATORS];
	mdt_store_revocation *r = NULL;
	mdt_store_report rep;
	fx_issues is;
	int revoked_seen = 0;

	fx_init(&F);
	fx_open(&F);
	fx_root(&F, "t1");
	for (int i = 0; i < DELEGATORS; i++) {
		d[i].id = i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, delegate_many,
		    &d[i]), 0);
	}
	nanosleep(&(struct timespec){0, 20000000}, NULL);
	ck_assert_int_eq(mdt_store_end_task(F.s, "t1", MDT_TASK_CANCELLED,
	    "dr-who", "race", 0, &r), 0);
	for (int i = 0; i < DELEGATORS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	/* Every child that was added is ended: none escaped the cascade. */
	for (int i = 0; i < DELEGATORS; i++)
		for (int k = 0; k < CHILDREN; k++) {
			char id[32];
			mdt_store_task *t;
			snprintf(id, sizeof(id), "c%d-%d", i, k);
			if (d[i].added[k] != 0) {
				ck_assert_int_eq(d[i].added[k], -MDT_EREVOKED);
				revoked_seen++;
				continue;
			}
			ck_assert_int_eq(mdt_store_get_task(F.s, id, &t), 0);
			ck_assert_int_eq(t->state, MDT_TASK_REVOKED);
			mdt_free(t);
		}
	ck_assert_uint_eq(r->count + (size_t)revoked_seen,
	    1 + DELEGATORS * CHILDREN);
	mdt_free(r);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, &rep), 0);
	fx_cleanup(&F);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_concurrency");
	TCase *tc = tcase_create("threads");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, group_commit_many_threads);
	tcase_add_test(tc, revocation_races_delegation);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

/*
 * Work items in the store (core/store/work.c): push, lease, redelivery
 * after the lease ends, acknowledgement, filters, per-agent bounds,
 * survival across a reopen, the end of a task dropping its item, and
 * concurrent leases never taking the same item.
 */
#include <pthread.h>

#include "store_fixture.h"
#include "testutil.h"

#define LABS "spiffe://clinic.example/labs"
#define PHARM "spiffe://clinic.example/pharmacy"
#define ORCH "spiffe://clinic.example/orchestrator"

static void
push_task(fx *f, const char *task, const char *agent)
{
	static const unsigned char tok[] = {1, 2, 3, 4};
	mdt_work_item it = {.id = task, .agent = agent, .kind = MDT_WORK_TASK,
	    .task = task, .parent = "t-root", .from = ORCH, .op = "dispatch",
	    .scopes = "patient/Observation.rs", .patient = "pat-001",
	    .purpose = "TREAT", .clinician = "dr-who", .depth = 1,
	    .expires = 1234, .token = tok, .token_len = sizeof(tok),
	    .payload = (const unsigned char *)"work", .payload_len = 4};
	int rc = mdt_store_work_push(f->s, &it, 0, NULL);

	ck_assert_msg(rc == 0, "push %s: %s", task, mdt_strerror(rc));
}

static int
push_result(fx *f, const char *id, const char *task, const char *parent,
    uint32_t max)
{
	mdt_work_item it = {.id = id, .agent = ORCH, .kind = MDT_WORK_RESULT,
	    .task = task, .parent = parent, .from = LABS, .status = "result",
	    .payload = (const unsigned char *)"", .payload_len = 0};

	return mdt_store_work_push(f->s, &it, max, NULL);
}

static mdt_work_item *
lease(fx *f, const char *agent, const mdt_work_filter *flt, int64_t now,
    int want)
{
	mdt_work_item *it = NULL;
	int rc = mdt_store_work_lease(f->s, agent, flt, 1000, now, &it, NULL);

	ck_assert_msg(rc == want, "lease: %s", mdt_strerror(rc));
	return it;
}

START_TEST(push_lease_ack)
{
	fx F;
	mdt_work_item *it;

	fx_init(&F);
	fx_open(&F);
	push_task(&F, "t-1", LABS);
	it = lease(&F, LABS, NULL, 10000, 0);
	ck_assert_str_eq(it->id, "t-1");
	ck_assert_str_eq(it->agent, LABS);
	ck_assert_int_eq(it->kind, MDT_WORK_TASK);
	ck_assert_str_eq(it->op, "dispatch");
	ck_assert_str_eq(it->clinician, "dr-who");
	ck_assert_int_eq(it->depth, 1);
	ck_assert_int_eq(it->expires, 1234);
	ck_assert_uint_eq(it->token_len, 4);
	ck_assert_int_eq(it->token[3], 4);
	ck_assert_uint_eq(it->payload_len, 4);
	ck_assert_int_eq(memcmp(it->payload, "work", 4), 0);
	ck_assert_ptr_null(it->status);
	ck_assert_uint_eq(it->deliveries, 1);
	ck_assert_int_eq(it->lease_until_ms, 11000);
	mdt_free(it);
	/* leased: not leasable again before the lease ends */
	ck_assert_ptr_null(lease(&F, LABS, NULL, 10999, -MDT_ENOTFOUND));
	/* a second push of the same id is refused, nothing changes */
	{
		mdt_work_item dup = {.id = "t-1", .agent = LABS,
		    .kind = MDT_WORK_TASK, .task = "t-1"};
		ck_assert_int_eq(mdt_store_work_push(F.s, &dup, 0, NULL),
		    -MDT_EEXIST);
	}
	/* another agent cannot acknowledge it */
	ck_assert_int_eq(mdt_store_work_ack(F.s, "t-1", PHARM),
	    -MDT_ENOTFOUND);
	ck_assert_int_eq(mdt_store_work_ack(F.s, "t-1", LABS), 0);
	ck_assert_int_eq(mdt_store_work_ack(F.s, "t-1", LABS),
	    -MDT_ENOTFOUND);
	/* acknowledged: never comes back, even after the lease would end */
	ck_assert_ptr_null(lease(&F, LABS, NULL, 99999, -MDT_ENOTFOUND));
	fx_cleanup(&F);
}
END_TEST

START_TEST(lease_end_redelivers_same_id)
{
	fx F;
	mdt_work_item *it;
	int64_t retry = -1;

	fx_init(&F);
	fx_open(&F);
	push_task(&F, "t-1", LABS);
	push_task(&F, "t-2", LABS);
	it = lease(&F, LABS, NULL, 10000, 0);
	ck_assert_str_eq(it->id, "t-1");
	mdt_free(it);
	it = lease(&F, LABS, NULL, 10100, 0);
	ck_assert_str_eq(it->id, "t-2");
	mdt_free(it);
	ck_assert_int_eq(mdt_store_work_lease(F.s, LABS, NULL, 1000, 10200,
	    &it, &retry), -MDT_ENOTFOUND);
	ck_assert_int_eq(retry, 11000); /* t-1's lease ends first */
	/* t-1's lease ended: it comes back first, same id, second delivery */
	it = lease(&F, LABS, NULL, 11000, 0);
	ck_assert_str_eq(it->id, "t-1");
	ck_assert_uint_eq(it->deliveries, 2);
	mdt_free(it);
	ck_assert_int_eq(mdt_store_work_lease(F.s, LABS, NULL, 1000, 11050,
	    &it, &retry), -MDT_ENOTFOUND);
	ck_assert_int_eq(retry, 11100);
	fx_cleanup(&F);
}
END_TEST

START_TEST(agents_and_filters)
{
	fx F;
	mdt_work_item *it;
	mdt_work_filter by_child = {.child = "t-b"};
	mdt_work_filter by_task = {.task = "t-root"};
	mdt_work_filter other = {.task = "t-other"};

	fx_init(&F);
	fx_open(&F);
	push_task(&F, "t-1", LABS);
	push_task(&F, "t-2", PHARM);
	ck_assert_int_eq(push_result(&F, "t-a/result/1", "t-a", "t-root", 0),
	    0);
	ck_assert_int_eq(push_result(&F, "t-b/result/1", "t-b", "t-root", 0),
	    0);
	/* two agents' queues do not mix */
	it = lease(&F, PHARM, NULL, 1, 0);
	ck_assert_str_eq(it->id, "t-2");
	mdt_free(it);
	ck_assert_ptr_null(lease(&F, PHARM, NULL, 2, -MDT_ENOTFOUND));
	/* filters take only results, of one child or of one parent */
	it = lease(&F, ORCH, &by_child, 3, 0);
	ck_assert_str_eq(it->id, "t-b/result/1");
	ck_assert_str_eq(it->status, "result");
	mdt_free(it);
	ck_assert_ptr_null(lease(&F, ORCH, &other, 4, -MDT_ENOTFOUND));
	it = lease(&F, ORCH, &by_task, 5, 0);
	ck_assert_str_eq(it->id, "t-a/result/1");
	mdt_free(it);
	ck_assert_ptr_null(lease(&F, LABS, &by_task, 6, -MDT_ENOTFOUND));
	it = lease(&F, LABS, NULL, 7, 0);
	ck_assert_str_eq(it->id, "t-1");
	mdt_free(it);
	fx_cleanup(&F);
}
END_TEST

START_TEST(bounded_per_agent)
{
	fx F;

	fx_init(&F);
	fx_open(&F);
	ck_assert_int_eq(push_result(&F, "r-1", "t-a", "t-root", 2), 0);
	ck_assert_int_eq(push_result(&F, "r-2", "t-a", "t-root", 2), 0);
	ck_assert_int_eq(push_result(&F, "r-3", "t-a", "t-root", 2),
	    -MDT_EBUSY);
	ck_assert_int_eq(push_result(&F, "r-3", "t-a", "t-root", 3), 0);
	fx_cleanup(&F);
}
END_TEST

static int
count_item(void *arg, const mdt_work_item *it)
{
	int *n = arg;

	ck_assert_ptr_nonnull(it->id);
	(*n)++;
	return 0;
}

START_TEST(survives_reopen)
{
	fx F;
	mdt_work_item *it;
	int n = 0;

	fx_init(&F);
	fx_open(&F);
	push_task(&F, "t-1", LABS);
	push_task(&F, "t-2", LABS);
	it = lease(&F, LABS, NULL, 10000, 0);
	mdt_free(it);
	fx_close(&F);
	fx_open(&F);
	ck_assert_int_eq(mdt_store_work_list(F.s, NULL, count_item, &n), 0);
	ck_assert_int_eq(n, 2);
	/* the lease and its delivery count were durable */
	it = lease(&F, LABS, NULL, 10500, 0);
	ck_assert_str_eq(it->id, "t-2");
	ck_assert_uint_eq(it->deliveries, 1);
	mdt_free(it);
	it = lease(&F, LABS, NULL, 11000, 0);
	ck_assert_str_eq(it->id, "t-1");
	ck_assert_uint_eq(it->deliveries, 2);
	mdt_free(it);
	/* a read-only handle lists them too */
	fx_close(&F);
	{
		mdt_store_opts o = {.read_only = 1};
		char err[MDT_ERRMSG_MAX];
		ck_assert_int_eq(mdt_store_open(F.uri, &o, &F.s, err,
		    sizeof(err)), 0);
		n = 0;
		ck_assert_int_eq(mdt_store_work_list(F.s, LABS, count_item,
		    &n), 0);
		ck_assert_int_eq(n, 2);
		ck_assert_int_eq(mdt_store_work_lease(F.s, LABS, NULL, 1, 0,
		    &it, NULL), -MDT_EINVAL);
	}
	fx_cleanup(&F);
}
END_TEST

static int
count_open(void *arg, const mdt_store_task *t)
{
	int *n = arg;

	ck_assert_int_eq(t->state, MDT_TASK_OPEN);
	(*n)++;
	return 0;
}

START_TEST(ending_a_task_drops_its_items)
{
	fx F;
	mdt_store_revocation *rv = NULL;
	mdt_work_item *it;
	int n = 0;

	fx_init(&F);
	fx_open(&F);
	fx_root(&F, "t-root");
	ck_assert_int_eq(fx_child(&F, "t-1", "t-root", 1, 0), 0);
	ck_assert_int_eq(fx_child(&F, "t-2", "t-1", 2, 0), 0);
	push_task(&F, "t-1", LABS);
	push_task(&F, "t-2", PHARM);
	ck_assert_int_eq(push_result(&F, "t-1/result/x", "t-1", "t-root", 0),
	    0);
	ck_assert_int_eq(mdt_store_open_tasks(F.s, count_open, &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(mdt_store_end_task(F.s, "t-1", MDT_TASK_CANCELLED,
	    ORCH, "test", 0, &rv), 0);
	ck_assert_uint_eq(rv->count, 2);
	mdt_free(rv);
	/* both task items are gone (the cascade's too); the result stays */
	ck_assert_ptr_null(lease(&F, LABS, NULL, 0, -MDT_ENOTFOUND));
	ck_assert_ptr_null(lease(&F, PHARM, NULL, 0, -MDT_ENOTFOUND));
	it = lease(&F, ORCH, NULL, 0, 0);
	ck_assert_str_eq(it->id, "t-1/result/x");
	mdt_free(it);
	/* an ended task gets no new task item */
	{
		mdt_work_item late = {.id = "t-2b", .agent = PHARM,
		    .kind = MDT_WORK_TASK, .task = "t-2"};
		ck_assert_int_eq(mdt_store_work_push(F.s, &late, 0, NULL),
		    -MDT_EREVOKED);
	}
	n = 0;
	ck_assert_int_eq(mdt_store_open_tasks(F.s, count_open, &n), 0);
	ck_assert_int_eq(n, 1);
	fx_cleanup(&F);
}
END_TEST

static int
count_dec(void *arg, const mdt_store_decision *d)
{
	(void)d;
	(*(int *)arg)++;
	return 0;
}

START_TEST(migrates_a_version_1_store)
{
	mdt_store_query q = {.agent = "spiffe://clinic.example/orchestrator"};
	int n = 0;
	fx F;
	fx_issues is;
	mdt_work_item *it;

	fx_init(&F);
	fx_open(&F);
	fx_root(&F, "t-root");
	fx_decision(&F, "r-1", "t-root", MDT_STORE_ALLOW);
	fx_close(&F);
	/* what a store written before work items looks like */
	fx_sql(&F, FX_SQLITE_UNDO_5 "DROP TABLE work; DROP TABLE decision_agents;"
	    "DROP INDEX decisions_patient; DROP INDEX decisions_clinician;"
	    "DROP INDEX decisions_time; PRAGMA user_version = 2");
	fx_open(&F);
	/* the migration indexed the agents of the decisions already there */
	ck_assert_int_eq(mdt_store_query_decisions(F.s, &q, count_dec, &n), 0);
	ck_assert_int_eq(n, 1);
	push_task(&F, "t-1", LABS);
	it = lease(&F, LABS, NULL, 0, 0);
	ck_assert_str_eq(it->id, "t-1");
	mdt_free(it);
	fx_close(&F);
	ck_assert_int_eq(fx_verify(&F, &is, NULL), 0);
	fx_cleanup(&F);
}
END_TEST

START_TEST(bad_input)
{
	fx F;
	mdt_work_item it = {.id = "x", .agent = LABS, .kind = 7, .task = "t"};
	mdt_work_item *out;

	fx_init(&F);
	fx_open(&F);
	ck_assert_int_eq(mdt_store_work_push(F.s, &it, 0, NULL), -MDT_EINVAL);
	it.kind = MDT_WORK_TASK;
	it.agent = NULL;
	ck_assert_int_eq(mdt_store_work_push(F.s, &it, 0, NULL), -MDT_EINVAL);
	ck_assert_int_eq(mdt_store_work_push(NULL, &it, 0, NULL), -MDT_EINVAL);
	ck_assert_int_eq(mdt_store_work_lease(F.s, NULL, NULL, 1, 0, &out,
	    NULL), -MDT_EINVAL);
	ck_assert_int_eq(mdt_store_work_ack(F.s, NULL, LABS), -MDT_EINVAL);
	fx_cleanup(&F);
}
END_TEST

#define NTHREADS 8
#define NITEMS 200

struct race {
	fx *f;
	char got[NITEMS];
	pthread_mutex_t mu;
	int dup;
};

static void *
racer(void *arg)
{
	struct race *r = arg;
	mdt_work_item *it;

	while (mdt_store_work_lease(r->f->s, LABS, NULL, 600000, 0, &it,
	    NULL) == 0) {
		int i = atoi(it->id + 2);
		pthread_mutex_lock(&r->mu);
		r->dup += r->got[i];
		r->got[i] = 1;
		pthread_mutex_unlock(&r->mu);
		mdt_free(it);
	}
	return NULL;
}

START_TEST(concurrent_leases_never_share)
{
	fx F;
	struct race r = {.f = &F};
	pthread_t th[NTHREADS];
	char id[16];

	fx_init(&F);
	fx_open(&F);
	pthread_mutex_init(&r.mu, NULL);
	for (int i = 0; i < NITEMS; i++) {
		snprintf(id, sizeof(id), "t-%d", i);
		push_task(&F, id, LABS);
	}
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, racer, &r), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(r.dup, 0);
	for (int i = 0; i < NITEMS; i++)
		ck_assert_msg(r.got[i], "item %d never leased", i);
	pthread_mutex_destroy(&r.mu);
	fx_cleanup(&F);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_work");
	TCase *tc = tcase_create("work");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, push_lease_ack);
	tcase_add_test(tc, lease_end_redelivers_same_id);
	tcase_add_test(tc, agents_and_filters);
	tcase_add_test(tc, bounded_per_agent);
	tcase_add_test(tc, survives_reopen);
	tcase_add_test(tc, ending_a_task_drops_its_items);
	if (fx_backend_sqlite()) /* SQLite's schema migrations */
		tcase_add_test(tc, migrates_a_version_1_store);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, concurrent_leases_never_share);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

/*
 * Two mandated processes on one PostgreSQL store (the ctest fixture's
 * server, a fresh database per case).  Across brokers: work dispatched
 * on A wakes a next parked on B; a task cancelled on A is refused on B
 * at once, and B's subscribers (a resource-server verifier included)
 * learn of it from B.  Failover: agents under load through the SDK
 * with both addresses, A killed with SIGKILL; they continue on B, every
 * allow a client received is in the store, work dispatched on A is taken
 * on B, and `mandatectl audit verify` passes.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "brk_sdk.h"
#include "brk_test.h"
#include "pg_fixture.h"
#include "testutil.h"

#include <mandate/agent.h>

#define SCOPES "patient/*.rs"
#define NAUTH 3        /* authorizing agents under load */
#define NAUTH_REQ 40   /* requests each */
#define NWORK_A 4      /* items dispatched on A before the kill */
#define NWORK_B 1      /* and on B after it */
#define WAIT_MS 60000  /* generous: a loaded machine */

static struct bt_broker A, B;
static char uri[600];
static char *jwt;

static void
setup(void)
{
	const char *base = getenv("MDT_TEST_STORE_URI");
	const char *const args[] = {"--set", "work_lease_ms=2000", NULL};
	char err[512];

	ck_assert_msg(base != NULL, "MDT_TEST_STORE_URI is not set (the pg "
	    "fixture)");
	ck_assert_msg(mdt_test_pg_fresh(base, uri, sizeof(uri), err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(bt_start_pair(&A, &B, uri, args), 0);
	jwt = bt_assertion(&A, "dr-alice", "pat-001", SCOPES, 0);
	ck_assert_ptr_nonnull(jwt);
}

static void
teardown(void)
{
	free(jwt);
	bt_twin_cleanup(&B);
	bt_cleanup(&A);
}

/* 1 allow, 0 refused (a deny, or no decision: the task is revoked) */
static int
allowed(mdt_task *t, const char *resource)
{
	char err[MDT_ERRMSG_MAX];
	mdt_authz *az = NULL;
	int rv = mdt_task_authorize(t, "r", resource, &az, err, sizeof(err));
	int ok = rv == 0 && mdt_authz_decision_of(az) == MDT_AUTHZ_ALLOW;

	mdt_authz_free(az);
	return ok;
}

/* A next parked on B, and when its item came. */
typedef struct taker {
	mdt_agent *a;
	mdt_task *t;
	int rv;
	uint64_t at;
} taker;

static void *
take(void *arg)
{
	taker *k = arg;
	char err[MDT_ERRMSG_MAX];

	k->rv = mdt_agent_next(k->a, 30000, &k->t, err, sizeof(err));
	k->at = (uint64_t)nng_clock();
	return NULL;
}

/* Waits for B to publish the end of task (its own subscribers learn of
 * what A did); ms it took, or -1. */
static int64_t
revoked_event(mdt_event_sub *sub, const char *task, uint64_t since)
{
	mdt_event ev;

	while ((uint64_t)nng_clock() < since + WAIT_MS) {
		if (mdt_event_sub_next(sub, 500, &ev) != 0 ||
		    ev.kind != MDT_EVENT_REVOKED)
			continue;
		for (size_t i = 0; i < ev.nids; i++)
			if (strcmp(ev.ids[i], task) == 0)
				return (int64_t)((uint64_t)nng_clock() - since);
	}
	return -1;
}

static mdt_rs_verifier *
verifier_on(const struct bt_broker *b)
{
	mdt_rs_verifier_opts o = MDT_RS_VERIFIER_OPTS_INIT;
	mdt_rs_verifier *v = NULL;
	mdt_pubkey pk;
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_pubkey_load(A.root_pub, &pk, err, sizeof(err)),
	    0);
	o.broker_key = &pk;
	o.audience = "https://fhir.clinic.example";
	o.events_url = b->pub;
	ck_assert_msg(mdt_rs_verifier_new(&o, &v, err, sizeof(err)) == 0, "%s",
	    err);
	return v;
}

START_TEST(test_across_brokers)
{
	const char *ua[] = {A.url}, *ub[] = {B.url};
	mdt_agent *orch = bs_connect(&A, BT_ORCH, ua, 1, WAIT_MS);
	mdt_agent *summ = bs_connect(&A, BT_SUMM, ub, 1, WAIT_MS);
	char child[MDT_AGENT_ID_MAX], err[MDT_ERRMSG_MAX];
	mdt_event_sub *sub = NULL;
	mdt_rs_verifier *v = verifier_on(&B);
	mdt_task *root = bs_open_root(orch, jwt, SCOPES);
	taker k = {.a = summ};
	pthread_t th;
	uint64_t t0;
	int64_t ms;

	ck_assert_int_eq(mdt_event_sub_open(B.pub, &sub, err, sizeof(err)),
	    0);
	/* a next parked on B; the dispatch on A must wake it (the wait is
	 * 30 s, so an item by its deadline would be the wake-up failing) */
	ck_assert_int_eq(pthread_create(&th, NULL, take, &k), 0);
	nng_msleep(1000);
	t0 = (uint64_t)nng_clock();
	bs_dispatch(root, "across", child);
	pthread_join(th, NULL);
	ck_assert_msg(k.rv == 0, "next on B: %d", k.rv);
	ck_assert_str_eq(mdt_task_id(k.t), child);
	fprintf(stderr, "work dispatched on A reached the next parked on B "
	    "in %llu ms\n", (unsigned long long)(k.at - t0));
	ck_assert_uint_lt(k.at - t0, 15000);
	ck_assert_int_eq(allowed(k.t, "Observation/obs-1"), 1);

	/* cancel on A: the next authorize on B is refused */
	ck_assert_msg(mdt_task_cancel(root, "done", err, sizeof(err)) == 0,
	    "cancel: %s", err);
	t0 = (uint64_t)nng_clock();
	ck_assert_msg(!allowed(k.t, "Observation/obs-2"), "B allowed a task "
	    "A had cancelled");
	/* and B tells its own subscribers */
	ms = revoked_event(sub, child, t0);
	ck_assert_msg(ms >= 0, "B never published the end of %s", child);
	fprintf(stderr, "B published A's revocation %lld ms after the "
	    "cancel returned\n", (long long)ms);
	while (!mdt_rs_verifier_is_revoked(v, child) &&
	    (uint64_t)nng_clock() < t0 + WAIT_MS)
		nng_msleep(5);
	ck_assert_int_eq(mdt_rs_verifier_is_revoked(v, child), 1);
	mdt_task_free(k.t);
	mdt_task_free(root);
	mdt_rs_verifier_free(v);
	mdt_event_sub_close(sub);
	mdt_agent_close(summ);
	mdt_agent_close(orch);
}
END_TEST

/* One agent authorizing under its task, through either broker. */
typedef struct authorizer {
	mdt_agent *a;
	mdt_task *t;
	int n;                 /* requests done */
	int allowed[NAUTH_REQ];
	char err[MDT_ERRMSG_MAX];
	int rv;
	atomic_int *total;
} authorizer;

static void *
authorize_loop(void *arg)
{
	authorizer *z = arg;
	char res[64];

	for (z->n = 0; z->n < NAUTH_REQ; z->n++) {
		mdt_authz *az = NULL;
		snprintf(res, sizeof(res), "Observation/obs-%s-%d",
		    mdt_task_id(z->t), z->n);
		z->rv = mdt_task_authorize(z->t, "r", res, &az, z->err,
		    sizeof(z->err));
		if (z->rv != 0)
			return NULL;
		z->allowed[z->n] = mdt_authz_decision_of(az) ==
		    MDT_AUTHZ_ALLOW;
		mdt_authz_free(az);
		atomic_fetch_add(z->total, 1);
	}
	return NULL;
}

static void
check_in_store(authorizer *z, size_t n)
{
	char *all = bs_store_allows(uri), line[256];
	int checked = 0;

	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < z[i].n; j++) {
			if (!z[i].allowed[j])
				continue;
			snprintf(line, sizeof(line), "%s Observation/obs-%s-%d\n",
			    mdt_task_id(z[i].t), mdt_task_id(z[i].t), j);
			ck_assert_msg(strstr(all, line) != NULL, "an allow the "
			    "client received is not in the store: %s", line);
			checked++;
		}
	ck_assert_int_eq(checked, (int)n * NAUTH_REQ);
	free(all);
}

/* Takes n items and completes each with its payload. */
static void
work_items(mdt_agent *w, int n)
{
	char err[MDT_ERRMSG_MAX];

	for (int done = 0; done < n;) {
		mdt_task *t = NULL;
		size_t len = 0;
		const uint8_t *p;
		int rv = mdt_agent_next(w, 2000, &t, err, sizeof(err));

		if (rv == -MDT_ETIMEDOUT)
			continue;
		ck_assert_msg(rv == 0, "next: %s", err);
		p = mdt_task_payload(t, &len);
		rv = mdt_task_complete(t, p, len, err, sizeof(err));
		ck_assert_msg(rv == 0 || rv == -MDT_EREVOKED, "complete: %s",
		    err);
		mdt_task_free(t);
		done++;
	}
}

static void
audit_verify(void)
{
	char cmd[1600], out[4096];
	int st;

	snprintf(cmd, sizeof(cmd), "'%s/broker/mandatectl' audit verify "
	    "--store '%s' --pub '%s' 2>&1", mdt_test_binary_dir(), uri,
	    A.root_pub);
	st = mdt_test_capture(cmd, out, sizeof(out));
	ck_assert_msg(st == 0, "audit verify: %d\n%s", st, out);
}

START_TEST(test_kill_one)
{
	const char *urls[] = {A.url, B.url};
	mdt_agent *orch = bs_connect(&A, BT_ORCH, urls, 2, WAIT_MS), *wk;
	mdt_task *root = bs_open_root(orch, jwt, SCOPES);
	char child[NAUTH + NWORK_A + NWORK_B][MDT_AGENT_ID_MAX];
	authorizer z[NAUTH];
	pthread_t th[NAUTH];
	atomic_int total = 0;
	int i;

	/* the agents under load take their tasks on A */
	memset(z, 0, sizeof(z));
	for (i = 0; i < NAUTH; i++) {
		char err[MDT_ERRMSG_MAX];
		bs_dispatch(root, "load", child[i]);
		z[i].a = bs_connect(&A, BT_SUMM, urls, 2, WAIT_MS);
		z[i].total = &total;
		ck_assert_msg(mdt_agent_next(z[i].a, WAIT_MS, &z[i].t, err,
		    sizeof(err)) == 0, "next: %s", err);
		/* taken for good: not delivered again when its lease ends */
		ck_assert_msg(mdt_task_ack(z[i].t, err, sizeof(err)) == 0,
		    "ack: %s", err);
		ck_assert_str_eq(mdt_agent_url(z[i].a), A.url);
	}
	/* work dispatched on A that nobody has taken yet */
	for (int j = 0; j < NWORK_A; j++)
		bs_dispatch(root, "work", child[NAUTH + j]);
	for (i = 0; i < NAUTH; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, authorize_loop,
		    &z[i]), 0);
	for (int k = 0; k < 6000 && atomic_load(&total) < NAUTH * 5; k++)
		nng_msleep(10);
	ck_assert_int_eq(bt_stop(&A, SIGKILL), 128 + SIGKILL);
	for (i = 0; i < NAUTH; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(z[i].rv == 0 && z[i].n == NAUTH_REQ,
		    "agent %d after the kill: %d %s", i, z[i].rv, z[i].err);
		for (int j = 0; j < NAUTH_REQ; j++)
			ck_assert_msg(z[i].allowed[j], "agent %d request %d "
			    "was not allowed", i, j);
		ck_assert_str_eq(mdt_agent_url(z[i].a), B.url);
	}
	/* the orchestrator moves to B too, and the work from A is taken
	 * there with the item dispatched after the kill */
	for (int j = 0; j < NWORK_B; j++)
		bs_dispatch(root, "work", child[NAUTH + NWORK_A + j]);
	ck_assert_str_eq(mdt_agent_url(orch), B.url);
	wk = bs_connect(&A, BT_SUMM, urls, 2, WAIT_MS);
	work_items(wk, NWORK_A + NWORK_B);
	for (int j = NAUTH; j < NAUTH + NWORK_A + NWORK_B; j++) {
		char err[MDT_ERRMSG_MAX];
		uint8_t *res = NULL;
		size_t len = 0;
		ck_assert_msg(mdt_task_wait_result(root, child[j], WAIT_MS, &res,
		    &len, err, sizeof(err)) == 0, "result of %s: %s", child[j],
		    err);
		ck_assert_uint_eq(len, 4);
		ck_assert_int_eq(memcmp(res, "work", 4), 0);
		mdt_free(res);
	}
	check_in_store(z, NAUTH);
	for (i = 0; i < NAUTH; i++) {
		mdt_task_free(z[i].t);
		mdt_agent_close(z[i].a);
	}
	mdt_agent_close(wk);
	mdt_task_free(root);
	mdt_agent_close(orch);
	audit_verify();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("broker_pgmulti");
	TCase *tc = tcase_create("pgmulti");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_across_brokers);
	tcase_add_test(tc, test_kill_one);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

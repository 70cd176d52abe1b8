/*
 * A PostgreSQL store that goes away under load: a private server (the
 * test stops and starts it), two brokers on it and agents authorizing
 * through the SDK.  While the server is down every answer is a `store`
 * denial (or no answer), never an allow; once it is back the brokers
 * serve again by themselves (their watches report it), and every allow
 * a client received is in the store.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
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

#define SCOPES "patient/*.rs"
#define NAUTH 3
#define MAXREQ 4000
#define WAIT_MS 60000
#define REQ_MS 5000    /* an SDK request's own limit while it is down */

enum { UP, DOWN, RESUMING };

static struct bt_broker A, B;
static char pgdir[128] = "/tmp/mdt-pgdn-XXXXXX";
static char uri[600];
static char *jwt;
static atomic_int phase, stop;

static void
setup(void)
{
	char base[600], err[512];

	ck_assert_ptr_nonnull(mkdtemp(pgdir));
	ck_assert_int_eq(mdt_test_pg_start(pgdir, base, sizeof(base)), 0);
	ck_assert_msg(mdt_test_pg_fresh(base, uri, sizeof(uri), err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(bt_start_pair(&A, &B, uri, NULL), 0);
	jwt = bt_assertion(&A, "dr-alice", "pat-001", SCOPES, 0);
	ck_assert_ptr_nonnull(jwt);
}

static void
teardown(void)
{
	free(jwt);
	bt_twin_cleanup(&B);
	bt_cleanup(&A);
	(void)mdt_test_pg_stop(pgdir);
}

/* One request and what came of it. */
struct req {
	int phase_from, phase_to;
	int allowed;
	int store_deny;
};

typedef struct authorizer {
	mdt_agent *a;
	mdt_task *t;
	int n;
	struct req r[MAXREQ];
	atomic_int allows_after; /* allows that started once it was back */
	char err[MDT_ERRMSG_MAX];
} authorizer;

static void *
authorize_loop(void *arg)
{
	authorizer *z = arg;
	char res[96];

	for (z->n = 0; z->n < MAXREQ && !atomic_load(&stop); z->n++) {
		struct req *q = &z->r[z->n];
		mdt_authz *az = NULL;
		int rv;
		snprintf(res, sizeof(res), "Observation/obs-%s-%d",
		    mdt_task_id(z->t), z->n);
		q->phase_from = atomic_load(&phase);
		rv = mdt_task_authorize(z->t, "r", res, &az, z->err,
		    sizeof(z->err));
		q->phase_to = atomic_load(&phase);
		q->allowed = rv == 0 && mdt_authz_decision_of(az) ==
		    MDT_AUTHZ_ALLOW;
		q->store_deny = rv == 0 && strcmp(mdt_authz_reason(az),
		    "store") == 0;
		if (q->allowed && q->phase_from == RESUMING)
			atomic_fetch_add(&z->allows_after, 1);
		mdt_authz_free(az);
		if (rv != 0 || !q->allowed)
			nng_msleep(20); /* refused: no hurry while it is down */
	}
	return NULL;
}

static int
count(authorizer *z, int from, int to, int what)
{
	int n = 0;

	for (int i = 0; i < NAUTH; i++)
		for (int j = 0; j < z[i].n; j++) {
			struct req *q = &z[i].r[j];
			if (q->phase_from == from && q->phase_to == to &&
			    (what == 0 ? q->allowed : q->store_deny))
				n++;
		}
	return n;
}

static int
log_has(const struct bt_broker *b, const char *word)
{
	char cmd[700], out[64];

	snprintf(cmd, sizeof(cmd), "grep -c '%s' '%s'", word, b->log);
	return mdt_test_capture(cmd, out, sizeof(out)) == 0;
}

static void
check_in_store(authorizer *z)
{
	char *all = bs_store_allows(uri), line[256];

	for (int i = 0; i < NAUTH; i++)
		for (int j = 0; j < z[i].n; j++) {
			if (!z[i].r[j].allowed)
				continue;
			snprintf(line, sizeof(line), "%s Observation/obs-%s-%d\n",
			    mdt_task_id(z[i].t), mdt_task_id(z[i].t), j);
			ck_assert_msg(strstr(all, line) != NULL, "an allow the "
			    "client received is not in the store: %s", line);
		}
	free(all);
}

static int
all_back(authorizer *z)
{
	for (int i = 0; i < NAUTH; i++)
		if (atomic_load(&z[i].allows_after) < 3)
			return 0;
	return 1;
}

START_TEST(test_store_down)
{
	const char *urls[] = {A.url, B.url}, *rurls[] = {B.url, A.url};
	mdt_agent *orch = bs_connect(&A, BT_ORCH, urls, 2, WAIT_MS);
	mdt_task *root = bs_open_root(orch, jwt, SCOPES);
	static authorizer z[NAUTH];
	pthread_t th[NAUTH];
	char child[MDT_AGENT_ID_MAX], err[MDT_ERRMSG_MAX];
	uint64_t t0;
	int i, down_denials;

	memset(z, 0, sizeof(z));
	for (i = 0; i < NAUTH; i++) {
		bs_dispatch(root, "load", child);
		/* agents on both brokers */
		z[i].a = bs_connect(&A, BT_SUMM, i % 2 ? rurls : urls, 2,
		    REQ_MS);
		ck_assert_msg(mdt_agent_next(z[i].a, WAIT_MS, &z[i].t, err,
		    sizeof(err)) == 0, "next: %s", err);
		ck_assert_msg(mdt_task_ack(z[i].t, err, sizeof(err)) == 0,
		    "ack: %s", err);
	}
	for (i = 0; i < NAUTH; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, authorize_loop,
		    &z[i]), 0);
	nng_msleep(1000);
	ck_assert_int_eq(mdt_test_pg_halt(pgdir), 0);
	atomic_store(&phase, DOWN);
	nng_msleep(3000);
	/* both watches saw it go */
	t0 = (uint64_t)nng_clock();
	while (!(log_has(&A, "peers.lost") && log_has(&B, "peers.lost")) &&
	    (uint64_t)nng_clock() < t0 + WAIT_MS)
		nng_msleep(100);
	ck_assert(log_has(&A, "peers.lost") && log_has(&B, "peers.lost"));
	atomic_store(&phase, RESUMING);
	ck_assert_int_eq(mdt_test_pg_resume(pgdir), 0);
	t0 = (uint64_t)nng_clock();
	while (!all_back(z) && (uint64_t)nng_clock() < t0 + WAIT_MS)
		nng_msleep(50);
	fprintf(stderr, "service resumed %llu ms after the server\n",
	    (unsigned long long)((uint64_t)nng_clock() - t0));
	atomic_store(&stop, 1);
	for (i = 0; i < NAUTH; i++)
		pthread_join(th[i], NULL);
	ck_assert_msg(all_back(z), "service did not resume within %d ms",
	    WAIT_MS);
	down_denials = count(z, DOWN, DOWN, 1);
	fprintf(stderr, "while down: %d store denials, %d allows\n",
	    down_denials, count(z, DOWN, DOWN, 0));
	ck_assert_int_eq(count(z, DOWN, DOWN, 0), 0);
	ck_assert_int_gt(down_denials, 0);
	ck_assert(count(z, UP, UP, 0) > 0);
	check_in_store(z);
	t0 = (uint64_t)nng_clock();
	while (!(log_has(&A, "peers.back") && log_has(&B, "peers.back")) &&
	    (uint64_t)nng_clock() < t0 + WAIT_MS)
		nng_msleep(100);
	ck_assert(log_has(&A, "peers.back") && log_has(&B, "peers.back"));
	for (i = 0; i < NAUTH; i++) {
		mdt_task_free(z[i].t);
		mdt_agent_close(z[i].a);
	}
	mdt_task_free(root);
	mdt_agent_close(orch);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("broker_pgdown");
	TCase *tc = tcase_create("pgdown");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_store_down);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

/*
 * SDK failover across broker addresses, with real mandated processes:
 * a first address where nothing listens and a second live one (as an
 * array and in the comma form a command line gives); and a broker killed
 * with SIGKILL while an agent works through dispatched items, restarted on
 * the same data directory at another address, the agent and the
 * orchestrator moving there by themselves and every item's result
 * arriving (work items are durable rows; requests in flight are resent
 * with their ids).  Options structs with a size this library does not
 * know are refused here too, as the connect is their first user.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "brk_test.h"
#include "testutil.h"

#include <mandate/agent.h>

#define SCOPES "patient/*.rs"
#define NITEMS 8 /* the orchestrator's fan-out limit */
#define NBEFORE 6 /* dispatched before the kill */
#ifndef RESULT_WAIT_MS
#define RESULT_WAIT_MS 120000
#endif

static struct bt_broker B;
static char *jwt; /* dr-alice, pat-001 */
static char dead[600];

static void
setup(void)
{
	static const char *const args[] = {"--set", "work_lease_ms=2000",
	    NULL};

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_int_eq(bt_start(&B, args), 0);
	jwt = bt_assertion(&B, "dr-alice", "pat-001", SCOPES, 0);
	ck_assert_ptr_nonnull(jwt);
	snprintf(dead, sizeof(dead), "ipc://%s/run/nobody.sock", B.dir);
}

static void
teardown(void)
{
	free(jwt);
	bt_cleanup(&B);
}

static mdt_agent *
connect_urls(const char *id, const char *const *urls, size_t n)
{
	mdt_agent_opts o = MDT_AGENT_OPTS_INIT;
	char err[MDT_ERRMSG_MAX];
	mdt_agent *a = NULL;

	o.urls = urls;
	o.nurls = n;
	o.spiffe_id = id;
	o.key = bt_key(&B, id);
	o.timeout_ms = 60000; /* a loaded machine restarts brokers slowly */
	o.retry_ms = 20;
	o.failover_ms = 300;
	ck_assert_msg(mdt_agent_connect(&o, &a, err, sizeof(err)) == 0,
	    "connect %s: %s", id, err);
	return a;
}

static mdt_task *
open_root(mdt_agent *orch)
{
	mdt_open_opts op = MDT_OPEN_OPTS_INIT;
	char err[MDT_ERRMSG_MAX];
	mdt_task *t = NULL;

	op.assertion = jwt;
	op.patient = "pat-001";
	op.purpose = "TREAT";
	op.scopes = SCOPES;
	ck_assert_msg(mdt_agent_open_task(orch, &op, &t, err, sizeof(err)) ==
	    0, "open: %s", err);
	return t;
}

START_TEST(test_dead_first_address)
{
	const char *urls[] = {dead, B.url};
	mdt_agent *a = connect_urls(BT_ORCH, urls, 2);
	mdt_task *t;

	ck_assert_str_eq(mdt_agent_url(a), B.url);
	ck_assert_uint_ge(mdt_agent_failovers(a), 1);
	t = open_root(a);
	ck_assert_str_eq(mdt_task_patient(t), "pat-001");
	mdt_task_free(t);
	mdt_agent_close(a);
}
END_TEST

START_TEST(test_comma_form)
{
	mdt_agent_opts o = {.spiffe_id = BT_ORCH, .key = bt_key(&B, BT_ORCH),
	    .timeout_ms = 30000, .failover_ms = 200};
	char list[1300], err[MDT_ERRMSG_MAX];
	mdt_agent *a = NULL;
	mdt_task *t;

	snprintf(list, sizeof(list), "%s,%s", dead, B.url);
	o.url = list;
	ck_assert_msg(mdt_agent_connect(&o, &a, err, sizeof(err)) == 0,
	    "connect: %s", err);
	ck_assert_str_eq(mdt_agent_url(a), B.url);
	t = open_root(a);
	mdt_task_free(t);
	mdt_agent_close(a);
	/* an empty or malformed address fails the connect at once */
	snprintf(list, sizeof(list), "%s,,%s", dead, B.url);
	ck_assert_int_eq(mdt_agent_connect(&o, &a, err, sizeof(err)),
	    -MDT_EINVAL);
	o.url = "tcp://127.0.0.1:7450,not a url";
	ck_assert_int_eq(mdt_agent_connect(&o, &a, err, sizeof(err)),
	    -MDT_EINVAL);
}
END_TEST

/* The size rule of agent.h, on the connect options. */
START_TEST(test_opts_size)
{
	struct {
		mdt_agent_opts o;
		uint64_t newer; /* a field of a later version */
	} big;
	char err[MDT_ERRMSG_MAX];
	mdt_agent *a = NULL;

	memset(&big, 0, sizeof(big));
	big.o.url = B.url;
	big.o.spiffe_id = BT_ORCH;
	big.o.key = bt_key(&B, BT_ORCH);
	big.o.size = sizeof(size_t);
	ck_assert_int_eq(mdt_agent_connect(&big.o, &a, err, sizeof(err)),
	    -MDT_EINVAL);
	big.o.size = sizeof(big);
	big.newer = 1;
	ck_assert_int_eq(mdt_agent_connect(&big.o, &a, err, sizeof(err)),
	    -MDT_EUNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(err, "newer"));
	/* unknown but zero: what an older library does with newer callers */
	big.newer = 0;
	ck_assert_msg(mdt_agent_connect(&big.o, &a, err, sizeof(err)) == 0,
	    "%s", err);
	mdt_agent_close(a);
}
END_TEST

/* The working agent: takes items and completes each with its payload
 * until it has done `want`; an item delivered again after it was done
 * (a lease that ended while the broker was away) is not done twice. */
typedef struct worker {
	mdt_agent *a;
	int want;
	int done;           /* items completed */
	char ids[NITEMS * 2][MDT_AGENT_ID_MAX];
	char err[MDT_ERRMSG_MAX];
	int rv;
	pthread_mutex_t mu;
} worker;

static int
worker_seen(worker *w, const char *id)
{
	for (int i = 0; i < w->done; i++)
		if (strcmp(w->ids[i], id) == 0)
			return 1;
	return 0;
}

static void *
work(void *arg)
{
	worker *w = arg;
	uint64_t give_up = (uint64_t)nng_clock() + 180000;

	while (w->done < w->want && (uint64_t)nng_clock() < give_up) {
		mdt_task *t = NULL;
		size_t len = 0;
		const uint8_t *p;
		int rv = mdt_agent_next(w->a, 2000, &t, w->err,
		    sizeof(w->err));

		if (rv == -MDT_ETIMEDOUT)
			continue;
		if (rv != 0) {
			w->rv = rv;
			return NULL;
		}
		p = mdt_task_payload(t, &len);
		if (!worker_seen(w, mdt_task_item_id(t))) {
			rv = mdt_task_complete(t, p, len, w->err,
			    sizeof(w->err));
			if (rv != 0 && rv != -MDT_EREVOKED) {
				w->rv = rv;
				mdt_task_free(t);
				return NULL;
			}
			pthread_mutex_lock(&w->mu);
			snprintf(w->ids[w->done], MDT_AGENT_ID_MAX, "%s",
			    mdt_task_item_id(t));
			w->done++;
			pthread_mutex_unlock(&w->mu);
		}
		mdt_task_free(t);
	}
	return NULL;
}

static int
worker_done(worker *w)
{
	int n;

	pthread_mutex_lock(&w->mu);
	n = w->done;
	pthread_mutex_unlock(&w->mu);
	return n;
}

static void
dispatch(mdt_task *root, int i, char child[MDT_AGENT_ID_MAX])
{
	char payload[32], err[MDT_ERRMSG_MAX];
	int n = snprintf(payload, sizeof(payload), "item-%d", i);

	ck_assert_msg(mdt_task_dispatch(root, BT_SUMM, "patient/Observation.rs",
	    (const uint8_t *)payload, (size_t)n, child, err, sizeof(err)) == 0,
	    "dispatch %d: %s", i, err);
}

START_TEST(test_kill_and_move)
{
	char second[sizeof(B.url)], children[NITEMS][MDT_AGENT_ID_MAX];
	const char *urls[] = {B.url, second};
	mdt_agent *orch, *summ;
	worker w;
	pthread_t th;
	mdt_task *root;
	int i;

	snprintf(second, sizeof(second), "ipc://%.200s/run/api2.sock", B.dir);
	orch = connect_urls(BT_ORCH, urls, 2);
	summ = connect_urls(BT_SUMM, urls, 2);
	root = open_root(orch);
	memset(&w, 0, sizeof(w));
	w.a = summ;
	w.want = NITEMS;
	pthread_mutex_init(&w.mu, NULL);
	for (i = 0; i < NBEFORE; i++)
		dispatch(root, i, children[i]);
	ck_assert_int_eq(pthread_create(&th, NULL, work, &w), 0);
	/* kill while the agent is in the middle of the items */
	for (int k = 0; k < 6000 && worker_done(&w) < 2; k++)
		nng_msleep(10);
	ck_assert_int_eq(bt_stop(&B, SIGKILL), 128 + SIGKILL);
	snprintf(B.url, sizeof(B.url), "%s", second);
	snprintf(B.pub, sizeof(B.pub), "ipc://%.200s/run/events2.sock", B.dir);
	ck_assert_int_eq(bt_start(&B, (const char *const[]){"--set",
	    "work_lease_ms=2000", NULL}), 0);
	for (; i < NITEMS; i++)
		dispatch(root, i, children[i]);
	for (i = 0; i < NITEMS; i++) {
		char err[MDT_ERRMSG_MAX], want[32];
		uint8_t *res = NULL;
		size_t len = 0;
		int rv = mdt_task_wait_result(root, children[i], RESULT_WAIT_MS, &res,
		    &len, err, sizeof(err));

		ck_assert_msg(rv == 0, "result of item %d: %s (the agent did %d; "
		    "%d %s)",
		    i, err, worker_done(&w), w.rv, w.err);
		snprintf(want, sizeof(want), "item-%d", i);
		ck_assert_uint_eq(len, strlen(want));
		ck_assert_int_eq(memcmp(res, want, len), 0);
		mdt_free(res);
	}
	pthread_join(th, NULL);
	ck_assert_msg(w.rv == 0, "worker: %s", w.err);
	ck_assert_int_eq(w.done, NITEMS);
	ck_assert_str_eq(mdt_agent_url(summ), second);
	ck_assert_str_eq(mdt_agent_url(orch), second);
	ck_assert_uint_ge(mdt_agent_failovers(summ), 1);
	ck_assert_uint_ge(mdt_agent_reconnects(summ), 1);
	pthread_mutex_destroy(&w.mu);
	mdt_task_free(root);
	mdt_agent_close(summ);
	mdt_agent_close(orch);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sdk_failover");
	TCase *tc = tcase_create("failover");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_dead_first_address);
	tcase_add_test(tc, test_comma_form);
	tcase_add_test(tc, test_opts_size);
	tcase_add_test(tc, test_kill_and_move);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

/*
 * Crash safety: clients authorize under load, the broker is killed with
 * SIGKILL, restarted on the same store; every decision a client received
 * has its durable audit record with the same verdict, and the audit
 * chain verifies.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mandate/store.h>

#include "brk_test.h"
#include "testutil.h"

#define CLIENTS 8
#define MAX_PER 20000

static struct bt_broker B;
static struct bt_task task;
static atomic_int stop;

struct client {
	struct bt_conn c;
	char ids[MAX_PER][96];
	int allow[MAX_PER];
	size_t n;
};

static struct client clients[CLIENTS];

static void *
load(void *arg)
{
	struct client *cl = arg;

	while (!atomic_load(&stop) && cl->n < MAX_PER) {
		unsigned seq = cl->c.seq + 1;
		char res[64];
		mdt_wire_msg *m;

		snprintf(res, sizeof(res), "Observation/obs-%u", seq);
		m = bt_authorize(&cl->c, task.id, task.tok, task.tlen, "r", res, "pat-001",
		    NULL, NULL, 0);
		if (m == NULL)
			break; /* the broker is gone: nothing was received */
		snprintf(cl->ids[cl->n], sizeof(cl->ids[0]), "%s#%s-%u",
		    BT_SUMM, cl->c.prefix, seq);
		cl->allow[cl->n++] = mdt_wire_msg_ok(m) == 1;
		mdt_wire_msg_free(m);
	}
	return NULL;
}

static void
prepare(void)
{
	struct bt_conn o, s;
	struct bt_task root;
	char *jwt = bt_assertion(&B, "dr-alice", "pat-001", "patient/*.rs", 0);
	mdt_wire_msg *m;

	ck_assert_int_eq(bt_dial(&o, B.url), 0);
	ck_assert_int_eq(bt_auth(&o, BT_ORCH, bt_key(&B, BT_ORCH)), 0);
	ck_assert_int_eq(bt_dial(&s, B.url), 0);
	ck_assert_int_eq(bt_auth(&s, BT_SUMM, bt_key(&B, BT_SUMM)), 0);
	m = bt_open(&o, jwt, "pat-001", "TREAT", "patient/*.rs");
	ck_assert_int_eq(bt_task_from(&root, m, 0), 0);
	mdt_wire_msg_free(m);
	m = bt_delegate(&o, MDT_OP_DISPATCH, root.id, root.tok, root.tlen,
	    BT_SUMM, "patient/Observation.rs");
	ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
	mdt_wire_msg_free(m);
	m = bt_next(&s, 3000);
	ck_assert_int_eq(bt_task_from(&task, m, 1), 0);
	mdt_wire_msg_free(m);
	free(jwt);
	bt_close(&o);
	bt_close(&s);
}

/* Every received decision is in the store with the same verdict. */
static size_t
check_records(mdt_store *st)
{
	size_t total = 0;

	for (int i = 0; i < CLIENTS; i++)
		for (size_t j = 0; j < clients[i].n; j++) {
			mdt_store_decision *d = NULL;
			int rc = mdt_store_find_decision(st, clients[i].ids[j],
			    &d);
			ck_assert_msg(rc == 0, "decision %s received but not "
			    "recorded (%s)", clients[i].ids[j], mdt_strerror(rc));
			ck_assert_int_eq(d->verdict == MDT_STORE_ALLOW,
			    clients[i].allow[j]);
			mdt_free(d);
			total++;
		}
	return total;
}

START_TEST(kill_9_under_load)
{
	pthread_t th[CLIENTS];
	struct timespec ts = { 1, 200 * 1000 * 1000 };
	mdt_store_opts ro = { .read_only = 1 };
	mdt_store *st = NULL;
	mdt_pubkey pk;
	mdt_store_report rep;
	char err[256];
	size_t total;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_int_eq(bt_start(&B, NULL), 0);
	prepare();
	for (int i = 0; i < CLIENTS; i++) {
		ck_assert_int_eq(bt_dial(&clients[i].c, B.url), 0);
		nng_socket_set_ms(clients[i].c.s, NNG_OPT_RECVTIMEO, 1500);
		ck_assert_int_eq(bt_auth(&clients[i].c, BT_SUMM,
		    bt_key(&B, BT_SUMM)), 0);
		ck_assert_int_eq(pthread_create(&th[i], NULL, load,
		    &clients[i]), 0);
	}
	nanosleep(&ts, NULL);
	ck_assert_int_eq(bt_stop(&B, SIGKILL), 128 + SIGKILL);
	atomic_store(&stop, 1);
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(th[i], NULL);
		bt_close(&clients[i].c);
	}
	/* restart on the same store: it opens, recovers and serves */
	ck_assert_msg(bt_start(&B, NULL) == 0, "restart failed (log %s)",
	    B.log);
	{
		struct bt_conn s;
		mdt_wire_msg *m;
		ck_assert_int_eq(bt_dial(&s, B.url), 0);
		ck_assert_int_eq(bt_auth(&s, BT_SUMM, bt_key(&B, BT_SUMM)), 0);
		m = bt_authorize(&s, task.id, task.tok, task.tlen, "r",
		    "Observation/after-restart", "pat-001", NULL, NULL, 0);
		ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", bt_reason(m));
		mdt_wire_msg_free(m);
		bt_close(&s);
	}
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	ck_assert_int_eq(mdt_store_open(B.store, &ro, &st, err, sizeof(err)),
	    0);
	total = check_records(st);
	mdt_store_close(st);
	ck_assert_uint_gt(total, 20);
	ck_assert_int_eq(mdt_pubkey_load(B.root_pub, &pk, err, sizeof(err)),
	    0);
	ck_assert_msg(mdt_store_verify(B.store, pk.bytes, NULL, NULL, &rep, err,
	    sizeof(err)) == 0, "audit verify: %s", err);
	ck_assert_uint_ge(rep.records, total);
	printf("crash test: %zu decisions received before SIGKILL, all "
	    "recorded; %llu records verify\n", total,
	    (unsigned long long)rep.records);
	bt_cleanup(&B);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_crash");
	TCase *tc = tcase_create("crash");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, kill_9_under_load);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}

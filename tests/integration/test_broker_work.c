/*
 * Work delivery across restarts, with real processes: an item dispatched
 * before a kill -9 is delivered after the restart with the same id; an
 * item taken but not acknowledged before a kill -9 is delivered again
 * (same id, delivery count 2) once its lease ends; a clean SIGTERM
 * restart loses neither work nor results; acknowledged items and items
 * of ended tasks never come back; agents' queues do not mix; a lease
 * that ends without a restart redelivers.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mandate/store.h>

#include "brk_flow.h"
#include "brk_test.h"
#include "testutil.h"

#define LEASE_MS 1200

static struct bt_broker B;
static const char *const args[] = { "--set", "work_lease_ms=1200", NULL };

struct conns {
	struct bt_conn o, s, p;
};

static void
connect_all(struct conns *c)
{
	bf_as(&B, &c->o, BT_ORCH);
	bf_as(&B, &c->s, BT_SUMM);
	bf_as(&B, &c->p, BT_PRIOR);
}

static void
close_all(struct conns *c)
{
	bt_close(&c->o);
	bt_close(&c->s);
	bt_close(&c->p);
}

/* Stops the broker with sig, starts it again and reconnects. */
static void
restart(struct conns *c, int sig)
{
	close_all(c);
	ck_assert_int_eq(bt_stop(&B, sig), sig == SIGKILL ? 128 + SIGKILL : 0);
	ck_assert_msg(bt_start(&B, args) == 0, "restart failed (log %s)",
	    B.log);
	connect_all(c);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The reply's item (NULL for "no work"). */
static const mdt_wire_val *
item(const mdt_wire_msg *m)
{
	const mdt_wire_val *it;

	ck_assert_ptr_nonnull(m);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "next refused: %s",
	    bt_reason(m));
	it = mdt_wire_map_get(mdt_wire_msg_root(m), "item");
	return it == NULL || mdt_wire_val_type(it) == MDT_WIRE_NIL ? NULL : it;
}

/* next on c gives an item with id `id` and `deliveries`; its task into
 * *t when t is not NULL. */
static void
expect_item(struct bt_conn *c, int64_t wait, const char *id,
    int64_t deliveries, const char *kind, struct bt_task *t)
{
	mdt_wire_msg *m = bt_next(c, wait);
	const mdt_wire_val *it = item(m);
	const char *got, *k;
	int64_t n;
	char err[256];

	ck_assert_msg(it != NULL, "%s got no item (want %s)", c->agent, id);
	ck_assert_int_eq(mdt_wire_get_str(it, "id", 1024, &got, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(got, id);
	ck_assert_int_eq(mdt_wire_get_int(it, "deliveries", 0, 1000, &n, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(n, deliveries);
	ck_assert_int_eq(mdt_wire_get_str(it, "kind", 16, &k, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(k, kind);
	if (t != NULL)
		ck_assert_int_eq(bt_task_from(t, m, 1), 0);
	mdt_wire_msg_free(m);
}

static void
expect_none(struct bt_conn *c, int64_t wait)
{
	mdt_wire_msg *m = bt_next(c, wait);

	ck_assert_msg(item(m) == NULL, "%s got an item it should not",
	    c->agent);
	mdt_wire_msg_free(m);
}

static mdt_wire_msg *
ack(struct bt_conn *c, const char *id)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_ACK);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "item", id), 0);
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	return m;
}

static void
ack_ok(struct bt_conn *c, const char *id)
{
	mdt_wire_msg *m = ack(c, id);

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "ack %s: %s", id, bt_reason(m));
	mdt_wire_msg_free(m);
}

/* Dispatches a subtask of root to `to`; its id into id. */
static void
dispatch(struct conns *c, const struct bt_task *root, const char *to,
    const char *scopes, char id[128])
{
	mdt_wire_msg *m = bt_delegate(&c->o, MDT_OP_DISPATCH, root->id,
	    root->tok, root->tlen, to, scopes);

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "dispatch: %s", bt_reason(m));
	snprintf(id, 128, "%s", bt_str(m, "task"));
	mdt_wire_msg_free(m);
}

START_TEST(work_survives_restarts)
{
	struct conns c;
	struct bt_task root, t3;
	char id1[128], id2[128], id3[128], id4[128], res[160];
	mdt_wire_msg *m;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "start failed (log %s)", B.log);
	connect_all(&c);
	bf_open_root(&B, &c.o, "dr-alice", "pat-001", "TREAT",
	    "patient/*.rs", &root);

	/* kill -9 between dispatch and next */
	dispatch(&c, &root, BT_SUMM, "patient/Observation.rs", id1);
	restart(&c, SIGKILL);
	expect_item(&c.s, 3000, id1, 1, "task", NULL);
	bf_expect(ack(&c.p, id1), "work.unknown"); /* not priorauth's */
	ack_ok(&c.s, id1);

	/* kill -9 between next and ack: back after its lease, count 2 */
	dispatch(&c, &root, BT_SUMM, "patient/Observation.rs", id2);
	expect_item(&c.s, 3000, id2, 1, "task", NULL);
	restart(&c, SIGKILL);
	expect_item(&c.s, 3 * LEASE_MS, id2, 2, "task", NULL);
	ack_ok(&c.s, id2);

	/* a clean restart loses nothing; two agents' queues stay apart */
	dispatch(&c, &root, BT_SUMM, "patient/Observation.rs", id3);
	dispatch(&c, &root, BT_PRIOR, "patient/Coverage.rs", id4);
	restart(&c, SIGTERM);
	expect_item(&c.p, 3000, id4, 1, "task", NULL);
	expect_none(&c.p, 200);
	expect_item(&c.s, 3000, id3, 1, "task", &t3);
	/* completing the task acknowledges its item and queues a result */
	m = bt_end(&c.s, MDT_OP_COMPLETE, t3.id, t3.tok, t3.tlen);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "complete: %s", bt_reason(m));
	mdt_wire_msg_free(m);
	restart(&c, SIGTERM);
	snprintf(res, sizeof(res), "%s/completed", id3);
	expect_item(&c.o, 3000, res, 1, "result", NULL);
	ack_ok(&c.o, res);
	bf_expect(ack(&c.o, res), "work.unknown");
	ack_ok(&c.p, id4);

	/* acknowledged and completed items never come back */
	expect_none(&c.s, 2 * LEASE_MS);
	expect_none(&c.o, 300);
	close_all(&c);
	bt_cleanup(&B);
}
END_TEST

struct later {
	struct conns *c;
	const struct bt_task *root;
	char id[128];
};

static void *
dispatch_later(void *arg)
{
	struct later *l = arg;
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	dispatch(l->c, l->root, BT_SUMM, "patient/Observation.rs", l->id);
	return NULL;
}

START_TEST(lease_end_redelivers)
{
	struct conns c;
	struct bt_task root, t;
	char id[128];
	int64_t t0;
	mdt_wire_msg *m;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "start failed (log %s)", B.log);
	connect_all(&c);
	bf_open_root(&B, &c.o, "dr-alice", "pat-001", "TREAT",
	    "patient/*.rs", &root);
	dispatch(&c, &root, BT_SUMM, "patient/Observation.rs", id);
	t0 = now_ms();
	expect_item(&c.s, 3000, id, 1, "task", &t);
	/* a parked next gets it once the lease ends, and not before */
	expect_item(&c.s, 4 * LEASE_MS, id, 2, "task", NULL);
	ck_assert_int_ge(now_ms() - t0, LEASE_MS - 50);
	/* cancelling the task acknowledges it: no third delivery */
	m = bt_end(&c.s, MDT_OP_CANCEL, t.id, t.tok, t.tlen);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "cancel: %s", bt_reason(m));
	mdt_wire_msg_free(m);
	expect_none(&c.s, 2 * LEASE_MS);
	/* a parked next is woken by a dispatch at once */
	{
		struct later l = { &c, &root, "" };
		pthread_t th;
		mdt_wire_msg *nm;
		const mdt_wire_val *it;
		const char *got;
		char err[256];

		t0 = now_ms();
		ck_assert_int_eq(pthread_create(&th, NULL, dispatch_later, &l),
		    0);
		nm = bt_next(&c.s, 5000);
		pthread_join(th, NULL);
		it = item(nm);
		ck_assert_ptr_nonnull(it);
		ck_assert_int_eq(mdt_wire_get_str(it, "id", 1024, &got, err,
		    sizeof(err)), 0);
		ck_assert_str_eq(got, l.id);
		ck_assert_int_lt(now_ms() - t0, 2000);
		mdt_wire_msg_free(nm);
	}
	close_all(&c);
	bt_cleanup(&B);
}
END_TEST

START_TEST(full_queue_cancels_the_subtask)
{
	static const char *const small[] = { "--set", "queue_max=1", NULL };
	struct conns c;
	struct bt_task root;
	char first[128];
	mdt_wire_msg *m;
	mdt_store_opts ro = { .read_only = 1 };
	mdt_store *st = NULL;
	mdt_store_task *t = NULL;
	char err[256];

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, small) == 0, "start failed (log %s)",
	    B.log);
	connect_all(&c);
	bf_open_root(&B, &c.o, "dr-alice", "pat-001", "TREAT",
	    "patient/*.rs", &root);
	dispatch(&c, &root, BT_SUMM, "patient/Observation.rs", first);
	m = bt_delegate(&c.o, MDT_OP_DISPATCH, root.id, root.tok, root.tlen,
	    BT_SUMM, "patient/Observation.rs");
	ck_assert_str_eq(bt_reason(m), "queue.full");
	/* the refused subtask was recorded, then cancelled at once */
	{
		const char *d = NULL;
		char id[128];
		ck_assert_int_eq(mdt_wire_msg_error(m, NULL, &d), -MDT_EBUSY);
		ck_assert_int_eq(sscanf(d, "subtask %127s", id), 1);
		mdt_wire_msg_free(m);
		ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
		ck_assert_int_eq(mdt_store_open(B.store, &ro, &st, err,
		    sizeof(err)), 0);
		ck_assert_int_eq(mdt_store_get_task(st, id, &t), 0);
		ck_assert_int_eq(t->state, MDT_TASK_CANCELLED);
		mdt_free(t);
		ck_assert_int_eq(mdt_store_get_task(st, first, &t), 0);
		ck_assert_int_eq(t->state, MDT_TASK_OPEN);
		mdt_free(t);
		mdt_store_close(st);
	}
	close_all(&c);
	bt_cleanup(&B);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("broker_work");
	TCase *tc = tcase_create("work");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, work_survives_restarts);
	tcase_add_test(tc, lease_end_redelivers);
	tcase_add_test(tc, full_queue_cancels_the_subtask);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

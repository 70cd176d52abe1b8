/*
 * Attack: a request id reused for other content.  The reply cache answers
 * a resend byte for byte, but a request id decided once is bound to what
 * was asked for good: the same id with another resource is refused as
 * `id.reused` (recorded, no token), from the cache, after a restart and
 * after the cache forgot it; the same content under the same id keeps
 * its verdict.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

static struct bt_broker B;

/* authorize under request id `id` (not the connection's next one). */
static mdt_wire_msg *
send_id(struct bt_conn *c, const char *id, const struct bt_task *t,
    const char *action, const char *resource, const char *patient)
{
	mdt_wire_writer *w = NULL;
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_AUTHORIZE, id, 0, 0),
	    0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", t->id) ||
	    mdt_wire_put_bin(w, "token", t->tok, t->tlen) ||
	    mdt_wire_put_cstr(w, "action", action) ||
	    mdt_wire_put_cstr(w, "resource", resource) ||
	    (patient != NULL && mdt_wire_put_cstr(w, "patient", patient)), 0);
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	return m;
}

static void
fresh_id(char *id, size_t len)
{
	uint8_t r[8];
	char hx[17];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hx, sizeof(hx), r, sizeof(r));
	snprintf(id, len, "reuse-%s", hx);
}

static void
rid_of(const struct bt_conn *c, const char *id, char *rid, size_t len)
{
	snprintf(rid, len, "%s#%s", c->agent, id);
}

/* A: allowed under id; B: the same id for another resource. */
static void
allow_a(struct bt_conn *s, const char *id, const struct bt_task *t)
{
	mdt_wire_msg *m = send_id(s, id, t, "r", "Patient/pat-001", NULL);
	char rid[400];
	mdt_store_decision *d;

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "A refused: %s", bt_reason(m));
	ck_assert_ptr_nonnull(bt_bin(m, "token", &(size_t){ 0 }));
	mdt_wire_msg_free(m);
	rid_of(s, id, rid, sizeof(rid));
	d = at_record(&B, rid);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->verdict, MDT_STORE_ALLOW);
	ck_assert_str_eq(d->resource, "Patient/pat-001");
	mdt_free(d);
}

static void
b_reused(struct bt_conn *s, const char *id, const struct bt_task *t)
{
	char rid[400];

	rid_of(s, id, rid, sizeof(rid));
	at_refused_rid(&B, s->agent, rid, send_id(s, id, t, "r",
	    "Observation/obs-001-1", "pat-001"), "authorize", "id.reused",
	    NULL);
	/* the id's own record still says what A released */
	{
		mdt_store_decision *d = at_record(&B, rid);
		ck_assert_ptr_nonnull(d);
		ck_assert_str_eq(d->resource, "Patient/pat-001");
		mdt_free(d);
	}
}

/* A again: the same verdict (allow). */
static void
a_again(struct bt_conn *s, const char *id, const struct bt_task *t)
{
	mdt_wire_msg *m = send_id(s, id, t, "r", "Patient/pat-001", NULL);

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "A resent: %s", bt_reason(m));
	ck_assert_str_eq(bt_str(m, "decision"), "allow");
	mdt_wire_msg_free(m);
}

static void
task_for(struct bt_conn *o, struct bt_conn *s, struct bt_task *sub)
{
	struct bt_task root;

	bf_as(&B, o, BT_ORCH);
	bf_as(&B, s, BT_SUMM);
	bf_open_root(&B, o, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &root);
	bf_hand_on(o, s, MDT_OP_DISPATCH, &root, "patient/*.rs", sub);
}

START_TEST(reused_id_from_cache_and_after_restart)
{
	struct bt_conn o, s;
	struct bt_task sub;
	char id[64];

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	task_for(&o, &s, &sub);
	fresh_id(id, sizeof(id));
	allow_a(&s, id, &sub);
	b_reused(&s, id, &sub);
	a_again(&s, id, &sub);
	b_reused(&s, id, &sub); /* a resend of the refusal: still refused */
	bt_close(&o);
	bt_close(&s);

	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "restart (log %s)", B.log);
	bf_as(&B, &s, BT_SUMM);
	b_reused(&s, id, &sub);
	a_again(&s, id, &sub);
	b_reused(&s, id, &sub);
	bt_close(&s);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}
END_TEST

START_TEST(reused_id_after_cache_ttl)
{
	const char *args[] = { "--set", "idem_ttl=1", NULL };
	struct bt_conn o, s;
	struct bt_task sub;
	struct timespec pause = { 2, 500000000L };
	char id[64];

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "broker (log %s)", B.log);
	task_for(&o, &s, &sub);
	fresh_id(id, sizeof(id));
	allow_a(&s, id, &sub);
	/* past the reply cache's life: only the store remembers the id */
	nanosleep(&pause, NULL);
	b_reused(&s, id, &sub);
	nanosleep(&pause, NULL);
	a_again(&s, id, &sub);
	nanosleep(&pause, NULL);
	b_reused(&s, id, &sub);
	bt_close(&o);
	bt_close(&s);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}
END_TEST

/* A refusal's id cannot be reused to get an allow: the refusal stands. */
START_TEST(refused_id_cannot_turn_into_allow)
{
	const char *args[] = { "--set", "idem_ttl=1", NULL };
	struct bt_conn o, s;
	struct bt_task sub;
	struct timespec pause = { 2, 500000000L };
	char id[64], rid[400];

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "broker (log %s)", B.log);
	task_for(&o, &s, &sub);
	fresh_id(id, sizeof(id));
	rid_of(&s, id, rid, sizeof(rid));
	at_refused_rid(&B, s.agent, rid, send_id(&s, id, &sub, "r",
	    "Patient/pat-002", NULL), "authorize", "patient", "pat-002");
	at_refused_rid(&B, s.agent, rid, send_id(&s, id, &sub, "r",
	    "Patient/pat-001", NULL), "authorize", "id.reused", NULL);
	nanosleep(&pause, NULL);
	at_refused_rid(&B, s.agent, rid, send_id(&s, id, &sub, "r",
	    "Patient/pat-001", NULL), "authorize", "id.reused", NULL);
	bt_close(&o);
	bt_close(&s);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "restart (log %s)", B.log);
	bf_as(&B, &s, BT_SUMM);
	at_refused_rid(&B, s.agent, rid, send_id(&s, id, &sub, "r",
	    "Patient/pat-001", NULL), "authorize", "id.reused", NULL);
	bt_close(&s);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("attack_idem");
	TCase *tc = tcase_create("idem");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reused_id_from_cache_and_after_restart);
	tcase_add_test(tc, reused_id_after_cache_ttl);
	tcase_add_test(tc, refused_id_cannot_turn_into_allow);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}

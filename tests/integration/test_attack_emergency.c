/*
 * Attack: break-the-glass chosen by software.  An emergency purpose of use
 * (ETREAT, BTG) opens a task outside the clinician's care teams only when
 * the clinician's own assertion declares it (purpose_of_use), once; the
 * record is flagged break-glass and for review.  An orchestrator holding
 * an ordinary launch assertion cannot choose it, and cannot use the
 * clinician's emergency act twice.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

#define SCOPES "patient/*.rs"

static struct bt_broker B;
static struct bt_conn O;

static void
setup(void)
{
	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	bf_as(&B, &O, BT_ORCH);
}

static void
teardown(void)
{
	bt_close(&O);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

/* pat-003 is in primary care; dr-alice is in cardiology and oncology. */
static void
open_refused(const char *pou, const char *patient, const char *purpose,
    const char *spec)
{
	char *jwt = bt_assertion_act(&B, "dr-alice", "pat-003", SCOPES, 0,
	    NULL, pou);

	at_refused(&B, &O, bt_open(&O, jwt, patient, purpose, SCOPES), "open",
	    spec, patient);
	free(jwt);
}

START_TEST(emergency_not_asserted)
{
	open_refused(NULL, "pat-003", "ETREAT", "emergency.unasserted");
	open_refused(NULL, "pat-003", "BTG", "emergency.unasserted");
	/* the clinician declared one emergency purpose, not the other */
	open_refused("ETREAT", "pat-003", "BTG", "emergency.unasserted");
	open_refused("BTG", "pat-003", "ETREAT", "emergency.unasserted");
	/* without the emergency, the care team decides */
	open_refused(NULL, "pat-003", "TREAT", "policy.deny");
}
END_TEST

START_TEST(emergency_asserted_once)
{
	char *jwt = bt_assertion_act(&B, "dr-alice", "pat-003", SCOPES, 0,
	    NULL, "ETREAT");
	mdt_wire_msg *m = bt_open(&O, jwt, "pat-003", "ETREAT", SCOPES);
	struct bt_task root;
	char rid[300];
	mdt_store_decision *d;
	uint8_t *tok = NULL;
	size_t tn = 0;

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "emergency open: %s",
	    bt_reason(m));
	ck_assert_int_eq(bt_task_from(&root, m, 0), 0);
	mdt_wire_msg_free(m);
	at_audit_id(&O, rid, sizeof(rid));
	d = at_record(&B, rid);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->verdict, MDT_STORE_ALLOW);
	ck_assert_str_eq(d->purpose, "ETREAT");
	ck_assert_str_eq(d->patient, "pat-003");
	ck_assert_msg((d->flags & MDT_STORE_FLAG_BREAK_GLASS) &&
	    (d->flags & MDT_STORE_FLAG_REVIEW), "open flags %#x", d->flags);
	mdt_free(d);
	/* what the task reads is flagged too */
	at_allowed(&B, &O, bt_authorize(&O, root.id, root.tok, root.tlen, "r",
	    "Patient/pat-003", NULL, NULL, NULL, 0), "authorize", &tok, &tn);
	free(tok);
	at_audit_id(&O, rid, sizeof(rid));
	d = at_record(&B, rid);
	ck_assert_ptr_nonnull(d);
	ck_assert_msg(d->flags & MDT_STORE_FLAG_REVIEW, "read flags %#x",
	    d->flags);
	mdt_free(d);
	/* the same act cannot open a second task */
	at_refused(&B, &O, bt_open(&O, jwt, "pat-003", "ETREAT", SCOPES),
	    "open", "act.reused|approval.reused", "pat-003");
	/* nor a decision of anything else of the clinician's */
	at_refused(&B, &O, bt_open(&O, jwt, "pat-003", "TREAT", SCOPES),
	    "open", "act.reused|policy.deny", "pat-003");
	free(jwt);
}
END_TEST

/* The emergency act is for one patient. */
START_TEST(emergency_other_patient)
{
	char *jwt = bt_assertion_act(&B, "dr-alice", "pat-003", SCOPES, 0,
	    NULL, "ETREAT");

	at_refused(&B, &O, bt_open(&O, jwt, "pat-002", "ETREAT", SCOPES),
	    "open", "patient", "pat-002");
	free(jwt);
}
END_TEST

/* The act's single use survives a restart of the broker. */
START_TEST(emergency_act_reused_after_restart)
{
	char *jwt = bt_assertion_act(&B, "dr-alice", "pat-003", SCOPES, 0,
	    NULL, "ETREAT");
	mdt_wire_msg *m = bt_open(&O, jwt, "pat-003", "ETREAT", SCOPES);

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "emergency open: %s",
	    bt_reason(m));
	mdt_wire_msg_free(m);
	bt_close(&O);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "restart (log %s)", B.log);
	bf_as(&B, &O, BT_ORCH);
	at_refused(&B, &O, bt_open(&O, jwt, "pat-003", "ETREAT", SCOPES),
	    "open", "act.reused|approval.reused", "pat-003");
	free(jwt);
}
END_TEST

struct racer {
	struct bt_conn c;
	const char *jwt;
	pthread_barrier_t *bar;
	mdt_wire_msg *m;
};

static void *
race_open(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->bar);
	r->m = bt_open(&r->c, r->jwt, "pat-003", "ETREAT", SCOPES);
	return NULL;
}

/* Two pipes present the same emergency act at the same instant: one
 * task, one refusal on record. */
START_TEST(emergency_act_raced)
{
	char *jwt = bt_assertion_act(&B, "dr-alice", "pat-003", SCOPES, 0,
	    NULL, "ETREAT");
	struct racer r[2];
	pthread_barrier_t bar;
	pthread_t th[2];
	int ok = 0;

	ck_assert_int_eq(pthread_barrier_init(&bar, NULL, 2), 0);
	for (int i = 0; i < 2; i++) {
		bf_as(&B, &r[i].c, BT_ORCH);
		r[i].jwt = jwt;
		r[i].bar = &bar;
		r[i].m = NULL;
		ck_assert_int_eq(pthread_create(&th[i], NULL, race_open, &r[i]),
		    0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < 2; i++) {
		ck_assert_ptr_nonnull(r[i].m);
		if (mdt_wire_msg_ok(r[i].m) == 1) {
			ok++;
			mdt_wire_msg_free(r[i].m);
		} else {
			at_refused(&B, &r[i].c, r[i].m, "open",
			    "act.reused|approval.reused", "pat-003");
		}
		bt_close(&r[i].c);
	}
	ck_assert_int_eq(ok, 1);
	free(jwt);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("attack_emergency");
	TCase *tc = tcase_create("emergency");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, emergency_not_asserted);
	tcase_add_test(tc, emergency_asserted_once);
	tcase_add_test(tc, emergency_other_patient);
	tcase_add_test(tc, emergency_act_reused_after_restart);
	tcase_add_test(tc, emergency_act_raced);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}

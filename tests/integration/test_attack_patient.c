/*
 * Attack: another patient's data through a task opened for one patient.
 * The patient of a request is derived from the resource (its Patient
 * compartment), never taken from the task by default nor from a field the
 * caller may omit or choose: a request naming another patient, or naming
 * none the broker can derive, is refused as `patient`, recorded with the
 * patient the resource names, and carries no token.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

static struct bt_broker B;
static struct bt_conn O, S;
static struct bt_task Root, Sub;

static void
setup(void)
{
	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	bf_as(&B, &O, BT_ORCH);
	bf_as(&B, &S, BT_SUMM);
	bf_open_root(&B, &O, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &Root);
	bf_hand_on(&O, &S, MDT_OP_DISPATCH, &Root, "patient/*.rs", &Sub);
}

static void
teardown(void)
{
	bt_close(&O);
	bt_close(&S);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

static void
refused(struct bt_conn *c, const struct bt_task *t, const char *action,
    const char *resource, const char *patient_field,
    const char *recorded_patient)
{
	at_refused(&B, c, bt_authorize(c, t->id, t->tok, t->tlen, action,
	    resource, patient_field, NULL, NULL, 0), "authorize", "patient",
	    recorded_patient);
}

START_TEST(read_other_patient)
{
	refused(&S, &Sub, "r", "Patient/pat-002", NULL, "pat-002");
	refused(&S, &Sub, "r", "Condition/cond-002-1?subject=pat-002", NULL,
	    NULL);
	/* the orchestrator's root is held to the same rule */
	refused(&O, &Root, "r", "Patient/pat-002", NULL, "pat-002");
}
END_TEST

START_TEST(search_patient_parameter)
{
	refused(&S, &Sub, "s", "Observation?patient=pat-002", NULL, "pat-002");
	refused(&S, &Sub, "s", "Observation?patient=Patient/pat-002", NULL,
	    "pat-002");
}
END_TEST

START_TEST(search_subject_parameter)
{
	refused(&S, &Sub, "s", "Observation?subject=Patient/pat-002", NULL,
	    "pat-002");
	refused(&S, &Sub, "s", "Condition?patient=pat-002", NULL, "pat-002");
}
END_TEST

/* the caller's patient field cannot vouch for the resource */
START_TEST(claimed_patient_cannot_vouch)
{
	refused(&S, &Sub, "r", "Patient/pat-002", "pat-001", "pat-002");
	refused(&S, &Sub, "s", "Condition?subject=Patient/pat-002", "pat-001",
	    "pat-002");
}
END_TEST

/* control: the task's own patient, named by the resource */
START_TEST(own_patient_allowed)
{
	at_allowed(&B, &S, bt_authorize(&S, Sub.id, Sub.tok, Sub.tlen, "r",
	    "Patient/pat-001", NULL, NULL, NULL, 0), "authorize", NULL, NULL);
	at_allowed(&B, &S, bt_authorize(&S, Sub.id, Sub.tok, Sub.tlen, "s",
	    "Observation?subject=Patient/pat-001", NULL, NULL, NULL, 0),
	    "authorize", NULL, NULL);
	at_allowed(&B, &S, bt_authorize(&S, Sub.id, Sub.tok, Sub.tlen, "r",
	    "Observation/obs-001-1", "pat-001", NULL, NULL, 0), "authorize",
	    NULL, NULL);
}
END_TEST

START_TEST(no_patient_derivable)
{
	/* a search over every patient */
	refused(&S, &Sub, "s", "Observation", NULL, NULL);
	refused(&S, &Sub, "s", "Observation?code=1234-5", NULL, NULL);
	/* subject is not a Patient-compartment parameter of Condition */
	refused(&S, &Sub, "s", "Condition?subject=pat-002", NULL, NULL);
	/* a read by id says nothing of whose it is */
	refused(&S, &Sub, "r", "Observation/obs-9", NULL, NULL);
	/* and a patient field naming the task's patient does not make it so */
	refused(&S, &Sub, "s", "Observation", "pat-001", NULL);
}
END_TEST

/* Two patient parameters, one the task's and one not: the request is
 * not about the task's patient alone. */
START_TEST(mixed_patient_parameters)
{
	mdt_wire_msg *m = bt_authorize(&S, Sub.id, Sub.tok, Sub.tlen, "s",
	    "Observation?patient=pat-001&subject=Patient/pat-002", NULL, NULL,
	    NULL, 0);

	ck_assert_ptr_nonnull(m);
	ck_assert_msg(mdt_wire_msg_ok(m) != 1, "a search naming pat-002 "
	    "beside pat-001 was allowed");
	at_refused(&B, &S, m, "authorize", "patient|field", NULL);
	m = bt_authorize(&S, Sub.id, Sub.tok, Sub.tlen, "s",
	    "Observation?patient=pat-001&patient=pat-002", NULL, NULL, NULL, 0);
	at_refused(&B, &S, m, "authorize", "patient|field", NULL);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("attack_patient");
	TCase *tc = tcase_create("patient");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, read_other_patient);
	tcase_add_test(tc, search_patient_parameter);
	tcase_add_test(tc, search_subject_parameter);
	tcase_add_test(tc, claimed_patient_cannot_vouch);
	tcase_add_test(tc, own_patient_allowed);
	tcase_add_test(tc, no_patient_derivable);
	tcase_add_test(tc, mixed_patient_parameters);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}

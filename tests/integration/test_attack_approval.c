/*
 * Attack: an approval the clinician never gave.  A step-up is decided only
 * by a fresh act of the clinician: an assertion naming that step-up
 * (mandate_stepup), issued after it was asked, used once.  Software that
 * kept the launch assertion, an assertion for another step-up, an old one
 * or one already used cannot decide; each attempt is refused (reason
 * approval.* / act.reused), recorded, and the parked request is not
 * released.  An approval is bound to everything released, the audience
 * included.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

#define SCOPES "patient/*.rs tool/export.x"
#define OTHER_AUD "spiffe://clinic.example/other-exchange"

static struct bt_broker B;
static struct bt_conn O, P, Pw; /* Pw: the parked request's own pipe */
static struct bt_task Sub;
static char *Launch; /* the assertion the task was opened with */
static char Pol[300]; /* the broker's policy directory, a copy */

static void
setup(void)
{
	const char *args[] = { "--set", "stepup_timeout_ms=5000", "--set",
	    "audiences=" AT_EXPORT_AUD "=export " OTHER_AUD "=export",
	    "--policy-dir", Pol, NULL };
	struct bt_task root;
	mdt_wire_msg *m;

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	bf_policy_copy(&B, "pol", Pol, sizeof(Pol));
	ck_assert_msg(bt_start(&B, args) == 0, "broker (log %s)", B.log);
	bf_as(&B, &O, BT_ORCH);
	bf_as(&B, &P, BT_PRIOR);
	bf_as(&B, &Pw, BT_PRIOR);
	Launch = bt_assertion(&B, "dr-alice", "pat-001", SCOPES, 0);
	m = bt_open(&O, Launch, "pat-001", "TREAT", SCOPES);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "open: %s", bt_reason(m));
	ck_assert_int_eq(bt_task_from(&root, m, 0), 0);
	mdt_wire_msg_free(m);
	bf_hand_on(&O, &P, MDT_OP_DISPATCH, &root,
	    "patient/Claim.rs tool/export.x", &Sub);
}

static void
teardown(void)
{
	free(Launch);
	bt_close(&O);
	bt_close(&P);
	bt_close(&Pw);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

/* authorize x tool/export, with an audience when aud is not NULL. */
static mdt_wire_msg *
export_on(struct bt_conn *c, const char *aud, const char *stepup,
    int64_t wait_ms)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_AUTHORIZE);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", Sub.id) ||
	    mdt_wire_put_bin(w, "token", Sub.tok, Sub.tlen) ||
	    mdt_wire_put_cstr(w, "action", "x") ||
	    mdt_wire_put_cstr(w, "resource", "tool/export") ||
	    (aud != NULL && mdt_wire_put_cstr(w, "audience", aud)) ||
	    (stepup != NULL && mdt_wire_put_cstr(w, "stepup", stepup)) ||
	    (wait_ms > 0 && mdt_wire_put_int(w, "wait_ms", wait_ms)), 0);
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	return m;
}

static mdt_wire_msg *
export_req(const char *aud, const char *stepup, int64_t wait_ms)
{
	return export_on(&P, aud, stepup, wait_ms);
}

/* A step-up asked now (not parked); its id into id. */
static void
ask(const char *aud, char *id, size_t len)
{
	mdt_wire_msg *m = export_req(aud, NULL, 0);

	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(bt_reason(m), "step_up.required");
	ck_assert_ptr_null(bt_bin(m, "token", &(size_t){ 0 }));
	snprintf(id, len, "%s", bt_str(m, "stepup"));
	ck_assert_uint_gt(strlen(id), 0);
	mdt_wire_msg_free(m);
}

static mdt_wire_msg *
decide(mdt_wire_op op, const char *id, const char *jwt)
{
	mdt_wire_writer *w = bt_req(&O, op);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "stepup", id) ||
	    mdt_wire_put_cstr(w, "assertion", jwt), 0);
	ck_assert_int_eq(bt_call(&O, w, &m), 0);
	return m;
}

static char *
act(const char *stepup, long iat_offset)
{
	return bt_assertion_act(&B, "dr-alice", "pat-001", SCOPES, iat_offset,
	    stepup, NULL);
}

static void
approved(const char *id, const char *jwt)
{
	mdt_wire_msg *m = decide(MDT_OP_APPROVE, id, jwt);
	char rid[300];
	mdt_store_decision *d;

	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "approve: %s", bt_reason(m));
	ck_assert_str_eq(bt_str(m, "decision"), "approved");
	mdt_wire_msg_free(m);
	at_audit_id(&O, rid, sizeof(rid));
	d = at_record(&B, rid);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->verdict, MDT_STORE_ALLOW);
	ck_assert_str_eq(d->operation, "approve");
	ck_assert_str_eq(d->clinician, "dr-alice");
	mdt_free(d);
}

struct waiter {
	mdt_wire_msg *m;
};

static void *
wait_authorize(void *arg)
{
	struct waiter *w = arg;

	w->m = export_on(&Pw, NULL, NULL, 8000);
	return NULL;
}

/* Parks an authorize on a thread; its step-up id from the event. */
static void
park(pthread_t *th, struct waiter *w, char *id, size_t len)
{
	nng_socket sub;
	void *buf;
	size_t n;
	mdt_wire_msg *ev = NULL;

	ck_assert_int_eq(nng_sub0_open(&sub), 0);
	ck_assert_int_eq(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "stepup",
	    6), 0);
	nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 10000);
	ck_assert_int_eq(nng_dial(sub, B.pub, NULL, 0), 0);
	w->m = NULL;
	ck_assert_int_eq(pthread_create(th, NULL, wait_authorize, w), 0);
	for (;;) {
		ck_assert_int_eq(nng_recv(sub, &buf, &n, NNG_FLAG_ALLOC), 0);
		ck_assert_int_eq(mdt_wire_decode_event(buf, n, &ev, NULL, 0),
		    0);
		snprintf(id, len, "%s", bt_str(ev, "stepup"));
		mdt_wire_msg_free(ev);
		nng_free(buf, n);
		if (id[0] != 0)
			break;
	}
	nng_close(sub);
}

/* (a)-(c): the parked request is never released by these. */
START_TEST(approvals_nobody_gave)
{
	struct waiter w;
	pthread_t th;
	char id[64], other[64];
	char *jwt;

	park(&th, &w, id, sizeof(id));
	/* (a) the launch assertion the orchestrator opened the task with */
	at_refused(&B, &O, decide(MDT_OP_APPROVE, id, Launch), "approve",
	    "approval.*", "pat-001");
	/* (b) an assertion deciding another step-up */
	ask(NULL, other, sizeof(other));
	jwt = act(other, 0);
	at_refused(&B, &O, decide(MDT_OP_APPROVE, id, jwt), "approve",
	    "approval.*", "pat-001");
	free(jwt);
	/* (c) issued before the step-up was asked */
	jwt = act(id, -120);
	at_refused(&B, &O, decide(MDT_OP_APPROVE, id, jwt), "approve",
	    "approval.*", "pat-001");
	free(jwt);
	/* and the request itself, resent with the step-up id, is held */
	{
		mdt_wire_msg *m = export_req(NULL, id, 0);
		ck_assert_ptr_nonnull(m);
		ck_assert_int_ne(mdt_wire_msg_ok(m), 1);
		ck_assert_ptr_null(bt_bin(m, "token", &(size_t){ 0 }));
		mdt_wire_msg_free(m);
	}
	pthread_join(th, NULL);
	ck_assert_ptr_nonnull(w.m);
	ck_assert_msg(mdt_wire_msg_ok(w.m) != 1, "the parked export was "
	    "released without the clinician");
	ck_assert_str_eq(bt_reason(w.m), "step_up.timeout");
	ck_assert_ptr_null(bt_bin(w.m, "token", &(size_t){ 0 }));
	mdt_wire_msg_free(w.m);
}
END_TEST

/* (d) a fresh act approves; the same act cannot decide again. */
START_TEST(fresh_act_once)
{
	struct waiter w;
	pthread_t th;
	char id[64], other[64];
	char *jwt;

	park(&th, &w, id, sizeof(id));
	jwt = act(id, 0);
	approved(id, jwt);
	pthread_join(th, NULL);
	ck_assert_msg(mdt_wire_msg_ok(w.m) == 1, "parked: %s",
	    bt_reason(w.m));
	ck_assert_ptr_nonnull(bt_bin(w.m, "token", &(size_t){ 0 }));
	mdt_wire_msg_free(w.m);
	/* the same assertion again: for the same step-up and for another */
	at_refused(&B, &O, decide(MDT_OP_APPROVE, id, jwt), "approve",
	    "act.reused|approval.reused|step_up.unknown", "pat-001");
	at_refused(&B, &O, decide(MDT_OP_REJECT, id, jwt), "reject",
	    "act.reused|approval.reused|step_up.unknown", "pat-001");
	ask(NULL, other, sizeof(other));
	at_refused(&B, &O, decide(MDT_OP_APPROVE, other, jwt), "approve",
	    "act.reused|approval.*", "pat-001");
	free(jwt);
}
END_TEST

/* A rejection answers the parked request with a final refusal on record
 * that names what was refused: the task, the clinician, the patient, the
 * action and the resource, like the step-up it ends. */
START_TEST(rejection_on_record)
{
	struct waiter w;
	pthread_t th;
	char id[64], rid[300], fin[320];
	char *jwt;
	mdt_wire_msg *m;
	mdt_store_decision *d;

	park(&th, &w, id, sizeof(id));
	jwt = act(id, 0);
	m = decide(MDT_OP_REJECT, id, jwt);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "reject: %s", bt_reason(m));
	mdt_wire_msg_free(m);
	free(jwt);
	pthread_join(th, NULL);
	at_audit_id(&Pw, rid, sizeof(rid));
	at_refused_rid(&B, BT_PRIOR, rid, w.m, "authorize", "step_up.rejected",
	    "pat-001");
	snprintf(fin, sizeof(fin), "%s#final", rid);
	d = at_record(&B, fin);
	ck_assert_ptr_nonnull(d);
	ck_assert_msg(d->task_id != NULL && strcmp(d->task_id, Sub.id) == 0,
	    "final record's task %s", d->task_id ? d->task_id : "(null)");
	ck_assert_msg(d->clinician != NULL && strcmp(d->clinician,
	    "dr-alice") == 0, "final record's clinician");
	ck_assert_msg(d->action != NULL && strcmp(d->action, "x") == 0 &&
	    d->resource != NULL && strcmp(d->resource, "tool/export") == 0,
	    "final record's action and resource");
	mdt_free(d);
}
END_TEST

/* A parked request approved after a reload is decided under the rules in
 * force when it is released, not those of when it was parked: a reload
 * that forbids it leaves the approval nothing to release. */
START_TEST(approval_after_a_reload)
{
	struct waiter w;
	pthread_t th;
	char id[64], rid[300], path[400];
	char *jwt;
	mdt_wire_msg *m;
	FILE *f;
	int tries;

	park(&th, &w, id, sizeof(id));
	snprintf(path, sizeof(path), "%s/zz-no-priorauth.cedar", Pol);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("@id(\"no-priorauth\")\nforbid(principal == Mandate::Agent::"
	    "\"" BT_PRIOR "\", action, resource);\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(kill(B.pid, SIGHUP), 0);
	/* the reload is in force once the same request is refused outright */
	for (tries = 0; tries < 50; tries++) {
		const char *r;
		m = export_req(NULL, NULL, 0);
		r = bt_reason(m);
		if (strcmp(r, "step_up.required") != 0) {
			ck_assert_msg(strncmp(r, "policy", 6) == 0, "%s", r);
			mdt_wire_msg_free(m);
			break;
		}
		mdt_wire_msg_free(m);
		nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
	ck_assert_int_lt(tries, 50);
	jwt = act(id, 0);
	m = decide(MDT_OP_APPROVE, id, jwt);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "approve: %s", bt_reason(m));
	mdt_wire_msg_free(m);
	free(jwt);
	pthread_join(th, NULL);
	at_audit_id(&Pw, rid, sizeof(rid));
	at_refused_rid(&B, BT_PRIOR, rid, w.m, "authorize", "policy*",
	    "pat-001");
}
END_TEST

/* The same act, used for the first time on the step-up it names after
 * being shown to the broker for another: still single use. */
START_TEST(act_single_use)
{
	char a[64], b[64];
	char *jwt;

	ask(NULL, a, sizeof(a));
	ask(NULL, b, sizeof(b));
	jwt = act(a, 0);
	approved(a, jwt);
	/* the approval unlocks exactly its request, once */
	{
		mdt_wire_msg *m = export_req(NULL, a, 0);
		ck_assert_msg(mdt_wire_msg_ok(m) == 1, "redeem: %s",
		    bt_reason(m));
		mdt_wire_msg_free(m);
	}
	at_refused(&B, &P, export_req(NULL, a, 0), "authorize",
	    "step_up.*", NULL);
	at_refused(&B, &O, decide(MDT_OP_APPROVE, a, jwt), "approve",
	    "act.reused|step_up.unknown", "pat-001");
	free(jwt);
}
END_TEST

/* A decision's request id, reused for a decision of another step-up
 * with that step-up's own fresh act: refused as id.reused, and the other
 * step-up stays undecided. */
START_TEST(decision_id_reused)
{
	char a[64], b[64], rid[300];
	char *ja, *jb;
	mdt_wire_writer *w;
	mdt_wire_msg *m;
	const char *id = "approve-once";

	ask(NULL, a, sizeof(a));
	ask(NULL, b, sizeof(b));
	ja = act(a, 0);
	jb = act(b, 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_APPROVE, id, 0,
		    0), 0);
		ck_assert_int_eq(mdt_wire_put_cstr(w, "stepup", i ? b : a) ||
		    mdt_wire_put_cstr(w, "assertion", i ? jb : ja), 0);
		ck_assert_int_eq(bt_call(&O, w, &m), 0);
		if (i == 0) {
			ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s",
			    bt_reason(m));
			mdt_wire_msg_free(m);
		}
	}
	snprintf(rid, sizeof(rid), "%s#%s", BT_ORCH, id);
	at_refused_rid(&B, BT_ORCH, rid, m, "approve", "id.reused", NULL);
	/* b was not approved: its request is still held */
	m = export_req(NULL, b, 0);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_ne(mdt_wire_msg_ok(m), 1);
	ck_assert_ptr_null(bt_bin(m, "token", &(size_t){ 0 }));
	mdt_wire_msg_free(m);
	/* and its own act still decides it under a fresh id */
	approved(b, jb);
	free(ja);
	free(jb);
}
END_TEST

/* (e) an export approved for one audience, redeemed for another. */
START_TEST(approval_bound_to_audience)
{
	char id[64];
	char *jwt;

	ask(AT_EXPORT_AUD, id, sizeof(id));
	jwt = act(id, 0);
	approved(id, jwt);
	free(jwt);
	/* another export audience the broker knows */
	at_refused(&B, &P, export_req(OTHER_AUD, id, 0), "authorize",
	    "step_up.mismatch", NULL);
	/* one it does not know, and the default (gateway) audience */
	at_refused(&B, &P, export_req("spiffe://elsewhere.example/exfil", id,
	    0), "authorize", "audience.unknown|step_up.mismatch", NULL);
	at_refused(&B, &P, export_req(NULL, id, 0), "authorize",
	    "step_up.mismatch|step_up.unknown", NULL);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("attack_approval");
	TCase *tc = tcase_create("approval");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, approvals_nobody_gave);
	tcase_add_test(tc, fresh_act_once);
	tcase_add_test(tc, rejection_on_record);
	tcase_add_test(tc, approval_after_a_reload);
	tcase_add_test(tc, act_single_use);
	tcase_add_test(tc, approval_bound_to_audience);
	tcase_add_test(tc, decision_id_reused);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}

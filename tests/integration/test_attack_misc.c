/*
 * Attacks on the identities and values the broker compares against: a
 * task handed to its own holder, tasks ended or inspected by someone who
 * does not hold them, a work-queue filter naming another agent's task, a
 * request resent on the same pipe by another identity (the reply cache
 * must not hand the first identity's token to the second), ids with NUL
 * bytes or far beyond any bound, and a delegation target that only looks
 * like a registered agent.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

#define ORCH2 "spiffe://clinic.example/orchestrator2"

/* A second orchestrator whose registry entry (mis)lists itself as a
 * target. */
static const char *extra =
    "[{\"uid\":{\"type\":\"Mandate::Agent\",\"id\":\"" ORCH2 "\"},"
    "\"attrs\":{\"kind\":\"orchestrator\",\"ceiling\":[\"patient/*.cruds\","
    "\"tool/export.x\"],\"allowedTargets\":[{\"__entity\":{\"type\":"
    "\"Mandate::Agent\",\"id\":\"" ORCH2 "\"}},{\"__entity\":{\"type\":"
    "\"Mandate::Agent\",\"id\":\"" BT_SUMM "\"}}],\"maxDepth\":3,"
    "\"maxFanout\":4,\"tools\":[],\"publicKey\":\"\"},\"parents\":[]}]";

static struct bt_broker B;
static struct bt_conn O, O2, S, K;
static struct bt_task Root, Sub;

static void
setup(void)
{
	ck_assert_int_eq(bt_setup(&B, extra), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	bf_as(&B, &O, BT_ORCH);
	bf_as(&B, &O2, ORCH2);
	bf_as(&B, &S, BT_SUMM);
	bf_as(&B, &K, BT_CODER);
	bf_open_root(&B, &O, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &Root);
	bf_hand_on(&O, &S, MDT_OP_DISPATCH, &Root, "patient/*.rs", &Sub);
}

static void
teardown(void)
{
	bt_close(&O);
	bt_close(&O2);
	bt_close(&S);
	bt_close(&K);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

START_TEST(hand_task_to_self)
{
	struct bt_task r2;

	/* the orchestrator to itself (not among its targets) */
	at_refused(&B, &O, bt_delegate(&O, MDT_OP_DISPATCH, Root.id, Root.tok,
	    Root.tlen, BT_ORCH, "patient/Observation.rs"), "dispatch",
	    "target.not_allowed|cycle", "pat-001");
	/* the summarizer to itself */
	at_refused(&B, &S, bt_delegate(&S, MDT_OP_DELEGATE, Sub.id, Sub.tok,
	    Sub.tlen, BT_SUMM, "patient/Observation.rs"), "delegate",
	    "target.not_allowed|cycle|depth", "pat-001");
	/* an agent whose registry entry lists itself: still a cycle */
	bf_open_root(&B, &O2, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &r2);
	at_refused(&B, &O2, bt_delegate(&O2, MDT_OP_DISPATCH, r2.id, r2.tok,
	    r2.tlen, ORCH2, "patient/Observation.rs"), "dispatch", "cycle",
	    "pat-001");
}
END_TEST

START_TEST(lookalike_target)
{
	at_refused(&B, &O, bt_delegate(&O, MDT_OP_DISPATCH, Root.id, Root.tok,
	    Root.tlen, BT_SUMM "/", "patient/Observation.rs"), "dispatch",
	    "agent.unknown|target.not_allowed|field|agent.invalid", NULL);
	at_refused(&B, &O, bt_delegate(&O, MDT_OP_DISPATCH, Root.id, Root.tok,
	    Root.tlen, "SPIFFE://clinic.example/agent/summarizer",
	    "patient/Observation.rs"), "dispatch",
	    "agent.unknown|target.not_allowed|field|agent.invalid", NULL);
}
END_TEST

START_TEST(end_or_inspect_what_you_do_not_hold)
{
	struct bt_task r2;
	mdt_wire_writer *w;
	mdt_wire_msg *m;

	/* the coder completes the summarizer's task with its real token */
	at_refused(&B, &K, bt_end(&K, MDT_OP_COMPLETE, Sub.id, Sub.tok,
	    Sub.tlen), "complete", "token.holder", NULL);
	/* the summarizer completes the orchestrator's root */
	at_refused(&B, &S, bt_end(&S, MDT_OP_COMPLETE, Root.id, Root.tok,
	    Root.tlen), "complete", "token.holder", NULL);
	/* the coder reports a result for the summarizer's task */
	at_refused(&B, &K, bt_end(&K, MDT_OP_RESULT, Sub.id, Sub.tok,
	    Sub.tlen), "result", "token.holder", NULL);
	/* the summarizer ends the root with its own subtask's token */
	at_refused(&B, &S, bt_end(&S, MDT_OP_CANCEL, Root.id, Sub.tok,
	    Sub.tlen), "cancel", "token.task|token.holder", NULL);
	/* another orchestrator's tree */
	bf_open_root(&B, &O2, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &r2);
	w = bt_req(&O2, MDT_OP_TREE);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", Root.id), 0);
	ck_assert_int_eq(bt_call(&O2, w, &m), 0);
	ck_assert_ptr_null(mdt_wire_map_get(mdt_wire_msg_root(m), "json"));
	at_refused(&B, &O2, m, "tree", "admin.required", NULL);
	/* and the same refusal for a task that does not exist: no oracle */
	w = bt_req(&O2, MDT_OP_TREE);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", "t-0123456789abcdef"), 0);
	ck_assert_int_eq(bt_call(&O2, w, &m), 0);
	at_refused(&B, &O2, m, "tree", "admin.required", NULL);
	w = bt_req(&S, MDT_OP_TREE);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", Sub.id), 0);
	ck_assert_int_eq(bt_call(&S, w, &m), 0);
	ck_assert_ptr_null(mdt_wire_map_get(mdt_wire_msg_root(m), "json"));
	at_refused(&B, &S, m, "tree", "admin.required", NULL);
	/* the root still stands */
	at_allowed(&B, &O, bt_authorize(&O, Root.id, Root.tok, Root.tlen, "r",
	    "Patient/pat-001", NULL, NULL, NULL, 0), "authorize", NULL, NULL);
	/* an ended task's holder can do nothing more with it */
	m = bt_end(&S, MDT_OP_COMPLETE, Sub.id, Sub.tok, Sub.tlen);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", bt_reason(m));
	mdt_wire_msg_free(m);
	at_refused(&B, &S, bt_end(&S, MDT_OP_RESULT, Sub.id, Sub.tok,
	    Sub.tlen), "result", "task.ended|revoked", NULL);
	at_refused(&B, &S, bt_delegate(&S, MDT_OP_DELEGATE, Sub.id, Sub.tok,
	    Sub.tlen, BT_CODER, "patient/Condition.rs"), "delegate",
	    "task.ended|revoked", NULL);
	at_refused(&B, &S, bt_authorize(&S, Sub.id, Sub.tok, Sub.tlen, "r",
	    "Patient/pat-001", NULL, NULL, NULL, 0), "authorize",
	    "task.ended|revoked", NULL);
}
END_TEST

struct ender {
	struct bt_conn c;
	mdt_wire_op op;
	pthread_barrier_t *bar;
	mdt_wire_msg *m;
};

static void *
race_end(void *arg)
{
	struct ender *e = arg;

	pthread_barrier_wait(e->bar);
	e->m = bt_end(&e->c, e->op, Sub.id, Sub.tok, Sub.tlen);
	return NULL;
}

/* The holder ends its task from four pipes at once: one ending is on
 * record as an allow; every other one is refused, and on record as the
 * deny it was answered with, never as an allow of an end that did not
 * happen. */
START_TEST(end_raced)
{
	enum { N = 4 };
	struct ender e[N];
	pthread_barrier_t bar;
	pthread_t th[N];
	int ok = 0;

	ck_assert_int_eq(pthread_barrier_init(&bar, NULL, N), 0);
	for (int i = 0; i < N; i++) {
		bf_as(&B, &e[i].c, BT_SUMM);
		e[i].op = i % 2 ? MDT_OP_CANCEL : MDT_OP_COMPLETE;
		e[i].bar = &bar;
		e[i].m = NULL;
		ck_assert_int_eq(pthread_create(&th[i], NULL, race_end, &e[i]),
		    0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	for (int i = 0; i < N; i++) {
		const char *op = e[i].op == MDT_OP_CANCEL ? "cancel" :
		    "complete";
		ck_assert_ptr_nonnull(e[i].m);
		if (mdt_wire_msg_ok(e[i].m) == 1) {
			char rid[300];
			mdt_store_decision *d;

			ok++;
			mdt_wire_msg_free(e[i].m);
			at_audit_id(&e[i].c, rid, sizeof(rid));
			d = at_record(&B, rid);
			ck_assert_msg(d != NULL && d->verdict ==
			    MDT_STORE_ALLOW, "%s: the end is not on record", rid);
			ck_assert_str_eq(d->operation, op);
			mdt_free(d);
		} else {
			at_refused(&B, &e[i].c, e[i].m, op,
			    "task.ended|revoked", NULL);
		}
		bt_close(&e[i].c);
	}
	ck_assert_int_eq(ok, 1);
}
END_TEST

/* Whether a next reply carries a work item or result. */
static int
has_item(const mdt_wire_msg *m)
{
	const mdt_wire_val *it = mdt_wire_map_get(mdt_wire_msg_root(m),
	    "item");

	return it != NULL && mdt_wire_map_get(it, "task") != NULL;
}

/* A refusal of a request the broker could not read as one (nothing to
 * record it under): refused, no token. */
static void
refused_unread(mdt_wire_msg *m, const char *spec)
{
	ck_assert_ptr_nonnull(m);
	ck_assert_int_ne(mdt_wire_msg_ok(m), 1);
	ck_assert_msg(at_reason_is(bt_reason(m), spec), "reason %s",
	    bt_reason(m));
	ck_assert_ptr_null(bt_bin(m, "token", &(size_t){ 0 }));
	mdt_wire_msg_free(m);
}

START_TEST(next_filter_on_someone_elses_task)
{
	mdt_wire_writer *w;
	mdt_wire_msg *m;

	m = bt_end(&S, MDT_OP_COMPLETE, Sub.id, Sub.tok, Sub.tlen);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", bt_reason(m));
	mdt_wire_msg_free(m);
	/* the coder asks for the orchestrator's results */
	w = bt_req(&K, MDT_OP_NEXT);
	ck_assert_int_eq(mdt_wire_put_int(w, "wait_ms", 300) ||
	    mdt_wire_put_cstr(w, "task", Root.id), 0);
	ck_assert_int_eq(bt_call(&K, w, &m), 0);
	ck_assert_msg(!has_item(m), "the coder received an item of the "
	    "orchestrator's");
	mdt_wire_msg_free(m);
	w = bt_req(&K, MDT_OP_NEXT);
	ck_assert_int_eq(mdt_wire_put_int(w, "wait_ms", 300) ||
	    mdt_wire_put_cstr(w, "child", Sub.id), 0);
	ck_assert_int_eq(bt_call(&K, w, &m), 0);
	ck_assert(!has_item(m));
	mdt_wire_msg_free(m);
	/* the orchestrator still gets it (control) */
	w = bt_req(&O, MDT_OP_NEXT);
	ck_assert_int_eq(mdt_wire_put_int(w, "wait_ms", 3000) ||
	    mdt_wire_put_cstr(w, "task", Root.id), 0);
	ck_assert_int_eq(bt_call(&O, w, &m), 0);
	ck_assert(has_item(m));
	mdt_wire_msg_free(m);
}
END_TEST

/* The encoded authorize of Sub on the summarizer's connection. */
static void
encode_authorize(struct bt_conn *c, const uint8_t **buf, size_t *len,
    mdt_wire_writer **w)
{
	*w = bt_req(c, MDT_OP_AUTHORIZE);
	ck_assert_int_eq(mdt_wire_put_cstr(*w, "task", Sub.id) ||
	    mdt_wire_put_bin(*w, "token", Sub.tok, Sub.tlen) ||
	    mdt_wire_put_cstr(*w, "action", "r") ||
	    mdt_wire_put_cstr(*w, "resource", "Patient/pat-001"), 0);
	ck_assert_int_eq(mdt_wire_writer_finish(*w, buf, len), 0);
}

static mdt_wire_msg *
raw_call(struct bt_conn *c, const uint8_t *buf, size_t len)
{
	void *r = NULL;
	size_t rn = 0;
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(bt_raw(c, buf, len, &r, &rn), 0);
	ck_assert_int_eq(mdt_wire_decode(r, rn, &m, NULL, 0), 0);
	nng_free(r, rn);
	return m;
}

START_TEST(resend_as_another_identity)
{
	struct bt_conn x, y;
	mdt_wire_writer *w, *enc;
	const uint8_t *buf;
	size_t len;
	mdt_wire_msg *m;
	char id[64];

	/* one pipe: the summarizer asks, then the pipe becomes the coder's
	 * and sends the very same bytes */
	bf_as(&B, &x, BT_SUMM);
	encode_authorize(&x, &buf, &len, &enc);
	at_last_id(&x, id, sizeof(id));
	m = raw_call(&x, buf, len);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", bt_reason(m));
	mdt_wire_msg_free(m);
	ck_assert_int_eq(bt_auth(&x, BT_CODER, bt_key(&B, BT_CODER)), 0);
	m = raw_call(&x, buf, len);
	ck_assert_ptr_nonnull(m);
	ck_assert_msg(mdt_wire_msg_ok(m) != 1, "the coder got the "
	    "summarizer's answer");
	ck_assert_ptr_null(bt_bin(m, "token", &(size_t){ 0 }));
	{
		char rid[300];
		snprintf(rid, sizeof(rid), "%s#%s", BT_CODER, id);
		at_refused_rid(&B, BT_CODER, rid, m, "authorize",
		    "token.holder", NULL);
	}
	/* a fresh pipe that never authenticated sends the same bytes */
	ck_assert_int_eq(bt_dial(&y, B.url), 0);
	m = raw_call(&y, buf, len);
	ck_assert_ptr_nonnull(m);
	ck_assert_msg(mdt_wire_msg_ok(m) != 1, "an unauthenticated pipe got "
	    "the summarizer's answer");
	ck_assert_ptr_null(bt_bin(m, "token", &(size_t){ 0 }));
	mdt_wire_msg_free(m);
	bt_close(&y);
	/* a pipe where the hello names the summarizer but auth never came */
	ck_assert_int_eq(bt_dial(&y, B.url), 0);
	w = bt_req(&y, MDT_OP_HELLO);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "agent", BT_SUMM), 0);
	ck_assert_int_eq(bt_call(&y, w, &m), 0);
	mdt_wire_msg_free(m);
	m = raw_call(&y, buf, len);
	ck_assert_msg(mdt_wire_msg_ok(m) != 1, "hello alone got the "
	    "summarizer's answer");
	ck_assert_ptr_null(bt_bin(m, "token", &(size_t){ 0 }));
	mdt_wire_msg_free(m);
	bt_close(&y);
	mdt_wire_writer_free(enc);
	bt_close(&x);
}
END_TEST

START_TEST(ids_with_nul_and_oversized)
{
	mdt_wire_writer *w;
	mdt_wire_msg *m;
	char task[160], *big;

	/* the task id with a NUL and more after it */
	snprintf(task, sizeof(task), "%s", Sub.id);
	w = bt_req(&S, MDT_OP_AUTHORIZE);
	ck_assert_int_eq(mdt_wire_put_str(w, "task", task, strlen(task) + 1) ||
	    mdt_wire_put_bin(w, "token", Sub.tok, Sub.tlen) ||
	    mdt_wire_put_cstr(w, "action", "r") ||
	    mdt_wire_put_cstr(w, "resource", "Patient/pat-001"), 0);
	ck_assert_int_eq(bt_call(&S, w, &m), 0);
	refused_unread(m, "decode|field|task.unknown|token.task");
	w = bt_req(&S, MDT_OP_AUTHORIZE);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", Sub.id) ||
	    mdt_wire_put_bin(w, "token", Sub.tok, Sub.tlen) ||
	    mdt_wire_put_cstr(w, "action", "r") ||
	    mdt_wire_put_str(w, "resource", "Patient/pat-001\0/../pat-002",
	    27), 0);
	ck_assert_int_eq(bt_call(&S, w, &m), 0);
	refused_unread(m, "decode|field|patient");
	/* a 60 KiB task id and resource */
	big = malloc(60 * 1024 + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 60 * 1024);
	big[60 * 1024] = 0;
	m = bt_authorize(&S, big, Sub.tok, Sub.tlen, "r", "Patient/pat-001",
	    NULL, NULL, NULL, 0);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_ne(mdt_wire_msg_ok(m), 1);
	ck_assert_ptr_null(bt_bin(m, "token", &(size_t){ 0 }));
	mdt_wire_msg_free(m);
	m = bt_authorize(&S, Sub.id, Sub.tok, Sub.tlen, "r", big, NULL, NULL,
	    NULL, 0);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_ne(mdt_wire_msg_ok(m), 1);
	ck_assert_ptr_null(bt_bin(m, "token", &(size_t){ 0 }));
	mdt_wire_msg_free(m);
	free(big);
	/* two request ids of the longest length, differing in the last
	 * byte: two requests, neither mistaken for a reuse of the other */
	for (int i = 0; i < 2; i++) {
		char id[MDT_WIRE_ID_MAX + 1], rid[400];
		mdt_store_decision *d;
		memset(id, 'q', MDT_WIRE_ID_MAX);
		id[MDT_WIRE_ID_MAX - 1] = (char)('1' + i);
		id[MDT_WIRE_ID_MAX] = 0;
		ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_AUTHORIZE, id,
		    0, 0), 0);
		ck_assert_int_eq(mdt_wire_put_cstr(w, "task", Sub.id) ||
		    mdt_wire_put_bin(w, "token", Sub.tok, Sub.tlen) ||
		    mdt_wire_put_cstr(w, "action", "r") ||
		    mdt_wire_put_cstr(w, "resource", i ? "Patient/pat-001" :
		    "Condition/cond-001-1?patient=pat-001"), 0);
		ck_assert_int_eq(bt_call(&S, w, &m), 0);
		snprintf(rid, sizeof(rid), "%s#%s", BT_SUMM, id);
		d = at_record(&B, rid);
		ck_assert_msg(d != NULL, "no record under %s", rid);
		ck_assert_str_eq(d->resource, i ? "Patient/pat-001" :
		    "Condition/cond-001-1?patient=pat-001");
		ck_assert_int_eq(d->verdict, mdt_wire_msg_ok(m) == 1 ?
		    MDT_STORE_ALLOW : MDT_STORE_DENY);
		ck_assert_str_ne(bt_reason(m), "id.reused");
		mdt_free(d);
		mdt_wire_msg_free(m);
	}
	/* the broker still answers (control) */
	at_allowed(&B, &S, bt_authorize(&S, Sub.id, Sub.tok, Sub.tlen, "r",
	    "Patient/pat-001", NULL, NULL, NULL, 0), "authorize", NULL, NULL);
}
END_TEST

int
main(void)
{
	Suite *su = suite_create("attack_misc");
	TCase *tc = tcase_create("misc");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, hand_task_to_self);
	tcase_add_test(tc, lookalike_target);
	tcase_add_test(tc, end_or_inspect_what_you_do_not_hold);
	tcase_add_test(tc, end_raced);
	tcase_add_test(tc, next_filter_on_someone_elses_task);
	tcase_add_test(tc, resend_as_another_identity);
	tcase_add_test(tc, ids_with_nul_and_oversized);
	suite_add_tcase(su, tc);
	return mdt_test_run(su);
}

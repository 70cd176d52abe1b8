/*
 * mandated at the wire: unauthenticated and forged requests, malformed,
 * truncated and oversize messages (each answered with a clear error
 * while the broker keeps serving others), and resent requests answered
 * identically without being applied twice.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "brk_test.h"
#include "testutil.h"

static struct bt_broker B;

static void
setup(void)
{
	/* an admin, to ask the broker's status */
	const char *args[] = { "--set", "admins=" BT_PRIOR, NULL };

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, args) == 0, "broker did not start (log %s)",
	    B.log);
}

static void
teardown(void)
{
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

/* Sends raw bytes, expects an error reply with this reason. */
static void
raw_refused(struct bt_conn *c, const void *buf, size_t len,
    const char *reason)
{
	void *r = NULL;
	size_t rn = 0;
	mdt_wire_msg *m = NULL;
	char err[256];

	ck_assert_int_eq(bt_raw(c, buf, len, &r, &rn), 0);
	ck_assert_int_eq(mdt_wire_decode(r, rn, &m, err, sizeof(err)), 0);
	nng_free(r, rn);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 0);
	ck_assert_msg(strcmp(bt_reason(m), reason) == 0, "expected %s, got %s",
	    reason, bt_reason(m));
	mdt_wire_msg_free(m);
}

/* A healthy client still gets served. */
static void
still_serving(void)
{
	struct bt_conn c;

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_auth(&c, BT_SUMM, bt_key(&B, BT_SUMM)), 0);
	bt_close(&c);
}

START_TEST(malformed_truncated_oversize)
{
	struct bt_conn c;
	static const char trunc[] = "\x83\xa1v\x01\xa2op\xa4next\xa2id\xa1";
	static const char flt[] = "\x84\xa1v\x01\xa2op\xa4next\xa2id\xa1"
	    "1\xa1" "f\xcb" "12345678";
	static const char ver[] = "\x83\xa1v\x07\xa2op\xa4next\xa2id\xa1" "1";
	static const char nop[] = "\x83\xa1v\x01\xa2op\xa4nope\xa2id\xa1" "1";
	size_t big = (size_t)MDT_WIRE_MSG_MAX + 4096;
	char *huge = malloc(big);

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	raw_refused(&c, "garbage!", 8, "decode");
	raw_refused(&c, trunc, sizeof(trunc) - 1, "decode");
	raw_refused(&c, flt, sizeof(flt) - 1, "decode");
	raw_refused(&c, ver, sizeof(ver) - 1, "version");
	raw_refused(&c, nop, sizeof(nop) - 1, "op");
	memset(huge, 0x91, big);
	raw_refused(&c, huge, big, "toobig");
	free(huge);
	still_serving();
	/* the same connection is still usable too */
	ck_assert_int_eq(bt_auth(&c, BT_ORCH, bt_key(&B, BT_ORCH)), 0);
	bt_close(&c);
}
END_TEST

START_TEST(unauthenticated_and_forged)
{
	struct bt_conn c, d;
	mdt_wire_msg *m;
	mdt_wire_writer *w;
	uint8_t sig[MDT_KEY_SIG_BYTES] = { 0 };

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	m = bt_next(&c, 0);
	ck_assert_str_eq(bt_reason(m), "auth.required");
	mdt_wire_msg_free(m);
	/* signed with another agent's key */
	ck_assert_int_eq(bt_auth(&c, BT_ORCH, bt_key(&B, BT_SUMM)),
	    -MDT_EAUTH);
	m = bt_next(&c, 0);
	ck_assert_str_eq(bt_reason(m), "auth.required");
	mdt_wire_msg_free(m);
	/* auth without a challenge */
	w = bt_req(&c, MDT_OP_AUTH);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "agent", BT_ORCH) ||
	    mdt_wire_put_bin(w, "sig", sig, sizeof(sig)), 0);
	ck_assert_int_eq(bt_call(&c, w, &m), 0);
	ck_assert_str_eq(bt_reason(m), "auth.failed");
	mdt_wire_msg_free(m);
	/* an unknown agent */
	ck_assert_int_eq(bt_auth(&c, "spiffe://clinic.example/agent/nobody",
	    bt_key(&B, BT_ORCH)), -MDT_EAUTH);
	/* a session is bound to its connection, not to the socket file */
	ck_assert_int_eq(bt_auth(&c, BT_ORCH, bt_key(&B, BT_ORCH)), 0);
	ck_assert_int_eq(bt_dial(&d, B.url), 0);
	m = bt_next(&d, 0);
	ck_assert_str_eq(bt_reason(m), "auth.required");
	mdt_wire_msg_free(m);
	m = bt_next(&c, 0);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
	mdt_wire_msg_free(m);
	bt_close(&c);
	bt_close(&d);
}
END_TEST

START_TEST(forged_and_tampered_tokens)
{
	struct bt_conn o;
	struct bt_task t;
	char *jwt = bt_assertion(&B, "dr-alice", "pat-001", "patient/*.rs", 0);
	mdt_wire_msg *m;

	ck_assert_int_eq(bt_dial(&o, B.url), 0);
	ck_assert_int_eq(bt_auth(&o, BT_ORCH, bt_key(&B, BT_ORCH)), 0);
	m = bt_open(&o, jwt, "pat-001", "TREAT", "patient/*.rs");
	ck_assert_int_eq(bt_task_from(&t, m, 0), 0);
	mdt_wire_msg_free(m);
	t.tok[t.tlen / 2] ^= 0x01;
	m = bt_authorize(&o, t.id, t.tok, t.tlen, "r", "Condition/c-1", "pat-001", NULL,
	    NULL, 0);
	ck_assert_msg(strncmp(bt_reason(m), "token", 5) == 0, "%s",
	    bt_reason(m));
	mdt_wire_msg_free(m);
	t.tok[t.tlen / 2] ^= 0x01;
	/* a forged assertion */
	jwt[strlen(jwt) - 3] ^= 0x02;
	m = bt_open(&o, jwt, "pat-001", "TREAT", "patient/*.rs");
	ck_assert_str_eq(bt_reason(m), "assertion");
	mdt_wire_msg_free(m);
	/* a token of one task presented for another */
	m = bt_authorize(&o, "t-not-this-one", t.tok, t.tlen, "r",
	    "Condition/c-1", "pat-001", NULL, NULL, 0);
	ck_assert_str_eq(bt_reason(m), "task.unknown");
	mdt_wire_msg_free(m);
	free(jwt);
	bt_close(&o);
}
END_TEST

START_TEST(resent_requests_answered_identically)
{
	struct bt_conn o, s;
	struct bt_task root;
	char *jwt = bt_assertion(&B, "dr-alice", "pat-001", "patient/*.rs", 0);
	mdt_wire_writer *w;
	const uint8_t *req;
	size_t rlen, n1, n2;
	void *r1, *r2;
	mdt_wire_msg *m;
	uint8_t *copy;

	ck_assert_int_eq(bt_dial(&o, B.url), 0);
	ck_assert_int_eq(bt_auth(&o, BT_ORCH, bt_key(&B, BT_ORCH)), 0);
	ck_assert_int_eq(bt_dial(&s, B.url), 0);
	ck_assert_int_eq(bt_auth(&s, BT_SUMM, bt_key(&B, BT_SUMM)), 0);
	m = bt_open(&o, jwt, "pat-001", "TREAT", "patient/*.rs");
	ck_assert_int_eq(bt_task_from(&root, m, 0), 0);
	mdt_wire_msg_free(m);
	/* the same dispatch sent twice: one subtask, the same answer */
	w = bt_req(&o, MDT_OP_DISPATCH);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", root.id) ||
	    mdt_wire_put_bin(w, "token", root.tok, root.tlen) ||
	    mdt_wire_put_cstr(w, "to", BT_SUMM) ||
	    mdt_wire_put_cstr(w, "scopes", "patient/Condition.rs"), 0);
	ck_assert_int_eq(mdt_wire_writer_finish(w, &req, &rlen), 0);
	copy = malloc(rlen);
	memcpy(copy, req, rlen);
	ck_assert_int_eq(bt_raw(&o, copy, rlen, &r1, &n1), 0);
	ck_assert_int_eq(bt_raw(&o, copy, rlen, &r2, &n2), 0);
	ck_assert_uint_eq(n1, n2);
	ck_assert_mem_eq(r1, r2, n1);
	nng_free(r1, n1);
	nng_free(r2, n2);
	m = bt_next(&s, 2000);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
	ck_assert_int_eq(mdt_wire_val_type(mdt_wire_map_get(
	    mdt_wire_msg_root(m), "item")), MDT_WIRE_MAP);
	mdt_wire_msg_free(m);
	m = bt_next(&s, 300);
	ck_assert_int_eq(mdt_wire_val_type(mdt_wire_map_get(
	    mdt_wire_msg_root(m), "item")), MDT_WIRE_NIL);
	mdt_wire_msg_free(m);
	/* the same id with other content is refused */
	copy[rlen - 2] ^= 0x01;
	ck_assert_int_eq(bt_raw(&o, copy, rlen, &r1, &n1), 0);
	ck_assert_int_eq(mdt_wire_decode(r1, n1, &m, NULL, 0), 0);
	ck_assert_str_eq(bt_reason(m), "id.reused");
	mdt_wire_msg_free(m);
	nng_free(r1, n1);
	free(copy);
	mdt_wire_writer_free(w);
	free(jwt);
	bt_close(&o);
	bt_close(&s);
}
END_TEST

#define PIPELINED 16
#define PIPELINED_ROUNDS 40

/* An authorize of a task that does not exist, under c's next id, as a
 * message to send on a context of c's socket. */
static nng_msg *
bogus_authorize(struct bt_conn *c)
{
	static const uint8_t tok[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	mdt_wire_writer *w = bt_req(c, MDT_OP_AUTHORIZE);
	const uint8_t *b;
	size_t n;
	nng_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", "task-none") ||
	    mdt_wire_put_bin(w, "token", tok, sizeof(tok)) ||
	    mdt_wire_put_cstr(w, "action", "r") ||
	    mdt_wire_put_cstr(w, "resource", "Observation/obs-001-1") ||
	    mdt_wire_writer_finish(w, &b, &n), 0);
	ck_assert_int_eq(nng_msg_alloc(&m, 0), 0);
	ck_assert_int_eq(nng_msg_append(m, b, n), 0);
	mdt_wire_writer_free(w);
	return m;
}

/* The reply on ctx (through aio): 0 when it is a refusal. */
static int
ctx_refused(nng_ctx ctx, nng_aio *aio)
{
	mdt_wire_msg *m = NULL;
	nng_msg *r;
	char err[256];
	int ok;

	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	if (nng_aio_result(aio) != 0)
		return -1;
	r = nng_aio_get_msg(aio);
	ok = mdt_wire_decode(nng_msg_body(r), nng_msg_len(r), &m, err,
	    sizeof(err)) == 0 && mdt_wire_msg_ok(m) == 0 &&
	    bt_reason(m)[0] != 0;
	mdt_wire_msg_free(m);
	nng_msg_free(r);
	return ok ? 0 : -1;
}

/* The broker's in_flight count (contexts not receiving), asked by an
 * admin; the status request itself is one of them. */
static long long
in_flight(struct bt_conn *admin)
{
	mdt_wire_writer *w = bt_req(admin, MDT_OP_STATUS);
	mdt_wire_msg *m = NULL;
	const char *text = NULL;
	char err[256];
	json_t *j;
	long long n = -1;

	ck_assert_int_eq(bt_call(admin, w, &m), 0);
	ck_assert_int_eq(mdt_wire_get_str(mdt_wire_msg_root(m), "json", 65536,
	    &text, err, sizeof(err)), 0);
	j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	n = json_integer_value(json_object_get(j, "in_flight"));
	json_decref(j);
	mdt_wire_msg_free(m);
	return n;
}

/*
 * Many recorded requests at once on one connection: the answers of one
 * commit batch leave back to back, so most queue behind another on the
 * pipe, and each context is recycled only once its answer has left.
 * More requests than the broker has contexts (256 in the tests) would
 * hang if a queued answer's context were never recycled.
 */
START_TEST(pipelined_replies_recycle_contexts)
{
	struct bt_conn c, a;
	nng_ctx ctx[PIPELINED];
	nng_aio *aio[PIPELINED];
	long long n = -1;

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	ck_assert_int_eq(bt_auth(&c, BT_SUMM, bt_key(&B, BT_SUMM)), 0);
	for (int i = 0; i < PIPELINED; i++) {
		ck_assert_int_eq(nng_ctx_open(&ctx[i], c.s), 0);
		ck_assert_int_eq(nng_aio_alloc(&aio[i], NULL, NULL), 0);
		nng_aio_set_timeout(aio[i], 30000);
	}
	for (int r = 0; r < PIPELINED_ROUNDS; r++) {
		for (int i = 0; i < PIPELINED; i++) {
			nng_aio_set_msg(aio[i], bogus_authorize(&c));
			nng_ctx_send(ctx[i], aio[i]);
		}
		for (int i = 0; i < PIPELINED; i++) {
			nng_aio_wait(aio[i]);
			ck_assert_int_eq(nng_aio_result(aio[i]), 0);
		}
		for (int i = 0; i < PIPELINED; i++)
			ck_assert_msg(ctx_refused(ctx[i], aio[i]) == 0,
			    "round %d request %d: no refusal", r, i);
	}
	for (int i = 0; i < PIPELINED; i++) {
		nng_aio_free(aio[i]);
		nng_ctx_close(ctx[i]);
	}
	bt_close(&c);
	/* every context is back to receiving once its answer has left */
	ck_assert_int_eq(bt_dial(&a, B.url), 0);
	ck_assert_int_eq(bt_auth(&a, BT_PRIOR, bt_key(&B, BT_PRIOR)), 0);
	for (int i = 0; i < 200 && (n = in_flight(&a)) != 1; i++)
		nng_msleep(50);
	ck_assert_msg(n == 1, "%lld contexts still in flight", n);
	bt_close(&a);
	still_serving();
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_wire");
	TCase *tc = tcase_create("wire");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, malformed_truncated_oversize);
	tcase_add_test(tc, unauthenticated_and_forged);
	tcase_add_test(tc, forged_and_tampered_tokens);
	tcase_add_test(tc, resent_requests_answered_identically);
	tcase_add_test(tc, pipelined_replies_recycle_contexts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}

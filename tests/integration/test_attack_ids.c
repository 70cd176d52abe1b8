/*
 * Attack: request ids that spell the broker's own audit ids.  A decision
 * is recorded under "AGENT#ID", and a second decision of the same request
 * under "AGENT#ID#SUFFIX" (the refusal of a reused id, the final answer
 * of a step-up).  An id containing '#' could take such a record's place
 * in advance, so that the later refusal finds its id taken and is
 * answered with nothing of it on record.  Request ids are printable ASCII
 * without '#': the decoder refuses them, and the writer will not make
 * them.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <nng/nng.h>
#include <sodium.h>

#include <mandate/wire.h>

#include "attack.h"
#include "brk_flow.h"
#include "testutil.h"

static struct bt_broker B;
static struct bt_conn O;
static struct bt_task Root;

static void
setup(void)
{
	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	ck_assert_msg(bt_start(&B, NULL) == 0, "broker (log %s)", B.log);
	bf_as(&B, &O, BT_ORCH);
	bf_open_root(&B, &O, "dr-alice", "pat-001", "TREAT", "patient/*.rs",
	    &Root);
}

static void
teardown(void)
{
	bt_close(&O);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}

/* The bytes of an authorize of resource on Root under id (caller frees
 * the writer); NULL when the writer refuses the id. */
static mdt_wire_writer *
authz(const char *id, const char *resource)
{
	mdt_wire_writer *w = NULL;

	if (mdt_wire_writer_new(&w, MDT_OP_AUTHORIZE, id, 0, 0) != 0)
		return NULL;
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", Root.id) ||
	    mdt_wire_put_bin(w, "token", Root.tok, Root.tlen) ||
	    mdt_wire_put_cstr(w, "action", "r") ||
	    mdt_wire_put_cstr(w, "resource", resource), 0);
	return w;
}

/* Sends raw bytes and decodes the reply. */
static mdt_wire_msg *
send_raw(const uint8_t *b, size_t n)
{
	void *r = NULL;
	size_t rn = 0;
	mdt_wire_msg *m = NULL;
	char err[256];

	ck_assert_int_eq(bt_raw(&O, b, n, &r, &rn), 0);
	ck_assert_msg(mdt_wire_decode(r, rn, &m, err, sizeof(err)) == 0, "%s",
	    err);
	nng_free(r, rn);
	return m;
}

START_TEST(id_taking_a_refusals_record)
{
	mdt_wire_writer *wb = authz("probe-1", "Observation/obs-1");
	const uint8_t *b;
	size_t n;
	uint8_t h[32];
	char hx[17], id[80], rid[300];
	mdt_wire_msg *m;

	/* the refusal of "probe-1" reused for B would be recorded under
	 * "AGENT#probe-1#reused.<the first 8 bytes of B's hash>" */
	ck_assert_ptr_nonnull(wb);
	ck_assert_int_eq(mdt_wire_writer_finish(wb, &b, &n), 0);
	crypto_generichash(h, sizeof(h), b, n, NULL, 0);
	sodium_bin2hex(hx, sizeof(hx), h, 8);
	snprintf(id, sizeof(id), "probe-1#reused.%s", hx);
	/* an id spelling that record, sent first where the writer makes it */
	{
		mdt_wire_writer *wt = authz(id, "Patient/pat-001");
		const uint8_t *t;
		size_t tn;

		if (wt != NULL) {
			ck_assert_int_eq(mdt_wire_writer_finish(wt, &t, &tn), 0);
			mdt_wire_msg_free(send_raw(t, tn));
			mdt_wire_writer_free(wt);
		}
	}
	/* the reuse itself: "probe-1" for A, then for B, refused and on
	 * record */
	{
		mdt_wire_writer *wa = authz("probe-1", "Patient/pat-001");
		const uint8_t *a;
		size_t an;

		ck_assert_int_eq(mdt_wire_writer_finish(wa, &a, &an), 0);
		m = send_raw(a, an);
		ck_assert_msg(mdt_wire_msg_ok(m) == 1, "A: %s", bt_reason(m));
		mdt_wire_msg_free(m);
		mdt_wire_writer_free(wa);
	}
	m = send_raw(b, n);
	snprintf(rid, sizeof(rid), "%s#probe-1", O.agent);
	at_refused_rid(&B, O.agent, rid, m, "authorize", "id.reused", NULL);
	mdt_wire_writer_free(wb);
}
END_TEST

/* The decoder refuses an id with '#'; the writer will not make one. */
START_TEST(hash_sign_in_an_id)
{
	mdt_wire_writer *w = NULL;
	uint8_t raw[64];
	size_t k = 0;
	mdt_wire_msg *m;

	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_NEXT, "a#b", 0, 0),
	    -MDT_EINVAL);
	/* by hand: {v:1, op:"next", id:"a#b"} */
	raw[k++] = 0x83;
	raw[k++] = 0xa1; raw[k++] = 'v'; raw[k++] = 0x01;
	raw[k++] = 0xa2; raw[k++] = 'o'; raw[k++] = 'p';
	raw[k++] = 0xa4; memcpy(raw + k, "next", 4); k += 4;
	raw[k++] = 0xa2; raw[k++] = 'i'; raw[k++] = 'd';
	raw[k++] = 0xa3; memcpy(raw + k, "a#b", 3); k += 3;
	ck_assert_int_eq(mdt_wire_decode(raw, k, &m, NULL, 0), -MDT_EPROTO);
	m = send_raw(raw, k);
	ck_assert_int_ne(mdt_wire_msg_ok(m), 1);
	ck_assert_str_eq(bt_reason(m), "field");
	mdt_wire_msg_free(m);
	/* the same id without it is a request id */
	raw[k - 2] = '-';
	m = send_raw(raw, k);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
	ck_assert_str_eq(mdt_wire_msg_id(m), "a-b");
	mdt_wire_msg_free(m);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("attack_ids");
	TCase *tc = tcase_create("ids");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, id_taking_a_refusals_record);
	tcase_add_test(tc, hash_sign_in_an_id);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

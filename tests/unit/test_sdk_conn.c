/*
 * The SDK's connection engine against a scripted in-process broker (a
 * rep0 socket speaking the wire protocol): challenge-response
 * authentication, refusal of a wrong key, re-authentication after the
 * broker goes away and comes back on the same address, results held in
 * the mailbox while waiting for work, and mdt_agent_stop waking a waiter.
 * The real broker is exercised by tests/integration/test_sdk_*.c.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>
#include <sodium.h>

#include "sdk_int.h"
#include "testutil.h"

#define AGENT_ID "spiffe://test.example/agent/a"
#define MAX_PIPES 64

typedef struct fake {
	char url[256];
	nng_socket sock;
	pthread_t thread;
	atomic_int stop;
	mdt_pubkey agent_pk;
	uint32_t authed[MAX_PIPES];   /* authenticated pipe ids */
	size_t nauthed;
	uint8_t chal[32];
	atomic_int hellos, auths, refused, nexts;
	atomic_int queue_result;      /* next: send a result item first */
	atomic_int swallow_next;      /* next: never answer */
} fake;

static int
pipe_authed(fake *f, uint32_t id)
{
	for (size_t i = 0; i < f->nauthed; i++)
		if (f->authed[i] == id)
			return 1;
	return 0;
}

static void
send_writer(fake *f, mdt_wire_writer *w)
{
	const uint8_t *buf;
	nng_msg *msg;
	size_t len;

	ck_assert_int_eq(mdt_wire_writer_finish(w, &buf, &len), 0);
	ck_assert_int_eq(nng_msg_alloc(&msg, 0), 0);
	ck_assert_int_eq(nng_msg_append(msg, buf, len), 0);
	ck_assert_int_eq(nng_sendmsg(f->sock, msg, 0), 0);
	mdt_wire_writer_free(w);
}

static mdt_wire_writer *
reply_new(const mdt_wire_msg *m, int ok)
{
	mdt_wire_writer *w;

	ck_assert_int_eq(mdt_wire_writer_new(&w, mdt_wire_msg_op(m),
	    mdt_wire_msg_id(m), 1, ok), 0);
	return w;
}

static void
on_hello(fake *f, const mdt_wire_msg *m)
{
	mdt_wire_writer *w = reply_new(m, 1);

	atomic_fetch_add(&f->hellos, 1);
	randombytes_buf(f->chal, sizeof(f->chal));
	ck_assert_int_eq(mdt_wire_put_bin(w, "challenge", f->chal,
	    sizeof(f->chal)), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "broker", "spiffe://fake"), 0);
	send_writer(f, w);
}

static void
on_auth(fake *f, const mdt_wire_msg *m, uint32_t pipe)
{
	const uint8_t *sig;
	size_t n;
	int ok;

	atomic_fetch_add(&f->auths, 1);
	ck_assert_int_eq(mdt_wire_get_bin(mdt_wire_msg_root(m), "sig", 64, &sig,
	    &n, NULL, 0), 0);
	ok = n == 64 && mdt_key_verify(&f->agent_pk, MDT_WIRE_AUTH_DOMAIN,
	    f->chal, sizeof(f->chal), sig) == 0;
	if (ok && f->nauthed < MAX_PIPES)
		f->authed[f->nauthed++] = pipe;
	mdt_wire_writer *w = reply_new(m, ok);
	if (!ok)
		ck_assert_int_eq(mdt_wire_put_error(w, -MDT_EAUTH,
		    "auth.failed", "bad signature"), 0);
	send_writer(f, w);
}

static void
put_result_item(mdt_wire_writer *w)
{
	ck_assert_int_eq(mdt_wire_begin_map(w, "item", 6), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "kind", "result"), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", "child-1"), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "parent", "root-1"), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "from", AGENT_ID), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "status", "completed"), 0);
	ck_assert_int_eq(mdt_wire_put_bin(w, "payload", "42", 2), 0);
	ck_assert_int_eq(mdt_wire_end(w), 0);
}

static void
put_task_item(mdt_wire_writer *w)
{
	ck_assert_int_eq(mdt_wire_begin_map(w, "item", 13), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "kind", "task"), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", "task-7"), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "parent", "root-1"), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "from", "spiffe://o"), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "op", "dispatch"), 0);
	ck_assert_int_eq(mdt_wire_put_bin(w, "token", "tok", 3), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "scopes", "patient/*.rs"), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "patient", "pat-001"), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "purpose", "TREAT"), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "clinician", "dr-alice"), 0);
	ck_assert_int_eq(mdt_wire_put_int(w, "depth", 1), 0);
	ck_assert_int_eq(mdt_wire_put_int(w, "expires", 2000000000), 0);
	ck_assert_int_eq(mdt_wire_put_bin(w, "payload", "do it", 5), 0);
	ck_assert_int_eq(mdt_wire_end(w), 0);
}

static void
on_next(fake *f, const mdt_wire_msg *m)
{
	mdt_wire_writer *w;

	atomic_fetch_add(&f->nexts, 1);
	if (atomic_load(&f->swallow_next))
		return; /* never answered: the client must time out or stop */
	w = reply_new(m, 1);
	if (atomic_exchange(&f->queue_result, 0))
		put_result_item(w);
	else
		put_task_item(w);
	send_writer(f, w);
}

static void
serve_one(fake *f, nng_msg *msg)
{
	uint32_t pipe = nng_pipe_id(nng_msg_get_pipe(msg));
	mdt_wire_msg *m;
	mdt_wire_writer *w;

	ck_assert_int_eq(mdt_wire_decode(nng_msg_body(msg), nng_msg_len(msg),
	    &m, NULL, 0), 0);
	if (mdt_wire_msg_op(m) == MDT_OP_HELLO) {
		on_hello(f, m);
	} else if (mdt_wire_msg_op(m) == MDT_OP_AUTH) {
		on_auth(f, m, pipe);
	} else if (!pipe_authed(f, pipe)) {
		atomic_fetch_add(&f->refused, 1);
		w = reply_new(m, 0);
		ck_assert_int_eq(mdt_wire_put_error(w, -MDT_EAUTH,
		    "auth.required", "authenticate first"), 0);
		send_writer(f, w);
	} else if (mdt_wire_msg_op(m) == MDT_OP_NEXT) {
		on_next(f, m);
	}
	mdt_wire_msg_free(m);
}

static void *
fake_main(void *arg)
{
	fake *f = arg;

	while (!atomic_load(&f->stop)) {
		nng_msg *msg;
		if (nng_recvmsg(f->sock, &msg, 0) != 0)
			continue;
		serve_one(f, msg);
		nng_msg_free(msg);
	}
	return NULL;
}

static void
fake_start(fake *f)
{
	ck_assert_int_eq(nng_rep0_open(&f->sock), 0);
	ck_assert_int_eq(nng_socket_set_ms(f->sock, NNG_OPT_RECVTIMEO, 50), 0);
	ck_assert_int_eq(nng_listen(f->sock, f->url, NULL, 0), 0);
	atomic_store(&f->stop, 0);
	f->nauthed = 0;
	ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void
fake_stop(fake *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->thread, NULL);
	nng_close(f->sock);
}

static fake F;
static mdt_keypair *KP;

static void
setup(void)
{
	memset(&F, 0, sizeof(F));
	snprintf(F.url, sizeof(F.url), "ipc:///tmp/mdt-test-conn-%d.sock",
	    (int)getpid());
	ck_assert_int_eq(mdt_keypair_generate(&KP), 0);
	mdt_keypair_public(KP, &F.agent_pk);
	fake_start(&F);
}

static void
teardown(void)
{
	fake_stop(&F);
	mdt_keypair_free(KP);
}

static mdt_agent *
connect_ok(void)
{
	mdt_agent_opts o = {.url = F.url, .spiffe_id = AGENT_ID, .key = KP,
	    .timeout_ms = 3000, .retry_ms = 20};
	char err[MDT_ERRMSG_MAX];
	mdt_agent *a = NULL;
	int rv = mdt_agent_connect(&o, &a, err, sizeof(err));

	ck_assert_msg(rv == 0, "connect: %s", err);
	return a;
}

START_TEST(test_connect_authenticates)
{
	mdt_agent *a = connect_ok();

	ck_assert_int_eq(atomic_load(&F.hellos), 1);
	ck_assert_int_eq(atomic_load(&F.auths), 1);
	ck_assert_str_eq(mdt_agent_spiffe_id(a), AGENT_ID);
	ck_assert_uint_eq(mdt_agent_reconnects(a), 0);
	mdt_agent_close(a);
}
END_TEST

START_TEST(test_wrong_key_refused)
{
	mdt_keypair *other;
	mdt_agent *a = NULL;
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_keypair_generate(&other), 0);
	mdt_agent_opts o = {.url = F.url, .spiffe_id = AGENT_ID, .key = other,
	    .timeout_ms = 2000, .retry_ms = 20};
	ck_assert_int_eq(mdt_agent_connect(&o, &a, err, sizeof(err)),
	    -MDT_EAUTH);
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(strstr(err, "auth.failed"));
	mdt_keypair_free(other);
}
END_TEST

/* An invalid own id or dispatch target is refused here, before sending. */
START_TEST(test_bad_ids_refused_locally)
{
	static const char *const bad[] = {
		AGENT_ID "?q", AGENT_ID "#f", AGENT_ID "/",
		"spiffe://test.example:1/agent/a", "spiffe://u@test.example/agent/a",
		"spiffe://test.example/agent/../a", "spiffe://test.example/%2e/a",
		"spiffe://test.example/agent//a", "spiffe://Test.example/agent/a",
		"SPIFFE://test.example/agent/a", "",
	};
	char err[MDT_ERRMSG_MAX], child[MDT_AGENT_ID_MAX];
	mdt_agent *a = NULL;
	mdt_task *t = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mdt_agent_opts o = {.url = F.url, .spiffe_id = bad[i],
		    .key = KP, .timeout_ms = 2000, .retry_ms = 20};
		ck_assert_int_eq(mdt_agent_connect(&o, &a, err, sizeof(err)),
		    -MDT_EINVAL);
		ck_assert_ptr_null(a);
		ck_assert_msg(strstr(err, "spiffe_id: not a valid SPIFFE id") !=
		    NULL, "%s", err);
	}
	ck_assert_int_eq(atomic_load(&F.hellos), 0);
	a = connect_ok();
	ck_assert_int_eq(mdt_agent_next(a, 1000, &t, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(mdt_task_dispatch(t, bad[i], "patient/*.rs",
		    NULL, 0, child, err, sizeof(err)), -MDT_EINVAL);
		ck_assert_msg(strstr(err, "dispatch: target: not a valid SPIFFE "
		    "id") != NULL, "%s", err);
	}
	mdt_task_free(t);
	mdt_agent_close(a);
}
END_TEST

START_TEST(test_work_item)
{
	mdt_agent *a = connect_ok();
	char err[MDT_ERRMSG_MAX];
	mdt_task *t = NULL;
	size_t len;

	ck_assert_int_eq(mdt_agent_next(a, 1000, &t, err, sizeof(err)), 0);
	ck_assert_str_eq(mdt_task_id(t), "task-7");
	ck_assert_str_eq(mdt_task_parent(t), "root-1");
	ck_assert_str_eq(mdt_task_patient(t), "pat-001");
	ck_assert_str_eq(mdt_task_scopes(t), "patient/*.rs");
	ck_assert_uint_eq(mdt_task_depth(t), 1);
	ck_assert_int_eq(memcmp(mdt_task_payload(t, &len), "do it", 5), 0);
	ck_assert_uint_eq(len, 5);
	mdt_task_free(t);
	mdt_agent_close(a);
}
END_TEST

START_TEST(test_result_kept_in_mailbox)
{
	mdt_agent *a = connect_ok();
	char err[MDT_ERRMSG_MAX];
	mdt_task *t = NULL;
	uint8_t *res = NULL;
	size_t len = 0;
	int nexts;

	atomic_store(&F.queue_result, 1);
	ck_assert_int_eq(mdt_agent_next(a, 2000, &t, err, sizeof(err)), 0);
	ck_assert_str_eq(mdt_task_id(t), "task-7");
	nexts = atomic_load(&F.nexts);
	ck_assert_int_eq(nexts, 2); /* the result, then the work */
	/* The result is served from the mailbox, with no request. */
	ck_assert_int_eq(mdt_task_wait_result(t, "child-1", 100, &res, &len,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(memcmp(res, "42", 2), 0);
	ck_assert_int_eq(atomic_load(&F.nexts), nexts);
	mdt_free(res);
	mdt_task_free(t);
	mdt_agent_close(a);
}
END_TEST

START_TEST(test_reauth_after_restart)
{
	mdt_agent *a = connect_ok();
	char err[MDT_ERRMSG_MAX];
	mdt_task *t = NULL;
	int rv;

	fake_stop(&F);
	nng_msleep(50);
	fake_start(&F); /* same address, no session: like a restarted broker */
	rv = mdt_agent_next(a, 1000, &t, err, sizeof(err));
	ck_assert_msg(rv == 0, "next after restart: %s", err);
	ck_assert_str_eq(mdt_task_id(t), "task-7");
	ck_assert_uint_eq(mdt_agent_reconnects(a), 1);
	ck_assert_int_eq(atomic_load(&F.auths), 2);
	mdt_task_free(t);
	mdt_agent_close(a);
}
END_TEST

static int
take_one(mdt_agent *a, mdt_task *t, void *arg)
{
	(void)a;
	*(int *)arg += strcmp(mdt_task_id(t), "task-7") == 0;
	mdt_task_free(t);
	return 1; /* stop after the first item */
}

START_TEST(test_serve_callback)
{
	mdt_agent *a = connect_ok();
	int got = 0;

	ck_assert_int_eq(mdt_agent_serve(a, take_one, &got, 1000), 0);
	ck_assert_int_eq(got, 1);
	/* no work within the idle time */
	atomic_store(&F.swallow_next, 1);
	ck_assert_int_eq(mdt_agent_serve(a, take_one, &got, 300),
	    -MDT_ETIMEDOUT);
	ck_assert_int_eq(got, 1);
	mdt_agent_close(a);
}
END_TEST

static void *
stopper(void *arg)
{
	nng_msleep(200);
	mdt_agent_stop(arg);
	return NULL;
}

START_TEST(test_stop_wakes_waiter)
{
	mdt_agent *a = connect_ok();
	char err[MDT_ERRMSG_MAX];
	mdt_task *t = NULL;
	pthread_t th;
	uint64_t t0 = sdk_clock_ms();

	atomic_store(&F.swallow_next, 1);
	ck_assert_int_eq(pthread_create(&th, NULL, stopper, a), 0);
	ck_assert_int_eq(mdt_agent_next(a, 5000, &t, err, sizeof(err)),
	    -MDT_ECLOSED);
	ck_assert_uint_lt(sdk_clock_ms() - t0, 2000);
	pthread_join(th, NULL);
	mdt_agent_close(a);
}
END_TEST

START_TEST(test_unreachable_times_out)
{
	mdt_agent_opts o = {.url = "ipc:///tmp/mdt-test-nobody.sock",
	    .spiffe_id = AGENT_ID, .key = KP, .timeout_ms = 300,
	    .retry_ms = 20};
	char err[MDT_ERRMSG_MAX];
	mdt_agent *a = NULL;

	ck_assert_int_eq(mdt_agent_connect(&o, &a, err, sizeof(err)),
	    -MDT_ETIMEDOUT);
	ck_assert_ptr_null(a);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sdk_conn");
	TCase *tc = tcase_create("fake-broker");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_connect_authenticates);
	tcase_add_test(tc, test_wrong_key_refused);
	tcase_add_test(tc, test_bad_ids_refused_locally);
	tcase_add_test(tc, test_work_item);
	tcase_add_test(tc, test_result_kept_in_mailbox);
	tcase_add_test(tc, test_reauth_after_restart);
	tcase_add_test(tc, test_stop_wakes_waiter);
	tcase_add_test(tc, test_serve_callback);
	tcase_add_test(tc, test_unreachable_times_out);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

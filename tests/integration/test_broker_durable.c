/*
 * Step-ups and clinician-now grants are the store's, not a broker's.
 * On the embedded store (SQLite) and, with MDT_TEST_STORE_URI set, on
 * PostgreSQL:
 * - a broker killed (SIGKILL) with a step-up pending restarts, the
 *   step-up is approved, and the resent authorize is allowed once;
 * - a broker stopped (SIGTERM) with an authorize parked on a step-up
 *   answers it with the step-up's id, which is approved after the
 *   restart and lets the resent authorize through;
 * - a narrowing clinician assertion holds after a restart, and an older
 *   one does not widen the grant again.
 * On PostgreSQL, with two brokers on the store:
 * - an authorize parked on A is approved through B and A's parked
 *   request is allowed; approvals sent at once to A and B make one
 *   approval, used once;
 * - a narrowing seen by A is enforced by B, which had the wider grant
 *   cached, and stays in force across B's restart.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/supplemental/util/platform.h>

#include <mandate/store.h>

#include "brk_flow.h"
#include "brk_test.h"
#include "pg_fixture.h"
#include "testutil.h"

#define WAIT_MS 30000         /* generous: a loaded machine */
#define EXPORT_SCOPES "patient/*.rs tool/export.x"

static struct bt_broker A, B;
static int pg;                /* on PostgreSQL, with B beside A */
static char uri[600];
static char sarg[700], karg[700];

/* The arguments a (re)start of a broker takes; root: B's root key. */
static void
start(struct bt_broker *b, int twin)
{
	const char *args[8] = { "--set", "stepup_timeout_ms=60000", NULL };
	size_t n = 2;

	if (pg) {
		args[n++] = "--set";
		args[n++] = sarg;
	}
	if (twin) {
		args[n++] = "--set";
		args[n++] = karg;
	}
	args[n] = NULL;
	ck_assert_msg(bt_start(b, args) == 0, "broker did not start (log %s)",
	    b->log);
}

static void
setup(void)
{
	const char *base = getenv("MDT_TEST_STORE_URI");
	char err[512];

	pg = base != NULL && base[0] != '\0';
	if (pg) {
		ck_assert_msg(mdt_test_pg_fresh(base, uri, sizeof(uri), err,
		    sizeof(err)) == 0, "%s", err);
		snprintf(sarg, sizeof(sarg), "store=%s", uri);
	}
	ck_assert_int_eq(bt_setup(&A, NULL), 0);
	start(&A, 0);
	if (!pg)
		return;
	ck_assert_int_eq(bt_twin(&A, &B), 0);
	snprintf(karg, sizeof(karg), "root_key=%s/data/root.key", A.dir);
	start(&B, 1);
}

static void
teardown(void)
{
	if (pg)
		bt_twin_cleanup(&B);
	bt_cleanup(&A);
}

/* A task of priorauth's, opened and handed on through broker on, whose
 * export is held for the clinician's approval. */
static void
export_task(struct bt_broker *on, struct bt_conn *p, struct bt_task *sub)
{
	struct bt_conn o;
	struct bt_task root;

	bf_as(on, &o, BT_ORCH);
	bf_as(on, p, BT_PRIOR);
	bf_open_root(&A, &o, "dr-alice", "pat-001", "TREAT", EXPORT_SCOPES,
	    &root);
	bf_hand_on(&o, p, MDT_OP_DISPATCH, &root,
	    "patient/Claim.rs tool/export.x", sub);
	bt_close(&o);
}

static mdt_wire_msg *
export(struct bt_conn *p, const struct bt_task *t, const char *stepup,
    int64_t wait_ms)
{
	return bt_authorize(p, t->id, t->tok, t->tlen, "x", "tool/export",
	    NULL, NULL, stepup, wait_ms);
}

/* The clinician's decision, sent to broker on with a fresh act. */
static mdt_wire_msg *
decide(struct bt_broker *on, mdt_wire_op op, const char *id, long iat_off)
{
	char *jwt = bt_assertion_act(&A, "dr-alice", "pat-001", EXPORT_SCOPES,
	    iat_off, id, NULL);
	struct bt_conn c;
	mdt_wire_writer *w;
	mdt_wire_msg *m = NULL;

	ck_assert_ptr_nonnull(jwt);
	bf_as(on, &c, BT_ORCH);
	w = bt_req(&c, op);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "stepup", id) ||
	    mdt_wire_put_cstr(w, "assertion", jwt), 0);
	ck_assert_int_eq(bt_call(&c, w, &m), 0);
	bt_close(&c);
	free(jwt);
	return m;
}

static void
expect_ok(mdt_wire_msg *m)
{
	ck_assert_ptr_nonnull(m);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "refused: %s", bt_reason(m));
	mdt_wire_msg_free(m);
}

/* The allow of an approved step-up, once: a second use is refused. */
static void
used_once(struct bt_broker *on, const struct bt_task *t, const char *id)
{
	struct bt_conn p;

	bf_as(on, &p, BT_PRIOR);
	expect_ok(export(&p, t, id, 0));
	bf_expect(export(&p, t, id, 0), "step_up.unknown");
	bt_close(&p);
}

/* The store's chain verifies, step-ups, their decisions and uses in it
 * (an SQLite broker is stopped first). */
static void
verify_store(void)
{
	mdt_store_report rep;
	mdt_pubkey pk;
	char err[MDT_ERRMSG_MAX];

	if (!pg)
		ck_assert_int_eq(bt_stop(&A, SIGTERM), 0);
	ck_assert_int_eq(mdt_pubkey_load(A.root_pub, &pk, err, sizeof(err)),
	    0);
	ck_assert_msg(mdt_store_verify(pg ? uri : A.store, pk.bytes, NULL,
	    NULL, &rep, err, sizeof(err)) == 0, "audit verify: %s", err);
	ck_assert_uint_gt(rep.records, 0);
}

START_TEST(killed_with_a_stepup_pending)
{
	struct bt_conn p;
	struct bt_task sub;
	mdt_wire_msg *m;
	char id[64];

	export_task(&A, &p, &sub);
	m = export(&p, &sub, NULL, 0);
	ck_assert_str_eq(bt_reason(m), "step_up.required");
	snprintf(id, sizeof(id), "%s", bt_str(m, "stepup"));
	ck_assert_int_gt(strlen(id), 0);
	mdt_wire_msg_free(m);
	bt_close(&p);
	ck_assert_int_eq(bt_stop(&A, SIGKILL), 128 + SIGKILL);
	start(&A, 0);
	m = decide(&A, MDT_OP_APPROVE, id, 0);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", bt_reason(m));
	ck_assert_str_eq(bt_str(m, "decision"), "approved");
	mdt_wire_msg_free(m);
	/* decided once */
	bf_expect(decide(&A, MDT_OP_REJECT, id, -1), "step_up.unknown");
	used_once(&A, &sub, id);
	verify_store();
}
END_TEST

/* An authorize parked on a step-up (wait_ms), on broker on. */
struct waiter {
	struct bt_broker *on;
	struct bt_conn p;
	struct bt_task sub;
	mdt_wire_msg *m;
	pthread_t th;
};

static void *
wait_export(void *arg)
{
	struct waiter *w = arg;

	w->m = export(&w->p, &w->sub, NULL, WAIT_MS);
	return NULL;
}

/* Parks an export on broker on; its step-up id (from the broker's
 * stepup event) into id. */
static void
park(struct bt_broker *on, struct waiter *w, char *id, size_t idlen)
{
	nng_socket s;
	mdt_wire_msg *ev = NULL;
	void *buf;
	size_t n;

	ck_assert_int_eq(nng_sub0_open(&s), 0);
	ck_assert_int_eq(nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, "stepup",
	    7), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, WAIT_MS);
	ck_assert_int_eq(nng_dial(s, on->pub, NULL, 0), 0);
	w->on = on;
	w->m = NULL;
	export_task(on, &w->p, &w->sub);
	ck_assert_int_eq(pthread_create(&w->th, NULL, wait_export, w), 0);
	ck_assert_int_eq(nng_recv(s, &buf, &n, NNG_FLAG_ALLOC), 0);
	ck_assert_int_eq(mdt_wire_decode_event(buf, n, &ev, NULL, 0), 0);
	snprintf(id, idlen, "%s", bt_str(ev, "stepup"));
	mdt_wire_msg_free(ev);
	nng_free(buf, n);
	nng_close(s);
}

START_TEST(stopped_with_an_authorize_parked)
{
	struct waiter w;
	char id[64];

	park(&A, &w, id, sizeof(id));
	ck_assert_int_eq(bt_stop(&A, SIGTERM), 0);
	pthread_join(w.th, NULL);
	/* answered as a request without wait_ms: the step-up to resend */
	ck_assert_ptr_nonnull(w.m);
	ck_assert_str_eq(bt_reason(w.m), "step_up.required");
	ck_assert_str_eq(bt_str(w.m, "stepup"), id);
	mdt_wire_msg_free(w.m);
	bt_close(&w.p);
	start(&A, 0);
	expect_ok(decide(&A, MDT_OP_APPROVE, id, 0));
	used_once(&A, &w.sub, id);
}
END_TEST

/* ------------------------------------------------- clinician-now */

static void
open_with(struct bt_broker *on, const char *scopes, long iat_off,
    struct bt_task *t)
{
	char *jwt = bt_assertion(&A, "dr-alice", "pat-001", scopes, iat_off);
	struct bt_conn o;
	mdt_wire_msg *m;

	ck_assert_ptr_nonnull(jwt);
	bf_as(on, &o, BT_ORCH);
	m = bt_open(&o, jwt, "pat-001", "TREAT", scopes);
	free(jwt);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "open refused: %s",
	    bt_reason(m));
	if (t != NULL)
		ck_assert_int_eq(bt_task_from(t, m, 0), 0);
	mdt_wire_msg_free(m);
	bt_close(&o);
}

/* The reason a read of an Observation on t through broker on gets ("" for
 * an allow). */
static char *
observe(struct bt_broker *on, const struct bt_task *t)
{
	static char why[64];
	struct bt_conn s;
	mdt_wire_msg *m;

	bf_as(on, &s, BT_SUMM);
	m = bt_authorize(&s, t->id, t->tok, t->tlen, "r",
	    "Observation/obs-001-1", "pat-001", NULL, NULL, 0);
	ck_assert_ptr_nonnull(m);
	snprintf(why, sizeof(why), "%s", bt_reason(m));
	mdt_wire_msg_free(m);
	bt_close(&s);
	return why;
}

/* observe, until it is refused for the clinician's grant; ms it took. */
static int64_t
until_narrowed(struct bt_broker *on, const struct bt_task *t)
{
	nng_time t0 = nng_clock();
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	while (strcmp(observe(on, t), "scope.clinician") != 0) {
		ck_assert_msg(nng_clock() < t0 + WAIT_MS, "the narrowed grant "
		    "was not enforced in time");
		nanosleep(&ts, NULL);
	}
	return (int64_t)(nng_clock() - t0);
}

START_TEST(clinician_now_is_stored)
{
	struct bt_broker *other = pg ? &B : &A;
	struct bt_conn o, s;
	struct bt_task root, sub;
	int64_t ms;

	/* a task under the clinician's wide grant (an assertion 30 s old) */
	{
		char *jwt = bt_assertion(&A, "dr-alice", "pat-001",
		    "patient/*.rs", -30);
		mdt_wire_msg *m;
		bf_as(&A, &o, BT_ORCH);
		bf_as(&A, &s, BT_SUMM);
		m = bt_open(&o, jwt, "pat-001", "TREAT", "patient/*.rs");
		free(jwt);
		ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", bt_reason(m));
		ck_assert_int_eq(bt_task_from(&root, m, 0), 0);
		mdt_wire_msg_free(m);
		bf_hand_on(&o, &s, MDT_OP_DISPATCH, &root,
		    "patient/Observation.rs patient/Patient.rs", &sub);
		bt_close(&o);
		bt_close(&s);
	}
	/* the other broker knows (and keeps) the wide grant */
	ck_assert_str_eq(observe(other, &sub), "");
	/* a later assertion, seen by A, narrows it */
	open_with(&A, "patient/Patient.rs", -10, NULL);
	ms = until_narrowed(other, &sub);
	printf("clinician-now: narrowed on the %s broker after %lld ms\n",
	    pg ? "other" : "same", (long long)ms);
	ck_assert_str_eq(observe(&A, &sub), "scope.clinician");
	/* an older assertion, on the other broker, does not widen it */
	open_with(other, "patient/*.rs", -20, NULL);
	ck_assert_str_eq(observe(other, &sub), "scope.clinician");
	ck_assert_str_eq(observe(&A, &sub), "scope.clinician");
	/* and the grant outlives the broker */
	ck_assert_int_eq(bt_stop(other, SIGKILL), 128 + SIGKILL);
	start(other, pg);
	ck_assert_str_eq(observe(other, &sub), "scope.clinician");
	/* a newer wide assertion widens it again, everywhere */
	open_with(other, "patient/*.rs", 0, NULL);
	ck_assert_str_eq(observe(other, &sub), "");
}
END_TEST

/* ------------------------------------------------- two brokers */

START_TEST(parked_on_a_approved_on_b)
{
	struct waiter w;
	char id[64];

	park(&A, &w, id, sizeof(id));
	expect_ok(decide(&B, MDT_OP_APPROVE, id, 0));
	pthread_join(w.th, NULL);
	expect_ok(w.m);
	bt_close(&w.p);
	/* the parked request used the approval */
	{
		struct bt_conn p;
		bf_as(&B, &p, BT_PRIOR);
		bf_expect(export(&p, &w.sub, id, 0), "step_up.unknown");
		bt_close(&p);
	}
}
END_TEST

struct approver {
	struct bt_broker *on;
	const char *id;
	long iat_off;
	mdt_wire_msg *m;
};

static void *
approve_on(void *arg)
{
	struct approver *a = arg;

	a->m = decide(a->on, MDT_OP_APPROVE, a->id, a->iat_off);
	return NULL;
}

START_TEST(approved_on_both_at_once)
{
	struct waiter w;
	struct approver ap[2];
	pthread_t th[2];
	char id[64], sql[256], err[512];
	int oks = 0;

	park(&A, &w, id, sizeof(id));
	for (int i = 0; i < 2; i++) {
		ap[i] = (struct approver){ i ? &B : &A, id, -i, NULL };
		ck_assert_int_eq(pthread_create(&th[i], NULL, approve_on,
		    &ap[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ck_assert_ptr_nonnull(ap[i].m);
		if (mdt_wire_msg_ok(ap[i].m) == 1)
			oks++;
		else
			ck_assert_str_eq(bt_reason(ap[i].m), "step_up.unknown");
		mdt_wire_msg_free(ap[i].m);
	}
	ck_assert_int_eq(oks, 1);
	pthread_join(w.th, NULL);
	expect_ok(w.m);
	bt_close(&w.p);
	snprintf(sql, sizeof(sql), "DO $$ BEGIN IF (SELECT count(*) FROM"
	    " approval_decisions WHERE approval_id = '%s') <> 1 THEN RAISE"
	    " EXCEPTION 'not one decision'; END IF; END $$", id);
	ck_assert_msg(mdt_test_pg_exec(uri, sql, err, sizeof(err)) == 0, "%s",
	    err);
	{
		struct bt_conn p;
		bf_as(&B, &p, BT_PRIOR);
		bf_expect(export(&p, &w.sub, id, 0), "step_up.unknown");
		bt_close(&p);
	}
	verify_store();
}
END_TEST

/* An operator checks the configuration of the first broker before it
 * ever started: the empty database is reported as such, not refused. */
START_TEST(check_config_on_an_empty_database)
{
	char fresh[600], err[512], cmd[2048], out[4096];

	ck_assert_msg(mdt_test_pg_fresh(getenv("MDT_TEST_STORE_URI"), fresh,
	    sizeof(fresh), err, sizeof(err)) == 0, "%s", err);
	snprintf(cmd, sizeof(cmd), "'%s/broker/mandated' --policy-dir "
	    "'%s/policies' --entities '%s' --data-dir '%s/data' --set "
	    "'store=%s' --check-config 2>&1", mdt_test_binary_dir(),
	    mdt_test_source_dir(), A.entities, A.dir, fresh);
	ck_assert_msg(mdt_test_capture(cmd, out, sizeof(out)) == 0, "%s", out);
	ck_assert_msg(strstr(out, "an empty database") != NULL, "%s", out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("broker_durable");
	TCase *tc = tcase_create("durable");
	const char *base = getenv("MDT_TEST_STORE_URI");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, killed_with_a_stepup_pending);
	tcase_add_test(tc, stopped_with_an_authorize_parked);
	tcase_add_test(tc, clinician_now_is_stored);
	if (base != NULL && base[0] != '\0') {
		tcase_add_test(tc, parked_on_a_approved_on_b);
		tcase_add_test(tc, approved_on_both_at_once);
		tcase_add_test(tc, check_config_on_an_empty_database);
	}
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

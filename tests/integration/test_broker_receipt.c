/*
 * Receipts from a real broker: every allowed authorize carries the
 * receipt of its decision; a resource server accepts the token with its
 * receipt and refuses it with a tampered receipt or another decision's;
 * the store gives back the same receipt and `audit verify` checks the
 * heads.  Then a crash: the broker killed (SIGKILL) while several
 * threads authorize, restarted, and every receipt a client received is
 * found, identical, in the store, which still verifies.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include <mandate/store.h>

#include "brk_test.h"
#include "pg_fixture.h"
#include "sdk_int.h"
#include "testutil.h"

#define GW "spiffe://mandate.local/gateway"
#define SCOPES "patient/*.rs"
#define THREADS 4
#define PER_THREAD 60

static struct bt_broker B;
static char *jwt;
/* With MDT_TEST_STORE_URI set, the broker's store is a fresh database
 * on that PostgreSQL server (integration/test_broker_receipt@postgresql);
 * otherwise the broker's own SQLite file. */
static char sarg[700];
static const char *store_args[3] = { "--set", sarg, NULL };

static const char *const *
args(void)
{
	return sarg[0] != '\0' ? store_args : NULL;
}

static void
setup(void)
{
	const char *base = getenv("MDT_TEST_STORE_URI");
	char err[512];

	sarg[0] = '\0';
	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	if (base != NULL && base[0] != '\0') {
		ck_assert_msg(mdt_test_pg_fresh(base, B.store, sizeof(B.store),
		    err, sizeof(err)) == 0, "%s", err);
		snprintf(sarg, sizeof(sarg), "store=%s", B.store);
	}
	ck_assert_int_eq(bt_start(&B, args()), 0);
	jwt = bt_assertion(&B, "dr-alice", "pat-001", SCOPES, 0);
	ck_assert_ptr_nonnull(jwt);
}

static void
teardown(void)
{
	free(jwt);
	bt_cleanup(&B);
}

static mdt_agent *
connect_as(const char *id)
{
	/* calls in flight when the broker dies give up after timeout_ms */
	mdt_agent_opts o = {.url = B.url, .spiffe_id = id,
	    .key = bt_key(&B, id), .timeout_ms = 5000, .retry_ms = 20};
	char err[MDT_ERRMSG_MAX];
	mdt_agent *a = NULL;

	ck_assert_msg(mdt_agent_connect(&o, &a, err, sizeof(err)) == 0,
	    "connect %s: %s", id, err);
	return a;
}

static mdt_task *
open_root(mdt_agent *orch)
{
	mdt_open_opts op = {.assertion = jwt, .patient = "pat-001",
	    .purpose = "TREAT", .scopes = SCOPES};
	char err[MDT_ERRMSG_MAX];
	mdt_task *t = NULL;

	ck_assert_msg(mdt_agent_open_task(orch, &op, &t, err, sizeof(err)) ==
	    0, "open: %s", err);
	return t;
}

static mdt_rs_verifier *
verifier(mdt_pubkey *pk)
{
	mdt_rs_verifier_opts o = {.broker_key = pk, .audience = GW};
	mdt_rs_verifier *v;
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_pubkey_load(B.root_pub, pk, err, sizeof(err)),
	    0);
	ck_assert_int_eq(mdt_rs_verifier_new(&o, &v, err, sizeof(err)), 0);
	return v;
}

/* The receipt of an allow, decoded and as text. */
static void
receipt_of(const mdt_authz *az, mdt_receipt *r, char *text)
{
	size_t len = 0;
	const uint8_t *b = mdt_authz_receipt(az, &len);

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(mdt_receipt_decode(b, len, r, NULL), 0);
	ck_assert_int_eq(mdt_receipt_to_text(b, len, text,
	    MDT_RECEIPT_TEXT_MAX), 0);
}

/* Presents az's token with the receipt text rc; the verifier's answer. */
static int
present(mdt_rs_verifier *v, mdt_task *t, const mdt_authz *az,
    const char *res, const char *rc, char *err)
{
	static char tok[MDT_AGENT_HEADER_MAX], proof[MDT_AGENT_HEADER_MAX];
	mdt_rs_request rq = {.action = "r", .resource = res,
	    .patient = "pat-001"};

	ck_assert_int_eq(mdt_task_present(t, az, 0, tok, proof), 0);
	return mdt_rs_verify_receipt(v, tok, proof, rc, &rq, NULL, err,
	    MDT_ERRMSG_MAX);
}

static mdt_authz *
allow(mdt_task *t, const char *res)
{
	char err[MDT_ERRMSG_MAX];
	mdt_authz *az = NULL;

	ck_assert_msg(mdt_task_authorize(t, "r", res, &az, err,
	    sizeof(err)) == 0, "authorize: %s", err);
	ck_assert_int_eq(mdt_authz_decision_of(az), MDT_AUTHZ_ALLOW);
	return az;
}

/* The store (read-only, beside or after the broker) holds r for tok. */
static void
in_store(mdt_store *s, const mdt_receipt *r, const uint8_t *token,
    size_t tlen)
{
	mdt_receipt back;
	uint8_t tid[32], want[32];
	mdt_token *tk = NULL;

	ck_assert_int_eq(mdt_store_get_receipt(s, r->seq, tid, &back), 0);
	ck_assert_int_eq(mdt_token_decode(token, tlen, &tk, NULL), 0);
	mdt_token_id(tk, want);
	mdt_token_free(tk);
	ck_assert_mem_eq(tid, want, 32);
	ck_assert(mdt_receipt_equal(&back, r));
}

static mdt_store *
open_store(void)
{
	mdt_store_opts o = {.read_only = 1};
	char err[MDT_ERRMSG_MAX];
	mdt_store *s = NULL;

	ck_assert_msg(mdt_store_open(B.store, &o, &s, err, sizeof(err)) == 0,
	    "store: %s", err);
	return s;
}

static void
store_verifies(const mdt_pubkey *pk, uint64_t min_heads)
{
	mdt_store_report rep;
	char err[MDT_ERRMSG_MAX] = "";

	ck_assert_msg(mdt_store_verify(B.store, pk->bytes, NULL, NULL, &rep,
	    err, sizeof(err)) == 0, "verify: %s (%llu issues)", err,
	    (unsigned long long)rep.issues);
	ck_assert_uint_ge(rep.heads, min_heads);
	/* the heads are the broker's checkpoints: every record is covered
	 * by one, none is written beside them */
	ck_assert_uint_eq(rep.checkpoints, 0);
	ck_assert_uint_eq(rep.unsigned_records, 0);
	ck_assert_uint_eq(rep.last_head_seq, rep.last_seq);
}

/* `mandatectl audit verify` says the store is intact and how many
 * receipt heads it checked (at least min). */
static void
ctl_verify_counts_heads(unsigned long min)
{
	char cmd[2048], out[4096];
	const char *p;
	unsigned long heads = 0;

	snprintf(cmd, sizeof(cmd), "%s/broker/mandatectl audit verify "
	    "--store '%s' --pub '%s' 2>&1", mdt_test_binary_dir(), B.store,
	    B.root_pub);
	ck_assert_int_eq(mdt_test_capture(cmd, out, sizeof(out)), 0);
	ck_assert_msg(strncmp(out, "intact:", 7) == 0, "%s", out);
	ck_assert_msg((p = strstr(out, "; ")) != NULL &&
	    sscanf(p, "; %lu receipt heads", &heads) == 1, "%s", out);
	ck_assert_msg(heads >= min, "%s", out);
}

/* `mandatectl token check --receipt rc` on az's token: exit status. */
static int
ctl_check(const mdt_authz *az, const char *res, const char *rc)
{
	char path[600], cmd[4096], out[1024], *tt = NULL;
	mdt_token *tk = NULL;
	size_t tl;
	const uint8_t *tb = mdt_authz_token(az, &tl);
	FILE *f;

	ck_assert_int_eq(mdt_token_decode(tb, tl, &tk, NULL), 0);
	ck_assert_int_eq(mdt_token_to_text(tk, &tt), 0);
	mdt_token_free(tk);
	snprintf(path, sizeof(path), "%s/check.tok", B.dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(tt, f);
	fclose(f);
	mdt_token_text_free(tt);
	snprintf(cmd, sizeof(cmd), "%s/broker/mandatectl token check --root "
	    "'%s' --token @%s --action r --resource %s --audience %s "
	    "--single-action --receipt %s 2>&1", mdt_test_binary_dir(),
	    B.root_pub, path, res, GW, rc);
	return mdt_test_capture(cmd, out, sizeof(out));
}

START_TEST(resource_server_checks_receipts)
{
	mdt_agent *orch = connect_as(BT_ORCH);
	mdt_task *root = open_root(orch);
	mdt_pubkey pk;
	mdt_rs_verifier *v = verifier(&pk);
	mdt_authz *a1 = allow(root, "Observation/obs-1");
	mdt_authz *a2 = allow(root, "Observation/obs-2");
	mdt_authz *a3 = allow(root, "Observation/obs-3");
	mdt_receipt r1, r2, r3;
	char t1[MDT_RECEIPT_TEXT_MAX], t2[MDT_RECEIPT_TEXT_MAX];
	char t3[MDT_RECEIPT_TEXT_MAX], bad[MDT_RECEIPT_TEXT_MAX];
	char err[MDT_ERRMSG_MAX];
	uint8_t enc[MDT_RECEIPT_MAX_BYTES];
	size_t len;
	mdt_store *s;

	receipt_of(a1, &r1, t1);
	receipt_of(a2, &r2, t2);
	receipt_of(a3, &r3, t3);
	/* another decision's receipt, then a tampered one: refused */
	ck_assert_int_eq(present(v, root, a1, "Observation/obs-1", t2, err),
	    -MDT_ECHAIN);
	r1.record_hash[7] ^= 1;
	ck_assert_int_eq(mdt_receipt_encode(&r1, enc, sizeof(enc), &len), 0);
	ck_assert_int_eq(mdt_receipt_to_text(enc, len, bad, sizeof(bad)), 0);
	ck_assert_int_eq(present(v, root, a1, "Observation/obs-1", bad, err),
	    -MDT_ECHAIN);
	r1.record_hash[7] ^= 1;
	r1.sig[0] ^= 1;
	ck_assert_int_eq(mdt_receipt_encode(&r1, enc, sizeof(enc), &len), 0);
	ck_assert_int_eq(mdt_receipt_to_text(enc, len, bad, sizeof(bad)), 0);
	ck_assert_int_eq(present(v, root, a1, "Observation/obs-1", bad, err),
	    -MDT_ESIG);
	r1.sig[0] ^= 1;
	ck_assert_int_eq(present(v, root, a1, "Observation/obs-1", NULL, err),
	    -MDT_EAUTH);
	/* the command line agrees */
	ck_assert_int_eq(ctl_check(a2, "Observation/obs-2", t2), 0);
	ck_assert_int_eq(ctl_check(a2, "Observation/obs-2", t1), 2);
	ck_assert_int_eq(ctl_check(a2, "Observation/obs-2", bad), 2);
	/* the genuine ones: accepted */
	ck_assert_msg(present(v, root, a1, "Observation/obs-1", t1, err) == 0,
	    "%s", err);
	ck_assert_msg(present(v, root, a2, "Observation/obs-2", t2, err) == 0,
	    "%s", err);
	ck_assert_msg(present(v, root, a3, "Observation/obs-3", t3, err) == 0,
	    "%s", err);
	s = open_store();
	{
		size_t tl;
		const uint8_t *tb = mdt_authz_token(a2, &tl);
		in_store(s, &r2, tb, tl);
	}
	mdt_store_close(s);
	mdt_authz_free(a1);
	mdt_authz_free(a2);
	mdt_authz_free(a3);
	mdt_rs_verifier_free(v);
	mdt_task_free(root);
	mdt_agent_close(orch);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	store_verifies(&pk, 3);
	ctl_verify_counts_heads(3);
}
END_TEST

/* `mandatectl audit prove` on one held receipt: exit status, output. */
static int
ctl_prove(const mdt_receipt *r, const uint8_t *token, size_t tlen,
    char *out, size_t cap)
{
	char path[600], cmd[4096], *tt = NULL, rt[MDT_RECEIPT_TEXT_MAX];
	uint8_t enc[MDT_RECEIPT_MAX_BYTES];
	mdt_token *tk = NULL;
	size_t len;
	FILE *f;

	ck_assert_int_eq(mdt_receipt_encode(r, enc, sizeof(enc), &len), 0);
	ck_assert_int_eq(mdt_receipt_to_text(enc, len, rt, sizeof(rt)), 0);
	ck_assert_int_eq(mdt_token_decode(token, tlen, &tk, NULL), 0);
	ck_assert_int_eq(mdt_token_to_text(tk, &tt), 0);
	mdt_token_free(tk);
	snprintf(path, sizeof(path), "%s/token.txt", B.dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(tt, f);
	fclose(f);
	mdt_token_text_free(tt);
	snprintf(cmd, sizeof(cmd), "%s/broker/mandatectl audit prove @%s "
	    "--receipt %s --store '%s' --pub '%s' 2>&1",
	    mdt_test_binary_dir(), path, rt, B.store, B.root_pub);
	return mdt_test_capture(cmd, out, cap);
}

/* ---- the crash ----------------------------------------------------- */

struct held {
	mdt_receipt r;
	uint8_t token[MDT_AGENT_TOKEN_MAX];
	size_t tlen;
};

static int stop_load; /* set once the broker is killed */

struct worker {
	mdt_task *task;
	int id;
	size_t n;                 /* receipts received */
	struct held got[PER_THREAD];
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	char res[64], err[MDT_ERRMSG_MAX];

	for (int i = 0; i < PER_THREAD &&
	    !__atomic_load_n(&stop_load, __ATOMIC_RELAXED); i++) {
		mdt_authz *az = NULL;
		const uint8_t *b, *t;
		size_t len = 0, tl = 0;
		snprintf(res, sizeof(res), "Observation/obs-%d-%d", w->id, i);
		if (mdt_task_authorize(w->task, "r", res, &az, err,
		    sizeof(err)) != 0)
			continue; /* the broker is gone: no answer, no receipt */
		b = mdt_authz_receipt(az, &len);
		t = mdt_authz_token(az, &tl);
		if (b != NULL && t != NULL && tl <= sizeof(w->got[0].token) &&
		    mdt_receipt_decode(b, len, &w->got[w->n].r, NULL) == 0) {
			memcpy(w->got[w->n].token, t, tl);
			w->got[w->n].tlen = tl;
			/* the main thread counts them while this runs */
			__atomic_store_n(&w->n, w->n + 1, __ATOMIC_RELEASE);
		}
		mdt_authz_free(az);
	}
	return NULL;
}

static size_t
received(struct worker *ws)
{
	size_t n = 0;

	for (int i = 0; i < THREADS; i++)
		n += __atomic_load_n(&ws[i].n, __ATOMIC_ACQUIRE);
	return n;
}

START_TEST(receipts_survive_a_crash)
{
	static struct worker ws[THREADS];
	pthread_t th[THREADS];
	mdt_agent *orch = connect_as(BT_ORCH);
	mdt_task *root = open_root(orch);
	mdt_pubkey pk;
	char err[MDT_ERRMSG_MAX];
	mdt_store *s;
	size_t total = 0;

	ck_assert_int_eq(mdt_pubkey_load(B.root_pub, &pk, err, sizeof(err)),
	    0);
	memset(ws, 0, sizeof(ws));
	stop_load = 0;
	for (int i = 0; i < THREADS; i++) {
		ws[i].task = root;
		ws[i].id = i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, work, &ws[i]), 0);
	}
	/* kill -9 once a good part of the load is answered */
	for (int t = 0; t < 60000 && received(ws) < THREADS * PER_THREAD / 3;
	    t++)
		nng_msleep(1);
	ck_assert_int_eq(bt_stop(&B, SIGKILL), 128 + SIGKILL);
	__atomic_store_n(&stop_load, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	mdt_task_free(root);
	mdt_agent_close(orch);
	ck_assert_int_eq(bt_start(&B, args()), 0);
	s = open_store();
	for (int i = 0; i < THREADS; i++)
		for (size_t k = 0; k < ws[i].n; k++, total++) {
			struct held *h = &ws[i].got[k];
			char out[1024];
			in_store(s, &h->r, h->token, h->tlen);
			/* and from the command line, for some of them */
			if (k % 8 == 0 || k + 1 == ws[i].n)
				ck_assert_msg(ctl_prove(&h->r, h->token, h->tlen,
				    out, sizeof(out)) == 0 &&
				    strncmp(out, "in store: seq", 13) == 0,
				    "audit prove: %s", out);
			{
				uint8_t tid[32];
				mdt_token *tk = NULL;
				ck_assert_int_eq(mdt_token_decode(h->token, h->tlen,
				    &tk, NULL), 0);
				mdt_token_id(tk, tid);
				mdt_token_free(tk);
				ck_assert_int_eq(mdt_receipt_verify(&h->r, tid, &pk,
				    0, NULL), 0);
			}
		}
	mdt_store_close(s);
	ck_assert_uint_ge(total, THREADS * PER_THREAD / 3);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	store_verifies(&pk, 1);
	{
		/* a receipt for another token: not in the store (exit 1) */
		char out[1024];
		struct held *a = &ws[0].got[0], *b = &ws[1].got[0];
		ck_assert_int_eq(ctl_prove(&a->r, b->token, b->tlen, out,
		    sizeof(out)), 1);
		ck_assert_ptr_nonnull(strstr(out, "NOT IN STORE"));
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("broker_receipt");
	TCase *tc = tcase_create("receipt");

	tcase_set_timeout(tc, 180);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, resource_server_checks_receipts);
	tcase_add_test(tc, receipts_survive_a_crash);
	suite_add_tcase(s, tc);
	return mdt_test_run(s);
}

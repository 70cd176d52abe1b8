/*
 * X.509-SVID authentication against a real mandated: a test CA is the
 * broker's svid_bundle; agents answer the challenge with SVIDs made here
 * (valid and each kind of invalid one), with a signature by the SVID key,
 * over raw nng connections and through the SDK.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <mandate/agent.h>
#include <mandate/svid.h>

#include "brk_flow.h"
#include "brk_test.h"
#include "svid_fixture.h"
#include "testutil.h"

#define TD "clinic.example"
#define UNKNOWN "spiffe://clinic.example/agent/unregistered"

static struct bt_broker B;
static EVP_PKEY *ca_key, *other_key;
static X509 *ca, *other;
static char bundle_path[600];

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
pki(void)
{
	ca = svf_root(TD, &ca_key);
	other = svf_root(TD, &other_key);
	ck_assert(ca != NULL && other != NULL);
	snprintf(bundle_path, sizeof(bundle_path), "%s/bundle.pem", B.dir);
	ck_assert_int_eq(svf_write_certs(bundle_path, &ca, 1), 0);
}

static void
start(int with_bundle)
{
	char set[700];
	const char *args[] = { "--set", set, "--set",
	    "svid_trust_domain=" TD, NULL };

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	pki();
	snprintf(set, sizeof(set), "svid_bundle=%s",
	    with_bundle ? bundle_path : "");
	ck_assert_msg(bt_start(&B, args) == 0, "broker did not start (log %s)",
	    B.log);
}

static void
setup(void)
{
	start(1);
}

static void
teardown(void)
{
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
}

/* An SVID: its key and leaf certificate (issued by ca unless issuer). */
struct svid {
	EVP_PKEY *key;
	X509 *leaf;
};

static struct svid
make_svid(enum svf_key_type t, const struct svf_opts *o, X509 *issuer,
    EVP_PKEY *issuer_key)
{
	struct svid s;

	s.key = svf_key(t);
	s.leaf = svf_cert(s.key, o, issuer != NULL ? issuer : ca,
	    issuer_key != NULL ? issuer_key : ca_key);
	ck_assert_ptr_nonnull(s.leaf);
	return s;
}

static struct svid
valid_svid(const char *id, enum svf_key_type t)
{
	struct svf_opts o = svf_leaf_opts(id);

	return make_svid(t, &o, NULL, NULL);
}

static void
svid_free(struct svid *s)
{
	X509_free(s->leaf);
	EVP_PKEY_free(s->key);
}

/* hello as agent on c; the challenge into chal. */
static size_t
hello(struct bt_conn *c, const char *agent, uint8_t *chal)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_HELLO);
	mdt_wire_msg *m = NULL;
	const uint8_t *p;
	size_t n = 0;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "agent", agent), 0);
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	p = bt_bin(m, "challenge", &n);
	ck_assert_ptr_nonnull(p);
	memcpy(chal, p, n);
	mdt_wire_msg_free(m);
	return n;
}

/* The signature of the auth message of chal by key. */
static size_t
sign(EVP_PKEY *key, const uint8_t *chal, size_t clen, uint8_t *sig)
{
	uint8_t msg[sizeof(MDT_WIRE_AUTH_DOMAIN) + MDT_WIRE_CHALLENGE_MAX];
	size_t mlen = 0, siglen = MDT_SVID_SIG_MAX;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ed = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519;

	ck_assert_int_eq(mdt_wire_auth_message(chal, clen, msg, sizeof(msg),
	    &mlen), 0);
	ck_assert_int_eq(EVP_DigestSignInit_ex(md, NULL, ed ? NULL : "SHA256",
	    NULL, NULL, key, NULL), 1);
	ck_assert_int_eq(EVP_DigestSign(md, sig, &siglen, msg, mlen), 1);
	EVP_MD_CTX_free(md);
	return siglen;
}

/* auth {agent, svid: certs, sig}; returns the reply (caller frees). */
static mdt_wire_msg *
auth_raw(struct bt_conn *c, const char *agent, X509 *const *certs,
    size_t n, const uint8_t *sig, size_t siglen)
{
	mdt_wire_writer *w = bt_req(c, MDT_OP_AUTH);
	mdt_wire_msg *m = NULL;

	ck_assert_int_eq(mdt_wire_put_cstr(w, "agent", agent), 0);
	ck_assert_int_eq(mdt_wire_begin_array(w, "svid", n), 0);
	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		uint8_t *der = svf_der(certs[i], &len);
		ck_assert_int_eq(mdt_wire_put_bin(w, NULL, der, len), 0);
		OPENSSL_free(der);
	}
	ck_assert_int_eq(mdt_wire_end(w), 0);
	ck_assert_int_eq(mdt_wire_put_bin(w, "sig", sig, siglen), 0);
	ck_assert_int_eq(bt_call(c, w, &m), 0);
	return m;
}

/* hello as agent, then auth with the SVID s (chain: leaf + extra). */
static mdt_wire_msg *
auth_svid(struct bt_conn *c, const char *agent, const struct svid *s,
    X509 *extra)
{
	uint8_t chal[MDT_WIRE_CHALLENGE_MAX], sig[MDT_SVID_SIG_MAX];
	size_t clen = hello(c, agent, chal);
	size_t siglen = sign(s->key, chal, clen, sig);
	X509 *certs[2] = { s->leaf, extra };

	return auth_raw(c, agent, certs, extra != NULL ? 2 : 1, sig, siglen);
}

/* The reply's error detail, "" when ok. */
static const char *
detail(const mdt_wire_msg *m)
{
	const char *d = NULL;

	(void)mdt_wire_msg_error(m, NULL, &d);
	return d != NULL ? d : "";
}

/* The pipe is not authenticated: next is refused auth.required. */
static void
expect_unauthenticated(struct bt_conn *c)
{
	bf_expect(bt_next(c, 0), "auth.required");
}

START_TEST(valid_svids_authenticate)
{
	static const enum svf_key_type types[] = { SVF_P256, SVF_ED25519 };
	struct bt_conn c;
	struct bt_task t;

	for (size_t i = 0; i < 2; i++) {
		struct svid s = valid_svid(BT_ORCH, types[i]);
		mdt_wire_msg *m;
		int64_t exp = 0;

		ck_assert_int_eq(bt_dial(&c, B.url), 0);
		expect_unauthenticated(&c);
		m = auth_svid(&c, BT_ORCH, &s, NULL);
		ck_assert_msg(mdt_wire_msg_ok(m) == 1, "key type %zu: %s: %s",
		    i, bt_reason(m), detail(m));
		ck_assert_str_eq(bt_str(m, "agent"), BT_ORCH);
		ck_assert_int_eq(mdt_wire_val_int(mdt_wire_map_get(
		    mdt_wire_msg_root(m), "expires"), &exp), 0);
		ck_assert(exp > time(NULL) + 3000 && exp <= time(NULL) + 3600);
		mdt_wire_msg_free(m);
		snprintf(c.agent, sizeof(c.agent), "%s", BT_ORCH);
		/* an authorized operation, with the registry's ceiling */
		bf_open_root(&B, &c, "dr-alice", "pat-001", "TREAT",
		    "patient/*.rs", &t);
		ck_assert(t.tlen > 0);
		bt_close(&c);
		svid_free(&s);
	}
}
END_TEST

/* Each invalid SVID is refused with the failed check in the detail; the
 * pipe stays unauthenticated and a valid SVID still works after it. */
START_TEST(invalid_svids_refused)
{
	struct {
		const char *name;
		struct svf_opts o;
		int other_ca;
		const char *why;
	} cases[] = {
		{ "wrong trust domain",
		  svf_leaf_opts("spiffe://other.example/orchestrator"), 0,
		  "not in trust domain clinic.example" },
		{ "two URI SANs", svf_leaf_opts(NULL), 0,
		  "more than one URI subjectAltName" },
		{ "CA leaf", svf_leaf_opts(BT_ORCH), 0, "is a CA" },
		{ "expired", svf_leaf_opts(BT_ORCH), 0, "expired" },
		{ "no digitalSignature", svf_leaf_opts(BT_ORCH), 0,
		  "lacks digitalSignature" },
		{ "other CA", svf_leaf_opts(BT_ORCH), 1,
		  "unable to get local issuer certificate" },
		{ "no URI SAN", svf_leaf_opts(NULL), 0,
		  "no URI subjectAltName" },
	};
	struct svid good = valid_svid(BT_ORCH, SVF_P256);
	struct bt_conn c;
	mdt_wire_msg *m;

	cases[1].o.san = "URI:" BT_ORCH ",URI:" BT_SUMM;
	cases[2].o.bc = "critical,CA:TRUE";
	cases[3].o.not_before = -7200;
	cases[3].o.not_after = -10;
	cases[4].o.ku = "critical,keyAgreement";
	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct svid s = make_svid(SVF_P256, &cases[i].o,
		    cases[i].other_ca ? other : NULL,
		    cases[i].other_ca ? other_key : NULL);
		m = auth_svid(&c, BT_ORCH, &s, NULL);
		ck_assert_msg(strcmp(bt_reason(m), "auth.failed") == 0,
		    "%s: %s", cases[i].name, bt_reason(m));
		ck_assert_int_eq(mdt_wire_msg_error(m, NULL, NULL), -MDT_EAUTH);
		ck_assert_msg(strstr(detail(m), cases[i].why) != NULL,
		    "%s: detail '%s'", cases[i].name, detail(m));
		mdt_wire_msg_free(m);
		expect_unauthenticated(&c);
		svid_free(&s);
	}
	/* the broker keeps serving, on the same pipe */
	m = auth_svid(&c, BT_ORCH, &good, NULL);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", detail(m));
	mdt_wire_msg_free(m);
	bf_expect(bt_next(&c, 0), "");
	bt_close(&c);
	svid_free(&good);
}
END_TEST

START_TEST(signatures_and_chain_shapes)
{
	static const uint8_t zero[] = {0x30, 0x06, 0x02, 0x01, 0x00, 0x02,
	    0x01, 0x00};
	struct svid s = valid_svid(BT_ORCH, SVF_P256);
	struct svid wrong = valid_svid(BT_ORCH, SVF_P256);
	uint8_t chal[MDT_WIRE_CHALLENGE_MAX], sig[MDT_SVID_SIG_MAX];
	struct bt_conn c;
	mdt_wire_msg *m;
	size_t clen, siglen;

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	/* signed by another key than the SVID's */
	clen = hello(&c, BT_ORCH, chal);
	siglen = sign(wrong.key, chal, clen, sig);
	m = auth_raw(&c, BT_ORCH, &s.leaf, 1, sig, siglen);
	ck_assert_ptr_nonnull(strstr(detail(m), "signature: does not verify"));
	mdt_wire_msg_free(m);
	/* r = s = 0 */
	clen = hello(&c, BT_ORCH, chal);
	m = auth_raw(&c, BT_ORCH, &s.leaf, 1, zero, sizeof(zero));
	ck_assert_str_eq(bt_reason(m), "auth.failed");
	mdt_wire_msg_free(m);
	/* a bare Ed25519-sized signature field with an empty chain */
	clen = hello(&c, BT_ORCH, chal);
	m = auth_raw(&c, BT_ORCH, NULL, 0, sig, 64);
	ck_assert_str_eq(bt_reason(m), "field");
	mdt_wire_msg_free(m);
	expect_unauthenticated(&c);
	bt_close(&c);
	svid_free(&s);
	svid_free(&wrong);
}
END_TEST

START_TEST(svid_of_another_agent)
{
	struct svid summ = valid_svid(BT_SUMM, SVF_P256);
	struct svid unknown = valid_svid(UNKNOWN, SVF_P256);
	struct bt_conn c;
	mdt_wire_msg *m;

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	m = auth_svid(&c, BT_ORCH, &summ, NULL);
	ck_assert_str_eq(bt_reason(m), "auth.failed");
	ck_assert_msg(strstr(detail(m), "SVID names " BT_SUMM ", not the "
	    "claimed agent") != NULL, "%s", detail(m));
	mdt_wire_msg_free(m);
	expect_unauthenticated(&c);
	m = auth_svid(&c, UNKNOWN, &unknown, NULL);
	ck_assert_str_eq(bt_reason(m), "auth.failed");
	ck_assert_ptr_nonnull(strstr(detail(m), "is not registered"));
	mdt_wire_msg_free(m);
	expect_unauthenticated(&c);
	/* the summarizer's SVID authenticates the summarizer */
	m = auth_svid(&c, BT_SUMM, &summ, NULL);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 1);
	mdt_wire_msg_free(m);
	bt_close(&c);
	svid_free(&summ);
	svid_free(&unknown);
}
END_TEST

START_TEST(challenge_replay_refused)
{
	struct svid s = valid_svid(BT_ORCH, SVF_ED25519);
	uint8_t chal[MDT_WIRE_CHALLENGE_MAX], sig[MDT_SVID_SIG_MAX];
	struct bt_conn a, b;
	mdt_wire_msg *m;
	size_t clen, siglen;

	ck_assert_int_eq(bt_dial(&a, B.url), 0);
	ck_assert_int_eq(bt_dial(&b, B.url), 0);
	/* a challenge of pipe a, answered on pipe b (which asked none) */
	clen = hello(&a, BT_ORCH, chal);
	siglen = sign(s.key, chal, clen, sig);
	m = auth_raw(&b, BT_ORCH, &s.leaf, 1, sig, siglen);
	ck_assert_str_eq(bt_reason(m), "auth.failed");
	ck_assert_ptr_nonnull(strstr(detail(m), "no valid challenge"));
	mdt_wire_msg_free(m);
	/* ... nor on b after b's own hello (another challenge) */
	(void)hello(&b, BT_ORCH, chal + MDT_WIRE_NONCE_LEN);
	m = auth_raw(&b, BT_ORCH, &s.leaf, 1, sig, siglen);
	ck_assert_ptr_nonnull(strstr(detail(m), "signature"));
	mdt_wire_msg_free(m);
	expect_unauthenticated(&b);
	/* on a it works once; the same answer again is refused */
	m = auth_raw(&a, BT_ORCH, &s.leaf, 1, sig, siglen);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", detail(m));
	mdt_wire_msg_free(m);
	m = auth_raw(&a, BT_ORCH, &s.leaf, 1, sig, siglen);
	ck_assert_str_eq(bt_reason(m), "auth.failed");
	ck_assert_ptr_nonnull(strstr(detail(m), "no valid challenge"));
	mdt_wire_msg_free(m);
	bt_close(&a);
	bt_close(&b);
	svid_free(&s);
}
END_TEST

START_TEST(session_ends_with_the_svid)
{
	struct svf_opts o = svf_leaf_opts(BT_ORCH);
	struct svid s;
	struct bt_conn c;
	mdt_wire_msg *m;

	o.not_after = 2;
	s = make_svid(SVF_P256, &o, NULL, NULL);
	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	m = auth_svid(&c, BT_ORCH, &s, NULL);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", detail(m));
	mdt_wire_msg_free(m);
	bf_expect(bt_next(&c, 0), "");
	pause_ms(3100);
	expect_unauthenticated(&c);
	bt_close(&c);
	svid_free(&s);
}
END_TEST

START_TEST(intermediate_and_rotated_bundle)
{
	struct svf_opts io = svf_ca_opts("spiffe://" TD);
	EVP_PKEY *ik = svf_key(SVF_P256);
	X509 *inter = svf_cert(ik, &io, ca, ca_key);
	struct svf_opts lo = svf_leaf_opts(BT_ORCH);
	struct svid s = make_svid(SVF_P256, &lo, inter, ik);
	struct svid o = make_svid(SVF_P256, &lo, other, other_key);
	struct bt_conn c;
	mdt_wire_msg *m;

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	m = auth_svid(&c, BT_ORCH, &s, inter);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", detail(m));
	mdt_wire_msg_free(m);
	/* the bundle file is replaced: the other CA is trusted, ca is not */
	ck_assert_int_eq(svf_write_certs(bundle_path, &other, 1), 0);
	m = auth_svid(&c, BT_ORCH, &s, inter);
	ck_assert_str_eq(bt_reason(m), "auth.failed");
	mdt_wire_msg_free(m);
	m = auth_svid(&c, BT_ORCH, &o, NULL);
	ck_assert_msg(mdt_wire_msg_ok(m) == 1, "%s", detail(m));
	mdt_wire_msg_free(m);
	/* an unreadable bundle fails closed */
	ck_assert_int_eq(unlink(bundle_path), 0);
	m = auth_svid(&c, BT_ORCH, &o, NULL);
	ck_assert_str_eq(bt_reason(m), "auth.failed");
	ck_assert_ptr_nonnull(strstr(detail(m), "trust bundle"));
	mdt_wire_msg_free(m);
	expect_unauthenticated(&c);
	bt_close(&c);
	svid_free(&s);
	svid_free(&o);
	X509_free(inter);
	EVP_PKEY_free(ik);
}
END_TEST

/* Writes s's leaf (and key) as files under B.dir/name.{pem,key}. */
static void
svid_files(const struct svid *s, const char *name, char *cert, char *key)
{
	snprintf(cert, 600, "%s/%s.pem", B.dir, name);
	snprintf(key, 600, "%s/%s.key", B.dir, name);
	ck_assert_int_eq(svf_write_certs(cert, &s->leaf, 1), 0);
	ck_assert_int_eq(svf_write_key(key, s->key), 0);
}

START_TEST(sdk_connects_with_svid)
{
	struct svid s = valid_svid(BT_SUMM, SVF_P256);
	char cert[600], key[600], err[MDT_ERRMSG_MAX] = "";
	mdt_agent_svid_opts so = {.cert_file = cert, .key_file = key};
	mdt_agent_opts o = {.url = B.url, .timeout_ms = 5000, .retry_ms = 20};
	mdt_agent *a = NULL;
	mdt_task *t = NULL;

	svid_files(&s, "summ", cert, key);
	ck_assert_msg(mdt_agent_connect_svid(&o, &so, &a, err, sizeof(err)) ==
	    0, "%s", err);
	ck_assert_str_eq(mdt_agent_spiffe_id(a), BT_SUMM);
	/* authenticated: a long poll is answered "no work", not auth */
	ck_assert_int_eq(mdt_agent_next(a, 200, &t, err, sizeof(err)),
	    -MDT_ETIMEDOUT);
	mdt_agent_close(a);
	a = NULL;
	o.spiffe_id = BT_ORCH;
	ck_assert_int_eq(mdt_agent_connect_svid(&o, &so, &a, err,
	    sizeof(err)), -MDT_EAUTH);
	ck_assert_ptr_nonnull(strstr(err, "the SVID names " BT_SUMM));
	ck_assert_ptr_null(a);
	svid_free(&s);
}
END_TEST

/* The broker ends the session of an expiring SVID; the SDK authenticates
 * again by itself, with the SVID rotated on disk meanwhile. */
START_TEST(sdk_picks_up_rotated_svid)
{
	struct svf_opts o = svf_leaf_opts(BT_SUMM);
	struct svid old, fresh = valid_svid(BT_SUMM, SVF_ED25519);
	char cert[600], key[600], err[MDT_ERRMSG_MAX] = "";
	mdt_agent_svid_opts so = {.cert_file = cert, .key_file = key};
	mdt_agent_opts ao = {.url = B.url, .timeout_ms = 5000, .retry_ms = 20};
	mdt_agent *a = NULL;
	mdt_task *t = NULL;

	o.not_after = 2;
	old = make_svid(SVF_P256, &o, NULL, NULL);
	svid_files(&old, "rot", cert, key);
	ck_assert_msg(mdt_agent_connect_svid(&ao, &so, &a, err, sizeof(err)) ==
	    0, "%s", err);
	ck_assert_int_eq(unlink(key), 0);
	svid_files(&fresh, "rot", cert, key);
	pause_ms(3100);
	ck_assert_int_eq(mdt_agent_next(a, 100, &t, err, sizeof(err)),
	    -MDT_ETIMEDOUT);
	ck_assert_uint_eq(mdt_agent_reconnects(a), 1);
	mdt_agent_close(a);
	svid_free(&old);
	svid_free(&fresh);
}
END_TEST

/* Broker operations work on an SVID connection without a holder key;
 * presenting a token to a resource server needs the key. */
START_TEST(sdk_svid_holder_key)
{
	static char tok[MDT_AGENT_HEADER_MAX], proof[MDT_AGENT_HEADER_MAX];
	struct svid s = valid_svid(BT_ORCH, SVF_ED25519);
	char cert[600], key[600], err[MDT_ERRMSG_MAX] = "";
	mdt_agent_svid_opts so = {.cert_file = cert, .key_file = key};
	mdt_agent_opts o = {.url = B.url, .spiffe_id = BT_ORCH,
	    .timeout_ms = 5000, .retry_ms = 20};
	char *jwt = bt_assertion(&B, "dr-alice", "pat-001", "patient/*.rs", 0);
	mdt_open_opts op = {.assertion = jwt, .patient = "pat-001",
	    .purpose = "TREAT", .scopes = "patient/*.rs"};

	svid_files(&s, "orch", cert, key);
	for (int with_key = 0; with_key < 2; with_key++) {
		mdt_agent *a = NULL;
		mdt_task *t = NULL;
		mdt_authz *az = NULL;

		o.key = with_key ? bt_key(&B, BT_ORCH) : NULL;
		ck_assert_msg(mdt_agent_connect_svid(&o, &so, &a, err,
		    sizeof(err)) == 0, "%s", err);
		ck_assert_msg(mdt_agent_open_task(a, &op, &t, err,
		    sizeof(err)) == 0, "%s", err);
		ck_assert_msg(mdt_task_authorize(t, "r", "Observation/obs-001-1",
		    &az, err, sizeof(err)) == 0, "%s", err);
		ck_assert_int_eq(mdt_authz_decision_of(az), MDT_AUTHZ_ALLOW);
		ck_assert_int_eq(mdt_task_present(t, az, 0, tok, proof),
		    with_key ? 0 : -MDT_EKEY);
		mdt_authz_free(az);
		mdt_task_free(t);
		mdt_agent_close(a);
	}
	free(jwt);
	svid_free(&s);
}
END_TEST

/* A broker without svid_bundle refuses SVIDs and says so. */
START_TEST(svid_auth_off)
{
	struct svid s = valid_svid(BT_ORCH, SVF_P256);
	char cert[600], key[600], err[MDT_ERRMSG_MAX] = "";
	mdt_agent_svid_opts so = {.cert_file = cert, .key_file = key};
	mdt_agent_opts o = {.url = B.url, .timeout_ms = 5000, .retry_ms = 20};
	mdt_agent *a = NULL;
	struct bt_conn c;
	mdt_wire_msg *m;

	ck_assert_int_eq(bt_dial(&c, B.url), 0);
	m = auth_svid(&c, BT_ORCH, &s, NULL);
	ck_assert_str_eq(bt_reason(m), "auth.unsupported");
	ck_assert_int_eq(mdt_wire_msg_error(m, NULL, NULL), -MDT_EUNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(detail(m), "svid_bundle"));
	mdt_wire_msg_free(m);
	expect_unauthenticated(&c);
	/* the Ed25519 key still works */
	ck_assert_int_eq(bt_auth(&c, BT_ORCH, bt_key(&B, BT_ORCH)), 0);
	bt_close(&c);
	svid_files(&s, "orch", cert, key);
	ck_assert_int_eq(mdt_agent_connect_svid(&o, &so, &a, err,
	    sizeof(err)), -MDT_EUNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(err, "auth.unsupported"));
	svid_free(&s);
}
END_TEST

static void
setup_off(void)
{
	start(0);
}

static Suite *
svid_suite(void)
{
	Suite *s = suite_create("broker_svid");
	TCase *t = tcase_create("svid_bundle");
	TCase *off = tcase_create("svid_off");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, valid_svids_authenticate);
	tcase_add_test(t, invalid_svids_refused);
	tcase_add_test(t, signatures_and_chain_shapes);
	tcase_add_test(t, svid_of_another_agent);
	tcase_add_test(t, challenge_replay_refused);
	tcase_add_test(t, session_ends_with_the_svid);
	tcase_add_test(t, intermediate_and_rotated_bundle);
	tcase_add_test(t, sdk_connects_with_svid);
	tcase_add_test(t, sdk_svid_holder_key);
	tcase_add_test(t, sdk_picks_up_rotated_svid);
	suite_add_tcase(s, t);
	tcase_add_checked_fixture(off, setup_off, teardown);
	tcase_set_timeout(off, 60);
	tcase_add_test(off, svid_auth_off);
	suite_add_tcase(s, off);
	return s;
}

int
main(void)
{
	return mdt_test_run(svid_suite());
}

/*
 * X.509-SVIDs: trust bundles, chain verification under the SPIFFE rules,
 * signatures by the leaf's key, and the holder's files.  Every certificate
 * is made here with OpenSSL (tests/common/svid_fixture.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include <mandate/svid.h>

#include "alloc_int.h"
#include "svid_fixture.h"
#include "testutil.h"

#define TD "example.org"
#define AGENT "spiffe://example.org/agent/a"

/* The test PKI: one root (the bundle), another root (not trusted). */
static EVP_PKEY *ca_key, *other_key;
static X509 *ca, *other;
static mdt_svid_bundle *bundle;
static char dir[64];

static void
pki_setup(void)
{
	char *pem = NULL;
	long n;
	BIO *bio = BIO_new(BIO_s_mem());
	char err[MDT_ERRMSG_MAX];

	ca = svf_root(TD, &ca_key);
	other = svf_root(TD, &other_key);
	ck_assert(ca != NULL && other != NULL);
	ck_assert_int_eq(PEM_write_bio_X509(bio, ca), 1);
	n = BIO_get_mem_data(bio, &pem);
	ck_assert_msg(mdt_svid_bundle_from_pem(pem, (size_t)n, TD, &bundle,
	    err, sizeof(err)) == 0, "%s", err);
	BIO_free(bio);
	snprintf(dir, sizeof(dir), "/tmp/mdt-svid-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
pki_teardown(void)
{
	char cmd[128];

	mdt_svid_bundle_free(bundle);
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A chain of up to 4 certificates as DER. */
struct chain {
	mdt_svid_cert c[MDT_SVID_CHAIN_MAX + 1];
	uint8_t *der[MDT_SVID_CHAIN_MAX + 1];
	size_t n;
};

static void
chain_add(struct chain *ch, X509 *x)
{
	size_t len = 0;

	ch->der[ch->n] = svf_der(x, &len);
	ck_assert_ptr_nonnull(ch->der[ch->n]);
	ch->c[ch->n].der = ch->der[ch->n];
	ch->c[ch->n].len = len;
	ch->n++;
}

static void
chain_free(struct chain *ch)
{
	for (size_t i = 0; i < ch->n; i++)
		OPENSSL_free(ch->der[i]);
	ch->n = 0;
}

/* A leaf for key with options o, issued by the bundle's CA. */
static X509 *
leaf(EVP_PKEY *key, const struct svf_opts *o)
{
	X509 *x = svf_cert(key, o, ca, ca_key);

	ck_assert_ptr_nonnull(x);
	return x;
}

/* Verifies a one-certificate chain made with o; returns the status. */
static int
verify_leaf_opts(const struct svf_opts *o, char *err, size_t errlen)
{
	EVP_PKEY *k = svf_key(SVF_P256);
	X509 *x = leaf(k, o);
	struct chain ch = {0};
	mdt_svid_info info;
	int rc;

	chain_add(&ch, x);
	rc = mdt_svid_verify(bundle, ch.c, ch.n, time(NULL), &info, err,
	    errlen);
	chain_free(&ch);
	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

#define EXPECT_REFUSED(o, status, text) do {                              \
	char e_[MDT_ERRMSG_MAX] = "";                                     \
	int r_ = verify_leaf_opts(&(o), e_, sizeof(e_));                  \
	ck_assert_msg(r_ == (status), "status %d, want %d: %s", r_,       \
	    (status), e_);                                                \
	ck_assert_msg(strstr(e_, (text)) != NULL, "message '%s' lacks "   \
	    "'%s'", e_, (text));                                          \
} while (0)

START_TEST(valid_leaf_each_key_type)
{
	static const enum svf_key_type types[] = {SVF_P256, SVF_P384,
	    SVF_ED25519};
	const uint8_t msg[] = "challenge bytes";

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		EVP_PKEY *k = svf_key(types[i]);
		struct svf_opts o = svf_leaf_opts(AGENT);
		X509 *x = leaf(k, &o);
		struct chain ch = {0};
		mdt_svid_info info;
		char err[MDT_ERRMSG_MAX] = "";
		uint8_t sig[MDT_SVID_SIG_MAX];
		size_t siglen = sizeof(sig);
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		chain_add(&ch, x);
		ck_assert_msg(mdt_svid_verify(bundle, ch.c, ch.n, time(NULL),
		    &info, err, sizeof(err)) == 0, "type %zu: %s", i, err);
		ck_assert_str_eq(info.id.id, AGENT);
		ck_assert(info.not_after > time(NULL) + 3500 &&
		    info.not_after <= time(NULL) + 3600);
		ck_assert_int_eq(EVP_DigestSignInit_ex(md, NULL,
		    types[i] == SVF_ED25519 ? NULL : types[i] == SVF_P384 ?
		    "SHA384" : "SHA256", NULL, NULL, k, NULL), 1);
		ck_assert_int_eq(EVP_DigestSign(md, sig, &siglen, msg,
		    sizeof(msg)), 1);
		ck_assert_msg(mdt_svid_verify_signed(bundle, ch.c, ch.n,
		    time(NULL), msg, sizeof(msg), sig, siglen, &info, err,
		    sizeof(err)) == 0, "type %zu: %s", i, err);
		/* the same signature over other bytes */
		ck_assert_int_eq(mdt_svid_verify_signed(bundle, ch.c, ch.n,
		    time(NULL), msg, sizeof(msg) - 1, sig, siglen, &info, err,
		    sizeof(err)), -MDT_ESIG);
		EVP_MD_CTX_free(md);
		chain_free(&ch);
		X509_free(x);
		EVP_PKEY_free(k);
	}
}
END_TEST

START_TEST(intermediate_chain)
{
	EVP_PKEY *ik = svf_key(SVF_P256), *lk = svf_key(SVF_ED25519);
	struct svf_opts io = svf_ca_opts("spiffe://" TD);
	struct svf_opts lo = svf_leaf_opts(AGENT);
	X509 *inter = svf_cert(ik, &io, ca, ca_key);
	X509 *x = svf_cert(lk, &lo, inter, ik);
	struct chain ch = {0};
	mdt_svid_info info;
	char err[MDT_ERRMSG_MAX] = "";

	chain_add(&ch, x);
	/* without the intermediate, no path */
	ck_assert_int_eq(mdt_svid_verify(bundle, ch.c, ch.n, time(NULL),
	    &info, err, sizeof(err)), -MDT_EAUTH);
	ck_assert_ptr_nonnull(strstr(err, "path: certificate at depth 0"));
	chain_add(&ch, inter);
	ck_assert_msg(mdt_svid_verify(bundle, ch.c, ch.n, time(NULL), &info,
	    err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(info.id.id, AGENT);
	chain_free(&ch);
	X509_free(x);
	X509_free(inter);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
}
END_TEST

/* The SVID's URI SAN goes through mdt_spiffe_parse: each invalid form of
 * an otherwise good id is refused, with the parser's reason. */
START_TEST(san_not_a_valid_id)
{
	static const struct { const char *uri, *why; } bad[] = {
		{ AGENT "?x=1", "no query" },
		{ AGENT "#f", "no fragment" },
		{ "spiffe://" TD ":443/agent/a", "no port" },
		{ "spiffe://u@" TD "/agent/a", "no userinfo" },
		{ "spiffe://" TD "/agent/../agent/a", "\"..\"" },
		{ "spiffe://" TD "/agent/./a", "\"..\"" },
		{ "spiffe://" TD "/agent/%2e%2e/a", "percent-encoding" },
		{ AGENT "/", "trailing" },
		{ "spiffe://" TD "/agent//a", "\"//\"" },
		{ "spiffe://" TD "//agent/a", "\"//\"" },
		{ "spiffe://EXAMPLE.org/agent/a", "lowercase" },
		{ "SPIFFE://" TD "/agent/a", "lowercase" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct svf_opts o = svf_leaf_opts(bad[i].uri);
		EXPECT_REFUSED(o, -MDT_EPARSE, "URI subjectAltName is not a "
		    "SPIFFE id");
		EXPECT_REFUSED(o, -MDT_EPARSE, bad[i].why);
	}
}
END_TEST

START_TEST(intermediate_that_is_not_a_ca)
{
	EVP_PKEY *ik = svf_key(SVF_P256), *lk = svf_key(SVF_P256);
	struct svf_opts io = svf_leaf_opts("spiffe://" TD "/signer");
	struct svf_opts lo = svf_leaf_opts(AGENT);
	X509 *inter = svf_cert(ik, &io, ca, ca_key);
	X509 *x = svf_cert(lk, &lo, inter, ik);
	struct chain ch = {0};
	char err[MDT_ERRMSG_MAX] = "";

	chain_add(&ch, x);
	chain_add(&ch, inter);
	ck_assert_int_eq(mdt_svid_verify(bundle, ch.c, ch.n, time(NULL),
	    NULL, err, sizeof(err)), -MDT_EAUTH);
	ck_assert_msg(strstr(err, "certificate 1: not a CA") != NULL, "%s",
	    err);
	chain_free(&ch);
	X509_free(x);
	X509_free(inter);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
}
END_TEST

START_TEST(leaf_rules)
{
	struct svf_opts o;

	o = svf_leaf_opts("spiffe://other.org/agent/a");
	EXPECT_REFUSED(o, -MDT_EAUTH, "not in trust domain example.org");
	o = svf_leaf_opts(NULL);
	o.san = "URI:" AGENT ",URI:spiffe://example.org/agent/b";
	EXPECT_REFUSED(o, -MDT_EAUTH, "more than one URI subjectAltName");
	o = svf_leaf_opts(NULL);
	o.san = "DNS:agent.example.org";
	EXPECT_REFUSED(o, -MDT_EAUTH, "no URI subjectAltName");
	o = svf_leaf_opts(NULL);
	EXPECT_REFUSED(o, -MDT_EAUTH, "no URI subjectAltName");
	o = svf_leaf_opts("spiffe://Example.org/a");
	EXPECT_REFUSED(o, -MDT_EPARSE, "not a SPIFFE id: byte 9");
	o = svf_leaf_opts("https://example.org/a");
	EXPECT_REFUSED(o, -MDT_EPARSE, "not a SPIFFE id");
	o = svf_leaf_opts("spiffe://" TD);
	EXPECT_REFUSED(o, -MDT_EAUTH, "has no path");
	o = svf_leaf_opts(AGENT);
	o.bc = "critical,CA:TRUE";
	EXPECT_REFUSED(o, -MDT_EAUTH, "certificate 0 (leaf): is a CA");
	o = svf_leaf_opts(AGENT);
	o.ku = "critical,keyEncipherment";
	EXPECT_REFUSED(o, -MDT_EAUTH, "lacks digitalSignature");
	o = svf_leaf_opts(AGENT);
	o.ku = "critical,digitalSignature,keyCertSign";
	EXPECT_REFUSED(o, -MDT_EAUTH, "keyCertSign or cRLSign");
	o = svf_leaf_opts(AGENT);
	o.ku = "digitalSignature";
	EXPECT_REFUSED(o, -MDT_EAUTH, "not marked critical");
	o = svf_leaf_opts(AGENT);
	o.ku = NULL;
	EXPECT_REFUSED(o, -MDT_EAUTH, "no keyUsage");
	o = svf_leaf_opts(AGENT);
	o.eku = "serverAuth";
	EXPECT_REFUSED(o, -MDT_EAUTH, "lacks clientAuth");
	o = svf_leaf_opts(AGENT);
	o.not_before = -7200;
	o.not_after = -60;
	EXPECT_REFUSED(o, -MDT_EEXPIRED, "depth 0: certificate has expired");
	o = svf_leaf_opts(AGENT);
	o.not_before = 600;
	o.not_after = 3600;
	EXPECT_REFUSED(o, -MDT_EEXPIRED, "not yet valid");
}
END_TEST

START_TEST(leaf_without_basic_constraints_is_a_leaf)
{
	struct svf_opts o = svf_leaf_opts(AGENT);
	char err[MDT_ERRMSG_MAX] = "";

	o.bc = NULL;
	o.eku = NULL;
	ck_assert_msg(verify_leaf_opts(&o, err, sizeof(err)) == 0, "%s", err);
}
END_TEST

/* SPIFFE 3.1 and RFC 5280: without a subject the SAN must be critical. */
START_TEST(empty_subject_needs_critical_san)
{
	struct svf_opts o = svf_leaf_opts(NULL);
	char err[MDT_ERRMSG_MAX] = "";

	o.cn = NULL;
	o.san = "URI:" AGENT;
	EXPECT_REFUSED(o, -MDT_EAUTH, "depth 0");
	o.san = "critical,URI:" AGENT;
	ck_assert_msg(verify_leaf_opts(&o, err, sizeof(err)) == 0, "%s", err);
}
END_TEST

START_TEST(signed_by_another_ca)
{
	EVP_PKEY *k = svf_key(SVF_P256);
	struct svf_opts o = svf_leaf_opts(AGENT);
	X509 *x = svf_cert(k, &o, other, other_key);
	struct chain ch = {0};
	char err[MDT_ERRMSG_MAX] = "";

	chain_add(&ch, x);
	ck_assert_int_eq(mdt_svid_verify(bundle, ch.c, ch.n, time(NULL),
	    NULL, err, sizeof(err)), -MDT_EAUTH);
	ck_assert_msg(strstr(err, "path: certificate at depth 0") != NULL,
	    "%s", err);
	/* presenting the other root along does not help */
	chain_add(&ch, other);
	ck_assert_int_eq(mdt_svid_verify(bundle, ch.c, ch.n, time(NULL),
	    NULL, err, sizeof(err)), -MDT_EAUTH);
	chain_free(&ch);
	X509_free(x);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(time_is_the_callers)
{
	struct svf_opts o = svf_leaf_opts(AGENT);
	EVP_PKEY *k = svf_key(SVF_P256);
	X509 *x = leaf(k, &o);
	struct chain ch = {0};
	char err[MDT_ERRMSG_MAX] = "";

	chain_add(&ch, x);
	ck_assert_int_eq(mdt_svid_verify(bundle, ch.c, ch.n, time(NULL) +
	    7200, NULL, err, sizeof(err)), -MDT_EEXPIRED);
	ck_assert_int_eq(mdt_svid_verify(bundle, ch.c, ch.n, time(NULL) -
	    600, NULL, err, sizeof(err)), -MDT_EEXPIRED);
	chain_free(&ch);
	X509_free(x);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(der_and_bounds)
{
	struct svf_opts o = svf_leaf_opts(AGENT);
	EVP_PKEY *k = svf_key(SVF_P256);
	X509 *x = leaf(k, &o);
	struct chain ch = {0};
	uint8_t buf[MDT_SVID_CERT_MAX + 2];
	mdt_svid_cert c;
	char err[MDT_ERRMSG_MAX] = "";

	chain_add(&ch, x);
	memcpy(buf, ch.c[0].der, ch.c[0].len);
	buf[ch.c[0].len] = 0;
	c.der = buf;
	c.len = ch.c[0].len + 1;
	ck_assert_int_eq(mdt_svid_verify(bundle, &c, 1, time(NULL), NULL, err,
	    sizeof(err)), -MDT_EDECODE);
	ck_assert_ptr_nonnull(strstr(err, "certificate 0: 1 bytes after"));
	c.len = ch.c[0].len - 1;
	ck_assert_int_eq(mdt_svid_verify(bundle, &c, 1, time(NULL), NULL, err,
	    sizeof(err)), -MDT_EDECODE);
	c.len = sizeof(buf);
	ck_assert_int_eq(mdt_svid_verify(bundle, &c, 1, time(NULL), NULL, err,
	    sizeof(err)), -MDT_ETOOBIG);
	c.len = 0;
	ck_assert_int_eq(mdt_svid_verify(bundle, &c, 1, time(NULL), NULL, err,
	    sizeof(err)), -MDT_EDECODE);
	ck_assert_int_eq(mdt_svid_verify(bundle, ch.c, 0, time(NULL), NULL,
	    err, sizeof(err)), -MDT_EDECODE);
	for (size_t i = 1; i <= MDT_SVID_CHAIN_MAX; i++)
		ch.c[i] = ch.c[0];
	ck_assert_int_eq(mdt_svid_verify(bundle, ch.c, MDT_SVID_CHAIN_MAX + 1,
	    time(NULL), NULL, err, sizeof(err)), -MDT_ETOOBIG);
	/* the leaf presented again as an intermediate is not a CA */
	ck_assert_int_eq(mdt_svid_verify(bundle, ch.c, 2, time(NULL), NULL,
	    err, sizeof(err)), -MDT_EAUTH);
	ck_assert_ptr_nonnull(strstr(err, "certificate 1: not a CA"));
	chain_free(&ch);
	X509_free(x);
	EVP_PKEY_free(k);
}
END_TEST

/* An ECDSA P-256 leaf, its chain and a DER signature over msg. */
struct ec_case {
	EVP_PKEY *k;
	X509 *x;
	struct chain ch;
	uint8_t sig[MDT_SVID_SIG_MAX];
	size_t siglen;
};

static const uint8_t ec_msg[] = "mandate-auth-v1";

static void
ec_case_new(struct ec_case *e)
{
	struct svf_opts o = svf_leaf_opts(AGENT);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	memset(e, 0, sizeof(*e));
	e->k = svf_key(SVF_P256);
	e->x = leaf(e->k, &o);
	chain_add(&e->ch, e->x);
	e->siglen = sizeof(e->sig);
	ck_assert_int_eq(EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL,
	    NULL, e->k, NULL), 1);
	ck_assert_int_eq(EVP_DigestSign(md, e->sig, &e->siglen, ec_msg,
	    sizeof(ec_msg)), 1);
	EVP_MD_CTX_free(md);
}

static void
ec_case_free(struct ec_case *e)
{
	chain_free(&e->ch);
	X509_free(e->x);
	EVP_PKEY_free(e->k);
}

static int
ec_verify(struct ec_case *e, const uint8_t *sig, size_t len, char *err)
{
	return mdt_svid_verify_signed(bundle, e->ch.c, e->ch.n, time(NULL),
	    ec_msg, sizeof(ec_msg), sig, len, NULL, err, MDT_ERRMSG_MAX);
}

START_TEST(ecdsa_malleability_refused)
{
	static const uint8_t zero[] = {0x30, 0x06, 0x02, 0x01, 0x00, 0x02,
	    0x01, 0x00};
	struct ec_case e;
	uint8_t bad[MDT_SVID_SIG_MAX + 8];
	char err[MDT_ERRMSG_MAX] = "";

	ec_case_new(&e);
	ck_assert_msg(ec_verify(&e, e.sig, e.siglen, err) == 0, "%s", err);
	ck_assert_int_eq(ec_verify(&e, zero, sizeof(zero), err), -MDT_ESIG);
	/* the same r, s with a long-form DER length: not canonical */
	bad[0] = 0x30;
	bad[1] = 0x81;
	memcpy(bad + 2, e.sig + 1, e.siglen - 1);
	ck_assert_int_eq(ec_verify(&e, bad, e.siglen + 1, err), -MDT_ESIG);
	/* a trailing byte */
	memcpy(bad, e.sig, e.siglen);
	bad[e.siglen] = 0;
	ck_assert_int_eq(ec_verify(&e, bad, e.siglen + 1, err), -MDT_ESIG);
	/* raw r || s (JOSE form) is not DER */
	memset(bad, 0x11, 64);
	ck_assert_int_eq(ec_verify(&e, bad, 64, err), -MDT_ESIG);
	/* a flipped bit */
	memcpy(bad, e.sig, e.siglen);
	bad[e.siglen - 3] ^= 1;
	ck_assert_int_eq(ec_verify(&e, bad, e.siglen, err), -MDT_ESIG);
	ck_assert_int_eq(ec_verify(&e, bad, 0, err), -MDT_ESIG);
	ck_assert_int_eq(ec_verify(&e, bad, MDT_SVID_SIG_MAX + 1, err),
	    -MDT_ESIG);
	ec_case_free(&e);
}
END_TEST

START_TEST(rsa_leaf_unsupported)
{
	EVP_PKEY *k = svf_key(SVF_RSA2048);
	struct svf_opts o = svf_leaf_opts(AGENT);
	X509 *x = leaf(k, &o);
	struct chain ch = {0};
	uint8_t sig[64] = {0};
	char err[MDT_ERRMSG_MAX] = "";

	chain_add(&ch, x);
	ck_assert_int_eq(mdt_svid_verify(bundle, ch.c, ch.n, time(NULL), NULL,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(mdt_svid_verify_signed(bundle, ch.c, ch.n,
	    time(NULL), ec_msg, sizeof(ec_msg), sig, sizeof(sig), NULL, err,
	    sizeof(err)), -MDT_EUNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(err, "rsaEncryption"));
	chain_free(&ch);
	X509_free(x);
	EVP_PKEY_free(k);
}
END_TEST

/* Bundle PEM text of certs into buf; returns the length. */
static size_t
pem_of(X509 *const *certs, size_t n, char *buf, size_t cap)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL;
	long len;

	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(PEM_write_bio_X509(bio, certs[i]), 1);
	len = BIO_get_mem_data(bio, &p);
	ck_assert((size_t)len < cap);
	memcpy(buf, p, (size_t)len);
	buf[len] = 0;
	BIO_free(bio);
	return (size_t)len;
}

static int
bundle_status(X509 *const *certs, size_t n, const char *td, char *err)
{
	static char pem[65536];
	mdt_svid_bundle *b = NULL;
	size_t len = pem_of(certs, n, pem, sizeof(pem));
	int rc = mdt_svid_bundle_from_pem(pem, len, td, &b, err,
	    MDT_ERRMSG_MAX);

	if (rc == 0)
		ck_assert_uint_eq(mdt_svid_bundle_count(b), n);
	mdt_svid_bundle_free(b);
	return rc;
}

START_TEST(bundle_rules)
{
	EVP_PKEY *k = svf_key(SVF_P256);
	struct svf_opts lo = svf_leaf_opts(AGENT);
	struct svf_opts fo = svf_ca_opts("spiffe://other.org");
	struct svf_opts po = svf_ca_opts("spiffe://" TD "/ca");
	X509 *lf = leaf(k, &lo), *foreign = svf_cert(k, &fo, NULL, NULL);
	X509 *pathca = svf_cert(k, &po, NULL, NULL);
	X509 *two[2] = {ca, other};
	mdt_svid_bundle *b = NULL;
	char err[MDT_ERRMSG_MAX] = "";

	ck_assert_int_eq(bundle_status(two, 2, TD, err), 0);
	ck_assert_int_eq(bundle_status(&lf, 1, TD, err), -MDT_EAUTH);
	ck_assert_ptr_nonnull(strstr(err, "bundle certificate 0: not a CA"));
	two[1] = foreign;
	ck_assert_int_eq(bundle_status(two, 2, TD, err), -MDT_EAUTH);
	ck_assert_msg(strstr(err, "bundle certificate 1: SPIFFE id "
	    "spiffe://other.org is not trust domain example.org") != NULL,
	    "%s", err);
	ck_assert_int_eq(bundle_status(&pathca, 1, TD, err), -MDT_EAUTH);
	ck_assert_ptr_nonnull(strstr(err, "with a SPIFFE id path"));
	ck_assert_int_eq(bundle_status(&ca, 1, "Example.org", err),
	    -MDT_EPARSE);
	ck_assert_int_eq(mdt_svid_bundle_from_pem("", 0, TD, &b, err,
	    sizeof(err)), -MDT_EPARSE);
	ck_assert_int_eq(mdt_svid_bundle_from_pem("-----BEGIN CERTIFICATE-----"
	    "\nAAAA\n-----END CERTIFICATE-----\n", 59, TD, &b, err,
	    sizeof(err)), -MDT_EDECODE);
	ck_assert_ptr_null(b);
	X509_free(lf);
	X509_free(foreign);
	X509_free(pathca);
	EVP_PKEY_free(k);
}
END_TEST

START_TEST(bundle_files)
{
	char path[128], err[MDT_ERRMSG_MAX] = "";
	mdt_svid_bundle *b = NULL;

	snprintf(path, sizeof(path), "%s/bundle.pem", dir);
	ck_assert_int_eq(svf_write_certs(path, &ca, 1), 0);
	ck_assert_msg(mdt_svid_bundle_load(path, TD, &b, err, sizeof(err)) ==
	    0, "%s", err);
	ck_assert_str_eq(mdt_svid_bundle_trust_domain(b), TD);
	mdt_svid_bundle_free(b);
	b = NULL;
	snprintf(path, sizeof(path), "%s/none.pem", dir);
	ck_assert_int_eq(mdt_svid_bundle_load(path, TD, &b, err, sizeof(err)),
	    -MDT_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err, "none.pem"));
	ck_assert_int_eq(mdt_svid_bundle_load(dir, TD, &b, err, sizeof(err)),
	    -MDT_EIO);
	ck_assert_ptr_null(b);
}
END_TEST

/* Writes an SVID (leaf + optional intermediate) and its key. */
static void
write_svid(X509 *const *certs, size_t n, EVP_PKEY *k, char *cert,
    char *key, mode_t mode)
{
	snprintf(cert, 128, "%s/svid.pem", dir);
	snprintf(key, 128, "%s/svid.key", dir);
	unlink(key);
	ck_assert_int_eq(svf_write_certs(cert, certs, n), 0);
	ck_assert_int_eq(svf_write_key(key, k), 0);
	ck_assert_int_eq(chmod(key, mode), 0);
}

START_TEST(holder_sign_and_verify)
{
	static const enum svf_key_type types[] = {SVF_P256, SVF_P384,
	    SVF_ED25519};
	char cert[128], key[128], err[MDT_ERRMSG_MAX] = "";

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		EVP_PKEY *k = svf_key(types[i]);
		struct svf_opts o = svf_leaf_opts(AGENT);
		X509 *x = leaf(k, &o);
		mdt_svid *s = NULL;
		const mdt_svid_cert *ch;
		uint8_t sig[MDT_SVID_SIG_MAX];
		size_t n = 0, siglen = 0;
		mdt_svid_info info;

		write_svid(&x, 1, k, cert, key, 0600);
		ck_assert_msg(mdt_svid_load(cert, key, &s, err, sizeof(err)) ==
		    0, "%s", err);
		ck_assert_str_eq(mdt_svid_spiffe_id(s), AGENT);
		ch = mdt_svid_chain(s, &n);
		ck_assert_uint_eq(n, 1);
		ck_assert_int_eq(mdt_svid_sign(s, ec_msg, sizeof(ec_msg), sig,
		    sizeof(sig), &siglen), 0);
		ck_assert_msg(mdt_svid_verify_signed(bundle, ch, n, time(NULL),
		    ec_msg, sizeof(ec_msg), sig, siglen, &info, err,
		    sizeof(err)) == 0, "%s", err);
		ck_assert_int_eq(mdt_svid_sign(s, ec_msg, sizeof(ec_msg), sig,
		    8, &siglen), -MDT_ETOOBIG);
		mdt_svid_free(s);
		X509_free(x);
		EVP_PKEY_free(k);
	}
}
END_TEST

START_TEST(holder_files_refused)
{
	EVP_PKEY *k = svf_key(SVF_P256), *k2 = svf_key(SVF_P256);
	struct svf_opts o = svf_leaf_opts(AGENT);
	struct svf_opts two = svf_leaf_opts(NULL);
	X509 *x = leaf(k, &o), *y;
	mdt_svid *s = NULL;
	char cert[128], key[128], err[MDT_ERRMSG_MAX] = "";

	write_svid(&x, 1, k, cert, key, 0644);
	ck_assert_int_eq(mdt_svid_load(cert, key, &s, err, sizeof(err)),
	    -MDT_EKEY);
	ck_assert_ptr_nonnull(strstr(err, "open to group or others"));
	write_svid(&x, 1, k2, cert, key, 0600);
	ck_assert_int_eq(mdt_svid_load(cert, key, &s, err, sizeof(err)),
	    -MDT_EKEY);
	ck_assert_ptr_nonnull(strstr(err, "not the key of the leaf"));
	{
		FILE *f = fopen(key, "w");
		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(PEM_write_PrivateKey(f, k, EVP_aes_256_cbc(),
		    (const unsigned char *)"pw", 2, NULL, NULL), 1);
		fclose(f);
		ck_assert_int_eq(mdt_svid_load(cert, key, &s, err,
		    sizeof(err)), -MDT_EKEY);
		ck_assert_ptr_nonnull(strstr(err, "no unencrypted"));
	}
	two.san = "URI:" AGENT ",URI:spiffe://example.org/b";
	y = leaf(k, &two);
	write_svid(&y, 1, k, cert, key, 0600);
	ck_assert_int_eq(mdt_svid_load(cert, key, &s, err, sizeof(err)),
	    -MDT_EAUTH);
	ck_assert_ptr_nonnull(strstr(err, "svid.pem: certificate 0"));
	ck_assert_ptr_null(s);
	X509_free(x);
	X509_free(y);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}
END_TEST

START_TEST(allocation_failures)
{
	static char pem[8192];
	size_t len = pem_of(&ca, 1, pem, sizeof(pem));
	char cert[128], key[128], err[MDT_ERRMSG_MAX] = "";
	EVP_PKEY *k = svf_key(SVF_P256);
	struct svf_opts o = svf_leaf_opts(AGENT);
	X509 *x = leaf(k, &o);
	long failed = 0;
	int rc = -1;

	for (long n = 0; n < 64 && rc != 0; n++) {
		mdt_svid_bundle *b = NULL;
		mdt__alloc_fail_after(n);
		rc = mdt_svid_bundle_from_pem(pem, len, TD, &b, err,
		    sizeof(err));
		mdt__alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == -MDT_ENOMEM);
		failed += rc == -MDT_ENOMEM;
		mdt_svid_bundle_free(b);
	}
	ck_assert_int_eq(rc, 0);
	write_svid(&x, 1, k, cert, key, 0600);
	rc = -1;
	for (long n = 0; n < 64 && rc != 0; n++) {
		mdt_svid *s = NULL;
		mdt__alloc_fail_after(n);
		rc = mdt_svid_load(cert, key, &s, err, sizeof(err));
		mdt__alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == -MDT_ENOMEM);
		failed += rc == -MDT_ENOMEM;
		mdt_svid_free(s);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_ge(failed, 3);
	X509_free(x);
	EVP_PKEY_free(k);
}
END_TEST

static Suite *
svid_suite(void)
{
	Suite *s = suite_create("svid");
	TCase *t = tcase_create("svid");

	tcase_add_checked_fixture(t, pki_setup, pki_teardown);
	tcase_add_test(t, valid_leaf_each_key_type);
	tcase_add_test(t, intermediate_chain);
	tcase_add_test(t, intermediate_that_is_not_a_ca);
	tcase_add_test(t, leaf_rules);
	tcase_add_test(t, san_not_a_valid_id);
	tcase_add_test(t, leaf_without_basic_constraints_is_a_leaf);
	tcase_add_test(t, empty_subject_needs_critical_san);
	tcase_add_test(t, signed_by_another_ca);
	tcase_add_test(t, time_is_the_callers);
	tcase_add_test(t, der_and_bounds);
	tcase_add_test(t, ecdsa_malleability_refused);
	tcase_add_test(t, rsa_leaf_unsupported);
	tcase_add_test(t, bundle_rules);
	tcase_add_test(t, bundle_files);
	tcase_add_test(t, holder_sign_and_verify);
	tcase_add_test(t, holder_files_refused);
	tcase_add_test(t, allocation_failures);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return mdt_test_run(svid_suite());
}

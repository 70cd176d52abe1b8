/*
 * Ed25519 key pairs, key ids, text forms and domain-separated signatures
 * (libsodium).  Files are in key_file.c.
 */
#include <string.h>

#include <mandate/key.h>

#include "alloc_int.h"
#include "key_int.h"

#define KEY_ID_DOMAIN "mandate/key/v1/id"
#define STAGE_STACK 4608 /* fits a maximal token block and its header */

int
mdt__sodium_init(void)
{
	return sodium_init() < 0 ? -MDT_ECRYPTO : 0;
}

static int
keypair_alloc(mdt_keypair **out)
{
	int rc = mdt__sodium_init();

	if (rc != 0)
		return rc;
	if ((*out = mdt__calloc(1, sizeof(**out))) == NULL)
		return -MDT_ENOMEM;
	return 0;
}

int
mdt_keypair_generate(mdt_keypair **out)
{
	mdt_keypair *kp;
	int rc;

	if (out == NULL)
		return -MDT_EINVAL;
	if ((rc = keypair_alloc(&kp)) != 0)
		return rc;
	if (crypto_sign_keypair(kp->pk.bytes, kp->sk) != 0) {
		mdt_keypair_free(kp);
		return -MDT_ECRYPTO;
	}
	*out = kp;
	return 0;
}

int
mdt_keypair_from_seed(const uint8_t seed[MDT_KEY_SEED_BYTES],
    mdt_keypair **out)
{
	mdt_keypair *kp;
	int rc;

	if (seed == NULL || out == NULL)
		return -MDT_EINVAL;
	if ((rc = keypair_alloc(&kp)) != 0)
		return rc;
	if (crypto_sign_seed_keypair(kp->pk.bytes, kp->sk, seed) != 0) {
		mdt_keypair_free(kp);
		return -MDT_ECRYPTO;
	}
	*out = kp;
	return 0;
}

int
mdt__keypair_from_checked_seed(const uint8_t seed[MDT_KEY_SEED_BYTES],
    const uint8_t pk[MDT_KEY_PUBLIC_BYTES], mdt_keypair **out)
{
	mdt_keypair *kp;
	int rc;

	if (seed == NULL || pk == NULL || out == NULL)
		return -MDT_EINVAL;
	if ((rc = keypair_alloc(&kp)) != 0)
		return rc;
	/* libsodium's secret key layout: seed || public key */
	memcpy(kp->sk, seed, MDT_KEY_SEED_BYTES);
	memcpy(kp->sk + MDT_KEY_SEED_BYTES, pk, MDT_KEY_PUBLIC_BYTES);
	memcpy(kp->pk.bytes, pk, MDT_KEY_PUBLIC_BYTES);
	*out = kp;
	return 0;
}

void
mdt_keypair_free(mdt_keypair *kp)
{
	if (kp == NULL)
		return;
	sodium_memzero(kp, sizeof(*kp));
	mdt__free(kp);
}

void
mdt_keypair_public(const mdt_keypair *kp, mdt_pubkey *out)
{
	*out = kp->pk;
}

void
mdt_keypair_seed(const mdt_keypair *kp, uint8_t seed[MDT_KEY_SEED_BYTES])
{
	crypto_sign_ed25519_sk_to_seed(seed, kp->sk);
}

int
mdt__seed_public(const uint8_t seed[MDT_KEY_SEED_BYTES],
    uint8_t pk[MDT_KEY_PUBLIC_BYTES])
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	int rc = crypto_sign_seed_keypair(pk, sk, seed);

	sodium_memzero(sk, sizeof(sk));
	return rc == 0 ? 0 : -MDT_ECRYPTO;
}

int
mdt_pubkey_equal(const mdt_pubkey *a, const mdt_pubkey *b)
{
	return sodium_memcmp(a->bytes, b->bytes, MDT_KEY_PUBLIC_BYTES) == 0;
}

void
mdt_key_id(const mdt_pubkey *pk, uint8_t out[MDT_KEY_ID_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, MDT_KEY_ID_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)KEY_ID_DOMAIN,
	    sizeof(KEY_ID_DOMAIN)); /* includes the 0x00 separator */
	crypto_generichash_update(&st, pk->bytes, MDT_KEY_PUBLIC_BYTES);
	crypto_generichash_final(&st, out, MDT_KEY_ID_BYTES);
}

void
mdt__hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

void
mdt_key_id_text(const mdt_pubkey *pk, char out[MDT_KEY_ID_TEXT_BYTES])
{
	uint8_t id[MDT_KEY_ID_BYTES];

	mdt_key_id(pk, id);
	mdt__hex(id, sizeof(id), out);
}

void
mdt_pubkey_to_text(const mdt_pubkey *pk, char buf[MDT_KEY_PUBLIC_TEXT_BYTES])
{
	size_t pre = sizeof(MDT_KEY_PUBLIC_PREFIX) - 1;

	memcpy(buf, MDT_KEY_PUBLIC_PREFIX, pre);
	mdt__b64url_encode(pk->bytes, MDT_KEY_PUBLIC_BYTES, buf + pre,
	    MDT_KEY_PUBLIC_TEXT_BYTES - pre);
}

int
mdt_pubkey_from_text(const char *text, size_t len, mdt_pubkey *out)
{
	size_t pre = sizeof(MDT_KEY_PUBLIC_PREFIX) - 1, n;
	uint8_t pk[MDT_KEY_PUBLIC_BYTES];

	if (text == NULL || out == NULL || len <= pre ||
	    memcmp(text, MDT_KEY_PUBLIC_PREFIX, pre) != 0)
		return -MDT_EKEY;
	if (mdt__b64url_decode(text + pre, len - pre, pk, sizeof(pk), &n) != 0 ||
	    n != sizeof(pk))
		return -MDT_EKEY;
	memcpy(out->bytes, pk, sizeof(pk));
	return 0;
}

/* Total length of domain || 0x00 || parts, or 0 on a bad domain. */
static size_t
staged_len(const char *domain, const mdt__part *parts, size_t nparts)
{
	size_t dl = domain == NULL ? 0 : strnlen(domain, MDT_KEY_DOMAIN_MAX + 1);
	size_t total;

	if (dl == 0 || dl > MDT_KEY_DOMAIN_MAX)
		return 0;
	total = dl + 1;
	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].n > SIZE_MAX - total)
			return 0;
		total += parts[i].n;
	}
	return total;
}

static void
stage(uint8_t *buf, const char *domain, const mdt__part *parts,
    size_t nparts)
{
	size_t dl = strlen(domain), off = dl + 1;

	memcpy(buf, domain, dl);
	buf[dl] = 0;
	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].n > 0)
			memcpy(buf + off, parts[i].p, parts[i].n);
		off += parts[i].n;
	}
}

/* Runs op over the staged message; heap staging only for long ones. */
static int
with_staged(const char *domain, const mdt__part *parts, size_t nparts,
    int (*op)(const uint8_t *m, size_t n, void *ctx), void *ctx)
{
	uint8_t local[STAGE_STACK];
	size_t total = staged_len(domain, parts, nparts);
	uint8_t *buf = local;
	int rc;

	if (total == 0)
		return -MDT_EINVAL;
	if (total > sizeof(local) && (buf = mdt__malloc(total)) == NULL)
		return -MDT_ENOMEM;
	stage(buf, domain, parts, nparts);
	rc = op(buf, total, ctx);
	if (buf != local)
		mdt__free(buf);
	return rc;
}

typedef struct sign_ctx {
	const uint8_t *key; /* secret key (sign) or public key (verify) */
	uint8_t *sig;
	const uint8_t *csig;
} sign_ctx;

static int
do_sign(const uint8_t *m, size_t n, void *ctx)
{
	sign_ctx *c = ctx;

	return crypto_sign_detached(c->sig, NULL, m, n, c->key) == 0 ? 0 :
	    -MDT_ECRYPTO;
}

static int
do_verify(const uint8_t *m, size_t n, void *ctx)
{
	sign_ctx *c = ctx;

	return crypto_sign_verify_detached(c->csig, m, n, c->key) == 0 ? 0 :
	    -MDT_ESIG;
}

int
mdt__sign_parts(const mdt_keypair *kp, const char *domain,
    const mdt__part *parts, size_t nparts, uint8_t sig[MDT_KEY_SIG_BYTES])
{
	sign_ctx c = {kp->sk, sig, NULL};

	return with_staged(domain, parts, nparts, do_sign, &c);
}

int
mdt__verify_parts(const uint8_t pk[MDT_KEY_PUBLIC_BYTES], const char *domain,
    const mdt__part *parts, size_t nparts,
    const uint8_t sig[MDT_KEY_SIG_BYTES])
{
	sign_ctx c = {pk, NULL, sig};

	return with_staged(domain, parts, nparts, do_verify, &c);
}

int
mdt_key_sign(const mdt_keypair *kp, const char *domain, const uint8_t *msg,
    size_t len, uint8_t sig[MDT_KEY_SIG_BYTES])
{
	mdt__part part = {msg, len};

	if (kp == NULL || sig == NULL || (msg == NULL && len > 0))
		return -MDT_EINVAL;
	return mdt__sign_parts(kp, domain, &part, 1, sig);
}

int
mdt_key_verify(const mdt_pubkey *pk, const char *domain, const uint8_t *msg,
    size_t len, const uint8_t sig[MDT_KEY_SIG_BYTES])
{
	mdt__part part = {msg, len};

	if (pk == NULL || sig == NULL || (msg == NULL && len > 0))
		return -MDT_EINVAL;
	return mdt__verify_parts(pk->bytes, domain, &part, 1, sig);
}

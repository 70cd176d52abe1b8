/*
 * Signed tree heads: their fixed encoding, hash, signature (domain
 * "mandate/receipt/v1/head") and the bounded cache of heads already
 * verified, which makes the tokens of one batch cost one signature check
 * between them.
 */
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "alloc_int.h"
#include "receipt_int.h"
#include "token_int.h" /* the digest set behind mdt_token_cache */

#define CACHE_DOMAIN "mandate/receipt/v1/cache"

struct mdt_receipt_cache {
	mdt_token_cache *set;
	EVP_MD *md; /* SHA-256 fetched once (mdt__rsha256); NULL: libsodium */
};

static void
be32(uint32_t v, uint8_t out[4])
{
	for (int i = 3; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

void
mdt_receipt_head_encode(const mdt_receipt_head *h,
    uint8_t out[MDT_RECEIPT_HEAD_BYTES])
{
	size_t o = 0;

	out[o++] = MDT_RECEIPT_VERSION;
	memcpy(out + o, h->key_id, MDT_KEY_ID_BYTES);
	o += MDT_KEY_ID_BYTES;
	mdt__be64(h->first_seq, out + o);
	mdt__be64(h->last_seq, out + o + 8);
	be32(h->tree_size, out + o + 16);
	mdt__be64((uint64_t)h->time_ms, out + o + 20);
	o += 28;
	memcpy(out + o, h->root, MDT_RECEIPT_HASH_BYTES);
	memcpy(out + o + 32, h->prev, MDT_RECEIPT_HASH_BYTES);
}

int
mdt_receipt_head_decode(const uint8_t *buf, size_t len,
    mdt_receipt_head *out)
{
	const uint8_t *p = buf + 1 + MDT_KEY_ID_BYTES;

	if (buf == NULL || out == NULL || len != MDT_RECEIPT_HEAD_BYTES ||
	    buf[0] != MDT_RECEIPT_VERSION)
		return -MDT_EDECODE;
	memcpy(out->key_id, buf + 1, MDT_KEY_ID_BYTES);
	out->first_seq = mdt__get_be64(p);
	out->last_seq = mdt__get_be64(p + 8);
	out->tree_size = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 |
	    (uint32_t)p[18] << 8 | p[19];
	out->time_ms = (int64_t)mdt__get_be64(p + 20);
	memcpy(out->root, p + 28, MDT_RECEIPT_HASH_BYTES);
	memcpy(out->prev, p + 60, MDT_RECEIPT_HASH_BYTES);
	/* a batch of tree_size decisions spans at least that many seqs */
	if (out->tree_size == 0 || out->first_seq == 0 ||
	    out->last_seq < out->first_seq ||
	    out->last_seq - out->first_seq < (uint64_t)out->tree_size - 1 ||
	    out->time_ms < 0)
		return -MDT_EDECODE;
	return 0;
}

void
mdt_receipt_head_hash(const mdt_receipt_head *h,
    uint8_t out[MDT_RECEIPT_HASH_BYTES])
{
	uint8_t b[MDT_RECEIPT_HEAD_BYTES];

	mdt_receipt_head_encode(h, b);
	crypto_hash_sha256(out, b, sizeof(b));
}

int
mdt_receipt_head_sign(mdt_receipt_head *h, const mdt_keypair *kp,
    uint8_t sig[MDT_KEY_SIG_BYTES])
{
	uint8_t b[MDT_RECEIPT_HEAD_BYTES];
	mdt_pubkey pk;

	if (h == NULL || kp == NULL || sig == NULL)
		return -MDT_EINVAL;
	mdt_keypair_public(kp, &pk);
	mdt_key_id(&pk, h->key_id);
	mdt_receipt_head_encode(h, b);
	return mdt_key_sign(kp, MDT_RECEIPT_HEAD_DOMAIN, b, sizeof(b), sig);
}

int
mdt_receipt_head_verify(const mdt_receipt_head *h,
    const uint8_t sig[MDT_KEY_SIG_BYTES], const mdt_pubkey *pk,
    mdt_receipt_reason *why)
{
	uint8_t b[MDT_RECEIPT_HEAD_BYTES], id[MDT_KEY_ID_BYTES];

	mdt_key_id(pk, id);
	if (memcmp(id, h->key_id, sizeof(id)) != 0) {
		if (why != NULL)
			*why = MDT_RECEIPT_KEY;
		return -MDT_EKEY;
	}
	mdt_receipt_head_encode(h, b);
	if (mdt_key_verify(pk, MDT_RECEIPT_HEAD_DOMAIN, b, sizeof(b), sig) !=
	    0) {
		if (why != NULL)
			*why = MDT_RECEIPT_SIGNATURE;
		return -MDT_ESIG;
	}
	if (why != NULL)
		*why = MDT_RECEIPT_OK;
	return 0;
}

int
mdt_receipt_cache_new(size_t capacity, mdt_receipt_cache **out)
{
	mdt_receipt_cache *c;
	int rc;

	if (out == NULL)
		return -MDT_EINVAL;
	if ((c = mdt__calloc(1, sizeof(*c))) == NULL)
		return -MDT_ENOMEM;
	if ((rc = mdt_token_cache_new(capacity, &c->set)) != 0) {
		mdt__free(c);
		return rc;
	}
	c->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	*out = c;
	return 0;
}

void
mdt_receipt_cache_free(mdt_receipt_cache *c)
{
	if (c == NULL)
		return;
	mdt_token_cache_free(c->set);
	EVP_MD_free(c->md);
	mdt__free(c);
}

/* The cache key: every byte the signature check covered. */
static void
head_digest(const mdt_receipt *r, const mdt_pubkey *pk, const EVP_MD *md,
    uint8_t d[32])
{
	uint8_t b[sizeof(CACHE_DOMAIN) + MDT_KEY_PUBLIC_BYTES +
	    MDT_RECEIPT_HEAD_BYTES + MDT_KEY_SIG_BYTES];
	size_t o = sizeof(CACHE_DOMAIN); /* with its NUL */

	memcpy(b, CACHE_DOMAIN, o);
	memcpy(b + o, pk->bytes, MDT_KEY_PUBLIC_BYTES);
	o += MDT_KEY_PUBLIC_BYTES;
	mdt_receipt_head_encode(&r->head, b + o);
	o += MDT_RECEIPT_HEAD_BYTES;
	memcpy(b + o, r->sig, MDT_KEY_SIG_BYTES);
	mdt__rsha256(md, b, sizeof(b), d);
}

int
mdt_receipt_verify_cached(const mdt_receipt *r,
    const uint8_t token_id[MDT_RECEIPT_HASH_BYTES], const mdt_pubkey *pk,
    mdt_receipt_cache *cache, mdt_receipt_reason *why)
{
	uint8_t d[32];
	int known = 0, rc;

	if (r == NULL || pk == NULL)
		return -MDT_EINVAL;
	if (cache != NULL) {
		head_digest(r, pk, cache->md, d);
		known = mdt__tok_cache_has(cache->set, d);
	}
	rc = mdt__receipt_verify_md(cache != NULL ? cache->md : NULL, r,
	    token_id, pk, known, why);
	if (rc == 0 && cache != NULL && !known)
		mdt__tok_cache_put(cache->set, d);
	return rc;
}

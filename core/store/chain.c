/*
 * The hash chain and checkpoint encodings of the audit store.  These are
 * the bytes docs/audit.md specifies for independent verification: change
 * nothing here without a new domain string and schema version.
 */
#include <string.h>

#include <sodium.h>

#include "core_int.h"

static const char genesis_domain[] = "mandate/audit/v1/genesis";
static const char record_domain[] = "mandate/audit/v1/record";
static const char checkpoint_domain[] = "mandate/audit/v1/checkpoint";

/* Field tags of the canonical encoding. */
enum { TAG_NULL = 0x00, TAG_TEXT = 0x01, TAG_INT = 0x02, TAG_BLOB = 0x03 };

static void
be64(uint64_t v, uint8_t out[8])
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static void
be32(uint32_t v, uint8_t out[4])
{
	for (int i = 3; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

/* Domain string followed by one 0x00 byte, as key.h signs. */
static void
absorb_domain(crypto_generichash_state *h, const char *domain)
{
	crypto_generichash_update(h, (const uint8_t *)domain,
	    strlen(domain) + 1);
}

void
mdt__chain_genesis(const uint8_t id[MDT__STORE_ID_BYTES],
    uint8_t out[MDT_STORE_HASH_BYTES])
{
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, MDT_STORE_HASH_BYTES);
	absorb_domain(&h, genesis_domain);
	crypto_generichash_update(&h, id, MDT__STORE_ID_BYTES);
	crypto_generichash_final(&h, out, MDT_STORE_HASH_BYTES);
}

static void
absorb_val(crypto_generichash_state *h, const mdt__val *v)
{
	uint8_t hdr[9];

	switch (v->type) {
	case 'T':
	case 'B':
		hdr[0] = v->type == 'T' ? TAG_TEXT : TAG_BLOB;
		be32((uint32_t)v->len, hdr + 1);
		crypto_generichash_update(h, hdr, 5);
		crypto_generichash_update(h, v->p, v->len);
		break;
	case 'I':
		hdr[0] = TAG_INT;
		be64((uint64_t)v->i, hdr + 1);
		crypto_generichash_update(h, hdr, 9);
		break;
	default:
		hdr[0] = TAG_NULL;
		crypto_generichash_update(h, hdr, 1);
		break;
	}
}

void
mdt__chain_hash(int kind, const uint8_t prev[MDT_STORE_HASH_BYTES],
    const mdt__val *vals, size_t n, uint8_t out[MDT_STORE_HASH_BYTES])
{
	crypto_generichash_state h;
	uint8_t k = (uint8_t)kind, cnt = (uint8_t)n;

	crypto_generichash_init(&h, NULL, 0, MDT_STORE_HASH_BYTES);
	absorb_domain(&h, record_domain);
	crypto_generichash_update(&h, prev, MDT_STORE_HASH_BYTES);
	crypto_generichash_update(&h, &k, 1);
	crypto_generichash_update(&h, &cnt, 1);
	for (size_t i = 0; i < n; i++)
		absorb_val(&h, &vals[i]);
	crypto_generichash_final(&h, out, MDT_STORE_HASH_BYTES);
}

size_t
mdt__checkpoint_msg(const uint8_t id[MDT__STORE_ID_BYTES], uint64_t seq,
    const uint8_t hash[MDT_STORE_HASH_BYTES], int64_t time_ms,
    uint64_t prev_cp, uint8_t out[MDT__CHECKPOINT_MSG_BYTES])
{
	size_t o = sizeof(checkpoint_domain); /* with its NUL */

	_Static_assert(sizeof(checkpoint_domain) == 28, "domain length");
	memcpy(out, checkpoint_domain, o);
	memcpy(out + o, id, MDT__STORE_ID_BYTES);
	o += MDT__STORE_ID_BYTES;
	be64(seq, out + o);
	o += 8;
	memcpy(out + o, hash, MDT_STORE_HASH_BYTES);
	o += MDT_STORE_HASH_BYTES;
	be64((uint64_t)time_ms, out + o);
	o += 8;
	be64(prev_cp, out + o);
	return o + 8;
}

/*
 * Fuzz harness for the receipt decoder and verifier.  Any input either is
 * refused with a reason, or decodes into a receipt such that:
 *   - encoding it gives back exactly the input (the decoder accepts
 *     nothing the encoder would not write);
 *   - verification under the test-vector root key (seed 32 x 0x01), with
 *     and without the head cache, agrees, and refuses only with a
 *     documented code and a reason other than OK.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/receipt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mdt_pubkey root;
static mdt_receipt_cache *cache;

static void
init(void)
{
	uint8_t seed[32];
	mdt_keypair *kp;

	if (cache != NULL)
		return;
	memset(seed, 0x01, sizeof(seed));
	if (mdt_keypair_from_seed(seed, &kp) != 0 ||
	    mdt_receipt_cache_new(64, &cache) != 0)
		abort();
	mdt_keypair_public(kp, &root);
	mdt_keypair_free(kp);
}

static int
documented(int rc)
{
	return rc == 0 || rc == -MDT_EDECODE || rc == -MDT_ECHAIN ||
	    rc == -MDT_EKEY || rc == -MDT_ESIG;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mdt_receipt r;
	mdt_receipt_reason why = MDT_RECEIPT_OK, why2 = MDT_RECEIPT_OK;
	uint8_t back[MDT_RECEIPT_MAX_BYTES], tok[MDT_RECEIPT_HASH_BYTES];
	size_t len = 0;
	int rc, rc2;

	init();
	rc = mdt_receipt_decode(data, size, &r, &why);
	if (rc != 0) {
		if (!documented(rc) || why == MDT_RECEIPT_OK)
			abort();
		return 0;
	}
	if (mdt_receipt_encode(&r, back, sizeof(back), &len) != 0 ||
	    len != size || memcmp(back, data, size) != 0)
		abort();
	/* the token id: the leaf's last 32 bytes are the fuzzer's to pick */
	memcpy(tok, r.record_hash, sizeof(tok));
	rc = mdt_receipt_verify(&r, tok, &root, 0, &why);
	rc2 = mdt_receipt_verify_cached(&r, tok, &root, cache, &why2);
	if (rc != rc2 || !documented(rc) ||
	    (rc != 0) != (why != MDT_RECEIPT_OK))
		abort();
	return 0;
}

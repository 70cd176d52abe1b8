/*
 * The receipt's byte encoding (docs/token-format.md section 13), its
 * strict decoding, and the verification of a decoded receipt against a
 * broker key and a token id.
 */
#include <string.h>

#include <sodium.h>

#include "key_int.h"
#include "receipt_int.h"

/* Offsets of the encoding. */
enum { O_VERSION = 0, O_SEQ = 1, O_RECORD = 9, O_INDEX = 41, O_PLEN = 45,
    O_PATH = 46 };

static int
refuse(mdt_receipt_reason *why, mdt_receipt_reason r, int rc)
{
	if (why != NULL)
		*why = r;
	return rc;
}

const char *
mdt_receipt_reason_name(mdt_receipt_reason r)
{
	static const char *const names[] = {
		[MDT_RECEIPT_OK] = "ok",
		[MDT_RECEIPT_MALFORMED] = "malformed",
		[MDT_RECEIPT_INDEX] = "index past the tree size",
		[MDT_RECEIPT_RANGE] = "sequence outside the head's batch",
		[MDT_RECEIPT_PATH] = "path does not lead to the head's root",
		[MDT_RECEIPT_KEY] = "head signed by another key",
		[MDT_RECEIPT_SIGNATURE] = "head signature does not verify",
		[MDT_RECEIPT_LEAF] = "receipt is for another decision",
	};

	if ((unsigned)r >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[r];
}

size_t
mdt_receipt_size(const mdt_receipt *r)
{
	return MDT_RECEIPT_FIXED_BYTES +
	    (size_t)r->path_len * MDT_RECEIPT_HASH_BYTES;
}

int
mdt_receipt_encode(const mdt_receipt *r, uint8_t *out, size_t cap,
    size_t *len)
{
	size_t n, o;

	if (r == NULL || out == NULL || len == NULL ||
	    r->path_len > MDT_RECEIPT_PATH_MAX)
		return -MDT_EINVAL;
	if ((n = mdt_receipt_size(r)) > cap)
		return -MDT_ETOOBIG;
	out[O_VERSION] = MDT_RECEIPT_VERSION;
	mdt__be64(r->seq, out + O_SEQ);
	memcpy(out + O_RECORD, r->record_hash, MDT_RECEIPT_HASH_BYTES);
	for (int i = 0; i < 4; i++)
		out[O_INDEX + i] = (uint8_t)(r->index >> (24 - 8 * i));
	out[O_PLEN] = r->path_len;
	o = O_PATH + (size_t)r->path_len * MDT_RECEIPT_HASH_BYTES;
	memcpy(out + O_PATH, r->path, o - O_PATH);
	mdt_receipt_head_encode(&r->head, out + o);
	memcpy(out + o + MDT_RECEIPT_HEAD_BYTES, r->sig, MDT_KEY_SIG_BYTES);
	*len = n;
	return 0;
}

/* The decision's seq must lie in the batch, leaving room for the
 * decisions before and after it in the tree. */
static int
in_range(const mdt_receipt *r)
{
	const mdt_receipt_head *h = &r->head;

	return r->seq >= h->first_seq && r->seq <= h->last_seq &&
	    r->seq - h->first_seq >= r->index &&
	    h->last_seq - r->seq >= (uint64_t)h->tree_size - 1 - r->index;
}

int
mdt_receipt_decode(const uint8_t *buf, size_t len, mdt_receipt *out,
    mdt_receipt_reason *why)
{
	size_t o;

	if (buf == NULL || out == NULL)
		return -MDT_EINVAL;
	memset(out, 0, sizeof(*out));
	if (len < MDT_RECEIPT_FIXED_BYTES || buf[O_VERSION] !=
	    MDT_RECEIPT_VERSION || buf[O_PLEN] > MDT_RECEIPT_PATH_MAX ||
	    len != MDT_RECEIPT_FIXED_BYTES + (size_t)buf[O_PLEN] *
	    MDT_RECEIPT_HASH_BYTES)
		return refuse(why, MDT_RECEIPT_MALFORMED, -MDT_EDECODE);
	out->seq = mdt__get_be64(buf + O_SEQ);
	memcpy(out->record_hash, buf + O_RECORD, MDT_RECEIPT_HASH_BYTES);
	out->index = (uint32_t)buf[O_INDEX] << 24 |
	    (uint32_t)buf[O_INDEX + 1] << 16 |
	    (uint32_t)buf[O_INDEX + 2] << 8 | buf[O_INDEX + 3];
	out->path_len = buf[O_PLEN];
	o = O_PATH + (size_t)out->path_len * MDT_RECEIPT_HASH_BYTES;
	memcpy(out->path, buf + O_PATH, o - O_PATH);
	if (mdt_receipt_head_decode(buf + o, MDT_RECEIPT_HEAD_BYTES,
	    &out->head) != 0)
		return refuse(why, MDT_RECEIPT_MALFORMED, -MDT_EDECODE);
	memcpy(out->sig, buf + o + MDT_RECEIPT_HEAD_BYTES, MDT_KEY_SIG_BYTES);
	if (out->index >= out->head.tree_size)
		return refuse(why, MDT_RECEIPT_INDEX, -MDT_EDECODE);
	if (out->path_len != mdt_receipt_path_len(out->index,
	    out->head.tree_size))
		return refuse(why, MDT_RECEIPT_MALFORMED, -MDT_EDECODE);
	if (!in_range(out))
		return refuse(why, MDT_RECEIPT_RANGE, -MDT_ECHAIN);
	return refuse(why, MDT_RECEIPT_OK, 0);
}

int
mdt_receipt_verify(const mdt_receipt *r,
    const uint8_t token_id[MDT_RECEIPT_HASH_BYTES], const mdt_pubkey *pk,
    int head_known, mdt_receipt_reason *why)
{
	return mdt__receipt_verify_md(NULL, r, token_id, pk, head_known, why);
}

int
mdt__receipt_verify_md(const EVP_MD *md, const mdt_receipt *r,
    const uint8_t token_id[MDT_RECEIPT_HASH_BYTES], const mdt_pubkey *pk,
    int head_known, mdt_receipt_reason *why)
{
	uint8_t data[MDT_RECEIPT_LEAF_DATA_BYTES], leaf[MDT_RECEIPT_HASH_BYTES];
	int rc;

	if (r == NULL || token_id == NULL || pk == NULL)
		return -MDT_EINVAL;
	if (r->index >= r->head.tree_size)
		return refuse(why, MDT_RECEIPT_INDEX, -MDT_EDECODE);
	if (!in_range(r))
		return refuse(why, MDT_RECEIPT_RANGE, -MDT_ECHAIN);
	if (!head_known &&
	    (rc = mdt_receipt_head_verify(&r->head, r->sig, pk, why)) != 0)
		return rc;
	mdt_receipt_leaf_data(r->seq, r->record_hash, token_id, data);
	mdt__receipt_leaf_hash_md(md, data, sizeof(data), leaf);
	return mdt__receipt_verify_path_md(md, r->index, r->head.tree_size, leaf,
	    &r->path[0][0], r->path_len,
	    r->head.root, why);
}

int
mdt_receipt_to_text(const uint8_t *buf, size_t len, char *out, size_t cap)
{
	const size_t pl = sizeof(MDT_RECEIPT_TEXT_PREFIX) - 1;

	if (buf == NULL || out == NULL || len == 0)
		return -MDT_EINVAL;
	if (pl + MDT__B64URL_LEN(len) + 1 > cap)
		return -MDT_ETOOBIG;
	memcpy(out, MDT_RECEIPT_TEXT_PREFIX, pl);
	mdt__b64url_encode(buf, len, out + pl, cap - pl);
	return 0;
}

int
mdt_receipt_from_text(const char *text, size_t tlen, mdt_receipt *out,
    mdt_receipt_reason *why)
{
	const size_t pl = sizeof(MDT_RECEIPT_TEXT_PREFIX) - 1;
	uint8_t buf[MDT_RECEIPT_MAX_BYTES];
	size_t len = 0;

	if (text == NULL || out == NULL)
		return -MDT_EINVAL;
	/* one text per receipt: the decoder takes only the canonical form
	 * (the unused bits of the last character 0) */
	if (tlen < pl || tlen >= MDT_RECEIPT_TEXT_MAX ||
	    memcmp(text, MDT_RECEIPT_TEXT_PREFIX, pl) != 0 ||
	    mdt__b64url_decode(text + pl, tlen - pl, buf, sizeof(buf),
	    &len) != 0)
		return refuse(why, MDT_RECEIPT_MALFORMED, -MDT_EDECODE);
	return mdt_receipt_decode(buf, len, out, why);
}

int
mdt_receipt_equal(const mdt_receipt *a, const mdt_receipt *b)
{
	uint8_t ea[MDT_RECEIPT_MAX_BYTES], eb[MDT_RECEIPT_MAX_BYTES];
	size_t la = 0, lb = 0;

	return a != NULL && b != NULL &&
	    mdt_receipt_encode(a, ea, sizeof(ea), &la) == 0 &&
	    mdt_receipt_encode(b, eb, sizeof(eb), &lb) == 0 && la == lb &&
	    memcmp(ea, eb, la) == 0;
}

/*
 * RFC 9162 section 2.1 Merkle trees: leaf and node hashing, the tree
 * hash of a batch and inclusion proofs (generation and the verification
 * algorithm of section 2.1.3.2).
 */
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "alloc_int.h"
#include "receipt_int.h"

void
mdt__be64(uint64_t v, uint8_t out[8])
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

uint64_t
mdt__get_be64(const uint8_t in[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}

void
mdt__rsha256(const EVP_MD *md, const uint8_t *buf, size_t len,
    uint8_t out[MDT_RECEIPT_HASH_BYTES])
{
	if (md != NULL && EVP_Digest(buf, len, out, NULL, md, NULL) == 1)
		return;
	crypto_hash_sha256(out, buf, len);
}

void
mdt__receipt_leaf_hash_md(const EVP_MD *md, const uint8_t *data, size_t len,
    uint8_t out[MDT_RECEIPT_HASH_BYTES])
{
	uint8_t buf[1 + MDT_RECEIPT_LEAF_DATA_BYTES];
	crypto_hash_sha256_state h;
	uint8_t tag = 0x00;

	if (len <= MDT_RECEIPT_LEAF_DATA_BYTES) {
		buf[0] = tag;
		memcpy(buf + 1, data, len);
		mdt__rsha256(md, buf, 1 + len, out);
		return;
	}
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, &tag, 1);
	crypto_hash_sha256_update(&h, data, len);
	crypto_hash_sha256_final(&h, out);
}

void
mdt_receipt_leaf_hash(const uint8_t *data, size_t len,
    uint8_t out[MDT_RECEIPT_HASH_BYTES])
{
	mdt__receipt_leaf_hash_md(NULL, data, len, out);
}

void
mdt__receipt_node_hash_md(const EVP_MD *md,
    const uint8_t left[MDT_RECEIPT_HASH_BYTES],
    const uint8_t right[MDT_RECEIPT_HASH_BYTES],
    uint8_t out[MDT_RECEIPT_HASH_BYTES])
{
	uint8_t buf[1 + 2 * MDT_RECEIPT_HASH_BYTES];

	buf[0] = 0x01;
	memcpy(buf + 1, left, MDT_RECEIPT_HASH_BYTES);
	memcpy(buf + 1 + MDT_RECEIPT_HASH_BYTES, right, MDT_RECEIPT_HASH_BYTES);
	mdt__rsha256(md, buf, sizeof(buf), out);
}

void
mdt_receipt_node_hash(const uint8_t left[MDT_RECEIPT_HASH_BYTES],
    const uint8_t right[MDT_RECEIPT_HASH_BYTES],
    uint8_t out[MDT_RECEIPT_HASH_BYTES])
{
	mdt__receipt_node_hash_md(NULL, left, right, out);
}

void
mdt_receipt_leaf_data(uint64_t seq,
    const uint8_t record_hash[MDT_RECEIPT_HASH_BYTES],
    const uint8_t token_id[MDT_RECEIPT_HASH_BYTES],
    uint8_t out[MDT_RECEIPT_LEAF_DATA_BYTES])
{
	static const char domain[] = MDT_RECEIPT_LEAF_DOMAIN;
	size_t o = sizeof(domain); /* with its NUL */

	_Static_assert(sizeof(domain) == 24, "leaf domain length");
	memcpy(out, domain, o);
	mdt__be64(seq, out + o);
	memcpy(out + o + 8, record_hash, MDT_RECEIPT_HASH_BYTES);
	memcpy(out + o + 8 + MDT_RECEIPT_HASH_BYTES, token_id,
	    MDT_RECEIPT_HASH_BYTES);
}

void
mdt__rtree_free(mdt__rtree *t)
{
	for (size_t i = 0; i < t->nlevels; i++)
		mdt__free(t->level[i]);
	memset(t, 0, sizeof(*t));
}

/* Level l from level l - 1: pairs hashed, an odd last node promoted. */
static void
build_level(mdt__rtree *t, size_t l)
{
	size_t pw = t->width[l - 1];
	uint8_t (*below)[MDT_RECEIPT_HASH_BYTES] = t->level[l - 1];

	for (size_t i = 0; i < t->width[l]; i++) {
		if (2 * i + 1 < pw)
			mdt_receipt_node_hash(below[2 * i], below[2 * i + 1],
			    t->level[l][i]);
		else
			memcpy(t->level[l][i], below[2 * i],
			    MDT_RECEIPT_HASH_BYTES);
	}
}

int
mdt__rtree_build(const uint8_t *leaves, size_t n, mdt__rtree *t)
{
	memset(t, 0, sizeof(*t));
	if (leaves == NULL || n == 0 || (uint64_t)n >= (1ull << 32))
		return -MDT_EINVAL;
	t->n = n;
	for (size_t w = n; ; w = (w + 1) / 2) {
		size_t l = t->nlevels;
		t->level[l] = mdt__malloc(w * MDT_RECEIPT_HASH_BYTES);
		if (t->level[l] == NULL) {
			mdt__rtree_free(t);
			return -MDT_ENOMEM;
		}
		t->width[l] = w;
		t->nlevels++;
		if (l == 0)
			memcpy(t->level[0], leaves, n * MDT_RECEIPT_HASH_BYTES);
		else
			build_level(t, l);
		if (w == 1)
			return 0;
	}
}

const uint8_t *
mdt__rtree_root(const mdt__rtree *t)
{
	return t->level[t->nlevels - 1][0];
}

void
mdt__rtree_prove(const mdt__rtree *t, size_t index, uint8_t *path,
    size_t *len)
{
	size_t k = 0;

	for (size_t l = 0; l + 1 < t->nlevels; l++, index /= 2) {
		size_t sib = index ^ 1u;
		/* an odd last node has no sibling: it is promoted */
		if (sib < t->width[l])
			memcpy(path + MDT_RECEIPT_HASH_BYTES * k++,
			    t->level[l][sib], MDT_RECEIPT_HASH_BYTES);
	}
	*len = k;
}

int
mdt_receipt_tree_root(const uint8_t *leaves, size_t n,
    uint8_t root[MDT_RECEIPT_HASH_BYTES])
{
	mdt__rtree t;
	int rc = mdt__rtree_build(leaves, n, &t);

	if (rc != 0)
		return rc;
	memcpy(root, mdt__rtree_root(&t), MDT_RECEIPT_HASH_BYTES);
	mdt__rtree_free(&t);
	return 0;
}

int
mdt_receipt_prove(const uint8_t *leaves, size_t n, size_t index,
    uint8_t *path, size_t *path_len)
{
	mdt__rtree t;
	int rc;

	if (index >= n || path == NULL || path_len == NULL)
		return -MDT_EINVAL;
	if ((rc = mdt__rtree_build(leaves, n, &t)) != 0)
		return rc;
	mdt__rtree_prove(&t, index, path, path_len);
	mdt__rtree_free(&t);
	return 0;
}

size_t
mdt_receipt_path_len(uint64_t index, uint64_t size)
{
	size_t k = 0;

	/* walk up the levels as mdt__rtree_prove does */
	for (uint64_t w = size; w > 1; w = (w + 1) / 2, index /= 2)
		if ((index ^ 1u) < w)
			k++;
	return k;
}

static int
set_why(mdt_receipt_reason *why, mdt_receipt_reason r, int rc)
{
	if (why != NULL)
		*why = r;
	return rc;
}

int
mdt_receipt_verify_path(uint64_t index, uint64_t tree_size,
    const uint8_t leaf_hash[MDT_RECEIPT_HASH_BYTES], const uint8_t *path,
    size_t path_len,
    const uint8_t root[MDT_RECEIPT_HASH_BYTES], mdt_receipt_reason *why)
{
	return mdt__receipt_verify_path_md(NULL, index, tree_size, leaf_hash,
	    path, path_len, root, why);
}

int
mdt__receipt_verify_path_md(const EVP_MD *md, uint64_t index,
    uint64_t tree_size, const uint8_t leaf_hash[MDT_RECEIPT_HASH_BYTES],
    const uint8_t *path, size_t path_len,
    const uint8_t root[MDT_RECEIPT_HASH_BYTES], mdt_receipt_reason *why)
{
	uint64_t fn = index, sn;
	uint8_t r[MDT_RECEIPT_HASH_BYTES];

	if (index >= tree_size)
		return set_why(why, MDT_RECEIPT_INDEX, -MDT_EDECODE);
	sn = tree_size - 1;
	memcpy(r, leaf_hash, sizeof(r));
	for (size_t i = 0; i < path_len; i++) {
		if (sn == 0)
			return set_why(why, MDT_RECEIPT_PATH, -MDT_ECHAIN);
		if ((fn & 1u) || fn == sn) {
			mdt__receipt_node_hash_md(md, path + 32 * i, r, r);
			while (!(fn & 1u) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			mdt__receipt_node_hash_md(md, r, path + 32 * i, r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || sodium_memcmp(r, root, sizeof(r)) != 0)
		return set_why(why, MDT_RECEIPT_PATH, -MDT_ECHAIN);
	return set_why(why, MDT_RECEIPT_OK, 0);
}

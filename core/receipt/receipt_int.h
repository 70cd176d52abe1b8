/*
 * Internals of the receipt module (core/receipt/):
 *   receipt_tree.c   RFC 9162 hashing, tree levels, inclusion proofs
 *   receipt_head.c   signed tree heads and the verified-head cache
 *   receipt_codec.c  the receipt's byte encoding and its verification
 */
#ifndef MDT_RECEIPT_INT_H
#define MDT_RECEIPT_INT_H

#include <openssl/types.h>

#include <mandate/receipt.h>

/*
 * Every level of a tree, built once so each leaf's proof costs no more
 * hashing: level 0 is the leaf hashes, a level's odd last node is
 * promoted unchanged (which gives RFC 9162's tree hash).
 */
typedef struct mdt__rtree {
	size_t n;                                /* leaves */
	size_t nlevels;
	size_t width[MDT_RECEIPT_PATH_MAX + 1];  /* nodes per level */
	uint8_t (*level[MDT_RECEIPT_PATH_MAX + 1])[MDT_RECEIPT_HASH_BYTES];
} mdt__rtree;

/* Builds the levels over n >= 1 leaf hashes (copied).  MDT_EINVAL /
 * MDT_ENOMEM.  Caller frees with mdt__rtree_free. */
int mdt__rtree_build(const uint8_t *leaves, size_t n, mdt__rtree *t);
void mdt__rtree_free(mdt__rtree *t);
const uint8_t *mdt__rtree_root(const mdt__rtree *t);
/* The proof of leaf index (< t->n) into path, *len nodes. */
void mdt__rtree_prove(const mdt__rtree *t, size_t index, uint8_t *path,
    size_t *len);

/*
 * SHA-256 of buf.  With md (an EVP_MD fetched once, which a verified-
 * head cache keeps) OpenSSL's implementation, several times faster where
 * the CPU has SHA instructions; with NULL, or if OpenSSL fails,
 * libsodium's.  Both compute the same function.
 */
void mdt__rsha256(const EVP_MD *md, const uint8_t *buf, size_t len,
    uint8_t out[MDT_RECEIPT_HASH_BYTES]);
/* mdt_receipt_leaf_hash, _node_hash, _verify_path and _verify hashing
 * with mdt__rsha256(md, ...). */
void mdt__receipt_leaf_hash_md(const EVP_MD *md, const uint8_t *data,
    size_t len, uint8_t out[MDT_RECEIPT_HASH_BYTES]);
void mdt__receipt_node_hash_md(const EVP_MD *md,
    const uint8_t left[MDT_RECEIPT_HASH_BYTES],
    const uint8_t right[MDT_RECEIPT_HASH_BYTES],
    uint8_t out[MDT_RECEIPT_HASH_BYTES]);
int mdt__receipt_verify_path_md(const EVP_MD *md, uint64_t index,
    uint64_t tree_size, const uint8_t leaf_hash[MDT_RECEIPT_HASH_BYTES],
    const uint8_t *path, size_t path_len,
    const uint8_t root[MDT_RECEIPT_HASH_BYTES], mdt_receipt_reason *why);
int mdt__receipt_verify_md(const EVP_MD *md, const mdt_receipt *r,
    const uint8_t token_id[MDT_RECEIPT_HASH_BYTES], const mdt_pubkey *pk,
    int head_known, mdt_receipt_reason *why);

void mdt__be64(uint64_t v, uint8_t out[8]);
uint64_t mdt__get_be64(const uint8_t in[8]);

#endif /* MDT_RECEIPT_INT_H */

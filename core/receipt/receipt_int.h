/*
 * Internals of the receipt module (core/receipt/):
 *   receipt_tree.c   RFC 9162 hashing, tree levels, inclusion proofs
 *   receipt_head.c   signed tree heads and the verified-head cache
 *   receipt_codec.c  the receipt's byte encoding and its verification
 */
#ifndef MDT_RECEIPT_INT_H
#define MDT_RECEIPT_INT_H

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

void mdt__be64(uint64_t v, uint8_t out[8]);
uint64_t mdt__get_be64(const uint8_t in[8]);

#endif /* MDT_RECEIPT_INT_H */

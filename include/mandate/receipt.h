/*
 * Authorization receipts: the broker commits decision records in batches
 * and builds one Merkle tree per batch with RFC 9162 (Certificate
 * Transparency 2.0) hashing; it signs one tree head per batch.  A receipt
 * is the inclusion proof of one decision's leaf plus the signed head: it
 * proves offline that the decision was committed to the audit log.
 *
 * Hashing (RFC 9162 section 2.1.1): SHA-256, leaf = H(0x00 || data),
 * node = H(0x01 || left || right); the tree hash of n leaves splits at the
 * largest power of two below n.  Inclusion proofs follow section 2.1.3.
 * docs/token-format.md (section 13) gives every byte: leaf data, head,
 * signature input and the receipt encoding.
 */
#ifndef MANDATE_RECEIPT_H
#define MANDATE_RECEIPT_H

#include <mandate/common.h>
#include <mandate/key.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MDT_RECEIPT_HASH_BYTES 32       /* SHA-256 */
#define MDT_RECEIPT_PATH_MAX 32         /* proof nodes: trees < 2^32 leaves */
#define MDT_RECEIPT_VERSION 1
/* Leaf data: domain (24 bytes with its NUL), seq, record hash, token id. */
#define MDT_RECEIPT_LEAF_DATA_BYTES (24 + 8 + 32 + 32)
/* Head: version, key id, first and last seq, tree size, time, root,
 * previous head hash. */
#define MDT_RECEIPT_HEAD_BYTES (1 + MDT_KEY_ID_BYTES + 8 + 8 + 4 + 8 + 32 + 32)
/* Encoded receipt: version, seq, record hash, index, path length, path,
 * head, signature. */
#define MDT_RECEIPT_FIXED_BYTES (1 + 8 + 32 + 4 + 1 + \
    MDT_RECEIPT_HEAD_BYTES + MDT_KEY_SIG_BYTES)
#define MDT_RECEIPT_MAX_BYTES (MDT_RECEIPT_FIXED_BYTES + \
    MDT_RECEIPT_PATH_MAX * MDT_RECEIPT_HASH_BYTES)
/* Domain strings of the head signature (mdt_key_sign form) and leaf. */
#define MDT_RECEIPT_HEAD_DOMAIN "mandate/receipt/v1/head"
#define MDT_RECEIPT_LEAF_DOMAIN "mandate/receipt/v1/leaf"

/* Why a receipt was refused: one reason per kind of failure. */
typedef enum mdt_receipt_reason {
	MDT_RECEIPT_OK = 0,
	MDT_RECEIPT_MALFORMED,  /* encoding not as specified (MDT_EDECODE) */
	MDT_RECEIPT_INDEX,      /* leaf index past the tree size
	                           (MDT_EDECODE) */
	MDT_RECEIPT_RANGE,      /* seq outside the head's batch
	                           (MDT_ECHAIN) */
	MDT_RECEIPT_PATH,       /* path does not reach the root (MDT_ECHAIN) */
	MDT_RECEIPT_KEY,        /* head names another key (MDT_EKEY) */
	MDT_RECEIPT_SIGNATURE,  /* head signature fails (MDT_ESIG) */
	MDT_RECEIPT_LEAF        /* leaf not the one expected (MDT_ECHAIN) */
} mdt_receipt_reason;

/* A short name of a reason ("path", "signature", ...). */
MDT_API const char *mdt_receipt_reason_name(mdt_receipt_reason r);

/* ------------------------------------------------------------- hashing */

/* SHA-256(0x00 || data). */
MDT_API void mdt_receipt_leaf_hash(const uint8_t *data, size_t len,
    uint8_t out[MDT_RECEIPT_HASH_BYTES]);

/* SHA-256(0x01 || left || right). */
MDT_API void mdt_receipt_node_hash(const uint8_t left[MDT_RECEIPT_HASH_BYTES],
    const uint8_t right[MDT_RECEIPT_HASH_BYTES],
    uint8_t out[MDT_RECEIPT_HASH_BYTES]);

/*
 * The leaf data of a decision record: MDT_RECEIPT_LEAF_DOMAIN || 0x00 ||
 * uint64_be(seq) || record_hash (the record's chained audit hash) ||
 * token_id (the single-action token the decision issued; 32 zero bytes
 * when none).
 */
MDT_API void mdt_receipt_leaf_data(uint64_t seq,
    const uint8_t record_hash[MDT_RECEIPT_HASH_BYTES],
    const uint8_t token_id[MDT_RECEIPT_HASH_BYTES],
    uint8_t out[MDT_RECEIPT_LEAF_DATA_BYTES]);

/*
 * The Merkle tree hash of n >= 1 leaf hashes (RFC 9162 MTH over leaves
 * already hashed; leaves holds n * MDT_RECEIPT_HASH_BYTES bytes).
 * MDT_EINVAL for n = 0.
 */
MDT_API MDT_WUR int mdt_receipt_tree_root(const uint8_t *leaves, size_t n,
    uint8_t root[MDT_RECEIPT_HASH_BYTES]);

/*
 * The inclusion proof (RFC 9162 PATH) of leaf index among n leaf hashes
 * into path (room for MDT_RECEIPT_PATH_MAX nodes of
 * MDT_RECEIPT_HASH_BYTES), *path_len nodes.  MDT_EINVAL when index >= n
 * or n >= 2^32.
 */
MDT_API MDT_WUR int mdt_receipt_prove(const uint8_t *leaves, size_t n,
    size_t index, uint8_t *path, size_t *path_len);

/*
 * RFC 9162 section 2.1.3.2: does path lead from leaf_hash at index in a
 * tree of tree_size leaves to root?  MDT_OK, or MDT_ECHAIN (reason PATH)
 * / MDT_EDECODE (reason INDEX when index >= tree_size).
 */
MDT_API MDT_WUR int mdt_receipt_verify_path(uint64_t index,
    uint64_t tree_size, const uint8_t leaf_hash[MDT_RECEIPT_HASH_BYTES],
    const uint8_t *path, size_t path_len,
    const uint8_t root[MDT_RECEIPT_HASH_BYTES], mdt_receipt_reason *why);

/* ---------------------------------------------------------------- head */

/* A signed tree head: one per commit batch of decision records. */
typedef struct mdt_receipt_head {
	uint8_t key_id[MDT_KEY_ID_BYTES]; /* the signing key's id */
	uint64_t first_seq;   /* seq of the batch's first decision */
	uint64_t last_seq;    /* seq of its last decision */
	uint32_t tree_size;   /* decisions in the batch (leaves) */
	int64_t time_ms;      /* when the head was made */
	uint8_t root[MDT_RECEIPT_HASH_BYTES];
	uint8_t prev[MDT_RECEIPT_HASH_BYTES]; /* previous head's hash, or 0s */
} mdt_receipt_head;

/* The head's fixed encoding (docs/token-format.md section 13). */
MDT_API void mdt_receipt_head_encode(const mdt_receipt_head *h,
    uint8_t out[MDT_RECEIPT_HEAD_BYTES]);

/* Strict decoding of a head: MDT_EDECODE (version, sizes, seq range). */
MDT_API MDT_WUR int mdt_receipt_head_decode(const uint8_t *buf, size_t len,
    mdt_receipt_head *out);

/* The head's hash: SHA-256 of its encoding (what the next head's prev
 * names). */
MDT_API void mdt_receipt_head_hash(const mdt_receipt_head *h,
    uint8_t out[MDT_RECEIPT_HASH_BYTES]);

/* Signs the head with kp (domain MDT_RECEIPT_HEAD_DOMAIN); sets
 * h->key_id to kp's key id first. */
MDT_API MDT_WUR int mdt_receipt_head_sign(mdt_receipt_head *h,
    const mdt_keypair *kp, uint8_t sig[MDT_KEY_SIG_BYTES]);

/* MDT_EKEY (reason KEY) when the head names another key than pk,
 * MDT_ESIG (reason SIGNATURE) when the signature fails. */
MDT_API MDT_WUR int mdt_receipt_head_verify(const mdt_receipt_head *h,
    const uint8_t sig[MDT_KEY_SIG_BYTES], const mdt_pubkey *pk,
    mdt_receipt_reason *why);

/* ------------------------------------------------------------- receipt */

/* A decoded receipt; every field is a value (no pointers). */
typedef struct mdt_receipt {
	uint64_t seq;                                 /* the decision's seq */
	uint8_t record_hash[MDT_RECEIPT_HASH_BYTES];  /* its chained hash */
	uint32_t index;                               /* leaf index */
	uint8_t path_len;
	uint8_t path[MDT_RECEIPT_PATH_MAX][MDT_RECEIPT_HASH_BYTES];
	mdt_receipt_head head;
	uint8_t sig[MDT_KEY_SIG_BYTES];
} mdt_receipt;

/* 1 when a and b encode to the same bytes (padding never compared). */
MDT_API int mdt_receipt_equal(const mdt_receipt *a, const mdt_receipt *b);

/* The encoded length of r (MDT_RECEIPT_FIXED_BYTES + 32 * path_len). */
MDT_API size_t mdt_receipt_size(const mdt_receipt *r);

/*
 * Encodes r into out (cap bytes), *len the bytes written.  MDT_ETOOBIG
 * when it does not fit, MDT_EINVAL for a path longer than the maximum.
 */
MDT_API MDT_WUR int mdt_receipt_encode(const mdt_receipt *r, uint8_t *out,
    size_t cap, size_t *len);

/*
 * Strict decoding (untrusted input): exact length, version, path length
 * no longer than the maximum and equal to what RFC 9162 needs for the
 * index in a tree of the head's size, index below the tree size, the
 * decision's seq inside the head's range.  MDT_EDECODE with reason
 * MALFORMED / INDEX, or RANGE for a seq outside the batch.
 */
MDT_API MDT_WUR int mdt_receipt_decode(const uint8_t *buf, size_t len,
    mdt_receipt *out, mdt_receipt_reason *why);

/*
 * Verifies a decoded receipt for the decision that issued token_id (32
 * zero bytes for none): the head's key and signature (skipped when
 * head_known says it was verified before, see the cache below), and the
 * path from the leaf to the head's root.  MDT_OK or the reason's code.
 */
MDT_API MDT_WUR int mdt_receipt_verify(const mdt_receipt *r,
    const uint8_t token_id[MDT_RECEIPT_HASH_BYTES], const mdt_pubkey *pk,
    int head_known, mdt_receipt_reason *why);

/*
 * The text form, as an HTTP header (Mandate-Receipt) carries it:
 * "mdtrc1." then base64url without padding of the encoding (canonical:
 * unused low bits zero).  to_text writes it NUL-terminated into out (cap
 * bytes; MDT_RECEIPT_TEXT_MAX always fits a receipt); from_text parses
 * tlen bytes and decodes them as mdt_receipt_decode does.
 */
#define MDT_RECEIPT_TEXT_PREFIX "mdtrc1."
#define MDT_RECEIPT_TEXT_MAX (7 + (MDT_RECEIPT_MAX_BYTES * 4 + 2) / 3 + 1)
MDT_API MDT_WUR int mdt_receipt_to_text(const uint8_t *buf, size_t len,
    char *out, size_t cap);
MDT_API MDT_WUR int mdt_receipt_from_text(const char *text, size_t tlen,
    mdt_receipt *out, mdt_receipt_reason *why);

/* The expected proof length for index in a tree of size leaves. */
MDT_API size_t mdt_receipt_path_len(uint64_t index, uint64_t size);

/* ------------------------------------------------------ verified heads */

/*
 * A bounded cache of verified heads (keyed on the hash of public key,
 * head bytes and signature), so the tokens of one batch cost one
 * signature check between them.  Thread safe.  Caller frees *out with
 * mdt_receipt_cache_free.
 */
typedef struct mdt_receipt_cache mdt_receipt_cache;
MDT_API MDT_WUR int mdt_receipt_cache_new(size_t capacity,
    mdt_receipt_cache **out);
MDT_API void mdt_receipt_cache_free(mdt_receipt_cache *c);

/*
 * mdt_receipt_verify with the cache (NULL: none): a head already
 * verified under pk skips its signature check; a newly verified one is
 * added.
 */
MDT_API MDT_WUR int mdt_receipt_verify_cached(const mdt_receipt *r,
    const uint8_t token_id[MDT_RECEIPT_HASH_BYTES], const mdt_pubkey *pk,
    mdt_receipt_cache *cache, mdt_receipt_reason *why);

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_RECEIPT_H */

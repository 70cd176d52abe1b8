/*
 * Internals of the token module, shared by its files:
 *   token_decode.c  strict decoding of the binary and text forms
 *   token_encode.c  canonical encoding of blocks and envelopes, ids
 *   token_chain.c   signature chain, attenuation rules, verify
 *   token_cache.c   the verified-prefix cache
 *   token_mint.c    mint, attenuate, seal, single-action tokens
 *   token_check.c   request checks and proofs of possession
 *   token_access.c  accessors, block views, JSON
 */
#ifndef MDT_TOKEN_INT_H
#define MDT_TOKEN_INT_H

#include <stdint.h>

#include <sodium.h>

#include <mandate/token.h>

#include "codec_int.h"

/* Domain strings of the token's signatures and hashes. */
#define MDT__TOK_DOMAIN_BLOCK "mandate/token/v1/block"
#define MDT__TOK_DOMAIN_BROKER "mandate/token/v1/broker-block"
#define MDT__TOK_DOMAIN_POP "mandate/token/v1/pop"
#define MDT__TOK_DOMAIN_ID "mandate/token/v1/id"
#define MDT__TOK_DOMAIN_CACHE "mandate/token/v1/cache"

/* Envelope keys. */
enum {
	MDT__TOK_ENV_VERSION = 1,
	MDT__TOK_ENV_BLOCKS = 2,
	MDT__TOK_ENV_PROOF = 3
};

#define MDT__TOK_HOLDER_MAX MDT_TOKEN_HOLDER_MAX
#define MDT__TOK_PURPOSE_MAX 32
#define MDT__TOK_POP_STR_MAX 4096  /* each string of a PoP challenge */
#define MDT__TOK_REF_MAX 1024      /* scratch for a parsed reference */

/* Fields that only block 0 may carry, and that it must carry. */
#define MDT__TOK_B0_ONLY                                                   \
	(MDT_TOKEN_F(MDT_TOKEN_FIELD_VERSION) |                            \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_KEY_ID) |                          \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_PARENT_TASK) |                     \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_CLINICIAN) |                       \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_PATIENT) |                         \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_PURPOSE))
/* Fields that block 0 may not carry. */
#define MDT__TOK_BN_ONLY                                                   \
	(MDT_TOKEN_F(MDT_TOKEN_FIELD_NONCE) |                              \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_BROKER))
#define MDT__TOK_B0_REQUIRED                                               \
	(MDT_TOKEN_F(MDT_TOKEN_FIELD_VERSION) |                            \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_KEY_ID) |                          \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_TASK) |                            \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_ISSUED_AT) |                       \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_EXPIRES_AT) |                      \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER) |                          \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER_KEY) |                      \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_CLINICIAN) |                       \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_PATIENT) |                         \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_PURPOSE) |                         \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_SCOPES) |                          \
	    MDT_TOKEN_F(MDT_TOKEN_FIELD_DEPTH))

/*
 * One block.  In a decoded token, raw/sig and every pointer point into the
 * token's own memory (strings into its arena, NUL-terminated), and scopes
 * is owned.  As input to the encoder, pointers are borrowed and scopes is
 * passed separately.
 */
typedef struct mdt__tok_block {
	unsigned has; /* MDT_TOKEN_F(key) of each present field */
	const uint8_t *raw;
	size_t raw_len;
	const uint8_t *sig;
	uint32_t version;
	const uint8_t *kid;
	const char *task;
	const char *parent;
	int64_t iat;
	int64_t exp;
	const char *holder;
	const uint8_t *holder_key;
	const char *clinician;
	const char *patient;
	const char *purpose;
	mdt_scope_set *scopes;
	uint32_t depth;
	const char *audience;
	const char *resource;
	const uint8_t *next_key;
	int sealed;
	const uint8_t *nonce;
	int broker;   /* a broker block: signed by the root key */
} mdt__tok_block;

struct mdt_token {
	uint8_t *mem;          /* after the struct: binary form, then arena */
	size_t mem_len;
	const uint8_t *enc;    /* the binary form (mem) */
	size_t enc_len;
	/* mdt_token_id of enc, hashed once at decode: every verification
	 * path needs it (receipts, proofs, single use) and enc never
	 * changes after. */
	uint8_t id[MDT_TOKEN_ID_BYTES];
	char *arena;           /* NUL-terminated copies of string fields */
	size_t arena_used, arena_cap;
	const uint8_t *proof;  /* carried next secret (seed), NULL if sealed */
	size_t nblocks;
	int verified;
	mdt_pubkey root;
	/* Effective values, folded over the blocks at decode. */
	const char *tasks[MDT_TOKEN_BLOCKS_MAX + 1];
	size_t ntasks;         /* tasks[0] may be block 0's parent */
	int has_parent;        /* tasks[0] is block 0's parent */
	const char *holder;
	const uint8_t *holder_key;
	const char *audience;
	const char *resource;
	int64_t exp;
	int exp_block;
	uint32_t depth;
	int sealed;
	/* Last: only blocks[0..nblocks) are ever initialised (each as the
	 * envelope is read), which spares zeroing the rest at every decode. */
	mdt__tok_block blocks[MDT_TOKEN_BLOCKS_MAX];
};

/* Fills why (if not NULL) and returns code.  block < 0: none. */
int mdt__tok_fail(mdt_token_reason *why, int code, int block,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Sets why to success. */
void mdt__tok_ok(mdt_token_reason *why);

/* token_encode.c: the token id of a binary form (mdt_token_id). */
void mdt__tok_hash_id(const uint8_t *enc, size_t len,
    uint8_t out[MDT_TOKEN_ID_BYTES]);

/* token_decode.c: strict decode of the binary form (unverified). */
int mdt__tok_decode(const uint8_t *buf, size_t len, mdt_token **out,
    mdt_token_reason *why);
/*
 * A token with room for a binary form of up to cap bytes and its arena,
 * in one allocation: write the binary form at tok->mem, then decode it
 * with mdt__tok_decode_into.  Free with mdt_token_free.
 */
int mdt__tok_alloc(size_t cap, mdt_token **out);
/*
 * As mdt__tok_decode, of the len bytes at tok->mem; tok is freed on
 * failure.  prefix (if not NULL) is a decoded token: a block equal to its
 * block at the same index (bytes and signature) is copied from it rather
 * than decoded again, which gives the same result, since decoding depends
 * only on those bytes, the index and the block count (whose rule is
 * checked again).
 */
int mdt__tok_decode_into(mdt_token *tok, size_t len, const mdt_token *prefix,
    mdt_token_reason *why);
/* 1 when s is a purpose-of-use code (1..32 of A-Z). */
int mdt__tok_purpose_ok(const char *s);
/* Byte length of a fixed-length bin field (key id, keys, nonce). */
size_t mdt__tok_bin_len(unsigned key);
/* Field name of a key, for messages. */
const char *mdt__tok_field_name(unsigned key);

/*
 * token_encode.c: writes block b (fields in b->has; scopes given apart)
 * as a canonical map.
 */
int mdt__tok_write_block(mdt__mp_writer *w, const mdt__tok_block *b,
    const mdt_scope_set *scopes);
/*
 * Writes the envelope: blocks[i] raw bytes and signatures, then the proof
 * (NULL when the last block is sealed).  extra (if not NULL) is one more
 * block appended after the token's own blocks (tok may be NULL).
 */
typedef struct mdt__tok_raw {
	const uint8_t *raw;
	size_t raw_len;
	const uint8_t *sig;
} mdt__tok_raw;
int mdt__tok_write_envelope(mdt__mp_writer *w, const mdt_token *tok,
    const mdt__tok_raw *extra, const uint8_t *proof);

/* token_chain.c */
/*
 * Signs block index i (raw bytes) chained on prev_sig (NULL for block 0),
 * under the broker block domain when broker is nonzero.
 */
int mdt__tok_sign_block(const mdt_keypair *kp, uint32_t index,
    const uint8_t *prev_sig, const uint8_t *raw, size_t raw_len, int broker,
    uint8_t sig[MDT_KEY_SIG_BYTES]);
/* Attenuation rules between blocks 1..n-1 (see docs/token-format.md). */
int mdt__tok_rules(const mdt_token *tok, mdt_token_reason *why);

/* token_mint.c: what mdt__tok_assemble needs besides the block. */
typedef struct mdt__tok_build {
	const mdt_token *prev;     /* NULL when minting */
	const mdt_keypair *signer; /* root key or the carried secret's pair */
	int broker;                /* the block is a broker block */
	const mdt_pubkey *root;
	const uint8_t *next_seed;  /* NULL: random */
	const mdt_scope_set *scopes;
} mdt__tok_build;
/*
 * Completes block b (next key or sealed), writes and signs it, appends it
 * to bd->prev, decodes the result (taking a verified bd->prev's blocks
 * over rather than decoding them again) and applies the attenuation rules
 * to the whole chain.
 * Caller frees *out with mdt_token_free.
 */
int mdt__tok_assemble(const mdt__tok_build *bd, mdt__tok_block *b,
    mdt_token **out, mdt_token_reason *why);
/* A string parameter: present, 1..max bytes, printable UTF-8. */
int mdt__tok_check_str(const char *s, size_t max, const char *name,
    int block, mdt_token_reason *why);
/* A holder: a SPIFFE id and a key. */
int mdt__tok_check_holder(const char *id, const mdt_pubkey *key, int block,
    mdt_token_reason *why);

/* token_cache.c */
int mdt__tok_cache_has(mdt_token_cache *c, const uint8_t d[32]);
void mdt__tok_cache_put(mdt_token_cache *c, const uint8_t d[32]);

#endif

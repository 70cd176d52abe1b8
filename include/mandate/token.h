/*
 * Delegation tokens: attenuable, holder-bound chains of signed blocks.
 *
 * Block 0 (authority) is minted and signed by the broker's root key: task,
 * clinician, patient, purpose of use, scopes, expiry, remaining delegation
 * depth, holder SPIFFE id and holder key.  Every later block is an
 * attenuation that only adds restrictions.  Effective rights are the
 * intersection over all blocks, expiry is the minimum, depth strictly
 * decreases, and clinician, patient and purpose never change.
 *
 * Each block announces a fresh "next" public key; block i is signed by the
 * secret of the key announced by block i-1 (block 0 by the root key), and
 * each signature covers the previous block's signature.  An unsealed token
 * carries the last block's next secret, so whoever holds it may append a
 * block offline.  A sealed token ends with a block that announces no next
 * key: nothing can be appended and no secret travels with it.
 *
 * Offline attenuation may only narrow (scopes, expiry, depth, audience,
 * resource, seal).  A block that hands the token to another holder or
 * starts a subtask must be a broker block: marked as such and signed by
 * the root key itself, under a domain string of its own.  Resource
 * servers (MDT_TOKEN_CHECK_SINGLE_ACTION) accept only single-action
 * tokens whose last block is a broker block.
 *
 * The binary form is canonical msgpack; the text form is "mdt1." followed
 * by base64url (no padding) of the binary form.  docs/token-format.md
 * gives the byte layout, signature inputs and verification algorithm.
 *
 * Life cycle: mint creates a verified token, and attenuate / seal /
 * single_action keep the verified state of their input; decode creates an
 * unverified token (inspection and offline attenuation only) that
 * mdt_token_verify turns into a verified one; mdt_token_open does both.
 * mdt_token_check answers a request at a given time and refuses
 * unverified tokens.  A token is immutable once verified; it may be read
 * from several threads at once.
 */
#ifndef MANDATE_TOKEN_H
#define MANDATE_TOKEN_H

#include <mandate/common.h>
#include <mandate/key.h>
#include <mandate/receipt.h>
#include <mandate/scope.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MDT_TOKEN_VERSION 1
#define MDT_TOKEN_TEXT_PREFIX "mdt1."
#define MDT_TOKEN_ID_BYTES 32          /* token id: BLAKE2b-256 */
#define MDT_TOKEN_ID_TEXT_BYTES (2 * MDT_TOKEN_ID_BYTES + 1)

/* Bounds: exceeding any of them is MDT_ETOOBIG. */
#define MDT_TOKEN_BYTES_MAX 16384      /* binary form */
#define MDT_TOKEN_TEXT_MAX 21852       /* text form, prefix included */
#define MDT_TOKEN_BLOCKS_MAX 32        /* blocks in one token */
#define MDT_TOKEN_BLOCK_BYTES_MAX 4096 /* one encoded block */
#define MDT_TOKEN_STR_MAX 255          /* an id or string field, bytes */
#define MDT_TOKEN_HOLDER_MAX 2048      /* the holder field (a SPIFFE id) */
#define MDT_TOKEN_DEPTH_MAX 16         /* delegation depth in block 0 */
#define MDT_TOKEN_SKEW_SECONDS 60      /* tolerated clock skew on issued-at */
#define MDT_TOKEN_SINGLE_TTL_MAX 300   /* single-action token lifetime cap */
#define MDT_TOKEN_NONCE_BYTES 16       /* the nonce field: exactly this long */

/* Field keys of a block (the msgpack map keys; see docs/token-format.md).
 * MDT_TOKEN_F(key) is the bit of mdt_token_block_view.fields. */
enum mdt_token_field {
	MDT_TOKEN_FIELD_VERSION = 1,
	MDT_TOKEN_FIELD_KEY_ID = 2,
	MDT_TOKEN_FIELD_TASK = 3,
	MDT_TOKEN_FIELD_PARENT_TASK = 4,
	MDT_TOKEN_FIELD_ISSUED_AT = 5,
	MDT_TOKEN_FIELD_EXPIRES_AT = 6,
	MDT_TOKEN_FIELD_HOLDER = 7,
	MDT_TOKEN_FIELD_HOLDER_KEY = 8,
	MDT_TOKEN_FIELD_CLINICIAN = 9,
	MDT_TOKEN_FIELD_PATIENT = 10,
	MDT_TOKEN_FIELD_PURPOSE = 11,
	MDT_TOKEN_FIELD_SCOPES = 12,
	MDT_TOKEN_FIELD_DEPTH = 13,
	MDT_TOKEN_FIELD_AUDIENCE = 14,
	MDT_TOKEN_FIELD_RESOURCE = 15,
	MDT_TOKEN_FIELD_NEXT_KEY = 16,
	MDT_TOKEN_FIELD_SEALED = 17,
	MDT_TOKEN_FIELD_NONCE = 18,
	MDT_TOKEN_FIELD_BROKER = 19
};
#define MDT_TOKEN_F(key) (1u << (key))

typedef struct mdt_token mdt_token;
typedef struct mdt_token_cache mdt_token_cache;

/*
 * Why an operation failed or a request was denied.  code is MDT_OK or a
 * negative MDT_E* code, block the index of the block concerned (-1 when
 * none), message says what and where (block, field, byte offset).
 */
typedef struct mdt_token_reason {
	int code;
	int block;
	char message[MDT_ERRMSG_MAX];
} mdt_token_reason;

/* ---------------------------------------------------------------- mint */

/*
 * Block 0 content.  Strings are NUL-terminated, 1..MDT_TOKEN_STR_MAX bytes
 * (holder_id: MDT_TOKEN_HOLDER_MAX) of printable UTF-8 (no control
 * characters), borrowed for the call.
 */
typedef struct mdt_token_mint_params {
	const char *task_id;        /* NULL: a random 128-bit id (hex) */
	const char *parent_task_id; /* NULL for a root task */
	const char *clinician;
	const char *patient;
	const char *purpose;        /* HL7 v3 PurposeOfUse: TREAT, ETREAT, ... */
	const mdt_scope_set *scopes;
	int64_t issued_at;          /* unix seconds */
	int64_t expires_at;         /* unix seconds, > issued_at */
	uint32_t depth;             /* remaining delegations, <= DEPTH_MAX */
	const char *holder_id;      /* holder SPIFFE id */
	const mdt_pubkey *holder_key;
	const char *audience;       /* NULL: none */
	/* NULL (always, outside test vectors): the next key is drawn at
	 * random.  Otherwise its 32-byte seed, for reproducible vectors. */
	const uint8_t *next_seed;
} mdt_token_mint_params;

/*
 * Mints a new token whose block 0 is signed by root.  The token is
 * verified (against root's public key) and unsealed.  Caller frees *out
 * with mdt_token_free.  MDT_EINVAL / MDT_EPARSE / MDT_ETOOBIG name the
 * offending field in why.
 */
MDT_API MDT_WUR int mdt_token_mint(const mdt_keypair *root,
    const mdt_token_mint_params *p, mdt_token **out, mdt_token_reason *why);

/* ----------------------------------------------------------- attenuate */

#define MDT_TOKEN_KEEP_DEPTH (-1)

/*
 * One attenuation block.  Every field is optional: NULL / 0 / KEEP leaves
 * the matter to earlier blocks.
 *   scopes      must be contained in the token's effective scopes
 *   expires_at  must not be later than the effective expiry
 *   depth       must be below the effective depth; when the holder
 *               changes and depth is KEEP, effective depth - 1 is used
 *   holder_id, holder_key   delegation to another holder (both or
 *               neither); consumes depth, so depth 0 cannot delegate;
 *               only in a broker block
 *   audience    must equal any audience already set
 *   resource    restricts to one resource reference (as read by
 *               mdt_scope_request_parse); must equal any already set
 *   task_id     a subtask id; its parent is the previous task id; only
 *               in a broker block
 *   issued_at   recorded when nonzero; the block is not valid before it
 *   seal        nonzero: the block is the last (the result is sealed)
 *   next_seed   as for mint (test vectors only)
 *   nonce       MDT_TOKEN_NONCE_BYTES bytes recorded in the block (and
 *               signed with it) so that the token differs from every
 *               other, or NULL for none
 *   broker      NULL: an offline attenuation, signed with the carried
 *               secret, which may only narrow (holder_id, holder_key and
 *               task_id are refused with MDT_EINVAL).  Otherwise the
 *               broker's root key, the one block 0 names (MDT_EKEY if
 *               not): the block is a broker block, signed with it, and
 *               may also delegate and start a subtask.  Borrowed.
 */
typedef struct mdt_token_attenuate_params {
	const mdt_scope_set *scopes;
	int64_t expires_at;
	int32_t depth;
	const char *holder_id;
	const mdt_pubkey *holder_key;
	const char *audience;
	const char *resource;
	const char *task_id;
	int64_t issued_at;
	int seal;
	const uint8_t *next_seed;
	const uint8_t *nonce;
	const mdt_keypair *broker;
} mdt_token_attenuate_params;

/*
 * Appends one block to an unsealed token, signed with the secret it
 * carries (or, with p->broker, a broker block signed by the root key; the
 * result carries the new block's next secret either way).  tok is
 * unchanged.  tok may be merely decoded (an agent need
 * not hold the root key to attenuate offline): the result is verified
 * only if tok was.  MDT_ESEALED on a sealed token, MDT_ECHAIN when the
 * carried secret does not match, MDT_ESCOPE / MDT_EDEPTH / MDT_EAUDIENCE
 * / MDT_EINVAL when the block would widen anything.  Caller frees *out
 * with mdt_token_free.
 */
MDT_API MDT_WUR int mdt_token_attenuate(const mdt_token *tok,
    const mdt_token_attenuate_params *p, mdt_token **out,
    mdt_token_reason *why);

/* Appends an empty sealing block.  Caller frees *out. */
MDT_API MDT_WUR int mdt_token_seal(const mdt_token *tok, mdt_token **out,
    mdt_token_reason *why);

/*
 * A single-action token for a resource server: one block that narrows to
 * exactly one action (a permission or tool letter) on one resource
 * reference for one audience, expiring at min(effective expiry, now +
 * ttl), and seals.  ttl is 1..MDT_TOKEN_SINGLE_TTL_MAX.  The block
 * carries a nonce, so two single-action tokens made for the same request
 * in the same second still differ (resource servers accept each token id
 * once).  MDT_ESCOPE when the token does not authorize that action at
 * all.  Caller frees *out.
 *
 * Resource servers (MDT_TOKEN_CHECK_SINGLE_ACTION) accept the result only
 * when it was made by the broker: broker is then its root key (as for
 * mdt_token_attenuate_params.broker) and the block is a broker block.
 * NULL makes an ordinary offline block, for tests and offline tools;
 * every resource server refuses it.
 */
typedef struct mdt_token_single_params {
	const char *action;
	const char *resource;
	const char *audience;
	int64_t now;
	int64_t ttl;
	/* NULL (always, outside test vectors): MDT_TOKEN_NONCE_BYTES fresh
	 * random bytes.  Otherwise the nonce to use, for reproducible
	 * vectors; reusing one makes tokens collide. */
	const uint8_t *nonce;
	const mdt_keypair *broker;
} mdt_token_single_params;

MDT_API MDT_WUR int mdt_token_single_action(const mdt_token *tok,
    const mdt_token_single_params *p, mdt_token **out,
    mdt_token_reason *why);

/* -------------------------------------------------- decode and verify */

/*
 * Strictly decodes the binary form (canonical msgpack only, no trailing
 * bytes, no unknown or duplicate fields, bounds enforced).  Signatures are
 * NOT checked: the result is unverified and only good for inspection until
 * mdt_token_verify succeeds.  buf is copied.  Caller frees *out with
 * mdt_token_free.
 */
MDT_API MDT_WUR int mdt_token_decode(const uint8_t *buf, size_t len,
    mdt_token **out, mdt_token_reason *why);

/* As mdt_token_decode, from the text form (len bytes, no NUL needed). */
MDT_API MDT_WUR int mdt_token_decode_text(const char *text, size_t len,
    mdt_token **out, mdt_token_reason *why);

/*
 * Verifies the chain against the root public key: key id, every block
 * signature in order, the carried secret (unsealed tokens) and the
 * attenuation rules between blocks.  Time is not considered here (see
 * mdt_token_check).  With a cache, the longest prefix already verified
 * under the same root (keyed on a hash of every byte verified) skips its
 * signatures; successes are added to it.  Errors: MDT_EKEY (key id),
 * MDT_ESIG (block N), MDT_ECHAIN (carried secret), MDT_EDEPTH,
 * MDT_ESCOPE, MDT_EAUDIENCE (block N), MDT_EHOLDER (block N changes the
 * holder but is not a broker block), MDT_ESCOPE (block N starts a task
 * but is not a broker block).
 */
MDT_API MDT_WUR int mdt_token_verify(mdt_token *tok, const mdt_pubkey *root,
    mdt_token_cache *cache, mdt_token_reason *why);

/*
 * Verifies tok against root as mdt_token_verify does, with a receipt in
 * place of its block signatures: r's head, signed by root (checked, or
 * found in rcache as verified before; rcache may be NULL), proves that
 * the broker logged the decision that issued exactly these bytes, since
 * r's leaf names mdt_token_id(tok), a hash of every byte of the token,
 * its signatures included.  The broker checked those bytes when it
 * issued and logged them, so one head signature stands for the
 * signatures of every token of its batch.  The key id, the carried
 * secret and the attenuation rules between blocks are still checked.
 * When r does not prove this token under root, the receipt's code is
 * returned and *rwhy (may be NULL) says why; otherwise errors as
 * mdt_token_verify.  No token cache is consulted or filled.
 */
MDT_API MDT_WUR int mdt_token_verify_receipt(mdt_token *tok,
    const mdt_pubkey *root, const mdt_receipt *r, mdt_receipt_cache *rcache,
    mdt_token_reason *why, mdt_receipt_reason *rwhy);

/* Decode then verify.  Caller frees *out with mdt_token_free. */
MDT_API MDT_WUR int mdt_token_open(const uint8_t *buf, size_t len,
    const mdt_pubkey *root, mdt_token_cache *cache, mdt_token **out,
    mdt_token_reason *why);

/* Decode text then verify.  Caller frees *out with mdt_token_free. */
MDT_API MDT_WUR int mdt_token_open_text(const char *text, size_t len,
    const mdt_pubkey *root, mdt_token_cache *cache, mdt_token **out,
    mdt_token_reason *why);

/* Frees a token, wiping the secret it may carry.  NULL is a no-op. */
MDT_API void mdt_token_free(mdt_token *tok);

/* 1 when the token has been verified (or was created by this library). */
MDT_API int mdt_token_is_verified(const mdt_token *tok);

/* ------------------------------------------------------------ encoding */

/*
 * The binary form, borrowed: valid until mdt_token_free.  It includes the
 * carried secret of an unsealed token: do not log it.
 */
MDT_API const uint8_t *mdt_token_bytes(const mdt_token *tok, size_t *len);

/*
 * The text form, NUL-terminated.  Caller frees *out with
 * mdt_token_text_free (which wipes it: it may carry a secret).
 */
MDT_API MDT_WUR int mdt_token_to_text(const mdt_token *tok, char **out);

/* Wipes and frees a string from mdt_token_to_text.  NULL is a no-op. */
MDT_API void mdt_token_text_free(char *text);

/*
 * Token id: BLAKE2b-256 over "mandate/token/v1/id" || 0x00 || the binary
 * form.  Stable for given bytes; used in audit records and PoP.
 */
MDT_API void mdt_token_id(const mdt_token *tok,
    uint8_t out[MDT_TOKEN_ID_BYTES]);
MDT_API void mdt_token_id_text(const mdt_token *tok,
    char out[MDT_TOKEN_ID_TEXT_BYTES]);

/* ----------------------------------------------------------- accessors */
/* Returned strings are borrowed from the token (valid until it is freed). */

MDT_API size_t mdt_token_block_count(const mdt_token *tok);
MDT_API int mdt_token_is_sealed(const mdt_token *tok);
MDT_API const uint8_t *mdt_token_key_id(const mdt_token *tok);
/* The task id of the last block that sets one. */
MDT_API const char *mdt_token_task_id(const mdt_token *tok);
/* The task before it on the chain (or block 0's parent); NULL if none. */
MDT_API const char *mdt_token_parent_task_id(const mdt_token *tok);
/*
 * Task ids along the chain, oldest first: block 0's parent (if any), then
 * every task id set by a block.  NULL when i is past the end.  Verifiers
 * check each against revocations.
 */
MDT_API const char *mdt_token_task_chain(const mdt_token *tok, size_t i);
MDT_API const char *mdt_token_clinician(const mdt_token *tok);
MDT_API const char *mdt_token_patient(const mdt_token *tok);
MDT_API const char *mdt_token_purpose(const mdt_token *tok);
MDT_API int64_t mdt_token_issued_at(const mdt_token *tok);   /* block 0 */
MDT_API int64_t mdt_token_expires_at(const mdt_token *tok);  /* minimum */
MDT_API uint32_t mdt_token_depth(const mdt_token *tok);      /* remaining */
MDT_API const char *mdt_token_holder_id(const mdt_token *tok);
MDT_API void mdt_token_holder_key(const mdt_token *tok, mdt_pubkey *out);
MDT_API const char *mdt_token_audience(const mdt_token *tok); /* or NULL */
MDT_API const char *mdt_token_resource(const mdt_token *tok); /* or NULL */

/*
 * The effective scope set: the intersection of every block's scopes.
 * Caller frees *out with mdt_scope_set_free.
 */
MDT_API MDT_WUR int mdt_token_scopes(const mdt_token *tok,
    mdt_scope_set **out);

/* One block as decoded; pointers borrowed from the token. */
typedef struct mdt_token_block_view {
	unsigned fields;            /* MDT_TOKEN_F(key) for each field present */
	uint32_t version;
	const uint8_t *key_id;      /* MDT_KEY_ID_BYTES */
	const char *task_id;
	const char *parent_task_id;
	int64_t issued_at;
	int64_t expires_at;
	const char *holder_id;
	const uint8_t *holder_key;  /* MDT_KEY_PUBLIC_BYTES */
	const char *clinician;
	const char *patient;
	const char *purpose;
	const mdt_scope_set *scopes;
	uint32_t depth;
	const char *audience;
	const char *resource;
	const uint8_t *next_key;    /* MDT_KEY_PUBLIC_BYTES, NULL if sealed */
	int sealed;
	const uint8_t *signature;   /* MDT_KEY_SIG_BYTES */
	const uint8_t *nonce;       /* MDT_TOKEN_NONCE_BYTES, or NULL */
	int broker;                 /* nonzero: a broker block (root-signed) */
} mdt_token_block_view;

/* Fills *out with block i; MDT_EINVAL if i is out of range. */
MDT_API MDT_WUR int mdt_token_block(const mdt_token *tok, size_t i,
    mdt_token_block_view *out);

/*
 * Every block, decoded, as a JSON document (the carried secret is never
 * included, only whether one is present).  Caller frees *out with
 * mdt_free.
 */
MDT_API MDT_WUR int mdt_token_to_json(const mdt_token *tok, char **out);

/* ------------------------------------------------- proof of possession */

/*
 * A proof of possession: the holder signs, with the holder key of the
 * token's last holder-setting block, the domain-separated challenge
 * (token id, audience, action, resource, nonce, time); see
 * docs/token-format.md.  nonce is the request id, unique per request:
 * verifiers reject a nonce they have seen within the proof's lifetime.
 */
typedef struct mdt_token_pop {
	const char *audience;  /* NULL or the verifier's audience */
	const char *action;
	const char *resource;
	const char *nonce;
	int64_t time;          /* unix seconds when signed */
	uint8_t sig[MDT_KEY_SIG_BYTES];
} mdt_token_pop;

/*
 * Fills pop->sig.  MDT_EHOLDER when holder is not the token's holder key.
 */
MDT_API MDT_WUR int mdt_token_pop_sign(const mdt_token *tok,
    const mdt_keypair *holder, mdt_token_pop *pop);

/*
 * Checks pop->sig with the token's holder key and that |now - pop->time|
 * <= max_age.  MDT_EHOLDER on a bad signature, MDT_EEXPIRED when stale.
 */
MDT_API MDT_WUR int mdt_token_pop_verify(const mdt_token *tok,
    const mdt_token_pop *pop, int64_t now, int64_t max_age,
    mdt_token_reason *why);

/*
 * The text form of a proof, as an HTTP header carries it
 * (docs/token-format.md):  mdtpop1.<time>.<nonce>.<signature>
 * time in decimal Unix seconds, nonce 16..64 of [0-9a-z], signature in
 * base64url without padding.  The audience, action and resource it signs
 * are not carried: a verifier supplies its own.
 */
#define MDT_TOKEN_POP_TEXT_MAX 192  /* text form, NUL included */
#define MDT_TOKEN_POP_NONCE_MAX 65  /* nonce, NUL included */

/* Writes the text form of a signed pop into out (cap bytes):
 * MDT_ETOOBIG when it does not fit. */
MDT_API MDT_WUR int mdt_token_pop_to_text(const mdt_token_pop *pop,
    char *out, size_t cap);

/*
 * Parses the text form (untrusted input): fills pop->time, pop->sig and
 * pop->nonce, which points into the caller's nonce buffer; audience,
 * action and resource are left for the caller to set.  MDT_EDECODE with
 * what and where in err.
 */
MDT_API MDT_WUR int mdt_token_pop_from_text(const char *text,
    mdt_token_pop *pop, char nonce[MDT_TOKEN_POP_NONCE_MAX], char *err,
    size_t errlen);

/* --------------------------------------------------------------- check */

/* Flag: the verifier is a resource server and accepts only sealed
 * single-action tokens (audience and resource set) for itself, whose last
 * block is a broker block (MDT_EHOLDER otherwise): a single-action token
 * a holder made offline is refused. */
#define MDT_TOKEN_CHECK_SINGLE_ACTION 0x1u

/*
 * A request to check.  Strings are NUL-terminated and borrowed.
 *   action    a permission letter (c r u d s) or a tool letter
 *   resource  a reference: `Type/id`, `Type`, `Type?k=v&...`, `tool/name`
 *   patient   the patient whose compartment the resource is in, or NULL
 *             when it is in none
 *   attrs     resource attributes that scope query restrictions match
 *   audience  the verifier's own audience, or NULL; a token carrying an
 *             audience is accepted only by a verifier of that audience,
 *             and with SINGLE_ACTION the audience is required
 *   holder_id the authenticated caller's SPIFFE id, or NULL to skip
 *   pop       a proof of possession to check (its audience, action and
 *             resource must be the request's), or NULL to skip
 */
typedef struct mdt_token_check_params {
	const char *action;
	const char *resource;
	const char *patient;
	const mdt_scope_param *attrs;
	size_t nattrs;
	int64_t now;
	const char *audience;
	const char *holder_id;
	const mdt_token_pop *pop;
	int64_t pop_max_age;
	unsigned flags;
} mdt_token_check_params;

/*
 * Answers a request against a verified token at time p->now.  Returns
 * MDT_OK when allowed; otherwise the negative reason code, which why (if
 * not NULL) also holds with the block index and a message: MDT_EEXPIRED
 * (expired or not yet valid, block N), MDT_EAUDIENCE, MDT_EHOLDER (wrong
 * holder or bad proof), MDT_EPATIENT, MDT_ESCOPE (outside block N), or
 * MDT_EINVAL for an unverified token or a malformed request.  Fails
 * closed: every error is a deny.
 */
MDT_API MDT_WUR int mdt_token_check(const mdt_token *tok,
    const mdt_token_check_params *p, mdt_token_reason *why);

/* ----------------------------------------------------------- root sets */

/*
 * Root key rollover (docs/token-format.md, section 12): while the broker
 * moves to a new root key, verifiers hold a set of root public keys (the
 * current one and the next or the previous) and accept a token under the
 * one its block 0 names by key id; keys are never tried in turn.
 */
#define MDT_TOKEN_ROOTS_MAX 4          /* keys in a root set */
#define MDT_TOKEN_ROOTS_FILE_MAX 4096  /* bytes of a root set file */

/* The key of roots (n keys) whose key id block 0 of tok names, or NULL. */
MDT_API const mdt_pubkey *mdt_token_root_of(const mdt_token *tok,
    const mdt_pubkey *roots, size_t n);

/*
 * As mdt_token_open, against a root set: decodes, picks the key block 0
 * names (MDT_EKEY with why naming the key id when none of roots is it)
 * and verifies.  Caller frees *out with mdt_token_free.
 */
MDT_API MDT_WUR int mdt_token_open_roots(const uint8_t *buf, size_t len,
    const mdt_pubkey *roots, size_t n, mdt_token_cache *cache,
    mdt_token **out, mdt_token_reason *why);
/* The same from the text form. */
MDT_API MDT_WUR int mdt_token_open_roots_text(const char *text, size_t len,
    const mdt_pubkey *roots, size_t n, mdt_token_cache *cache,
    mdt_token **out, mdt_token_reason *why);
/* mdt_token_verify against a root set (tok merely decoded). */
MDT_API MDT_WUR int mdt_token_verify_roots(mdt_token *tok,
    const mdt_pubkey *roots, size_t n, mdt_token_cache *cache,
    mdt_token_reason *why);

/*
 * Reads a root set file: one `mdtpk1.` public key per line (a .pub file
 * is a set of one), blank lines and lines starting with '#' ignored, 1 to
 * max (at most MDT_TOKEN_ROOTS_MAX) distinct keys, at most
 * MDT_TOKEN_ROOTS_FILE_MAX bytes.  roots receives them in file order, *n
 * their number.  MDT_EKEY / MDT_EPARSE / MDT_ETOOBIG with err naming the
 * file and line.
 */
MDT_API MDT_WUR int mdt_token_roots_load(const char *path,
    mdt_pubkey *roots, size_t max, size_t *n, char *err, size_t errlen);

/* ---------------------------------------------------------------- cache */

/*
 * A verified-prefix cache shared by verifications under any root key:
 * a fixed table of up to `capacity` 32-byte digests, each a hash of the
 * root key and every byte of a verified prefix.  Thread safe.  Caller
 * frees *out with mdt_token_cache_free.
 */
MDT_API MDT_WUR int mdt_token_cache_new(size_t capacity,
    mdt_token_cache **out);

/* Frees a cache.  NULL is a no-op. */
MDT_API void mdt_token_cache_free(mdt_token_cache *cache);

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_TOKEN_H */

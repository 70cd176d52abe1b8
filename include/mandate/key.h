/*
 * Ed25519 keys: the broker's root signing key, agents' holder keys and
 * the per-block keys of delegation tokens.
 *
 * A key pair is opaque; its secret is wiped when it is freed.  A public
 * key is a plain value (mdt_pubkey) that may be copied freely.
 *
 * Files: `NAME.key` holds the secret seed, `NAME.pub` the public key, each
 * as one line of text followed by a newline:
 *
 *     NAME.key   mdtsk1.<base64url, no padding, of the 32-byte seed>
 *     NAME.pub   mdtpk1.<base64url, no padding, of the 32-byte public key>
 *
 * `NAME.key` is created with mode 0600 and refused on load when group or
 * other users may read or write it.
 *
 * Key id: BLAKE2b with a 16-byte digest and no key, over the bytes
 * "mandate/key/v1/id" || 0x00 || pk.
 * Token block 0 names the root key by this id.
 *
 * Signatures made by mdt_key_sign are domain separated: the Ed25519
 * message is the domain string, one 0x00 byte, then the caller's bytes.
 * Two purposes never share a domain string, so a signature made for one
 * can never be accepted for another.
 */
#ifndef MANDATE_KEY_H
#define MANDATE_KEY_H

#include <mandate/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MDT_KEY_PUBLIC_BYTES 32 /* Ed25519 public key */
#define MDT_KEY_SEED_BYTES 32   /* Ed25519 secret seed */
#define MDT_KEY_SIG_BYTES 64    /* Ed25519 signature */
#define MDT_KEY_ID_BYTES 16     /* key id, see above */
#define MDT_KEY_ID_TEXT_BYTES (2 * MDT_KEY_ID_BYTES + 1) /* hex + NUL */
/* "mdtpk1." + 43 base64url characters + NUL */
#define MDT_KEY_PUBLIC_TEXT_BYTES 51
#define MDT_KEY_DOMAIN_MAX 64   /* longest domain string, bytes */

/* Text prefixes of the two file forms. */
#define MDT_KEY_PUBLIC_PREFIX "mdtpk1."
#define MDT_KEY_SECRET_PREFIX "mdtsk1."

/* An Ed25519 public key, as a value. */
typedef struct mdt_pubkey {
	uint8_t bytes[MDT_KEY_PUBLIC_BYTES];
} mdt_pubkey;

/* An Ed25519 key pair (secret and public halves).  Opaque. */
typedef struct mdt_keypair mdt_keypair;

/*
 * Generates a fresh key pair from the system's secure random source.
 * Caller frees *out with mdt_keypair_free.
 */
MDT_API MDT_WUR int mdt_keypair_generate(mdt_keypair **out);

/*
 * Derives the key pair of a 32-byte seed (deterministic; for test vectors
 * and for keys carried inside tokens).  The seed is copied; the caller
 * still owns and wipes its own copy.  Caller frees *out with
 * mdt_keypair_free.
 */
MDT_API MDT_WUR int mdt_keypair_from_seed(
    const uint8_t seed[MDT_KEY_SEED_BYTES], mdt_keypair **out);

/* Wipes the secret and frees the key pair.  NULL is a no-op. */
MDT_API void mdt_keypair_free(mdt_keypair *kp);

/* Copies the public half into *out. */
MDT_API void mdt_keypair_public(const mdt_keypair *kp, mdt_pubkey *out);

/*
 * Copies the 32-byte secret seed into seed.  The caller owns the copy and
 * must wipe it (sodium_memzero) when done.
 */
MDT_API void mdt_keypair_seed(const mdt_keypair *kp,
    uint8_t seed[MDT_KEY_SEED_BYTES]);

/*
 * Writes `base.key` (mode 0600, created exclusively) and `base.pub`.
 * MDT_EEXIST if either file already exists (nothing is overwritten),
 * MDT_EIO for other file errors; err names the file and the cause.
 */
MDT_API MDT_WUR int mdt_keypair_save(const mdt_keypair *kp, const char *base,
    char *err, size_t errlen);

/*
 * Loads a key pair from a `.key` file (the full path is given).  Refused
 * with MDT_EKEY when the file is readable or writable by group or others,
 * or when its content is not exactly one `mdtsk1.` line.  Caller frees
 * *out with mdt_keypair_free.
 */
MDT_API MDT_WUR int mdt_keypair_load(const char *path, mdt_keypair **out,
    char *err, size_t errlen);

/*
 * Loads a public key from a `.pub` file: exactly one `mdtpk1.` line
 * (a final newline is optional).  MDT_EKEY on malformed content.
 */
MDT_API MDT_WUR int mdt_pubkey_load(const char *path, mdt_pubkey *out,
    char *err, size_t errlen);

/* Writes the `.pub` file form of pk to path (0644); MDT_EEXIST if it exists. */
MDT_API MDT_WUR int mdt_pubkey_save(const mdt_pubkey *pk, const char *path,
    char *err, size_t errlen);

/*
 * Text form `mdtpk1.<base64url>` (NUL-terminated) into buf, which must hold
 * MDT_KEY_PUBLIC_TEXT_BYTES.
 */
MDT_API void mdt_pubkey_to_text(const mdt_pubkey *pk,
    char buf[MDT_KEY_PUBLIC_TEXT_BYTES]);

/*
 * Parses the text form (len bytes, no NUL needed; no surrounding space).
 * MDT_EKEY when malformed.  *out written only on success.
 */
MDT_API MDT_WUR int mdt_pubkey_from_text(const char *text, size_t len,
    mdt_pubkey *out);

/* Constant-time equality of two public keys: 1 when equal, else 0. */
MDT_API int mdt_pubkey_equal(const mdt_pubkey *a, const mdt_pubkey *b);

/* The key id of pk (see the header comment). */
MDT_API void mdt_key_id(const mdt_pubkey *pk, uint8_t out[MDT_KEY_ID_BYTES]);

/* The key id of pk as lowercase hex, NUL-terminated. */
MDT_API void mdt_key_id_text(const mdt_pubkey *pk,
    char out[MDT_KEY_ID_TEXT_BYTES]);

/*
 * Signs domain || 0x00 || msg with kp.  domain is a NUL-terminated string
 * of 1..MDT_KEY_DOMAIN_MAX bytes (e.g. "mandate/broker/v1/auth").
 * MDT_EINVAL on a bad domain; MDT_ENOMEM if a long message cannot be
 * staged.
 */
MDT_API MDT_WUR int mdt_key_sign(const mdt_keypair *kp, const char *domain,
    const uint8_t *msg, size_t len, uint8_t sig[MDT_KEY_SIG_BYTES]);

/*
 * Verifies a signature made by mdt_key_sign with the same domain.
 * MDT_OK when valid, MDT_ESIG when not (or MDT_EINVAL / MDT_ENOMEM as
 * above).  Non-canonical signatures and small-order keys are rejected.
 */
MDT_API MDT_WUR int mdt_key_verify(const mdt_pubkey *pk, const char *domain,
    const uint8_t *msg, size_t len, const uint8_t sig[MDT_KEY_SIG_BYTES]);

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_KEY_H */

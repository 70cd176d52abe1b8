/*
 * Internals of the Ed25519 key module shared with tokens: libsodium
 * start-up, the key pair layout, multi-part domain-separated signing and
 * strict base64url.
 */
#ifndef MDT_KEY_INT_H
#define MDT_KEY_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include <mandate/key.h>

struct mdt_keypair {
	uint8_t sk[crypto_sign_SECRETKEYBYTES]; /* seed || public key */
	mdt_pubkey pk;
};

/* sodium_init once; MDT_ECRYPTO if libsodium cannot start. */
int mdt__sodium_init(void);

/* A piece of a signed message. */
typedef struct mdt__part {
	const uint8_t *p;
	size_t n;
} mdt__part;

/*
 * Signs / verifies the concatenation domain || 0x00 || parts[0] || ...
 * The concatenation is staged on the stack when it fits (the common case
 * for token blocks) and on the heap otherwise.
 */
int mdt__sign_parts(const mdt_keypair *kp, const char *domain,
    const mdt__part *parts, size_t nparts, uint8_t sig[MDT_KEY_SIG_BYTES]);
int mdt__verify_parts(const uint8_t pk[MDT_KEY_PUBLIC_BYTES],
    const char *domain, const mdt__part *parts, size_t nparts,
    const uint8_t sig[MDT_KEY_SIG_BYTES]);

/*
 * A key pair from a seed and the public key it is already known to have
 * (checked by the caller, e.g. a verified token's proof against its last
 * block's next key): no scalar multiplication.  Never call it with a
 * public key not derived from seed.  Caller frees with mdt_keypair_free.
 */
int mdt__keypair_from_checked_seed(const uint8_t seed[MDT_KEY_SEED_BYTES],
    const uint8_t pk[MDT_KEY_PUBLIC_BYTES], mdt_keypair **out);

/*
 * Public key of a 32-byte seed, without keeping the secret around (the
 * expanded secret is wiped before returning).
 */
int mdt__seed_public(const uint8_t seed[MDT_KEY_SEED_BYTES],
    uint8_t pk[MDT_KEY_PUBLIC_BYTES]);

/*
 * Strict base64url without padding: decodes exactly `n` bytes from text
 * (len bytes) and accepts only the canonical encoding (re-encoding gives
 * the same text).  0 or MDT_EPARSE.
 */
int mdt__b64url_decode(const char *text, size_t len, uint8_t *out,
    size_t outmax, size_t *n);
/* Characters of the base64url form of n bytes (no padding, no NUL). */
#define MDT__B64URL_LEN(n) ((n) / 3 * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))
/* Encodes into out (NUL-terminated); outlen must hold the result and its
 * NUL (a shorter buffer is a caller's bug: abort, as libsodium does). */
void mdt__b64url_encode(const uint8_t *in, size_t n, char *out,
    size_t outlen);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void mdt__hex(const uint8_t *in, size_t n, char *out);

#endif

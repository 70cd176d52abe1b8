/*
 * Token test fixtures shared by the token suites: deterministic keys from
 * fixed seeds, a standard block 0, and helpers to attenuate and to check
 * requests in one call.
 */
#ifndef MDT_TOKEN_FIXTURE_H
#define MDT_TOKEN_FIXTURE_H

#include <mandate/key.h>
#include <mandate/scope.h>
#include <mandate/token.h>

#define TF_NOW 1767225600   /* 2026-01-01T00:00:00Z */
#define TF_TTL 600
#define TF_PATIENT "pat-123"
#define TF_ORCH "spiffe://clinic.example/orchestrator"
#define TF_AGENT "spiffe://clinic.example/agent/labs"
#define TF_AGENT2 "spiffe://clinic.example/agent/notes"

/* Key pair whose seed is 32 bytes of `fill` (deterministic). */
mdt_keypair *tf_key(uint8_t fill);
mdt_pubkey tf_pub(const mdt_keypair *kp);

/* Scope set parsed from space-separated text (aborts the test on error). */
mdt_scope_set *tf_scopes(const char *text);

/*
 * Mints a token signed by root for holder (TF_ORCH), patient TF_PATIENT,
 * purpose TREAT, the given scopes and depth, issued at TF_NOW and
 * expiring TF_TTL later.  Next keys come from seeds derived from `salt`
 * so the result is deterministic.
 */
mdt_token *tf_mint(const mdt_keypair *root, const mdt_keypair *holder,
    const char *scopes, uint32_t depth, uint8_t salt);

/* Attenuates with optional scopes text (NULL: none); aborts on error. */
mdt_token *tf_narrow(const mdt_token *tok, const char *scopes);

/* Delegates to holder id/key, depth KEEP, in a broker block signed by
 * root (as only the broker may hand a token on); aborts on error. */
mdt_token *tf_delegate(const mdt_token *tok, const mdt_keypair *root,
    const char *holder_id, const mdt_keypair *holder, const char *scopes);

/* Checks action on resource (patient TF_PATIENT) at now; the status. */
int tf_check(const mdt_token *tok, const char *action, const char *resource,
    int64_t now, mdt_token_reason *why);

/*
 * What an attacker's own code makes, which the library refuses to: tok
 * plus a block naming holder_id/hk as holder (depth one lower), signed
 * with the secret tok carries rather than by the broker.  The bytes go to
 * a fresh buffer (caller frees with mdt_free); aborts on error.
 */
uint8_t *tf_offline_holder(const mdt_token *tok, const char *holder_id,
    const mdt_pubkey *hk, size_t *len);

/* Binary form copied into a fresh buffer (caller frees with free()). */
uint8_t *tf_bytes(const mdt_token *tok, size_t *len);

#endif

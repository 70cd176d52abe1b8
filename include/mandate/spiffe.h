/*
 * SPIFFE IDs (`spiffe://trust-domain/path`), parsed and validated per the
 * SPIFFE ID standard:
 *   - scheme `spiffe`, lowercase, followed by `://`;
 *   - trust domain of 1..255 bytes from [a-z0-9.-_] (lowercase only; no
 *     port, no userinfo);
 *   - optional path of segments `/seg`, each 1+ bytes from [A-Za-z0-9.-_],
 *     never `.` or `..`, no empty segment and no trailing slash;
 *   - no query, fragment or percent-encoding; whole id at most 2048 bytes.
 * Invalid ids are rejected, never normalised: a valid id is its own
 * canonical form, so two valid ids name the same workload exactly when
 * their bytes are equal.
 */
#ifndef MANDATE_SPIFFE_H
#define MANDATE_SPIFFE_H

#include <mandate/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MDT_SPIFFE_ID_MAX 2048          /* bytes in a whole id */
#define MDT_SPIFFE_TRUST_DOMAIN_MAX 255 /* bytes in a trust domain */

/*
 * A parsed SPIFFE ID.  `id` holds the whole id, NUL-terminated; the trust
 * domain is id[td_off .. td_off+td_len) and the path (empty, or starting
 * with '/') is id[path_off .. path_off+path_len).  Plain data: copy freely.
 */
typedef struct mdt_spiffe_id {
	char id[MDT_SPIFFE_ID_MAX + 1];
	size_t len;
	size_t td_off;
	size_t td_len;
	size_t path_off;
	size_t path_len;
} mdt_spiffe_id;

/*
 * Validates s (len bytes; no NUL needed) as a SPIFFE ID.  Returns 0, or
 * MDT_EPARSE (MDT_ETOOBIG when a length bound is exceeded) with a message
 * in err (if not NULL) naming the byte offset and the reason.
 */
MDT_API MDT_WUR int mdt_spiffe_validate(const char *s, size_t len, char *err,
    size_t errlen);

/*
 * Parses s (len bytes) into *out.  Errors as mdt_spiffe_validate; *out is
 * written only on success.
 */
MDT_API MDT_WUR int mdt_spiffe_parse(const char *s, size_t len,
    mdt_spiffe_id *out, char *err, size_t errlen);

/*
 * Validates a bare trust domain name (`example.org`, no scheme).  Errors
 * as mdt_spiffe_validate.
 */
MDT_API MDT_WUR int mdt_spiffe_validate_trust_domain(const char *s,
    size_t len, char *err, size_t errlen);

/*
 * 1 when the id belongs to the trust domain td (td_len bytes, a bare
 * name), else 0.  Comparison is exact: both are lowercase by definition.
 */
MDT_API int mdt_spiffe_in_trust_domain(const mdt_spiffe_id *id,
    const char *td, size_t td_len);

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_SPIFFE_H */

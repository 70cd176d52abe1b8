/*
 * Mandate common definitions: export macros, the error enum and
 * mdt_strerror().  Every public function returns an int status: MDT_OK
 * (0) or a negative MDT_E* code.  Detail beyond the code (where, why) is
 * given through a per-handle or caller-supplied message buffer.
 */
#ifndef MANDATE_COMMON_H
#define MANDATE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MDT_BUILDING_LIBRARY) && defined(__GNUC__)
#define MDT_API __attribute__((visibility("default")))
#else
#define MDT_API
#endif

#if defined(__GNUC__)
#define MDT_WUR __attribute__((warn_unused_result))
#else
#define MDT_WUR
#endif

/*
 * Error codes.  Values are stable: new codes are only ever added at the
 * end, just before MDT_E_COUNT_.  Functions return the negation (-MDT_EX).
 */
enum mdt_err {
	MDT_OK = 0,
	MDT_ENOMEM = 1,     /* out of memory */
	MDT_EINVAL = 2,     /* invalid argument */
	MDT_EPARSE = 3,     /* malformed text input (scope, id, policy, ...) */
	MDT_ETOOBIG = 4,    /* input exceeds a size or depth bound */
	MDT_EDECODE = 5,    /* malformed or non-canonical binary encoding */
	MDT_ESIG = 6,       /* signature does not verify */
	MDT_EEXPIRED = 7,   /* token, assertion or approval expired */
	MDT_EDEPTH = 8,     /* delegation depth exhausted or not decreasing */
	MDT_ESCOPE = 9,     /* request or attenuation outside a scope */
	MDT_EHOLDER = 10,   /* caller is not the token's holder */
	MDT_ESEALED = 11,   /* token is sealed and cannot be attenuated */
	MDT_EVERSION = 12,  /* unsupported format version */
	MDT_EKEY = 13,      /* unknown or unusable key */
	MDT_EPATIENT = 14,  /* patient mismatch */
	MDT_EAUDIENCE = 15, /* audience mismatch */
	MDT_EREVOKED = 16,  /* task or token revoked */
	MDT_EDENIED = 17,   /* policy denied */
	MDT_ESTEPUP = 18,   /* step-up approval required */
	MDT_EIO = 19,       /* file or OS error */
	MDT_ESTORE = 20,    /* audit or task store error */
	MDT_ECRYPTO = 21,   /* cryptographic library failure */
	MDT_EPROTO = 22,    /* wire protocol violation */
	MDT_EAUTH = 23,     /* authentication failed or missing */
	MDT_ETIMEDOUT = 24, /* operation timed out */
	MDT_ECLOSED = 25,   /* handle or connection closed */
	MDT_ENOTFOUND = 26, /* no such task, agent, entity or key */
	MDT_EEXIST = 27,    /* already exists */
	MDT_EBUSY = 28,     /* resource busy or limit reached */
	MDT_EPOLICY = 29,   /* policy evaluation error */
	MDT_ETRANSPORT = 30,/* transport (nng) failure */
	MDT_ECHAIN = 31,    /* token chain inconsistent (keys, spliced blocks) */
	MDT_EFANOUT = 32,   /* delegation fan-out limit reached */
	MDT_ECYCLE = 33,    /* delegation cycle or hierarchy cycle */
	MDT_EAUDIT = 34,    /* audit chain verification failed */
	MDT_ECONFIG = 35,   /* invalid configuration */
	MDT_EUNSUPPORTED = 36, /* feature not supported */
	MDT_E_COUNT_        /* not an error: number of codes */
};

/*
 * Returns a static, human-readable string for a status code.  Accepts
 * either sign (MDT_ESIG or -MDT_ESIG).  Unknown codes give
 * "unknown error".  The string must not be freed.
 */
MDT_API const char *mdt_strerror(int status);

/* Size of the message buffers that functions taking `char *err` fill. */
#define MDT_ERRMSG_MAX 256

/* Library version, "MAJOR.MINOR.PATCH". */
MDT_API const char *mdt_version(void);

/*
 * Frees memory returned by any mdt_* function documented as "caller frees
 * with mdt_free".  NULL is a harmless no-op.
 */
MDT_API void mdt_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_COMMON_H */

/*
 * Internals shared by the files of libmandate-agent.  Nothing here is
 * public; the API is include/mandate/agent.h.
 */
#ifndef MDT_SDK_INT_H
#define MDT_SDK_INT_H

#include <stdint.h>

#include <mandate/agent.h>

/* ---- bounded id sets (idset.c) ---- */

typedef struct sdk_idset sdk_idset;

/* A set holding at most cap live ids.  Caller frees with sdk_idset_free. */
int sdk_idset_new(size_t cap, sdk_idset **out);
void sdk_idset_free(sdk_idset *s);
/* Remembers id (len bytes) until `expires` (Unix seconds).  -MDT_EEXIST
 * when it is already present and alive (the entry is left unchanged),
 * -MDT_EBUSY when the set is full of live entries. */
int sdk_idset_add(sdk_idset *s, const char *id, size_t len, int64_t expires,
    int64_t now);
/* 1 when id is present and alive at now, else 0. */
int sdk_idset_has(const sdk_idset *s, const char *id, size_t len,
    int64_t now);
size_t sdk_idset_count(const sdk_idset *s);

/* ---- helpers (util.c) ---- */

/* Formats into err (may be NULL) like snprintf; returns status. */
int sdk_err(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Current Unix time, seconds. */
int64_t sdk_now(void);
/* Copies a NUL-terminated string of at most max-1 bytes into dst (max
 * bytes); -MDT_ETOOBIG when longer, -MDT_EINVAL when NULL. */
int sdk_strcpy(char *dst, size_t max, const char *src);

#endif

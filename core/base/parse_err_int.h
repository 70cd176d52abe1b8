/*
 * Error messages of the text parsers (scopes, SPIFFE ids, JWTs): every
 * message says where (a byte offset) and why, into a caller buffer.
 */
#ifndef MDT_PARSE_ERR_INT_H
#define MDT_PARSE_ERR_INT_H

#include <stddef.h>

/*
 * Writes "byte OFF: MESSAGE" into err (errlen bytes, truncated and always
 * NUL-terminated).  err may be NULL.  Returns status, so callers can
 * `return mdt__parse_err(...)`.
 */
int mdt__parse_err(int status, char *err, size_t errlen, size_t off,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* As mdt__parse_err without the offset prefix. */
int mdt__errmsg(int status, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

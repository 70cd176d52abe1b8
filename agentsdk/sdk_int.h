/*
 * Internals shared by the files of libmandate-agent.  Nothing here is
 * public; the API is include/mandate/agent.h.
 */
#ifndef MDT_SDK_INT_H
#define MDT_SDK_INT_H

#include <stdint.h>

#include <msgpack.h>
#include <nng/nng.h>

#include <mandate/agent.h>
#include <mandate/token.h>

/* Largest message accepted from the broker (MDT_WIRE_MSG_MAX). */
#define SDK_MSG_MAX (1u << 20)

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

/* ---- events (events.c) ---- */

/* Storage behind one decoded event. */
typedef struct sdk_event_buf {
	msgpack_unpacked up;
	char *arena;
	size_t used;
	const char **ids;
} sdk_event_buf;

/* Decodes one published message into *ev (pointers into b, valid until
 * the next decode or clear).  -MDT_EUNSUPPORTED for an unknown topic. */
int sdk_event_decode(const uint8_t *buf, size_t len, sdk_event_buf *b,
    mdt_event *ev);
/* Frees what b holds and zeroes it (msgpack part re-initialised by the
 * next decode). */
void sdk_event_buf_clear(sdk_event_buf *b);
/* Opens a sub0 socket subscribed to everything and dials url in the
 * background (re-dialing while the broker is away). */
int sdk_sub_dial(nng_socket *sock, const char *url, char *err,
    size_t errlen);

/* ---- proof-of-possession text (pop.c) ---- */

#define SDK_NONCE_MAX 65 /* nonce text, NUL included */

/* A fresh random nonce: 32 lowercase hex digits. */
int sdk_pop_nonce(char nonce[SDK_NONCE_MAX]);
/* "mdtpop1.<time>.<nonce>.<sig>" of a signed pop into out (cap bytes). */
int sdk_pop_format(const mdt_token_pop *pop, char *out, size_t cap);
/* Parses the text form: fills pop->time, pop->nonce (pointing at nonce)
 * and pop->sig; audience, action and resource are left to the caller. */
int sdk_pop_parse(const char *text, mdt_token_pop *pop,
    char nonce[SDK_NONCE_MAX], char *err, size_t errlen);

/* ---- helpers (util.c) ---- */

/* Formats into err (may be NULL) like snprintf; returns status. */
int sdk_err(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Current Unix time, seconds. */
int64_t sdk_now(void);
/* Monotonic clock, milliseconds. */
uint64_t sdk_clock_ms(void);
/* Copies a NUL-terminated string of at most max-1 bytes into dst (max
 * bytes); -MDT_ETOOBIG when longer, -MDT_EINVAL when NULL. */
int sdk_strcpy(char *dst, size_t max, const char *src);

#endif

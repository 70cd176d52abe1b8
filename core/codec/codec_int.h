/*
 * Canonical msgpack: a strict reader and a writer shared by the token
 * format and the broker's wire protocol.
 *
 * Canonical form, enforced by the reader and produced by the writer:
 *   - every integer, string, binary, array and map header uses the
 *     shortest encoding for its value or length (a non-negative integer is
 *     always a positive fixint or uintN; intN only for negatives that do
 *     not fit a negative fixint);
 *   - strings are valid UTF-8 (utf8_int.h) without NUL or other control
 *     characters (so they are safe C strings and safe to print): the
 *     text_refuse flags of readers and writers, which a user of the
 *     layer with another text rule sets after init;
 *   - maps have unsigned integer keys in strictly ascending order (hence
 *     no duplicates), and a table names every key allowed;
 *   - floats, extension types and the reserved byte 0xc1 do not occur;
 *   - no bytes follow the top-level value;
 *   - every length is bounded by the caller and by the bytes present,
 *     and nesting by the reader's depth limit.
 *
 * The broker's wire protocol reads a dialect of its own through the same
 * reader (any_width): any width for an integer or a length, and a signed
 * form for any integer, because the protocol lets other encoders choose;
 * string map keys (mdt__mp_read_key) instead of integer ones.
 *
 * The reader never allocates: strings and binaries are returned as
 * pointers into the input.  The writer packs with msgpack-c's packer into
 * a caller buffer (fixed) or a growing buffer with an upper bound; an
 * overflow is a sticky MDT_ETOOBIG.
 */
#ifndef MDT_CODEC_INT_H
#define MDT_CODEC_INT_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "utf8_int.h"

#define MDT__MP_DEPTH_MAX 16 /* default nesting bound of a reader */

/* Value kinds as seen by mdt__mp_peek. */
typedef enum mdt__mp_kind {
	MDT__MP_NIL = 1,
	MDT__MP_BOOL,
	MDT__MP_UINT,
	MDT__MP_NINT,  /* signed form: negative unless any_width */
	MDT__MP_STR,
	MDT__MP_BIN,
	MDT__MP_ARRAY,
	MDT__MP_MAP,
	MDT__MP_OTHER  /* float, ext, reserved: never canonical */
} mdt__mp_kind;

/*
 * Reader over buf[0..len).  Errors are negative MDT_E* codes: MDT_EDECODE
 * for malformed or non-canonical bytes (message names the byte offset),
 * MDT_ETOOBIG for a bound.  The first error's message is kept in err.
 */
typedef struct mdt__mp_reader {
	const uint8_t *buf;
	size_t len;
	size_t off;
	unsigned depth;     /* containers currently open (maps/arrays) */
	unsigned max_depth;
	unsigned text_refuse; /* MDT__UTF8_* a string may not hold */
	int any_width;        /* accept every width, not just the shortest */
	const char *where;    /* prefix of the offset in messages: "byte" */
	char err[192];
} mdt__mp_reader;

void mdt__mp_reader_init(mdt__mp_reader *r, const uint8_t *buf, size_t len);

/* Kind of the next value, without consuming it; MDT_EDECODE at the end. */
int mdt__mp_peek(mdt__mp_reader *r, mdt__mp_kind *kind);

int mdt__mp_read_bool(mdt__mp_reader *r, int *v);
int mdt__mp_read_uint(mdt__mp_reader *r, uint64_t *v);
/* Any integer that fits int64 (uint above INT64_MAX is MDT_EDECODE). */
int mdt__mp_read_int(mdt__mp_reader *r, int64_t *v);
/* String of at most max bytes; *s points into the input (no NUL). */
int mdt__mp_read_str(mdt__mp_reader *r, const char **s, size_t *n,
    size_t max);
/* Binary of at most max bytes; *p points into the input. */
int mdt__mp_read_bin(mdt__mp_reader *r, const uint8_t **p, size_t *n,
    size_t max);
/* Binary of exactly n bytes. */
int mdt__mp_read_bin_fixed(mdt__mp_reader *r, const uint8_t **p, size_t n);
/*
 * Array / map headers: *n elements (pairs), at most max.  Each opens a
 * nesting level that mdt__mp_leave closes once its elements are read.
 */
int mdt__mp_read_array(mdt__mp_reader *r, size_t *n, size_t max);
int mdt__mp_read_map(mdt__mp_reader *r, size_t *n, size_t max);
void mdt__mp_leave(mdt__mp_reader *r);
/*
 * Any one value, for readers that build a tree or skip: its kind, and
 *   BOOL, UINT, NINT: i (0/1 for booleans; an unsigned integer above
 *                     INT64_MAX is MDT_EDECODE);
 *   STR, BIN:        p and n (no bound but the bytes present; strings
 *                    under the text rule);
 *   ARRAY, MAP:      n items or pairs, at most max_array / max_map; the
 *                    container is open (mdt__mp_leave once its items are
 *                    read).
 * Float, extension and reserved tags are MDT_EDECODE.
 */
typedef struct mdt__mp_item {
	mdt__mp_kind kind;
	size_t n;
	int64_t i;
	const uint8_t *p;
} mdt__mp_item;

int mdt__mp_read_item(mdt__mp_reader *r, mdt__mp_item *it, size_t max_array,
    size_t max_map);
/*
 * A string map key of 1..max bytes (max < 256) in a short form (fixstr or
 * str8); an empty or longer key is MDT_EDECODE.  *s points into the input.
 */
int mdt__mp_read_key(mdt__mp_reader *r, const char **s, size_t *n,
    size_t max);
/* Consumes any one canonical value (nested ones too, within max_depth). */
int mdt__mp_skip(mdt__mp_reader *r);
/* MDT_EDECODE unless every byte has been consumed. */
int mdt__mp_read_end(mdt__mp_reader *r);
/* Records a caller-side error at the current offset (message kept). */
int mdt__mp_fail(mdt__mp_reader *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Table-driven map decoding.  Each entry names an allowed key and the
 * function that reads its value.  mdt__mp_read_fields reads a map whose
 * keys must be strictly ascending and all in the table (keys < 64); *seen
 * gets the bit (1 << key) of each key met.  The caller then checks the
 * required bits.  The callback reads exactly one value and returns 0 or a
 * negative MDT_E*; it gets its table entry, so one callback can serve
 * many fields through `arg`.
 */
typedef struct mdt__mp_field {
	uint32_t key;
	const char *name;
	int (*read)(mdt__mp_reader *r, const struct mdt__mp_field *f,
	    void *ctx);
	size_t arg;   /* for the callback: a struct offset, a bound, ... */
} mdt__mp_field;

int mdt__mp_read_fields(mdt__mp_reader *r, const mdt__mp_field *fields,
    size_t nfields, void *ctx, uint64_t *seen);

/* ------------------------------------------------------------- writer */

typedef struct mdt__mp_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t max;      /* growing writers: hard upper bound */
	int owned;       /* buf grows with mdt__realloc and is owned */
	int status;      /* sticky: 0 or the first error */
	unsigned text_refuse; /* MDT__UTF8_* a string may not hold */
	/* 1 (the default): strings are checked against text_refuse.  The
	 * wire writer sets 0: its callers vouch for their strings and the
	 * receiving decoder checks them, as the protocol always has. */
	int text_checked;
	msgpack_packer pk;
} mdt__mp_writer;

/* Writer into a caller buffer of cap bytes. */
void mdt__mp_writer_init(mdt__mp_writer *w, uint8_t *buf, size_t cap);
/*
 * Growing writer, at most max bytes.  Take the result with
 * mdt__mp_writer_take, or release it with mdt__mp_writer_dispose.
 */
void mdt__mp_writer_init_dyn(mdt__mp_writer *w, size_t max);
/* Wipes and frees the buffer of a growing writer. */
void mdt__mp_writer_dispose(mdt__mp_writer *w);
/*
 * Status of a growing writer's result; on success *out (caller frees with
 * mdt__free) and *len hold the bytes.  The writer is emptied either way.
 */
int mdt__mp_writer_take(mdt__mp_writer *w, uint8_t **out, size_t *len);

void mdt__mp_write_nil(mdt__mp_writer *w);
void mdt__mp_write_bool(mdt__mp_writer *w, int v);
void mdt__mp_write_uint(mdt__mp_writer *w, uint64_t v);
void mdt__mp_write_int(mdt__mp_writer *w, int64_t v);
/* Strings must satisfy the reader's rules (checked: MDT_EINVAL). */
void mdt__mp_write_str(mdt__mp_writer *w, const char *s, size_t n);
void mdt__mp_write_cstr(mdt__mp_writer *w, const char *s);
void mdt__mp_write_bin(mdt__mp_writer *w, const uint8_t *p, size_t n);
void mdt__mp_write_array(mdt__mp_writer *w, size_t n);
void mdt__mp_write_map(mdt__mp_writer *w, size_t n);
/*
 * Appends n zero bytes, room for a header known only at the end (the
 * caller writes it into buf later); returns their offset.
 */
size_t mdt__mp_writer_reserve(mdt__mp_writer *w, size_t n);
/* Sticky status: 0 or the first error. */
int mdt__mp_writer_status(const mdt__mp_writer *w);

#endif

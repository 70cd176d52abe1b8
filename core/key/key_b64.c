/*
 * Strict base64url without padding (RFC 4648 section 5), in constant time.
 *
 * Token texts can carry a token's next secret and key files a seed, so
 * neither direction branches on, or indexes a table with, the bytes it
 * converts: each character is computed with masks.  Whole groups of four
 * characters are done at a time, which is what makes this several times
 * faster than converting a character per call; tokens, receipts and
 * proofs are converted on every request.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "key_int.h"

/* -1 when a < b else 0 (a, b in 0..0xffff), without a branch. */
static inline int
lt_mask(int a, int b)
{
	return (int)(((unsigned)(a - b) >> 16) & 1u) * -1;
}

/* The value of one base64url character, or -1. */
static inline int
b64_val(int c)
{
	int v = -1;

	v += lt_mask(0x40, c) & lt_mask(c, 0x5b) & (c - 64);  /* A-Z: 0..25 */
	v += lt_mask(0x60, c) & lt_mask(c, 0x7b) & (c - 70);  /* a-z: 26..51 */
	v += lt_mask(0x2f, c) & lt_mask(c, 0x3a) & (c + 5);   /* 0-9: 52..61 */
	v += lt_mask(0x2c, c) & lt_mask(c, 0x2e) & 63;        /* '-': 62 */
	v += lt_mask(0x5e, c) & lt_mask(c, 0x60) & 64;        /* '_': 63 */
	return v;
}

/* The character for a 6-bit value. */
static inline char
b64_chr(int v)
{
	int d = 'A';

	d += lt_mask(25, v) & ('a' - 'A' - 26);
	d -= lt_mask(51, v) & ('a' - '0' + 26);
	d -= lt_mask(61, v) & ('0' - '-' + 10);
	d += lt_mask(62, v) & ('_' - '-' - 1);
	return (char)(v + d);
}

void
mdt__b64url_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	/* as sodium_bin2base64: a buffer too small is a caller's bug */
	if (outlen < MDT__B64URL_LEN(n) + 1)
		abort();
	for (; i + 3 <= n; i += 3, o += 4) {
		uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o] = b64_chr((int)(w >> 18));
		out[o + 1] = b64_chr((int)(w >> 12 & 63));
		out[o + 2] = b64_chr((int)(w >> 6 & 63));
		out[o + 3] = b64_chr((int)(w & 63));
	}
	if (n - i == 1) {
		out[o++] = b64_chr(in[i] >> 2);
		out[o++] = b64_chr((in[i] & 3) << 4);
	} else if (n - i == 2) {
		uint32_t w = (uint32_t)in[i] << 8 | in[i + 1];
		out[o++] = b64_chr((int)(w >> 10));
		out[o++] = b64_chr((int)(w >> 4 & 63));
		out[o++] = b64_chr((int)(w << 2 & 63));
	}
	out[o] = '\0';
}

/*
 * Eight characters at a time, one per byte of a 64-bit word: every range
 * test is an addition whose carry lands in the byte's top bit, so the
 * eight are tested at once and nothing depends on their values.
 */
#define LANES(b) (0x0101010101010101ULL * (uint64_t)(b))
#define TOPS LANES(0x80)

/* 0x80 in each byte whose character (0..0x7f) is >= lo. */
static inline uint64_t
lanes_ge(uint64_t x, unsigned lo)
{
	return (x + LANES(0x80 - lo)) & TOPS;
}

/* 0xff in each byte whose character is in lo..hi, else 0x00. */
static inline uint64_t
lanes_in(uint64_t x, unsigned lo, unsigned hi)
{
	return ((lanes_ge(x, lo) & ~lanes_ge(x, hi + 1)) >> 7) * 0xff;
}

/* The 6-bit values of eight characters into six bytes; *bad gets
 * nonzero bits for any character outside the alphabet. */
static inline void
decode8(const unsigned char *t, uint8_t *out, uint64_t *bad)
{
	uint64_t x = 0, b, up, lo, dg, mi, us, v;
	uint32_t w;

	for (int k = 0; k < 8; k++)
		x |= (uint64_t)t[k] << (8 * k);
	*bad |= x & TOPS;
	x &= ~TOPS;
	b = x | TOPS; /* b - c per byte cannot borrow from the next */
	up = lanes_in(x, 'A', 'Z');
	lo = lanes_in(x, 'a', 'z');
	dg = lanes_in(x, '0', '9');
	mi = lanes_in(x, '-', '-');
	us = lanes_in(x, '_', '_');
	*bad |= ~(up | lo | dg | mi | us);
	v = (up & (b - LANES('A'))) | (lo & (b - LANES('a' - 26))) |
	    (dg & (b - LANES('0') + LANES(52))) | (mi & LANES(62)) |
	    (us & LANES(63));
	v &= LANES(0x3f);
	for (int h = 0; h < 2; h++, v >>= 32) {
		w = (uint32_t)(v & 0x3f) << 18 | (uint32_t)(v >> 8 & 0x3f) << 12 |
		    (uint32_t)(v >> 16 & 0x3f) << 6 | (uint32_t)(v >> 24 & 0x3f);
		out[3 * h] = (uint8_t)(w >> 16);
		out[3 * h + 1] = (uint8_t)(w >> 8);
		out[3 * h + 2] = (uint8_t)w;
	}
}

/* Decodes the last 2 to 7 characters (one group of four, then 2 or 3
 * characters whose unused low bits must be 0). */
static size_t
decode_tail(const char *t, size_t k, uint8_t *out, uint64_t *bad)
{
	size_t o = 0;
	int flags = 0;

	for (; k >= 4; k -= 4, t += 4, o += 3) {
		int a = b64_val((unsigned char)t[0]);
		int b = b64_val((unsigned char)t[1]);
		int c = b64_val((unsigned char)t[2]);
		int d = b64_val((unsigned char)t[3]);

		flags |= a | b | c | d;
		out[o] = (uint8_t)((a & 63) << 2 | (b & 63) >> 4);
		out[o + 1] = (uint8_t)((b & 15) << 4 | (c & 63) >> 2);
		out[o + 2] = (uint8_t)((c & 3) << 6 | (d & 63));
	}
	if (k >= 2) {
		int a = b64_val((unsigned char)t[0]);
		int b = b64_val((unsigned char)t[1]);

		flags |= a | b;
		out[o++] = (uint8_t)((a & 63) << 2 | (b & 63) >> 4);
		if (k == 2) {
			flags |= -((b & 15) != 0);
		} else {
			int c = b64_val((unsigned char)t[2]);

			flags |= c | -((c & 3) != 0);
			out[o++] = (uint8_t)((b & 15) << 4 | (c & 63) >> 2);
		}
	}
	/* every flag above is -1, every valid value 0..63 */
	*bad |= (uint64_t)(flags < 0);
	return o;
}

int
mdt__b64url_decode(const char *text, size_t len, uint8_t *out,
    size_t outmax, size_t *n)
{
	const unsigned char *t = (const unsigned char *)text;
	size_t i = 0, o = 0, need;
	uint64_t bad = 0;

	if (text == NULL || out == NULL || n == NULL || len == 0 ||
	    len % 4 == 1)
		return -MDT_EPARSE;
	need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
	if (need > outmax)
		return -MDT_EPARSE;
	for (; i + 8 <= len; i += 8, o += 6)
		decode8(t + i, out + o, &bad);
	o += decode_tail(text + i, len - i, out + o, &bad);
	if (bad != 0) {
		sodium_memzero(out, o);
		return -MDT_EPARSE;
	}
	*n = o;
	return 0;
}

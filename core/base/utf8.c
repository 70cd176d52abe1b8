/*
 * The UTF-8 validator (utf8_int.h).  Well-formedness follows the table of
 * well-formed byte sequences of the Unicode standard (chapter 3, table
 * 3-7): the lead byte fixes the length and the range of the second byte,
 * which is what excludes overlong forms, surrogates and code points above
 * U+10FFFF without decoding anything.
 */
#include <stdint.h>
#include <string.h>

#include "utf8_int.h"

/* Length of the sequence led by b and the range of its second byte. */
typedef struct lead {
	uint8_t len, lo, hi;
} lead;

static lead
lead_of(uint8_t b)
{
	if (b >= 0xc2 && b <= 0xdf)
		return (lead){2, 0x80, 0xbf};
	if (b == 0xe0)
		return (lead){3, 0xa0, 0xbf};
	if (b == 0xed)
		return (lead){3, 0x80, 0x9f};
	if (b >= 0xe1 && b <= 0xef)
		return (lead){3, 0x80, 0xbf};
	if (b == 0xf0)
		return (lead){4, 0x90, 0xbf};
	if (b >= 0xf1 && b <= 0xf3)
		return (lead){4, 0x80, 0xbf};
	if (b == 0xf4)
		return (lead){4, 0x80, 0x8f};
	return (lead){0, 0, 0}; /* continuation, C0, C1, F5..FF */
}

/* 1 when the ASCII byte c is a character `refuse` names. */
static int
ascii_refused(uint8_t c, unsigned refuse)
{
	if (c == 0)
		return (refuse & MDT__UTF8_NUL) != 0;
	if (c < 0x20)
		return (refuse & MDT__UTF8_C0) != 0;
	return c == 0x7f && (refuse & MDT__UTF8_DEL_C1) != 0;
}

/* Length of the valid sequence at p[0..n) (lead byte >= 0x80), or 0. */
static size_t
sequence(const uint8_t *p, size_t n)
{
	lead l = lead_of(p[0]);

	if (l.len == 0 || l.len > n || p[1] < l.lo || p[1] > l.hi)
		return 0;
	for (size_t k = 2; k < l.len; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	return l.len;
}

#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull

/*
 * 1 when the 8 bytes at p are all printable ASCII (0x20..0x7e), which
 * every rule allows: no high bit, no byte below 0x20, no 0x7f (the
 * classic tests for a byte less than n and for a zero byte).
 */
static int
printable8(const uint8_t *p)
{
	uint64_t w, del;

	memcpy(&w, p, sizeof(w));
	del = w ^ (0x7f * ONES);
	return ((w | ((w - 0x20 * ONES) & ~w) | ((del - ONES) & ~del)) &
	    HIGH) == 0;
}

/* 1 when p[0..n) is all printable ASCII (n >= 8): whole words, then the
 * last eight bytes again, overlapping. */
static int
printable_words(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i += 8)
		if (!printable8(p + i))
			return 0;
	return printable8(p + n - 8);
}

size_t
mdt__utf8_check(const char *s, size_t n, unsigned refuse)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	if (n >= 8 && printable_words(p, n))
		return n;

	while (i < n) {
		uint8_t c;
		size_t k;

		/* Printable ASCII, nearly every byte of ids, scopes and keys,
		 * passes every rule: eight bytes at a time, then one. */
		while (n - i >= 8 && printable8(p + i))
			i += 8;
		while (i < n && p[i] >= 0x20 && p[i] < 0x7f)
			i++;
		if (i == n)
			break;
		c = p[i];
		if (c < 0x80) {
			if (ascii_refused(c, refuse))
				return i;
			i++;
			continue;
		}
		if ((refuse & MDT__UTF8_ASCII) != 0 ||
		    (k = sequence(p + i, n - i)) == 0)
			return i;
		/* C1 controls are U+0080..U+009F: C2 80..C2 9F. */
		if (c == 0xc2 && p[i + 1] <= 0x9f &&
		    (refuse & MDT__UTF8_DEL_C1) != 0)
			return i;
		i += k;
	}
	return n;
}

void
mdt__utf8_scrub(char *s)
{
	size_t n = strlen(s), i = 0;

	while (i < n) {
		i += mdt__utf8_check(s + i, n - i, MDT__UTF8_CONTROLS);
		if (i < n)
			s[i++] = '?';
	}
}

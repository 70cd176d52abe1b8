/*
 * The one UTF-8 validator of libmandate: tokens, the wire protocol, the
 * audit store, scopes and Cedar's JSON all check text with it, each with
 * the flags its own rule names.
 *
 * Valid means RFC 3629: every character in its shortest form, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF.  The flags name
 * what a caller refuses beyond that.
 */
#ifndef MDT_UTF8_INT_H
#define MDT_UTF8_INT_H

#include <stddef.h>

#define MDT__UTF8_NUL    0x01u /* U+0000 */
#define MDT__UTF8_C0     0x02u /* U+0001..U+001F */
#define MDT__UTF8_DEL_C1 0x04u /* U+007F..U+009F */
#define MDT__UTF8_ASCII  0x08u /* anything above U+007F */
/* Printable text: no control character at all. */
#define MDT__UTF8_CONTROLS (MDT__UTF8_NUL | MDT__UTF8_C0 | MDT__UTF8_DEL_C1)

/*
 * Offset of the first byte of s[0..n) that does not begin a valid,
 * allowed character (a malformed, truncated or overlong sequence, a
 * surrogate, a code point above U+10FFFF, or a character `refuse` names),
 * or n when every character is valid and allowed.
 */
size_t mdt__utf8_check(const char *s, size_t n, unsigned refuse);

/* 1 when mdt__utf8_check finds nothing to refuse, else 0. */
static inline int
mdt__utf8_ok(const char *s, size_t n, unsigned refuse)
{
	return mdt__utf8_check(s, n, refuse) == n;
}

/*
 * Makes the NUL-terminated s printable text in place, for messages that
 * quote what a peer sent or cut a longer text at a byte bound: every byte
 * mdt__utf8_check refuses under MDT__UTF8_CONTROLS becomes '?', so a
 * character split by the cut, a malformed sequence or a control byte can
 * never make the message undecodable where it is read strictly.
 */
void mdt__utf8_scrub(char *s);

#endif

/*
 * Decoding what a browser sends beside the head: the query string and
 * the sign-in form (application/x-www-form-urlencoded) and the Cookie
 * header.  Untrusted input: every value is bounded, percent escapes
 * must be well formed, and a decoded value must be printable UTF-8.
 */
#include <string.h>

#include <sodium.h>

#include "console_int.h"
#include "utf8_int.h"

/* Percent-decodes s (n bytes) into out (size len); length or -1. */
static long
decode(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			unsigned char byte;
			size_t got = 0;
			if (i + 2 >= n || sodium_hex2bin(&byte, 1, s + i + 1, 2,
			    NULL, &got, NULL) != 0 || got != 1)
				return -1;
			c = byte;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o + 1 >= len)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return mdt__utf8_ok(out, o, MDT__UTF8_CONTROLS) ? (long)o : -1;
}

/*
 * The value of key among the pairs "key=value" of s (n bytes) separated
 * by sep, spaces after a separator skipped when trim; a pair without
 * '=' has an empty value.  NULL when absent.
 */
static const char *
pair(const char *s, size_t n, char sep, int trim, const char *key,
    size_t *vlen)
{
	size_t kl = strlen(key), pos = 0;

	while (s != NULL && pos < n) {
		const char *p = s + pos, *end = memchr(p, sep, n - pos);
		size_t pl = end ? (size_t)(end - p) : n - pos;
		pos += pl + 1;
		while (trim && pl > 0 && *p == ' ')
			p++, pl--;
		if (pl >= kl && memcmp(p, key, kl) == 0 &&
		    (pl == kl || p[kl] == '=')) {
			*vlen = pl > kl ? pl - kl - 1 : 0;
			return p + (pl > kl ? kl + 1 : kl);
		}
	}
	return NULL;
}

int
con_form_get(const char *s, size_t n, const char *key, char *out,
    size_t len)
{
	size_t vl;
	const char *v = pair(s, n, '&', 0, key, &vl);

	if (v == NULL)
		return 0;
	return decode(v, vl, out, len) < 0 ? -1 : 1;
}

/* RFC 6265 cookie-octet. */
static int
cookie_octet(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x2b) ||
	    (c >= 0x2d && c <= 0x3a) || (c >= 0x3c && c <= 0x5b) ||
	    (c >= 0x5d && c <= 0x7e);
}

int
con_cookie_get(const char *s, size_t n, const char *name, char *out,
    size_t len)
{
	size_t vl;
	const char *v = pair(s, n, ';', 1, name, &vl);

	if (v == NULL)
		return 0;
	if (vl >= len)
		return -1;
	for (size_t i = 0; i < vl; i++)
		if (!cookie_octet((unsigned char)v[i]))
			return -1;
	memcpy(out, v, vl);
	out[vl] = '\0';
	return 1;
}

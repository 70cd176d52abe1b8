/*
 * Decoding what a browser sends beside the head: the query string and
 * the sign-in form (application/x-www-form-urlencoded) and the Cookie
 * header.  Untrusted input: every value is bounded, percent escapes
 * must be well formed, and a decoded value must be printable UTF-8.
 */
#include <string.h>

#include "console_int.h"
#include "utf8_int.h"

static int
hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

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
			int h, l;
			if (i + 2 >= n)
				return -1;
			h = hex(s[i + 1]);
			l = hex(s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
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

int
con_form_get(const char *s, size_t n, const char *key, char *out,
    size_t len)
{
	size_t kl = strlen(key), pos = 0;

	while (s != NULL && pos < n) {
		const char *p = s + pos, *amp = memchr(p, '&', n - pos);
		size_t pl = amp ? (size_t)(amp - p) : n - pos;
		const char *eq = memchr(p, '=', pl);
		size_t nl = eq ? (size_t)(eq - p) : pl;
		if (nl == kl && memcmp(p, key, kl) == 0) {
			const char *v = eq ? eq + 1 : p + pl;
			size_t vl = eq ? pl - nl - 1 : 0;
			return decode(v, vl, out, len) < 0 ? -1 : 1;
		}
		pos += pl + 1;
	}
	return 0;
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
	size_t kl = strlen(name), pos = 0;

	while (s != NULL && pos < n) {
		const char *p = s + pos, *semi = memchr(p, ';', n - pos);
		size_t pl = semi ? (size_t)(semi - p) : n - pos;
		while (pl > 0 && *p == ' ')
			p++, pl--, pos++;
		if (pl > kl && p[kl] == '=' && memcmp(p, name, kl) == 0) {
			size_t vl = pl - kl - 1;
			if (vl >= len)
				return -1;
			for (size_t i = 0; i < vl; i++)
				if (!cookie_octet((unsigned char)p[kl + 1 + i]))
					return -1;
			memcpy(out, p + kl + 1, vl);
			out[vl] = '\0';
			return 1;
		}
		pos += pl + 1;
	}
	return 0;
}

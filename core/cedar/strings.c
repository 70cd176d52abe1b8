/*
 * Decoding of Cedar string literal bodies: \n \r \t \\ \0 \' \" \xHH
 * (ASCII only) and \u{H..HHHHHH}; for `like` patterns also `\*` (a
 * literal star) and bare `*` (a wildcard), compiled to pattern parts.
 * Also `like` matching.
 */
#include <string.h>

#include "cedar/cedar_int.h"
#include "cedar/parse_int.h"

size_t
cedar_utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* \u{...}: s points after "\u".  Returns bytes consumed or 0. */
static size_t
unicode_escape(const char *s, size_t n, uint32_t *cp)
{
	size_t i = 1;
	uint32_t v = 0;

	if (n < 3 || s[0] != '{')
		return 0;
	for (; i < n && s[i] != '}'; i++) {
		int h = cedar_hex_digit(s[i]);
		if (h < 0 || i > 6)
			return 0;
		v = v * 16 + (uint32_t)h;
	}
	if (i >= n || i == 1 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return i + 1;
}

static const char simple_esc[][2] = {
	{'n', '\n'}, {'r', '\r'}, {'t', '\t'}, {'\\', '\\'}, {'0', '\0'},
	{'\'', '\''}, {'"', '"'},
};

/* One escape at s (after the backslash): bytes consumed (0 = bad). */
static size_t
escape(const char *s, size_t n, char *o, size_t *olen)
{
	uint32_t cp;
	size_t used;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < sizeof(simple_esc) / sizeof(simple_esc[0]); i++)
		if (s[0] == simple_esc[i][0]) {
			o[0] = simple_esc[i][1];
			*olen = 1;
			return 1;
		}
	if (s[0] == 'x' && n >= 3 && cedar_hex_digit(s[1]) >= 0 && cedar_hex_digit(s[2]) >= 0 &&
	    cedar_hex_digit(s[1]) < 8) {
		o[0] = (char)(cedar_hex_digit(s[1]) * 16 + cedar_hex_digit(s[2]));
		*olen = 1;
		return 3;
	}
	if (s[0] == 'u' && (used = unicode_escape(s + 1, n - 1, &cp)) != 0) {
		*olen = cedar_utf8_put(o, cp);
		return used + 1;
	}
	return 0;
}

/*
 * Decodes s[0..n) into out (capacity n), marking wildcard positions in
 * star (NULL outside patterns).  Returns decoded length, or (size_t)-1
 * with *bad the offset of the bad escape.
 */
static size_t
decode(const char *s, size_t n, char *out, unsigned char *star, size_t *bad)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		size_t olen = 1, used;
		if (s[i] != '\\') {
			if (star != NULL)
				star[o] = s[i] == '*';
			out[o++] = s[i++];
			continue;
		}
		if (star != NULL && i + 1 < n && s[i + 1] == '*') {
			star[o] = 0;
			out[o++] = '*';
			i += 2;
			continue;
		}
		if ((used = escape(s + i + 1, n - i - 1, out + o, &olen)) == 0) {
			*bad = i;
			return (size_t)-1;
		}
		if (star != NULL)
			memset(star + o, 0, olen);
		o += olen;
		i += used + 1;
	}
	return o;
}

int
cedar_unescape(cedar_arena *a, const char *s, size_t n, cedar_str *out,
    size_t *bad_off)
{
	char *buf = cedar_arena_alloc(a, n + 1);
	size_t len;

	if (buf == NULL)
		return -2;
	if ((len = decode(s, n, buf, NULL, bad_off)) == (size_t)-1)
		return -1;
	buf[len] = '\0';
	out->p = buf;
	out->n = len;
	return 0;
}

int
cedar_pattern_compile(cedar_arena *a, const char *s, size_t n,
    cedar_pat **out, size_t *nout, size_t *bad_off)
{
	char *buf = cedar_arena_alloc(a, n + 1);
	unsigned char *star = cedar_arena_alloc(a, n + 1);
	cedar_pat *pat = cedar_arena_alloc(a, (n + 1) * sizeof(*pat));
	size_t len, np = 0;

	if (buf == NULL || star == NULL || pat == NULL)
		return -2;
	if ((len = decode(s, n, buf, star, bad_off)) == (size_t)-1)
		return -1;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		if (star[i]) {
			/* Consecutive stars match like one. */
			if (np == 0 || !pat[np - 1].star)
				pat[np++] = (cedar_pat){{NULL, 0}, 1};
			i++;
			continue;
		}
		while (j < len && !star[j])
			j++;
		pat[np++] = (cedar_pat){{buf + i, j - i}, 0};
		i = j;
	}
	*out = pat;
	*nout = np;
	return 0;
}

static int
starts_with(const char *s, size_t n, cedar_str lit)
{
	return n >= lit.n && memcmp(s, lit.p, lit.n) == 0;
}

/* Glob matching with backtracking to the last star: linear for Cedar's
 * patterns in practice, never exponential. */
int
cedar_like(const cedar_str *str, const cedar_pat *p, size_t np)
{
	const char *s = str->p;
	size_t n = str->n, si = 0, pi = 0, star_p = (size_t)-1, star_s = 0;

	while (si < n || pi < np) {
		if (pi < np && p[pi].star) {
			star_p = pi++;
			star_s = si;
			continue;
		}
		if (pi < np && starts_with(s + si, n - si, p[pi].lit)) {
			si += p[pi].lit.n;
			pi++;
			continue;
		}
		if (star_p == (size_t)-1 || star_s >= n)
			return 0;
		/* Let the last star absorb one more character and retry. */
		si = ++star_s;
		pi = star_p + 1;
	}
	return 1;
}

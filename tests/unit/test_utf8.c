/*
 * The UTF-8 validator: a table of edge cases (every boundary of the
 * encoding, overlong forms, surrogates, truncation, stray continuation
 * bytes, bytes that never occur), the control-character flags, and every
 * 1-, 2- and 3-byte sequence checked against a reference decoder written
 * here another way: decode loosely by the bit patterns, then accept only
 * what re-encodes to the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "utf8_int.h"

#define CTL MDT__UTF8_CONTROLS

static const struct {
	const char *s;
	size_t n;
	unsigned refuse;
	size_t bad; /* expected offset; n when valid */
} cases[] = {
	{"", 0, CTL, 0},
	{"abc", 3, CTL, 3},
	/* U+007F / U+0080 */
	{"\x7f", 1, 0, 1}, {"\x7f", 1, CTL, 0}, {"\x7f", 1, MDT__UTF8_C0, 1},
	{"\xc2\x80", 2, 0, 2}, {"\xc2\x80", 2, MDT__UTF8_DEL_C1, 0},
	{"a\xc2\x9f", 3, CTL, 1}, {"\xc2\xa0", 2, CTL, 2},
	/* U+07FF / U+0800 */
	{"\xdf\xbf", 2, CTL, 2}, {"\xe0\xa0\x80", 3, CTL, 3},
	/* U+FFFF / U+10000 */
	{"\xef\xbf\xbf", 3, CTL, 3}, {"\xf0\x90\x80\x80", 4, CTL, 4},
	/* U+10FFFF / U+110000 */
	{"\xf4\x8f\xbf\xbf", 4, CTL, 4}, {"\xf4\x90\x80\x80", 4, 0, 0},
	/* overlong forms */
	{"\xc0\x80", 2, 0, 0}, {"\xc1\xbf", 2, 0, 0},
	{"\xe0\x80\x80", 3, 0, 0}, {"\xe0\x9f\xbf", 3, 0, 0},
	{"\xf0\x80\x80\x80", 4, 0, 0}, {"\xf0\x8f\xbf\xbf", 4, 0, 0},
	/* surrogates, and their neighbours */
	{"\xed\x9f\xbf", 3, 0, 3}, {"\xed\xa0\x80", 3, 0, 0},
	{"x\xed\xaf\xbf", 4, 0, 1}, {"\xed\xb0\x80", 3, 0, 0},
	{"\xed\xbf\xbf", 3, 0, 0}, {"\xee\x80\x80", 3, 0, 3},
	/* truncated at the end */
	{"ab\xc3", 3, 0, 2}, {"ab\xe2\x82", 4, 0, 2}, {"\xf0\x9f\x98", 3, 0, 0},
	{"\xe2", 1, 0, 0},
	/* stray and missing continuation bytes */
	{"\x80", 1, 0, 0}, {"a\xbf", 2, 0, 1}, {"\xc3\xa9\xa9", 3, 0, 2},
	{"\xc3\x28", 2, 0, 0}, {"\xe2\x28\xa1", 3, 0, 0},
	{"\xe2\x82\x28", 3, 0, 0}, {"\xf0\x9f\x98\x28", 4, 0, 0},
	/* bytes that never occur */
	{"\xf5\x80\x80\x80", 4, 0, 0}, {"\xf8\x88\x80\x80\x80", 5, 0, 0},
	{"\xfe", 1, 0, 0}, {"a\xff", 2, 0, 1},
	/* the flags */
	{"a\0b", 3, 0, 3}, {"a\0b", 3, MDT__UTF8_NUL, 1},
	{"a\0b", 3, MDT__UTF8_C0, 3}, {"\t\n", 2, MDT__UTF8_NUL, 2},
	{"a\tb", 3, MDT__UTF8_C0, 1}, {"\x1f", 1, MDT__UTF8_C0, 0},
	{"\x7f", 1, MDT__UTF8_DEL_C1, 0}, {"\xc3\xa9", 2, MDT__UTF8_ASCII, 0},
	{"a~", 2, MDT__UTF8_ASCII | CTL, 2},
	{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, CTL, 14},
};

START_TEST(edge_cases)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t got = mdt__utf8_check(cases[i].s, cases[i].n,
		    cases[i].refuse);

		ck_assert_msg(got == cases[i].bad,
		    "case %zu: offset %zu, expected %zu", i, got, cases[i].bad);
		ck_assert_int_eq(mdt__utf8_ok(cases[i].s, cases[i].n,
		    cases[i].refuse), cases[i].bad == cases[i].n);
	}
}
END_TEST

/* Canonical encoding of cp (0 bytes for a surrogate or above U+10FFFF). */
static size_t
ref_encode(uint32_t cp, uint8_t *o)
{
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | (cp >> 6));
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | (cp >> 12));
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | (cp >> 18));
	o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

static int
ref_refused(uint32_t cp, unsigned refuse)
{
	return (cp == 0 && (refuse & MDT__UTF8_NUL)) ||
	    (cp >= 1 && cp <= 0x1f && (refuse & MDT__UTF8_C0)) ||
	    (cp >= 0x7f && cp <= 0x9f && (refuse & MDT__UTF8_DEL_C1)) ||
	    (cp > 0x7f && (refuse & MDT__UTF8_ASCII));
}

/* The reference: offset of the first refused character, or n. */
static size_t
ref_check(const uint8_t *p, size_t n, unsigned refuse)
{
	size_t i = 0;

	while (i < n) {
		size_t len = p[i] < 0x80 ? 1 : (p[i] & 0xe0) == 0xc0 ? 2 :
		    (p[i] & 0xf0) == 0xe0 ? 3 : (p[i] & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp = len == 1 ? p[i] : len == 2 ? p[i] & 0x1fu :
		    len == 3 ? p[i] & 0x0fu : p[i] & 0x07u;
		uint8_t again[4];

		if (len == 0 || len > n - i)
			return i;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (p[i + k] & 0x3fu);
		}
		if (ref_encode(cp, again) != len ||
		    memcmp(again, p + i, len) != 0 || ref_refused(cp, refuse))
			return i;
		i += len;
	}
	return n;
}

static const unsigned flag_sets[] = {
	0, MDT__UTF8_NUL, MDT__UTF8_C0, MDT__UTF8_DEL_C1, CTL,
	MDT__UTF8_ASCII, MDT__UTF8_ASCII | CTL,
};

#define NFLAGS (sizeof(flag_sets) / sizeof(flag_sets[0]))

static void
agree(const uint8_t *b, size_t n, unsigned refuse)
{
	size_t got = mdt__utf8_check((const char *)b, n, refuse);
	size_t want = ref_check(b, n, refuse);

	if (got != want)
		ck_abort_msg("%02x %02x %02x (%zu bytes) refuse %#x: offset %zu, "
		    "reference %zu", b[0], n > 1 ? b[1] : 0, n > 2 ? b[2] : 0,
		    n, refuse, got, want);
}

START_TEST(every_short_sequence)
{
	uint8_t b[3];
	size_t valid2 = 0;

	for (unsigned f = 0; f < NFLAGS; f++)
		for (unsigned x = 0; x < 0x10000; x++) {
			b[0] = (uint8_t)(x >> 8);
			b[1] = (uint8_t)x;
			agree(b + 1, 1, flag_sets[f]);
			agree(b, 2, flag_sets[f]);
			valid2 += f == 0 && ref_check(b, 2, 0) == 2;
		}
	/* 128 * 128 ASCII pairs and the 1920 characters U+0080..U+07FF */
	ck_assert_uint_eq(valid2, 128 * 128 + 1920);
}
END_TEST

START_TEST(every_three_byte_sequence)
{
	uint8_t b[3];
	unsigned refuse = flag_sets[_i];

	for (uint32_t x = 0; x < 0x1000000; x++) {
		b[0] = (uint8_t)(x >> 16);
		b[1] = (uint8_t)(x >> 8);
		b[2] = (uint8_t)x;
		agree(b, 3, refuse);
	}
}
END_TEST

/* Four-byte sequences: every lead byte against continuation bytes near
 * each boundary, and a stray ASCII or lead byte. */
START_TEST(four_byte_boundaries)
{
	static const uint8_t tail[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
	    0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xf4, 0xff};
	const size_t nt = sizeof(tail);
	uint8_t b[4];

	for (unsigned lead = 0; lead < 0x100; lead++)
		for (size_t i = 0; i < nt * nt * nt; i++) {
			b[0] = (uint8_t)lead;
			b[1] = tail[i % nt];
			b[2] = tail[(i / nt) % nt];
			b[3] = tail[i / (nt * nt)];
			agree(b, 4, 0);
			agree(b, 4, CTL);
		}
}
END_TEST

/*
 * Long strings take a word-at-a-time path: every byte value at every
 * position of a printable run, and random mixtures of printable text,
 * controls and multi-byte sequences, against the reference.
 */
START_TEST(long_strings)
{
	static const uint8_t piece[] = {'a', '~', ' ', 0x00, 0x09, 0x1f, 0x7f,
	    0x80, 0xbf, 0xc2, 0x85, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xed, 0xa0,
	    0xf0, 0x9f, 0x98, 0x80, 0xf4, 0x90, 0xff};
	uint8_t b[48];
	uint32_t x = 2463534242u;

	for (size_t pos = 0; pos < 24; pos++)
		for (unsigned v = 0; v < 0x100; v++) {
			memset(b, 'q', 24);
			b[pos] = (uint8_t)v;
			for (unsigned f = 0; f < NFLAGS; f++)
				agree(b, 24, flag_sets[f]);
		}
	for (int it = 0; it < 400000; it++) {
		size_t n;

		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		n = x % sizeof(b);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			b[i] = (x >> 8) % 4 != 0 ? (uint8_t)(0x20 + (x >> 12) % 95) :
			    piece[(x >> 16) % sizeof(piece)];
		}
		agree(b, n, flag_sets[(x >> 24) % NFLAGS]);
	}
}
END_TEST

/* Scrubbing: valid text is left alone; a character cut at the end, a
 * malformed sequence and control bytes become '?', byte for byte, and
 * the result is always valid printable text. */
START_TEST(scrub)
{
	static const struct {
		const char *in, *out;
	} sc[] = {
		{"", ""}, {"plain", "plain"},
		{"caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac"},
		{"cut \xe2\x82", "cut ??"}, {"cut \xf0\x9f\x98", "cut ???"},
		{"a\nb\tc\x7f", "a?b?c?"}, {"\xc0\x80x", "??x"},
		{"\xed\xa0\x80", "???"}, {"\xff\xfe", "??"},
		{"\xc2\x85", "??"},
	};

	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		char b[64];

		snprintf(b, sizeof(b), "%s", sc[i].in);
		mdt__utf8_scrub(b);
		ck_assert_msg(strcmp(b, sc[i].out) == 0, "case %zu", i);
		ck_assert(mdt__utf8_ok(b, strlen(b), CTL));
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("validator");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, edge_cases);
	tcase_add_test(tc, every_short_sequence);
	tcase_add_loop_test(tc, every_three_byte_sequence, 0, (int)NFLAGS);
	tcase_add_test(tc, four_byte_boundaries);
	tcase_add_test(tc, long_strings);
	tcase_add_test(tc, scrub);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}

/*
 * The canonical msgpack reader and writer: shortest forms, key order,
 * bounds, trailing bytes, text rules, and agreement with msgpack-c.
 */
#include <string.h>

#include <mandate/common.h>

#include "codec_int.h"
#include "testutil.h"

static int
read_uint(const uint8_t *b, size_t n, uint64_t *v)
{
	mdt__mp_reader r;
	int rc;

	mdt__mp_reader_init(&r, b, n);
	if ((rc = mdt__mp_read_uint(&r, v)) != 0)
		return rc;
	return mdt__mp_read_end(&r);
}

START_TEST(uint_shortest_only)
{
	static const struct {
		uint8_t b[9];
		size_t n;
		int ok;
	} cases[] = {
		{{0x05}, 1, 1},
		{{0xcc, 0x05}, 2, 0},            /* fits fixint */
		{{0xcc, 0x80}, 2, 1},
		{{0xcd, 0x00, 0xff}, 3, 0},      /* fits uint8 */
		{{0xcd, 0x01, 0x00}, 3, 1},
		{{0xce, 0x00, 0x00, 0xff, 0xff}, 5, 0},
		{{0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, 9, 0},
		{{0xcf, 0, 0, 0, 1, 0, 0, 0, 0}, 9, 1},
		{{0xd0, 0x05}, 2, 0},            /* signed form of a positive */
		{{0xcc}, 1, 0},                  /* truncated */
		{{0x05, 0x00}, 2, 0},            /* trailing byte */
		{{0xc1}, 1, 0},                  /* reserved */
		{{0xca, 0, 0, 0, 0}, 5, 0},      /* float */
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = read_uint(cases[i].b, cases[i].n, &v);

		ck_assert_msg((rc == 0) == cases[i].ok, "case %zu: rc %d", i,
		    rc);
		if (!cases[i].ok)
			ck_assert_int_eq(rc, -MDT_EDECODE);
	}
}
END_TEST

START_TEST(negative_ints_shortest_only)
{
	static const struct {
		uint8_t b[9];
		size_t n;
		int64_t v; /* 0: must be rejected */
	} cases[] = {
		{{0xff}, 1, -1},
		{{0xe0}, 1, -32},
		{{0xd0, 0xdf}, 2, -33},
		{{0xd0, 0xff}, 2, 0},            /* -1 fits negative fixint */
		{{0xd1, 0xff, 0x80}, 3, 0},      /* -128 fits int8 */
		{{0xd1, 0xff, 0x7f}, 3, -129},
		{{0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9, 0},
		{{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9, INT64_MIN},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mdt__mp_reader r;
		int64_t v = 0;
		int rc;

		mdt__mp_reader_init(&r, cases[i].b, cases[i].n);
		rc = mdt__mp_read_int(&r, &v);
		if (cases[i].v == 0) {
			ck_assert_msg(rc == -MDT_EDECODE, "case %zu accepted", i);
		} else {
			ck_assert_msg(rc == 0, "case %zu: %s", i, r.err);
			ck_assert(v == cases[i].v);
		}
	}
}
END_TEST

START_TEST(strings_and_bins)
{
	uint8_t str8_short[] = {0xd9, 0x03, 'a', 'b', 'c'};  /* fits fixstr */
	uint8_t fix[] = {0xa3, 'a', 'b', 'c'};
	uint8_t ctrl[] = {0xa2, 'a', '\n'};
	uint8_t nul[] = {0xa2, 'a', '\0'};
	uint8_t overlong[] = {0xa2, 0xc0, 0xaf};               /* overlong / */
	uint8_t surrogate[] = {0xa3, 0xed, 0xa0, 0x80};
	uint8_t utf8[] = {0xa2, 0xc3, 0xa9};                   /* é */
	uint8_t bin16_short[] = {0xc5, 0x00, 0x01, 0x00};
	uint8_t bin[] = {0xc4, 0x01, 0x00};
	mdt__mp_reader r;
	const char *s;
	const uint8_t *p;
	size_t n;

#define RD_STR(buf, max) \
	(mdt__mp_reader_init(&r, buf, sizeof(buf)), \
	    mdt__mp_read_str(&r, &s, &n, max))
	ck_assert_int_eq(RD_STR(str8_short, 10), -MDT_EDECODE);
	ck_assert_int_eq(RD_STR(fix, 10), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(RD_STR(fix, 2), -MDT_ETOOBIG);
	ck_assert_int_eq(RD_STR(ctrl, 10), -MDT_EDECODE);
	ck_assert_int_eq(RD_STR(nul, 10), -MDT_EDECODE);
	ck_assert_int_eq(RD_STR(overlong, 10), -MDT_EDECODE);
	ck_assert_int_eq(RD_STR(surrogate, 10), -MDT_EDECODE);
	ck_assert_int_eq(RD_STR(utf8, 10), 0);
	mdt__mp_reader_init(&r, bin16_short, sizeof(bin16_short));
	ck_assert_int_eq(mdt__mp_read_bin(&r, &p, &n, 10), -MDT_EDECODE);
	mdt__mp_reader_init(&r, bin, sizeof(bin));
	ck_assert_int_eq(mdt__mp_read_bin_fixed(&r, &p, 2), -MDT_EDECODE);
	mdt__mp_reader_init(&r, bin, sizeof(bin));
	ck_assert_int_eq(mdt__mp_read_bin_fixed(&r, &p, 1), 0);
	ck_assert_ptr_eq(p, bin + 2);
}
END_TEST

typedef struct two {
	uint64_t a, b;
} two;

static int
rd_a(mdt__mp_reader *r, const mdt__mp_field *f, void *ctx)
{
	two *t = ctx;

	return mdt__mp_read_uint(r, f->arg == 0 ? &t->a : &t->b);
}

static const mdt__mp_field fields[] = {
	{1, "a", rd_a, 0},
	{3, "b", rd_a, 1},
};

static int
read_two(const uint8_t *b, size_t n, two *t, uint64_t *seen)
{
	mdt__mp_reader r;
	int rc;

	mdt__mp_reader_init(&r, b, n);
	rc = mdt__mp_read_fields(&r, fields, 2, t, seen);
	return rc != 0 ? rc : mdt__mp_read_end(&r);
}

START_TEST(maps_strict_keys)
{
	uint8_t good[] = {0x82, 0x01, 0x05, 0x03, 0x06};
	uint8_t reordered[] = {0x82, 0x03, 0x06, 0x01, 0x05};
	uint8_t dup[] = {0x82, 0x01, 0x05, 0x01, 0x06};
	uint8_t unknown[] = {0x81, 0x02, 0x05};
	uint8_t map16[] = {0xde, 0x00, 0x01, 0x01, 0x05};
	uint8_t strkey[] = {0x81, 0xa1, 'a', 0x05};
	uint8_t trailing[] = {0x81, 0x01, 0x05, 0xc0};
	two t = {0, 0};
	uint64_t seen = 0;

	ck_assert_int_eq(read_two(good, sizeof(good), &t, &seen), 0);
	ck_assert(t.a == 5 && t.b == 6);
	ck_assert(seen == ((1u << 1) | (1u << 3)));
	ck_assert_int_eq(read_two(reordered, sizeof(reordered), &t, &seen),
	    -MDT_EDECODE);
	ck_assert_int_eq(read_two(dup, sizeof(dup), &t, &seen), -MDT_EDECODE);
	ck_assert_int_eq(read_two(unknown, sizeof(unknown), &t, &seen),
	    -MDT_EDECODE);
	ck_assert_int_eq(read_two(map16, sizeof(map16), &t, &seen),
	    -MDT_EDECODE);
	ck_assert_int_eq(read_two(strkey, sizeof(strkey), &t, &seen),
	    -MDT_EDECODE);
	ck_assert_int_eq(read_two(trailing, sizeof(trailing), &t, &seen),
	    -MDT_EDECODE);
}
END_TEST

START_TEST(nesting_and_sizes_bounded)
{
	uint8_t deep[40];
	uint8_t huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
	mdt__mp_reader r;
	size_t n;

	memset(deep, 0x91, sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = 0x00;
	mdt__mp_reader_init(&r, deep, sizeof(deep));
	ck_assert_int_eq(mdt__mp_skip(&r), -MDT_ETOOBIG);
	mdt__mp_reader_init(&r, deep + 30, 10);
	ck_assert_int_eq(mdt__mp_skip(&r), 0);
	ck_assert_int_eq(mdt__mp_read_end(&r), 0);
	mdt__mp_reader_init(&r, huge, sizeof(huge));
	ck_assert_int_eq(mdt__mp_read_array(&r, &n, 10), -MDT_ETOOBIG);
	mdt__mp_reader_init(&r, huge, sizeof(huge));
	ck_assert_int_eq(mdt__mp_read_array(&r, &n, SIZE_MAX), -MDT_EDECODE);
}
END_TEST

/* Whatever the writer produces, the reader takes back, value for value. */
START_TEST(writer_round_trip)
{
	static const uint64_t uints[] = {0, 127, 128, 255, 256, 65535, 65536,
	    0xffffffffu, 0x100000000ull, UINT64_MAX};
	static const int64_t ints[] = {-1, -32, -33, -128, -129, -32768,
	    -32769, INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN};
	char longstr[300];
	uint8_t buf[2048];
	mdt__mp_writer w;
	mdt__mp_reader r;
	size_t n;
	const char *s;
	uint64_t u;
	int64_t v;

	memset(longstr, 'x', sizeof(longstr));
	mdt__mp_writer_init(&w, buf, sizeof(buf));
	mdt__mp_write_array(&w, 10 + 10 + 3);
	for (size_t i = 0; i < 10; i++)
		mdt__mp_write_uint(&w, uints[i]);
	for (size_t i = 0; i < 10; i++)
		mdt__mp_write_int(&w, ints[i]);
	mdt__mp_write_str(&w, longstr, 31);
	mdt__mp_write_str(&w, longstr, 32);
	mdt__mp_write_str(&w, longstr, 300);
	ck_assert_int_eq(mdt__mp_writer_status(&w), 0);
	mdt__mp_reader_init(&r, buf, w.len);
	ck_assert_int_eq(mdt__mp_read_array(&r, &n, 100), 0);
	ck_assert_uint_eq(n, 23);
	for (size_t i = 0; i < 10; i++) {
		ck_assert_int_eq(mdt__mp_read_uint(&r, &u), 0);
		ck_assert(u == uints[i]);
	}
	for (size_t i = 0; i < 10; i++) {
		ck_assert_msg(mdt__mp_read_int(&r, &v) == 0, "%s", r.err);
		ck_assert(v == ints[i]);
	}
	ck_assert_int_eq(mdt__mp_read_str(&r, &s, &n, 400), 0);
	ck_assert_uint_eq(n, 31);
	ck_assert_int_eq(mdt__mp_read_str(&r, &s, &n, 400), 0);
	ck_assert_uint_eq(n, 32);
	ck_assert_int_eq(mdt__mp_read_str(&r, &s, &n, 400), 0);
	ck_assert_uint_eq(n, 300);
	mdt__mp_leave(&r);
	ck_assert_int_eq(mdt__mp_read_end(&r), 0);
}
END_TEST

START_TEST(writer_bounds)
{
	uint8_t buf[4], *out;
	mdt__mp_writer w;
	size_t len;

	mdt__mp_writer_init(&w, buf, sizeof(buf));
	mdt__mp_write_str(&w, "hello", 5);
	ck_assert_int_eq(mdt__mp_writer_status(&w), -MDT_ETOOBIG);
	mdt__mp_writer_init(&w, buf, sizeof(buf));
	mdt__mp_write_str(&w, "a\nb", 3);
	ck_assert_int_eq(mdt__mp_writer_status(&w), -MDT_EINVAL);
	mdt__mp_writer_init_dyn(&w, 1000);
	for (int i = 0; i < 100; i++)
		mdt__mp_write_uint(&w, 1000);
	ck_assert_int_eq(mdt__mp_writer_take(&w, &out, &len), 0);
	ck_assert_uint_eq(len, 300);
	mdt_free(out);
	mdt__mp_writer_init_dyn(&w, 100);
	for (int i = 0; i < 100; i++)
		mdt__mp_write_uint(&w, 1000);
	ck_assert_int_eq(mdt__mp_writer_take(&w, &out, &len), -MDT_ETOOBIG);
}
END_TEST

static Suite *
codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, uint_shortest_only);
	tcase_add_test(tc, negative_ints_shortest_only);
	tcase_add_test(tc, strings_and_bins);
	tcase_add_test(tc, maps_strict_keys);
	tcase_add_test(tc, nesting_and_sizes_bounded);
	tcase_add_test(tc, writer_round_trip);
	tcase_add_test(tc, writer_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(codec_suite());
}

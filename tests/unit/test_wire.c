/* Wire codec: round trips, envelope checks and strict decoding rules. */
#include <stdio.h>
#include <string.h>

#include <mandate/wire.h>

#include "alloc_int.h"
#include "testutil.h"

static size_t
build(uint8_t *out, size_t cap, mdt_wire_op op, const char *id)
{
	mdt_wire_writer *w;
	const uint8_t *b;
	size_t n;

	ck_assert_int_eq(mdt_wire_writer_new(&w, op, id, 0, 0), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "task", "t-1"), 0);
	ck_assert_int_eq(mdt_wire_put_bin(w, "token", "\x00\x01\x02", 3), 0);
	ck_assert_int_eq(mdt_wire_put_int(w, "wait_ms", 30000), 0);
	ck_assert_int_eq(mdt_wire_put_int(w, "neg", -40000), 0);
	ck_assert_int_eq(mdt_wire_put_int(w, "min", INT64_MIN), 0);
	ck_assert_int_eq(mdt_wire_put_bool(w, "flag", true), 0);
	ck_assert_int_eq(mdt_wire_begin_array(w, "list", 2), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, NULL, "a"), 0);
	ck_assert_int_eq(mdt_wire_begin_map(w, NULL, 1), 0);
	ck_assert_int_eq(mdt_wire_put_nil(w, "x"), 0);
	ck_assert_int_eq(mdt_wire_end(w), 0);
	ck_assert_int_eq(mdt_wire_end(w), 0);
	ck_assert_int_eq(mdt_wire_writer_finish(w, &b, &n), 0);
	ck_assert_uint_le(n, cap);
	memcpy(out, b, n);
	mdt_wire_writer_free(w);
	return n;
}

START_TEST(round_trip)
{
	uint8_t buf[512];
	size_t n = build(buf, sizeof(buf), MDT_OP_AUTHORIZE, "req-1");
	mdt_wire_msg *m;
	const mdt_wire_val *root, *list;
	const char *s;
	const uint8_t *p;
	size_t len;
	int64_t i;
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_wire_decode(buf, n, &m, err, sizeof(err)), 0);
	ck_assert_int_eq(mdt_wire_msg_op(m), MDT_OP_AUTHORIZE);
	ck_assert_str_eq(mdt_wire_msg_id(m), "req-1");
	ck_assert_int_eq(mdt_wire_msg_ok(m), -1);
	root = mdt_wire_msg_root(m);
	ck_assert_int_eq(mdt_wire_get_str(root, "task", 64, &s, err, 256), 0);
	ck_assert_str_eq(s, "t-1");
	ck_assert_int_eq(mdt_wire_get_bin(root, "token", 64, &p, &len, err,
	    256), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(p[2], 2);
	ck_assert_int_eq(mdt_wire_get_int(root, "wait_ms", 0, 60000, &i, err,
	    256), 0);
	ck_assert_int_eq(i, 30000);
	ck_assert_int_eq(mdt_wire_get_int(root, "neg", INT64_MIN, 0, &i, err,
	    256), 0);
	ck_assert_int_eq(i, -40000);
	ck_assert_int_eq(mdt_wire_get_int(root, "min", INT64_MIN, 0, &i, err,
	    256), 0);
	ck_assert(i == INT64_MIN);
	list = mdt_wire_map_get(root, "list");
	ck_assert_uint_eq(mdt_wire_val_count(list), 2);
	ck_assert_int_eq(mdt_wire_val_type(mdt_wire_array_at(list, 1)),
	    MDT_WIRE_MAP);
	ck_assert_int_eq(mdt_wire_get_str(root, "nope", 64, &s, err, 256),
	    -MDT_EPROTO);
	ck_assert_str_eq(err, "missing field nope");
	ck_assert_int_eq(mdt_wire_get_str(root, "token", 64, &s, err, 256),
	    -MDT_EPROTO);
	ck_assert_str_eq(err, "field token: expected string");
	ck_assert_int_eq(mdt_wire_get_int(root, "wait_ms", 0, 10, &i, err,
	    256), -MDT_EPROTO);
	mdt_wire_msg_free(m);
}
END_TEST

START_TEST(error_reply)
{
	mdt_wire_writer *w;
	mdt_wire_msg *m;
	const uint8_t *b;
	size_t n;
	const char *reason, *detail;

	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_OPEN, "x", 1, 0), 0);
	ck_assert_int_eq(mdt_wire_put_error(w, -MDT_ESCOPE, "scope.clinician",
	    "patient/Observation.r not granted"), 0);
	ck_assert_int_eq(mdt_wire_writer_finish(w, &b, &n), 0);
	ck_assert_int_eq(mdt_wire_decode(b, n, &m, NULL, 0), 0);
	ck_assert_int_eq(mdt_wire_msg_ok(m), 0);
	ck_assert_int_eq(mdt_wire_msg_error(m, &reason, &detail),
	    -MDT_ESCOPE);
	ck_assert_str_eq(reason, "scope.clinician");
	ck_assert_str_eq(detail, "patient/Observation.r not granted");
	mdt_wire_msg_free(m);
	mdt_wire_writer_free(w);
}
END_TEST

/* Decodes raw bytes and expects code, with err mentioning `what`. */
static void
refused(const char *bytes, size_t n, int code, const char *what)
{
	mdt_wire_msg *m = NULL;
	char err[MDT_ERRMSG_MAX] = "";

	ck_assert_int_eq(mdt_wire_decode(bytes, n, &m, err, sizeof(err)),
	    code);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(err, what) != NULL, "err '%s' lacks '%s'", err,
	    what);
}

#define ENV "\xa1v\x01\xa2op\xa4next\xa2id\xa1" "1"

#define R(lit) lit, sizeof(lit) - 1

START_TEST(strict_rules)
{
	mdt_wire_msg *m;

	ck_assert_int_eq(mdt_wire_decode(R("\x83" ENV), &m, NULL, 0), 0);
	mdt_wire_msg_free(m);
	refused(R("\x83" ENV "\x00"), -MDT_EDECODE, "offset 17: trailing");
	refused("\x83" ENV, 16, -MDT_EDECODE, "truncated");
	refused(R("\x84" ENV "\xa1v\x01"), -MDT_EDECODE, "duplicate");
	refused(R("\x84" ENV "\xa1" "f\xcb" "12345678"), -MDT_EDECODE,
	    "float");
	refused(R("\x84" ENV "\xa1s\xa2\xc3\x28"), -MDT_EDECODE, "UTF-8");
	refused(R("\x84" ENV "\xa1s\xa2\x41\x00"), -MDT_EDECODE, "NUL");
	refused(R("\x84" ENV "\x01\x01"), -MDT_EDECODE, "key");
	refused(R("\x84" ENV "\xa1" "a\xdd\xff\xff\xff\xff"), -MDT_ETOOBIG,
	    "too many");
	refused(R("\x84" ENV "\xa1" "a\xdc\x00\x09"), -MDT_EDECODE,
	    "truncated");
	refused(R("\x84" ENV "\xa1" "a\xc6\xff\xff\xff\xf0"), -MDT_EDECODE,
	    "truncated");
	refused(R("\x84" ENV "\xa1" "a\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
	    -MDT_EDECODE, "int64");
	refused(R("\x91\x01"), -MDT_EDECODE, "not a map");
	refused(R("\x83\xa1v\x02\xa2op\xa4next\xa2id\xa1" "1"),
	    -MDT_EVERSION, "version");
	refused(R("\x83\xa1v\x01\xa2op\xa4nope\xa2id\xa1" "1"), -MDT_EPROTO,
	    "unknown op");
	refused(R("\x83\xa1v\x01\xa2op\xa4next\xa2id\xa1 "), -MDT_EPROTO,
	    "id");
	refused("", 0, -MDT_EDECODE, "empty");
}
END_TEST

/* Every signed width decodes to its value, positive or negative. */
START_TEST(signed_widths)
{
	static const struct {
		const char *bytes;
		size_t n;
		int64_t v;
	} cases[] = {
		{ "\xd0\xff", 2, -1 }, { "\xd0\x7f", 2, 127 },
		{ "\xd1\x80\x00", 3, -32768 }, { "\xd2\xff\xff\xff\xfe", 5, -2 },
		{ "\xd3\x00\x00\x00\x00\x00\x00\x00\x05", 9, 5 },
		{ "\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9, INT64_MIN },
		{ "\xd3\xff\xff\xff\xff\xff\xff\xff\xff", 9, -1 },
		{ "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff", 9, INT64_MAX },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		size_t n = sizeof("\x84" ENV "\xa1" "a") - 1;
		mdt_wire_msg *m;
		int64_t v;

		memcpy(buf, "\x84" ENV "\xa1" "a", n);
		memcpy(buf + n, cases[i].bytes, cases[i].n);
		ck_assert_int_eq(mdt_wire_decode(buf, n + cases[i].n, &m, NULL,
		    0), 0);
		ck_assert_int_eq(mdt_wire_val_int(mdt_wire_map_get(
		    mdt_wire_msg_root(m), "a"), &v), 0);
		ck_assert_msg(v == cases[i].v, "case %zu: %lld", i, (long long)v);
		mdt_wire_msg_free(m);
	}
}
END_TEST

START_TEST(nesting_bound)
{
	char buf[64];
	size_t n = sizeof("\x84" ENV "\xa1" "a") - 1;

	memcpy(buf, "\x84" ENV "\xa1" "a", n);
	for (int i = 0; i < 10; i++)
		buf[n++] = (char)0x91;
	buf[n++] = 0x01;
	refused(buf, n, -MDT_ETOOBIG, "deep");
}
END_TEST

START_TEST(writer_misuse)
{
	mdt_wire_writer *w;
	const uint8_t *b;
	size_t n;

	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_INVALID, "x", 0, 0),
	    -MDT_EINVAL);
	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_NEXT, "", 0, 0),
	    -MDT_EINVAL);
	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_NEXT, "x", 0, 0), 0);
	ck_assert_int_eq(mdt_wire_begin_array(w, "a", 2), 0);
	ck_assert_int_eq(mdt_wire_put_int(w, NULL, 1), 0);
	ck_assert_int_eq(mdt_wire_end(w), -MDT_EINVAL);
	ck_assert_int_eq(mdt_wire_writer_finish(w, &b, &n), -MDT_EINVAL);
	mdt_wire_writer_free(w);
	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_NEXT, "x", 0, 0), 0);
	ck_assert_int_eq(mdt_wire_put_int(w, NULL, 1), -MDT_EINVAL);
	mdt_wire_writer_free(w);
}
END_TEST

START_TEST(names_and_auth_message)
{
	uint8_t out[MDT_WIRE_CHALLENGE_MAX + 32];
	size_t n;

	for (int op = 1; op < MDT_OP_COUNT_; op++) {
		const char *s = mdt_wire_op_name((mdt_wire_op)op);
		ck_assert_ptr_nonnull(s);
		ck_assert_int_eq(mdt_wire_op_parse(s, strlen(s)), op);
	}
	for (int c = 0; c < MDT_E_COUNT_; c++)
		ck_assert_int_eq(mdt_wire_code_parse(mdt_wire_code_name(c)), -c);
	ck_assert_int_eq(mdt_wire_auth_message((const uint8_t *)"ab", 2, out,
	    sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 18);
	ck_assert_mem_eq(out, "mandate-auth-v1\0ab", 18);
}
END_TEST

START_TEST(event_round_trip)
{
	mdt_wire_writer *w;
	mdt_wire_msg *m;
	const uint8_t *b;
	size_t n;
	uint8_t buf[256];

	ck_assert_int_eq(mdt_wire_event_writer_new(&w, "revoke"), 0);
	ck_assert_int_eq(mdt_wire_begin_array(w, "tasks", 1), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, NULL, "t-1"), 0);
	ck_assert_int_eq(mdt_wire_end(w), 0);
	ck_assert_int_eq(mdt_wire_writer_finish(w, &b, &n), 0);
	memcpy(buf, "revoke", 7);
	memcpy(buf + 7, b, n);
	mdt_wire_writer_free(w);
	ck_assert_int_eq(mdt_wire_decode_event(buf, n + 7, &m, NULL, 0), 0);
	ck_assert_str_eq(mdt_wire_msg_id(m), "revoke");
	ck_assert_int_eq(mdt_wire_msg_op(m), MDT_OP_INVALID);
	ck_assert_uint_eq(mdt_wire_val_count(mdt_wire_map_get(
	    mdt_wire_msg_root(m), "tasks")), 1);
	mdt_wire_msg_free(m);
	buf[0] = 'x';
	ck_assert_int_eq(mdt_wire_decode_event(buf, n + 7, &m, NULL, 0),
	    -MDT_EPROTO);
	ck_assert_int_eq(mdt_wire_decode_event(buf + 7, n, &m, NULL, 0),
	    -MDT_EDECODE);
	/* an API message is not an event and vice versa */
	ck_assert_int_eq(mdt_wire_decode(buf + 7, n, &m, NULL, 0),
	    -MDT_EPROTO);
}
END_TEST

/* Appends n bytes to a growing expectation. */
static void
add(uint8_t *b, size_t *len, const void *p, size_t n)
{
	memcpy(b + *len, p, n);
	*len += n;
}

#define ADD(lit) add(want, &wn, lit, sizeof(lit) - 1)

/*
 * The encoder's bytes, pinned: the shortest form of every integer width
 * on both sides, every string, binary and array length form, and a
 * top-level map that needs map16.
 */
START_TEST(encoder_golden_bytes)
{
	static const struct {
		int64_t v;
		const char *bytes;
		size_t n;
	} ints[] = {
		{127, "\x7f", 1}, {128, "\xcc\x80", 2}, {65535, "\xcd\xff\xff", 3},
		{65536, "\xce\x00\x01\x00\x00", 5},
		{4294967296LL, "\xcf\x00\x00\x00\x01\x00\x00\x00\x00", 9},
		{-32, "\xe0", 1}, {-33, "\xd0\xdf", 2}, {-129, "\xd1\xff\x7f", 3},
		{-32769, "\xd2\xff\xff\x7f\xff", 5},
		{INT64_MIN, "\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9},
	};
	static uint8_t want[2048], body[300];
	size_t wn = 0;
	mdt_wire_writer *w;
	const uint8_t *b;
	size_t n;
	char key[2] = "a";

	memset(body, 'x', sizeof(body));
	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_NEXT, "i", 0, 0), 0);
	ADD("\xde\x00\x13\xa1v\x01\xa2op\xa4next\xa2id\xa1i");
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++, key[0]++) {
		ck_assert_int_eq(mdt_wire_put_int(w, key, ints[i].v), 0);
		add(want, &wn, "\xa1", 1);
		add(want, &wn, key, 1);
		add(want, &wn, ints[i].bytes, ints[i].n);
	}
	ck_assert_int_eq(mdt_wire_put_str(w, "k", (char *)body, 31), 0);
	ADD("\xa1k\xbf");
	add(want, &wn, body, 31);
	ck_assert_int_eq(mdt_wire_put_str(w, "l", (char *)body, 32), 0);
	ADD("\xa1l\xd9\x20");
	add(want, &wn, body, 32);
	ck_assert_int_eq(mdt_wire_put_str(w, "m", (char *)body, 256), 0);
	ADD("\xa1m\xda\x01\x00");
	add(want, &wn, body, 256);
	ck_assert_int_eq(mdt_wire_put_bin(w, "n", NULL, 0), 0);
	ADD("\xa1n\xc4\x00");
	ck_assert_int_eq(mdt_wire_put_bin(w, "o", body, 256), 0);
	ADD("\xa1o\xc5\x01\x00");
	add(want, &wn, body, 256);
	ck_assert_int_eq(mdt_wire_begin_array(w, "p", 16), 0);
	ADD("\xa1p\xdc\x00\x10");
	for (int i = 0; i < 16; i++) {
		ck_assert_int_eq(mdt_wire_put_nil(w, NULL), 0);
		ADD("\xc0");
	}
	ck_assert_int_eq(mdt_wire_end(w), 0);
	ck_assert_int_eq(mdt_wire_writer_finish(w, &b, &n), 0);
	ck_assert_uint_eq(n, wn);
	ck_assert_mem_eq(b, want, wn);
	mdt_wire_writer_free(w);
}
END_TEST

/*
 * The wire's dialect of the msgpack layer: any width is read (other
 * encoders choose their own), strings may hold any character but NUL,
 * and a refused string names the offset of its first bad byte.
 */
START_TEST(any_width_and_text_rule)
{
	static const char wide[] = "\xde\x00\x04\xd9\x01v\xcc\x01\xa2op"
	    "\xda\x00\x04next\xa2id\xdb\x00\x00\x00\x01" "1\xa1" "a"
	    "\xdc\x00\x02\xd1\x00\x05\xa4\t\x7f\xc2\x85";
	mdt_wire_msg *m;
	const mdt_wire_val *a;
	const char *s;
	size_t n;
	int64_t v;

	ck_assert_int_eq(mdt_wire_decode(R(wide), &m, NULL, 0), 0);
	a = mdt_wire_map_get(mdt_wire_msg_root(m), "a");
	ck_assert_uint_eq(mdt_wire_val_count(a), 2);
	ck_assert_int_eq(mdt_wire_val_int(mdt_wire_array_at(a, 0), &v), 0);
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(mdt_wire_val_str(mdt_wire_array_at(a, 1), &s, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_mem_eq(s, "\t\x7f\xc2\x85", 5); /* NUL-terminated */
	ck_assert_str_eq(mdt_wire_msg_id(m), "1");
	mdt_wire_msg_free(m);
	refused(R("\x84" ENV "\xa1s\xa4" "ab\xe0\x80"), -MDT_EDECODE,
	    "offset 22: string is not valid UTF-8");
	refused(R("\x84" ENV "\xa1s\xa3" "ab\x00"), -MDT_EDECODE,
	    "offset 22: string holds a NUL byte");
	refused(R("\x84" ENV "\xa1s\xa3\xed\xa0\x80"), -MDT_EDECODE,
	    "offset 20: string is not valid UTF-8");
	/* a key is a short string: fixstr or str8, 1..64 bytes */
	refused(R("\x84" ENV "\xda\x00\x01" "a\x01"), -MDT_EDECODE,
	    "offset 17: map key is not a short string");
	refused(R("\x84" ENV "\xa0\x01"), -MDT_EDECODE, "offset 17: map key");
}
END_TEST

/* Every allocation of a decode and an encode may fail: an error, nothing
 * leaked (the sanitizer build checks), and success once memory returns. */
START_TEST(allocation_failures)
{
	uint8_t buf[512];
	size_t n = build(buf, sizeof(buf), MDT_OP_AUTHORIZE, "req-1");
	int done = 0;

	for (long k = 0; !done && k < 64; k++) {
		mdt_wire_msg *m = NULL;
		int rc;

		mdt__alloc_fail_after(k);
		rc = mdt_wire_decode(buf, n, &m, NULL, 0);
		mdt__alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == -MDT_ENOMEM);
		done = rc == 0;
		mdt_wire_msg_free(m);
	}
	ck_assert(done);
	for (long k = 0, ok = 0; !ok && k < 64; k++) {
		mdt_wire_writer *w = NULL;
		const uint8_t *b;
		size_t len;
		static uint8_t big[4000];
		int rc;

		mdt__alloc_fail_after(k);
		rc = mdt_wire_writer_new(&w, MDT_OP_NEXT, "x", 0, 0);
		if (rc == 0) {
			rc = mdt_wire_put_bin(w, "big", big, sizeof(big));
			if (rc == 0)
				rc = mdt_wire_writer_finish(w, &b, &len);
			mdt_wire_writer_free(w);
		}
		mdt__alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == -MDT_ENOMEM);
		ok = rc == 0;
		if (k == 63)
			ck_assert(ok);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, error_reply);
	tcase_add_test(tc, strict_rules);
	tcase_add_test(tc, nesting_bound);
	tcase_add_test(tc, signed_widths);
	tcase_add_test(tc, writer_misuse);
	tcase_add_test(tc, names_and_auth_message);
	tcase_add_test(tc, event_round_trip);
	tcase_add_test(tc, encoder_golden_bytes);
	tcase_add_test(tc, any_width_and_text_rule);
	tcase_add_test(tc, allocation_failures);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}

/* SPIFFE ID parsing: accept and reject lists, offsets, bounds. */
#include <string.h>

#include <mandate/spiffe.h>

#include "testutil.h"

static const char *const accept[] = {
	"spiffe://example.org",
	"spiffe://example.org/ns/clinic/sa/orchestrator",
	"spiffe://a",
	"spiffe://trust-domain_1.example/Path.With-Mixed_Case/9",
	"spiffe://example.org/..a/a../.../.a",
	"spiffe://127.0.0.1/agent",
	"spiffe://x/A/B/C/D/E/F",
	NULL
};

/* Input, expected status, expected offset in the message. */
typedef struct reject_case {
	const char *s;
	int status;
	const char *where;
} reject_case;

static const reject_case reject[] = {
	{"", -MDT_EPARSE, "byte 0:"},
	{"spiffe:/", -MDT_EPARSE, "byte 8:"},
	{"spiffe://", -MDT_EPARSE, "byte 9:"},
	{"SPIFFE://example.org/a", -MDT_EPARSE, "byte 0:"},
	{"Spiffe://example.org/a", -MDT_EPARSE, "byte 0:"},
	{"spiffe:example.org", -MDT_EPARSE, "byte 7:"},
	{"https://example.org/a", -MDT_EPARSE, "byte 0:"},
	{" spiffe://example.org", -MDT_EPARSE, "byte 0:"},
	{"spiffe://Example.org/a", -MDT_EPARSE, "byte 9:"},
	{"spiffe://example.org:8080/a", -MDT_EPARSE, "byte 20:"},
	{"spiffe://user@example.org/a", -MDT_EPARSE, "byte 13:"},
	{"spiffe://user:pw@example.org", -MDT_EPARSE, "byte 13:"},
	{"spiffe://exa%6dple.org/a", -MDT_EPARSE, "byte 12:"},
	{"spiffe://example.org?x=1", -MDT_EPARSE, "byte 20:"},
	{"spiffe://example.org#f", -MDT_EPARSE, "byte 20:"},
	{"spiffe:///path", -MDT_EPARSE, "byte 9:"},
	{"spiffe://example.org/", -MDT_EPARSE, "byte 20:"},
	{"spiffe://example.org//a", -MDT_EPARSE, "byte 20:"},
	{"spiffe://example.org/a/", -MDT_EPARSE, "byte 22:"},
	{"spiffe://example.org/a//b", -MDT_EPARSE, "byte 22:"},
	{"spiffe://example.org/./a", -MDT_EPARSE, "byte 21:"},
	{"spiffe://example.org/a/..", -MDT_EPARSE, "byte 23:"},
	{"spiffe://example.org/a/../b", -MDT_EPARSE, "byte 23:"},
	{"spiffe://example.org/a?x=1", -MDT_EPARSE, "byte 22:"},
	{"spiffe://example.org/a#frag", -MDT_EPARSE, "byte 22:"},
	{"spiffe://example.org/a%2Fb", -MDT_EPARSE, "byte 22:"},
	{"spiffe://example.org/a b", -MDT_EPARSE, "byte 22:"},
	{"spiffe://example.org/a\tb", -MDT_EPARSE, "byte 22:"},
	{"spiffe://example.org/caf\xc3\xa9", -MDT_EPARSE, "byte 24:"},
	{"spiffe://exa mple.org", -MDT_EPARSE, "byte 12:"},
	{"spiffe://example.org/a:b", -MDT_EPARSE, "byte 22:"},
	{"spiffe://example.org/a+b", -MDT_EPARSE, "byte 22:"},
	{"spiffe://example.org/~u", -MDT_EPARSE, "byte 21:"},
	{"spiffe://[::1]/a", -MDT_EPARSE, "byte 9:"},
	{NULL, 0, NULL}
};

START_TEST(accepts_valid_ids)
{
	for (size_t i = 0; accept[i] != NULL; i++) {
		char err[MDT_ERRMSG_MAX] = "";
		const char *s = accept[i];
		size_t n = strlen(s);
		int rc = mdt_spiffe_validate(s, n, err, sizeof(err));

		ck_assert_msg(rc == 0, "%s: %s", s, err);
	}
}
END_TEST

START_TEST(rejects_invalid_ids_with_offsets)
{
	for (size_t i = 0; reject[i].s != NULL; i++) {
		char err[MDT_ERRMSG_MAX] = "";
		mdt_spiffe_id id;
		const reject_case *c = &reject[i];
		int rc = mdt_spiffe_parse(c->s, strlen(c->s), &id, err,
		    sizeof(err));

		ck_assert_msg(rc == c->status, "%s: got %d (%s)", c->s, rc, err);
		ck_assert_msg(strncmp(err, c->where, strlen(c->where)) == 0,
		    "%s: message \"%s\" does not start with \"%s\"", c->s, err,
		    c->where);
		ck_assert_msg(strlen(err) > strlen(c->where) + 3,
		    "%s: no reason given", c->s);
	}
}
END_TEST

START_TEST(parse_splits_trust_domain_and_path)
{
	const char *s = "spiffe://clinic.example/ns/prod/agent/fax";
	mdt_spiffe_id id;

	ck_assert_int_eq(mdt_spiffe_parse(s, strlen(s), &id, NULL, 0), 0);
	ck_assert_str_eq(id.id, s);
	ck_assert_uint_eq(id.len, strlen(s));
	ck_assert_int_eq(memcmp(id.id + id.td_off, "clinic.example", 14), 0);
	ck_assert_uint_eq(id.td_len, 14);
	ck_assert_uint_eq(id.path_len, strlen("/ns/prod/agent/fax"));
	ck_assert_int_eq(memcmp(id.id + id.path_off, "/ns/prod/agent/fax",
	    id.path_len), 0);
	ck_assert_int_eq(mdt_spiffe_in_trust_domain(&id, "clinic.example", 14),
	    1);
	ck_assert_int_eq(mdt_spiffe_in_trust_domain(&id, "clinic.exampl", 13),
	    0);
	ck_assert_int_eq(mdt_spiffe_in_trust_domain(&id, "clinic.examplf", 14),
	    0);
	ck_assert_int_eq(mdt_spiffe_in_trust_domain(NULL, "x", 1), 0);
}
END_TEST

START_TEST(bare_trust_domain_has_empty_path)
{
	mdt_spiffe_id id;

	ck_assert_int_eq(mdt_spiffe_parse("spiffe://td", 11, &id, NULL, 0), 0);
	ck_assert_uint_eq(id.td_len, 2);
	ck_assert_uint_eq(id.path_len, 0);
	ck_assert_uint_eq(id.path_off, 11);
}
END_TEST

START_TEST(length_bounds)
{
	static char s[MDT_SPIFFE_ID_MAX + 2];
	char err[MDT_ERRMSG_MAX];
	size_t n;

	/* trust domain of exactly 255 bytes: accepted; 256: too big. */
	memcpy(s, "spiffe://", 9);
	memset(s + 9, 'a', 255);
	ck_assert_int_eq(mdt_spiffe_validate(s, 9 + 255, err, sizeof(err)), 0);
	s[9 + 255] = 'a';
	ck_assert_int_eq(mdt_spiffe_validate(s, 9 + 256, err, sizeof(err)),
	    -MDT_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(err, "byte 264:"));

	/* whole id of exactly 2048 bytes: accepted; 2049: too big. */
	memcpy(s + 9, "td/", 3);
	n = 12;
	while (n < MDT_SPIFFE_ID_MAX + 1)
		s[n++] = 'p';
	ck_assert_int_eq(mdt_spiffe_validate(s, MDT_SPIFFE_ID_MAX, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(mdt_spiffe_validate(s, MDT_SPIFFE_ID_MAX + 1, err,
	    sizeof(err)), -MDT_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(err, "2048"));
}
END_TEST

START_TEST(embedded_nul_is_rejected)
{
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_spiffe_validate("spiffe://a/b\0c", 14, err,
	    sizeof(err)), -MDT_EPARSE);
	ck_assert_ptr_nonnull(strstr(err, "byte 12:"));
	ck_assert_ptr_nonnull(strstr(err, "0x00"));
	ck_assert_int_eq(mdt_spiffe_validate("spiffe://a\0/b", 13, err,
	    sizeof(err)), -MDT_EPARSE);
}
END_TEST

START_TEST(trust_domain_alone)
{
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_spiffe_validate_trust_domain("example.org", 11,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(mdt_spiffe_validate_trust_domain("", 0, err,
	    sizeof(err)), -MDT_EPARSE);
	ck_assert_int_eq(mdt_spiffe_validate_trust_domain("example.org/a", 13,
	    err, sizeof(err)), -MDT_EPARSE);
	ck_assert_ptr_nonnull(strstr(err, "byte 11:"));
	ck_assert_int_eq(mdt_spiffe_validate_trust_domain("Example", 7, err,
	    sizeof(err)), -MDT_EPARSE);
}
END_TEST

START_TEST(null_arguments)
{
	mdt_spiffe_id id;
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_spiffe_validate(NULL, 0, err, sizeof(err)),
	    -MDT_EINVAL);
	ck_assert_int_eq(mdt_spiffe_parse("spiffe://a", 10, NULL, err,
	    sizeof(err)), -MDT_EINVAL);
	ck_assert_int_eq(mdt_spiffe_parse(NULL, 0, &id, NULL, 0), -MDT_EINVAL);
	/* A tiny message buffer truncates without overflowing. */
	ck_assert_int_eq(mdt_spiffe_validate("x", 1, err, 4), -MDT_EPARSE);
	ck_assert_uint_eq(strlen(err), 3);
}
END_TEST

START_TEST(out_untouched_on_error)
{
	mdt_spiffe_id id;

	memset(&id, 0x5a, sizeof(id));
	ck_assert_int_ne(mdt_spiffe_parse("spiffe://a/", 11, &id, NULL, 0), 0);
	ck_assert_uint_eq((unsigned char)id.id[0], 0x5a);
}
END_TEST

static Suite *
spiffe_suite(void)
{
	Suite *s = suite_create("spiffe");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, accepts_valid_ids);
	tcase_add_test(tc, rejects_invalid_ids_with_offsets);
	tcase_add_test(tc, parse_splits_trust_domain_and_path);
	tcase_add_test(tc, bare_trust_domain_has_empty_path);
	tcase_add_test(tc, length_bounds);
	tcase_add_test(tc, embedded_nul_is_rejected);
	tcase_add_test(tc, trust_domain_alone);
	tcase_add_test(tc, null_arguments);
	tcase_add_test(tc, out_untouched_on_error);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(spiffe_suite());
}

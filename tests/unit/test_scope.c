/*
 * Scopes: the strict parser (every malformed class), canonical text, set
 * algebra tables (intersection, containment, matching), resource
 * references, the threat-model rows on scopes, and allocation failures.
 * The randomized properties live in test_scope_props.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/scope.h>

#include "alloc_int.h"
#include "testutil.h"

/* ---- parser: accepted input and its canonical v2 text ---- */

typedef struct canon_case {
	const char *in;
	const char *canon;
} canon_case;

static const canon_case canon[] = {
	{"patient/Observation.rs", "patient/Observation.rs"},
	{"patient/Observation.read", "patient/Observation.rs"},
	{"patient/Observation.write", "patient/Observation.cud"},
	{"patient/Observation.*", "patient/Observation.cruds"},
	{"user/*.cruds", "user/*.cruds"},
	{"system/*.read", "system/*.rs"},
	{"patient/Observation.rs?category=laboratory",
	    "patient/Observation.rs?category=laboratory"},
	{"patient/Observation.rs?code=x&category=b&category=a",
	    "patient/Observation.rs?category=a&category=b&code=x"},
	{"patient/Observation.read?category=laboratory",
	    "patient/Observation.rs?category=laboratory"},
	{"patient/Observation.rs?category=http://terminology.hl7.org/"
	    "CodeSystem/observation-category|laboratory",
	    "patient/Observation.rs?category=http://terminology.hl7.org/"
	    "CodeSystem/observation-category|laboratory"},
	{"patient/Condition.c", "patient/Condition.c"},
	{"patient/Condition.d", "patient/Condition.d"},
	{"patient/Condition.cd", "patient/Condition.cd"},
	{"tool/fax.x", "tool/fax.x"},
	{"tool/export.x", "tool/export.x"},
	{"tool/*.x", "tool/*.x"},
	{"tool/lab-order_v2.x?site=north", "tool/lab-order_v2.x?site=north"},
	{"patient/Observation.rs?code:in=urn:oid:1.2.3",
	    "patient/Observation.rs?code:in=urn:oid:1.2.3"},
	{NULL, NULL}
};

START_TEST(parses_and_canonicalises)
{
	for (size_t i = 0; canon[i].in != NULL; i++) {
		mdt_scope_set *set;
		char err[MDT_ERRMSG_MAX] = "", buf[MDT_SCOPE_TEXT_MAX + 1];
		int rc = mdt_scope_set_parse(canon[i].in, strlen(canon[i].in),
		    &set, err, sizeof(err));

		ck_assert_msg(rc == 0, "%s: %s", canon[i].in, err);
		ck_assert_uint_eq(mdt_scope_set_count(set), 1);
		ck_assert_int_eq(mdt_scope_set_get(set, 0, buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, canon[i].canon);
		mdt_scope_set_free(set);
	}
}
END_TEST

/* ---- parser: every malformed class, with offset and reason ---- */

typedef struct bad_case {
	const char *in;
	int status;
	const char *where;  /* message prefix "byte N:" */
	const char *reason; /* a substring of the message */
} bad_case;

static const bad_case bad[] = {
	/* permissions */
	{"patient/Observation.dus", -MDT_EPARSE, "byte 21:", "out of order"},
	{"patient/Observation.rr", -MDT_EPARSE, "byte 21:", "repeated"},
	{"patient/Observation.sr", -MDT_EPARSE, "byte 21:", "out of order"},
	{"patient/Observation.crudss", -MDT_EPARSE, "byte 25:", "repeated"},
	{"patient/Observation.", -MDT_EPARSE, "byte 20:", "empty permission"},
	{"patient/Observation.?a=b", -MDT_EPARSE, "byte 20:",
	    "empty permission"},
	{"patient/Observation.x", -MDT_EPARSE, "byte 20:",
	    "not a permission letter"},
	{"patient/Observation.R", -MDT_EPARSE, "byte 20:",
	    "not a permission letter"},
	{"patient/Observation.Read", -MDT_EPARSE, "byte 20:",
	    "not a permission letter"},
	{"patient/Observation.reads", -MDT_EPARSE, "byte 21:",
	    "not a permission letter"},
	{"patient/Observation.rw", -MDT_EPARSE, "byte 21:",
	    "not a permission letter"},
	{"patient/Observation.r*", -MDT_EPARSE, "byte 21:", "stand alone"},
	{"patient/Observation.**", -MDT_EPARSE, "byte 20:", "stand alone"},
	{"tool/fax.read", -MDT_EPARSE, "byte 9:", "not a permission letter"},
	{"tool/fax.*", -MDT_EPARSE, "byte 9:", "stand alone"},
	{"tool/fax.r", -MDT_EPARSE, "byte 9:", "not a permission letter"},
	{"tool/fax.xx", -MDT_EPARSE, "byte 10:", "repeated"},
	{"patient/Observation.rs.rs", -MDT_EPARSE, "byte 22:",
	    "not a permission letter"},
	/* contexts */
	{"Patient/Observation.rs", -MDT_EPARSE, "byte 0:", "wrong-case"},
	{"PATIENT/Observation.rs", -MDT_EPARSE, "byte 0:", "wrong-case"},
	{"User/*.rs", -MDT_EPARSE, "byte 0:", "wrong-case"},
	{"Tool/fax.x", -MDT_EPARSE, "byte 0:", "wrong-case"},
	{"launch/patient", -MDT_EPARSE, "byte 0:", "unknown context"},
	{"practitioner/Observation.rs", -MDT_EPARSE, "byte 0:",
	    "unknown context"},
	{"openid", -MDT_EPARSE, "byte 0:", "not a resource scope"},
	{"patient", -MDT_EPARSE, "byte 7:", "missing '/'"},
	{"/Observation.rs", -MDT_EPARSE, "byte 0:", "empty context"},
	/* types */
	{"patient/observation.rs", -MDT_EPARSE, "byte 8:", "uppercase"},
	{"patient/.rs", -MDT_EPARSE, "byte 8:", "empty resource type"},
	{"patient/Observation", -MDT_EPARSE, "byte 19:", "missing '.'"},
	{"patient/Obs-ervation.rs", -MDT_EPARSE, "byte 11:",
	    "not allowed in a resource type"},
	{"patient/Obs_ervation.rs", -MDT_EPARSE, "byte 11:",
	    "not allowed in a resource type"},
	{"patient/Observation/123.rs", -MDT_EPARSE, "byte 19:", "second '/'"},
	{"user/http://example.org/Role.rs", -MDT_EPARSE, "byte 5:",
	    "uppercase"},
	{"patient/*Observation.rs", -MDT_EPARSE, "byte 9:", "not allowed"},
	{"patient/**.rs", -MDT_EPARSE, "byte 9:", "not allowed"},
	{"patient/Observation?category=a", -MDT_EPARSE, "byte 19:",
	    "missing '.'"},
	{"tool/Fax.x", -MDT_EPARSE, "byte 5:", "lowercase"},
	{"tool/fax.mail.x", -MDT_EPARSE, "byte 9:", "not a permission letter"},
	{"tool/9fax.x", -MDT_EPARSE, "byte 5:", "lowercase"},
	{"tool/.x", -MDT_EPARSE, "byte 5:", "empty tool name"},
	/* bytes no scope may hold */
	{"patient/Observation.r%73", -MDT_EPARSE, "byte 21:",
	    "percent-encoding"},
	{"patient%2FObservation.rs", -MDT_EPARSE, "byte 7:",
	    "percent-encoding"},
	{"patient/Observation.rs\n", -MDT_EPARSE, "byte 22:", "control"},
	{"patient/Obs\tervation.rs", -MDT_EPARSE, "byte 11:", "control"},
	{"patient/Observation.rs\x7f", -MDT_EPARSE, "byte 22:", "control"},
	{"patient/Observ\xc3\xa1tion.rs", -MDT_EPARSE, "byte 14:",
	    "non-ASCII"},
	{"", -MDT_EPARSE, "byte 0:", "empty"},
	/* query restrictions */
	{"patient/Observation.rs?", -MDT_EPARSE, "byte 23:", "empty query"},
	{"patient/Observation.rs?category", -MDT_EPARSE, "byte 31:",
	    "missing '='"},
	{"patient/Observation.rs?=lab", -MDT_EPARSE, "byte 23:",
	    "empty parameter name"},
	{"patient/Observation.rs?category=", -MDT_EPARSE, "byte 32:",
	    "empty parameter value"},
	{"patient/Observation.rs?a=b&", -MDT_EPARSE, "byte 26:",
	    "trailing '&'"},
	{"patient/Observation.rs?a=b&&c=d", -MDT_EPARSE, "byte 27:",
	    "empty query restriction"},
	{"patient/Observation.rs?a=b,c", -MDT_EPARSE, "byte 26:", "','"},
	{"patient/Observation.rs?a=b?c=d", -MDT_EPARSE, "byte 26:",
	    "not allowed in a parameter value"},
	{"patient/Observation.rs?a=b#frag", -MDT_EPARSE, "byte 26:",
	    "not allowed in a parameter value"},
	{"patient/Observation.rs?a=b+c", -MDT_EPARSE, "byte 26:",
	    "not allowed in a parameter value"},
	{"patient/Observation.rs?a=b=c", -MDT_EPARSE, "byte 26:",
	    "not allowed in a parameter value"},
	{"patient/Observation.rs?a$=b", -MDT_EPARSE, "byte 24:",
	    "not allowed in a parameter name"},
	{"patient/Observation.rs?a=b&a=b", -MDT_EPARSE, "byte 27:",
	    "repeated"},
	{"patient/Observation.rs?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9",
	    -MDT_ETOOBIG, "byte 55:", "more than 8"},
	{NULL, 0, NULL, NULL}
};

START_TEST(rejects_malformed_with_offset_and_reason)
{
	for (size_t i = 0; bad[i].in != NULL; i++) {
		mdt_scope_set *set;
		char err[MDT_ERRMSG_MAX] = "";
		int rc;

		ck_assert_int_eq(mdt_scope_set_new(&set), 0);
		rc = mdt_scope_set_add(set, bad[i].in, strlen(bad[i].in), err,
		    sizeof(err));
		ck_assert_msg(rc == bad[i].status, "%s: rc %d (%s)", bad[i].in,
		    rc, err);
		ck_assert_msg(strncmp(err, bad[i].where, strlen(bad[i].where))
		    == 0 && strstr(err, bad[i].reason) != NULL,
		    "%s: message \"%s\", want \"%s ... %s\"", bad[i].in, err,
		    bad[i].where, bad[i].reason);
		ck_assert_uint_eq(mdt_scope_set_count(set), 0);
		mdt_scope_set_free(set);
	}
}
END_TEST

START_TEST(length_bounds)
{
	char s[MDT_SCOPE_TEXT_MAX + 16], err[MDT_ERRMSG_MAX];
	mdt_scope_set *set;
	size_t n;

	ck_assert_int_eq(mdt_scope_set_new(&set), 0);
	/* type name: 64 bytes fine, 65 too big */
	n = (size_t)snprintf(s, sizeof(s), "patient/O%063d.rs", 0);
	ck_assert_int_eq(mdt_scope_set_add(set, s, n, err, sizeof(err)), 0);
	n = (size_t)snprintf(s, sizeof(s), "patient/O%064d.rs", 0);
	ck_assert_int_eq(mdt_scope_set_add(set, s, n, err, sizeof(err)),
	    -MDT_ETOOBIG);
	/* whole scope: 256 fine, 257 too big */
	n = (size_t)snprintf(s, sizeof(s), "patient/A.r?a=%0*d",
	    MDT_SCOPE_TEXT_MAX - 14, 0);
	ck_assert_uint_eq(n, MDT_SCOPE_TEXT_MAX);
	ck_assert_int_eq(mdt_scope_set_add(set, s, n, err, sizeof(err)), 0);
	n = (size_t)snprintf(s, sizeof(s), "patient/A.r?a=%0*d",
	    MDT_SCOPE_TEXT_MAX - 13, 0);
	ck_assert_int_eq(mdt_scope_set_add(set, s, n, err, sizeof(err)),
	    -MDT_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(err, "byte 256:"));
	/* a v1 `*` whose v2 form would not fit */
	n = (size_t)snprintf(s, sizeof(s), "patient/A.*?a=%0*d",
	    MDT_SCOPE_TEXT_MAX - 14, 0);
	ck_assert_int_eq(mdt_scope_set_add(set, s, n, err, sizeof(err)),
	    -MDT_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(err, "v2 form"));
	mdt_scope_set_free(set);
}
END_TEST

/* ---- sets: parse, format, get, dup, add ---- */

START_TEST(set_parse_format_round_trip)
{
	const char *in = "user/*.rs tool/fax.x patient/Observation.read "
	    "patient/Condition.cruds?clinical-status=active";
	const char *want = "patient/Condition.cruds?clinical-status=active "
	    "patient/Observation.rs tool/fax.x user/*.rs";
	mdt_scope_set *a, *b;
	char *t1, *t2;

	ck_assert_int_eq(mdt_scope_set_parse(in, strlen(in), &a, NULL, 0), 0);
	ck_assert_uint_eq(mdt_scope_set_count(a), 4);
	ck_assert_int_eq(mdt_scope_set_format(a, &t1), 0);
	ck_assert_str_eq(t1, want);
	ck_assert_int_eq(mdt_scope_set_parse(t1, strlen(t1), &b, NULL, 0), 0);
	ck_assert_int_eq(mdt_scope_set_format(b, &t2), 0);
	ck_assert_str_eq(t1, t2);
	mdt_free(t1);
	mdt_free(t2);
	mdt_scope_set_free(a);
	mdt_scope_set_free(b);
}
END_TEST

START_TEST(set_parse_errors_name_offset_in_list)
{
	static const bad_case lists[] = {
		{"patient/A.r  patient/B.r", -MDT_EPARSE, "byte 12:",
		    "doubled"},
		{" patient/A.r", -MDT_EPARSE, "byte 0:", "leading"},
		{"patient/A.r ", -MDT_EPARSE, "byte 12:", "trailing"},
		{"patient/A.r patient/B.rr", -MDT_EPARSE, "byte 23:",
		    "repeated"},
		{"patient/A.r\tpatient/B.r", -MDT_EPARSE, "byte 11:",
		    "control"},
		{NULL, 0, NULL, NULL}
	};
	for (size_t i = 0; lists[i].in != NULL; i++) {
		mdt_scope_set *set = (mdt_scope_set *)0x1;
		char err[MDT_ERRMSG_MAX] = "";
		int rc = mdt_scope_set_parse(lists[i].in, strlen(lists[i].in),
		    &set, err, sizeof(err));
		ck_assert_msg(rc == lists[i].status, "%s: %d", lists[i].in, rc);
		ck_assert_ptr_eq(set, (mdt_scope_set *)0x1);
		ck_assert_msg(strncmp(err, lists[i].where,
		    strlen(lists[i].where)) == 0 &&
		    strstr(err, lists[i].reason) != NULL, "%s: \"%s\"",
		    lists[i].in, err);
	}
}
END_TEST

START_TEST(empty_list_is_empty_set)
{
	mdt_scope_set *set;
	char *t;

	ck_assert_int_eq(mdt_scope_set_parse("", 0, &set, NULL, 0), 0);
	ck_assert_uint_eq(mdt_scope_set_count(set), 0);
	ck_assert_int_eq(mdt_scope_set_format(set, &t), 0);
	ck_assert_str_eq(t, "");
	mdt_free(t);
	mdt_scope_set_free(set);
}
END_TEST

START_TEST(add_dedupes_after_normalisation)
{
	mdt_scope_set *set, *d;
	char buf[8];

	ck_assert_int_eq(mdt_scope_set_new(&set), 0);
	ck_assert_int_eq(mdt_scope_set_add(set, "patient/A.read", 14, NULL, 0),
	    0);
	ck_assert_int_eq(mdt_scope_set_add(set, "patient/A.rs", 12, NULL, 0),
	    0);
	ck_assert_int_eq(mdt_scope_set_add(set, "patient/A.r?b=1&a=2", 19,
	    NULL, 0), 0);
	ck_assert_int_eq(mdt_scope_set_add(set, "patient/A.r?a=2&b=1", 19,
	    NULL, 0), 0);
	ck_assert_uint_eq(mdt_scope_set_count(set), 2);
	ck_assert_int_eq(mdt_scope_set_get(set, 0, buf, sizeof(buf)),
	    -MDT_ETOOBIG);
	ck_assert_int_eq(mdt_scope_set_get(set, 2, buf, sizeof(buf)),
	    -MDT_EINVAL);
	ck_assert_int_eq(mdt_scope_set_dup(set, &d), 0);
	ck_assert_uint_eq(mdt_scope_set_count(d), 2);
	mdt_scope_set_free(set);
	mdt_scope_set_free(d);
	mdt_scope_set_free(NULL);
	ck_assert_uint_eq(mdt_scope_set_count(NULL), 0);
}
END_TEST

START_TEST(set_size_bound)
{
	mdt_scope_set *set;
	char s[64], err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_scope_set_new(&set), 0);
	for (int i = 0; i < MDT_SCOPE_SET_MAX; i++) {
		int n = snprintf(s, sizeof(s), "patient/T%d.r", i);
		ck_assert_int_eq(mdt_scope_set_add(set, s, (size_t)n, NULL, 0),
		    0);
	}
	ck_assert_int_eq(mdt_scope_set_add(set, "patient/X.r", 11, err,
	    sizeof(err)), -MDT_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(err, "more than 64"));
	/* a duplicate is not an addition */
	ck_assert_int_eq(mdt_scope_set_add(set, "patient/T3.r", 12, NULL, 0),
	    0);
	mdt_scope_set_free(set);
}
END_TEST

START_TEST(null_arguments)
{
	mdt_scope_set *set;
	int yes;
	char *t;
	mdt_scope_request req = {"r", MDT_SCOPE_FHIR, "A", NULL, NULL, NULL,
	    0};

	ck_assert_int_eq(mdt_scope_set_new(NULL), -MDT_EINVAL);
	ck_assert_int_eq(mdt_scope_set_new(&set), 0);
	ck_assert_int_eq(mdt_scope_set_add(NULL, "a", 1, NULL, 0),
	    -MDT_EINVAL);
	ck_assert_int_eq(mdt_scope_set_dup(NULL, &set), -MDT_EINVAL);
	ck_assert_int_eq(mdt_scope_set_format(NULL, &t), -MDT_EINVAL);
	ck_assert_int_eq(mdt_scope_set_contains(set, NULL, &yes),
	    -MDT_EINVAL);
	ck_assert_int_eq(mdt_scope_set_intersect(set, NULL, &set),
	    -MDT_EINVAL);
	ck_assert_int_eq(mdt_scope_set_matches(set, NULL, NULL, &yes),
	    -MDT_EINVAL);
	req.action = "rs";
	ck_assert_int_eq(mdt_scope_set_matches(set, &req, NULL, &yes),
	    -MDT_EINVAL);
	req.action = "x";
	ck_assert_int_eq(mdt_scope_set_matches(set, &req, NULL, &yes),
	    -MDT_EINVAL);
	req.action = "r";
	req.type = NULL;
	ck_assert_int_eq(mdt_scope_set_matches(set, &req, NULL, &yes),
	    -MDT_EINVAL);
	mdt_scope_set_free(set);
}
END_TEST

START_TEST(allocation_failures_are_clean)
{
	const char *in = "patient/A.rs user/*.r tool/fax.x";
	int ok = 0;

	for (long n = 0; n < 64 && !ok; n++) {
		mdt_scope_set *a = NULL, *r = NULL;
		char *t = NULL;
		int rc;

		mdt__alloc_fail_after(n);
		rc = mdt_scope_set_parse(in, strlen(in), &a, NULL, 0);
		if (rc == 0)
			rc = mdt_scope_set_intersect(a, a, &r);
		if (rc == 0)
			rc = mdt_scope_set_format(r, &t);
		mdt__alloc_fail_after(-1);
		ck_assert_msg(rc == 0 || rc == -MDT_ENOMEM, "n=%ld rc=%d", n,
		    rc);
		if (rc == 0) {
			ck_assert_str_eq(t,
			    "patient/A.rs tool/fax.x user/*.r");
			ok = 1;
		}
		mdt_free(t);
		mdt_scope_set_free(r);
		mdt_scope_set_free(a);
	}
	ck_assert(ok);
}
END_TEST

/* ---- intersection table ---- */

typedef struct ix_case {
	const char *a;
	const char *b;
	const char *want; /* canonical set text of a ∩ b */
} ix_case;

static const ix_case ix[] = {
	/* permissions intersect */
	{"patient/Observation.rs", "patient/Observation.r",
	    "patient/Observation.r"},
	{"patient/Observation.cud", "patient/Observation.rs", ""},
	{"patient/Observation.cruds", "patient/Observation.ds",
	    "patient/Observation.ds"},
	/* wildcards narrow to the named type */
	{"patient/*.rs", "patient/Observation.cruds", "patient/Observation.rs"},
	{"patient/*.rs", "patient/*.r", "patient/*.r"},
	{"patient/Observation.rs", "patient/Condition.rs", ""},
	{"tool/*.x", "tool/fax.x", "tool/fax.x"},
	{"tool/fax.x", "tool/export.x", ""},
	/* v1 / v2 mix */
	{"patient/Observation.read", "patient/Observation.r",
	    "patient/Observation.r"},
	{"patient/Observation.write", "patient/Observation.read", ""},
	{"patient/*.*", "patient/Observation.write", "patient/Observation.cud"},
	{"patient/Observation.read", "patient/Observation.rs",
	    "patient/Observation.rs"},
	/* contexts narrow system > user > patient; tool only meets tool */
	{"system/Observation.rs", "user/Observation.r", "user/Observation.r"},
	{"user/Observation.rs", "patient/Observation.rs",
	    "patient/Observation.rs"},
	{"system/*.cruds", "patient/Observation.r", "patient/Observation.r"},
	{"patient/*.cruds", "system/*.r", "patient/*.r"},
	{"tool/fax.x", "system/*.cruds", ""},
	{"patient/*.cruds", "tool/*.x", ""},
	/* query restrictions conjoin */
	{"patient/Observation.rs?category=laboratory", "patient/Observation.r",
	    "patient/Observation.r?category=laboratory"},
	{"patient/Observation.rs?category=laboratory",
	    "patient/Observation.rs?category=vital-signs",
	    "patient/Observation.rs?category=laboratory&category=vital-signs"},
	{"patient/*.r?status=final", "patient/Observation.rs?category=lab",
	    "patient/Observation.r?category=lab&status=final"},
	{"tool/fax.x?site=north", "tool/*.x", "tool/fax.x?site=north"},
	/* sets: union of pairwise intersections, normalised */
	{"patient/Observation.r patient/Condition.r", "patient/*.rs",
	    "patient/Condition.r patient/Observation.r"},
	{"patient/Observation.r patient/Observation.s", "patient/Observation.rs",
	    "patient/Observation.rs"},
	{"patient/*.r user/Observation.rs", "patient/Observation.rs",
	    "patient/Observation.rs"},
	{"", "patient/*.cruds", ""},
	{"user/*.rs tool/fax.x", "patient/Observation.r tool/*.x",
	    "patient/Observation.r tool/fax.x"},
	{NULL, NULL, NULL}
};

static mdt_scope_set *
set_of(const char *s)
{
	mdt_scope_set *set;
	char err[MDT_ERRMSG_MAX] = "";

	ck_assert_msg(mdt_scope_set_parse(s, strlen(s), &set, err,
	    sizeof(err)) == 0, "%s: %s", s, err);
	return set;
}

static void
check_ix(const char *sa, const char *sb, const char *want)
{
	mdt_scope_set *a = set_of(sa), *b = set_of(sb), *r;
	char *t;
	int in_a, in_b;

	ck_assert_int_eq(mdt_scope_set_intersect(a, b, &r), 0);
	ck_assert_int_eq(mdt_scope_set_format(r, &t), 0);
	ck_assert_msg(strcmp(t, want) == 0, "%s ∩ %s = \"%s\", want \"%s\"",
	    sa, sb, t, want);
	ck_assert_int_eq(mdt_scope_set_contains(a, r, &in_a), 0);
	ck_assert_int_eq(mdt_scope_set_contains(b, r, &in_b), 0);
	ck_assert_msg(in_a && in_b, "%s ∩ %s not inside both", sa, sb);
	mdt_free(t);
	mdt_scope_set_free(r);
	mdt_scope_set_free(a);
	mdt_scope_set_free(b);
}

START_TEST(intersection_table)
{
	for (size_t i = 0; ix[i].a != NULL; i++) {
		check_ix(ix[i].a, ix[i].b, ix[i].want);
		check_ix(ix[i].b, ix[i].a, ix[i].want); /* commutative */
	}
}
END_TEST

START_TEST(intersection_bounded)
{
	/* Two scopes with 8 distinct restrictions each: 16 > 8. */
	const char *a = "patient/A.r?a=1&b=1&c=1&d=1&e=1&f=1&g=1&h=1";
	const char *b = "patient/A.r?i=1&j=1&k=1&l=1&m=1&n=1&o=1&p=1";
	mdt_scope_set *sa = set_of(a), *sb = set_of(b), *r = NULL;

	ck_assert_int_eq(mdt_scope_set_intersect(sa, sb, &r), -MDT_ETOOBIG);
	ck_assert_ptr_null(r);
	mdt_scope_set_free(sa);
	mdt_scope_set_free(sb);
}
END_TEST

/* ---- containment table ---- */

typedef struct ct_case {
	const char *outer;
	const char *inner;
	int want;
} ct_case;

static const ct_case ct[] = {
	{"patient/Observation.rs", "patient/Observation.r", 1},
	{"patient/Observation.r", "patient/Observation.rs", 0},
	{"patient/*.rs", "patient/Observation.rs", 1},
	{"patient/Observation.rs", "patient/*.rs", 0},
	/* v1 read means rs: wider than a v2 r parent */
	{"patient/Observation.r", "patient/Observation.read", 0},
	{"patient/Observation.rs", "patient/Observation.read", 1},
	{"patient/Observation.read", "patient/Observation.rs", 1},
	{"patient/Observation.cud", "patient/Observation.write", 1},
	{"patient/Observation.cruds", "patient/Observation.*", 1},
	{"patient/Observation.rd", "patient/Observation.read", 0},
	/* contexts */
	{"user/Observation.rs", "patient/Observation.rs", 1},
	{"system/Observation.rs", "user/Observation.rs", 1},
	{"patient/Observation.rs", "user/Observation.rs", 0},
	{"patient/Observation.rs", "system/Observation.r", 0},
	{"user/Observation.rs", "system/Observation.r", 0},
	{"system/*.cruds", "tool/fax.x", 0},
	{"tool/*.x", "tool/fax.x", 1},
	{"tool/fax.x", "tool/*.x", 0},
	{"tool/fax.x", "patient/Observation.r", 0},
	/* query restrictions: more restrictions is narrower */
	{"patient/Observation.rs", "patient/Observation.rs?category=lab", 1},
	{"patient/Observation.rs?category=lab", "patient/Observation.rs", 0},
	{"patient/Observation.rs?category=lab",
	    "patient/Observation.r?category=lab&status=final", 1},
	{"patient/Observation.rs?category=lab",
	    "patient/Observation.r?category=vital", 0},
	/* a set covers a scope letter by letter */
	{"patient/Observation.r patient/Observation.s",
	    "patient/Observation.rs", 1},
	{"patient/Observation.r patient/Condition.s", "patient/Observation.rs",
	    0},
	{"patient/*.r patient/Observation.s", "patient/Observation.read", 1},
	{"patient/Observation.r?a=1 patient/Observation.r?a=2",
	    "patient/Observation.r", 0},
	{"patient/A.r", "", 1},
	{"", "", 1},
	{"", "patient/A.r", 0},
	{NULL, NULL, 0}
};

START_TEST(containment_table)
{
	for (size_t i = 0; ct[i].outer != NULL; i++) {
		mdt_scope_set *o = set_of(ct[i].outer), *n = set_of(ct[i].inner);
		int got = -1;

		ck_assert_int_eq(mdt_scope_set_contains(o, n, &got), 0);
		ck_assert_msg(got == ct[i].want, "contains(%s, %s) = %d",
		    ct[i].outer, ct[i].inner, got);
		mdt_scope_set_free(o);
		mdt_scope_set_free(n);
	}
}
END_TEST

/* ---- matching table ---- */

typedef struct mt_case {
	const char *set;
	const char *ref;
	const char *action;
	const char *req_patient;
	const char *bound;
	int want;
} mt_case;

static const mt_case mt[] = {
	{"patient/Observation.rs", "Observation/1", "r", "p1", "p1", 1},
	{"patient/Observation.rs", "Observation/1", "r", "p2", "p1", 0},
	{"patient/Observation.rs", "Observation/1", "r", NULL, "p1", 0},
	{"patient/Observation.rs", "Observation/1", "r", "p1", NULL, 0},
	{"patient/Observation.rs", "Observation/1", "u", "p1", "p1", 0},
	{"patient/Observation.rs", "Observation", "s", "p1", "p1", 1},
	{"patient/Observation.read", "Observation", "s", "p1", "p1", 1},
	{"patient/Observation.read", "Observation", "d", "p1", "p1", 0},
	{"patient/Observation.rs", "Condition/1", "r", "p1", "p1", 0},
	{"patient/*.rs", "Condition/1", "r", "p1", "p1", 1},
	{"user/Observation.rs", "Observation/1", "r", "p2", "p1", 1},
	{"user/Observation.rs", "Observation/1", "r", NULL, NULL, 1},
	{"system/*.cruds", "Practitioner/9", "u", NULL, "p1", 1},
	{"patient/Observation.rs?category=laboratory",
	    "Observation?category=laboratory", "s", "p1", "p1", 1},
	{"patient/Observation.rs?category=laboratory",
	    "Observation?category=laboratory&code=1", "s", "p1", "p1", 1},
	{"patient/Observation.rs?category=laboratory",
	    "Observation?category=vital-signs", "s", "p1", "p1", 0},
	{"patient/Observation.rs?category=laboratory", "Observation", "s",
	    "p1", "p1", 0},
	{"patient/Observation.rs?category=laboratory&status=final",
	    "Observation?status=final&category=laboratory", "s", "p1", "p1", 1},
	{"patient/Observation.rs?category=laboratory&status=final",
	    "Observation?category=laboratory", "s", "p1", "p1", 0},
	{"tool/fax.x", "tool/fax", "x", NULL, "p1", 1},
	{"tool/*.x", "tool/export", "x", NULL, "p1", 1},
	{"tool/fax.x", "tool/export", "x", NULL, "p1", 0},
	{"system/*.cruds", "tool/fax", "x", NULL, "p1", 0},
	{"tool/*.x", "Observation/1", "r", "p1", "p1", 0},
	{"tool/fax.x?site=north", "tool/fax?site=north", "x", NULL, NULL, 1},
	{"tool/fax.x?site=north", "tool/fax", "x", NULL, NULL, 0},
	{"", "Observation/1", "r", "p1", "p1", 0},
	{NULL, NULL, NULL, NULL, NULL, 0}
};

START_TEST(matching_table)
{
	for (size_t i = 0; mt[i].set != NULL; i++) {
		mdt_scope_set *s = set_of(mt[i].set);
		mdt_scope_request req;
		mdt_scope_param params[8];
		char buf[256], err[MDT_ERRMSG_MAX] = "";
		int got = -1;

		ck_assert_msg(mdt_scope_request_parse(mt[i].ref, &req, buf,
		    sizeof(buf), params, 8, err, sizeof(err)) == 0, "%s: %s",
		    mt[i].ref, err);
		req.action = mt[i].action;
		req.patient = mt[i].req_patient;
		ck_assert_int_eq(mdt_scope_set_matches(s, &req, mt[i].bound,
		    &got), 0);
		ck_assert_msg(got == mt[i].want, "%s vs %s %s: %d", mt[i].set,
		    mt[i].action, mt[i].ref, got);
		mdt_scope_set_free(s);
	}
}
END_TEST

/* ---- resource references ---- */

START_TEST(request_parse_forms)
{
	mdt_scope_request req;
	mdt_scope_param params[2];
	char buf[128];

	memset(&req, 0, sizeof(req));
	req.action = "r";
	ck_assert_int_eq(mdt_scope_request_parse("Observation/123", &req, buf,
	    sizeof(buf), params, 2, NULL, 0), 0);
	ck_assert_str_eq(req.type, "Observation");
	ck_assert_str_eq(req.id, "123");
	ck_assert_int_eq(req.context, MDT_SCOPE_FHIR);
	ck_assert_uint_eq(req.nparams, 0);
	ck_assert_str_eq(req.action, "r"); /* left to the caller */

	ck_assert_int_eq(mdt_scope_request_parse(
	    "Observation?category=laboratory&code=http://loinc.org|1-8", &req,
	    buf, sizeof(buf), params, 2, NULL, 0), 0);
	ck_assert_ptr_null(req.id);
	ck_assert_uint_eq(req.nparams, 2);
	ck_assert_uint_eq(req.params[0].name_len, 8);
	ck_assert_int_eq(memcmp(req.params[0].value, "laboratory", 10), 0);
	ck_assert_int_eq(memcmp(req.params[1].value, "http://loinc.org|1-8",
	    20), 0);

	ck_assert_int_eq(mdt_scope_request_parse("tool/fax", &req, buf,
	    sizeof(buf), params, 2, NULL, 0), 0);
	ck_assert_int_eq(req.context, MDT_SCOPE_TOOL);
	ck_assert_str_eq(req.type, "fax");

	ck_assert_int_eq(mdt_scope_request_parse("Observation/1?status=final",
	    &req, buf, sizeof(buf), params, 2, NULL, 0), 0);
	ck_assert_str_eq(req.id, "1");
	ck_assert_uint_eq(req.nparams, 1);
}
END_TEST

START_TEST(request_parse_rejects)
{
	static const struct {
		const char *ref;
		int status;
		const char *where;
	} cases[] = {
		{"", -MDT_EPARSE, "byte 0:"},
		{"observation/1", -MDT_EPARSE, "byte 0:"},
		{"Observation/", -MDT_EPARSE, "byte 12:"},
		{"Observation/1/2", -MDT_EPARSE, "byte 13:"},
		{"Observation/a_b", -MDT_EPARSE, "byte 13:"},
		{"Observation?", -MDT_EPARSE, "byte 12:"},
		{"Observation?a", -MDT_EPARSE, "byte 13:"},
		{"Observation?a=", -MDT_EPARSE, "byte 14:"},
		{"Observation?a=%20", -MDT_EPARSE, "byte 14:"},
		{"Observation?a=1&&b=2", -MDT_EPARSE, "byte 16:"},
		{"Observation?a=1&b=2&c=3", -MDT_ETOOBIG, "byte 20:"},
		{"tool/Fax", -MDT_EPARSE, "byte 5:"},
		{"tool/", -MDT_EPARSE, "byte 5:"},
		{"tool/fax/1", -MDT_EPARSE, "byte 8:"},
		{"Observation 1", -MDT_EPARSE, "byte 11:"},
		{NULL, 0, NULL}
	};
	for (size_t i = 0; cases[i].ref != NULL; i++) {
		mdt_scope_request req;
		mdt_scope_param params[2];
		char buf[128], err[MDT_ERRMSG_MAX] = "";
		int rc = mdt_scope_request_parse(cases[i].ref, &req, buf,
		    sizeof(buf), params, 2, err, sizeof(err));
		ck_assert_msg(rc == cases[i].status, "%s: %d", cases[i].ref,
		    rc);
		ck_assert_msg(strncmp(err, cases[i].where,
		    strlen(cases[i].where)) == 0, "%s: \"%s\"", cases[i].ref,
		    err);
	}
}
END_TEST

START_TEST(request_parse_small_buffer)
{
	mdt_scope_request req;
	mdt_scope_param params[2];
	char buf[8];

	ck_assert_int_eq(mdt_scope_request_parse("Observation/1", &req, buf,
	    sizeof(buf), params, 2, NULL, 0), -MDT_ETOOBIG);
	ck_assert_int_eq(mdt_scope_request_parse("A/1?abc=defg", &req, buf,
	    sizeof(buf), params, 2, NULL, 0), -MDT_ETOOBIG);
}
END_TEST

/* ---- threat model rows (docs/architecture.md, attack classes) ---- */

/* "scope parsing differences": `.read` is rs, never `.rd`; one parser,
 * no repair; v1 normalised before any comparison. */
START_TEST(threat_scope_parsing_differences)
{
	mdt_scope_set *read = set_of("patient/Observation.read");
	mdt_scope_set *rd = set_of("patient/Observation.rd");
	mdt_scope_set *r = set_of("patient/Observation.r");
	mdt_scope_request req = {"d", MDT_SCOPE_FHIR, "Observation", "1",
	    "p1", NULL, 0};
	int yes = -1;
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(mdt_scope_set_matches(read, &req, "p1", &yes), 0);
	ck_assert_int_eq(yes, 0); /* .read never grants delete */
	ck_assert_int_eq(mdt_scope_set_matches(rd, &req, "p1", &yes), 0);
	ck_assert_int_eq(yes, 1);
	ck_assert_int_eq(mdt_scope_set_contains(read, rd, &yes), 0);
	ck_assert_int_eq(yes, 0);
	/* v1 read under a v2 r parent is wider, hence refused */
	ck_assert_int_eq(mdt_scope_set_contains(r, read, &yes), 0);
	ck_assert_int_eq(yes, 0);
	/* near-misses of v1 words are errors, not guesses */
	ck_assert_int_eq(mdt_scope_set_add(r, "patient/Observation.Read", 24,
	    err, sizeof(err)), -MDT_EPARSE);
	ck_assert_int_eq(mdt_scope_set_add(r, "patient/Observation.rd ", 23,
	    err, sizeof(err)), -MDT_EPARSE);
	ck_assert_int_eq(mdt_scope_set_add(r, "patient/Observation.r%64", 24,
	    err, sizeof(err)), -MDT_EPARSE);
	ck_assert_uint_eq(mdt_scope_set_count(r), 1);
	mdt_scope_set_free(read);
	mdt_scope_set_free(rd);
	mdt_scope_set_free(r);
}
END_TEST

/* "context swap": a user/ or system/ scope under a patient/ parent. */
START_TEST(threat_context_swap)
{
	mdt_scope_set *parent = set_of("patient/*.rs");
	mdt_scope_set *child = set_of("user/Observation.rs system/*.r");
	mdt_scope_set *eff;
	mdt_scope_request req = {"r", MDT_SCOPE_FHIR, "Observation", "1",
	    "other-patient", NULL, 0};
	int yes = -1;
	char *t;

	ck_assert_int_eq(mdt_scope_set_contains(parent, child, &yes), 0);
	ck_assert_int_eq(yes, 0);
	/* The effective set stays patient-bound whatever the child claims. */
	ck_assert_int_eq(mdt_scope_set_intersect(parent, child, &eff), 0);
	ck_assert_int_eq(mdt_scope_set_format(eff, &t), 0);
	ck_assert_str_eq(t, "patient/*.r patient/Observation.rs");
	ck_assert_int_eq(mdt_scope_set_matches(child, &req, "p1", &yes), 0);
	ck_assert_int_eq(yes, 1);
	ck_assert_int_eq(mdt_scope_set_matches(eff, &req, "p1", &yes), 0);
	ck_assert_int_eq(yes, 0);
	mdt_free(t);
	mdt_scope_set_free(eff);
	mdt_scope_set_free(parent);
	mdt_scope_set_free(child);
}
END_TEST

/* "re-delegation widening": a child claiming more than its parent gains
 * nothing once rights are the intersection over the chain. */
START_TEST(threat_redelegation_widening)
{
	const char *chain[] = {
		"patient/Observation.rs?category=laboratory tool/fax.x",
		"patient/*.cruds tool/*.x system/*.cruds",
		"patient/Observation.read user/*.*",
		"patient/Observation.cruds?category=laboratory",
	};
	mdt_scope_set *eff = set_of(chain[0]);
	mdt_scope_set *root = set_of(chain[0]);
	int yes = -1;
	char *t;

	for (size_t i = 1; i < sizeof(chain) / sizeof(chain[0]); i++) {
		mdt_scope_set *blk = set_of(chain[i]), *next;
		ck_assert_int_eq(mdt_scope_set_contains(eff, blk, &yes), 0);
		ck_assert_int_eq(yes, 0); /* each claim is wider */
		ck_assert_int_eq(mdt_scope_set_intersect(eff, blk, &next), 0);
		ck_assert_int_eq(mdt_scope_set_contains(eff, next, &yes), 0);
		ck_assert_int_eq(yes, 1);
		ck_assert_int_eq(mdt_scope_set_contains(root, next, &yes), 0);
		ck_assert_int_eq(yes, 1);
		mdt_scope_set_free(eff);
		mdt_scope_set_free(blk);
		eff = next;
	}
	ck_assert_int_eq(mdt_scope_set_format(eff, &t), 0);
	ck_assert_str_eq(t, "patient/Observation.rs?category=laboratory");
	mdt_free(t);
	mdt_scope_set_free(eff);
	mdt_scope_set_free(root);
}
END_TEST


static int
note_action(void *arg, const char *action, const char *cedar_action,
    const char *type, int tool)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 256 - n, "%s%s:%s:%s:%d", n ? " " : "", action,
	    cedar_action, type, tool);
	return strcmp(cedar_action, "delete") == 0 ? 7 : 0;
}

/* The requests a scope grants, as authorize names them. */
START_TEST(scope_actions)
{
	char out[256] = "";

	ck_assert_int_eq(mdt_scope_actions("patient/Observation.rs",
	    note_action, out), 0);
	ck_assert_str_eq(out, "r:read:Observation:0 s:search:Observation:0");
	out[0] = 0;
	ck_assert_int_eq(mdt_scope_actions("tool/fax.x", note_action, out), 0);
	ck_assert_str_eq(out, "x:fax:fax:1");
	out[0] = 0;
	/* a non-zero return stops the walk and is returned */
	ck_assert_int_eq(mdt_scope_actions("user/*.cruds", note_action, out),
	    7);
	ck_assert_str_eq(out, "c:create:*:0 r:read:*:0 u:update:*:0 "
	    "d:delete:*:0");
	out[0] = 0;
	ck_assert_int_eq(mdt_scope_actions("openid", note_action, out), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(mdt_scope_actions(NULL, note_action, out),
	    -MDT_EINVAL);
}
END_TEST

static Suite *
scope_suite(void)
{
	Suite *s = suite_create("scope");
	TCase *p = tcase_create("parse");
	TCase *a = tcase_create("algebra");
	TCase *t = tcase_create("threats");

	tcase_add_test(p, parses_and_canonicalises);
	tcase_add_test(p, rejects_malformed_with_offset_and_reason);
	tcase_add_test(p, length_bounds);
	tcase_add_test(p, set_parse_format_round_trip);
	tcase_add_test(p, set_parse_errors_name_offset_in_list);
	tcase_add_test(p, empty_list_is_empty_set);
	tcase_add_test(p, add_dedupes_after_normalisation);
	tcase_add_test(p, set_size_bound);
	tcase_add_test(p, null_arguments);
	tcase_add_test(p, allocation_failures_are_clean);
	tcase_add_test(p, request_parse_forms);
	tcase_add_test(p, request_parse_rejects);
	tcase_add_test(p, request_parse_small_buffer);
	tcase_add_test(a, intersection_table);
	tcase_add_test(a, intersection_bounded);
	tcase_add_test(a, containment_table);
	tcase_add_test(a, matching_table);
	tcase_add_test(t, threat_scope_parsing_differences);
	tcase_add_test(t, threat_context_swap);
	tcase_add_test(t, threat_redelegation_widening);
	tcase_add_test(t, scope_actions);
	suite_add_tcase(s, p);
	suite_add_tcase(s, a);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return mdt_test_run(scope_suite());
}

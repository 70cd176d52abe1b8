/*
 * Fuzz harness for the scope parser and algebra.  The input is one or two
 * scope lists separated by a newline.  For every list that parses:
 *   - format, parse again, format: the same canonical text;
 *   - intersect with itself: its normal form, contained both ways;
 * and for two lists a, b: a ∩ b is inside a and inside b and formats
 * to text that parses again.  The first line is also tried as a resource
 * reference and matched against the second list.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/scope.h>

#include "scope_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
format_or_die(const mdt_scope_set *s)
{
	char *t;

	if (mdt_scope_set_format(s, &t) != 0)
		abort();
	return t;
}

static void
check_round_trip(const mdt_scope_set *s)
{
	mdt_scope_set *back;
	char *t1 = format_or_die(s), *t2;

	if (mdt_scope_set_parse(t1, strlen(t1), &back, NULL, 0) != 0)
		abort();
	t2 = format_or_die(back);
	if (strcmp(t1, t2) != 0)
		abort();
	mdt_free(t1);
	mdt_free(t2);
	mdt_scope_set_free(back);
}

static void
check_self_intersection(const mdt_scope_set *a)
{
	mdt_scope_set *r, *norm;
	char *tr, *tn;
	int x, y;

	if (mdt_scope_set_intersect(a, a, &r) != 0)
		return; /* bounded: restrictions may overflow, never widen */
	if (mdt_scope_set_dup(a, &norm) != 0)
		abort();
	mdt__scope_set_normalize(norm);
	tr = format_or_die(r);
	tn = format_or_die(norm);
	if (strcmp(tr, tn) != 0)
		abort();
	if (mdt_scope_set_contains(a, r, &x) != 0 ||
	    mdt_scope_set_contains(r, a, &y) != 0 || !x || !y)
		abort();
	check_round_trip(r);
	mdt_free(tr);
	mdt_free(tn);
	mdt_scope_set_free(r);
	mdt_scope_set_free(norm);
}

static void
check_pair(const mdt_scope_set *a, const mdt_scope_set *b)
{
	mdt_scope_set *r;
	int x, y;

	if (mdt_scope_set_intersect(a, b, &r) != 0)
		return;
	if (mdt_scope_set_contains(a, r, &x) != 0 ||
	    mdt_scope_set_contains(b, r, &y) != 0 || !x || !y)
		abort();
	check_round_trip(r);
	mdt_scope_set_free(r);
}

static void
check_request(const char *line, size_t n, const mdt_scope_set *set)
{
	char ref[MDT_SCOPE_REF_MAX + 2], buf[MDT_SCOPE_REF_MAX + 64];
	mdt_scope_param params[8];
	mdt_scope_request req;
	int yes;

	if (n > MDT_SCOPE_REF_MAX + 1)
		return;
	memcpy(ref, line, n);
	ref[n] = '\0';
	if (mdt_scope_request_parse(ref, &req, buf, sizeof(buf), params, 8,
	    NULL, 0) != 0)
		return;
	req.action = req.context == MDT_SCOPE_TOOL ? "x" : "r";
	req.patient = "p1";
	if (mdt_scope_set_matches(set, &req, "p1", &yes) != 0)
		abort();
}

static mdt_scope_set *
parse_list(const char *s, size_t n)
{
	mdt_scope_set *set;
	char err[MDT_ERRMSG_MAX];

	err[0] = '\0';
	if (mdt_scope_set_parse(s, n, &set, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort(); /* every refusal says why */
		return NULL;
	}
	check_round_trip(set);
	check_self_intersection(set);
	return set;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t n1 = nl != NULL ? (size_t)(nl - s) : size;
	mdt_scope_set *a = parse_list(s, n1), *b = NULL;

	if (nl != NULL)
		b = parse_list(nl + 1, size - n1 - 1);
	if (a != NULL && b != NULL)
		check_pair(a, b);
	if (b != NULL)
		check_request(s, n1, b);
	mdt_scope_set_free(a);
	mdt_scope_set_free(b);
	return 0;
}

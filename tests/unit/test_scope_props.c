/*
 * Randomized properties of the scope algebra over thousands of random
 * sets (fixed seed, so failures reproduce):
 *   - intersect(a, b) is contained in a and in b;
 *   - a request is matched by intersect(a, b) exactly when it is matched
 *     by both a and b;
 *   - contains(a, b) implies every request matched by b is matched by a;
 *   - format, parse again and format give the same text.
 * Scopes and requests are drawn from small alphabets so that they
 * overlap often.
 */
#include <stdio.h>
#include <string.h>

#include <mandate/scope.h>

#include "testutil.h"

#define ITERATIONS 4000
#define REQUESTS 64

static const char *const ctxs[] = {"patient", "user", "system", "tool"};
static const char *const fhir_types[] = {"*", "Observation", "Condition"};
static const char *const tool_types[] = {"*", "fax", "export"};
static const char *const pnames[] = {"category", "status"};
static const char *const pvalues[] = {"lab", "vital"};
static const char *const patients[] = {"p1", "p2", NULL};

/* xorshift64*: deterministic, no global state. */
static unsigned
rnd(unsigned long long *st, unsigned n)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return (unsigned)(((*st * 2685821657736338717ULL) >> 33) % n);
}

static size_t
gen_perms(unsigned long long *st, int tool, char *p)
{
	static const char *const v1[] = {"read", "write", "*"};
	const char *letters = tool ? "x" : "cruds";
	size_t n = 0;

	if (!tool && rnd(st, 5) == 0)
		return (size_t)sprintf(p, "%s", v1[rnd(st, 3)]);
	while (n == 0)
		for (size_t k = 0; letters[k] != '\0'; k++)
			if (rnd(st, 2))
				p[n++] = letters[k];
	p[n] = '\0';
	return n;
}

static size_t
gen_scope(unsigned long long *st, char *out)
{
	unsigned c = rnd(st, 4);
	const char *type = c == 3 ? tool_types[rnd(st, 3)] :
	    fhir_types[rnd(st, 3)];
	char perms[8];
	size_t n;
	unsigned used = 0;

	gen_perms(st, c == 3, perms);
	n = (size_t)sprintf(out, "%s/%s.%s", ctxs[c], type, perms);
	for (unsigned k = rnd(st, 3); k > 0; k--) {
		unsigned pi = rnd(st, 4);
		if (used & (1u << pi))
			continue;
		used |= 1u << pi;
		n += (size_t)sprintf(out + n, "%c%s=%s", used == (1u << pi) ?
		    '?' : '&', pnames[pi / 2], pvalues[pi % 2]);
	}
	return n;
}

static mdt_scope_set *
gen_set(unsigned long long *st)
{
	mdt_scope_set *set;
	char buf[128];

	ck_assert_int_eq(mdt_scope_set_new(&set), 0);
	for (unsigned k = rnd(st, 4); k > 0; k--) {
		size_t n = gen_scope(st, buf);
		ck_assert_msg(mdt_scope_set_add(set, buf, n, NULL, 0) == 0,
		    "%s", buf);
	}
	return set;
}

typedef struct rreq {
	mdt_scope_request req;
	mdt_scope_param params[4];
	char action[2];
} rreq;

static void
gen_request(unsigned long long *st, rreq *r)
{
	int tool = rnd(st, 4) == 0;
	const char *letters = tool ? "x" : "cruds";

	memset(r, 0, sizeof(*r));
	r->action[0] = letters[rnd(st, (unsigned)strlen(letters))];
	r->req.action = r->action;
	r->req.context = tool ? MDT_SCOPE_TOOL : MDT_SCOPE_FHIR;
	r->req.type = tool ? tool_types[1 + rnd(st, 2)] :
	    (rnd(st, 4) == 0 ? "Patient" : fhir_types[1 + rnd(st, 2)]);
	r->req.patient = patients[rnd(st, 3)];
	for (unsigned pi = 0; pi < 4; pi++) {
		mdt_scope_param *p;
		if (rnd(st, 2) == 0)
			continue;
		p = &r->params[r->req.nparams++];
		p->name = pnames[pi / 2];
		p->name_len = strlen(p->name);
		p->value = pvalues[pi % 2];
		p->value_len = strlen(p->value);
	}
	r->req.params = r->params;
}

static int
match(const mdt_scope_set *s, const rreq *r, const char *bound)
{
	int yes = -1;

	ck_assert_int_eq(mdt_scope_set_matches(s, &r->req, bound, &yes), 0);
	return yes;
}

static void
check_round_trip(const mdt_scope_set *s)
{
	mdt_scope_set *back;
	char *t1, *t2;

	ck_assert_int_eq(mdt_scope_set_format(s, &t1), 0);
	ck_assert_int_eq(mdt_scope_set_parse(t1, strlen(t1), &back, NULL, 0),
	    0);
	ck_assert_int_eq(mdt_scope_set_format(back, &t2), 0);
	ck_assert_str_eq(t1, t2);
	mdt_free(t1);
	mdt_free(t2);
	mdt_scope_set_free(back);
}

static void
check_pair(unsigned long long *st, mdt_scope_set *a, mdt_scope_set *b)
{
	mdt_scope_set *r;
	int in_a, in_b, a_has_b;
	const char *bound = rnd(st, 5) == 0 ? NULL : "p1";

	ck_assert_int_eq(mdt_scope_set_intersect(a, b, &r), 0);
	ck_assert_int_eq(mdt_scope_set_contains(a, r, &in_a), 0);
	ck_assert_int_eq(mdt_scope_set_contains(b, r, &in_b), 0);
	ck_assert(in_a && in_b);
	ck_assert_int_eq(mdt_scope_set_contains(a, b, &a_has_b), 0);
	for (int k = 0; k < REQUESTS; k++) {
		rreq q;
		int ma, mb, mr;
		gen_request(st, &q);
		ma = match(a, &q, bound);
		mb = match(b, &q, bound);
		mr = match(r, &q, bound);
		ck_assert_int_eq(mr, ma && mb);
		if (a_has_b && mb)
			ck_assert(ma);
	}
	check_round_trip(r);
	mdt_scope_set_free(r);
}

START_TEST(random_sets_keep_the_algebra_laws)
{
	unsigned long long st = 0x9e3779b97f4a7c15ULL;
	int contained = 0;

	for (int it = 0; it < ITERATIONS; it++) {
		mdt_scope_set *a = gen_set(&st), *b = gen_set(&st);
		int yes;
		check_pair(&st, a, b);
		check_round_trip(a);
		ck_assert_int_eq(mdt_scope_set_contains(a, b, &yes), 0);
		contained += yes;
		mdt_scope_set_free(a);
		mdt_scope_set_free(b);
	}
	/* The generator must exercise containment, not only its absence. */
	ck_assert_int_gt(contained, ITERATIONS / 50);
}
END_TEST

/* Invariant 1 in miniature: along random chains of blocks, the running
 * intersection stays inside the root and matches nothing the root does
 * not. */
START_TEST(random_chains_only_narrow)
{
	unsigned long long st = 0x243f6a8885a308d3ULL;

	for (int it = 0; it < ITERATIONS / 4; it++) {
		mdt_scope_set *eff = gen_set(&st), *root;
		ck_assert_int_eq(mdt_scope_set_dup(eff, &root), 0);
		for (int hop = 0; hop < 4; hop++) {
			mdt_scope_set *blk = gen_set(&st), *next;
			int yes;
			ck_assert_int_eq(mdt_scope_set_intersect(eff, blk,
			    &next), 0);
			ck_assert_int_eq(mdt_scope_set_contains(root, next,
			    &yes), 0);
			ck_assert(yes);
			for (int k = 0; k < 16; k++) {
				rreq q;
				gen_request(&st, &q);
				if (match(next, &q, "p1"))
					ck_assert(match(root, &q, "p1"));
			}
			mdt_scope_set_free(blk);
			mdt_scope_set_free(eff);
			eff = next;
		}
		mdt_scope_set_free(eff);
		mdt_scope_set_free(root);
	}
}
END_TEST

static Suite *
props_suite(void)
{
	Suite *s = suite_create("scope-properties");
	TCase *tc = tcase_create("random");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, random_sets_keep_the_algebra_laws);
	tcase_add_test(tc, random_chains_only_narrow);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(props_suite());
}

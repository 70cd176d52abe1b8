/*
 * What text and data the engine loads, side by side with Cedar 4: the
 * cases of tests/data/cedar-syntax/cases.txt (each outcome taken from
 * Cedar itself), flat chains of ||, &&, + and * at the lengths policy
 * generators write, and the nesting bound, which still applies to real
 * nesting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/mandate.h>

#include "policy_testutil.h"
#include "testutil.h"

/* Replaces each <U+XXXX> of s[0..n) by the code point in UTF-8, in place;
 * returns the new length. */
static size_t
unmark(char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		unsigned cp;
		if (n - i >= 8 && memcmp(s + i, "<U+", 3) == 0 && s[i + 7] == '>' &&
		    sscanf(s + i + 3, "%4x", &cp) == 1) {
			if (cp < 0x80) {
				s[o++] = (char)cp;
			} else if (cp < 0x800) {
				s[o++] = (char)(0xC0 | cp >> 6);
				s[o++] = (char)(0x80 | (cp & 0x3F));
			} else {
				s[o++] = (char)(0xE0 | cp >> 12);
				s[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
				s[o++] = (char)(0x80 | (cp & 0x3F));
			}
			i += 8;
		} else {
			s[o++] = s[i++];
		}
	}
	return o;
}

/* 0 when the text loads, else the error (err filled). */
static int
load_case(const char *kind, const char *body, size_t len, char *err,
    size_t errlen)
{
	mdt_policy_set *set = NULL;
	mdt_entity_store *store;
	int rc;

	if (strcmp(kind, "policies") == 0) {
		rc = mdt_policy_set_parse(&set, body, len, "case", err, errlen);
		mdt_policy_set_free(set);
		return rc;
	}
	ck_assert_str_eq(kind, "entities");
	ck_assert_int_eq(mdt_entity_store_new(&store), 0);
	rc = mdt_entity_store_load_json(store, body, len, "case", err, errlen);
	mdt_entity_store_free(store);
	return rc;
}

static char *
read_cases(size_t *len)
{
	const char *dir = getenv("MDT_SOURCE_DIR");
	char path[4096];
	FILE *f;
	char *buf;

	ck_assert_msg(dir != NULL, "MDT_SOURCE_DIR must be set");
	snprintf(path, sizeof(path), "%s/tests/data/cedar-syntax/cases.txt", dir);
	ck_assert_msg((f = fopen(path, "rb")) != NULL, "cannot open %s", path);
	buf = malloc(1 << 20);
	ck_assert_ptr_nonnull(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

START_TEST(loads_exactly_when_cedar_does)
{
	size_t len, ncases = 0, bad = 0;
	char *text = read_cases(&len), *p = strstr(text, "\n=== ");
	char err[MDT_ERRMSG_MAX];

	ck_assert_ptr_nonnull(p);
	while (p != NULL) {
		char kind[16], expect[8], name[96];
		char *head = p + 5, *body = strchr(head, '\n') + 1;
		char *next = strstr(body - 1, "\n=== ");
		size_t blen = (next == NULL ? text + len : next) - body;
		int rc;
		if (blen > 0 && body[blen - 1] == '\n')
			blen--;
		ck_assert_int_eq(sscanf(head, "%15s %7s %95s", kind, expect, name), 3);
		blen = unmark(body, blen);
		err[0] = '\0';
		rc = load_case(kind, body, blen, err, sizeof(err));
		if ((rc == 0) != (strcmp(expect, "ok") == 0)) {
			fprintf(stderr, "MISMATCH %s %s: Cedar: %s, here: %s\n", kind,
			    name, expect, rc == 0 ? "ok" : err);
			bad++;
		} else if (rc != 0) {
			ck_assert_int_eq(rc, -MDT_EPARSE);
			ck_assert_msg(strncmp(err, "case:", 5) == 0, "%s: %s", name, err);
		}
		ncases++;
		p = next;
	}
	free(text);
	ck_assert_uint_ge(ncases, 170);
	ck_assert_msg(bad == 0, "%zu of %zu cases differ from Cedar", bad, ncases);
}
END_TEST

/* `permit ... when { T0 OP T1 OP ... TAIL };` with n terms, term i being
 * pre followed by i (when numbered). */
static char *
chain(const char *pre, int numbered, const char *op, int n, const char *tail)
{
	size_t cap = (size_t)n * 48 + 256, o = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	o += (size_t)snprintf(s, cap, "permit(principal, action, resource) when { ");
	for (int i = 0; i < n; i++) {
		if (i > 0)
			o += (size_t)snprintf(s + o, cap - o, " %s ", op);
		o += (size_t)snprintf(s + o, cap - o, "%s", pre);
		if (numbered)
			o += (size_t)snprintf(s + o, cap - o, "%d", i);
	}
	snprintf(s + o, cap - o, "%s };", tail);
	return s;
}

/* `permit ... when { context.a.a ... .a };` with n accesses. */
static char *
dots(int n)
{
	size_t cap = (size_t)n * 2 + 128, o = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	o += (size_t)snprintf(s, cap, "permit(principal, action, resource) when "
	    "{ context");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, ".a");
	snprintf(s + o, cap - o, " };");
	return s;
}

static void
eval_chain(const char *policy, const char *context, mdt_decision want,
    const char *want_errors)
{
	pt_result r;

	pt_eval(policy, NULL, "U::\"u\"", "Action::\"a\"", "R::\"r\"", context, &r);
	ck_assert_msg(r.rc == 0, "%s", r.message);
	ck_assert_int_eq(r.decision, want);
	ck_assert_str_eq(r.errors, want_errors);
}

START_TEST(flat_chains_load_and_evaluate)
{
	static const int lengths[] = {128, 10000};
	char *p;

	for (size_t k = 0; k < 2; k++) {
		int n = lengths[k];
		char ctx[64];
		/* An allow-list of n comparisons: the last one matches. */
		p = chain("context.x == ", 1, "||", n, "");
		snprintf(ctx, sizeof(ctx), "{\"x\": %d}", n - 1);
		eval_chain(p, ctx, MDT_DECISION_ALLOW, "");
		eval_chain(p, "{\"x\": -1}", MDT_DECISION_DENY, "");
		free(p);
		p = chain("context.x != ", 1, "&&", n, "");
		eval_chain(p, "{\"x\": -1}", MDT_DECISION_ALLOW, "");
		snprintf(ctx, sizeof(ctx), "{\"x\": %d}", n - 1);
		eval_chain(p, ctx, MDT_DECISION_DENY, "");
		free(p);
		/* 0 + 1 + ... + (n-1), folded left to right. */
		snprintf(ctx, sizeof(ctx), " == %lld", (long long)n * (n - 1) / 2);
		p = chain("", 1, "+", n, ctx);
		eval_chain(p, NULL, MDT_DECISION_ALLOW, "");
		free(p);
		p = chain("1", 0, "*", n, " == 1");
		eval_chain(p, NULL, MDT_DECISION_ALLOW, "");
		free(p);
		/* context.a.a...: followed until a value has no attributes. */
		p = dots(n);
		eval_chain(p, "{\"a\": {\"a\": 1}}", MDT_DECISION_DENY, "policy0");
		free(p);
	}
	p = dots(2);
	eval_chain(p, "{\"a\": {\"a\": true}}", MDT_DECISION_ALLOW, "");
	free(p);
}
END_TEST

START_TEST(chains_keep_cedar_semantics)
{
	/* Short-circuit stops before the ill-typed operand; reaching it is an
	 * error; - and + fold left to right; overflow anywhere in a chain is
	 * an error. */
	static const struct {
		const char *expr;
		char want;
	} t[] = {
		{"false || false || true || 1", 'T'},
		{"false || false || 1 || true", 'E'},
		{"true && true && false && 1", 'F'},
		{"true && 1 && false", 'E'},
		{"10 - 3 - 2 == 5", 'T'},
		{"10 - 3 + 2 == 9", 'T'},
		{"2 * 3 * 4 == 24", 'T'},
		{"1 + 2 * 3 - 4 == 3", 'T'},
		{"9223372036854775807 - 1 + 1 + 1 == 0", 'E'},
		{"1 + \"a\" + 2 == 3", 'E'},
		{"principal has name && principal.name == \"Alice\" || false", 'T'},
		{"principal.addr.zip.code == \"0150\"", 'T'},
		{"principal.addr[\"zip\"].code.contains(\"1\")", 'E'},
		{"principal.addr.zip.nope == 1", 'E'},
		{"principal has addr.zip.code", 'T'},
		{"principal has addr.zip.nope", 'F'},
		{"principal.manager.addr.city == \"x\"", 'E'},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char got = pt_expr(t[i].expr, NULL);
		ck_assert_msg(got == t[i].want, "`%s`: want %c, got %c", t[i].expr,
		    t[i].want, got);
	}
}
END_TEST

/* `permit ... when { OPEN^n true CLOSE^n };` */
static int
nested(const char *open, const char *mid, const char *close, int n,
    char *err, size_t errlen)
{
	size_t cap = (size_t)n * (strlen(open) + strlen(close)) + 256, o = 0;
	char *s = malloc(cap);
	mdt_policy_set *set = NULL;
	int rc;

	ck_assert_ptr_nonnull(s);
	o += (size_t)snprintf(s, cap, "permit(principal, action, resource) when { ");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s", open);
	o += (size_t)snprintf(s + o, cap - o, "%s", mid);
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s", close);
	snprintf(s + o, cap - o, " };");
	rc = mdt_policy_set_parse(&set, s, strlen(s), "p", err, errlen);
	mdt_policy_set_free(set);
	free(s);
	return rc;
}

START_TEST(real_nesting_stays_bounded)
{
	char err[MDT_ERRMSG_MAX];

	ck_assert_int_eq(nested("(", "true", ")", 100, err, sizeof(err)), 0);
	ck_assert_int_eq(nested("(1 + ", "1", ")", 100, err, sizeof(err)), 0);
	ck_assert_int_eq(nested("(", "true", ")", 1000, err, sizeof(err)),
	    -MDT_EPARSE);
	ck_assert_msg(strstr(err, "nested too deeply") != NULL, "%s", err);
	ck_assert_int_eq(nested("(1 + ", "1", ")", 200, err, sizeof(err)),
	    -MDT_EPARSE);
	ck_assert_msg(strstr(err, "nested too deeply") != NULL, "%s", err);
	ck_assert_int_eq(nested("[", "1", "]", 200, err, sizeof(err)), -MDT_EPARSE);
	ck_assert_int_eq(nested("!(", "true", ")", 200, err, sizeof(err)),
	    -MDT_EPARSE);
	ck_assert_int_eq(nested("if true then ", "true", " else false", 200, err,
	    sizeof(err)), -MDT_EPARSE);
}
END_TEST

Suite *policy_cedar_text_suite(void);

Suite *
policy_cedar_text_suite(void)
{
	Suite *s = suite_create("policy_cedar_text");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, loads_exactly_when_cedar_does);
	tcase_add_test(tc, flat_chains_load_and_evaluate);
	tcase_add_test(tc, chains_keep_cedar_semantics);
	tcase_add_test(tc, real_nesting_stays_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(policy_cedar_text_suite());
}

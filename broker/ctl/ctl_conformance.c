/*
 * `mandatectl policy conformance FILE.jsonl`: runs every request of every
 * case of Cedar's conformance corpus and compares the decision, and the
 * reasons and errors as sets of policy ids, with Cedar's expected answer.
 */
#include <stdlib.h>
#include <string.h>

#include <mandate/mandate.h>

#include "ctl.h"

#define CORPUS_MAX ((size_t)512 << 20)

typedef struct tally {
	size_t passed, failed, skipped, cases;
} tally;

static int
in_list(const char *id, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], id) == 0)
			return 1;
	return 0;
}

/* The answer's ids (through count/get) equal the expected ones as sets. */
static int
same_ids(const mdt_policy_answer *a,
    size_t (*count)(const mdt_policy_answer *),
    const char *(*get)(const mdt_policy_answer *, size_t),
    const char *const *want, size_t nwant)
{
	size_t n = count(a);

	if (n != nwant)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!in_list(get(a, i), want, nwant))
			return 0;
	return 1;
}

static void
print_ids(const char *const *v, size_t n)
{
	putchar('[');
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i > 0 ? ", " : "", v[i]);
	putchar(']');
}

static void
print_failure(const char *name, size_t i, const mdt_policy_expect *e,
    const mdt_policy_answer *a)
{
	printf("FAIL %s request %zu (%s)\n  expected: %s reasons ", name, i,
	    e->description != NULL ? e->description : "", mdt_decision_name(e->decision));
	print_ids(e->reasons, e->nreasons);
	printf(" errors ");
	print_ids(e->errors, e->nerrors);
	printf("\n  got:      %s reasons [", mdt_decision_name(
	    mdt_policy_answer_decision(a)));
	for (size_t k = 0; k < mdt_policy_answer_reason_count(a); k++)
		printf("%s%s", k > 0 ? ", " : "", mdt_policy_answer_reason(a, k));
	printf("] errors [");
	for (size_t k = 0; k < mdt_policy_answer_error_count(a); k++)
		printf("%s%s", k > 0 ? "; " : "", mdt_policy_answer_error_message(a, k));
	printf("]\n");
}

static void
run_case(const mdt_policy_case *c, mdt_policy_answer *ans, tally *t)
{
	for (size_t i = 0; i < mdt_policy_case_request_count(c); i++) {
		mdt_policy_request req;
		mdt_policy_expect exp;
		int ok = mdt_policy_case_request(c, i, &req, &exp) == 0 &&
		    mdt_policy_evaluate(mdt_policy_case_policies(c),
		    mdt_policy_case_entities(c), &req, ans) == 0 &&
		    mdt_policy_answer_decision(ans) == exp.decision &&
		    same_ids(ans, mdt_policy_answer_reason_count,
		    mdt_policy_answer_reason, exp.reasons, exp.nreasons) &&
		    same_ids(ans, mdt_policy_answer_error_count,
		    mdt_policy_answer_error_policy, exp.errors, exp.nerrors);
		if (ok) {
			t->passed++;
		} else {
			t->failed++;
			print_failure(mdt_policy_case_name(c), i, &exp, ans);
		}
	}
}

static void
run_line(const char *line, size_t len, size_t lineno, mdt_policy_answer *ans,
    tally *t)
{
	char err[MDT_ERRMSG_MAX] = "";
	mdt_policy_case *c;

	t->cases++;
	if (mdt_policy_case_parse(&c, line, len, err, sizeof(err)) != 0) {
		/* The case's requests cannot be counted without it: one failure. */
		printf("FAIL line %zu: %s\n", lineno, err);
		t->failed++;
		return;
	}
	if (mdt_policy_case_skip_reason(c) != NULL) {
		printf("SKIP %s (%zu requests): %s\n", mdt_policy_case_name(c),
		    mdt_policy_case_request_count(c), mdt_policy_case_skip_reason(c));
		t->skipped += mdt_policy_case_request_count(c);
	} else {
		run_case(c, ans, t);
	}
	mdt_policy_case_free(c);
}

int ctl_policy_conformance(int argc, char **argv);

int
ctl_policy_conformance(int argc, char **argv)
{
	mdt_policy_answer *ans;
	tally t = {0, 0, 0, 0};
	char *text;
	size_t len, lineno = 0;

	if (argc != 2) {
		ctl_error("conformance takes one FILE.jsonl (see --help)");
		return CTL_EXIT_USAGE;
	}
	if (ctl_read_file(argv[1], CORPUS_MAX, &text, &len) != 0)
		return CTL_EXIT_INVALID;
	if (mdt_policy_answer_new(&ans) != 0) {
		free(text);
		ctl_error("out of memory");
		return CTL_EXIT_INVALID;
	}
	for (char *p = text, *end = text + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		if (n > 0)
			run_line(p, n, lineno, ans, &t);
		p += n + 1;
	}
	mdt_policy_answer_free(ans);
	free(text);
	if (t.cases == 0) {
		ctl_error("%s: no cases", argv[1]);
		return CTL_EXIT_INVALID;
	}
	printf("%zu cases\n%zu passed, %zu failed, %zu skipped\n", t.cases,
	    t.passed, t.failed, t.skipped);
	return t.failed == 0 ? CTL_EXIT_OK : CTL_EXIT_DENY;
}

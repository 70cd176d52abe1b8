/*
 * Helpers for the policy-engine suites: evaluate a policy set (text) with
 * entities (JSON) and a context (JSON) for one request, or a single
 * condition expression, and summarise the answer as strings.
 */
#ifndef MDT_POLICY_TESTUTIL_H
#define MDT_POLICY_TESTUTIL_H

#include <mandate/policy.h>

typedef struct pt_result {
	int rc;                 /* status of parse, load or evaluation */
	mdt_decision decision;
	char reasons[256];      /* ids in policy order, comma-separated */
	char errors[256];       /* errored policy ids, comma-separated */
	char message[512];      /* first error message, or load error */
	char approver[64];
} pt_result;

/* Uids are Cedar text (`User::"alice"`); entities and context may be
 * NULL (none, empty). */
void pt_eval(const char *policies, const char *entities,
    const char *principal, const char *action, const char *resource,
    const char *context, pt_result *out);

/* Result of `permit(principal, action, resource) when { expr };` with the
 * default entities (pt_entities) for User::"alice" / Action::"view" /
 * Doc::"d1" and context: 'T' satisfied, 'F' not, 'E' evaluation error,
 * 'P' parse error. */
char pt_expr(const char *expr, const char *context);

/* Default entities: alice in staff in all; c1 in c2;
 * Doc::"d1" with attributes and tags. */
extern const char pt_entities[];

#endif

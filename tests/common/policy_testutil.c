/* Evaluation helpers shared by the policy-engine suites. */
#include <stdio.h>
#include <string.h>

#include <mandate/mandate.h>

#include "policy_testutil.h"

const char pt_entities[] =
    "[{\"uid\":{\"type\":\"User\",\"id\":\"alice\"},"
    "  \"attrs\":{\"age\":30,\"name\":\"Alice\",\"tags\":[\"a\",\"b\"],"
    "   \"addr\":{\"city\":\"Oslo\",\"zip\":{\"code\":\"0150\"}},"
    "   \"manager\":{\"__entity\":{\"type\":\"User\",\"id\":\"bob\"}},"
    "   \"ip\":{\"__extn\":{\"fn\":\"ip\",\"arg\":\"10.0.0.7\"}}},"
    "  \"parents\":[{\"type\":\"Group\",\"id\":\"staff\"}]},"
    " {\"uid\":{\"type\":\"Group\",\"id\":\"staff\"},\"attrs\":{},"
    "  \"parents\":[{\"type\":\"Group\",\"id\":\"all\"}]},"
    " {\"uid\":{\"type\":\"Group\",\"id\":\"all\"},\"attrs\":{},\"parents\":[]},"
    " {\"uid\":{\"type\":\"Group\",\"id\":\"c1\"},\"attrs\":{},"
    "  \"parents\":[{\"type\":\"Group\",\"id\":\"c2\"}]},"
    " {\"uid\":{\"type\":\"Group\",\"id\":\"c2\"},\"attrs\":{},"
    "  \"parents\":[]},"
    " {\"uid\":{\"type\":\"Action\",\"id\":\"view\"},\"attrs\":{},"
    "  \"parents\":[{\"type\":\"Action\",\"id\":\"read\"}]},"
    " {\"uid\":{\"type\":\"Doc\",\"id\":\"d1\"},"
    "  \"attrs\":{\"owner\":{\"__entity\":{\"type\":\"User\",\"id\":\"alice\"}},"
    "   \"size\":9223372036854775807},"
    "  \"parents\":[],\"tags\":{\"level\":\"secret\",\"n\":3}}]";

static void
join(char *buf, size_t len, const char *id)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s%s", used > 0 ? "," : "", id);
}

static void
summarise(const mdt_policy_answer *ans, pt_result *out)
{
	out->decision = mdt_policy_answer_decision(ans);
	for (size_t i = 0; i < mdt_policy_answer_reason_count(ans); i++)
		join(out->reasons, sizeof(out->reasons), mdt_policy_answer_reason(ans, i));
	for (size_t i = 0; i < mdt_policy_answer_error_count(ans); i++)
		join(out->errors, sizeof(out->errors),
		    mdt_policy_answer_error_policy(ans, i));
	if (mdt_policy_answer_error_count(ans) > 0)
		snprintf(out->message, sizeof(out->message), "%s",
		    mdt_policy_answer_error_message(ans, 0));
	if (mdt_policy_answer_approver(ans) != NULL)
		snprintf(out->approver, sizeof(out->approver), "%s",
		    mdt_policy_answer_approver(ans));
}

typedef struct pt_state {
	mdt_policy_set *set;
	mdt_entity_store *store;
	mdt_policy_record *ctx;
	mdt_policy_answer *ans;
	char *st[3];
} pt_state;

static int
prepare(pt_state *s, const char *policies, const char *entities,
    const char *context, pt_result *out)
{
	char *m = out->message;
	size_t ml = sizeof(out->message);
	int rc;

	if ((rc = mdt_policy_set_parse(&s->set, policies, strlen(policies),
	    "test.cedar", m, ml)) != 0 ||
	    (rc = mdt_entity_store_new(&s->store)) != 0 ||
	    (entities != NULL && (rc = mdt_entity_store_load_json(s->store,
	    entities, strlen(entities), "entities.json", m, ml)) != 0) ||
	    (rc = mdt_policy_record_new(&s->ctx)) != 0 ||
	    (context != NULL && (rc = mdt_policy_record_load_json(s->ctx,
	    context, strlen(context), "context.json", m, ml)) != 0))
		return rc;
	return mdt_policy_answer_new(&s->ans);
}

void
pt_eval(const char *policies, const char *entities, const char *principal,
    const char *action, const char *resource, const char *context,
    pt_result *out)
{
	pt_state s;
	mdt_policy_request req;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	memset(&req, 0, sizeof(req));
	out->decision = MDT_DECISION_DENY;
	if ((out->rc = prepare(&s, policies, entities, context, out)) == 0 &&
	    (out->rc = mdt_entity_uid_parse(principal, strlen(principal),
	    &req.principal, &s.st[0])) == 0 &&
	    (out->rc = mdt_entity_uid_parse(action, strlen(action), &req.action,
	    &s.st[1])) == 0 &&
	    (out->rc = mdt_entity_uid_parse(resource, strlen(resource),
	    &req.resource, &s.st[2])) == 0) {
		req.context = s.ctx;
		out->rc = mdt_policy_evaluate(s.set, s.store, &req, s.ans);
		summarise(s.ans, out);
	}
	mdt_policy_answer_free(s.ans);
	mdt_policy_record_free(s.ctx);
	mdt_entity_store_free(s.store);
	mdt_policy_set_free(s.set);
	for (int i = 0; i < 3; i++)
		mdt_free(s.st[i]);
}

char
pt_expr(const char *expr, const char *context)
{
	char text[4096];
	pt_result r;

	snprintf(text, sizeof(text),
	    "permit(principal, action, resource) when { %s };", expr);
	pt_eval(text, pt_entities, "User::\"alice\"", "Action::\"view\"",
	    "Doc::\"d1\"", context, &r);
	if (r.rc == -MDT_EPARSE)
		return 'P';
	if (r.rc != 0)
		return '?';
	if (r.errors[0] != '\0')
		return 'E';
	return r.decision == MDT_DECISION_ALLOW ? 'T' : 'F';
}

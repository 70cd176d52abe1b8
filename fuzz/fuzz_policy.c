/*
 * Fuzz harness for the Cedar policy parser (and, for what parses, the
 * evaluator): any input is either refused with a "name:line:col: ..."
 * message or yields a set whose every policy evaluates without crashing
 * against a small fixed entity store, with a consistent answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/policy.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ents[] =
    "[{\"uid\":{\"type\":\"User\",\"id\":\"alice\"},\"attrs\":{\"age\":30,"
    "\"tags\":[\"a\"],\"r\":{\"x\":1}},\"parents\":[{\"type\":\"Group\",\"id\":\"g\"}]},"
    "{\"uid\":{\"type\":\"Group\",\"id\":\"g\"},\"attrs\":{},\"parents\":"
    "[{\"type\":\"Group\",\"id\":\"top\"}],\"tags\":{\"t\":1}},"
    "{\"uid\":{\"type\":\"Action\",\"id\":\"view\"},\"attrs\":{},\"parents\":[]}]";

static void
check_answer(const mdt_policy_set *set, const mdt_policy_answer *ans)
{
	mdt_decision d = mdt_policy_answer_decision(ans);
	size_t nr = mdt_policy_answer_reason_count(ans);

	if ((d == MDT_DECISION_ALLOW && nr == 0) || nr > mdt_policy_set_count(set) ||
	    mdt_policy_answer_error_count(ans) > mdt_policy_set_count(set))
		abort();
	for (size_t i = 0; i < mdt_policy_answer_error_count(ans); i++)
		if (mdt_policy_answer_error_message(ans, i) == NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[MDT_ERRMSG_MAX] = "";
	mdt_policy_set *set = NULL;
	mdt_entity_store *store = NULL;
	mdt_policy_answer *ans = NULL;
	mdt_policy_request req;
	int rc = mdt_policy_set_parse(&set, (const char *)data, size, "f.cedar",
	    err, sizeof(err));

	if (rc != 0) {
		if (set != NULL || strncmp(err, "f.cedar:", 8) != 0)
			abort();
		return 0;
	}
	memset(&req, 0, sizeof(req));
	req.principal = (mdt_entity_uid){"User", "alice", 5};
	req.action = (mdt_entity_uid){"Action", "view", 4};
	req.resource = (mdt_entity_uid){"Group", "g", 1};
	if (mdt_entity_store_new(&store) != 0 ||
	    mdt_entity_store_load_json(store, ents, strlen(ents), "e", err,
	    sizeof(err)) != 0 || mdt_policy_answer_new(&ans) != 0)
		abort();
	if (mdt_policy_evaluate(set, store, &req, ans) == 0)
		check_answer(set, ans);
	for (size_t i = 0; i < mdt_policy_set_count(set); i++)
		if (mdt_policy_set_id(set, i) == NULL)
			abort();
	mdt_policy_answer_free(ans);
	mdt_entity_store_free(store);
	mdt_policy_set_free(set);
	return 0;
}

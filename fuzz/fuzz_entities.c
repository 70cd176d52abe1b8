/*
 * Fuzz harness for the Cedar entities JSON loader (and the context
 * loader): any input either loads, after which policies reading
 * attributes, tags and the hierarchy evaluate without crashing, or is
 * refused with a "name:line:col: ..." message and nothing loaded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/policy.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char pol[] =
    "permit(principal in U::\"b\", action, resource) when {"
    " principal has a && principal.a == resource.a };"
    "forbid(principal, action, resource) when { principal.getTag(\"t\") == 1 "
    "|| context.x.contains(principal) };"
    "permit(principal, action, resource) when { principal.b.c like \"*x\" };";

static void
evaluate(const mdt_policy_set *set, const mdt_entity_store *store,
    const mdt_policy_record *ctx)
{
	static const char *const ids[] = {"a", "b", "", "\0"};
	mdt_policy_answer *ans;
	mdt_policy_request req;

	if (mdt_policy_answer_new(&ans) != 0)
		abort();
	for (size_t i = 0; i < 4; i++) {
		memset(&req, 0, sizeof(req));
		req.principal = (mdt_entity_uid){"U", ids[i], i == 3 ? 1 : strlen(ids[i])};
		req.action = (mdt_entity_uid){"A", "a", 1};
		req.resource = req.principal;
		req.context = ctx;
		if (mdt_policy_evaluate(set, store, &req, ans) == 0 &&
		    mdt_policy_answer_decision(ans) == MDT_DECISION_ALLOW &&
		    mdt_policy_answer_reason_count(ans) == 0)
			abort();
	}
	mdt_policy_answer_free(ans);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[MDT_ERRMSG_MAX] = "";
	mdt_policy_set *set;
	mdt_entity_store *store;
	mdt_policy_record *ctx;
	int rc;

	if (mdt_policy_set_parse(&set, pol, strlen(pol), "p", err, sizeof(err)) != 0 ||
	    mdt_entity_store_new(&store) != 0 || mdt_policy_record_new(&ctx) != 0)
		abort();
	rc = mdt_entity_store_load_json(store, (const char *)data, size, "e.json",
	    err, sizeof(err));
	if (rc != 0 && (mdt_entity_store_count(store) != 0 ||
	    strncmp(err, "e.json:", 7) != 0))
		abort();
	if (mdt_policy_record_load_json(ctx, (const char *)data, size, "c.json",
	    err, sizeof(err)) != 0 && strncmp(err, "c.json:", 7) != 0)
		abort();
	evaluate(set, store, ctx);
	mdt_policy_record_free(ctx);
	mdt_entity_store_free(store);
	mdt_policy_set_free(set);
	return 0;
}

/*
 * Fuzz harness for what explain and access read back from an audit
 * store: a source (policy set or entity data files as JSON) and a
 * recorded Cedar request.  The input is split at its first NUL: before
 * it a source, after it a request.  The source is hashed and rebuilt as
 * a policy set and as entity data; whichever loads is used to replay
 * the request, which either evaluates or is refused with a message.
 * A set rebuilt from a source has the hash mdt_policy_source_hash gives.
 * A context that loads writes out (mdt_policy_record_to_json) to JSON
 * that loads again to the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/mandate.h>
#include <mandate/policy.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char pol[] =
    "permit(principal, action, resource) when { context.a == 1 };";

static void
round_trip(const char *json, size_t len)
{
	mdt_policy_record *r = NULL, *r2 = NULL;
	char err[256], *out = NULL, *out2 = NULL;

	if (mdt_policy_record_new(&r) != 0 || mdt_policy_record_new(&r2) != 0)
		abort();
	if (mdt_policy_record_load_json(r, json, len, "ctx", err,
	    sizeof(err)) == 0 && mdt_policy_record_to_json(r, &out) == 0) {
		if (mdt_policy_record_load_json(r2, out, strlen(out), "again",
		    err, sizeof(err)) != 0 ||
		    mdt_policy_record_to_json(r2, &out2) != 0 ||
		    strcmp(out, out2) != 0)
			abort();
	}
	mdt_free(out);
	mdt_free(out2);
	mdt_policy_record_free(r);
	mdt_policy_record_free(r2);
}

static void
replay(const mdt_policy_set *set, const mdt_entity_store *es,
    const char *req, size_t len)
{
	mdt_policy_answer *ans = NULL;
	char err[256];

	if (mdt_policy_answer_new(&ans) != 0)
		abort();
	/* no decision reads as a deny: callers fail closed */
	if (mdt_policy_replay(set, es, req, len, ans, err, sizeof(err)) != 0 &&
	    mdt_policy_answer_decision(ans) != MDT_DECISION_DENY)
		abort();
	mdt_policy_answer_free(ans);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *src = (const char *)data;
	const uint8_t *nul = memchr(data, 0, size);
	size_t slen = nul ? (size_t)(nul - data) : size;
	const char *req = nul ? (const char *)nul + 1 : "";
	size_t rlen = nul ? size - slen - 1 : 0;
	char hex[MDT_POLICY_HASH_HEX], err[256];
	mdt_policy_set *set = NULL, *fixed = NULL;
	mdt_entity_store *es = NULL;
	int hashed = mdt_policy_source_hash(src, slen, hex, err, sizeof(err));

	if (mdt_policy_set_from_source(&set, src, slen, err, sizeof(err)) == 0 &&
	    (hashed != 0 || strcmp(hex, mdt_policy_set_hash(set)) != 0))
		abort();
	if (mdt_entity_store_from_source(&es, src, slen, err, sizeof(err)) != 0 &&
	    es != NULL)
		abort();
	if (mdt_policy_set_parse(&fixed, pol, sizeof(pol) - 1, "p", err,
	    sizeof(err)) != 0)
		abort();
	replay(set != NULL ? set : fixed, es, req, rlen);
	round_trip(req, rlen);
	mdt_policy_set_free(set);
	mdt_policy_set_free(fixed);
	mdt_entity_store_free(es);
	return 0;
}

/*
 * A Mandate presentation as the subject's credential in an AuthZEN
 * evaluation (docs/authzen.md, "Mandate tokens"): the front checks it
 * offline, as a resource server does, before Cedar is asked, so a
 * policy enforcement point that holds an agent's single-action token and
 * proof learns whether this action on this resource is within the
 * clinician's delegation, and Cedar's answer too.  Fails closed: a
 * missing proof, a token for another call, a revoked task or a front
 * without a verifier is a deny.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authzen_int.h"

static int
deny(struct az_eval *e, mdt_eval_result *res, const char *reason,
    const char *detail)
{
	memset(res, 0, sizeof(*res));
	snprintf(res->reason, sizeof(res->reason), "%s", reason);
	snprintf(res->detail, sizeof(res->detail), "%s", detail);
	snprintf(e->refused, sizeof(e->refused), "%s", reason);
	snprintf(e->rdetail, sizeof(e->rdetail), "%s", detail);
	return 1;
}

/* The reason a verifier's code names. */
static const char *
reason_of(int rc)
{
	switch (-rc) {
	case MDT_EDECODE: return "token.malformed";
	case MDT_ESIG: return "token.signature";
	case MDT_EKEY: return "token.key";
	case MDT_EEXPIRED: return "token.expired";
	case MDT_EAUDIENCE: return "token.audience";
	case MDT_ESCOPE: return "token.scope";
	case MDT_EPATIENT: return "token.patient";
	case MDT_EREVOKED: return "token.revoked";
	case MDT_EHOLDER: return "token.proof";
	case MDT_EEXIST: return "token.replay";
	default: return "token.invalid";
	}
}

static const char *
member(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && s[0] != 0 ? s : NULL;
}

/* The token's facts over the context Cedar sees, in the shape of the
 * broker's own authorize context: what the PEP said of them is replaced. */
static int
proven_context(struct az_eval *e, const mdt_rs_grant *g)
{
	json_t *ctx = e->context != NULL ? json_loads(e->context, 0, NULL) :
	    json_object();
	char *text;

	if (ctx == NULL || json_object_set_new(ctx, "clinician", json_pack(
	    "{s:{s:s,s:s}}", "__entity", "type", "Mandate::Clinician", "id",
	    g->clinician)) || json_object_set_new(ctx, "patient", json_pack(
	    "{s:{s:s,s:s}}", "__entity", "type", "Mandate::Patient", "id",
	    g->patient)) || json_object_set_new(ctx, "purpose",
	    json_string(g->purpose)) || json_object_set_new(ctx, "taskId",
	    json_string(g->task_id))) {
		json_decref(ctx);
		return -1;
	}
	text = json_dumps(ctx, JSON_COMPACT);
	json_decref(ctx);
	if (text == NULL)
		return -1;
	free(e->context);
	e->context = text;
	e->q.context = text;
	return 0;
}

int
az_token_check(const struct az_api *api, struct az_eval *e,
    mdt_eval_result *res)
{
	const char *tok = member(e->mandate, "token");
	const char *proof = member(e->mandate, "proof");
	const char *ref = member(e->mandate, "resource");
	char refbuf[1040], err[MDT_ERRMSG_MAX] = "";
	const char *letter = member(e->mandate, "action");
	mdt_rs_request rq = { .size = sizeof(rq), .action = letter != NULL ?
	    letter : e->q.action, .patient = member(e->mandate, "patient") };
	mdt_rs_grant grant;
	int rc;

	if (tok == NULL)
		return deny(e, res, "token.missing", "context.mandate has no "
		    "token");
	if (proof == NULL)
		return deny(e, res, "token.proof", "no proof of possession came "
		    "with the token");
	if (api->verify == NULL)
		return deny(e, res, "token.unsupported", "this front verifies no "
		    "Mandate tokens (no --root-pub)");
	if (ref == NULL) {
		snprintf(refbuf, sizeof(refbuf), "%s/%s", e->q.resource_type,
		    e->q.resource_id);
		ref = refbuf;
	}
	rq.resource = ref;
	rc = api->verify(api->verify_arg, tok, proof, &rq, &grant, err,
	    sizeof(err));
	if (rc != 0)
		return deny(e, res, reason_of(rc), err[0] ? err :
		    mdt_strerror(rc));
	if (strcmp(grant.holder, e->q.subject_id) != 0) {
		char why[2 * MDT_AGENT_ID_MAX + 64];
		snprintf(why, sizeof(why), "the token is held by %s, not by the "
		    "subject %s", grant.holder, e->q.subject_id);
		snprintf(e->token_id, sizeof(e->token_id), "%s", grant.token_id);
		return deny(e, res, "token.subject", why);
	}
	return proven_context(e, &grant);
}

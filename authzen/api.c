/*
 * The AuthZEN endpoints: bearer authentication, routing, the access
 * evaluation and evaluations calls (with their evaluation semantics) and
 * the PDP metadata.  Every decision is the broker's (az_eval_fn); an
 * error is never an allow.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <sodium.h>

#include "authzen_int.h"

#define EVALUATION_PATH "/access/v1/evaluation"
#define EVALUATIONS_PATH "/access/v1/evaluations"
#define METADATA_PATH "/.well-known/authzen-configuration"

enum semantic { EXECUTE_ALL, DENY_ON_FIRST_DENY, PERMIT_ON_FIRST_PERMIT };

static const char *const semantic_names[] = {
	[EXECUTE_ALL] = "execute_all",
	[DENY_ON_FIRST_DENY] = "deny_on_first_deny",
	[PERMIT_ON_FIRST_PERMIT] = "permit_on_first_permit",
};

/* ------------------------------------------------------ credentials */

static int
add_token(struct az_api *api, const char *tok, size_t n, char *err,
    size_t errlen)
{
	if (api->ntokens == AZ_TOKENS_MAX) {
		snprintf(err, errlen, "more than %d credentials",
		    AZ_TOKENS_MAX);
		return -MDT_ETOOBIG;
	}
	crypto_generichash(api->tokens[api->ntokens++], 32,
	    (const unsigned char *)tok, n, NULL, 0);
	return 0;
}

int
az_api_load_tokens(struct az_api *api, const char *path, char *err,
    size_t errlen)
{
	char line[AZ_HTTP_AUTH_MAX];
	struct stat st;
	FILE *f = fopen(path, "r");
	int rc = 0;

	if (f == NULL || fstat(fileno(f), &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -MDT_EIO;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: readable by group or others (mode "
		    "%o): chmod 600 it", path, (unsigned)(st.st_mode & 0777));
		fclose(f);
		return -MDT_EIO;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		size_t n = strcspn(line, "\r\n");
		if (n > 0 && line[0] != '#')
			rc = add_token(api, line, n, err, errlen);
	}
	sodium_memzero(line, sizeof(line));
	fclose(f);
	if (rc == 0 && api->ntokens == 0) {
		snprintf(err, errlen, "%s: no credential", path);
		rc = -MDT_EINVAL;
	}
	return rc;
}

/* "Bearer TOKEN" with a configured TOKEN; every one is compared. */
static int
authenticated(const struct az_api *api, const char *auth)
{
	uint8_t h[32];
	int ok = 0;

	if (strncasecmp(auth, "Bearer ", 7) != 0 || auth[7] == 0)
		return 0;
	crypto_generichash(h, sizeof(h), (const unsigned char *)auth + 7,
	    strlen(auth + 7), NULL, 0);
	for (size_t i = 0; i < api->ntokens; i++)
		ok |= sodium_memcmp(h, api->tokens[i], sizeof(h)) == 0;
	return ok;
}

/* -------------------------------------------------------- responses */

static void
respond(struct az_resp *out, int status, json_t *body)
{
	out->status = status;
	out->body = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	if (body != NULL && out->body == NULL)
		out->status = 500;
	json_decref(body);
}

static void
respond_error(struct az_resp *out, int status, const char *msg)
{
	respond(out, status, json_pack("{s:s}", "error", msg));
}

/* {"decision": b, ["context": {...}]} of one answer. */
static json_t *
decision_json(const mdt_eval_result *res)
{
	if (res->allow)
		return json_pack("{s:b}", "decision", 1);
	return json_pack("{s:b,s:{s:s,s:s,s:s}}", "decision", 0, "context",
	    "reason", res->reason, "detail", res->detail, "policies",
	    res->policies);
}

/* A per-evaluation error: a deny naming it (the spec's "decision
 * defaults to closed"). */
static json_t *
error_json(int status, const char *msg)
{
	return json_pack("{s:b,s:{s:{s:i,s:s}}}", "decision", 0, "context",
	    "error", "status", status, "message", msg);
}

/* The status a broker failure maps to: the request's fault or ours. */
static int
eval_status(int rc)
{
	return rc == -MDT_EPROTO || rc == -MDT_EINVAL || rc == -MDT_ETOOBIG ?
	    400 : 500;
}

/* One evaluation: *res and 0, or an HTTP status with msg. */
static int
evaluate(const struct az_api *api, json_t *item, json_t *defaults,
    mdt_eval_result *res, char *msg, size_t mlen)
{
	struct az_eval e;
	int rc;

	if (az_eval_map(item, defaults, &e, msg, mlen) != 0)
		return 400;
	/* a presentation that fails is a deny before any policy is asked;
	 * the broker records it (refused_*) before it is answered */
	if (e.mandate != NULL && (rc = az_token_check(api, &e, res)) != 0) {
		if (rc < 0) {
			az_eval_clear(&e);
			snprintf(msg, mlen, "out of memory");
			return 500;
		}
		e.q.refused_reason = e.refused;
		e.q.refused_detail = e.rdetail;
		e.q.token_id = e.token_id[0] ? e.token_id : NULL;
	}
	rc = api->eval(api->eval_arg, &e.q, res, msg, mlen);
	/* no allow for a refused token, whatever answered */
	if (rc == 0 && e.q.refused_reason != NULL && res->allow) {
		snprintf(msg, mlen, "the broker allowed a refused token");
		rc = -MDT_EPROTO;
		az_eval_clear(&e);
		return 500;
	}
	az_eval_clear(&e);
	return rc == 0 ? 0 : eval_status(rc);
}

/* ------------------------------------------------------- endpoints */

static void
single(const struct az_api *api, json_t *root, struct az_resp *out)
{
	mdt_eval_result res;
	char msg[MDT_ERRMSG_MAX] = "";
	int st = evaluate(api, root, NULL, &res, msg, sizeof(msg));

	if (st != 0)
		respond_error(out, st, msg);
	else
		respond(out, 200, decision_json(&res));
}

static int
semantic_of(json_t *root, enum semantic *sem)
{
	json_t *opt = json_object_get(root, "options");
	const char *s;

	*sem = EXECUTE_ALL;
	if (opt == NULL)
		return 0;
	if (!json_is_object(opt))
		return -1;
	if (json_object_get(opt, "evaluations_semantic") == NULL)
		return 0;
	s = json_string_value(json_object_get(opt, "evaluations_semantic"));
	for (size_t i = 0; s != NULL && i < 3; i++)
		if (strcmp(s, semantic_names[i]) == 0) {
			*sem = (enum semantic)i;
			return 0;
		}
	return -1;
}

/* The answer of item i; 1 when the semantic stops after it. */
static int
one_of_many(const struct az_api *api, json_t *root, json_t *item,
    enum semantic sem, json_t *list)
{
	mdt_eval_result res;
	char msg[MDT_ERRMSG_MAX] = "";
	int st = evaluate(api, item, root, &res, msg, sizeof(msg));
	int allow = st == 0 && res.allow;
	int stop = (sem == DENY_ON_FIRST_DENY && !allow) ||
	    (sem == PERMIT_ON_FIRST_PERMIT && allow);
	json_t *j = st != 0 ? error_json(st, msg) : stop ?
	    json_pack("{s:b,s:{s:s,s:s}}", "decision", allow, "context",
	    "code", "200", "reason", semantic_names[sem]) :
	    json_pack("{s:b}", "decision", allow);

	if (j == NULL || json_array_append_new(list, j) != 0)
		return -1;
	return stop;
}

static void
many(const struct az_api *api, json_t *root, struct az_resp *out)
{
	json_t *items = json_object_get(root, "evaluations"), *list, *item;
	enum semantic sem;
	size_t i;
	int rc = 0;

	if (items == NULL || (json_is_array(items) &&
	    json_array_size(items) == 0)) {
		single(api, root, out); /* the 1.0 fallback */
		return;
	}
	if (!json_is_array(items) || json_array_size(items) >
	    AZ_EVALUATIONS_MAX) {
		respond_error(out, 400, "evaluations must be an array of at "
		    "most 256 evaluations");
		return;
	}
	if (semantic_of(root, &sem) != 0) {
		respond_error(out, 400, "options.evaluations_semantic must be "
		    "execute_all, deny_on_first_deny or permit_on_first_permit");
		return;
	}
	if ((list = json_array()) == NULL) {
		respond_error(out, 500, "out of memory");
		return;
	}
	json_array_foreach(items, i, item)
		if (rc == 0)
			rc = one_of_many(api, root, item, sem, list);
	if (rc < 0) {
		json_decref(list);
		respond_error(out, 500, "out of memory");
		return;
	}
	respond(out, 200, json_pack("{s:o}", "evaluations", list));
}

static void
metadata(const struct az_api *api, struct az_resp *out)
{
	char a[AZ_HTTP_PATH_MAX + 32], b[AZ_HTTP_PATH_MAX + 32];

	snprintf(a, sizeof(a), "%s%s", api->pdp, EVALUATION_PATH);
	snprintf(b, sizeof(b), "%s%s", api->pdp, EVALUATIONS_PATH);
	respond(out, 200, json_pack("{s:s,s:s,s:s}", "policy_decision_point",
	    api->pdp, "access_evaluation_endpoint", a,
	    "access_evaluations_endpoint", b));
}

/* A decision call: authenticated, JSON object body. */
static void
decision_call(const struct az_api *api, const struct az_http_req *r,
    int batch, struct az_resp *out)
{
	json_error_t je;
	json_t *root;

	if (!authenticated(api, r->auth)) {
		respond_error(out, 401, "a valid bearer credential is required");
		return;
	}
	if (!r->json) {
		respond_error(out, 415, "Content-Type must be application/json");
		return;
	}
	root = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(root)) {
		respond_error(out, 400, root == NULL ? je.text :
		    "the body must be a JSON object");
		json_decref(root);
		return;
	}
	if (batch)
		many(api, root, out);
	else
		single(api, root, out);
	json_decref(root);
}

void
az_api_handle(const struct az_api *api, const struct az_http_req *r,
    struct az_resp *out)
{
	static const struct {
		const char *path, *method;
		int kind;
	} routes[] = {
		{ EVALUATION_PATH, "POST", 0 },
		{ EVALUATIONS_PATH, "POST", 1 },
		{ METADATA_PATH, "GET", 2 },
	};

	out->status = 500;
	out->body = NULL;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(r->path, routes[i].path) != 0)
			continue;
		if (strcmp(r->method, routes[i].method) != 0)
			respond_error(out, 405, "method not allowed");
		else if (routes[i].kind == 2)
			metadata(api, out);
		else
			decision_call(api, r, routes[i].kind, out);
		return;
	}
	respond_error(out, 404, "no such endpoint");
}

/*
 * Internals of mandate-authzen, the OpenID AuthZEN Authorization API 1.0
 * front of the broker (docs/authzen.md): the bounded HTTP/1.1 request
 * parser (http.c), the AuthZEN JSON mapping and endpoints (api.c) and the
 * listener (server.c).  Nothing here is public API.
 */
#ifndef AZ_AUTHZEN_INT_H
#define AZ_AUTHZEN_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <mandate/agent.h>

/* Bounds of one request: exceeding one is an error answer, never a
 * truncation. */
#define AZ_HTTP_HEAD_MAX 8192           /* request line and headers */
#define AZ_HTTP_BODY_MAX (256u << 10)   /* bytes of a body */
#define AZ_HTTP_HEADERS_MAX 64
#define AZ_HTTP_PATH_MAX 256
#define AZ_HTTP_AUTH_MAX 512
#define AZ_HTTP_RID_MAX 128             /* X-Request-ID */
#define AZ_EVALUATIONS_MAX 256          /* items of one evaluations call */
#define AZ_TOKENS_MAX 16                /* bearer credentials */

#define AZ_HTTP_MORE 1                  /* parse: need more bytes */

/* A parsed request.  body points into the parsed buffer. */
struct az_http_req {
	char method[8];
	char path[AZ_HTTP_PATH_MAX];
	char auth[AZ_HTTP_AUTH_MAX];        /* Authorization, "" if absent */
	char request_id[AZ_HTTP_RID_MAX];   /* X-Request-ID, "" if absent */
	int json;                           /* Content-Type application/json */
	int keep_alive;
	const char *body;
	size_t body_len;
	size_t total;                       /* bytes of the whole request */
};

/*
 * Parses one HTTP/1.1 request at the start of buf (len bytes).  Returns 0
 * with *r filled when the request is complete (r->total bytes of buf),
 * AZ_HTTP_MORE when more bytes are needed, or the HTTP status to answer
 * a request that breaks a rule: 400 (malformed), 413 (body over
 * AZ_HTTP_BODY_MAX), 431 (head over AZ_HTTP_HEAD_MAX or too many
 * headers), 411 (a body without Content-Length), 501 (Transfer-Encoding),
 * 505 (not HTTP/1.0 or 1.1).
 */
int az_http_parse(const char *buf, size_t len, struct az_http_req *r);

/* Called for each header az_http_parse_ex does not read itself, with the
 * name (nl bytes) and the value (vl bytes, blanks trimmed, no control
 * characters); 0, or an HTTP status that refuses the request. */
typedef int (*az_http_header_fn)(void *arg, const char *name, size_t nl,
    const char *value, size_t vl);

/* az_http_parse with a body bound of body_max bytes and fn (may be NULL)
 * for the other headers; the parser of mandate-mcp's Streamable HTTP. */
int az_http_parse_ex(const char *buf, size_t len, size_t body_max,
    az_http_header_fn fn, void *arg, struct az_http_req *r);

/* The decision function the endpoints call: mdt_agent_evaluate in the
 * program, a stand-in in tests and the fuzz harness. */
typedef int (*az_eval_fn)(void *arg, const mdt_eval_request *q,
    mdt_eval_result *out, char *err, size_t errlen);

/* The offline check of a Mandate token and its proof presented in an
 * evaluation's context: mdt_rs_verify in the program, a stand-in in the
 * fuzz harness.  Codes and err as mdt_rs_verify. */
typedef int (*az_verify_fn)(void *arg, const char *token, const char *proof,
    const mdt_rs_request *req, mdt_rs_grant *grant, char *err,
    size_t errlen);

struct az_api {
	az_eval_fn eval;
	void *eval_arg;
	az_verify_fn verify;                /* NULL: tokens are refused */
	void *verify_arg;
	/* BLAKE2b-256 of each accepted bearer credential */
	uint8_t tokens[AZ_TOKENS_MAX][32];
	size_t ntokens;
	char pdp[AZ_HTTP_PATH_MAX];         /* policy_decision_point URL */
};

/*
 * Reads the bearer credentials of path: one per line, blank lines and
 * lines starting with '#' ignored; the file must not be readable by
 * group or others.  0, or a negative code with err saying why.
 */
int az_api_load_tokens(struct az_api *api, const char *path, char *err,
    size_t errlen);

/* An answer: status, and a JSON body the caller frees with free(). */
struct az_resp {
	int status;
	char *body;
};

/* Answers request r (authentication, routing, the AuthZEN mapping). */
void az_api_handle(const struct az_api *api, const struct az_http_req *r,
    struct az_resp *out);

/* One AuthZEN evaluation mapped to the broker's request; the JSON texts
 * are owned here. */
struct az_eval {
	mdt_eval_request q;
	char *sprops, *rprops, *context;
	json_t *mandate;      /* context.mandate (borrowed), or NULL */
	/* a refused presentation, for the broker to record */
	char refused[64], rdetail[MDT_EVAL_TEXT_MAX];
	char token_id[MDT_AGENT_ID_MAX]; /* a verified token's id, or "" */
};

/*
 * Maps one evaluation: each of subject, action, resource and context
 * comes from item, else from defaults (either may be NULL).  A Mandate
 * presentation in context.mandate is taken out of the context Cedar
 * sees and left in e->mandate.  0, or -1
 * with err naming what is missing or malformed.  Strings of q borrow
 * from item and defaults; free the rest with az_eval_clear.
 */
int az_eval_map(json_t *item, json_t *defaults, struct az_eval *e,
    char *err, size_t errlen);
void az_eval_clear(struct az_eval *e);

/*
 * Checks the Mandate presentation of e (e->mandate: {token, proof,
 * [action], [resource], [patient]}) as a resource server does: the
 * token's chain from the broker's root, its audience, scope (exactly the
 * permission letter, e's action name unless given, on the resource
 * reference, "TYPE/ID" unless given), patient, expiry and
 * revocation, the proof by its holder, single use; and the subject is
 * the token's holder.  0 when it passes, with the facts the token proves
 * (clinician, patient, purpose, taskId) written over e's context for
 * Cedar; 1 with *res a deny naming the failed check (reason "token.*",
 * detail the verifier's words), copied to e->refused and e->rdetail
 * (and e->token_id when the token verified); -1 when out of memory.
 */
int az_token_check(const struct az_api *api, struct az_eval *e,
    mdt_eval_result *res);

#endif

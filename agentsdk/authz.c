/*
 * Runtime authorization: the `authorize` request, its three answers
 * (allow with a single-action token, deny with a reason, step-up with a
 * request id), waiting for a clinician's step-up decision, and the
 * presentation (token + proof of possession) for a resource server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sdk_int.h"

struct mdt_authz {
	mdt_authz_decision decision;
	uint32_t flags;
	char *reason, *detail, *policies, *request_id;
	int64_t expires;
	uint8_t *token;
	size_t token_len;
	uint8_t *receipt;      /* the decision's receipt, or NULL */
	size_t receipt_len;
	/* the request, to ask again after a step-up */
	char *action, *resource, *patient, *boundary, *audience;
};

void
mdt_authz_free(mdt_authz *az)
{
	if (az == NULL)
		return;
	if (az->token != NULL) {
		sodium_memzero(az->token, az->token_len);
		free(az->token);
	}
	free(az->receipt);
	free(az->reason);
	free(az->detail);
	free(az->policies);
	free(az->request_id);
	free(az->action);
	free(az->resource);
	free(az->patient);
	free(az->boundary);
	free(az->audience);
	free(az);
}

mdt_authz_decision mdt_authz_decision_of(const mdt_authz *az) { return az->decision; }
uint32_t mdt_authz_flags(const mdt_authz *az) { return az->flags; }
const char *mdt_authz_reason(const mdt_authz *az) { return az->reason; }
const char *mdt_authz_detail(const mdt_authz *az) { return az->detail; }
const char *mdt_authz_policies(const mdt_authz *az) { return az->policies; }
const char *mdt_authz_request_id(const mdt_authz *az) { return az->request_id; }
int64_t mdt_authz_expires(const mdt_authz *az) { return az->expires; }

const uint8_t *
mdt_authz_token(const mdt_authz *az, size_t *len)
{
	*len = az->token_len;
	return az->token;
}

const uint8_t *
mdt_authz_receipt(const mdt_authz *az, size_t *len)
{
	*len = az->receipt_len;
	return az->receipt;
}

/* ---- reading the reply ---- */

/* Joins an array of strings with commas into a malloc'd string. */
static int
join_strs(const mdt_wire_val *arr, char **out)
{
	size_t n = mdt_wire_val_count(arr), total = 1, len;
	const char *s;
	char *buf;

	if (arr != NULL && mdt_wire_val_type(arr) != MDT_WIRE_ARRAY)
		return -MDT_EPROTO;
	for (size_t i = 0; i < n; i++) {
		if (mdt_wire_val_str(mdt_wire_array_at(arr, i), &s, &len) != 0)
			return -MDT_EPROTO;
		total += len + 1;
	}
	if ((buf = calloc(1, total)) == NULL)
		return -MDT_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (mdt_wire_val_str(mdt_wire_array_at(arr, i), &s, &len) != 0)
			break; /* checked above */
		if (i > 0)
			strcat(buf, ",");
		strncat(buf, s, len);
	}
	*out = buf;
	return 0;
}

static uint32_t
flags_of(const mdt_wire_val *arr)
{
	uint32_t f = 0;
	const char *s;
	size_t len;

	for (size_t i = 0; i < mdt_wire_val_count(arr); i++) {
		if (mdt_wire_val_str(mdt_wire_array_at(arr, i), &s, &len) != 0)
			continue;
		if (strcmp(s, "break_glass") == 0 || strcmp(s, "review") == 0)
			f |= MDT_AUTHZ_FLAG_REVIEW;
		if (strcmp(s, "approved") == 0)
			f |= MDT_AUTHZ_FLAG_APPROVED;
	}
	return f;
}

typedef struct decision_name {
	const char *name;
	mdt_authz_decision d;
} decision_name;

static const decision_name decisions[] = {
	{"allow", MDT_AUTHZ_ALLOW},
	{"deny", MDT_AUTHZ_DENY},
	{"step_up", MDT_AUTHZ_STEP_UP},
};

static int
reply_decision(const mdt_wire_val *root, mdt_authz_decision *d)
{
	const char *s;
	size_t len;

	if (mdt_wire_val_str(mdt_wire_map_get(root, "decision"), &s, &len) != 0)
		return -MDT_ENOTFOUND;
	for (size_t i = 0; i < sizeof(decisions) / sizeof(*decisions); i++)
		if (strcmp(s, decisions[i].name) == 0) {
			*d = decisions[i].d;
			return 0;
		}
	return -MDT_EPROTO;
}

/* reason, detail and policies of an error reply (or of an allow). */
static int
reply_reasons(mdt_authz *az, const mdt_wire_msg *m)
{
	const mdt_wire_val *root = mdt_wire_msg_root(m);
	const mdt_wire_val *e = mdt_wire_map_get(root, "error");
	const mdt_wire_val *pol = mdt_wire_map_get(e ? e : root, "policies");
	const char *reason = NULL, *detail = NULL;
	int rv;

	if (e != NULL)
		(void)mdt_wire_msg_error(m, &reason, &detail);
	if ((az->reason = strdup(reason ? reason : "")) == NULL ||
	    (az->detail = strdup(detail ? detail : "")) == NULL)
		return -MDT_ENOMEM;
	if (pol == NULL)
		pol = mdt_wire_map_get(root, "policies");
	if ((rv = join_strs(pol, &az->policies)) != 0)
		return rv;
	az->flags = flags_of(mdt_wire_map_get(root, "flags"));
	return 0;
}

static int
reply_to_authz(mdt_authz *az, const mdt_wire_msg *m, char *err,
    size_t errlen)
{
	const mdt_wire_val *root = mdt_wire_msg_root(m);
	int present, rv;

	if (reply_decision(root, &az->decision) != 0) {
		rv = sdk_reply_status(m, err, errlen);
		return rv != 0 ? rv : sdk_err(err, errlen, -MDT_EPROTO,
		    "authorize: reply without a decision");
	}
	if ((rv = reply_reasons(az, m)) != 0 ||
	    (rv = sdk_get_dup(root, "stepup", 1, &az->request_id, err,
	    errlen)) != 0 ||
	    (rv = mdt_wire_get_int_opt(root, "expires", 0, INT64_MAX,
	    &az->expires, &present, err, errlen)) != 0)
		return rv;
	if (az->decision != MDT_AUTHZ_ALLOW)
		return 0;
	if ((rv = sdk_get_bin_dup(root, "token", MDT_AGENT_TOKEN_MAX, 0,
	    &az->token, &az->token_len, err, errlen)) != 0)
		return rv;
	return sdk_get_bin_dup(root, "receipt", MDT_RECEIPT_MAX_BYTES, 1,
	    &az->receipt, &az->receipt_len, err, errlen);
}

/* ---- the request ---- */

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static int
authz_keep_request(mdt_authz *az, const mdt_authz_request *q)
{
	if ((az->action = dup_or_empty(q->action)) == NULL ||
	    (az->resource = dup_or_empty(q->resource)) == NULL ||
	    (az->patient = dup_or_empty(q->patient)) == NULL ||
	    (az->boundary = dup_or_empty(q->boundary)) == NULL ||
	    (az->audience = dup_or_empty(q->audience)) == NULL)
		return -MDT_ENOMEM;
	return 0;
}

/* Puts an optional string field when s is neither NULL nor "". */
static int
put_opt(sdk_req *r, const char *key, const char *s)
{
	return s == NULL || s[0] == '\0' ? 0 : mdt_wire_put_cstr(r->w, key, s);
}

static int
authorize_fields(sdk_req *r, const mdt_task *t, const mdt_authz_request *q,
    const char *stepup)
{
	int rv;

	if ((rv = sdk_put_task(r, t)) != 0 ||
	    (rv = mdt_wire_put_cstr(r->w, "action", q->action)) != 0 ||
	    (rv = mdt_wire_put_cstr(r->w, "resource", q->resource)) != 0 ||
	    (rv = put_opt(r, "patient", q->patient != NULL &&
	    q->patient[0] != '\0' ? q->patient : mdt_task_patient(t))) != 0 ||
	    (rv = put_opt(r, "boundary", q->boundary)) != 0 ||
	    (rv = put_opt(r, "audience", q->audience)) != 0 ||
	    (rv = put_opt(r, "stepup", stepup)) != 0)
		return rv;
	return q->wait_ms == 0 ? 0 :
	    mdt_wire_put_int(r->w, "wait_ms", q->wait_ms);
}

static int
authorize_call(mdt_task *t, const mdt_authz_request *q, const char *stepup,
    mdt_authz **out, char *err, size_t errlen)
{
	mdt_authz *az;
	sdk_req r;
	int rv;

	if (t == NULL || q == NULL || out == NULL || q->action == NULL ||
	    q->resource == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "authorize: task, action and resource are required");
	if ((rv = SDK_OPTS_CHECK(q, "authorize request", err, errlen)) != 0)
		return rv;
	if ((az = calloc(1, sizeof(*az))) == NULL)
		return -MDT_ENOMEM;
	if ((rv = authz_keep_request(az, q)) == 0 &&
	    (rv = sdk_req_begin(t->a, MDT_OP_AUTHORIZE, &r)) == 0) {
		if ((rv = authorize_fields(&r, t, q, stepup)) == 0 &&
		    (rv = sdk_call(t->a, &r, q->wait_ms, err, errlen)) == 0)
			rv = reply_to_authz(az, r.reply, err, errlen);
		sdk_req_end(&r);
	}
	if (rv != 0) {
		mdt_authz_free(az);
		return rv;
	}
	*out = az;
	return 0;
}

int
mdt_task_authorize_req(mdt_task *t, const mdt_authz_request *req,
    mdt_authz **out, char *err, size_t errlen)
{
	return authorize_call(t, req, NULL, out, err, errlen);
}

int
mdt_task_authorize(mdt_task *t, const char *action, const char *resource,
    mdt_authz **out, char *err, size_t errlen)
{
	mdt_authz_request q;

	memset(&q, 0, sizeof(q));
	q.action = action;
	q.resource = resource;
	return authorize_call(t, &q, NULL, out, err, errlen);
}

/* Poll interval bounds while a step-up is undecided, milliseconds. */
#define STEP_UP_POLL_MIN 100
#define STEP_UP_POLL_MAX 1000

static int
still_pending(const mdt_authz *az)
{
	return az->decision == MDT_AUTHZ_DENY &&
	    strcmp(az->reason, "step_up.required") == 0;
}

/*
 * Asks again with the step-up id until the clinician has decided: the
 * broker answers "step_up.required" while the request is undecided, an
 * allow once approved (consuming the approval), a deny once rejected or
 * expired.  The interval backs off from 100 ms to 1 s.
 */
int
mdt_task_wait_step_up(mdt_task *t, const mdt_authz *az, uint32_t timeout_ms,
    mdt_authz **out, char *err, size_t errlen)
{
	uint64_t deadline = sdk_clock_ms() + timeout_ms;
	uint32_t pause = STEP_UP_POLL_MIN;
	mdt_authz_request q;
	mdt_authz *ans = NULL;
	int rv;

	if (az == NULL || az->decision != MDT_AUTHZ_STEP_UP || out == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "wait_step_up: not a step-up answer");
	memset(&q, 0, sizeof(q));
	q.action = az->action;
	q.resource = az->resource;
	q.patient = az->patient;
	q.boundary = az->boundary;
	q.audience = az->audience;
	for (;;) {
		rv = authorize_call(t, &q, az->request_id, &ans, err, errlen);
		if (rv != 0 || !still_pending(ans))
			break;
		mdt_authz_free(ans);
		ans = NULL;
		if (sdk_clock_ms() + pause >= deadline)
			return sdk_err(err, errlen, -MDT_ETIMEDOUT,
			    "step-up %s undecided after %u ms", az->request_id,
			    timeout_ms);
		sdk_sleep_ms(pause);
		pause = pause * 2 > STEP_UP_POLL_MAX ? STEP_UP_POLL_MAX :
		    pause * 2;
	}
	if (rv != 0)
		return rv;
	if (ans->decision == MDT_AUTHZ_ALLOW)
		ans->flags |= MDT_AUTHZ_FLAG_APPROVED;
	*out = ans;
	return 0;
}

/* ---- presentation ---- */

static int
present_proof(mdt_task *t, const mdt_authz *az, const mdt_token *tok,
    int64_t now, char *proof_text)
{
	char nonce[SDK_NONCE_MAX];
	mdt_token_pop pop;
	int rv;

	if (t->a->key == NULL) /* connected with an SVID and no holder key */
		return -MDT_EKEY;
	memset(&pop, 0, sizeof(pop));
	sdk_pop_nonce(nonce);
	pop.audience = mdt_token_audience(tok);
	pop.action = az->action;
	pop.resource = az->resource;
	pop.nonce = nonce;
	pop.time = now ? now : sdk_now();
	if ((rv = mdt_token_pop_sign(tok, t->a->key, &pop)) == 0)
		rv = sdk_pop_format(&pop, proof_text, MDT_AGENT_HEADER_MAX);
	sodium_memzero(&pop, sizeof(pop));
	return rv;
}

int
mdt_task_present(mdt_task *t, const mdt_authz *az, int64_t now,
    char token_text[MDT_AGENT_HEADER_MAX], char proof_text[MDT_AGENT_HEADER_MAX])
{
	mdt_token *tok = NULL;
	char *text = NULL;
	int rv;

	if (t == NULL || az == NULL || az->decision != MDT_AUTHZ_ALLOW ||
	    az->token == NULL || token_text == NULL || proof_text == NULL)
		return -MDT_EINVAL;
	if ((rv = mdt_token_decode(az->token, az->token_len, &tok, NULL)) != 0)
		return rv;
	if ((rv = mdt_token_to_text(tok, &text)) == 0 &&
	    (rv = sdk_strcpy(token_text, MDT_AGENT_HEADER_MAX, text)) == 0)
		rv = present_proof(t, az, tok, now, proof_text);
	mdt_token_text_free(text);
	mdt_token_free(tok);
	return rv;
}

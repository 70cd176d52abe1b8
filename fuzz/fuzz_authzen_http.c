/*
 * Fuzz harness for mandate-authzen's untrusted input: the HTTP/1.1
 * request parser, and for every request it accepts, the endpoints (bearer
 * check, JSON body, the AuthZEN mapping, evaluations semantics) with a
 * stand-in for the broker.  Checks: a complete request lies within the
 * input, its strings are terminated, an error is an HTTP error status,
 * and every mapped evaluation the stand-in sees has its required fields.
 * Seeds send "Authorization: Bearer fuzz" so the JSON paths are reached.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "authzen_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
stand_in(void *arg, const mdt_eval_request *q, mdt_eval_result *out,
    char *err, size_t errlen)
{
	(void)arg;
	(void)err;
	(void)errlen;
	if (q->subject_type == NULL || q->subject_id == NULL ||
	    q->action == NULL || q->resource_type == NULL ||
	    q->resource_id == NULL || q->subject_type[0] == 0 ||
	    q->resource_id[0] == 0)
		abort();
	memset(out, 0, sizeof(*out));
	/* the broker records a refused request as the deny it is */
	out->allow = q->refused_reason == NULL &&
	    (strlen(q->resource_id) & 1) != 0;
	if (strcmp(q->action, "error") == 0)
		return -MDT_EPROTO;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct az_api api;
	struct az_http_req r;
	struct az_resp resp;
	int rc;

	if (api.ntokens == 0) {
		if (sodium_init() < 0)
			abort();
		crypto_generichash(api.tokens[0], 32, (const uint8_t *)"fuzz",
		    4, NULL, 0);
		api.ntokens = 1;
		api.eval = stand_in;
		strcpy(api.pdp, "http://127.0.0.1:8400");
	}
	rc = az_http_parse((const char *)data, size, &r);
	if (rc == AZ_HTTP_MORE)
		return 0;
	if (rc != 0) {
		if (rc < 400 || rc > 599)
			abort();
		return 0;
	}
	if (r.total > size || r.body + r.body_len > (const char *)data + size ||
	    memchr(r.path, 0, sizeof(r.path)) == NULL ||
	    memchr(r.auth, 0, sizeof(r.auth)) == NULL ||
	    memchr(r.request_id, 0, sizeof(r.request_id)) == NULL)
		abort();
	az_api_handle(&api, &r, &resp);
	if (resp.status < 200 || resp.status > 599)
		abort();
	free(resp.body);
	return 0;
}

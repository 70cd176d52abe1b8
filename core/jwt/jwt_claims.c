/*
 * Claims of a launch assertion: reading them from the verified payload
 * JSON, checking issuer, audience and times, and the accessors of
 * mdt_idp_claims.  Unknown claims are ignored, as JWT requires; known
 * ones must have exactly the expected type.
 */
#include <string.h>

#include <jansson.h>

#include "alloc_int.h"
#include "jwt_int.h"
#include "parse_err_int.h"
#include "scope_int.h"

/* Times outside [0, year 9999] are malformed (and never overflow). */
#define TIME_MAX 253402300799LL

struct mdt_idp_claims {
	char *iss;
	char *sub;
	char *fhir_user;
	char *patient;
	char *jti;
	char *scope_text;
	char *stepup;          /* mandate_stepup: the step-up this act decides */
	char *purpose_of_use;  /* purpose_of_use: an emergency the clinician declares */
	int64_t iat;
	int64_t exp;
	mdt_scope_set *scopes;
};

/* SMART launch and identity scopes: granted context, not capabilities. */
static const char *const launch_scopes[] = {
	"openid", "fhirUser", "profile", "launch", "launch/patient",
	"launch/encounter", "offline_access", "online_access",
};

static int
is_launch_scope(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(launch_scopes) / sizeof(launch_scopes[0]);
	    i++)
		if (strlen(launch_scopes[i]) == n &&
		    memcmp(launch_scopes[i], s, n) == 0)
			return 1;
	return 0;
}

int
mdt__jwt_launch_scopes(const char *text, size_t len, mdt_scope_set **out,
    char *err, size_t errlen)
{
	return mdt__scope_list_parse(text, len, is_launch_scope, out, err,
	    errlen);
}

/* A string claim of 1..MDT_IDP_CLAIM_MAX bytes; NULL when absent. */
static int
get_str(json_t *obj, const char *name, int required, char **out, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(obj, name);
	size_t n;

	*out = NULL;
	if (v == NULL)
		return required ? mdt__errmsg(-MDT_EPARSE, err, errlen,
		    "claim %s: missing", name) : 0;
	if (!json_is_string(v))
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "claim %s: not a "
		    "string", name);
	n = json_string_length(v);
	if (n == 0 || n > MDT_IDP_CLAIM_MAX)
		return mdt__errmsg(n == 0 ? -MDT_EPARSE : -MDT_ETOOBIG, err,
		    errlen, "claim %s: %s", name, n == 0 ? "empty" :
		    "longer than 512 bytes");
	if ((*out = mdt__strndup(json_string_value(v), n)) == NULL)
		return mdt__errmsg(-MDT_ENOMEM, err, errlen, "out of memory");
	return 0;
}

static int
get_time(json_t *obj, const char *name, int required, int64_t *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, name);
	json_int_t t;

	if (v == NULL)
		return required ? mdt__errmsg(-MDT_EPARSE, err, errlen,
		    "claim %s: missing", name) : 1;
	if (!json_is_integer(v))
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "claim %s: not an "
		    "integer", name);
	t = json_integer_value(v);
	if (t < 0 || t > TIME_MAX)
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "claim %s: %lld "
		    "out of range", name, (long long)t);
	*out = (int64_t)t;
	return 0;
}

static int
check_aud(json_t *obj, const char *audience, char *err, size_t errlen)
{
	json_t *aud = json_object_get(obj, "aud"), *v;
	size_t i;

	if (aud == NULL)
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "claim aud: "
		    "missing");
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), audience) == 0 ? 0 :
		    mdt__errmsg(-MDT_EAUDIENCE, err, errlen, "claim aud: "
		    "not for this broker (%s)", audience);
	if (!json_is_array(aud) || json_array_size(aud) == 0)
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "claim aud: not "
		    "a string or a non-empty array");
	if (json_array_size(aud) > MDT_IDP_AUD_MAX)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "claim aud: more "
		    "than %d entries", MDT_IDP_AUD_MAX);
	json_array_foreach(aud, i, v)
		if (!json_is_string(v))
			return mdt__errmsg(-MDT_EPARSE, err, errlen, "claim "
			    "aud[%zu]: not a string", i);
	json_array_foreach(aud, i, v)
		if (strcmp(json_string_value(v), audience) == 0)
			return 0;
	return mdt__errmsg(-MDT_EAUDIENCE, err, errlen, "claim aud: does not "
	    "contain this broker (%s)", audience);
}

static int
check_times(json_t *obj, mdt_idp_claims *c, const mdt_idp_verify_opts *o,
    char *err, size_t errlen)
{
	int64_t nbf = 0;
	int rc;

	if ((rc = get_time(obj, "exp", 1, &c->exp, err, errlen)) != 0 ||
	    (rc = get_time(obj, "iat", 1, &c->iat, err, errlen)) != 0)
		return rc;
	if ((rc = get_time(obj, "nbf", 0, &nbf, err, errlen)) < 0)
		return rc;
	if (c->exp <= c->iat)
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "claim exp: not "
		    "after iat");
	if (c->exp <= o->now - o->skew)
		return mdt__errmsg(-MDT_EEXPIRED, err, errlen, "expired at %lld "
		    "(now %lld, skew %llds)", (long long)c->exp,
		    (long long)o->now, (long long)o->skew);
	if (c->iat > o->now + o->skew)
		return mdt__errmsg(-MDT_EEXPIRED, err, errlen, "issued in the "
		    "future (iat %lld, now %lld)", (long long)c->iat,
		    (long long)o->now);
	if (rc == 0 && nbf > o->now + o->skew)
		return mdt__errmsg(-MDT_EEXPIRED, err, errlen, "not valid "
		    "before %lld (now %lld)", (long long)nbf,
		    (long long)o->now);
	if (o->max_lifetime > 0 && c->exp - c->iat > o->max_lifetime)
		return mdt__errmsg(-MDT_EEXPIRED, err, errlen, "lifetime %llds "
		    "exceeds %llds", (long long)(c->exp - c->iat),
		    (long long)o->max_lifetime);
	return 0;
}

static int
read_scope(json_t *obj, mdt_idp_claims *c, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, "scope");
	char why[MDT_ERRMSG_MAX] = "";
	size_t n;
	int rc;

	if (v == NULL || !json_is_string(v))
		return mdt__errmsg(-MDT_EPARSE, err, errlen, "claim scope: %s",
		    v == NULL ? "missing" : "not a string");
	n = json_string_length(v);
	if (n > MDT_SCOPE_SET_MAX * (MDT_SCOPE_TEXT_MAX + 1))
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "claim scope: "
		    "too long");
	if ((c->scope_text = mdt__strndup(json_string_value(v), n)) == NULL)
		return mdt__errmsg(-MDT_ENOMEM, err, errlen, "out of memory");
	if ((rc = mdt__jwt_launch_scopes(c->scope_text, n, &c->scopes, why,
	    sizeof(why))) != 0)
		return mdt__errmsg(rc, err, errlen, "claim scope: %s", why);
	return 0;
}

static int
read_claims(json_t *obj, mdt_idp_claims *c, const mdt_idp_verify_opts *o,
    char *err, size_t errlen)
{
	int rc;

	if ((rc = get_str(obj, "iss", 1, &c->iss, err, errlen)) != 0 ||
	    (rc = get_str(obj, "sub", 1, &c->sub, err, errlen)) != 0 ||
	    (rc = get_str(obj, "patient", 1, &c->patient, err, errlen)) != 0 ||
	    (rc = get_str(obj, "fhirUser", 0, &c->fhir_user, err,
	    errlen)) != 0 ||
	    (rc = get_str(obj, "jti", 0, &c->jti, err, errlen)) != 0 ||
	    (rc = get_str(obj, "mandate_stepup", 0, &c->stepup, err,
	    errlen)) != 0 ||
	    (rc = get_str(obj, "purpose_of_use", 0, &c->purpose_of_use, err,
	    errlen)) != 0)
		return rc;
	if (strcmp(c->iss, o->issuer) != 0)
		return mdt__errmsg(-MDT_EAUTH, err, errlen, "claim iss: not the "
		    "configured issuer (%s)", o->issuer);
	if ((rc = check_aud(obj, o->audience, err, errlen)) != 0 ||
	    (rc = check_times(obj, c, o, err, errlen)) != 0)
		return rc;
	return read_scope(obj, c, err, errlen);
}

int
mdt__jwt_claims(const uint8_t *json, size_t n, const mdt_idp_verify_opts *o,
    mdt_idp_claims **out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *obj = json_loadb((const char *)json, n,
	    JSON_REJECT_DUPLICATES, &jerr);
	mdt_idp_claims *c;
	int rc;

	if (obj == NULL || !json_is_object(obj)) {
		rc = obj == NULL ? mdt__errmsg(-MDT_EPARSE, err, errlen,
		    "payload: JSON error at byte %d: %s", jerr.position,
		    jerr.text) : mdt__errmsg(-MDT_EPARSE, err, errlen,
		    "payload: not a JSON object");
		json_decref(obj);
		return rc;
	}
	if ((c = mdt__calloc(1, sizeof(*c))) == NULL) {
		json_decref(obj);
		return mdt__errmsg(-MDT_ENOMEM, err, errlen, "out of memory");
	}
	rc = read_claims(obj, c, o, err, errlen);
	json_decref(obj);
	if (rc != 0) {
		mdt_idp_claims_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void
mdt_idp_claims_free(mdt_idp_claims *c)
{
	if (c == NULL)
		return;
	mdt__free(c->iss);
	mdt__free(c->sub);
	mdt__free(c->fhir_user);
	mdt__free(c->patient);
	mdt__free(c->jti);
	mdt__free(c->scope_text);
	mdt__free(c->stepup);
	mdt__free(c->purpose_of_use);
	mdt_scope_set_free(c->scopes);
	mdt__free(c);
}

const char *
mdt_idp_claims_iss(const mdt_idp_claims *c)
{
	return c->iss;
}

const char *
mdt_idp_claims_sub(const mdt_idp_claims *c)
{
	return c->sub;
}

const char *
mdt_idp_claims_fhir_user(const mdt_idp_claims *c)
{
	return c->fhir_user;
}

const char *
mdt_idp_claims_patient(const mdt_idp_claims *c)
{
	return c->patient;
}

const char *
mdt_idp_claims_jti(const mdt_idp_claims *c)
{
	return c->jti;
}

const char *
mdt_idp_claims_scope_text(const mdt_idp_claims *c)
{
	return c->scope_text;
}

const char *
mdt_idp_claims_stepup(const mdt_idp_claims *c)
{
	return c->stepup;
}

const char *
mdt_idp_claims_purpose_of_use(const mdt_idp_claims *c)
{
	return c->purpose_of_use;
}

int64_t
mdt_idp_claims_iat(const mdt_idp_claims *c)
{
	return c->iat;
}

int64_t
mdt_idp_claims_exp(const mdt_idp_claims *c)
{
	return c->exp;
}

const mdt_scope_set *
mdt_idp_claims_scopes(const mdt_idp_claims *c)
{
	return c->scopes;
}

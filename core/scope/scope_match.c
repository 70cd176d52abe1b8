/*
 * Requests against scope sets: mdt_scope_set_matches and the parser of
 * resource references (`Observation/123`, `Observation?category=x`,
 * `tool/fax`) that command lines and resource servers use to build them.
 */
#include <string.h>

#include "parse_err_int.h"
#include "scope_int.h"

static int
request_has(const mdt_scope_request *req, const char *name, size_t nl,
    const char *value, size_t vl)
{
	for (size_t k = 0; k < req->nparams; k++) {
		const mdt_scope_param *p = &req->params[k];
		if (p->name != NULL && p->value != NULL && p->name_len == nl &&
		    p->value_len == vl && memcmp(p->name, name, nl) == 0 &&
		    memcmp(p->value, value, vl) == 0)
			return 1;
	}
	return 0;
}

static int
context_admits(const mdt__scope *sc, const mdt_scope_request *req,
    const char *patient)
{
	if ((sc->ctx == MDT_SCOPE_TOOL) != (req->context == MDT_SCOPE_TOOL))
		return 0;
	if (sc->ctx != MDT_SCOPE_PATIENT)
		return 1;
	return patient != NULL && req->patient != NULL &&
	    strcmp(patient, req->patient) == 0;
}

static int
scope_matches(const mdt__scope *sc, const mdt_scope_request *req,
    unsigned bit, const char *patient)
{
	size_t tl = strlen(req->type);

	if (!(sc->perms & bit) || !context_admits(sc, req, patient))
		return 0;
	if (!(sc->type_len == 1 && sc->type[0] == '*') &&
	    (tl != sc->type_len || memcmp(sc->type, req->type, tl) != 0))
		return 0;
	for (size_t i = 0; i < sc->nparams; i++)
		if (!request_has(req, mdt__scope_pname(sc, i),
		    sc->params[i].name_len, mdt__scope_pvalue(sc, i),
		    sc->params[i].value_len))
			return 0;
	return 1;
}

/* The permission bit of the request's action, or 0 when it has none. */
static unsigned
action_bit(const mdt_scope_request *req)
{
	const char *letters = mdt__scope_letters(
	    req->context == MDT_SCOPE_TOOL ? MDT_SCOPE_TOOL : MDT_SCOPE_PATIENT);
	const char *pos;

	if (req->action == NULL || req->action[0] == '\0' ||
	    req->action[1] != '\0')
		return 0;
	if ((pos = strchr(letters, req->action[0])) == NULL)
		return 0;
	return 1u << (pos - letters);
}

int
mdt_scope_set_matches(const mdt_scope_set *set, const mdt_scope_request *req,
    const char *patient, int *out)
{
	unsigned bit;
	int found = 0;

	if (set == NULL || req == NULL || out == NULL || req->type == NULL ||
	    (req->nparams > 0 && req->params == NULL))
		return -MDT_EINVAL;
	if ((bit = action_bit(req)) == 0)
		return -MDT_EINVAL;
	for (size_t i = 0; i < set->n && !found; i++)
		found = scope_matches(&set->v[i], req, bit, patient);
	*out = found;
	return 0;
}

/* Building a request from a reference: strings are copied into buf. */
typedef struct ref_out {
	char *buf;
	size_t cap;
	size_t used;
} ref_out;

static const char *
ref_copy(ref_out *o, const char *s, size_t n)
{
	char *d;

	if (o->cap - o->used < n + 1)
		return NULL;
	d = o->buf + o->used;
	memcpy(d, s, n);
	d[n] = '\0';
	o->used += n + 1;
	return d;
}

static int
is_id_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Length of the type or tool name starting at s[i]. */
static size_t
span_type(const char *s, size_t i, mdt_scope_context ctx)
{
	size_t k = 0;

	while (s[i + k] != '\0' && mdt__scope_type_char_ok(ctx, k,
	    (unsigned char)s[i + k]))
		k++;
	return k;
}

static int
too_small(char *err, size_t errlen)
{
	return mdt__errmsg(-MDT_ETOOBIG, err, errlen,
	    "scratch buffer too small for the reference");
}

static int
ref_params(const char *ref, size_t i, mdt_scope_request *req, ref_out *o,
    mdt_scope_param *params, size_t maxparams, char *err, size_t errlen)
{
	while (ref[i] != '\0') {
		size_t ns = ++i, vs;
		mdt_scope_param *p;
		while (mdt__scope_is_name_char((unsigned char)ref[i]))
			i++;
		if (i == ns || ref[i] != '=')
			return mdt__parse_err(-MDT_EPARSE, err, errlen, i,
			    i == ns ? "empty parameter name" :
			    "expected '=' after the parameter name");
		vs = ++i;
		while (mdt__scope_is_value_char((unsigned char)ref[i]))
			i++;
		if (i == vs || (ref[i] != '\0' && ref[i] != '&'))
			return mdt__parse_err(-MDT_EPARSE, err, errlen, i,
			    i == vs ? "empty parameter value" :
			    "byte 0x%02x is not allowed in a parameter value",
			    (unsigned char)ref[i]);
		if (req->nparams == maxparams)
			return mdt__parse_err(-MDT_ETOOBIG, err, errlen, ns,
			    "more than %zu parameters", maxparams);
		p = &params[req->nparams++];
		p->name_len = vs - 1 - ns;
		p->value_len = i - vs;
		if ((p->name = ref_copy(o, ref + ns, p->name_len)) == NULL ||
		    (p->value = ref_copy(o, ref + vs, p->value_len)) == NULL)
			return too_small(err, errlen);
	}
	return 0;
}

/* After the type: optional /id, then optional ?params. */
static int
ref_rest(const char *ref, size_t i, mdt_scope_request *req, ref_out *o,
    mdt_scope_param *params, size_t maxparams, char *err, size_t errlen)
{
	if (ref[i] == '/' && req->context != MDT_SCOPE_TOOL) {
		size_t s = ++i;
		while (is_id_char((unsigned char)ref[i]))
			i++;
		if (i == s || i - s > 64)
			return mdt__parse_err(-MDT_EPARSE, err, errlen, s,
			    "a resource id is 1 to 64 of A-Z a-z 0-9 - .");
		if ((req->id = ref_copy(o, ref + s, i - s)) == NULL)
			return too_small(err, errlen);
	}
	if (ref[i] != '\0' && ref[i] != '?')
		return mdt__parse_err(-MDT_EPARSE, err, errlen, i,
		    "unexpected byte 0x%02x (expected /id or ?params)",
		    (unsigned char)ref[i]);
	if (ref[i] == '?' && ref[i + 1] == '\0')
		return mdt__parse_err(-MDT_EPARSE, err, errlen, i + 1,
		    "empty query after '?'");
	return ref_params(ref, i, req, o, params, maxparams, err, errlen);
}

int
mdt_scope_request_parse(const char *ref, mdt_scope_request *req, char *buf,
    size_t buflen, mdt_scope_param *params, size_t maxparams, char *err,
    size_t errlen)
{
	mdt_scope_request r;
	ref_out o = {buf, buflen, 0};
	size_t i = 0, n;
	int rc;

	if (ref == NULL || req == NULL || buf == NULL ||
	    (maxparams > 0 && params == NULL))
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "bad arguments");
	if (strlen(ref) > MDT_SCOPE_REF_MAX)
		return mdt__parse_err(-MDT_ETOOBIG, err, errlen,
		    MDT_SCOPE_REF_MAX, "a reference is at most %d bytes",
		    MDT_SCOPE_REF_MAX);
	memset(&r, 0, sizeof(r));
	r.context = MDT_SCOPE_FHIR;
	if (strncmp(ref, "tool/", 5) == 0) {
		r.context = MDT_SCOPE_TOOL;
		i = 5;
	}
	if ((n = span_type(ref, i, r.context)) == 0 ||
	    n > MDT__SCOPE_NAME_MAX)
		return mdt__parse_err(-MDT_EPARSE, err, errlen, i, "%s",
		    r.context == MDT_SCOPE_TOOL ? "expected a tool name "
		    "[a-z][a-z0-9_-]*" : "expected a resource type "
		    "[A-Z][A-Za-z0-9]* or tool/name");
	if ((r.type = ref_copy(&o, ref + i, n)) == NULL)
		return too_small(err, errlen);
	if ((rc = ref_rest(ref, i + n, &r, &o, params, maxparams, err,
	    errlen)) != 0)
		return rc;
	req->context = r.context;
	req->type = r.type;
	req->id = r.id;
	req->params = r.nparams > 0 ? params : NULL;
	req->nparams = r.nparams;
	return 0;
}

/*
 * SPIFFE ID parsing and validation (include/mandate/spiffe.h).  One pass
 * over the bytes; every rejection names the offset of the first byte that
 * makes the id invalid.
 */
#include <string.h>

#include <mandate/spiffe.h>

#include "parse_err_int.h"

#define SCHEME "spiffe://"
#define SCHEME_LEN (sizeof(SCHEME) - 1)

typedef struct spiffe_span {
	size_t td_len;
	size_t path_len;
} spiffe_span;

static int
is_lower_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
is_td_char(unsigned char c)
{
	return is_lower_alnum(c) || c == '.' || c == '-' || c == '_';
}

static int
is_path_char(unsigned char c)
{
	return is_td_char(c) || (c >= 'A' && c <= 'Z');
}

/* Why a byte that is not allowed is refused; shared by both parts. */
static int
bad_char(const char *s, size_t off, const char *part, char *err,
    size_t errlen)
{
	unsigned char c = (unsigned char)s[off];

	switch (c) {
	case '%':
		return mdt__parse_err(-MDT_EPARSE, err, errlen, off,
		    "percent-encoding is not allowed in a SPIFFE ID");
	case '?':
		return mdt__parse_err(-MDT_EPARSE, err, errlen, off,
		    "a SPIFFE ID has no query");
	case '#':
		return mdt__parse_err(-MDT_EPARSE, err, errlen, off,
		    "a SPIFFE ID has no fragment");
	default:
		break;
	}
	if (c > 0x20 && c < 0x7f)
		return mdt__parse_err(-MDT_EPARSE, err, errlen, off,
		    "character '%c' is not allowed in the %s", c, part);
	return mdt__parse_err(-MDT_EPARSE, err, errlen, off,
	    "byte 0x%02x is not allowed in the %s", c, part);
}

static int
check_scheme(const char *s, size_t len, char *err, size_t errlen)
{
	for (size_t i = 0; i < SCHEME_LEN; i++) {
		unsigned char c;

		if (i >= len)
			return mdt__parse_err(-MDT_EPARSE, err, errlen, i,
			    "truncated: a SPIFFE ID starts with \"spiffe://\"");
		c = (unsigned char)s[i];
		if (c == (unsigned char)SCHEME[i])
			continue;
		if (c >= 'A' && c <= 'Z' && c + ('a' - 'A') == SCHEME[i])
			return mdt__parse_err(-MDT_EPARSE, err, errlen, i,
			    "the scheme must be lowercase \"spiffe\"");
		return mdt__parse_err(-MDT_EPARSE, err, errlen, i,
		    "a SPIFFE ID starts with \"spiffe://\"");
	}
	return 0;
}

/* Trust domain starting at s[off]; sets *end to the first byte after it. */
static int
check_trust_domain(const char *s, size_t off, size_t len, size_t *end,
    char *err, size_t errlen)
{
	size_t i = off;

	for (; i < len && s[i] != '/'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_td_char(c))
			continue;
		if (c >= 'A' && c <= 'Z')
			return mdt__parse_err(-MDT_EPARSE, err, errlen, i,
			    "the trust domain must be lowercase");
		if (c == ':')
			return mdt__parse_err(-MDT_EPARSE, err, errlen, i,
			    "a trust domain has no port");
		if (c == '@')
			return mdt__parse_err(-MDT_EPARSE, err, errlen, i,
			    "a trust domain has no userinfo");
		return bad_char(s, i, "trust domain", err, errlen);
	}
	if (i == off)
		return mdt__parse_err(-MDT_EPARSE, err, errlen, off,
		    "the trust domain is empty");
	if (i - off > MDT_SPIFFE_TRUST_DOMAIN_MAX)
		return mdt__parse_err(-MDT_ETOOBIG, err, errlen,
		    off + MDT_SPIFFE_TRUST_DOMAIN_MAX,
		    "the trust domain is longer than %d bytes",
		    MDT_SPIFFE_TRUST_DOMAIN_MAX);
	*end = i;
	return 0;
}

static int
check_segment(const char *s, size_t start, size_t end, size_t len,
    char *err, size_t errlen)
{
	size_t n = end - start;

	if (n == 0)
		return mdt__parse_err(-MDT_EPARSE, err, errlen, start - 1,
		    end == len ? "a SPIFFE ID has no trailing '/'" :
		    "empty path segment (\"//\")");
	if ((n == 1 && s[start] == '.') ||
	    (n == 2 && s[start] == '.' && s[start + 1] == '.'))
		return mdt__parse_err(-MDT_EPARSE, err, errlen, start,
		    "path segments \".\" and \"..\" are not allowed");
	return 0;
}

/* Path starting at s[off] (a '/' or the end). */
static int
check_path(const char *s, size_t off, size_t len, char *err, size_t errlen)
{
	size_t seg = off + 1;
	int rc;

	if (off == len)
		return 0;
	for (size_t i = seg; i <= len; i++) {
		if (i < len && s[i] != '/') {
			if (!is_path_char((unsigned char)s[i]))
				return bad_char(s, i, "path", err, errlen);
			continue;
		}
		if ((rc = check_segment(s, seg, i, len, err, errlen)) != 0)
			return rc;
		seg = i + 1;
	}
	return 0;
}

static int
spiffe_check(const char *s, size_t len, spiffe_span *span, char *err,
    size_t errlen)
{
	size_t td_end = 0;
	int rc;

	if (s == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no SPIFFE ID");
	if (len > MDT_SPIFFE_ID_MAX)
		return mdt__parse_err(-MDT_ETOOBIG, err, errlen,
		    MDT_SPIFFE_ID_MAX, "a SPIFFE ID is at most %d bytes",
		    MDT_SPIFFE_ID_MAX);
	if ((rc = check_scheme(s, len, err, errlen)) != 0)
		return rc;
	if ((rc = check_trust_domain(s, SCHEME_LEN, len, &td_end, err,
	    errlen)) != 0)
		return rc;
	if ((rc = check_path(s, td_end, len, err, errlen)) != 0)
		return rc;
	span->td_len = td_end - SCHEME_LEN;
	span->path_len = len - td_end;
	return 0;
}

int
mdt_spiffe_validate(const char *s, size_t len, char *err, size_t errlen)
{
	spiffe_span span = {0, 0};

	return spiffe_check(s, len, &span, err, errlen);
}

int
mdt_spiffe_parse(const char *s, size_t len, mdt_spiffe_id *out, char *err,
    size_t errlen)
{
	spiffe_span span = {0, 0};
	int rc;

	if (out == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no output");
	if ((rc = spiffe_check(s, len, &span, err, errlen)) != 0)
		return rc;
	memcpy(out->id, s, len);
	out->id[len] = '\0';
	out->len = len;
	out->td_off = SCHEME_LEN;
	out->td_len = span.td_len;
	out->path_off = SCHEME_LEN + span.td_len;
	out->path_len = span.path_len;
	return 0;
}

int
mdt_spiffe_validate_trust_domain(const char *s, size_t len, char *err,
    size_t errlen)
{
	size_t end = 0;
	int rc;

	if (s == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no trust domain");
	if (len > MDT_SPIFFE_TRUST_DOMAIN_MAX)
		return mdt__parse_err(-MDT_ETOOBIG, err, errlen,
		    MDT_SPIFFE_TRUST_DOMAIN_MAX,
		    "the trust domain is longer than %d bytes",
		    MDT_SPIFFE_TRUST_DOMAIN_MAX);
	if ((rc = check_trust_domain(s, 0, len, &end, err, errlen)) != 0)
		return rc;
	if (end != len)
		return bad_char(s, end, "trust domain", err, errlen);
	return 0;
}

int
mdt_spiffe_in_trust_domain(const mdt_spiffe_id *id, const char *td,
    size_t td_len)
{
	if (id == NULL || td == NULL || td_len != id->td_len)
		return 0;
	return memcmp(id->id + id->td_off, td, td_len) == 0;
}

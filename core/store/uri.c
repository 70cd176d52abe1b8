/*
 * Store URIs: which backend a store location names.  "sqlite:PATH" and a
 * plain path are the SQLite backend; "postgresql://..." and
 * "postgres://..." are PostgreSQL, the URI handed whole to libpq (and
 * "postgresql:KEY=VALUE ..." a libpq key/value string); another
 * "SCHEME://..." names a backend this build does not have, refused with
 * the list of the ones it has.
 */
#include <stdio.h>
#include <string.h>

#include "backend.h"

static const struct mdt__store_backend_ops *const backends[] = {
	&mdt__sqlite_backend,
	&mdt__pg_backend,
};
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

/* Length of the scheme of "scheme://..." (RFC 3986 letters), else 0. */
static size_t
url_scheme(const char *uri)
{
	size_t n = 0;

	while ((uri[n] >= 'a' && uri[n] <= 'z') ||
	    (uri[n] >= 'A' && uri[n] <= 'Z') ||
	    (n > 0 && ((uri[n] >= '0' && uri[n] <= '9') || uri[n] == '+' ||
	    uri[n] == '-' || uri[n] == '.')))
		n++;
	return n > 0 && strncmp(uri + n, "://", 3) == 0 ? n : 0;
}

static int
unsupported(const char *uri, size_t n, char *err, size_t errlen)
{
	size_t o;

	o = (size_t)snprintf(err, errlen, "store URI scheme \"%.*s\" is not "
	    "supported: this build has the backends", (int)n, uri);
	for (size_t i = 0; i < NBACKENDS && o < errlen; i++)
		o += (size_t)snprintf(err + o, errlen - o, "%s %s",
		    i ? "," : "", backends[i]->scheme);
	return -MDT_EUNSUPPORTED;
}

int
mdt__store_uri(const char *uri, const struct mdt__store_backend_ops **be,
    const char **loc, char *err, size_t errlen)
{
	size_t n = url_scheme(uri);

	*be = NULL;
	*loc = NULL;
	if ((n == 10 && strncmp(uri, "postgresql", 10) == 0) ||
	    (n == 8 && strncmp(uri, "postgres", 8) == 0)) {
		*be = &mdt__pg_backend;
		*loc = uri; /* libpq parses the URI itself */
		return 0;
	}
	for (size_t i = 0; i < NBACKENDS; i++) {
		size_t len = strlen(backends[i]->scheme);
		if (strncmp(uri, backends[i]->scheme, len) == 0 &&
		    uri[len] == ':') {
			*be = backends[i];
			*loc = uri + len + 1;
			break;
		}
	}
	if (*be == NULL && n > 0)
		return unsupported(uri, n, err, errlen);
	if (*be == NULL) { /* a plain path */
		*be = &mdt__sqlite_backend;
		*loc = uri;
	}
	if ((*loc)[0] == '\0') {
		snprintf(err, errlen, "store URI \"%s\" names no location",
		    uri);
		return -MDT_EINVAL;
	}
	return 0;
}

/* Copies [p, p + n) into out at *o (bounded). */
static void
put(char *out, size_t outlen, size_t *o, const char *p, size_t n)
{
	while (n-- > 0 && *o + 1 < outlen)
		out[(*o)++] = *p++;
	out[*o] = '\0';
}

const char *
mdt_store_uri_redact(const char *uri, char *out, size_t outlen)
{
	size_t o = 0, n = url_scheme(uri);
	const char *p = uri, *kv;

	if (out == NULL || outlen == 0)
		return out;
	out[0] = '\0';
	if (n > 0) { /* scheme://user:password@host */
		const char *auth = uri + n + 3;
		size_t alen = strcspn(auth, "/?#");
		const char *at = memchr(auth, '@', alen);
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) :
		    NULL;
		if (colon != NULL) {
			put(out, outlen, &o, uri, (size_t)(colon + 1 - uri));
			put(out, outlen, &o, "***", 3);
			p = at;
		}
	}
	/* key/value strings and URI query parameters */
	while ((kv = strstr(p, "password=")) != NULL) {
		put(out, outlen, &o, p, (size_t)(kv + 9 - p));
		put(out, outlen, &o, "***", 3);
		p = kv + 9 + strcspn(kv + 9, " &");
	}
	put(out, outlen, &o, p, strlen(p));
	return out;
}

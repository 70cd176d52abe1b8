/*
 * Root sets: the broker's root public keys a verifier accepts while the
 * broker moves to a new root key (docs/token-format.md, section 12).  A
 * token's block 0 names its root by key id, and that id alone picks the
 * key: a set never means trying each key until one verifies.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "key_int.h"
#include "parse_err_int.h"
#include "token_int.h"

const mdt_pubkey *
mdt_token_root_of(const mdt_token *tok, const mdt_pubkey *roots, size_t n)
{
	const uint8_t *kid = tok != NULL ? mdt_token_key_id(tok) : NULL;
	uint8_t id[MDT_KEY_ID_BYTES];

	for (size_t i = 0; kid != NULL && roots != NULL && i < n; i++) {
		mdt_key_id(&roots[i], id);
		if (memcmp(id, kid, sizeof(id)) == 0)
			return &roots[i];
	}
	return NULL;
}

int
mdt_token_verify_roots(mdt_token *tok, const mdt_pubkey *roots, size_t n,
    mdt_token_cache *cache, mdt_token_reason *why)
{
	const mdt_pubkey *root = mdt_token_root_of(tok, roots, n);
	char hex[2 * MDT_KEY_ID_BYTES + 1];

	if (tok == NULL || n == 0 || n > MDT_TOKEN_ROOTS_MAX)
		return mdt__tok_fail(why, -MDT_EINVAL, -1, "no token or no root "
		    "keys (1..%d)", MDT_TOKEN_ROOTS_MAX);
	if (root == NULL) {
		mdt__hex(mdt_token_key_id(tok), MDT_KEY_ID_BYTES, hex);
		return mdt__tok_fail(why, -MDT_EKEY, 0, "block 0 names root key "
		    "%s, none of the %zu trusted", hex, n);
	}
	return mdt_token_verify(tok, root, cache, why);
}

static int
open_roots(const void *in, size_t len, int text, const mdt_pubkey *roots,
    size_t n, mdt_token_cache *cache, mdt_token **out, mdt_token_reason *why)
{
	mdt_token *tok;
	int rc;

	if (out == NULL)
		return mdt__tok_fail(why, -MDT_EINVAL, -1, "no output");
	rc = text ? mdt_token_decode_text(in, len, &tok, why) :
	    mdt_token_decode(in, len, &tok, why);
	if (rc != 0)
		return rc;
	if ((rc = mdt_token_verify_roots(tok, roots, n, cache, why)) != 0) {
		mdt_token_free(tok);
		return rc;
	}
	*out = tok;
	return 0;
}

int
mdt_token_open_roots(const uint8_t *buf, size_t len, const mdt_pubkey *roots,
    size_t n, mdt_token_cache *cache, mdt_token **out, mdt_token_reason *why)
{
	return open_roots(buf, len, 0, roots, n, cache, out, why);
}

int
mdt_token_open_roots_text(const char *text, size_t len,
    const mdt_pubkey *roots, size_t n, mdt_token_cache *cache,
    mdt_token **out, mdt_token_reason *why)
{
	return open_roots(text, len, 1, roots, n, cache, out, why);
}

/* One line of a root set file: a key, or nothing (blank, comment). */
static int
read_line(const char *path, size_t line, char *s, mdt_pubkey *roots,
    size_t max, size_t *n, char *err, size_t errlen)
{
	size_t len = strlen(s);
	mdt_pubkey pk;

	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = 0;
	if (len == 0 || s[0] == '#')
		return 0;
	if (mdt_pubkey_from_text(s, len, &pk) != 0)
		return mdt__errmsg(-MDT_EKEY, err, errlen, "%s:%zu: not a public "
		    "key (`%s...`)", path, line, MDT_KEY_PUBLIC_PREFIX);
	for (size_t i = 0; i < *n; i++)
		if (mdt_pubkey_equal(&roots[i], &pk))
			return mdt__errmsg(-MDT_EPARSE, err, errlen, "%s:%zu: the "
			    "same key as an earlier line", path, line);
	if (*n == max)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "%s:%zu: more than "
		    "%zu keys", path, line, max);
	roots[(*n)++] = pk;
	return 0;
}

int
mdt_token_roots_load(const char *path, mdt_pubkey *roots, size_t max,
    size_t *n, char *err, size_t errlen)
{
	char buf[MDT_TOKEN_ROOTS_FILE_MAX + 2];
	size_t got, line = 0;
	int rc = 0;
	FILE *f;

	if (path == NULL || roots == NULL || n == NULL || max == 0)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no root set");
	if (max > MDT_TOKEN_ROOTS_MAX)
		max = MDT_TOKEN_ROOTS_MAX;
	if ((f = fopen(path, "r")) == NULL)
		return mdt__errmsg(errno == ENOENT ? -MDT_ENOTFOUND : -MDT_EIO,
		    err, errlen, "%s: %s", path, strerror(errno));
	got = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (got > MDT_TOKEN_ROOTS_FILE_MAX)
		return mdt__errmsg(-MDT_ETOOBIG, err, errlen, "%s: larger than "
		    "%d bytes", path, MDT_TOKEN_ROOTS_FILE_MAX);
	buf[got] = 0;
	*n = 0;
	for (char *s = buf, *nl; rc == 0 && s != NULL; s = nl) {
		if ((nl = strchr(s, '\n')) != NULL)
			*nl++ = 0;
		rc = read_line(path, ++line, s, roots, max, n, err, errlen);
	}
	if (rc == 0 && *n == 0)
		rc = mdt__errmsg(-MDT_EKEY, err, errlen, "%s: no public key",
		    path);
	return rc;
}

/*
 * The broker root keys: the current one, loaded from the data directory
 * or generated there (mode 0600) on first start; during a rollover the
 * next one (public only, announced) and the previous one (kept to extend
 * the tokens minted under it); and ROOT.pubs, the root set verifiers load
 * (docs/token-format.md, section 12).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkstemp, fchmod */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"

static int
load_current(brk_broker *b, char *err, size_t errlen)
{
	char base[BRK_PATH_MAX];
	size_t n = strlen(b->cfg.root_key);
	struct stat st;
	mdt_keypair *kp = NULL;
	int rc;

	if (n < 5 || strcmp(b->cfg.root_key + n - 4, ".key") != 0) {
		snprintf(err, errlen, "root_key %s: must end in .key",
		    b->cfg.root_key);
		return -MDT_ECONFIG;
	}
	if (stat(b->cfg.root_key, &st) != 0 && errno == ENOENT) {
		snprintf(base, sizeof(base), "%.*s", (int)(n - 4),
		    b->cfg.root_key);
		rc = mdt_keypair_generate(&kp);
		if (rc == 0)
			rc = mdt_keypair_save(kp, base, err, errlen);
		mdt_keypair_free(kp);
		if (rc != 0)
			return rc;
		BLOG(b, BRK_INFO, "root_key.generated", "path=%s",
		    b->cfg.root_key);
	}
	rc = mdt_keypair_load(b->cfg.root_key, &b->root, err, errlen);
	if (rc != 0)
		return rc;
	mdt_keypair_public(b->root, &b->root_pub);
	b->roots[0] = b->root_pub;
	b->nroots = 1;
	return 0;
}

/* A rollover key equal to the current one is a mistake in the steps
 * (the files renamed the wrong way round), not a no-op. */
static int
distinct(const mdt_pubkey *a, const mdt_pubkey *c, const char *setting,
    char *err, size_t errlen)
{
	if (!mdt_pubkey_equal(a, c))
		return 0;
	snprintf(err, errlen, "%s is the current root key (root_key); see "
	    "docs/token-format.md, section 12", setting);
	return -MDT_ECONFIG;
}

static int
load_rollover(brk_broker *b, mdt_pubkey *next, int *has_next, char *err,
    size_t errlen)
{
	mdt_pubkey prev;
	int rc = 0;

	*has_next = b->cfg.root_key_next[0] != 0;
	if (*has_next && ((rc = mdt_pubkey_load(b->cfg.root_key_next, next,
	    err, errlen)) != 0 || (rc = distinct(next, &b->root_pub,
	    "root_key_next", err, errlen)) != 0))
		return rc;
	if (b->cfg.root_key_previous[0] == 0)
		return 0;
	if ((rc = mdt_keypair_load(b->cfg.root_key_previous, &b->root_prev,
	    err, errlen)) != 0)
		return rc;
	mdt_keypair_public(b->root_prev, &prev);
	if ((rc = distinct(&prev, &b->root_pub, "root_key_previous", err,
	    errlen)) != 0)
		return rc;
	if (*has_next && mdt_pubkey_equal(&prev, next)) {
		snprintf(err, errlen, "root_key_next and root_key_previous are "
		    "the same key");
		return -MDT_ECONFIG;
	}
	b->roots[b->nroots++] = prev;
	return 0;
}

/* ROOT.pubs: one line per key a verifier should accept, replaced
 * atomically so a verifier reloading it never reads half of it. */
static int
publish(brk_broker *b, const mdt_pubkey *next, int has_next, char *path,
    size_t pathlen, char *err, size_t errlen)
{
	char tmp[BRK_PATH_MAX + 16], cur[MDT_KEY_PUBLIC_TEXT_BYTES];
	char nx[MDT_KEY_PUBLIC_TEXT_BYTES], pv[MDT_KEY_PUBLIC_TEXT_BYTES];
	FILE *f;
	int fd, ok;

	snprintf(path, pathlen, "%.*s.pubs", (int)(strlen(b->cfg.root_key) - 4),
	    b->cfg.root_key);
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	mdt_pubkey_to_text(&b->root_pub, cur);
	if (has_next)
		mdt_pubkey_to_text(next, nx);
	if (b->nroots > 1)
		mdt_pubkey_to_text(&b->roots[1], pv);
	if ((fd = mkstemp(tmp)) < 0 || fchmod(fd, 0644) != 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return -MDT_EIO;
	}
	ok = fprintf(f, "# Mandate broker root public keys: a token verifies "
	    "under the one its\n# block 0 names (docs/token-format.md, "
	    "section 12).\n# current\n%s\n%s%s%s%s%s", cur,
	    has_next ? "# next\n" : "", has_next ? nx : "", has_next ? "\n" : "",
	    b->nroots > 1 ? "# previous\n" : "", b->nroots > 1 ? pv : "") > 0;
	if (b->nroots > 1)
		ok = ok && fputc('\n', f) != EOF;
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -MDT_EIO;
	}
	return 0;
}

int
brk_root_key(brk_broker *b, char *err, size_t errlen)
{
	char path[BRK_PATH_MAX + 8], kid[MDT_KEY_ID_TEXT_BYTES];
	mdt_pubkey next;
	int has_next = 0, rc;

	if ((rc = load_current(b, err, errlen)) != 0 ||
	    (rc = load_rollover(b, &next, &has_next, err, errlen)) != 0 ||
	    (rc = publish(b, &next, has_next, path, sizeof(path), err,
	    errlen)) != 0)
		return rc;
	mdt_key_id_text(&b->root_pub, kid);
	BLOG(b, BRK_INFO, "root_key.loaded", "current=%s next=%s previous=%s "
	    "published=%s", kid, has_next ? b->cfg.root_key_next : "-",
	    b->root_prev != NULL ? b->cfg.root_key_previous : "-", path);
	return 0;
}

const mdt_keypair *
brk_root_for(const brk_broker *b, const mdt_token *tok)
{
	if (b->root_prev != NULL && mdt_token_root_of(tok, &b->roots[1], 1))
		return b->root_prev;
	return b->root;
}

int
brk_token_open(brk_broker *b, const uint8_t *buf, size_t len,
    mdt_token **out, mdt_token_reason *why)
{
	return mdt_token_open_roots(buf, len, b->roots, b->nroots, b->tcache,
	    out, why);
}

/*
 * mandated --check-config: everything a start checks short of binding
 * its sockets and writing anything -- the settings, the policies (not
 * empty), the registry and identity provider (the snapshot), the TLS and
 * SVID files, the monitoring address, the root key (mode, owner, a public key without its
 * secret), the data and run directories, and the audit store (opened
 * read-only when it exists) -- then prints what it loaded.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -MDT_ECONFIG;
}

/* The root key as a start would use it; *note says what happens. */
static int
check_root_key(const struct brk_config *cfg, const char **note, char *err,
    size_t errlen)
{
	char pub[BRK_PATH_MAX + 8];
	size_t n = strlen(cfg->root_key);
	mdt_keypair *kp = NULL;
	struct stat st;
	int rc;

	if (n < 5 || strcmp(cfg->root_key + n - 4, ".key") != 0)
		return fail(err, errlen, "root_key %s: must end in .key",
		    cfg->root_key);
	snprintf(pub, sizeof(pub), "%.*s.pub", (int)(n - 4), cfg->root_key);
	if (stat(cfg->root_key, &st) != 0 && errno == ENOENT) {
		if (stat(pub, &st) == 0)
			return fail(err, errlen, "%s exists without its secret "
			    "key %s: restore the key, or move the .pub away to "
			    "generate a new root key", pub, cfg->root_key);
		*note = "absent: generated on first start";
		return 0;
	}
	if ((rc = mdt_keypair_load(cfg->root_key, &kp, err, errlen)) != 0)
		return rc;
	mdt_keypair_free(kp);
	if (st.st_uid != geteuid())
		return fail(err, errlen, "%s: not owned by the user the broker "
		    "runs as", cfg->root_key);
	*note = "present, mode 0600";
	return 0;
}

static int
check_readable(const char *name, const char *path, char *err,
    size_t errlen)
{
	if (path[0] == 0 || access(path, R_OK) == 0)
		return 0;
	snprintf(err, errlen, "%s %s: %s", name, path, strerror(errno));
	return -MDT_ECONFIG;
}

/* A directory the start would create or tighten: it exists as a
 * directory this user may write, or its parent does. */
static int
check_dir(const char *name, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode) || access(path, W_OK | X_OK) != 0)
			return fail(err, errlen, "%s %s: not a directory this "
			    "user may write", name, path);
		if (st.st_uid != geteuid())
			return fail(err, errlen, "%s %s: not owned by the user "
			    "the broker runs as", name, path);
	}
	return 0;
}

/* The store: an existing one opens read-only (a running broker holds
 * the writer's lock); a missing file, or a database without the schema
 * yet, is made on start. */
static int
check_store(const struct brk_config *cfg, const char **note, char *err,
    size_t errlen)
{
	mdt_store_opts so = { .read_only = 1 };
	mdt_store *s = NULL;
	const char *path = strncmp(cfg->store, "sqlite:", 7) == 0 ?
	    cfg->store + 7 : cfg->store;
	int rc;

	if (strstr(cfg->store, "://") == NULL && access(path, F_OK) != 0) {
		*note = "absent: created on first start";
		return 0;
	}
	rc = mdt_store_open(cfg->store, &so, &s, err, errlen);
	mdt_store_close(s);
	*note = "opens";
	if (rc == -MDT_ENOTFOUND && strstr(cfg->store, "://") != NULL) {
		*note = "an empty database: the schema is created on first "
		    "start";
		rc = 0;
	}
	return rc;
}

int
brk_check_config(const struct brk_config *cfg,
    const struct brk_snapshot *snap, FILE *out, char *err, size_t errlen)
{
	const char *key_note = "", *store_note = "";
	int rc;

	if (mdt_policy_set_count(snap->policies) == 0)
		return fail(err, errlen, "policy_dir %s: no policies (*.cedar): "
		    "every request would be denied", cfg->policy_dir);
	if ((rc = check_readable("tls_ca", cfg->tls_ca, err, errlen)) ||
	    (rc = check_readable("tls_cert", cfg->tls_cert, err, errlen)) ||
	    (rc = check_readable("tls_key", cfg->tls_key, err, errlen)) ||
	    (rc = brk_svid_check(cfg, err, errlen)) ||
	    (rc = brk_http_check(cfg->http_listen, err, errlen)) ||
	    (rc = check_dir("data_dir", cfg->data_dir, err, errlen)) ||
	    (rc = check_dir("run_dir", cfg->run_dir, err, errlen)) ||
	    (rc = check_root_key(cfg, &key_note, err, errlen)) ||
	    (rc = check_store(cfg, &store_note, err, errlen)))
		return rc;
	fprintf(out, "policies: %zu from %s (hash %s)\n",
	    mdt_policy_set_count(snap->policies), cfg->policy_dir,
	    mdt_policy_set_hash(snap->policies));
	fprintf(out, "agents: %zu from %s\n", snap->nagents, cfg->entities);
	fprintf(out, "identity provider: %s\n", cfg->idp_key[0] ?
	    cfg->idp_key : "none (open, approve and reject are refused)");
	fprintf(out, "root key: %s (%s)\n", cfg->root_key, key_note);
	fprintf(out, "store: %s (%s)\n", cfg->store, store_note);
	fprintf(out, "listen: %s\npub: %s\nhttp: %s\n", cfg->listen,
	    cfg->pub_listen, cfg->http_listen[0] ? cfg->http_listen : "none");
	return 0;
}

/*
 * The registry file of `mandatectl agent`: read under a lock on its
 * directory, checked whole before it is written, and replaced atomically
 * so the broker (which reads it at start and on SIGHUP) sees the old file
 * or the new one, never a mix, and a failed edit leaves nothing behind.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* realpath, fchown, mkstemp */
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* flock */
#endif
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_agent.h"

static int
fail(const char *path, const char *what)
{
	ctl_error("%s: %s: %s", path, what, strerror(errno));
	return CTL_EXIT_INVALID;
}

/* Locks the directory of r->path: edits of one registry run one at a
 * time, each reading the file the previous one wrote. */
static int
lock_dir(ctl_registry *r)
{
	char dir[sizeof(r->path)];

	snprintf(dir, sizeof(dir), "%s", r->path);
	r->dirfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0)
		return fail(r->path, "cannot open its directory");
	if (flock(r->dirfd, LOCK_EX) != 0)
		return fail(r->path, "cannot lock its directory");
	return 0;
}

int
ctl_registry_open(ctl_registry *r, const char *path, int lock)
{
	json_error_t je;
	char *text;
	size_t len;

	memset(r, 0, sizeof(*r));
	r->dirfd = -1;
	if (realpath(path, r->path) == NULL)
		return fail(path, "cannot open");
	if (lock && lock_dir(r) != 0)
		return CTL_EXIT_INVALID;
	if (ctl_read_file(r->path, MDT_ENTITY_JSON_MAX, &text, &len) != 0)
		return CTL_EXIT_INVALID;
	r->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (!json_is_array(r->root)) {
		ctl_error("%s:%d:%d: %s", r->path, je.line, je.column,
		    r->root == NULL ? je.text : "expected an array of entities");
		return CTL_EXIT_INVALID;
	}
	return 0;
}

void
ctl_registry_close(ctl_registry *r)
{
	json_decref(r->root);
	r->root = NULL;
	if (r->dirfd >= 0)
		close(r->dirfd); /* releases the lock */
	r->dirfd = -1;
}

const char *
ctl_agent_ref(const json_t *v)
{
	const json_t *e;

	if (json_is_string(v))
		return json_string_value(v);
	e = json_object_get(v, "__entity");
	return json_string_value(json_object_get(e != NULL ? e : v, "id"));
}

int
ctl_agent_is(const json_t *ent)
{
	const json_t *uid = json_object_get(ent, "uid");
	const json_t *e = json_object_get(uid, "__entity");
	const char *t = json_string_value(json_object_get(e ? e : uid, "type"));

	return t != NULL && strcmp(t, CTL_AGENT_TYPE) == 0;
}

const char *
ctl_agent_uid(const json_t *ent)
{
	return ctl_agent_is(ent) ? ctl_agent_ref(json_object_get(ent, "uid")) :
	    NULL;
}

long
ctl_registry_find(const ctl_registry *r, const char *id)
{
	size_t i;
	json_t *ent;

	json_array_foreach(r->root, i, ent) {
		const char *a = ctl_agent_uid(ent);
		if (a != NULL && strcmp(a, id) == 0)
			return (long)i;
	}
	return -1;
}

/* Every agent as the broker checks it, and the whole as Cedar entities:
 * what the broker would refuse to load is never written. */
static int
check_all(const ctl_registry *r, const char *text, size_t len)
{
	char err[MDT_ERRMSG_MAX] = "";
	mdt_entity_store *es = NULL;
	size_t i;
	json_t *ent;
	int rc;

	json_array_foreach(r->root, i, ent) {
		if (ctl_agent_is(ent) &&
		    ctl_agent_check(ent, err, sizeof(err)) != 0) {
			ctl_error("%s: %s; nothing written", r->path, err);
			return CTL_EXIT_INVALID;
		}
	}
	rc = mdt_entity_store_new(&es);
	if (rc == 0)
		rc = mdt_entity_store_load_json(es, text, len, r->path, err,
		    sizeof(err));
	mdt_entity_store_free(es);
	if (rc != 0) {
		ctl_error("%s; nothing written", err[0] ? err : mdt_strerror(rc));
		return CTL_EXIT_INVALID;
	}
	return 0;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* The new content in a temporary file beside the old one, with its mode
 * and owner, on disk before it takes the old one's name. */
static int
write_temp(const char *path, const struct stat *st, const char *text,
    size_t len, char *tmp, size_t tmplen)
{
	int fd;

	snprintf(tmp, tmplen, "%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0)
		return fail(path, "cannot create a temporary file beside it");
	if (fchmod(fd, st->st_mode & 07777) != 0 ||
	    ((st->st_uid != geteuid() || st->st_gid != getegid()) &&
	    fchown(fd, st->st_uid, st->st_gid) != 0) ||
	    write_all(fd, text, len) != 0 || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return fail(path, "cannot write the new version (mode, owner "
		    "or content)");
	}
	if (close(fd) != 0) {
		unlink(tmp);
		return fail(tmp, "cannot write");
	}
	return 0;
}

static int
replace(const ctl_registry *r, const char *text, size_t len)
{
	char tmp[sizeof(r->path) + 8];
	struct stat st;

	if (stat(r->path, &st) != 0)
		return fail(r->path, "cannot stat");
	if (write_temp(r->path, &st, text, len, tmp, sizeof(tmp)) != 0)
		return CTL_EXIT_INVALID;
	if (rename(tmp, r->path) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return fail(r->path, "cannot replace");
	}
	/* the rename itself on disk, so a crash cannot bring the old
	 * registry back (a rotated-away key with it) */
	if (r->dirfd >= 0 && fsync(r->dirfd) != 0)
		return fail(r->path, "cannot sync its directory");
	return 0;
}

int
ctl_registry_save(ctl_registry *r)
{
	char *text = json_dumps(r->root, JSON_INDENT(2));
	size_t len;
	int rc;

	if (text == NULL) {
		ctl_error("%s: out of memory", r->path);
		return CTL_EXIT_INVALID;
	}
	len = strlen(text);
	rc = check_all(r, text, len);
	if (rc == 0) {
		/* json_dumps ends without a newline; files end with one */
		char *nl = realloc(text, len + 2);
		if (nl == NULL) {
			free(text);
			ctl_error("%s: out of memory", r->path);
			return CTL_EXIT_INVALID;
		}
		text = nl;
		memcpy(text + len, "\n", 2);
		rc = replace(r, text, len + 1);
	}
	free(text);
	return rc;
}

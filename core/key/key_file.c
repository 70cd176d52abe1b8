/*
 * Key files: NAME.key (secret seed, mode 0600, refused when group or
 * others have access) and NAME.pub, each one line of text.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mandate/key.h>

#include "alloc_int.h"
#include "key_int.h"
#include "parse_err_int.h"

#define KEY_FILE_MAX 128 /* longer than any valid key file */
#define PATH_MAX_LEN 4096

/* Writes all of buf to a new file (O_EXCL) with the given mode. */
static int
write_new(const char *path, mode_t mode, const char *buf, size_t len,
    char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t off = 0;

	if (fd < 0)
		return mdt__errmsg(errno == EEXIST ? -MDT_EEXIST : -MDT_EIO,
		    err, errlen, "%s: %s", path, strerror(errno));
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off != len || fsync(fd) != 0) {
		int e = errno;

		close(fd);
		unlink(path);
		return mdt__errmsg(-MDT_EIO, err, errlen, "%s: %s", path,
		    strerror(e));
	}
	if (close(fd) != 0)
		return mdt__errmsg(-MDT_EIO, err, errlen, "%s: %s", path,
		    strerror(errno));
	return 0;
}

int
mdt_pubkey_save(const mdt_pubkey *pk, const char *path, char *err,
    size_t errlen)
{
	char line[MDT_KEY_PUBLIC_TEXT_BYTES + 1];
	size_t n;

	if (pk == NULL || path == NULL)
		return -MDT_EINVAL;
	mdt_pubkey_to_text(pk, line);
	n = strlen(line);
	line[n++] = '\n';
	return write_new(path, 0644, line, n, err, errlen);
}

int
mdt_keypair_save(const mdt_keypair *kp, const char *base, char *err,
    size_t errlen)
{
	char path[PATH_MAX_LEN], line[64];
	size_t pre = sizeof(MDT_KEY_SECRET_PREFIX) - 1, n;
	uint8_t seed[MDT_KEY_SEED_BYTES];
	int rc;

	if (kp == NULL || base == NULL)
		return -MDT_EINVAL;
	if ((size_t)snprintf(path, sizeof(path), "%s.pub", base) >= sizeof(path))
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "path too long");
	if (access(path, F_OK) == 0)
		return mdt__errmsg(-MDT_EEXIST, err, errlen, "%s: exists", path);
	snprintf(path, sizeof(path), "%s.key", base);
	memcpy(line, MDT_KEY_SECRET_PREFIX, pre);
	mdt_keypair_seed(kp, seed);
	mdt__b64url_encode(seed, sizeof(seed), line + pre, sizeof(line) - pre);
	sodium_memzero(seed, sizeof(seed));
	n = strlen(line);
	line[n++] = '\n';
	rc = write_new(path, 0600, line, n, err, errlen);
	sodium_memzero(line, sizeof(line));
	if (rc != 0)
		return rc;
	snprintf(path, sizeof(path), "%s.pub", base);
	if ((rc = mdt_pubkey_save(&kp->pk, path, err, errlen)) != 0) {
		snprintf(path, sizeof(path), "%s.key", base);
		unlink(path);
	}
	return rc;
}

/*
 * Reads a small key file into buf (NUL-terminated, final newline
 * removed).  With secret set, refuses files open to group or others.
 */
static int
read_key_file(const char *path, int secret, char *buf, size_t cap,
    size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t got;

	if (fd < 0)
		return mdt__errmsg(errno == ENOENT ? -MDT_ENOTFOUND : -MDT_EIO,
		    err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mdt__errmsg(-MDT_EKEY, err, errlen,
		    "%s: not a regular file", path);
	}
	if (secret && (st.st_mode & 077) != 0) {
		close(fd);
		return mdt__errmsg(-MDT_EKEY, err, errlen,
		    "%s: permissions %03o are too open (want 0600)", path,
		    (unsigned)(st.st_mode & 0777));
	}
	do
		got = read(fd, buf, cap - 1);
	while (got < 0 && errno == EINTR);
	close(fd);
	if (got < 0)
		return mdt__errmsg(-MDT_EIO, err, errlen, "%s: %s", path,
		    strerror(errno));
	if ((size_t)got == cap - 1)
		return mdt__errmsg(-MDT_EKEY, err, errlen,
		    "%s: larger than a key file", path);
	if (got > 0 && buf[got - 1] == '\n')
		got--;
	buf[got] = '\0';
	*len = (size_t)got;
	return 0;
}

int
mdt_pubkey_load(const char *path, mdt_pubkey *out, char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX];
	size_t len = 0;
	int rc;

	if (path == NULL || out == NULL)
		return -MDT_EINVAL;
	if ((rc = read_key_file(path, 0, buf, sizeof(buf), &len, err,
	    errlen)) != 0)
		return rc;
	if (mdt_pubkey_from_text(buf, len, out) != 0)
		return mdt__errmsg(-MDT_EKEY, err, errlen,
		    "%s: not a public key file (one line `%s...` expected)",
		    path, MDT_KEY_PUBLIC_PREFIX);
	return 0;
}

int
mdt_keypair_load(const char *path, mdt_keypair **out, char *err,
    size_t errlen)
{
	char buf[KEY_FILE_MAX];
	uint8_t seed[MDT_KEY_SEED_BYTES];
	size_t len = 0, pre = sizeof(MDT_KEY_SECRET_PREFIX) - 1, n = 0;
	int rc;

	if (path == NULL || out == NULL)
		return -MDT_EINVAL;
	if ((rc = mdt__sodium_init()) != 0)
		return rc;
	/* every path below ends at the wipes, a refused file included: a
	 * file "larger than a key file" may still begin with a secret */
	rc = read_key_file(path, 1, buf, sizeof(buf), &len, err, errlen);
	if (rc == 0 && (len <= pre ||
	    memcmp(buf, MDT_KEY_SECRET_PREFIX, pre) != 0 ||
	    mdt__b64url_decode(buf + pre, len - pre, seed, sizeof(seed),
	    &n) != 0 || n != sizeof(seed)))
		rc = mdt__errmsg(-MDT_EKEY, err, errlen,
		    "%s: not a secret key file (one line `%s...` expected)",
		    path, MDT_KEY_SECRET_PREFIX);
	else if (rc == 0)
		rc = mdt_keypair_from_seed(seed, out);
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

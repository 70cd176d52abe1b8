/*
 * The files of a writable audit store as operating-system objects: the
 * exclusive lock that keeps one writer per store (<path>.lock, holding
 * the owner's pid), and the 0600 modes of the database, its -wal and
 * -shm files and the lock file.  The store holds patient and clinician
 * identifiers, so no file of it may be readable beyond its owner.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc_int.h"
#include "sqlite_int.h"

#define PRIVATE_MODE 0600
#define PID_TEXT_MAX 24

/* path + suffix in one allocation; caller frees with mdt__free. */
static char *
path_with(const char *path, const char *suffix)
{
	size_t n = strlen(path), m = strlen(suffix);
	char *p = mdt__malloc(n + m + 1);

	if (p != NULL) {
		memcpy(p, path, n);
		memcpy(p + n, suffix, m + 1);
	}
	return p;
}

/* Drops group and other bits of an open file. */
static int
tighten_fd(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	if ((st.st_mode & 077) == 0)
		return 0;
	return fchmod(fd, st.st_mode & 0700);
}

/* The pid the holder wrote, or 0 when unreadable. */
static long
holder_pid(int fd)
{
	char buf[PID_TEXT_MAX];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid = 0;

	if (n > 0) {
		buf[n] = '\0';
		if (sscanf(buf, "%ld", &pid) != 1)
			pid = 0;
	}
	return pid;
}

/* Replaces the lock file's text with our pid. */
static int
write_pid(int fd)
{
	char buf[PID_TEXT_MAX];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) != 0)
		return -1;
	return pwrite(fd, buf, (size_t)n, 0) == (ssize_t)n ? 0 : -1;
}

static int
lock_failed(int fd, const char *path, char *err, size_t errlen)
{
	int busy = errno == EWOULDBLOCK;

	if (busy)
		snprintf(err, errlen, "store %s is locked by process %ld "
		    "(another mandated?)", path, holder_pid(fd));
	else
		snprintf(err, errlen, "locking store %s: %s", path,
		    strerror(errno));
	close(fd);
	return busy ? -MDT_EBUSY : -MDT_EIO;
}

int
mdt__files_lock(mdt_store *s, char *err, size_t errlen)
{
	char *lp = path_with(s->path, ".lock");
	int fd;

	if (lp == NULL)
		return -MDT_ENOMEM;
	fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    PRIVATE_MODE);
	if (fd < 0) {
		snprintf(err, errlen, "opening %s: %s", lp, strerror(errno));
		mdt__free(lp);
		return -MDT_EIO;
	}
	mdt__free(lp);
	/* flock, not fcntl: its lock belongs to the open file, so a second
	 * handle in the same process is refused as well. */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		return lock_failed(fd, s->path, err, errlen);
	if (tighten_fd(fd) != 0 || write_pid(fd) != 0) {
		snprintf(err, errlen, "writing the lock of %s: %s", s->path,
		    strerror(errno));
		close(fd);
		return -MDT_EIO;
	}
	s->bs->lock_fd = fd;
	return 0;
}

void
mdt__files_unlock(mdt_store *s)
{
	/* The file stays: removing it would let a third process lock a new
	 * file while a second one still waits on the old. */
	if (s->bs->lock_fd >= 0)
		close(s->bs->lock_fd);
	s->bs->lock_fd = -1;
}

/* Creates path 0600 when absent (and create), else drops its group and
 * other bits.  An existing file is never opened here: closing a
 * descriptor would drop the POSIX locks SQLite holds on it through
 * another handle of this process. */
static int
private_file(const char *path, int create, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (stat(path, &st) == 0) {
		if ((st.st_mode & 077) == 0 || chmod(path, st.st_mode & 0700)
		    == 0)
			return 0;
	} else if (errno == ENOENT && !create) {
		return 0;
	} else if (errno == ENOENT) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, PRIVATE_MODE);
		if (fd >= 0 || errno == EEXIST) { /* EEXIST: lost a race */
			if (fd >= 0)
				close(fd);
			return fd >= 0 ? 0 : private_file(path, 0, err, errlen);
		}
	}
	snprintf(err, errlen, "making %s private (0600): %s", path,
	    strerror(errno));
	return -MDT_EIO;
}

int
mdt__files_private(const char *path, char *err, size_t errlen)
{
	static const char *const sidecars[] = {"-wal", "-shm"};
	int rc;

	/* SQLite creates -wal and -shm with the database file's mode, so
	 * the database is created here, 0600, before SQLite opens it. */
	if ((rc = private_file(path, 1, err, errlen)) != 0)
		return rc;
	for (size_t i = 0; i < 2; i++) {
		char *p = path_with(path, sidecars[i]);
		if (p == NULL)
			return -MDT_ENOMEM;
		rc = private_file(p, 0, err, errlen);
		mdt__free(p);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- identity: is the file we write still the one at the path? ---- */

static int
file_id(const char *path, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

int
mdt__files_remember(mdt_store *s, char *err, size_t errlen)
{
	struct mdt__bstate *w = s->bs;

	if (w->wal_path == NULL &&
	    (w->wal_path = path_with(s->path, "-wal")) == NULL)
		return -MDT_ENOMEM;
	if (file_id(s->path, &w->db_dev, &w->db_ino) != 0) {
		snprintf(err, errlen, "stat %s: %s", s->path, strerror(errno));
		return -MDT_ESTORE;
	}
	/* SQLite opens the WAL with the first read of a WAL database; if it
	 * is not there yet, the first commit creates it and names it. */
	w->wal_known = file_id(w->wal_path, &w->wal_dev, &w->wal_ino) == 0;
	return 0;
}

/* 1 when path is still the file (dev, ino). */
static int
still(const char *path, dev_t dev, ino_t ino)
{
	dev_t d;
	ino_t i;

	return file_id(path, &d, &i) == 0 && d == dev && i == ino;
}

int
mdt__files_check(mdt_store *s)
{
	struct mdt__bstate *w = s->bs;

	if (!s->w.failed && still(s->path, w->db_dev, w->db_ino) &&
	    (!w->wal_known || still(w->wal_path, w->wal_dev, w->wal_ino)))
		return 0;
	if (!s->w.failed)
		mdt__store_seterr(s, "store file %s or its -wal was removed "
		    "or replaced while open: nothing more is recorded until "
		    "the store is reopened", s->path);
	s->w.failed = 1;
	return -MDT_ESTORE;
}

void
mdt__files_committed(mdt_store *s)
{
	struct mdt__bstate *w = s->bs;

	if (!w->wal_known)
		w->wal_known = file_id(w->wal_path, &w->wal_dev,
		    &w->wal_ino) == 0;
}

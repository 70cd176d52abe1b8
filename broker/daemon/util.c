/* Small helpers of the broker: clock, random ids, directories, scope
 * text, JSON escaping. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "broker.h"

int64_t
brk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
brk_random_id(const char *prefix, char *out, size_t len)
{
	uint8_t r[16];
	char hex[33];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(out, len, "%s%s", prefix, hex);
}

int
brk_mkdirs(const char *path, unsigned mode)
{
	char buf[BRK_PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -MDT_EINVAL;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p != 0; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
			return -MDT_EIO;
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
		return -MDT_EIO;
	return 0;
}

int
brk_private_dir(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (brk_mkdirs(path, 0700) != 0 || stat(path, &st) != 0) {
		snprintf(err, errlen, "cannot create directory %.200s: %s",
		    path, strerror(errno));
		return -MDT_EIO;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		snprintf(err, errlen, "directory %.200s (mode %04o, owner uid "
		    "%ld) is not a directory owned by this user (uid %ld): "
		    "refusing to keep the audit store there", path,
		    (unsigned)(st.st_mode & 07777), (long)st.st_uid,
		    (long)geteuid());
		return -MDT_EIO;
	}
	/* The store holds patient and clinician identifiers. */
	if ((st.st_mode & 077) != 0 && chmod(path, st.st_mode & 07700) != 0) {
		snprintf(err, errlen, "directory %.200s (mode %04o) is open "
		    "to group or other and cannot be made 0700: %s", path,
		    (unsigned)(st.st_mode & 07777), strerror(errno));
		return -MDT_EIO;
	}
	return 0;
}

void
brk_json_escape(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; s != NULL && *s != 0 && o + 7 < len; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20) {
			o += (size_t)snprintf(out + o, len - o, "\\u%04x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	if (len > 0)
		out[o < len ? o : len - 1] = 0;
}

int
brk_scopes_parse(const char *text, mdt_scope_set **out, char *err,
    size_t errlen)
{
	if (text == NULL)
		return mdt_scope_set_new(out);
	return mdt_scope_set_parse(text, strlen(text), out, err, errlen);
}

void
brk_scopes_text(const mdt_scope_set *s, char *buf, size_t len)
{
	char *t = NULL;

	if (s != NULL && mdt_scope_set_format(s, &t) == 0) {
		snprintf(buf, len, "%s", t);
		mdt_free(t);
		return;
	}
	if (len > 0)
		buf[0] = 0;
}

int
brk_word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p != NULL && *p != 0;) {
		while (*p == ' ')
			p++;
		const char *e = strchr(p, ' ');
		size_t l = e != NULL ? (size_t)(e - p) : strlen(p);
		if (l == n && n > 0 && memcmp(p, word, n) == 0)
			return 1;
		p += l;
	}
	return 0;
}

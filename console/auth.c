/*
 * The admin credential and the sessions it opens.  The credential is a
 * token read from a file only its owner may read; a sign-in compares a
 * BLAKE2b hash of what was typed with the hash of the credential in
 * constant time (sodium_memcmp), so neither its bytes nor its length
 * leak through timing, and too many failures in a minute stop sign-ins
 * for the rest of it.  A session is a random 256-bit cookie value, held
 * only as its hash, ending after CON_SESSION_IDLE_MS unused or
 * CON_SESSION_LIFE_MS in all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "console_int.h"

#define CRED_MIN 16
#define CRED_MAX 1024

static void
hash(const void *p, size_t n, unsigned char out[32])
{
	crypto_generichash(out, 32, p, n, NULL, 0);
}

/* Reads path into buf (at most CRED_MAX bytes); its length or -1. */
static long
read_cred(const char *path, char *buf, char *err, size_t errlen)
{
	struct stat st;
	long n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: must be a regular file that only "
		    "its owner may read (chmod 600)", path);
	} else {
		ssize_t r = read(fd, buf, CRED_MAX + 1);
		n = r < 0 || r > CRED_MAX ? -1 : (long)r;
		if (n < 0)
			snprintf(err, errlen, "%s: %s", path, r < 0 ?
			    strerror(errno) : "longer than 1024 bytes");
	}
	if (fd >= 0)
		close(fd);
	return n;
}

int
con_auth_load(con_auth *a, const char *path, char *err, size_t errlen)
{
	char buf[CRED_MAX + 2];
	long n = read_cred(path, buf, err, errlen);
	int ok = n >= 0;

	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	for (long i = 0; ok && i < n; i++)
		ok = buf[i] > 0x20 && buf[i] < 0x7f;
	if (n >= 0 && (!ok || n < CRED_MIN))
		snprintf(err, errlen, "%s: the credential must be one line of "
		    "at least %d printable characters, no spaces", path,
		    CRED_MIN);
	if (ok && n >= CRED_MIN)
		hash(buf, (size_t)n, a->cred_hash);
	sodium_memzero(buf, sizeof(buf));
	return ok && n >= CRED_MIN ? 0 : -1;
}

int
con_auth_throttled(con_auth *a, int64_t now)
{
	if (now - a->fail_window_ms >= CON_FAILS_WINDOW_MS) {
		a->fail_window_ms = now;
		a->fails = 0;
	}
	return a->fails >= CON_FAILS_MAX;
}

int
con_auth_check(con_auth *a, const char *given, size_t len, int64_t now)
{
	unsigned char h[32];
	int ok;

	hash(given, len, h);
	ok = sodium_memcmp(h, a->cred_hash, sizeof(h)) == 0;
	sodium_memzero(h, sizeof(h));
	if (!ok && !con_auth_throttled(a, now))
		a->fails++;
	return ok;
}

void
con_random_token(char out[CON_TOKEN_HEX + 1])
{
	unsigned char r[CON_TOKEN_HEX / 2];

	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(out, CON_TOKEN_HEX + 1, r, sizeof(r));
	sodium_memzero(r, sizeof(r));
}

int
con_token_equal(const char *a, const char *b)
{
	unsigned char ha[32], hb[32];

	hash(a, strlen(a), ha);
	hash(b, strlen(b), hb);
	return sodium_memcmp(ha, hb, sizeof(ha)) == 0;
}

static int
live(const con_session *s, int64_t now)
{
	return s->used && now - s->seen_ms < CON_SESSION_IDLE_MS &&
	    now - s->created_ms < CON_SESSION_LIFE_MS;
}

int
con_session_new(con_auth *a, int64_t now, char out[CON_TOKEN_HEX + 1])
{
	size_t k = 0;

	for (size_t i = 0; i < CON_SESSIONS_MAX; i++) {
		if (!live(&a->sessions[i], now)) {
			k = i;
			break;
		}
		if (a->sessions[i].seen_ms < a->sessions[k].seen_ms)
			k = i; /* full: the least recently used gives way */
	}
	con_random_token(out);
	hash(out, CON_TOKEN_HEX, a->sessions[k].id_hash);
	a->sessions[k].created_ms = a->sessions[k].seen_ms = now;
	a->sessions[k].used = 1;
	return 0;
}

/* The live session cookie names, or NULL. */
static con_session *
find(con_auth *a, const char *cookie, int64_t now)
{
	unsigned char h[32];
	con_session *hit = NULL;

	if (strlen(cookie) != CON_TOKEN_HEX)
		return NULL;
	hash(cookie, CON_TOKEN_HEX, h);
	for (size_t i = 0; i < CON_SESSIONS_MAX; i++)
		if (sodium_memcmp(h, a->sessions[i].id_hash, sizeof(h)) == 0 &&
		    live(&a->sessions[i], now))
			hit = &a->sessions[i];
	return hit;
}

int
con_session_valid(con_auth *a, const char *cookie, int64_t now)
{
	con_session *s = find(a, cookie, now);

	if (s != NULL)
		s->seen_ms = now;
	return s != NULL;
}

void
con_session_end(con_auth *a, const char *cookie)
{
	con_session *s = find(a, cookie, con_now_ms());

	if (s != NULL)
		sodium_memzero(s, sizeof(*s));
}

void
con_auth_wipe(con_auth *a)
{
	sodium_memzero(a, sizeof(*a));
}

int64_t
con_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The broker's event log: one line per event on stderr, with a level,
 * as text or as JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "broker.h"

static const char *const names[] = { "debug", "info", "warn", "error" };

int
brk_log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

int
brk_log_format_parse(const char *name)
{
	return strcmp(name, "text") == 0 ? 0 : strcmp(name, "json") == 0 ? 1 :
	    -1;
}

/*
 * Appends s JSON-escaped (n bytes) within out[0..len), from *o, stopping
 * early so that afterwards at least 7 bytes are left: room for one
 * separator (`","` or `":"`) and the closing `"}` with its NUL, so a cut
 * line is still one JSON object.
 */
/* Bytes of the well-formed UTF-8 sequence at s (at most n), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t l = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 :
	    s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;

	if (l == 0 || l > n)
		return 0;
	for (size_t i = 1; i < l; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return l;
}

static void
put_esc(char *out, size_t len, size_t *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && *o + 13 <= len; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t l;
		if (c >= 0x80) {
			/* whole characters only; a byte that is not one is '?' */
			l = utf8_seq((const unsigned char *)s + i, n - i);
			if (l == 0) {
				out[(*o)++] = '?';
			} else if (*o + l + 7 <= len) {
				memcpy(out + *o, s + i, l);
				*o += l;
				i += l - 1;
			} else {
				return;
			}
		} else if (c == '"' || c == '\\') {
			out[(*o)++] = '\\';
			out[(*o)++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			*o += (size_t)snprintf(out + *o, len - *o, "\\u%04x", c);
		} else {
			out[(*o)++] = (char)c;
		}
	}
}

/* A separator of 3 bytes; put_esc left room for it. */
static void
put_sep(char *out, size_t *o, const char *sep)
{
	memcpy(out + *o, sep, 3);
	*o += 3;
}

/* Length of a leading key=value word of p (key [a-z0-9_.]+), or 0. */
static size_t
kv_word(const char *p, size_t *keylen)
{
	size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_.");

	if (k == 0 || p[k] != '=')
		return 0;
	*keylen = k;
	return k + 1 + strcspn(p + k + 1, " ");
}

void
brk_log_json_line(char *out, size_t len, const char *ts, const char *level,
    const char *event, const char *msg)
{
	const char *p = msg;
	size_t o, w, k = 0;
	int n;

	n = snprintf(out, len, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":\"",
	    ts, level);
	if (n < 0 || (size_t)n + 16 > len) {
		if (len >= 3)
			memcpy(out, "{}", 3);
		return;
	}
	o = (size_t)n;
	put_esc(out, len, &o, event, strlen(event));
	while (*p == ' ')
		p++;
	while ((w = kv_word(p, &k)) > 0 && o + 16 <= len) {
		put_sep(out, &o, "\",\"");
		put_esc(out, len, &o, p, k);
		put_sep(out, &o, "\":\"");
		put_esc(out, len, &o, p + k + 1, w - k - 1);
		for (p += w; *p == ' '; p++)
			;
	}
	if (*p != 0 && o + 16 <= len) {
		memcpy(out + o, "\",\"msg\":\"", 9);
		o += 9;
		put_esc(out, len, &o, p, strlen(p));
	}
	memcpy(out + o, "\"}", 3);
}

void
brk_log(struct brk_logger *lg, enum brk_level level, const char *event,
    const char *fmt, ...)
{
	char msg[2048], ts[40], line[4096];
	struct timespec ts_now;
	struct tm tm;
	size_t n;
	va_list ap;

	if (lg != NULL && (int)level < atomic_load(&lg->level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts_now);
	gmtime_r(&ts_now.tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", ts_now.tv_nsec / 1000000);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lg != NULL && atomic_load(&lg->json)) {
		brk_log_json_line(line, sizeof(line), ts, names[level], event,
		    msg);
	} else {
		snprintf(line, sizeof(line), "%s %s %s %s", ts, names[level],
		    event, msg);
		/* one write per line, newlines inside values flattened */
		for (char *p = line; *p != 0; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
	}
	fprintf(stderr, "%s\n", line);
}

void
brk_log_apply(struct brk_broker *b)
{
	int lv = brk_log_level_parse(b->cfg.log_level);
	int fmt = brk_log_format_parse(b->cfg.log_format);

	if (lv >= 0)
		atomic_store(&b->log.level, lv);
	if (fmt >= 0)
		atomic_store(&b->log.json, fmt);
}

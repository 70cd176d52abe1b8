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

/* Appends s JSON-escaped (n bytes) within out[0..len), from *o. */
static void
put_esc(char *out, size_t len, size_t *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && *o + 7 < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[(*o)++] = '\\';
			out[(*o)++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			*o += (size_t)snprintf(out + *o, len - *o, "\\u%04x", c);
		} else {
			out[(*o)++] = (char)c;
		}
	}
}

static void
put_raw(char *out, size_t len, size_t *o, const char *s)
{
	put_esc(out, len, o, s, strlen(s));
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
	size_t o = 0, w, k = 0;

	if (len < 16) {
		if (len > 0)
			out[0] = 0;
		return;
	}
	o += (size_t)snprintf(out, len, "{\"ts\":\"%s\",\"level\":\"%s\","
	    "\"event\":\"", ts, level);
	o = o < len ? o : len - 1;
	put_raw(out, len, &o, event);
	while (*p == ' ')
		p++;
	while ((w = kv_word(p, &k)) > 0) {
		if (o + 8 < len)
			out[o++] = '"', out[o++] = ',', out[o++] = '"';
		put_esc(out, len, &o, p, k);
		if (o + 8 < len)
			out[o++] = '"', out[o++] = ':', out[o++] = '"';
		put_esc(out, len, &o, p + k + 1, w - k - 1);
		for (p += w; *p == ' '; p++)
			;
	}
	if (*p != 0 && o + 10 < len) {
		memcpy(out + o, "\",\"msg\":\"", 9);
		o += 9;
		put_raw(out, len, &o, p);
	}
	if (o + 3 > len)
		o = len - 3;
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

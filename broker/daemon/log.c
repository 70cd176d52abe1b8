/* The broker's event log: one line per event on stderr, with a level. */
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

void
brk_log(struct brk_logger *lg, enum brk_level level, const char *event,
    const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;

	if (lg != NULL && (int)level < atomic_load(&lg->level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s ",
	    ts.tv_nsec / 1000000, names[level], event);
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
	}
	/* one write per line, newlines inside values flattened */
	for (char *p = line; *p != 0; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "%s\n", line);
}

void
brk_log_apply(struct brk_broker *b)
{
	int lv = brk_log_level_parse(b->cfg.log_level);

	if (lv >= 0)
		atomic_store(&b->log.level, lv);
}

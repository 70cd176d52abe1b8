/*
 * One-line-per-event logging to stderr:
 *   2026-01-01T12:00:00.123Z LEVEL event key=value ... message
 * Levels are filtered by an atomic threshold owned by the broker.
 */
#ifndef BRK_LOG_H
#define BRK_LOG_H

#include <stdatomic.h>

enum brk_level { BRK_DEBUG = 0, BRK_INFO = 1, BRK_WARN = 2, BRK_ERROR = 3 };

struct brk_logger {
	atomic_int level;
};

/* Level of a name ("debug" ...), or -1. */
int brk_log_level_parse(const char *name);

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void brk_log(struct brk_logger *lg, enum brk_level level, const char *event,
    const char *fmt, ...);

#endif

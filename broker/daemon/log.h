/*
 * One-line-per-event logging to stderr, as text
 *   2026-01-01T12:00:00.123Z LEVEL event key=value ... message
 * or (log_format = json) as one JSON object per line
 *   {"ts":"...","level":"info","event":"...","key":"value",...,"msg":"..."}
 * where the leading key=value words of the text become fields.  Levels
 * are filtered by an atomic threshold owned by the broker.
 */
#ifndef BRK_LOG_H
#define BRK_LOG_H

#include <stdatomic.h>
#include <stddef.h>

enum brk_level { BRK_DEBUG = 0, BRK_INFO = 1, BRK_WARN = 2, BRK_ERROR = 3 };

struct brk_logger {
	atomic_int level;
	atomic_int json;         /* 1: log_format = json */
};

/* Level of a name ("debug" ...), or -1. */
int brk_log_level_parse(const char *name);
/* 0 text, 1 json, -1 neither. */
int brk_log_format_parse(const char *name);
/* The JSON line of one event (without newline) into out; msg is the
 * formatted text whose leading key=value words become fields. */
void brk_log_json_line(char *out, size_t len, const char *ts,
    const char *level, const char *event, const char *msg);

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void brk_log(struct brk_logger *lg, enum brk_level level, const char *event,
    const char *fmt, ...);

#endif

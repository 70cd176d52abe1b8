/*
 * Small helpers shared by the SDK: error messages, time, bounded copies.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sdk_int.h"

int
sdk_err(char *err, size_t errlen, int status, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return status;
}

int64_t
sdk_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int
sdk_strcpy(char *dst, size_t max, const char *src)
{
	size_t n;

	if (src == NULL)
		return -MDT_EINVAL;
	n = strlen(src);
	if (n >= max)
		return -MDT_ETOOBIG;
	memcpy(dst, src, n + 1);
	return 0;
}

uint64_t
sdk_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

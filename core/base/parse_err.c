/* Formatting of parser error messages (see parse_err_int.h). */
#include <stdarg.h>
#include <stdio.h>

#include "parse_err_int.h"

int
mdt__parse_err(int status, char *err, size_t errlen, size_t off,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return status;
	n = snprintf(err, errlen, "byte %zu: ", off);
	if (n < 0 || (size_t)n >= errlen)
		return status;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return status;
}

int
mdt__errmsg(int status, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return status;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return status;
}

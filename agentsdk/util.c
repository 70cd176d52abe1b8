/*
 * Small helpers shared by the SDK: error messages, time, bounded copies.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include <mandate/spiffe.h>

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
sdk_check_agent_id(const char *what, const char *id, char *err,
    size_t errlen)
{
	char why[MDT_ERRMSG_MAX];
	size_t n = strlen(id);

	if (mdt_spiffe_validate(id, n, why, sizeof(why)) != 0)
		return sdk_err(err, errlen, -MDT_EINVAL, "%s: not a valid SPIFFE "
		    "id: %s", what, why);
	if (n >= MDT_AGENT_ID_MAX)
		return sdk_err(err, errlen, -MDT_EINVAL, "%s: %zu bytes; agent "
		    "ids are at most %d", what, n, MDT_AGENT_ID_MAX - 1);
	return 0;
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

int
sdk_get_dup(const mdt_wire_val *m, const char *key, int optional, char **out,
    char *err, size_t errlen)
{
	const mdt_wire_val *v = mdt_wire_map_get(m, key);
	const char *s = "";
	size_t len = 0;

	if (v == NULL || mdt_wire_val_type(v) == MDT_WIRE_NIL) {
		if (!optional)
			return sdk_err(err, errlen, -MDT_EPROTO,
			    "reply: missing field %s", key);
	} else if (mdt_wire_val_str(v, &s, &len) != 0) {
		return sdk_err(err, errlen, -MDT_EPROTO,
		    "reply: field %s: expected a string", key);
	} else if (len > SDK_STR_MAX) {
		return sdk_err(err, errlen, -MDT_ETOOBIG,
		    "reply: field %s: longer than %u bytes", key, SDK_STR_MAX);
	}
	if ((*out = malloc(len + 1)) == NULL)
		return -MDT_ENOMEM;
	memcpy(*out, s, len);
	(*out)[len] = '\0';
	return 0;
}

int
sdk_get_bin_dup(const mdt_wire_val *m, const char *key, size_t max,
    int optional, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	const uint8_t *p = NULL;
	int present = 1, rv;

	*out = NULL;
	*len = 0;
	if (optional)
		rv = mdt_wire_get_bin_opt(m, key, max, &p, len, &present, err,
		    errlen);
	else
		rv = mdt_wire_get_bin(m, key, max, &p, len, err, errlen);
	if (rv != 0 || !present || *len == 0)
		return rv;
	if ((*out = malloc(*len)) == NULL)
		return -MDT_ENOMEM;
	memcpy(*out, p, *len);
	return 0;
}

void
sdk_sleep_ms(uint32_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

int
sdk_opts_size(const void *opts, size_t v1, size_t known, const char *what,
    char *err, size_t errlen)
{
	const uint8_t *p = opts;
	size_t size;

	memcpy(&size, opts, sizeof(size));
	if (size == 0)
		return 0;
	if (size < v1)
		return sdk_err(err, errlen, -MDT_EINVAL, "%s: size %zu is "
		    "smaller than the struct has ever been (%zu)", what, size, v1);
	for (size_t i = known; i < size; i++)
		if (p[i] != 0)
			return sdk_err(err, errlen, -MDT_EUNSUPPORTED, "%s: a "
			    "field past the %zu bytes this library knows is set "
			    "(size %zu: built against a newer <mandate/agent.h>)",
			    what, known, size);
	return 0;
}

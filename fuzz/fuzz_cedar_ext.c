/*
 * Fuzz harness for the Cedar extension literals (decimal, ip, datetime,
 * duration), which arrive in policy text and entity JSON.  The first byte
 * picks the type; the rest is the literal.  Whatever parses must satisfy
 * the type's invariants: decimals and durations survive their canonical
 * text form, an address is in its own range and equal to itself, and a
 * datetime splits into toDate + toTime.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cedar/ext_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Cedar's Display for decimal: "-"? whole "." four digits. */
static void
check_decimal(int64_t v)
{
	char buf[48];
	int64_t back;
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	int n = snprintf(buf, sizeof buf, "%s%" PRIu64 ".%04" PRIu64, v < 0 ? "-" : "",
			 mag / CEDAR_DECIMAL_SCALE, mag % CEDAR_DECIMAL_SCALE);

	if (cedar_decimal_parse(buf, (size_t)n, &back) != 0 || back != v)
		abort();
}

/* Cedar's canonical duration text is "<ms>ms". */
static void
check_duration(int64_t v)
{
	char buf[32];
	int64_t back;
	int n = snprintf(buf, sizeof buf, "%" PRId64 "ms", v);

	if (cedar_duration_parse(buf, (size_t)n, &back) != 0 || back != v)
		abort();
}

static void
check_datetime(int64_t v)
{
	int64_t date, time, sum;

	if (cedar_datetime_to_date(v, &date) != 0 || cedar_datetime_to_time(v, &time) != 0)
		abort(); /* parsed datetimes lie far inside the range */
	if (time < 0 || time >= CEDAR_MS_PER_DAY || date % CEDAR_MS_PER_DAY != 0 ||
	    cedar_datetime_offset(date, time, &sum) != 0 || sum != v)
		abort();
}

static void
check_ip(const cedar_ip *ip)
{
	static const uint8_t zero[12];

	if (ip->prefix > (ip->v6 ? 128 : 32) || ip->v6 > 1 ||
	    (!ip->v6 && memcmp(ip->addr + 4, zero, sizeof zero) != 0))
		abort();
	if (!cedar_ip_in_range(ip, ip) || !cedar_ip_equal(ip, ip) ||
	    cedar_ip_is_ipv4(ip) == cedar_ip_is_ipv6(ip))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	int64_t v;
	cedar_ip ip;

	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if (cedar_decimal_parse(s, n, &v) == 0)
			check_decimal(v);
		break;
	case 1:
		if (cedar_ip_parse(s, n, &ip) == 0)
			check_ip(&ip);
		break;
	case 2:
		if (cedar_datetime_parse(s, n, &v) == 0)
			check_datetime(v);
		break;
	default:
		if (cedar_duration_parse(s, n, &v) == 0)
			check_duration(v);
		break;
	}
	return 0;
}

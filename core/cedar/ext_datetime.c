/*
 * Cedar's datetime and duration extension types.  A datetime is the
 * number of (non-leap) milliseconds since 1970-01-01T00:00:00Z, a duration
 * a signed number of milliseconds, both int64.  Parsing accepts exactly
 * Cedar 4.x's forms:
 *   YYYY-MM-DD, then optionally Thh:mm:ss followed by Z, .SSSZ, (+|-)hhmm
 *   or .SSS(+|-)hhmm (offset hours < 24, minutes < 60; no leap seconds);
 *   durations -?(Nd)?(Nh)?(Nm)?(Ns)?(Nms)? with at least one unit.
 * Arithmetic that leaves the int64 range is an error, as in Cedar.
 */
#include <stdbool.h>

#include "cedar/ext_int.h"

#define MS_PER_SEC INT64_C(1000)

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* n ASCII digits at s as an unsigned number, or -1 if any is not a digit. */
static int
fixed_digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static bool
is_leap(int y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int
days_in_month(int y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t yy = m <= 2 ? y - 1 : y;
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DD" at s (length >= 10): days since the epoch. */
static int
parse_date(const char *s, int64_t *days)
{
	int y = fixed_digits(s, 4), m = fixed_digits(s + 5, 2), d = fixed_digits(s + 8, 2);

	if (y < 0 || m < 0 || d < 0 || s[4] != '-' || s[7] != '-')
		return -1;
	if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -1;
	*days = days_from_civil(y, m, d);
	return 0;
}

/* "Thh:mm:ss" at s (length >= 9): seconds into the day. */
static int
parse_hms(const char *s, int64_t *secs)
{
	int h = fixed_digits(s + 1, 2), m = fixed_digits(s + 4, 2), sec = fixed_digits(s + 7, 2);

	if (s[0] != 'T' || s[3] != ':' || s[6] != ':' || h < 0 || m < 0 || sec < 0)
		return -1;
	if (h >= 24 || m >= 60 || sec >= 60)
		return -1;
	*secs = (int64_t)h * 3600 + m * 60 + sec;
	return 0;
}

/* "(.SSS)?(Z|(+|-)hhmm)" filling exactly len bytes: ms and offset in ms. */
static int
parse_ms_offset(const char *s, size_t len, int64_t *ms, int64_t *offset_ms)
{
	int oh, om;

	*ms = 0;
	if (len >= 4 && s[0] == '.') {
		if ((*ms = fixed_digits(s + 1, 3)) < 0)
			return -1;
		s += 4;
		len -= 4;
	}
	if (len == 1 && s[0] == 'Z') {
		*offset_ms = 0;
		return 0;
	}
	if (len != 5 || (s[0] != '+' && s[0] != '-'))
		return -1;
	oh = fixed_digits(s + 1, 2);
	om = fixed_digits(s + 3, 2);
	if (oh < 0 || om < 0 || oh >= 24 || om >= 60)
		return -1;
	*offset_ms = ((int64_t)oh * 3600 + om * 60) * MS_PER_SEC * (s[0] == '-' ? -1 : 1);
	return 0;
}

int
cedar_datetime_parse(const char *s, size_t len, int64_t *out_ms)
{
	int64_t days, secs = 0, ms = 0, offset = 0;

	if (len < 10 || parse_date(s, &days) != 0)
		return -1;
	if (len > 10 && (len < 19 || parse_hms(s + 10, &secs) != 0 ||
			 parse_ms_offset(s + 19, len - 19, &ms, &offset) != 0))
		return -1;
	/* Years 0000-9999 keep all of this far inside the int64 range. */
	*out_ms = days * CEDAR_MS_PER_DAY + secs * MS_PER_SEC + ms - offset;
	return 0;
}

/* Scans "-?(N unit)+" into per-unit quantities; units must ascend. */
enum { U_D, U_H, U_M, U_S, U_MS, U_COUNT };

static int
read_unit(const char *s, size_t len, size_t *i)
{
	static const char units[] = "dhms";
	char c = s[*i];

	if (c == 'm' && *i + 1 < len && s[*i + 1] == 's') {
		*i += 2;
		return U_MS;
	}
	for (int u = 0; units[u] != '\0'; u++) {
		if (c == units[u]) {
			*i += 1;
			return u;
		}
	}
	return -1;
}

static int
scan_duration(const char *s, size_t len, size_t i, uint64_t q[U_COUNT])
{
	int last = -1;

	while (i < len) {
		uint64_t v = 0;
		size_t start = i;
		int u;

		for (; i < len && is_digit(s[i]); i++) {
			if (__builtin_mul_overflow(v, 10u, &v) ||
			    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
				return -1;
		}
		if (i == start || i == len || (u = read_unit(s, len, &i)) <= last)
			return -1;
		q[u] = v;
		last = u;
	}
	return 0;
}

/*
 * Sums the parts in Cedar's order (ms, s, m, h, d), each part converted to
 * int64 before scaling, so the same inputs overflow as in Cedar.
 */
int
cedar_duration_parse(const char *s, size_t len, int64_t *out_ms)
{
	static const int64_t scale[U_COUNT] = {
		[U_D] = CEDAR_MS_PER_DAY, [U_H] = 3600000, [U_M] = 60000, [U_S] = 1000, [U_MS] = 1};
	uint64_t q[U_COUNT] = {0};
	bool neg = len > 0 && s[0] == '-';
	int64_t total;

	if (len == (neg ? 1u : 0u) || scan_duration(s, len, neg ? 1 : 0, q) != 0)
		return -1;
	/* "-9223372036854775808ms" is i64::MIN, which Cedar accepts. */
	if (q[U_MS] > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		return -1;
	if (neg)
		total = q[U_MS] == 0 ? 0 : -(int64_t)(q[U_MS] - 1) - 1;
	else
		total = (int64_t)q[U_MS];
	for (int u = U_S; u >= U_D; u--) {
		int64_t part;

		if (q[u] > (uint64_t)INT64_MAX ||
		    __builtin_mul_overflow((int64_t)q[u], scale[u], &part) ||
		    (neg ? __builtin_sub_overflow(total, part, &total)
			 : __builtin_add_overflow(total, part, &total)))
			return -1;
	}
	*out_ms = total;
	return 0;
}

int
cedar_datetime_offset(int64_t dt, int64_t dur, int64_t *out)
{
	int64_t v;

	if (__builtin_add_overflow(dt, dur, &v))
		return -1;
	*out = v;
	return 0;
}

int
cedar_datetime_duration_since(int64_t a, int64_t b, int64_t *out)
{
	int64_t v;

	if (__builtin_sub_overflow(a, b, &v))
		return -1;
	*out = v;
	return 0;
}

/* dt modulo one day, in [0, 86400000) also for times before the epoch. */
static int64_t
ms_into_day(int64_t dt)
{
	int64_t r = dt % CEDAR_MS_PER_DAY;

	return r < 0 ? r + CEDAR_MS_PER_DAY : r;
}

int
cedar_datetime_to_date(int64_t dt, int64_t *out)
{
	int64_t v;

	if (__builtin_sub_overflow(dt, ms_into_day(dt), &v))
		return -1;
	*out = v;
	return 0;
}

int
cedar_datetime_to_time(int64_t dt, int64_t *out)
{
	*out = ms_into_day(dt);
	return 0;
}

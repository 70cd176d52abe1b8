/*
 * Cedar extension types as pure functions: decimal, ipaddr, datetime and
 * duration.  The policy evaluator calls these for the constructors
 * decimal(), ip(), datetime(), duration() and their methods; everything
 * here follows Cedar 4.x (the Rust reference implementation) exactly,
 * including what it rejects.  No function allocates or keeps state.
 *
 * Every function returns 0 on success and -1 on error; out-parameters are
 * written only on success.  String inputs are (pointer, length) and need
 * not be NUL-terminated.
 */
#ifndef MDT_CEDAR_EXT_INT_H
#define MDT_CEDAR_EXT_INT_H

#include <stddef.h>
#include <stdint.h>

/* Value of one hexadecimal digit (either case), or -1.  Shared by the
 * string-escape reader and the IPv6 parser. */
static inline int
cedar_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ---- decimal: the value scaled by 10^4, in an int64 ---- */

#define CEDAR_DECIMAL_SCALE 10000

/* "-?[0-9]+\.[0-9]{1,4}", in range of int64 once scaled. */
int cedar_decimal_parse(const char *s, size_t len, int64_t *out);

/* ---- ipaddr ---- */

/*
 * An address with its prefix length.  addr holds 4 significant bytes for
 * IPv4 (v6 == 0) and 16 for IPv6 (v6 == 1); unused bytes are zero.  A bare
 * address has the full prefix (32 or 128).  Host bits beyond the prefix are
 * kept as written (Cedar keeps them: ip("10.0.0.1/8") != ip("10.0.0.0/8")).
 */
typedef struct cedar_ip {
	uint8_t v6;
	uint8_t addr[16];
	uint8_t prefix;
} cedar_ip;

int cedar_ip_parse(const char *s, size_t len, cedar_ip *out);
/* Predicates return 1 (true) or 0 (false). */
int cedar_ip_is_ipv4(const cedar_ip *ip);
int cedar_ip_is_ipv6(const cedar_ip *ip);
int cedar_ip_is_loopback(const cedar_ip *ip);
int cedar_ip_is_multicast(const cedar_ip *ip);
/* a's whole network inside range's network; false across families. */
int cedar_ip_in_range(const cedar_ip *a, const cedar_ip *range);
/* Same family, same address bytes and same prefix. */
int cedar_ip_equal(const cedar_ip *a, const cedar_ip *b);

/* ---- datetime (ms since the Unix epoch) and duration (ms) ---- */

#define CEDAR_MS_PER_DAY INT64_C(86400000)

int cedar_datetime_parse(const char *s, size_t len, int64_t *out_ms);
int cedar_duration_parse(const char *s, size_t len, int64_t *out_ms);
/* dt + dur; -1 on overflow. */
int cedar_datetime_offset(int64_t dt, int64_t dur, int64_t *out);
/* a - b; -1 on overflow. */
int cedar_datetime_duration_since(int64_t a, int64_t b, int64_t *out);
/* Midnight (UTC) of dt's day, flooring for times before the epoch. */
int cedar_datetime_to_date(int64_t dt, int64_t *out);
/* Milliseconds since that midnight, always in [0, 86400000). */
int cedar_datetime_to_time(int64_t dt, int64_t *out);

#endif

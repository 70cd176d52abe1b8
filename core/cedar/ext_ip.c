/*
 * Cedar's ipaddr extension type.  The text forms accepted are exactly
 * those of Cedar 4.x: Rust's std::net::IpAddr parser (no leading zeros in
 * IPv4 octets, 1-4 hex digits per IPv6 group, one "::"), refusing IPv4
 * embedded in IPv6, an optional "/prefix" without leading zeros, and at
 * most 43 bytes in all.  Host bits beyond the prefix are kept, so equality
 * compares them too, as Cedar does.
 */
#include <stdbool.h>
#include <string.h>

#include "cedar/ext_int.h"

/* len("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789/128") */
#define IP_STR_MAX 43

static size_t
count_char(const char *s, size_t len, char c)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == c;
	return n;
}

/* One IPv4 octet at s[i]: 1-3 digits, <= 255, "0" or no leading zero. */
static size_t
read_octet(const char *s, size_t len, size_t i, uint8_t *out)
{
	size_t n = 0;
	unsigned v = 0;

	while (i + n < len && s[i + n] >= '0' && s[i + n] <= '9') {
		if (++n > 3)
			return 0;
		v = v * 10 + (unsigned)(s[i + n - 1] - '0');
	}
	if (n == 0 || v > 255 || (n > 1 && s[i] == '0'))
		return 0;
	*out = (uint8_t)v;
	return n;
}

static int
parse_v4(const char *s, size_t len, uint8_t addr[16])
{
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		size_t n;

		if (k > 0 && (i >= len || s[i++] != '.'))
			return -1;
		n = read_octet(s, len, i, &addr[k]);
		if (n == 0)
			return -1;
		i += n;
	}
	return i == len ? 0 : -1;
}

/* One IPv6 group at s[i]: 1-4 hex digits (leading zeros allowed). */
static size_t
read_group(const char *s, size_t len, size_t i, uint16_t *out)
{
	size_t n = 0;
	unsigned v = 0;

	while (i + n < len && cedar_hex_digit(s[i + n]) >= 0) {
		if (++n > 4)
			return 0;
		v = v * 16 + (unsigned)cedar_hex_digit(s[i + n - 1]);
	}
	*out = (uint16_t)v;
	return n;
}

/*
 * Reads up to `limit` ':'-separated groups from s[*pos]; a separator is
 * consumed only together with the group after it.  Returns the count.
 */
static size_t
read_groups(const char *s, size_t len, size_t *pos, uint16_t *groups, size_t limit)
{
	size_t k;

	for (k = 0; k < limit; k++) {
		size_t at = *pos, n;

		if (k > 0 && (at >= len || s[at++] != ':'))
			break;
		n = read_group(s, len, at, &groups[k]);
		if (n == 0)
			break;
		*pos = at + n;
	}
	return k;
}

static int
parse_v6(const char *s, size_t len, uint8_t addr[16])
{
	uint16_t g[8] = {0}, tail[7];
	size_t pos = 0, head, ntail;

	head = read_groups(s, len, &pos, g, 8);
	if (head < 8) {
		if (pos + 2 > len || s[pos] != ':' || s[pos + 1] != ':')
			return -1;
		pos += 2;
		/* "::" stands for at least one zero group. */
		ntail = read_groups(s, len, &pos, tail, 8 - (head + 1));
		memcpy(&g[8 - ntail], tail, ntail * sizeof tail[0]);
	}
	if (pos != len)
		return -1;
	for (int k = 0; k < 8; k++) {
		addr[2 * k] = (uint8_t)(g[k] >> 8);
		addr[2 * k + 1] = (uint8_t)g[k];
	}
	return 0;
}

static int
parse_prefix(const char *s, size_t len, unsigned max, size_t max_len, uint8_t *out)
{
	unsigned v = 0;

	if (len == 0 || len > max_len || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (uint8_t)v;
	return 0;
}

int
cedar_ip_parse(const char *s, size_t len, cedar_ip *out)
{
	const char *slash;
	size_t alen;
	cedar_ip ip;

	if (len > IP_STR_MAX)
		return -1;
	/* Cedar refuses anything that mixes colon and dot notation. */
	if (count_char(s, len, ':') >= 2 && count_char(s, len, '.') >= 2)
		return -1;
	memset(&ip, 0, sizeof ip);
	slash = memchr(s, '/', len);
	alen = slash ? (size_t)(slash - s) : len;
	if (parse_v4(s, alen, ip.addr) == 0) {
		ip.prefix = 32;
	} else if (parse_v6(s, alen, ip.addr) == 0) {
		ip.v6 = 1;
		ip.prefix = 128;
	} else {
		return -1;
	}
	if (slash && parse_prefix(slash + 1, len - alen - 1, ip.prefix, ip.v6 ? 3 : 2,
				  &ip.prefix) != 0)
		return -1;
	*out = ip;
	return 0;
}

int
cedar_ip_is_ipv4(const cedar_ip *ip)
{
	return !ip->v6;
}

int
cedar_ip_is_ipv6(const cedar_ip *ip)
{
	return ip->v6;
}

int
cedar_ip_is_loopback(const cedar_ip *ip)
{
	static const uint8_t v6_loopback[16] = {[15] = 1};

	if (!ip->v6)
		return ip->addr[0] == 127 && ip->prefix >= 8;
	return memcmp(ip->addr, v6_loopback, 16) == 0 && ip->prefix >= 128;
}

int
cedar_ip_is_multicast(const cedar_ip *ip)
{
	if (!ip->v6)
		return (ip->addr[0] & 0xf0) == 0xe0 && ip->prefix >= 4;
	return ip->addr[0] == 0xff && ip->prefix >= 8;
}

/* Lowest (network) and highest (broadcast) address of ip's range. */
static void
ip_bounds(const cedar_ip *ip, size_t nbytes, uint8_t lo[16], uint8_t hi[16])
{
	for (size_t i = 0; i < nbytes; i++) {
		size_t bits = ip->prefix > 8 * i ? ip->prefix - 8 * i : 0;
		uint8_t mask = (uint8_t)(bits >= 8 ? 0xffu : 0xff00u >> bits);

		lo[i] = (uint8_t)(ip->addr[i] & mask);
		hi[i] = (uint8_t)(ip->addr[i] | ~mask);
	}
}

int
cedar_ip_in_range(const cedar_ip *a, const cedar_ip *range)
{
	size_t n = a->v6 ? 16 : 4;
	uint8_t alo[16], ahi[16], rlo[16], rhi[16];

	if (a->v6 != range->v6)
		return 0;
	ip_bounds(a, n, alo, ahi);
	ip_bounds(range, n, rlo, rhi);
	/* Big-endian bytes compare like the integers they spell. */
	return memcmp(rlo, alo, n) <= 0 && memcmp(ahi, rhi, n) <= 0;
}

int
cedar_ip_equal(const cedar_ip *a, const cedar_ip *b)
{
	return a->v6 == b->v6 && a->prefix == b->prefix &&
	       memcmp(a->addr, b->addr, sizeof a->addr) == 0;
}

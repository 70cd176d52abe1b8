/*
 * Cedar extension types (core/cedar/ext_*.c): decimal, ipaddr, datetime and
 * duration.  Hand-written cases pin the rules that differ from "obvious"
 * parsers; tests/unit/data/cedar_ext_vectors.tsv holds ~2,900 golden
 * vectors whose expected answers follow Cedar 4.x's reference rules.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cedar/ext_int.h"
#include "testutil.h"

/* Table entries are {input, 1, value} or {input, REJECT}. */
#define REJECT 0, 0

struct num_case {
	const char *in;
	int ok;
	int64_t want;
};

typedef int (*num_parse_fn)(const char *, size_t, int64_t *);

static void
check_num_cases(num_parse_fn fn, const struct num_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t v = 42;
		int rc = fn(c[i].in, strlen(c[i].in), &v);

		if (!c[i].ok) {
			ck_assert_msg(rc == -1, "\"%s\" accepted as %" PRId64, c[i].in, v);
			ck_assert_msg(v == 42, "\"%s\": out written on error", c[i].in);
		} else {
			ck_assert_msg(rc == 0, "\"%s\" rejected", c[i].in);
			ck_assert_msg(v == c[i].want, "\"%s\": got %" PRId64 ", want %" PRId64,
				      c[i].in, v, c[i].want);
		}
	}
}

static const struct num_case decimal_cases[] = {
	{"1.0", 1, 10000},
	{"-1.5", 1, -15000},
	{"-0.5", 1, -5000}, /* the sign applies to the fraction too */
	{"0.0001", 1, 1},
	{"12.34", 1, 123400},
	{"007.1", 1, 71000},
	{"922337203685477.5807", 1, INT64_MAX},
	{"-922337203685477.5808", 1, INT64_MIN},
	{"922337203685477.5808", REJECT},
	{"-922337203685477.5809", REJECT},
	{"9223372036854775807.0", REJECT}, /* fits i64, overflows once scaled */
	{"1.23456", REJECT},		/* at most four fractional digits */
	{"1", REJECT},
	{"1.", REJECT},
	{".5", REJECT},
	{"-.5", REJECT},
	{"+1.0", REJECT},
	{"1.0 ", REJECT},
	{"1,0", REJECT},
	{"--1.0", REJECT},
	{"", REJECT},
};

START_TEST(decimal_rules)
{
	check_num_cases(cedar_decimal_parse, decimal_cases,
			sizeof decimal_cases / sizeof decimal_cases[0]);
}
END_TEST

#define DAY CEDAR_MS_PER_DAY
#define HOUR INT64_C(3600000)

static const struct num_case datetime_cases[] = {
	{"1970-01-01", 1, 0},
	{"2024-10-15", 1, INT64_C(1728950400000)},
	{"2024-10-15T11:38:02Z", 1, INT64_C(1728992282000)},
	{"2024-10-15T11:38:02.101Z", 1, INT64_C(1728992282101)},
	/* +hhmm means local time ahead of UTC: subtract it */
	{"2024-10-15T11:38:02.101+1134", 1, INT64_C(1728950642101)},
	{"2024-10-15T11:38:02-1134", 1, INT64_C(1729033922000)},
	{"1969-12-31T23:59:59.999Z", 1, -1},
	{"2024-02-29", 1, INT64_C(1709164800000)},
	{"2000-02-29", 1, INT64_C(951782400000)},
	{"0000-02-29", 1, INT64_C(-62162121600000)}, /* year 0 is a leap year */
	{"0000-01-01T00:00:00+2359", 1, INT64_C(-62167305540000)},
	{"9999-12-31T23:59:59.999-2359", 1, INT64_C(253402387139999)},
	{"2023-02-29", REJECT},
	{"1900-02-29", REJECT},
	{"2024-04-31", REJECT},
	{"2024-00-01", REJECT},
	{"2024-13-01", REJECT},
	{"2024-01-00", REJECT},
	{"2024-10-15T24:00:00Z", REJECT},
	{"2024-10-15T23:60:00Z", REJECT},
	{"2016-12-31T23:59:60Z", REJECT}, /* no leap seconds */
	{"2024-10-15T11:38:02+2400", REJECT},
	{"2024-10-15T11:38:02+0060", REJECT},
	{"2024-10-15T11:38:02", REJECT}, /* a time needs Z or an offset */
	{"2024-10-15T11:38:02.1Z", REJECT},
	{"2024-10-15T11:38:02.1234Z", REJECT},
	{"2024-10-15T11:38:02+01:00", REJECT},
	{"2024-10-15T11:38:02z", REJECT},
	{"2024-10-15Z", REJECT},
	{"2024-10-15T", REJECT},
	{"2024-10-15 11:38:02Z", REJECT},
	{"10000-01-01", REJECT},
	{"2024-1-01", REJECT},
	{"-2024-01-01", REJECT},
	{"", REJECT},
};

START_TEST(datetime_rules)
{
	check_num_cases(cedar_datetime_parse, datetime_cases,
			sizeof datetime_cases / sizeof datetime_cases[0]);
}
END_TEST

static const struct num_case duration_cases[] = {
	{"1d2h3m4s5ms", 1, DAY + 2 * HOUR + 3 * 60000 + 4000 + 5},
	{"-1d", 1, -DAY},
	{"-3h5m", 1, -3 * HOUR - 5 * 60000},
	{"1m", 1, 60000},
	{"1ms", 1, 1},
	{"0ms", 1, 0},
	{"-0s", 1, 0},
	{"90m", 1, 90 * 60000}, /* no carrying limits per unit */
	{"9223372036854775807ms", 1, INT64_MAX},
	{"-9223372036854775808ms", 1, INT64_MIN},
	{"106751991167d7h12m55s807ms", 1, INT64_MAX},
	{"-106751991167d7h12m55s808ms", 1, INT64_MIN},
	{"9223372036854775808ms", REJECT},
	{"-9223372036854775809ms", REJECT},
	{"106751991168d", REJECT},
	{"106751991167d7h12m55s808ms", REJECT},
	{"-106751991167d7h12m55s809ms", REJECT},
	{"9223372036854775808s", REJECT}, /* each part must fit i64 first */
	{"18446744073709551616ms", REJECT}, /* beyond u64 */
	{"", REJECT},
	{"-", REJECT},
	{"1", REJECT},
	{"d", REJECT},
	{"1h1d", REJECT}, /* units in order d, h, m, s, ms */
	{"1ms1s", REJECT},
	{"1d1d", REJECT},
	{"1mm", REJECT},
	{"1D", REJECT},
	{"+1d", REJECT},
	{"1d 2h", REJECT},
	{"1d-2h", REJECT},
};

START_TEST(duration_rules)
{
	check_num_cases(cedar_duration_parse, duration_cases,
			sizeof duration_cases / sizeof duration_cases[0]);
}
END_TEST

static cedar_ip
ip_of(const char *s)
{
	cedar_ip ip;

	ck_assert_msg(cedar_ip_parse(s, strlen(s), &ip) == 0, "ip(\"%s\") rejected", s);
	return ip;
}

static const char *const ip_rejected[] = {
	"01.2.3.4",	    /* leading zeros in an octet */
	"1.2.3.256",	    "1.2.3",	     "1.2.3.4.5",   "1.2.3.4/33", "1.2.3.4/032",
	"1.2.3.4/",	    "1.2.3.4/+8",    "::/129",	    "::/0128",	  "::ffff:1.2.3.4",
	"::1.2.3.4",	    "1:2:3:4:5:6:7:8:9",	    "1::2::3",	  ":::",
	"12345::",	    "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::",	  "fe80::1%eth0",
	"::1:2:3:4:5:6:7:8", "0000:0000:0000:0000:0000:0000:0000:0001/0128",
	"1.2.3.4 ",	    "",		     "localhost",
};

START_TEST(ip_rejects)
{
	for (size_t i = 0; i < sizeof ip_rejected / sizeof ip_rejected[0]; i++) {
		cedar_ip ip;
		const char *s = ip_rejected[i];

		ck_assert_msg(cedar_ip_parse(s, strlen(s), &ip) == -1, "ip(\"%s\") accepted", s);
	}
}
END_TEST

START_TEST(ip_forms)
{
	cedar_ip a = ip_of("1:2:3:4:5:6:7::"), b = ip_of("::2:3:4:5:6:7:8");
	cedar_ip c = ip_of("0000:0000:0000:0000:0000:0000:0000:0001/128");

	ck_assert(cedar_ip_is_ipv6(&a) && !cedar_ip_is_ipv4(&a));
	ck_assert_int_eq(a.addr[14] | a.addr[15], 0);
	ck_assert_int_eq(b.addr[0] | b.addr[1], 0);
	ck_assert_int_eq(b.addr[15], 8);
	ck_assert(cedar_ip_equal(&c, &(cedar_ip){0}) == 0);
	ck_assert(cedar_ip_is_loopback(&c));
	a = ip_of("10.1.2.3");
	ck_assert(cedar_ip_is_ipv4(&a) && a.prefix == 32 && a.addr[3] == 3);
	a = ip_of("0.0.0.0/0");
	ck_assert(a.prefix == 0);
}
END_TEST

START_TEST(ip_predicates)
{
	cedar_ip lo4 = ip_of("127.255.0.1/8"), wide = ip_of("127.0.0.1/7");
	cedar_ip lo6 = ip_of("::1"), lo6net = ip_of("::1/127"), mapped = ip_of("::ffff:7f00:1");
	cedar_ip mc4 = ip_of("239.1.1.1/4"), mc4wide = ip_of("224.0.0.0/3");
	cedar_ip mc6 = ip_of("ff02::1"), mc6wide = ip_of("ff00::/7");

	/* a range only counts when all of it is loopback/multicast */
	ck_assert(cedar_ip_is_loopback(&lo4) && !cedar_ip_is_loopback(&wide));
	ck_assert(cedar_ip_is_loopback(&lo6) && !cedar_ip_is_loopback(&lo6net));
	ck_assert(!cedar_ip_is_loopback(&mapped)); /* IPv4-mapped stays IPv6 */
	ck_assert(cedar_ip_is_multicast(&mc4) && !cedar_ip_is_multicast(&mc4wide));
	ck_assert(cedar_ip_is_multicast(&mc6) && !cedar_ip_is_multicast(&mc6wide));
	ck_assert(!cedar_ip_is_multicast(&lo4) && !cedar_ip_is_loopback(&mc6));
}
END_TEST

START_TEST(ip_range_and_equality)
{
	cedar_ip net = ip_of("10.0.0.0/8"), host = ip_of("10.1.2.3");
	cedar_ip sub = ip_of("10.1.0.0/16"), other = ip_of("11.0.0.1");
	cedar_ip hostbits = ip_of("10.0.0.1/8"), v6 = ip_of("::a01:203");
	cedar_ip all4 = ip_of("0.0.0.0/0"), all6 = ip_of("::/0");

	ck_assert(cedar_ip_in_range(&host, &net) && cedar_ip_in_range(&sub, &net));
	ck_assert(!cedar_ip_in_range(&net, &sub) && !cedar_ip_in_range(&other, &net));
	ck_assert(cedar_ip_in_range(&net, &net) && cedar_ip_in_range(&net, &hostbits));
	ck_assert(cedar_ip_in_range(&host, &all4) && !cedar_ip_in_range(&host, &all6));
	ck_assert(!cedar_ip_in_range(&v6, &net) && cedar_ip_in_range(&v6, &all6));
	/* equality keeps host bits and prefix: 10.0.0.1/8 != 10.0.0.0/8 */
	ck_assert(!cedar_ip_equal(&net, &hostbits));
	ck_assert(cedar_ip_equal(&net, &(cedar_ip){.addr = {10}, .prefix = 8}));
	ck_assert(!cedar_ip_equal(&all4, &all6));
}
END_TEST

START_TEST(datetime_arithmetic)
{
	int64_t v = 7;

	ck_assert_int_eq(cedar_datetime_offset(INT64_MAX - 1, 1, &v), 0);
	ck_assert(v == INT64_MAX);
	ck_assert_int_eq(cedar_datetime_offset(INT64_MAX, 1, &v), -1);
	ck_assert_int_eq(cedar_datetime_offset(INT64_MIN, -1, &v), -1);
	ck_assert(v == INT64_MAX); /* untouched on error */
	ck_assert_int_eq(cedar_datetime_duration_since(0, INT64_MIN, &v), -1);
	ck_assert_int_eq(cedar_datetime_duration_since(-1, INT64_MIN, &v), 0);
	ck_assert(v == INT64_MAX);
	ck_assert_int_eq(cedar_datetime_duration_since(DAY, 3 * DAY, &v), 0);
	ck_assert(v == -2 * DAY);
}
END_TEST

START_TEST(date_and_time_floor_before_epoch)
{
	static const struct {
		int64_t dt, date, time;
	} c[] = {
		{0, 0, 0},
		{DAY + 5, DAY, 5},
		{-1, -DAY, DAY - 1},
		{-DAY, -DAY, 0},
		{-DAY - 1, -2 * DAY, DAY - 1},
		{INT64_MAX, INT64_MAX - INT64_MAX % DAY, INT64_MAX % DAY},
	};
	int64_t v;

	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		ck_assert_int_eq(cedar_datetime_to_date(c[i].dt, &v), 0);
		ck_assert_msg(v == c[i].date, "toDate(%" PRId64 ") = %" PRId64, c[i].dt, v);
		ck_assert_int_eq(cedar_datetime_to_time(c[i].dt, &v), 0);
		ck_assert_msg(v == c[i].time, "toTime(%" PRId64 ") = %" PRId64, c[i].dt, v);
	}
	/* The midnight before i64::MIN is not representable: Cedar errors. */
	v = 3;
	ck_assert_int_eq(cedar_datetime_to_date(INT64_MIN, &v), -1);
	ck_assert(v == 3);
	ck_assert_int_eq(cedar_datetime_to_time(INT64_MIN, &v), 0);
	ck_assert(v == DAY + INT64_MIN % DAY);
}
END_TEST

/* ---- golden vectors ---- */

/* Undoes the \xHH escapes of the vector file in place; returns the length. */
static size_t
unescape(char *s)
{
	size_t o = 0;

	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] == '\\' && s[i + 1] == 'x') {
			char hex[3] = {s[i + 2], s[i + 3], 0};

			s[o++] = (char)strtol(hex, NULL, 16);
			i += 3;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

static void
format_ip(const char *s, size_t n, char *out, size_t outlen)
{
	cedar_ip ip;
	int k;

	if (cedar_ip_parse(s, n, &ip) != 0) {
		snprintf(out, outlen, "err");
		return;
	}
	k = snprintf(out, outlen, "%s ", ip.v6 ? "v6" : "v4");
	for (int i = 0; i < (ip.v6 ? 16 : 4); i++)
		k += snprintf(out + k, outlen - (size_t)k, "%02x", ip.addr[i]);
	snprintf(out + k, outlen - (size_t)k, "/%u lb=%d mc=%d", ip.prefix,
		 cedar_ip_is_loopback(&ip), cedar_ip_is_multicast(&ip));
}

static void
format_pair(char *a, char *b, char *out, size_t outlen)
{
	cedar_ip x, y;
	size_t na = unescape(a), nb = unescape(b);

	ck_assert(cedar_ip_parse(a, na, &x) == 0 && cedar_ip_parse(b, nb, &y) == 0);
	snprintf(out, outlen, "in=%d eq=%d", cedar_ip_in_range(&x, &y), cedar_ip_equal(&x, &y));
}

static void
format_num(num_parse_fn fn, const char *s, size_t n, char *out, size_t outlen)
{
	int64_t v;

	if (fn(s, n, &v) != 0)
		snprintf(out, outlen, "err");
	else
		snprintf(out, outlen, "%" PRId64, v);
}

static const struct {
	const char *kind;
	num_parse_fn fn;
} num_kinds[] = {
	{"decimal", cedar_decimal_parse},
	{"datetime", cedar_datetime_parse},
	{"duration", cedar_duration_parse},
};

/* Computes this implementation's answer for one vector line's fields. */
static int
answer(char **f, int nf, char *got, size_t gotlen)
{
	if (strcmp(f[0], "ip2") == 0 && nf == 4) {
		format_pair(f[1], f[2], got, gotlen);
		return 3;
	}
	if (nf != 3)
		return -1;
	if (strcmp(f[0], "ip") == 0) {
		size_t n = unescape(f[1]);
		format_ip(f[1], n, got, gotlen);
		return 2;
	}
	for (size_t k = 0; k < sizeof num_kinds / sizeof num_kinds[0]; k++) {
		if (strcmp(f[0], num_kinds[k].kind) == 0) {
			size_t n = unescape(f[1]);
			format_num(num_kinds[k].fn, f[1], n, got, gotlen);
			return 2;
		}
	}
	return -1;
}

START_TEST(golden_vectors)
{
	char path[4096], line[512], got[128];
	FILE *fp;
	int lineno = 0, checked = 0;

	snprintf(path, sizeof path, "%s/tests/unit/data/cedar_ext_vectors.tsv",
		 mdt_test_source_dir());
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	while (fgets(line, sizeof line, fp) != NULL) {
		char *f[4], *tab;
		int nf = 1, want;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		/* split on tabs keeping empty fields (the empty input is a vector) */
		f[0] = line;
		while (nf < 4 && (tab = strchr(f[nf - 1], '\t')) != NULL) {
			*tab = '\0';
			f[nf++] = tab + 1;
		}
		want = answer(f, nf, got, sizeof got);
		ck_assert_msg(want > 0, "line %d: malformed vector", lineno);
		ck_assert_msg(strcmp(got, f[want]) == 0, "line %d (%s): got \"%s\", want \"%s\"",
			      lineno, f[0], got, f[want]);
		checked++;
	}
	fclose(fp);
	ck_assert_int_gt(checked, 2500);
}
END_TEST

static Suite *
cedar_ext_suite(void)
{
	Suite *s = suite_create("cedar_ext");
	TCase *tc = tcase_create("ext");

	tcase_add_test(tc, decimal_rules);
	tcase_add_test(tc, datetime_rules);
	tcase_add_test(tc, duration_rules);
	tcase_add_test(tc, ip_rejects);
	tcase_add_test(tc, ip_forms);
	tcase_add_test(tc, ip_predicates);
	tcase_add_test(tc, ip_range_and_equality);
	tcase_add_test(tc, datetime_arithmetic);
	tcase_add_test(tc, date_and_time_floor_before_epoch);
	tcase_add_test(tc, golden_vectors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(cedar_ext_suite());
}

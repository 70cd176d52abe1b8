/*
 * Cedar's decimal extension type: parsing "-?[0-9]+\.[0-9]{1,4}" into an
 * int64 scaled by 10^4, with Cedar's overflow rules.  Comparison is plain
 * integer comparison of the scaled values, so only parsing lives here.
 */
#include <stdbool.h>

#include "cedar/ext_int.h"

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static size_t
count_digits(const char *s, size_t len, size_t from)
{
	size_t i = from;

	while (i < len && is_digit(s[i]))
		i++;
	return i - from;
}

/*
 * Accumulates digits as a negative number so that "-9223372036854775808"
 * (i64::MIN, which Cedar's i64::from_str accepts) does not overflow.
 */
static int
digits_negated(const char *s, size_t n, int64_t *out)
{
	int64_t acc = 0;

	for (size_t i = 0; i < n; i++) {
		if (__builtin_mul_overflow(acc, 10, &acc) ||
		    __builtin_sub_overflow(acc, (int64_t)(s[i] - '0'), &acc))
			return -1;
	}
	*out = acc;
	return 0;
}

int
cedar_decimal_parse(const char *s, size_t len, int64_t *out)
{
	static const int64_t frac_scale[] = {0, 1000, 100, 10, 1};
	bool neg = len > 0 && s[0] == '-';
	size_t int_at = neg ? 1 : 0;
	size_t int_n = count_digits(s, len, int_at);
	size_t frac_at = int_at + int_n + 1;
	size_t frac_n;
	int64_t whole, frac = 0, v;

	if (int_n == 0 || frac_at > len || s[frac_at - 1] != '.')
		return -1;
	frac_n = count_digits(s, len, frac_at);
	if (frac_n == 0 || frac_at + frac_n != len || frac_n > 4)
		return -1;
	if (digits_negated(s + int_at, int_n, &whole) != 0)
		return -1;
	if (!neg && whole == INT64_MIN)
		return -1; /* one past i64::MAX */
	if (!neg)
		whole = -whole;
	(void)digits_negated(s + frac_at, frac_n, &frac);
	frac = -frac * frac_scale[frac_n];
	if (__builtin_mul_overflow(whole, (int64_t)CEDAR_DECIMAL_SCALE, &v))
		return -1;
	/* Cedar adds the fraction for positives and subtracts it for "-". */
	if (neg ? __builtin_sub_overflow(v, frac, &v) : __builtin_add_overflow(v, frac, &v))
		return -1;
	*out = v;
	return 0;
}

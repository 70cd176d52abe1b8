/*
 * Validation of the JSON columns of audit records.  Every decision
 * carries four of them (reasons, policy ids, agent chain, and the Cedar
 * request of an evaluated one), as the broker writes them: compact JSON
 * (no spaces) of plain strings, small integers, booleans, and nesting.
 * Those are recognised here by a scan that allocates nothing (UTF-8
 * checked by the one validator, whose rule is jansson's: RFC 3629);
 * anything else -- \u escapes, reals, long numbers, spacing, deep or
 * wide nesting -- goes to jansson, so the scan only ever accepts a subset
 * of what jansson accepts and the rules stay jansson's.
 */
#include <string.h>

#include <jansson.h>

#include "core_int.h"
#include "utf8_int.h"

/* Deeper or wider objects go to jansson (the scan keeps keys on the
 * stack to refuse duplicates). */
#define DEPTH_MAX 16
#define KEYS_MAX 32

/* Length of the run of non-ASCII bytes at s: a valid character is ASCII
 * or made only of bytes >= 0x80, so each run must be UTF-8 by itself. */
static size_t
high_run(const char *s)
{
	size_t e = 0;

	while ((unsigned char)s[e] >= 0x80)
		e++;
	return e;
}

/* A string of characters without \u escapes: the offset past its closing
 * quote, or 0.  Raw text is jansson's rule: any character but a control
 * below U+0020, in valid UTF-8. */
static size_t
plain_string(const char *s, size_t i)
{
	if (s[i++] != '"')
		return 0;
	for (;; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t run;
		if (c == '"')
			return i + 1;
		if (c < 0x20)
			return 0;
		if (c >= 0x80) {
			run = high_run(s + i);
			if (!mdt__utf8_ok(s + i, run, 0))
				return 0;
			i += run - 1;
			continue;
		}
		if (c == '\\' && (s[i + 1] == 0 ||
		    strchr("\"\\/bfnrt", s[i + 1]) == NULL))
			return 0;
		if (c == '\\')
			i++;
	}
}

/* [] or ["a","b",...] with no spaces. */
static int
flat_array(const char *s)
{
	size_t i = 1;

	if (s[0] != '[')
		return 0;
	if (s[1] == ']')
		return s[2] == 0;
	for (;;) {
		size_t e = plain_string(s, i);
		if (e == 0)
			return 0;
		if (s[e] == ']')
			return s[e + 1] == 0;
		if (s[e] != ',')
			return 0;
		i = e + 1;
	}
}

static size_t value_at(const char *s, size_t i, unsigned depth);

/* -?(0|[1-9][0-9]{0,17}) not followed by more of a number: an integer
 * jansson holds in its json_int_t; the offset past it, or 0. */
static size_t
small_int(const char *s, size_t i)
{
	size_t d = 0;

	i += s[i] == '-';
	if (s[i] == '0')
		d = 1;
	else
		while (s[i + d] >= '0' && s[i + d] <= '9')
			d++;
	if (d == 0 || d > 18)
		return 0;
	i += d;
	if (s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
	    (s[i] >= '0' && s[i] <= '9'))
		return 0;
	return i;
}

/* [v,...] at s[i]: the offset past it, or 0. */
static size_t
array_at(const char *s, size_t i, unsigned depth)
{
	if (s[++i] == ']')
		return i + 1;
	for (;;) {
		if ((i = value_at(s, i, depth + 1)) == 0)
			return 0;
		if (s[i] == ']')
			return i + 1;
		if (s[i++] != ',')
			return 0;
	}
}

/* {"k":v,...} at s[i] with distinct escape-free keys: the offset past
 * it, or 0. */
static size_t
object_at(const char *s, size_t i, unsigned depth)
{
	size_t key[KEYS_MAX], klen[KEYS_MAX], n = 0;

	if (s[++i] == '}')
		return i + 1;
	for (;;) {
		size_t k = plain_string(s, i);
		if (k == 0 || n == KEYS_MAX || s[k] != ':' ||
		    memchr(s + i, '\\', k - i) != NULL)
			return 0;
		for (size_t j = 0; j < n; j++)
			if (klen[j] == k - i && memcmp(s + key[j], s + i,
			    k - i) == 0)
				return 0;
		key[n] = i;
		klen[n++] = k - i;
		if ((i = value_at(s, k + 1, depth + 1)) == 0)
			return 0;
		if (s[i] == '}')
			return i + 1;
		if (s[i++] != ',')
			return 0;
	}
}

static size_t
value_at(const char *s, size_t i, unsigned depth)
{
	if (depth > DEPTH_MAX)
		return 0;
	switch (s[i]) {
	case '"':
		return plain_string(s, i);
	case '[':
		return array_at(s, i, depth);
	case '{':
		return object_at(s, i, depth);
	case 't':
		return strncmp(s + i, "true", 4) == 0 ? i + 4 : 0;
	case 'f':
		return strncmp(s + i, "false", 5) == 0 ? i + 5 : 0;
	case 'n':
		return strncmp(s + i, "null", 4) == 0 ? i + 4 : 0;
	default:
		return small_int(s, i);
	}
}

/* An object or array written compactly (no spaces), as the broker
 * writes them. */
static int
compact(const char *s)
{
	size_t e;

	if (s[0] != '{' && s[0] != '[')
		return 0;
	e = value_at(s, 0, 0);
	return e != 0 && s[e] == 0;
}

int
mdt__json_ok_jansson(const char *text, int want)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
	    &je);
	int ok = j != NULL;

	if (ok && want == 2) {
		size_t i;
		json_t *e;
		ok = json_is_array(j);
		json_array_foreach(j, i, e)
			if (!json_is_string(e))
				ok = 0;
	}
	json_decref(j);
	return ok;
}

int
mdt__json_ok(const char *text, int want)
{
	if (flat_array(text) || (want == 1 && compact(text)))
		return 1;
	return mdt__json_ok_jansson(text, want);
}

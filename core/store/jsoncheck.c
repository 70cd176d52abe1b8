/*
 * Validation of the JSON columns of audit records.  Every decision
 * carries three of them (reasons, policy ids, agent chain), almost always
 * in two small shapes: an array of plain strings, or a flat object of
 * plain strings.  Those shapes are recognised here by a scan that
 * allocates nothing (UTF-8 checked by the one validator, whose rule is
 * jansson's: RFC 3629); anything else -- numbers, nesting, \u escapes,
 * odd spacing -- goes to jansson, so the scan only ever accepts a subset
 * of what jansson accepts and the rules stay jansson's.
 */
#include <string.h>

#include <jansson.h>

#include "core_int.h"
#include "utf8_int.h"

#define FLAT_KEYS_MAX 8

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

/* {} or {"k":"v",...} with no spaces and distinct escape-free keys. */
static int
flat_object(const char *s)
{
	size_t key[FLAT_KEYS_MAX], klen[FLAT_KEYS_MAX], n = 0, i = 1;

	if (s[0] != '{')
		return 0;
	if (s[1] == '}')
		return s[2] == 0;
	for (;;) {
		size_t k = plain_string(s, i), v;
		if (k == 0 || n == FLAT_KEYS_MAX || s[k] != ':' ||
		    memchr(s + i, '\\', k - i) != NULL)
			return 0;
		for (size_t j = 0; j < n; j++)
			if (klen[j] == k - i && memcmp(s + key[j], s + i,
			    k - i) == 0)
				return 0;
		key[n] = i;
		klen[n++] = k - i;
		if ((v = plain_string(s, k + 1)) == 0)
			return 0;
		if (s[v] == '}')
			return s[v + 1] == 0;
		if (s[v] != ',')
			return 0;
		i = v + 1;
	}
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
	if (flat_array(text) || (want == 1 && flat_object(text)))
		return 1;
	return mdt__json_ok_jansson(text, want);
}

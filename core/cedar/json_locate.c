/*
 * Finds where a JSON path (keys and array indexes) starts in the original
 * text, so that errors found after jansson parsed the document can still
 * name file:line:col.  The text is known to be valid JSON at this point.
 */
#include <string.h>

#include "cedar/json_int.h"

static size_t
skip_ws(const char *t, size_t n, size_t i)
{
	while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
		i++;
	return i;
}

static size_t
skip_string(const char *t, size_t n, size_t i)
{
	for (i++; i < n && t[i] != '"'; i++)
		if (t[i] == '\\')
			i++;
	return i + 1;
}

/* Skips one value starting at i (iteratively, by bracket depth). */
static size_t
skip_value(const char *t, size_t n, size_t i)
{
	size_t depth = 0;

	do {
		i = skip_ws(t, n, i);
		if (i >= n)
			return n;
		if (t[i] == '"') {
			i = skip_string(t, n, i);
		} else if (t[i] == '{' || t[i] == '[') {
			depth++;
			i++;
		} else if (t[i] == '}' || t[i] == ']') {
			depth--;
			i++;
		} else if (t[i] == ',' || t[i] == ':') {
			i++;
		} else {
			while (i < n && strchr(",}] \t\r\n", t[i]) == NULL)
				i++;
		}
	} while (depth > 0 && i < n);
	return i;
}

/* Offset of member key (unescaped keys only) of the object at i. */
static size_t
find_key(const char *t, size_t n, size_t i, const char *key)
{
	size_t klen = strlen(key);

	i = skip_ws(t, n, i) + 1;
	for (;;) {
		size_t ks, ke;
		i = skip_ws(t, n, i);
		if (i >= n || t[i] != '"')
			return (size_t)-1;
		ks = i + 1;
		ke = skip_string(t, n, i) - 1;
		i = skip_ws(t, n, ke + 1) + 1;
		if (ke - ks == klen && memcmp(t + ks, key, klen) == 0)
			return skip_ws(t, n, i);
		i = skip_ws(t, n, skip_value(t, n, i));
		if (i >= n || t[i] != ',')
			return (size_t)-1;
		i++;
	}
}

static size_t
find_index(const char *t, size_t n, size_t i, size_t index)
{
	i = skip_ws(t, n, i) + 1;
	for (size_t k = 0; k < index; k++) {
		i = skip_ws(t, n, skip_value(t, n, i));
		if (i >= n || t[i] != ',')
			return (size_t)-1;
		i++;
	}
	return skip_ws(t, n, i);
}

static size_t
locate(const cedar_jctx *jc, const char *t, size_t n)
{
	size_t i = skip_ws(t, n, 0), depth = jc->depth;

	if (depth > CEDAR_JSON_DEPTH)
		depth = CEDAR_JSON_DEPTH;
	for (size_t k = 0; k < depth && i < n; k++) {
		const cedar_jstep *s = &jc->path[k];
		char open = s->key != NULL ? '{' : '[';
		size_t next;
		if (t[i] != open)
			break;
		next = s->key != NULL ? find_key(t, n, i, s->key) :
		    find_index(t, n, i, s->index);
		if (next == (size_t)-1 || next >= n)
			break;
		i = next;
	}
	return i < n ? i : n;
}

void
cj_report(const cedar_jctx *jc, const char *text, size_t len,
    const char *name, char *err, size_t errlen)
{
	uint32_t line, col;

	cedar_line_col(text, locate(jc, text, len), &line, &col);
	snprintf(err, errlen, "%s:%u:%u: %s", name, line, col, jc->msg);
}

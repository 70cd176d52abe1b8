/*
 * Scope sets: lifecycle, adding parsed scopes, reading them back and the
 * canonical text of a whole set (include/mandate/scope.h).
 */
#include <string.h>

#include "alloc_int.h"
#include "parse_err_int.h"
#include "scope_int.h"

int
mdt_scope_set_new(mdt_scope_set **out)
{
	mdt_scope_set *set;

	if (out == NULL)
		return -MDT_EINVAL;
	if ((set = mdt__calloc(1, sizeof(*set))) == NULL)
		return -MDT_ENOMEM;
	*out = set;
	return 0;
}

void
mdt_scope_set_free(mdt_scope_set *set)
{
	if (set == NULL)
		return;
	mdt__free(set->v);
	mdt__free(set);
}

int
mdt_scope_set_dup(const mdt_scope_set *set, mdt_scope_set **out)
{
	mdt_scope_set *d;
	int rc;

	if (set == NULL || out == NULL)
		return -MDT_EINVAL;
	if ((rc = mdt_scope_set_new(&d)) != 0)
		return rc;
	if (set->n > 0) {
		if ((d->v = mdt__malloc(set->n * sizeof(*d->v))) == NULL) {
			mdt_scope_set_free(d);
			return -MDT_ENOMEM;
		}
		memcpy(d->v, set->v, set->n * sizeof(*d->v));
		d->n = d->cap = set->n;
	}
	*out = d;
	return 0;
}

int
mdt__scope_set_push(mdt_scope_set *set, const mdt__scope *sc)
{
	for (size_t i = 0; i < set->n; i++)
		if (mdt__scope_cmp(&set->v[i], sc) == 0)
			return 0;
	if (set->n == MDT_SCOPE_SET_MAX)
		return -MDT_ETOOBIG;
	if (set->n == set->cap) {
		size_t cap = set->cap == 0 ? 4 : set->cap * 2;
		mdt__scope *v;
		if (cap > MDT_SCOPE_SET_MAX)
			cap = MDT_SCOPE_SET_MAX;
		if ((v = mdt__realloc(set->v, cap * sizeof(*v))) == NULL)
			return -MDT_ENOMEM;
		set->v = v;
		set->cap = cap;
	}
	set->v[set->n++] = *sc;
	return 0;
}

static int
add_at(mdt_scope_set *set, const char *text, size_t len, size_t base,
    char *err, size_t errlen)
{
	mdt__scope sc;
	int rc;

	if ((rc = mdt__scope_parse(text, len, base, &sc, err, errlen)) != 0)
		return rc;
	if ((rc = mdt__scope_set_push(set, &sc)) == -MDT_ETOOBIG)
		return mdt__parse_err(rc, err, errlen, base,
		    "more than %d scopes in one set", MDT_SCOPE_SET_MAX);
	if (rc != 0)
		return mdt__errmsg(rc, err, errlen, "%s", mdt_strerror(rc));
	return 0;
}

int
mdt_scope_set_add(mdt_scope_set *set, const char *text, size_t len,
    char *err, size_t errlen)
{
	if (set == NULL || text == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no set or text");
	return add_at(set, text, len, 0, err, errlen);
}

/* Scopes are separated by exactly one space: no leading, trailing or
 * doubled spaces, so one list has one reading. */
int
mdt__scope_list_parse(const char *text, size_t len,
    int (*skip)(const char *s, size_t n), mdt_scope_set **out, char *err,
    size_t errlen)
{
	mdt_scope_set *set;
	size_t start = 0;
	int rc;

	if (text == NULL || out == NULL)
		return mdt__errmsg(-MDT_EINVAL, err, errlen, "no text");
	if (len > MDT_SCOPE_SET_MAX * (MDT_SCOPE_TEXT_MAX + 1))
		return mdt__parse_err(-MDT_ETOOBIG, err, errlen, 0,
		    "scope list longer than %d bytes",
		    MDT_SCOPE_SET_MAX * (MDT_SCOPE_TEXT_MAX + 1));
	if ((rc = mdt_scope_set_new(&set)) != 0)
		return mdt__errmsg(rc, err, errlen, "%s", mdt_strerror(rc));
	while (rc == 0 && len > 0 && start <= len) {
		const char *sp = memchr(text + start, ' ', len - start);
		size_t end = sp != NULL ? (size_t)(sp - text) : len;
		if (end == start)
			rc = mdt__parse_err(-MDT_EPARSE, err, errlen, start,
			    "empty scope (leading, trailing or doubled space)");
		else if (skip == NULL || !skip(text + start, end - start))
			rc = add_at(set, text + start, end - start, start, err,
			    errlen);
		start = end + 1;
	}
	if (rc != 0) {
		mdt_scope_set_free(set);
		return rc;
	}
	*out = set;
	return 0;
}

int
mdt_scope_set_parse(const char *text, size_t len, mdt_scope_set **out,
    char *err, size_t errlen)
{
	return mdt__scope_list_parse(text, len, NULL, out, err, errlen);
}

size_t
mdt_scope_set_count(const mdt_scope_set *set)
{
	return set == NULL ? 0 : set->n;
}

int
mdt_scope_set_get(const mdt_scope_set *set, size_t i, char *buf,
    size_t buflen)
{
	if (set == NULL || buf == NULL || i >= set->n)
		return -MDT_EINVAL;
	if (mdt__scope_text_len(&set->v[i]) >= buflen)
		return -MDT_ETOOBIG;
	mdt__scope_write(&set->v[i], buf);
	return 0;
}

int
mdt_scope_set_format(const mdt_scope_set *set, char **out)
{
	mdt__scope *sorted;
	size_t total = 1, n;
	char *buf;

	if (set == NULL || out == NULL)
		return -MDT_EINVAL;
	for (size_t i = 0; i < set->n; i++)
		total += mdt__scope_text_len(&set->v[i]) + 1;
	if ((buf = mdt__malloc(total)) == NULL)
		return -MDT_ENOMEM;
	if ((sorted = mdt__malloc((set->n + 1) * sizeof(*sorted))) == NULL) {
		mdt__free(buf);
		return -MDT_ENOMEM;
	}
	if (set->n > 0)
		memcpy(sorted, set->v, set->n * sizeof(*sorted));
	mdt__scope_sort(sorted, set->n);
	n = 0;
	for (size_t i = 0; i < set->n; i++) {
		if (i > 0)
			buf[n++] = ' ';
		mdt__scope_write(&sorted[i], buf + n);
		n += strlen(buf + n);
	}
	buf[n] = '\0';
	mdt__free(sorted);
	*out = buf;
	return 0;
}

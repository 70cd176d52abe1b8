/*
 * Canonical text of scopes: context/Type.letters?name=value&... with v2
 * letters in the order of their context and restrictions sorted by
 * (name, value).  The byte order of canonical texts is the order of
 * scopes in a formatted set.
 */
#include <stdlib.h>
#include <string.h>

#include "scope_int.h"

static const char *const ctx_names[] = {
	[MDT_SCOPE_PATIENT] = "patient",
	[MDT_SCOPE_USER] = "user",
	[MDT_SCOPE_SYSTEM] = "system",
	[MDT_SCOPE_TOOL] = "tool",
};

static size_t
count_bits(unsigned v)
{
	size_t n = 0;

	for (; v != 0; v &= v - 1)
		n++;
	return n;
}

const char *
mdt__scope_pname(const mdt__scope *sc, size_t i)
{
	return sc->pbuf + sc->params[i].off;
}

const char *
mdt__scope_pvalue(const mdt__scope *sc, size_t i)
{
	return sc->pbuf + sc->params[i].off + sc->params[i].name_len + 1;
}

static int
bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

int
mdt__scope_param_cmp(const char *an, size_t anl, const char *av, size_t avl,
    const char *bn, size_t bnl, const char *bv, size_t bvl)
{
	int c = bytes_cmp(an, anl, bn, bnl);

	return c != 0 ? c : bytes_cmp(av, avl, bv, bvl);
}

size_t
mdt__scope_text_len(const mdt__scope *sc)
{
	size_t n = strlen(ctx_names[sc->ctx]) + 1 + sc->type_len + 1 +
	    count_bits(sc->perms);

	for (size_t i = 0; i < sc->nparams; i++)
		n += 1 + sc->params[i].name_len + 1 + sc->params[i].value_len;
	return n;
}

void
mdt__scope_write(const mdt__scope *sc, char *buf)
{
	const char *letters = mdt__scope_letters(sc->ctx);
	size_t n = strlen(ctx_names[sc->ctx]);

	memcpy(buf, ctx_names[sc->ctx], n);
	buf[n++] = '/';
	memcpy(buf + n, sc->type, sc->type_len);
	n += sc->type_len;
	buf[n++] = '.';
	for (size_t k = 0; letters[k] != '\0'; k++)
		if (sc->perms & (1u << k))
			buf[n++] = letters[k];
	for (size_t i = 0; i < sc->nparams; i++) {
		size_t pl = sc->params[i].name_len + 1 +
		    sc->params[i].value_len;
		buf[n++] = i == 0 ? '?' : '&';
		memcpy(buf + n, mdt__scope_pname(sc, i), pl);
		n += pl;
	}
	buf[n] = '\0';
}

int
mdt__scope_cmp(const mdt__scope *a, const mdt__scope *b)
{
	char ta[MDT_SCOPE_TEXT_MAX + 1], tb[MDT_SCOPE_TEXT_MAX + 1];

	mdt__scope_write(a, ta);
	mdt__scope_write(b, tb);
	return strcmp(ta, tb);
}

static int
cmp_scopes(const void *a, const void *b)
{
	return mdt__scope_cmp(a, b);
}

void
mdt__scope_sort(mdt__scope *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_scopes);
}

/*
 * The output buffer pages are written into, and the two escapes every
 * value from the store goes through on its way out: HTML character
 * references for text and attributes, percent-encoding for a value
 * placed in a link's query.  Patient ids, reasons and agent names are
 * attacker-influenced; nothing from the store reaches a page unescaped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"

static int
grow(con_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->oom || more > CON_BUF_MAX - b->len) {
		b->oom = 1;
		return -1;
	}
	while (cap - b->len <= more)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
con_put(con_buf *b, const char *s, size_t n)
{
	if (grow(b, n) != 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
con_puts(con_buf *b, const char *s)
{
	con_put(b, s, strlen(s));
}

void
con_printf(con_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(small)) {
		b->oom = 1; /* formats carry short values only */
		return;
	}
	con_put(b, small, (size_t)n);
}

void
con_esc(con_buf *b, const char *s)
{
	const char *run;

	if (s == NULL)
		s = "-";
	for (run = s; *s; s++) {
		const char *ref = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" :
		    *s == '>' ? "&gt;" : *s == '"' ? "&quot;" :
		    *s == '\'' ? "&#39;" : NULL;
		if (ref == NULL)
			continue;
		con_put(b, run, (size_t)(s - run));
		con_puts(b, ref);
		run = s + 1;
	}
	con_put(b, run, (size_t)(s - run));
}

void
con_url(con_buf *b, const char *s)
{
	static const char digits[] = "0123456789ABCDEF";

	for (; s != NULL && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[3] = {'%', digits[c >> 4], digits[c & 15]};
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL)
			con_put(b, (const char *)&c, 1);
		else
			con_put(b, e, 3);
	}
}

void
con_buf_free(con_buf *b)
{
	free(b->p);
	*b = (con_buf){0};
}

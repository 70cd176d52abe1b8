/*
 * The HTTP/1.1 request parser of mandate-console: untrusted bytes from
 * the network.  It keeps a table of the header fields, pointing into the
 * buffer, and answers anything it does not need with an error status
 * rather than a guess: CRLF line ends only, no folded lines, no chunked
 * bodies, one Content-Length, one Host, one Cookie, a body only as long
 * as the sign-in form needs.
 */
#include <string.h>
#include <strings.h>

#include "console_int.h"

/* Where the head ends, blank line included; 0 when not yet. */
static size_t
head_len(const char *buf, size_t len)
{
	const char *p = buf;

	while ((p = memchr(p, '\n', len - (size_t)(p - buf))) != NULL) {
		if (p - buf >= 3 && memcmp(p - 3, "\r\n\r\n", 4) == 0)
			return (size_t)(p - buf) + 1;
		p++;
	}
	return 0;
}

static int
token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", c) == NULL;
}

/* The method: GET, HEAD or POST (501 for any other token). */
static int
method(const char *s, size_t n, con_req *r)
{
	static const char *const known[] = {"GET", "HEAD", "POST"};

	for (size_t i = 0; i < n; i++)
		if (!token_char((unsigned char)s[i]))
			return 400;
	for (size_t k = 0; k < 3; k++)
		if (strlen(known[k]) == n && memcmp(s, known[k], n) == 0) {
			memcpy(r->method, s, n);
			r->method[n] = '\0';
			return 0;
		}
	return n == 0 ? 400 : 501;
}

/* An origin-form target: "/path[?query]", visible ASCII only. */
static int
target(const char *s, size_t n, con_req *r)
{
	const char *q;

	if (n == 0 || s[0] != '/')
		return 400;
	if (n > CON_TARGET_MAX)
		return 414;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f ||
		    s[i] == '#')
			return 400;
	q = memchr(s, '?', n);
	r->path = s;
	r->path_len = q ? (size_t)(q - s) : n;
	r->query = q ? q + 1 : NULL;
	r->query_len = q ? n - r->path_len - 1 : 0;
	return 0;
}

static int
request_line(const char *s, size_t n, con_req *r)
{
	const char *sp1 = memchr(s, ' ', n), *sp2;
	int rc;

	if (sp1 == NULL)
		return 400;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s));
	if (sp2 == NULL || n - (size_t)(sp2 + 1 - s) != 8)
		return 400;
	if ((rc = method(s, (size_t)(sp1 - s), r)) != 0 ||
	    (rc = target(sp1 + 1, (size_t)(sp2 - sp1 - 1), r)) != 0)
		return rc;
	if (memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return memcmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400;
	return sp2[8] == '0' || sp2[8] == '1' ? 0 : 505;
}

static int
is_name(const con_field *f, const char *name)
{
	return f->nlen == strlen(name) &&
	    strncasecmp(f->name, name, f->nlen) == 0;
}

/* "name: value" of n bytes into the table; OWS trimmed. */
static int
field(const char *s, size_t n, con_req *r)
{
	const char *colon = memchr(s, ':', n);
	con_field *f;

	if (colon == NULL || colon == s)
		return 400;
	if (r->nfields == CON_FIELDS_MAX)
		return 431;
	f = &r->fields[r->nfields];
	*f = (con_field){.name = s, .nlen = (size_t)(colon - s),
	    .value = colon + 1, .vlen = n - (size_t)(colon - s) - 1};
	for (size_t i = 0; i < f->nlen; i++)
		if (!token_char((unsigned char)s[i]))
			return 400;
	while (f->vlen > 0 && (f->value[0] == ' ' || f->value[0] == '\t'))
		f->value++, f->vlen--;
	while (f->vlen > 0 && (f->value[f->vlen - 1] == ' ' ||
	    f->value[f->vlen - 1] == '\t'))
		f->vlen--;
	for (size_t i = 0; i < f->vlen; i++)
		if (((unsigned char)f->value[i] < 0x20 && f->value[i] != '\t') ||
		    f->value[i] == 0x7f)
			return 400;
	r->nfields++;
	return 0;
}

/* Rules across fields: unique framing and identity fields. */
static int
fields_check(const con_req *r)
{
	static const char *const once[] = {"host", "cookie",
	    "content-length", "content-type", "origin"};

	for (size_t k = 0; k < sizeof(once) / sizeof(once[0]); k++) {
		size_t seen = 0;
		for (size_t i = 0; i < r->nfields; i++)
			seen += (size_t)is_name(&r->fields[i], once[k]);
		if (seen > 1)
			return 400;
	}
	for (size_t i = 0; i < r->nfields; i++)
		if (is_name(&r->fields[i], "transfer-encoding"))
			return 501;
	return 0;
}

/* Content-Length: digits only, within CON_BODY_MAX. */
static int
body_len(const con_req *r, size_t *out)
{
	size_t n, x = 0, i = 0;
	const char *v = con_header(r, "content-length", &n);

	*out = 0;
	if (v == NULL)
		return strcmp(r->method, "POST") == 0 ? 411 : 0;
	for (; i < n && v[i] >= '0' && v[i] <= '9'; i++)
		if ((x = x * 10 + (size_t)(v[i] - '0')) > CON_BODY_MAX)
			return 413;
	if (n == 0 || i != n)
		return 400;
	*out = x;
	return 0;
}

static int
head(const char *buf, size_t hl, con_req *r)
{
	size_t pos = 0;
	int rc = 0;

	while (rc == 0 && pos < hl - 2) {
		const char *eol = memchr(buf + pos, '\n', hl - pos);
		size_t n = (size_t)(eol - (buf + pos));
		if (n == 0 || buf[pos + n - 1] != '\r' ||
		    memchr(buf + pos, '\r', n - 1) != NULL ||
		    memchr(buf + pos, '\0', n) != NULL)
			return 400;
		if (pos == 0)
			rc = request_line(buf, n - 1, r);
		else if (buf[pos] == ' ' || buf[pos] == '\t')
			rc = 400; /* obsolete line folding */
		else
			rc = field(buf + pos, n - 1, r);
		pos += n + 1;
	}
	return rc != 0 ? rc : fields_check(r);
}

int
con_http_parse(const char *buf, size_t len, con_req *r)
{
	size_t hl = head_len(buf, len < CON_HEAD_MAX ? len : CON_HEAD_MAX);
	size_t bl;
	int rc;

	memset(r, 0, sizeof(*r));
	if (hl == 0)
		return len >= CON_HEAD_MAX ? 431 : CON_MORE;
	if (hl < 4 || (rc = head(buf, hl, r)) != 0 ||
	    (rc = body_len(r, &bl)) != 0)
		return hl < 4 ? 400 : rc;
	if (len - hl < bl)
		return CON_MORE;
	r->body = buf + hl;
	r->body_len = bl;
	r->total = hl + bl;
	return 0;
}

const char *
con_header(const con_req *r, const char *name, size_t *len)
{
	for (size_t i = 0; i < r->nfields; i++)
		if (is_name(&r->fields[i], name)) {
			*len = r->fields[i].vlen;
			return r->fields[i].value;
		}
	return NULL;
}

int
con_path_is(const con_req *r, const char *p)
{
	return r->path_len == strlen(p) && memcmp(r->path, p, r->path_len) == 0;
}

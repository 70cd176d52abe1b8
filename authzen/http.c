/*
 * The HTTP/1.1 request parser of mandate-authzen: untrusted bytes from
 * the network.  It accepts only what the AuthZEN endpoints need -- a
 * request line, CRLF-terminated headers, a Content-Length body -- under
 * fixed bounds, and answers anything else with an HTTP error status
 * instead of guessing (no obsolete line folding, no chunked bodies, no
 * duplicate Content-Length), so it cannot disagree with a proxy in front
 * of it about where a request ends.
 */
#include <string.h>
#include <strings.h>

#include "authzen_int.h"

/* Where the head ends ("\r\n\r\n" included), or 0 when not yet. */
static size_t
head_end(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
		    buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

static int
is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != 0 && strchr("!#$%&'*+-.^_`|~",
	    ch) != NULL);
}

/* Copies n bytes of s into out (size len) when they fit; else -1. */
static int
copy_text(char *out, size_t len, const char *s, size_t n)
{
	if (n >= len)
		return -1;
	memcpy(out, s, n);
	out[n] = 0;
	return 0;
}

/* "METHOD SP target SP HTTP/1.x" of n bytes. */
static int
request_line(const char *s, size_t n, struct az_http_req *r)
{
	const char *sp1 = memchr(s, ' ', n), *sp2;
	size_t m, t;

	if (sp1 == NULL || sp1 == s)
		return 400;
	m = (size_t)(sp1 - s);
	for (size_t i = 0; i < m; i++)
		if (!is_tchar((unsigned char)s[i]))
			return 400;
	sp2 = memchr(sp1 + 1, ' ', n - m - 1);
	if (sp2 == NULL)
		return 400;
	t = (size_t)(sp2 - sp1 - 1);
	if (copy_text(r->method, sizeof(r->method), s, m) != 0)
		return 501;
	if (t == 0 || sp1[1] != '/' || copy_text(r->path, sizeof(r->path),
	    sp1 + 1, t) != 0)
		return t >= sizeof(r->path) ? 414 : 400;
	for (size_t i = 0; i < t; i++)
		if ((unsigned char)r->path[i] <= ' ' ||
		    (unsigned char)r->path[i] >= 0x7f)
			return 400;
	n -= (size_t)(sp2 + 1 - s);
	if (n != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return n == 8 && memcmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400;
	if (sp2[8] != '0' && sp2[8] != '1')
		return 505;
	r->keep_alive = sp2[8] == '1';
	return 0;
}

struct hdr_state {
	int have_len;
	size_t len;
	size_t body_max;
	az_http_header_fn fn;
	void *arg;
};

/* Content-Length: digits only, within the body bound. */
static int
content_length(const char *v, size_t n, const struct hdr_state *st,
    size_t *out)
{
	size_t x = 0;

	if (n == 0)
		return 400;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 400;
		x = x * 10 + (size_t)(v[i] - '0');
		if (x > st->body_max)
			return 413;
	}
	*out = x;
	return 0;
}

static int
name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* A printable request id is echoed; anything else is dropped. */
static void
request_id(const char *v, size_t n, struct az_http_req *r)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
			return;
	(void)copy_text(r->request_id, sizeof(r->request_id), v, n);
}

/* One header line "name: value" (n bytes, no CRLF). */
static int
header(const char *s, size_t n, struct az_http_req *r, struct hdr_state *st)
{
	const char *colon = memchr(s, ':', n), *v;
	size_t nl, vl;

	if (colon == NULL || colon == s)
		return 400;
	nl = (size_t)(colon - s);
	for (size_t i = 0; i < nl; i++)
		if (!is_tchar((unsigned char)s[i]))
			return 400;
	v = colon + 1;
	vl = n - nl - 1;
	while (vl > 0 && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	for (size_t i = 0; i < vl; i++)
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
			return 400;
	if (name_is(s, nl, "content-length")) {
		if (st->have_len)
			return 400;
		st->have_len = 1;
		return content_length(v, vl, st, &st->len);
	}
	if (name_is(s, nl, "transfer-encoding"))
		return 501;
	if (name_is(s, nl, "authorization"))
		return r->auth[0] != 0 || copy_text(r->auth, sizeof(r->auth), v,
		    vl) != 0 ? 400 : 0;
	if (name_is(s, nl, "x-request-id"))
		request_id(v, vl, r);
	else if (name_is(s, nl, "content-type"))
		r->json = vl >= 16 && strncasecmp(v, "application/json", 16) ==
		    0 && (vl == 16 || v[16] == ';' || v[16] == ' ');
	else if (name_is(s, nl, "connection") && vl == 5 &&
	    strncasecmp(v, "close", 5) == 0)
		r->keep_alive = 0;
	else if (name_is(s, nl, "connection") && vl == 10 &&
	    strncasecmp(v, "keep-alive", 10) == 0)
		r->keep_alive = 1;
	else if (st->fn != NULL)
		return st->fn(st->arg, s, nl, v, vl);
	return 0;
}

/* The request line and headers of the head (hl bytes, final CRLF
 * included). */
static int
parse_head(const char *buf, size_t hl, struct az_http_req *r,
    struct hdr_state *st)
{
	size_t pos = 0, lines = 0;
	int rc;

	while (pos < hl - 2) {
		const char *eol = memchr(buf + pos, '\r', hl - pos);
		size_t n;
		if (eol == NULL || eol[1] != '\n')
			return 400;
		n = (size_t)(eol - (buf + pos));
		if (memchr(buf + pos, '\n', n) != NULL ||
		    memchr(buf + pos, 0, n) != NULL)
			return 400;
		if (lines == 0)
			rc = request_line(buf, n, r);
		else if (lines > AZ_HTTP_HEADERS_MAX)
			rc = 431;
		else
			rc = header(buf + pos, n, r, st);
		if (rc != 0)
			return rc;
		lines++;
		pos += n + 2;
	}
	return lines == 0 ? 400 : 0;
}

int
az_http_parse(const char *buf, size_t len, struct az_http_req *r)
{
	return az_http_parse_ex(buf, len, AZ_HTTP_BODY_MAX, NULL, NULL, r);
}

int
az_http_parse_ex(const char *buf, size_t len, size_t body_max,
    az_http_header_fn fn, void *arg, struct az_http_req *r)
{
	struct hdr_state st = { 0, 0, body_max, fn, arg };
	size_t hl = head_end(buf, len < AZ_HTTP_HEAD_MAX ? len :
	    AZ_HTTP_HEAD_MAX);
	int rc;

	memset(r, 0, sizeof(*r));
	if (hl == 0)
		return len >= AZ_HTTP_HEAD_MAX ? 431 : AZ_HTTP_MORE;
	if ((rc = parse_head(buf, hl, r, &st)) != 0)
		return rc;
	if (!st.have_len && (strcmp(r->method, "POST") == 0 ||
	    strcmp(r->method, "PUT") == 0))
		return 411;
	if (len - hl < st.len)
		return AZ_HTTP_MORE;
	r->body = buf + hl;
	r->body_len = st.len;
	r->total = hl + st.len;
	return 0;
}

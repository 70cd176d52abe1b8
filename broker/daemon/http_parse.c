/*
 * HTTP/1.x request heads from untrusted clients: every length bounded,
 * only token characters in methods and field names, no obsolete line
 * folding, no NUL or control bytes.  Nothing is copied but the method
 * and the path.
 */
#include <string.h>

#include "http.h"

static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

/* The end of the line starting at p (its '\n'), or NULL. */
static const char *
line_end(const char *p, const char *end)
{
	return memchr(p, '\n', (size_t)(end - p));
}

/* Length of the line's content (without CR LF or LF). */
static size_t
content_len(const char *p, const char *nl)
{
	return (size_t)(nl - p) - (nl > p && nl[-1] == '\r');
}

static int
bad(int *status, int code)
{
	*status = code;
	return -1;
}

static int
request_line(const char *p, size_t n, struct brk_http_req *out,
    int *status)
{
	size_t m = 0, t0, t;

	while (m < n && is_tchar((unsigned char)p[m]))
		m++;
	if (m == 0 || m >= n || p[m] != ' ')
		return bad(status, 400);
	if (m >= sizeof(out->method))
		return bad(status, 501);
	memcpy(out->method, p, m);
	out->method[m] = 0;
	t0 = t = m + 1;
	while (t < n && p[t] != ' ') {
		unsigned char c = (unsigned char)p[t];
		if (c <= 0x20 || c >= 0x7f)
			return bad(status, 400);
		t++;
	}
	if (t == t0 || t >= n || p[t0] != '/')
		return bad(status, 400);
	if (t - t0 >= sizeof(out->path))
		return bad(status, 414);
	memcpy(out->path, p + t0, t - t0);
	out->path[t - t0] = 0;
	out->path[strcspn(out->path, "?#")] = 0;
	if (n - t - 1 != 8 || memcmp(p + t + 1, "HTTP/1.", 7) != 0)
		return n - t - 1 >= 5 && memcmp(p + t + 1, "HTTP/", 5) == 0 ?
		    bad(status, 505) : bad(status, 400);
	if (p[t + 8] != '0' && p[t + 8] != '1')
		return bad(status, 505);
	out->minor = p[t + 8] - '0';
	return 0;
}

/* One header field line "name: value". */
static int
field_line(const char *p, size_t n, int *status)
{
	size_t m = 0;

	if (p[0] == ' ' || p[0] == '\t')
		return bad(status, 400); /* obsolete folding */
	while (m < n && is_tchar((unsigned char)p[m]))
		m++;
	if (m == 0 || m >= n || p[m] != ':')
		return bad(status, 400);
	for (size_t i = m + 1; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return bad(status, 400);
	}
	return 0;
}

int
brk_http_parse(const char *buf, size_t len, struct brk_http_req *out,
    int *status)
{
	const char *end = buf + (len < BRK_HTTP_HEAD_MAX ? len :
	    BRK_HTTP_HEAD_MAX);
	const char *p = buf, *nl;
	int nfields = 0;

	memset(out, 0, sizeof(*out));
	*status = 0;
	if ((nl = line_end(p, end)) == NULL)
		return len >= BRK_HTTP_HEAD_MAX ? bad(status, 414) : 0;
	if (request_line(p, content_len(p, nl), out, status) != 0)
		return -1;
	for (p = nl + 1;; p = nl + 1) {
		if ((nl = line_end(p, end)) == NULL)
			return len >= BRK_HTTP_HEAD_MAX ? bad(status, 431) : 0;
		if (content_len(p, nl) == 0)
			break;
		if (++nfields > BRK_HTTP_FIELDS_MAX)
			return bad(status, 431);
		if (field_line(p, content_len(p, nl), status) != 0)
			return -1;
	}
	out->head_len = (size_t)(nl + 1 - buf);
	return 1;
}

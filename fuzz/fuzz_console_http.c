/*
 * Fuzz harness for mandate-console's request parser and the decoding
 * behind it (query strings, the sign-in form, the Cookie header): any
 * bytes either parse into a request that lies inside the input (a known
 * method, a path starting with '/', header fields without line ends, a
 * body of the announced length), ask for more while under the bounds,
 * or are refused with one of the documented statuses; a decoded value
 * is NUL-terminated inside its buffer with no control character, and
 * once escaped for HTML it holds no markup character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
inside(const char *buf, size_t len, const char *p, size_t n)
{
	return p >= buf && p + n <= buf + len;
}

static void
decoded_ok(int rc, const char *out, size_t cap)
{
	size_t n;

	if (rc < -1 || rc > 1)
		abort();
	if (rc != 1)
		return;
	n = strnlen(out, cap);
	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			abort();
}

static void
escaped_ok(const char *s)
{
	con_buf b = {0};

	con_esc(&b, s);
	if (!b.oom && b.p != NULL && strpbrk(b.p, "<>\"'") != NULL)
		abort();
	con_buf_free(&b);
}

static void
decode_all(const con_req *r)
{
	static const char *const keys[] = {"patient", "since", "csrf",
	    "credential", "id", ""};
	char out[64];
	size_t n;
	const char *c = con_header(r, "cookie", &n);

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		int rc = con_form_get(r->query, r->query_len, keys[k], out,
		    sizeof(out));
		decoded_ok(rc, out, sizeof(out));
		if (rc == 1)
			escaped_ok(out);
		decoded_ok(con_form_get(r->body, r->body_len, keys[k], out,
		    sizeof(out)), out, sizeof(out));
	}
	if (c != NULL) {
		int rc = con_cookie_get(c, n, "mdt_session", out, sizeof(out));
		if (rc < -1 || rc > 1 || (rc == 1 && strnlen(out, sizeof(out)) ==
		    sizeof(out)))
			abort();
	}
}

static void
check(const char *buf, size_t len)
{
	con_req r;
	int rc = con_http_parse(buf, len, &r);

	if (rc == CON_MORE) {
		if (len >= CON_HEAD_MAX + CON_BODY_MAX)
			abort();
		return;
	}
	if (rc != 0) {
		if (rc != 400 && rc != 411 && rc != 413 && rc != 414 &&
		    rc != 431 && rc != 501 && rc != 505)
			abort();
		return;
	}
	if (r.total > len || r.path_len == 0 || r.path[0] != '/' ||
	    !inside(buf, len, r.path, r.path_len) ||
	    (r.query && !inside(buf, len, r.query, r.query_len)) ||
	    (r.body_len && !inside(buf, len, r.body, r.body_len)) ||
	    r.body_len > CON_BODY_MAX || r.nfields > CON_FIELDS_MAX)
		abort();
	for (size_t i = 0; i < r.nfields; i++)
		if (!inside(buf, len, r.fields[i].value, r.fields[i].vlen) ||
		    memchr(r.fields[i].value, '\n', r.fields[i].vlen) ||
		    memchr(r.fields[i].value, '\r', r.fields[i].vlen))
			abort();
	decode_all(&r);
	/* a request is complete only once all of it is there */
	if (con_http_parse(buf, r.total - 1, &r) == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	check(buf, size);
	free(buf);
	return 0;
}

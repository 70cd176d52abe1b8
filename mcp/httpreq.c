/*
 * The checks on every Streamable HTTP request before the gateway sees it
 * (httpd_int.h).  A browser page on another origin, or a DNS name
 * rebound to 127.0.0.1, must not reach a gateway that acts with a
 * clinician's delegation, so Origin and Host fail closed.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "httpd_int.h"
#include "mcp.h"

static int
name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* Copies a header that may appear once. */
static int
once(char *out, size_t outlen, int *seen, const char *v, size_t vl)
{
	if (*seen || vl >= outlen)
		return 400;
	*seen = 1;
	memcpy(out, v, vl);
	out[vl] = 0;
	return 0;
}

/* The media types an Accept value lists (parameters and q ignored). */
static void
accept_list(struct mcph_hdrs *hd, const char *v, size_t vl)
{
	size_t i = 0;

	while (i < vl) {
		size_t s, e;
		while (i < vl && (v[i] == ' ' || v[i] == ','))
			i++;
		s = i;
		while (i < vl && v[i] != ',' && v[i] != ';' && v[i] != ' ')
			i++;
		e = i;
		while (i < vl && v[i] != ',')
			i++;
		hd->accept_json |= name_is(v + s, e - s, "application/json") ||
		    name_is(v + s, e - s, "*/*") ||
		    name_is(v + s, e - s, "application/*");
		hd->accept_sse |= name_is(v + s, e - s, "text/event-stream") ||
		    name_is(v + s, e - s, "*/*") || name_is(v + s, e - s,
		    "text/*");
	}
}

struct hdr_arg {
	struct mcph_hdrs *hd;
	int seen_session, seen_protocol;
};

static int
on_header(void *arg, const char *n, size_t nl, const char *v, size_t vl)
{
	struct hdr_arg *a = arg;
	struct mcph_hdrs *hd = a->hd;

	if (name_is(n, nl, "accept")) {
		accept_list(hd, v, vl);
	} else if (name_is(n, nl, "origin")) {
		return once(hd->origin, sizeof(hd->origin), &hd->has_origin, v,
		    vl);
	} else if (name_is(n, nl, "host")) {
		return once(hd->host, sizeof(hd->host), &hd->has_host, v, vl);
	} else if (name_is(n, nl, "mcp-session-id")) {
		for (size_t i = 0; i < vl; i++)
			if ((unsigned char)v[i] < 0x21 ||
			    (unsigned char)v[i] > 0x7e)
				return 400;
		/* an id this server never issues is simply not found */
		return once(hd->session, sizeof(hd->session), &a->seen_session,
		    v, vl < sizeof(hd->session) ? vl : 0);
	} else if (name_is(n, nl, "mcp-protocol-version")) {
		return once(hd->protocol, sizeof(hd->protocol),
		    &a->seen_protocol, v, vl);
	}
	return 0;
}

int
mcph_parse(const char *buf, size_t len, size_t body_max,
    struct az_http_req *r, struct mcph_hdrs *hd)
{
	struct hdr_arg a = { hd, 0, 0 };

	memset(hd, 0, sizeof(*hd));
	return az_http_parse_ex(buf, len, body_max, on_header, &a, r);
}

int
mcph_is_loopback(const char *host)
{
	return strcasecmp(host, "localhost") == 0 ||
	    strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	    strcmp(host, "[::1]") == 0;
}

/* "NAME[:PORT]" or "[V6][:PORT]": 1 when NAME is a loopback one. */
static int
hostport_loopback(const char *hp)
{
	char host[MCPH_HDR_MAX];
	const char *end;

	if (hp[0] == '[') {
		end = strchr(hp, ']');
		if (end == NULL)
			return 0;
		end++;
	} else {
		end = hp + strcspn(hp, ":");
	}
	if (*end != 0 && *end != ':')
		return 0;
	for (const char *p = *end == ':' ? end + 1 : end; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	snprintf(host, sizeof(host), "%.*s", (int)(end - hp), hp);
	return mcph_is_loopback(host);
}

static int
origin_ok(const char *origin, const char *allowed)
{
	size_t ol = strlen(origin);
	const char *hp = NULL;

	for (const char *p = allowed; *p != 0;) {
		size_t l = strcspn(p, " ,");
		if (l == ol && l > 0 && memcmp(p, origin, l) == 0)
			return 1;
		p += l;
		p += strspn(p, " ,");
	}
	if (strncmp(origin, "http://", 7) == 0)
		hp = origin + 7;
	else if (strncmp(origin, "https://", 8) == 0)
		hp = origin + 8;
	return hp != NULL && hostport_loopback(hp);
}

static int
protocol_ok(const char *v)
{
	for (size_t i = 0; mcp_protocol_versions[i] != NULL; i++)
		if (strcmp(v, mcp_protocol_versions[i]) == 0)
			return 1;
	return 0;
}

int
mcph_check(const struct az_http_req *r, const struct mcph_hdrs *hd,
    const char *path, const char *origins, int loopback)
{
	int post = strcmp(r->method, "POST") == 0;
	size_t pl = strcspn(r->path, "?");

	if (pl != strlen(path) || strncmp(r->path, path, pl) != 0)
		return 404;
	if (hd->has_origin && !origin_ok(hd->origin, origins))
		return 403;
	if (loopback && (!hd->has_host || !hostport_loopback(hd->host)))
		return 403;
	if (!post && strcmp(r->method, "GET") != 0 &&
	    strcmp(r->method, "DELETE") != 0)
		return 405;
	if (post && !r->json)
		return 415;
	if ((post && !(hd->accept_json && hd->accept_sse)) ||
	    (strcmp(r->method, "GET") == 0 && !hd->accept_sse))
		return 406;
	if (hd->protocol[0] != 0 && !protocol_ok(hd->protocol))
		return 400;
	return 0;
}

const char *
mcph_reason(int status)
{
	switch (status) {
	case 403: return "Origin or Host not allowed";
	case 404: return "not the MCP endpoint";
	case 405: return "method not allowed";
	case 406: return "Accept must list application/json and "
	    "text/event-stream (POST), or text/event-stream (GET)";
	case 411: return "Content-Length required";
	case 413: return "message too large";
	case 415: return "Content-Type must be application/json";
	case 431: return "request head too large";
	case 501: return "not implemented";
	case 505: return "HTTP version not supported";
	default: return "bad request (or unsupported MCP-Protocol-Version)";
	}
}

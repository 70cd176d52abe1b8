/*
 * The request side of mandate-mcp's Streamable HTTP transport that needs
 * no socket: parsing a request with the headers MCP uses, and the checks
 * every request passes before it reaches the gateway (endpoint, method,
 * Origin and Host against DNS rebinding, media types, protocol revision).
 * Kept apart from httpd.c so the fuzz harness drives it directly.
 */
#ifndef MANDATE_MCP_HTTPD_INT_H
#define MANDATE_MCP_HTTPD_INT_H

#include <stddef.h>

#include "authzen_int.h"

#define MCPH_SESSION_ID_LEN 32         /* hex characters */
#define MCPH_HDR_MAX 256

/* The headers of a request that MCP's transport reads. */
struct mcph_hdrs {
	int accept_json, accept_sse;       /* Accept lists them */
	int has_origin, has_host;
	char origin[MCPH_HDR_MAX];
	char host[MCPH_HDR_MAX];
	char session[MCPH_SESSION_ID_LEN + 1];   /* Mcp-Session-Id, or "" */
	char protocol[32];                 /* MCP-Protocol-Version, or "" */
};

/*
 * Parses one request at the start of buf (len bytes), bodies of at most
 * body_max bytes: az_http_parse_ex's results (0, AZ_HTTP_MORE or an HTTP
 * status), with *hd filled on 0.  A repeated Origin, Host or
 * Mcp-Session-Id, or one that is too long, is 400; so is a session id
 * that is not of visible ASCII.
 */
int mcph_parse(const char *buf, size_t len, size_t body_max,
    struct az_http_req *r, struct mcph_hdrs *hd);

/*
 * 0 when the request may be served, else the HTTP status that refuses
 * it: 404 for another path, 405 for a method other than GET, POST and
 * DELETE, 403 for an Origin that is neither a loopback origin nor one of
 * `origins` (blank-separated), or, when the server listens on loopback,
 * a Host that is not a loopback name; 415 for a POST that is not JSON,
 * 406 for an Accept without what the method answers with, 400 for an
 * MCP-Protocol-Version this server does not speak.
 */
int mcph_check(const struct az_http_req *r, const struct mcph_hdrs *hd,
    const char *path, const char *origins, int loopback);

/* The text of a status mcph_check or the parser gives. */
const char *mcph_reason(int status);

/* 1 when host (an address or name, no port) is a loopback one. */
int mcph_is_loopback(const char *host);

#endif

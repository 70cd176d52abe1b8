/*
 * Fuzz harness for the request side of mandate-mcp's Streamable HTTP
 * transport: the bounded HTTP/1.1 parser with the headers MCP reads
 * (Accept, Origin, Host, Mcp-Session-Id, MCP-Protocol-Version) and the
 * checks every request passes.  Checks: a complete request lies within
 * the input, the copied headers are terminated and within their bounds,
 * a session id is visible ASCII, and a request the checks let through
 * is one the gateway serves (its path, a method it answers, JSON, the
 * Accept it needs, and, on loopback, a loopback Host).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpd_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_served(const struct az_http_req *r, const struct mcph_hdrs *hd)
{
	int post = strcmp(r->method, "POST") == 0;

	if (strncmp(r->path, "/mcp", 4) != 0 || (r->path[4] != 0 &&
	    r->path[4] != '?'))
		abort();
	if (!post && strcmp(r->method, "GET") != 0 &&
	    strcmp(r->method, "DELETE") != 0)
		abort();
	if (post && (!r->json || !hd->accept_json || !hd->accept_sse))
		abort();
	if (!hd->has_host)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct az_http_req r;
	struct mcph_hdrs hd;
	int rc = mcph_parse((const char *)data, size, 4096, &r, &hd);

	if (rc != 0)
		return 0;
	if (r.total > size || r.body + r.body_len > (const char *)data + size ||
	    r.body_len > 4096)
		abort();
	if (strlen(hd.origin) >= sizeof(hd.origin) ||
	    strlen(hd.host) >= sizeof(hd.host) ||
	    strlen(hd.session) > MCPH_SESSION_ID_LEN ||
	    strlen(hd.protocol) >= sizeof(hd.protocol))
		abort();
	for (size_t i = 0; hd.session[i] != 0; i++)
		if ((unsigned char)hd.session[i] < 0x21 ||
		    (unsigned char)hd.session[i] > 0x7e)
			abort();
	if (mcph_check(&r, &hd, "/mcp", "https://app.example", 1) == 0)
		check_served(&r, &hd);
	(void)mcph_check(&r, &hd, "/mcp", "", 0);
	return 0;
}

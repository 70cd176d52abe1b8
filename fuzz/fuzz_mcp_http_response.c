/*
 * Fuzz harness for the response side of mandate-mcp's Streamable HTTP
 * client (its HTTP upstreams): an HTTP/1.1 response fed to the
 * incremental parser in pieces whose sizes the input's first byte picks,
 * then the end of the connection.  Checks: every message handed on lies
 * within the bound and holds no NUL-terminated surprise (its length is
 * what was given), the session id is visible ASCII, and a complete
 * response has a status.  Each message also goes through the JSON-RPC
 * parser, as the gateway does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpcli_int.h"
#include "mcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX 2048

static int
on_message(void *arg, const char *msg, size_t n)
{
	char err[128];
	mcp_msg m;

	(*(int *)arg)++;
	if (n == 0 || n > MAX)
		abort();
	if (mcp_msg_parse(msg, n, MAX, &m, err, sizeof(err)) == 0 &&
	    m.kind == 0)
		abort();
	mcp_msg_clear(&m);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcpc_resp r;
	size_t step, off = 1;
	int msgs = 0, rc = 0;

	if (size == 0)
		return 0;
	step = (size_t)(data[0] % 17) + 1;
	mcpc_init(&r, MAX, on_message, &msgs);
	while (rc == 0 && off < size) {
		size_t n = size - off < step ? size - off : step;
		rc = mcpc_feed(&r, (const char *)data + off, n);
		off += n;
	}
	if (rc == 0)
		rc = mcpc_eof(&r);
	if (rc == 1 && (r.status < 100 || r.status > 599))
		abort();
	for (size_t i = 0; r.session[i] != 0; i++)
		if ((unsigned char)r.session[i] < 0x21 ||
		    (unsigned char)r.session[i] > 0x7e)
			abort();
	mcpc_free(&r);
	return 0;
}

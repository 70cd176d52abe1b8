/*
 * Fuzz harness for the health and metrics listener's request parser:
 * any bytes either parse into a head that lies inside the input (a
 * method of token characters, a path starting with '/', HTTP/1.0 or 1.1),
 * ask for more while under the bound, or are refused with an error
 * status; every prefix of a complete head is incomplete or refused,
 * never complete with another length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const char *buf, size_t len)
{
	struct brk_http_req r;
	int status = -1;
	int rc = brk_http_parse(buf, len, &r, &status);

	if (rc == -1) {
		if (status != 400 && status != 414 && status != 431 &&
		    status != 501 && status != 505)
			abort();
		return;
	}
	if (status != 0)
		abort();
	if (rc == 0) {
		if (len >= BRK_HTTP_HEAD_MAX)
			abort();
		return;
	}
	if (rc != 1 || r.head_len == 0 || r.head_len > len ||
	    r.head_len > BRK_HTTP_HEAD_MAX || buf[r.head_len - 1] != '\n' ||
	    r.path[0] != '/' || r.method[0] == 0 ||
	    strlen(r.path) >= sizeof(r.path) || (r.minor != 0 && r.minor != 1))
		abort();
	/* the head is complete only at its end */
	if (brk_http_parse(buf, r.head_len - 1, &r, &status) == 1)
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

/*
 * The request parser of the local health and metrics listener: one
 * HTTP/1.x request head (request line and header fields), bounded, from
 * bytes a client sent.  Separate from the server (http.c) so it can be
 * fuzzed alone (fuzz/fuzz_http.c).
 */
#ifndef BRK_HTTP_H
#define BRK_HTTP_H

#include <stddef.h>

#define BRK_HTTP_HEAD_MAX 8192    /* request line and headers */
#define BRK_HTTP_TARGET_MAX 256
#define BRK_HTTP_FIELDS_MAX 64

struct brk_http_req {
	char method[8];
	char path[BRK_HTTP_TARGET_MAX];  /* target without its query */
	int minor;                       /* HTTP/1.minor */
	size_t head_len;                 /* bytes of the head, blank line in */
};

/*
 * Parses the head at the start of buf[0..len).  1: complete, *out
 * filled; 0: incomplete, read more (len < BRK_HTTP_HEAD_MAX); -1: bad,
 * *status is the code to answer (400, 414, 431, 501 or 505).
 * Accepts CRLF or a bare LF as line ends.
 */
int brk_http_parse(const char *buf, size_t len, struct brk_http_req *out,
    int *status);

#endif

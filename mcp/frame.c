/*
 * The stdio transport's framing: one JSON-RPC message per line.  Lines
 * are bounded; an oversized one is dropped whole and reading resumes at
 * the next newline, so a peer cannot make the process buffer without
 * limit.  Writes are whole lines under a lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp.h"

int
mcp_reader_init(mcp_reader *r, int fd, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max = max;
	r->cap = max < 65536 ? max + 1 : 65536;
	if ((r->buf = malloc(r->cap)) == NULL)
		return -MDT_ENOMEM;
	return 0;
}

void
mcp_reader_free(mcp_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* Moves the unread bytes to the front and reads more; 1 at EOF. */
static int
fill(mcp_reader *r)
{
	ssize_t n;

	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len == r->cap) {
		size_t cap = r->cap * 2;
		char *b;
		if (cap > r->max + 1)
			cap = r->max + 1;
		if (cap <= r->cap || (b = realloc(r->buf, cap)) == NULL)
			return -MDT_ENOMEM;
		r->buf = b;
		r->cap = cap;
	}
	do
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -MDT_EIO;
	if (n == 0)
		return 1;
	r->len += (size_t)n;
	return 0;
}

int
mcp_reader_next(mcp_reader *r, const char **line, size_t *len)
{
	for (;;) {
		char *s = r->buf + r->off;
		char *nl = memchr(s, '\n', r->len - r->off);
		size_t n;
		int rc;

		if (nl != NULL) {
			int skipped = r->skipping;
			n = (size_t)(nl - s);
			r->off += n + 1;
			r->skipping = 0;
			if (skipped || n > r->max)
				return -MDT_ETOOBIG;
			if (n > 0 && s[n - 1] == '\r')
				n--;
			if (n == 0)
				continue;
			*line = s;
			*len = n;
			return 0;
		}
		if (r->len - r->off > r->max) {
			/* drop what is buffered of the oversized line */
			r->off = r->len;
			r->skipping = 1;
		}
		rc = fill(r);
		if (rc == 1 && r->len > r->off && !r->skipping) {
			/* the last line, without its newline */
			*line = r->buf + r->off;
			*len = r->len - r->off;
			r->off = r->len;
			return 0;
		}
		if (rc != 0)
			return rc;
	}
}

int
mcp_writer_init(mcp_writer *w, int fd)
{
	w->fd = fd;
	w->failed = 0;
	return pthread_mutex_init(&w->lock, NULL) != 0 ? -MDT_ENOMEM : 0;
}

void
mcp_writer_destroy(mcp_writer *w)
{
	pthread_mutex_destroy(&w->lock);
}

int
mcp_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -MDT_EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int
mcp_write(mcp_writer *w, const json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t n;
	int rc;

	if (s == NULL)
		return -MDT_ENOMEM;
	n = strlen(s);
	s[n] = '\n'; /* replaces the NUL; written by length */
	pthread_mutex_lock(&w->lock);
	rc = w->failed ? -MDT_EIO : mcp_write_all(w->fd, s, n + 1);
	if (rc != 0)
		w->failed = 1;
	pthread_mutex_unlock(&w->lock);
	free(s);
	return rc;
}

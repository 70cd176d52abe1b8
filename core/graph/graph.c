/*
 * mdt_graph_render: collects a task's delegation tree and renders it in
 * the format asked for (text renderings through a memory stream, SVG
 * through Graphviz's `dot`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/graph.h>

#include "alloc_int.h"
#include "graph_int.h"

/* The text rendering fmt of g into *text (caller frees with mdt__free). */
static int
render_text(const graph *g, mdt_graph_format fmt, char **text, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	int rc = 0;

	if (f == NULL)
		return -MDT_ENOMEM;
	if (fmt == MDT_GRAPH_TREE)
		graph_tree(f, g);
	else if (fmt == MDT_GRAPH_MERMAID)
		graph_mermaid(f, g);
	else
		graph_dot(f, g);
	if (fclose(f) != 0 || buf == NULL)
		rc = -MDT_ENOMEM;
	else if (n > MDT_GRAPH_OUT_MAX)
		rc = -MDT_ETOOBIG;
	else if ((*text = mdt__strndup(buf, n)) == NULL)
		rc = -MDT_ENOMEM;
	*len = n;
	free(buf);
	return rc;
}

int
mdt_graph_render(mdt_store *store, const char *task_id, mdt_graph_format fmt,
    char **out, size_t *outlen, char *err, size_t errlen)
{
	char none[1], *text = NULL, *svg = NULL;
	size_t len = 0, svglen = 0;
	graph g = {0};
	int rc;

	if (err == NULL || errlen == 0)
		err = none, errlen = sizeof(none);
	err[0] = '\0';
	if (store == NULL || task_id == NULL || out == NULL ||
	    fmt < MDT_GRAPH_TREE || fmt > MDT_GRAPH_SVG)
		return -MDT_EINVAL;
	if ((rc = graph_collect(store, task_id, &g)) == 0)
		rc = render_text(&g, fmt, &text, &len);
	graph_free(&g);
	if (rc == 0 && fmt == MDT_GRAPH_SVG) {
		rc = graph_svg(text, len, &svg, &svglen, err, errlen);
		mdt__free(text);
		text = svg, len = svglen;
	}
	if (rc != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s", task_id, mdt_strerror(rc));
		mdt__free(text);
		return rc;
	}
	*out = text;
	if (outlen != NULL)
		*outlen = len;
	return 0;
}

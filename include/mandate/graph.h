/*
 * Pictures of a delegation tree: the tree of tasks containing a task,
 * read from the audit store (every hop with its holder, scopes, purpose
 * and state, and every decision made under it), rendered as indented
 * text, Graphviz dot, a Mermaid flowchart, or SVG drawn by Graphviz's
 * `dot` program.  `mandatectl graph` and `mandate-console` both draw
 * through here, so a picture on the console is the one the command
 * line gives.
 *
 * Thread-safety: as for the store handle (store.h); the renderings keep
 * no state between calls.
 */
#ifndef MANDATE_GRAPH_H
#define MANDATE_GRAPH_H

#include <mandate/common.h>
#include <mandate/store.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mdt_graph_format {
	MDT_GRAPH_TREE = 1,     /* indented text for a terminal */
	MDT_GRAPH_DOT = 2,      /* Graphviz source */
	MDT_GRAPH_MERMAID = 3,  /* a Mermaid flowchart */
	MDT_GRAPH_SVG = 4       /* SVG, drawn by running `dot -Tsvg` */
} mdt_graph_format;

#define MDT_GRAPH_OUT_MAX (64u << 20) /* bytes of any rendering */
#define MDT_GRAPH_DOT_MS 30000        /* time `dot` may take */

/*
 * Renders the whole tree containing task_id (walked from its root) in
 * format fmt.  MDT_GRAPH_SVG runs Graphviz's `dot` (found on PATH) as a
 * child process, feeds it the dot rendering and reads its SVG; the
 * child is killed after MDT_GRAPH_DOT_MS.
 *
 * On success *out holds the rendering, NUL-terminated, and *outlen (may
 * be NULL) its length; the caller frees *out with mdt_free.  On failure
 * *out is untouched and err (may be NULL) says why: MDT_ENOTFOUND for an
 * unknown task, MDT_EUNSUPPORTED when `dot` is not installed (err says
 * how to install it), MDT_EIO when it fails or times out, MDT_ETOOBIG
 * when a rendering exceeds MDT_GRAPH_OUT_MAX, MDT_EINVAL, MDT_ENOMEM or
 * a store error.
 */
MDT_API MDT_WUR int mdt_graph_render(mdt_store *store, const char *task_id,
    mdt_graph_format fmt, char **out, size_t *outlen, char *err,
    size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* MANDATE_GRAPH_H */

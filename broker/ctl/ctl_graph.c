/*
 * `mandatectl graph TASK`: prints the delegation tree containing TASK
 * as a terminal tree, Graphviz dot, Mermaid or SVG (mdt_graph_render),
 * or as JSON (mdt_store_task_tree_json).
 */
#include <stdlib.h>
#include <string.h>

#include <mandate/graph.h>
#include <mandate/mandate.h>

#include "ctl.h"
#include "ctl_graph.h"

static const char graph_usage[] =
    "usage: mandatectl graph TASK --store URI [--format tree|dot|mermaid|json|svg]\n"
    "\n"
    "Draws the whole delegation tree containing TASK: the clinician and\n"
    "patient at the root, every hop with its holder, effective scopes,\n"
    "purpose and state (revocations), and under each hop every decision\n"
    "made under it (allow, deny with its reason, step_up, break-glass,\n"
    "approvals).\n"
    "    --format tree     indented text for a terminal (default)\n"
    "    --format dot      Graphviz source\n"
    "    --format mermaid  a Mermaid flowchart\n"
    "    --format json     the tree as one JSON document (docs/audit.md)\n"
    "    --format svg      a picture, drawn by Graphviz's `dot` (Debian:\n"
    "                      apt-get install graphviz)\n"
    "The store is opened read-only; a running broker may keep writing.\n"
    "\n"
    "Exit status: 0 success, 2 unreadable store or unknown task, 64 usage\n"
    "error (also an unsupported format or `dot` missing for svg).\n";

/* 0, a negative MDT_E* (store) or a CTL_EXIT_* status (svg). */
static int
render(mdt_store *s, const char *task, const char *fmt)
{
	static const char *const names[] = {"tree", "dot", "mermaid", "svg"};
	char *text = NULL, err[MDT_ERRMSG_MAX];
	size_t len = 0, k = 0;
	int rc;

	if (strcmp(fmt, "json") == 0) {
		rc = mdt_store_task_tree_json(s, task, &text);
		if (rc == 0)
			printf("%s\n", text);
		mdt_free(text);
		return rc;
	}
	while (strcmp(fmt, names[k]) != 0)
		k++;
	rc = mdt_graph_render(s, task, (mdt_graph_format)(MDT_GRAPH_TREE + k),
	    &text, &len, err, sizeof(err));
	if (rc == 0)
		fwrite(text, 1, len, stdout);
	mdt_free(text);
	if (rc == -MDT_EUNSUPPORTED) {
		ctl_error("--format svg needs %s, or use --format dot and "
		    "render elsewhere", err);
		return CTL_EXIT_USAGE;
	}
	if (rc == -MDT_EIO || rc == -MDT_ETOOBIG) {
		ctl_error("%s", err);
		return CTL_EXIT_INVALID;
	}
	return rc;
}

static int
parse(int argc, char **argv, const char **task, const char **store,
    const char **fmt)
{
	*task = *store = NULL;
	*fmt = "tree";
	for (int i = 1; i < argc; i++) {
		const char **slot = strcmp(argv[i], "--store") == 0 ||
		    strcmp(argv[i], "--db") == 0 ? store :
		    strcmp(argv[i], "--format") == 0 ? fmt :
		    strcmp(argv[i], "--task") == 0 ? task : NULL;
		if (slot != NULL && i + 1 < argc)
			*slot = argv[++i];
		else if (slot == NULL && argv[i][0] != '-' && *task == NULL)
			*task = argv[i];
		else {
			ctl_error("bad option '%s' (see `mandatectl graph "
			    "--help`)", argv[i]);
			return -1;
		}
	}
	return 0;
}

int
ctl_graph_main(int argc, char **argv)
{
	static const char *const fmts[] = {"tree", "dot", "mermaid", "json",
	    "svg"};
	mdt_store_opts so = {.read_only = 1, .readers = 1};
	const char *task, *store, *fmt;
	char err[MDT_ERRMSG_MAX] = "";
	mdt_store *s;
	size_t k = 0;
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(graph_usage, stdout);
		return CTL_EXIT_OK;
	}
	if (parse(argc, argv, &task, &store, &fmt) != 0)
		return CTL_EXIT_USAGE;
	while (k < 5 && strcmp(fmt, fmts[k]) != 0)
		k++;
	if (task == NULL || store == NULL || k == 5) {
		ctl_error("need TASK, --store URI and a --format of tree, dot, "
		    "mermaid, json or svg (see `mandatectl graph --help`)");
		return CTL_EXIT_USAGE;
	}
	if ((rc = mdt_store_open(store, &so, &s, err, sizeof(err))) != 0) {
		ctl_error("%s: %s: %s", store, mdt_strerror(rc), err);
		return CTL_EXIT_INVALID;
	}
	rc = render(s, task, fmt);
	mdt_store_close(s);
	if (rc < 0) {
		ctl_error("%s: %s", task, mdt_strerror(rc));
		return CTL_EXIT_INVALID;
	}
	return rc; /* 0 or the CTL_EXIT_* status of svg */
}

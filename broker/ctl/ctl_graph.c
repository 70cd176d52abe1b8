/*
 * `mandatectl graph TASK`: collects the delegation tree containing TASK
 * from the store (mdt_store_task_tree: every hop, then the decisions made
 * under it) and prints it as a terminal tree, Graphviz dot, Mermaid,
 * JSON, or SVG through Graphviz's `dot`.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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

static char *
dup_or_dash(const char *s)
{
	return strdup(s != NULL ? s : "-");
}

/* The deny code of reasons ({"failed":"CODE",...}) or NULL. */
static char *
reason_code(const char *reasons)
{
	const char *p = reasons ? strstr(reasons, "\"failed\":\"") : NULL;

	if (p == NULL)
		return NULL;
	p += strlen("\"failed\":\"");
	return strndup(p, strcspn(p, "\""));
}

static int
on_task(void *arg, const mdt_audit_task *t)
{
	graph *g = arg;
	graph_hop *h;

	if (g->nhops == g->caphops) {
		size_t cap = g->caphops ? 2 * g->caphops : 16;
		graph_hop *n = realloc(g->hops, cap * sizeof(*n));
		if (n == NULL)
			return -MDT_ENOMEM;
		g->hops = n;
		g->caphops = cap;
	}
	h = &g->hops[g->nhops++];
	memset(h, 0, sizeof(*h));
	h->task = dup_or_dash(t->task_id);
	h->parent = t->parent_id ? strdup(t->parent_id) : NULL;
	h->holder = dup_or_dash(t->holder);
	h->from = dup_or_dash(t->from_agent);
	h->scopes = dup_or_dash(t->scopes);
	h->purpose = dup_or_dash(t->purpose);
	h->clinician = dup_or_dash(t->clinician);
	h->patient = dup_or_dash(t->patient);
	h->operation = dup_or_dash(t->operation);
	h->state = mdt_task_state_name(t->state);
	h->depth = t->depth;
	h->time_ms = t->time_ms;
	h->ended_ms = t->ended_ms;
	if (!h->task || !h->holder || !h->from || !h->scopes || !h->purpose ||
	    !h->clinician || !h->patient || !h->operation)
		g->failed = 1;
	return 0;
}

static int
on_decision(void *arg, const mdt_audit_decision *d)
{
	graph *g = arg;
	graph_hop *h;
	graph_dec *x;

	if (g->nhops == 0)
		return -MDT_EINVAL;
	h = &g->hops[g->nhops - 1];
	if (h->ndecs == h->capdecs) {
		size_t cap = h->capdecs ? 2 * h->capdecs : 16;
		graph_dec *n = realloc(h->decs, cap * sizeof(*n));
		if (n == NULL)
			return -MDT_ENOMEM;
		h->decs = n;
		h->capdecs = cap;
	}
	x = &h->decs[h->ndecs++];
	*x = (graph_dec){.seq = d->seq, .time_ms = d->time_ms,
	    .verdict = mdt_audit_verdict_name(d->verdict),
	    .operation = dup_or_dash(d->operation),
	    .action = dup_or_dash(d->action),
	    .resource = dup_or_dash(d->resource),
	    .why = reason_code(d->reasons), .agent = dup_or_dash(d->agent),
	    .flags = d->flags};
	if (!x->operation || !x->action || !x->resource || !x->agent)
		g->failed = 1;
	return 0;
}

static void
graph_free(graph *g)
{
	for (size_t i = 0; i < g->nhops; i++) {
		graph_hop *h = &g->hops[i];
		for (size_t k = 0; k < h->ndecs; k++) {
			graph_dec *x = &h->decs[k];
			free(x->operation), free(x->action), free(x->resource);
			free(x->why), free(x->agent);
		}
		free(h->decs);
		free(h->task), free(h->parent), free(h->holder), free(h->from);
		free(h->scopes), free(h->purpose), free(h->clinician);
		free(h->patient), free(h->operation);
	}
	free(g->hops);
}

/* Collects the tree containing task (walked from its root). */
static int
collect(mdt_store *s, const char *task, graph *g)
{
	const mdt_store_tree_visitor v = {on_task, on_decision};
	mdt_audit_task *t = NULL;
	int rc = mdt_store_get_task(s, task, &t);

	if (rc == 0)
		rc = mdt_store_task_tree(s, t->root_id, &v, g);
	mdt_free(t);
	if (rc == 0 && g->failed)
		rc = -MDT_ENOMEM;
	return rc;
}

/* Pipes dot source through `dot -Tsvg` to stdout; a CTL_EXIT_* status. */
static int
render_svg(const graph *g)
{
	FILE *p;
	int st;

	if (system("command -v dot >/dev/null 2>&1") != 0) {
		ctl_error("--format svg needs Graphviz's `dot`: install it "
		    "(Debian/Ubuntu: apt-get install graphviz; Fedora: dnf "
		    "install graphviz; macOS: brew install graphviz), or use "
		    "--format dot and render elsewhere");
		return CTL_EXIT_USAGE;
	}
	fflush(stdout);
	p = popen("dot -Tsvg", "w");
	if (p == NULL) {
		ctl_error("cannot run dot");
		return CTL_EXIT_INVALID;
	}
	ctl_graph_dot(p, g);
	st = pclose(p);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		ctl_error("dot failed");
		return CTL_EXIT_INVALID;
	}
	return CTL_EXIT_OK;
}

/* 0, a negative MDT_E* (store) or a CTL_EXIT_* status (svg). */
static int
render(mdt_store *s, const char *task, const char *fmt)
{
	graph g = {0};
	char *json = NULL;
	int rc;

	if (strcmp(fmt, "json") == 0) {
		rc = mdt_store_task_tree_json(s, task, &json);
		if (rc == 0)
			printf("%s\n", json);
		mdt_free(json);
		return rc;
	}
	rc = collect(s, task, &g);
	if (rc == 0 && strcmp(fmt, "tree") == 0)
		ctl_graph_tree(stdout, &g);
	else if (rc == 0 && strcmp(fmt, "dot") == 0)
		ctl_graph_dot(stdout, &g);
	else if (rc == 0 && strcmp(fmt, "mermaid") == 0)
		ctl_graph_mermaid(stdout, &g);
	else if (rc == 0)
		rc = render_svg(&g);
	graph_free(&g);
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

/*
 * A delegation tree held in memory while it is rendered: every hop in
 * depth-first order (root first) with the decisions made under it.
 */
#ifndef MDT_GRAPH_INT_H
#define MDT_GRAPH_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mandate/graph.h>

typedef struct graph_dec {
	uint64_t seq;
	int64_t time_ms;
	const char *verdict;  /* static name */
	char *operation, *action, *resource, *why, *agent;
	uint32_t flags;
} graph_dec;

typedef struct graph_hop {
	char *task, *parent, *holder, *from, *scopes, *purpose, *clinician,
	    *patient, *operation;
	const char *state;    /* static name */
	uint32_t depth;
	int64_t time_ms, ended_ms;
	graph_dec *decs;
	size_t ndecs, capdecs;
} graph_hop;

typedef struct graph {
	graph_hop *hops;
	size_t nhops, caphops;
	int failed;           /* an allocation failed while collecting */
} graph;

/* graph_collect.c: the tree containing task into *g (freed with
 * graph_free, also after a failure). */
int graph_collect(mdt_store *s, const char *task, graph *g);
void graph_free(graph *g);

/* graph_render.c: renderings of g to f. */
void graph_tree(FILE *f, const graph *g);
void graph_dot(FILE *f, const graph *g);
void graph_mermaid(FILE *f, const graph *g);

/* graph_svg.c: dot source (len bytes) through `dot -Tsvg`; *svg (caller
 * frees with mdt__free) and *svglen on success. */
int graph_svg(const char *dot, size_t len, char **svg, size_t *svglen,
    char *err, size_t errlen);

#endif

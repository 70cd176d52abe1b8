/*
 * `mandatectl graph`: a task tree read from the store (every hop with
 * its decisions) held in memory, and its renderings.
 */
#ifndef MDT_CTL_GRAPH_H
#define MDT_CTL_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* Renderings of g (hops in depth-first order, root first) to f. */
void ctl_graph_tree(FILE *f, const graph *g);
void ctl_graph_dot(FILE *f, const graph *g);
void ctl_graph_mermaid(FILE *f, const graph *g);

int ctl_graph_main(int argc, char **argv);

#endif

/*
 * `mandatectl graph`: a task's delegation tree, drawn by libmandate's
 * graph renderings (<mandate/graph.h>).
 */
#ifndef MDT_CTL_GRAPH_H
#define MDT_CTL_GRAPH_H

int ctl_graph_main(int argc, char **argv);

#endif

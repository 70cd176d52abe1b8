/*
 * Renderings of a collected delegation tree: indented text for a
 * terminal, Graphviz dot (one node per hop, its decisions listed in a
 * node beneath it) and a Mermaid flowchart of the same shape.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <mandate/store.h>

#include "graph_int.h"

/* Unix ms as "YYYY-MM-DDThh:mm:ss.mmmZ". */
static void
iso_time(int64_t ms, char *buf, size_t len)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, len, "%" PRId64, ms);
		return;
	}
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03dZ",
	    (int)(ms % 1000));
}

/* "deny scope.widen", "step_up", "allow break_glass approved", ... */
static void
dec_words(const graph_dec *x, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s", x->verdict, x->why ? " " : "",
	    x->why ? x->why : "",
	    x->flags & MDT_STORE_FLAG_BREAK_GLASS ? " break_glass" : "",
	    x->flags & MDT_STORE_FLAG_APPROVED ? " approved" : "");
}

void
graph_tree(FILE *f, const graph *g)
{
	char when[40], words[256];

	if (g->nhops > 0)
		fprintf(f, "clinician %s  patient %s  purpose %s\n",
		    g->hops[0].clinician, g->hops[0].patient,
		    g->hops[0].purpose);
	for (size_t i = 0; i < g->nhops; i++) {
		const graph_hop *h = &g->hops[i];
		int ind = 2 * (int)h->depth;
		iso_time(h->time_ms, when, sizeof(when));
		fprintf(f, "%*s└─ %s [%s] %s  holder %s  (%s by %s, %s)\n",
		    ind, "", h->task, h->state, h->operation, h->holder,
		    h->purpose, h->from, when);
		fprintf(f, "%*s   scopes: %s\n", ind, "", h->scopes);
		for (size_t k = 0; k < h->ndecs; k++) {
			const graph_dec *x = &h->decs[k];
			iso_time(x->time_ms, when, sizeof(when));
			dec_words(x, words, sizeof(words));
			fprintf(f, "%*s   #%" PRIu64 " %s %s %s %s -> %s\n", ind,
			    "", x->seq, when, x->operation, x->action,
			    x->resource, words);
		}
	}
}

/* s inside a double-quoted dot or Mermaid string. */
static void
quoted(FILE *f, const char *s, int mermaid)
{
	for (; *s; s++) {
		if (*s == '"')
			fputs(mermaid ? "#quot;" : "\\\"", f);
		else if (*s == '\\' && !mermaid)
			fputs("\\\\", f);
		else if (*s == '\n')
			putc(' ', f);
		else
			putc(*s, f);
	}
}

static void
dot_hop(FILE *f, size_t i, const graph_hop *h)
{
	char words[256];

	fprintf(f, "  h%zu [shape=box, style=%s, label=\"", i,
	    strcmp(h->state, "open") == 0 ? "rounded" : "\"rounded,dashed\"");
	quoted(f, h->task, 0);
	fprintf(f, " [%s]\\nholder ", h->state);
	quoted(f, h->holder, 0);
	fputs("\\nscopes ", f);
	quoted(f, h->scopes, 0);
	fputs("\\npurpose ", f);
	quoted(f, h->purpose, 0);
	fputs("\"];\n", f);
	if (h->ndecs == 0)
		return;
	fprintf(f, "  d%zu [shape=note, fontsize=9, label=\"", i);
	for (size_t k = 0; k < h->ndecs; k++) {
		const graph_dec *x = &h->decs[k];
		dec_words(x, words, sizeof(words));
		fprintf(f, "#%" PRIu64 " ", x->seq);
		quoted(f, x->operation, 0);
		putc(' ', f);
		quoted(f, x->action, 0);
		putc(' ', f);
		quoted(f, x->resource, 0);
		fprintf(f, ": %s\\l", words);
	}
	fprintf(f, "\"];\n  h%zu -> d%zu [style=dotted, arrowhead=none];\n",
	    i, i);
}

/* Index of the hop holding task id, or n. */
static size_t
hop_index(const graph *g, const char *id)
{
	size_t i = 0;

	while (id != NULL && i < g->nhops && strcmp(g->hops[i].task, id) != 0)
		i++;
	return id != NULL ? i : g->nhops;
}

void
graph_dot(FILE *f, const graph *g)
{
	fputs("digraph mandate {\n  rankdir=TB;\n  node [fontname=\"Helvetica\"];\n",
	    f);
	if (g->nhops > 0) {
		fputs("  clinician [shape=ellipse, label=\"clinician ", f);
		quoted(f, g->hops[0].clinician, 0);
		fputs("\\npatient ", f);
		quoted(f, g->hops[0].patient, 0);
		fputs("\"];\n  clinician -> h0;\n", f);
	}
	for (size_t i = 0; i < g->nhops; i++) {
		size_t p = hop_index(g, g->hops[i].parent);
		dot_hop(f, i, &g->hops[i]);
		if (p < g->nhops) {
			fprintf(f, "  h%zu -> h%zu [label=\"", p, i);
			quoted(f, g->hops[i].operation, 0);
			fputs("\"];\n", f);
		}
	}
	fputs("}\n", f);
}

void
graph_mermaid(FILE *f, const graph *g)
{
	char words[256];

	fputs("flowchart TD\n", f);
	if (g->nhops > 0) {
		fputs("  clinician([\"clinician ", f);
		quoted(f, g->hops[0].clinician, 1);
		fputs(" / patient ", f);
		quoted(f, g->hops[0].patient, 1);
		fputs("\"]) --> h0\n", f);
	}
	for (size_t i = 0; i < g->nhops; i++) {
		const graph_hop *h = &g->hops[i];
		size_t p = hop_index(g, h->parent);
		fprintf(f, "  h%zu[\"", i);
		quoted(f, h->task, 1);
		fprintf(f, " [%s]<br/>holder ", h->state);
		quoted(f, h->holder, 1);
		fputs("<br/>scopes ", f);
		quoted(f, h->scopes, 1);
		fputs("\"]\n", f);
		if (p < g->nhops)
			fprintf(f, "  h%zu -->|%s| h%zu\n", p, h->operation, i);
		for (size_t k = 0; k < h->ndecs; k++) {
			dec_words(&h->decs[k], words, sizeof(words));
			fprintf(f, "  h%zu -.- s%" PRIu64 "[\"#%" PRIu64 " ", i,
			    h->decs[k].seq, h->decs[k].seq);
			quoted(f, h->decs[k].action, 1);
			putc(' ', f);
			quoted(f, h->decs[k].resource, 1);
			fprintf(f, ": %s\"]\n", words);
		}
	}
}

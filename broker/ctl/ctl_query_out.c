/*
 * Renderings of queried decisions: typed JSON Lines (verdicts and flags
 * as words, reasons and arrays as JSON, ISO 8601 times) and an aligned
 * table whose column widths fit the rows.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/mandate.h>

#include "ctl.h"
#include "ctl_query.h"

void
ctl_json_str(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("null", f);
		return;
	}
	putc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			putc(c, f);
	}
	putc('"', f);
}

/* A stored JSON field (validated on append) as is, or a default. */
static void
json_raw(FILE *f, const char *json, const char *dflt)
{
	fputs(json != NULL && json[0] ? json : dflt, f);
}

static void
flag_words(FILE *f, uint32_t flags)
{
	static const char *const names[] = {"break_glass", "review",
	    "approved", "replay"};
	int first = 1;

	putc('[', f);
	for (unsigned i = 0; i < 4; i++)
		if (flags & (1u << i)) {
			fprintf(f, "%s\"%s\"", first ? "" : ",", names[i]);
			first = 0;
		}
	putc(']', f);
}

static void
field(FILE *f, const char *name, const char *v)
{
	fprintf(f, ",\"%s\":", name);
	ctl_json_str(f, v);
}

void
ctl_decision_jsonl(FILE *f, const mdt_store_decision *d)
{
	char t[40];

	ctl_iso_time(d->time_ms, t, sizeof(t));
	fprintf(f, "{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"verdict\":\"%s\"",
	    d->seq, t, mdt_store_verdict_name(d->verdict));
	field(f, "operation", d->operation);
	fputs(",\"flags\":", f);
	flag_words(f, d->flags);
	fputs(",\"reasons\":", f);
	json_raw(f, d->reasons, "null");
	fputs(",\"policy_ids\":", f);
	json_raw(f, d->policy_ids, "[]");
	field(f, "policy_hash", d->policy_hash);
	field(f, "task", d->task_id);
	field(f, "token", d->token_id);
	field(f, "clinician", d->clinician);
	field(f, "agent", d->agent);
	fputs(",\"agent_chain\":", f);
	json_raw(f, d->agent_chain, "[]");
	field(f, "patient", d->patient);
	field(f, "purpose", d->purpose);
	field(f, "action", d->action);
	field(f, "resource", d->resource);
	field(f, "request_id", d->request_id);
	fputs("}\n", f);
}

static int
jsonl_row(void *arg, const mdt_store_decision *d)
{
	(void)arg;
	ctl_decision_jsonl(stdout, d);
	return ferror(stdout) ? -MDT_EIO : 0;
}

static int
finish(mdt_store *s, int rc)
{
	char msg[MDT_ERRMSG_MAX];

	if (rc == 0 && fflush(stdout) != 0)
		rc = -MDT_EIO;
	if (rc == 0)
		return CTL_EXIT_OK;
	ctl_error("query: %s%s%s", mdt_strerror(rc),
	    mdt_store_errmsg(s, msg, sizeof(msg))[0] ? ": " : "", msg);
	return CTL_EXIT_INVALID;
}

int
ctl_query_jsonl(mdt_store *s, const mdt_store_query *q)
{
	return finish(s, mdt_store_query_decisions(s, q, jsonl_row, NULL));
}

/* ---- the table -------------------------------------------------------- */

#define NCOLS 10

static const char *const heads[NCOLS] = {"SEQ", "TIME", "VERDICT",
    "OPERATION", "PATIENT", "CLINICIAN", "AGENT", "ACTION", "RESOURCE",
    "REASON"};

typedef struct table {
	char **cells; /* NCOLS per row */
	size_t rows, cap;
	size_t width[NCOLS];
} table;

/* The deny code of a decision's reasons ({"failed":"CODE",...}), else
 * its flags in words, else "-"; into buf. */
static void
reason_cell(const mdt_store_decision *d, char *buf, size_t len)
{
	const char *p = d->reasons ? strstr(d->reasons, "\"failed\":\"") : NULL;
	size_t n;

	if (p != NULL) {
		p += strlen("\"failed\":\"");
		n = strcspn(p, "\"");
		snprintf(buf, len, "%.*s", (int)n, p);
	} else
		snprintf(buf, len, "%s",
		    d->flags & MDT_STORE_FLAG_BREAK_GLASS ? "break_glass" : "-");
}

static int
table_row(void *arg, const mdt_store_decision *d)
{
	table *t = arg;
	char seq[24], when[40], why[128];
	const char *v[NCOLS];

	if (t->rows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		char **c = realloc(t->cells, cap * NCOLS * sizeof(*c));
		if (c == NULL)
			return -MDT_ENOMEM;
		t->cells = c;
		t->cap = cap;
	}
	snprintf(seq, sizeof(seq), "%" PRIu64, d->seq);
	ctl_iso_time(d->time_ms, when, sizeof(when));
	reason_cell(d, why, sizeof(why));
	v[0] = seq, v[1] = when, v[2] = mdt_store_verdict_name(d->verdict);
	v[3] = d->operation, v[4] = d->patient, v[5] = d->clinician;
	v[6] = d->agent, v[7] = d->action, v[8] = d->resource, v[9] = why;
	for (int i = 0; i < NCOLS; i++) {
		char *c = strdup(v[i] != NULL ? v[i] : "-");
		if (c == NULL) {
			while (i-- > 0)
				free(t->cells[t->rows * NCOLS + (size_t)i]);
			return -MDT_ENOMEM;
		}
		t->cells[t->rows * NCOLS + (size_t)i] = c;
	}
	t->rows++;
	return 0;
}

static void
print_line(const table *t, const char *const *cells)
{
	for (int i = 0; i + 1 < NCOLS; i++)
		printf("%-*s  ", (int)t->width[i], cells[i]);
	printf("%s\n", cells[NCOLS - 1]);
}

static void
table_print(table *t)
{
	for (int i = 0; i < NCOLS; i++)
		t->width[i] = strlen(heads[i]);
	for (size_t r = 0; r < t->rows; r++)
		for (int i = 0; i < NCOLS; i++) {
			size_t w = strlen(t->cells[r * NCOLS + (size_t)i]);
			if (w > t->width[i])
				t->width[i] = w;
		}
	print_line(t, heads);
	for (size_t r = 0; r < t->rows; r++)
		print_line(t, (const char *const *)&t->cells[r * NCOLS]);
}

static void
table_free(table *t)
{
	for (size_t k = 0; k < t->rows * NCOLS; k++)
		free(t->cells[k]);
	free(t->cells);
}

int
ctl_query_table(mdt_store *s, const mdt_store_query *q)
{
	table t = {0};
	int rc = mdt_store_query_decisions(s, q, table_row, &t);

	if (rc == 0)
		table_print(&t);
	table_free(&t);
	return finish(s, rc);
}

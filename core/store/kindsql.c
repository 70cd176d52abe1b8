/*
 * What the SQL backends build alike from the record-kind descriptors:
 * the column list of a kind's SELECT and its INSERT statement, and the
 * list of ended tasks an end-task op reports.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "alloc_int.h"
#include "core_int.h"

char *
mdt__select_list(const mdt__kind_desc *d, const char *alias)
{
	size_t cap = 64 + d->ncols * 40, o;
	const char *a = alias != NULL ? alias : "", *dot = alias ? "." : "";
	char *s = mdt__malloc(cap);

	if (s == NULL)
		return NULL;
	o = (size_t)snprintf(s, cap, "%s%sseq, %s%sprev, %s%shash", a, dot,
	    a, dot, a, dot);
	for (size_t i = 0; i < d->ncols; i++)
		o += (size_t)snprintf(s + o, cap - o, ", %s%s%s", a, dot,
		    d->cols[i].name);
	return s;
}

char *
mdt__insert_sql(const mdt__kind_desc *d, int pg)
{
	size_t cap = 96 + strlen(d->table) + d->ncols * 24;
	char *sql = mdt__malloc(cap);
	const char *mark = pg ? "$" : "?";
	size_t o;

	if (sql == NULL)
		return NULL;
	o = (size_t)snprintf(sql, cap, "INSERT INTO %s(seq, prev, hash",
	    d->table);
	for (size_t i = 0; i < d->ncols; i++)
		o += (size_t)snprintf(sql + o, cap - o, ", %s",
		    d->cols[i].name);
	o += (size_t)snprintf(sql + o, cap - o, ") VALUES (%s1, %s2, %s3",
	    mark, mark, mark);
	for (size_t i = 0; i < d->ncols; i++)
		o += (size_t)snprintf(sql + o, cap - o, ", %s%zu", mark, i + 4);
	snprintf(sql + o, cap - o, ")%s", pg ? " ON CONFLICT DO NOTHING" : "");
	return sql;
}

/* The caller's list: one allocation holding struct, pointers, strings. */
int
mdt__revocation_list(json_t *ids, uint64_t seq, int64_t time_ms,
    mdt_store_revocation **out)
{
	size_t n = json_array_size(ids), bytes = 0, i;
	mdt_store_revocation *r;
	const char **ptrs;
	char *p;
	json_t *e;

	json_array_foreach(ids, i, e)
		bytes += json_string_length(e) + 1;
	r = mdt__malloc(sizeof(*r) + n * sizeof(char *) + bytes);
	if (r == NULL)
		return -MDT_ENOMEM;
	ptrs = (const char **)(r + 1);
	p = (char *)(ptrs + n);
	json_array_foreach(ids, i, e) {
		size_t len = json_string_length(e);
		memcpy(p, json_string_value(e), len + 1);
		ptrs[i] = p;
		p += len + 1;
	}
	r->seq = seq;
	r->time_ms = time_ms;
	r->count = n;
	r->task_ids = ptrs;
	*out = r;
	return 0;
}


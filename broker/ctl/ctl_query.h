/*
 * The filtered decision query shared by `mandatectl audit query` and
 * the commands that take the same filters: option parsing, time
 * parsing and printing, and the table and JSON Lines renderings.
 */
#ifndef MDT_CTL_QUERY_H
#define MDT_CTL_QUERY_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <mandate/store.h>

typedef struct ctl_query_opts {
	const char *store;
	const char *format;
	mdt_store_query q;
} ctl_query_opts;

/* Parses argv[1..] (argv[0] is the subcommand) into *o; 0 or
 * CTL_EXIT_USAGE after a message. */
int ctl_query_parse(int argc, char **argv, ctl_query_opts *o);

/* Opens o->store read-only; 0 or a negative MDT_E* after a message. */
int ctl_query_open(const ctl_query_opts *o, mdt_store **s);

/* ISO 8601 ("2026-12-04", "...T13:05:00Z", "...+01:00") or relative to
 * now_ms ("30m", "12h", "7d", "2w", "now") into Unix ms; -1 if bad. */
int ctl_parse_time(const char *t, int64_t now_ms, int64_t *out);

/* Unix ms as "YYYY-MM-DDThh:mm:ss.mmmZ" into buf. */
void ctl_iso_time(int64_t ms, char *buf, size_t len);

/* Writes s as a JSON string (with quotes), or null for NULL. */
void ctl_json_str(FILE *f, const char *s);

/* Writes one decision as a typed JSON object and a newline. */
void ctl_decision_jsonl(FILE *f, const mdt_store_decision *d);

/* The query's decisions as an aligned table / JSON Lines on stdout;
 * CTL_EXIT_* status. */
int ctl_query_table(mdt_store *s, const mdt_store_query *q);
int ctl_query_jsonl(mdt_store *s, const mdt_store_query *q);

int ctl_audit_query_main(int argc, char **argv);

/* `audit export` with --format jsonl, filters or --follow (typed
 * decisions); ctl_export_wants_typed says whether argv asks for it. */
int ctl_export_wants_typed(int argc, char **argv);
int ctl_audit_export_main(int argc, char **argv);

/* `audit disclosures` (ctl_disclosures.c). */
int ctl_audit_disclosures_main(int argc, char **argv);

/* `audit explain SEQ` (ctl_explain.c). */
int ctl_audit_explain_main(int argc, char **argv);

/* `access --at`: the access answer at at_ms rebuilt from the store, as
 * JSON text (caller frees with free()); err says why on failure
 * (ctl_access_at.c). */
int ctl_access_at(mdt_store *s, const char *agent, const char *patient,
    int64_t at_ms, char **json, char *err, size_t errlen);

#endif

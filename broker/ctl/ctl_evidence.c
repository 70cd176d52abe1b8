/*
 * Helpers the OCSF and FHIR renderings share: the stored JSON fields
 * parsed back, a decision's deny code and readable reason, and the FHIR
 * interaction an action letter stands for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/mandate.h>

#include "ctl_evidence.h"

json_t *
ctl_json_field(const char *text, const char *dflt)
{
	json_t *j = NULL;

	if (text != NULL && text[0] != '\0')
		j = json_loads(text, JSON_DECODE_ANY, NULL);
	return j != NULL ? j : json_loads(dflt, JSON_DECODE_ANY, NULL);
}

int
ctl_json_line(FILE *f, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t n;
	int rc = 0;

	if (s == NULL)
		return -MDT_ENOMEM;
	n = strlen(s);
	s[n] = '\n'; /* json_dumps left room for its NUL: it is replaced */
	if (fwrite(s, 1, n + 1, f) != n + 1)
		rc = -MDT_EIO;
	free(s);
	return rc;
}

void
ctl_reason_code(const mdt_store_decision *d, char *buf, size_t len)
{
	json_t *r = ctl_json_field(d->reasons, "{}");
	const char *code = json_string_value(json_object_get(r, "failed"));

	snprintf(buf, len, "%s", code != NULL ? code : "");
	json_decref(r);
}

void
ctl_reason_text(const mdt_store_decision *d, char *buf, size_t len)
{
	json_t *r = ctl_json_field(d->reasons, "{}");
	const char *code = json_string_value(json_object_get(r, "failed"));
	const char *detail = json_string_value(json_object_get(r, "detail"));

	if (code != NULL && detail != NULL)
		snprintf(buf, len, "%s: %s", code, detail);
	else if (code != NULL)
		snprintf(buf, len, "%s", code);
	else
		snprintf(buf, len, "%s%s", mdt_store_verdict_name(d->verdict),
		    d->flags & MDT_STORE_FLAG_BREAK_GLASS ?
		    " (break-the-glass)" : "");
	json_decref(r);
}

const char *
ctl_fhir_interaction(const char *action)
{
	static const struct {
		const char *letter, *interaction;
	} map[] = {{"c", "create"}, {"r", "read"}, {"u", "update"},
	    {"d", "delete"}, {"s", "search-type"}};

	for (size_t i = 0; action != NULL && i < sizeof(map) / sizeof(map[0]);
	    i++)
		if (strcmp(action, map[i].letter) == 0)
			return map[i].interaction;
	return NULL;
}

const char *
ctl_acting_agent(const mdt_store_decision *d, json_t *chain)
{
	size_t n = json_array_size(chain);
	const char *last = n ? json_string_value(json_array_get(chain, n - 1))
	    : NULL;

	return last != NULL ? last : d->agent;
}

/*
 * The mapping of an MCP tool call onto a Mandate request: the tool as the
 * resource "tool/NAME", the arguments that fit the reference grammar as
 * its attributes (docs/scopes.md), and the patient the call names.  The
 * gateway and any upstream that verifies the presentation apply the same
 * rule, so both name the same resource.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

#define ATTR_VALUE_MAX 64

int
mcp_tool_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || name[0] < 'a' || name[0] > 'z')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
		    name[i] == '-'))
			return 0;
	return 1;
}

static int
name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
	    c == ':';
}

static int
value_char(unsigned char c)
{
	return name_char(c) || c == '~' || c == '/' || c == '|' || c == '@';
}

static int
all(const char *s, int (*ok)(unsigned char))
{
	if (*s == 0)
		return 0;
	for (; *s != 0; s++)
		if (!ok((unsigned char)*s))
			return 0;
	return 1;
}

/* The attribute text of v, or 0 when it cannot be one. */
static int
attr_value(const json_t *v, char *out, size_t outlen)
{
	if (json_is_string(v)) {
		if (json_string_length(v) > ATTR_VALUE_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v) ||
		    !all(json_string_value(v), value_char))
			return 0;
		snprintf(out, outlen, "%s", json_string_value(v));
	} else if (json_is_integer(v)) {
		snprintf(out, outlen, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	} else if (json_is_boolean(v)) {
		snprintf(out, outlen, "%s", json_is_true(v) ? "true" : "false");
	} else {
		return 0;
	}
	return 1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The argument names that can be attributes, sorted; at most max. */
static size_t
attr_names(json_t *args, const char **names, size_t max)
{
	const char *k;
	json_t *v;
	size_t n = 0, total = json_object_size(args), i = 0;
	const char **all_names;
	char val[ATTR_VALUE_MAX + 1];

	if (total == 0 || (all_names = calloc(total, sizeof(*all_names))) ==
	    NULL)
		return 0;
	json_object_foreach(args, k, v)
		if (strlen(k) <= 64 && all(k, name_char) &&
		    attr_value(v, val, sizeof(val)))
			all_names[i++] = k;
	qsort(all_names, i, sizeof(*all_names), cmp_str);
	for (n = 0; n < i && n < max; n++)
		names[n] = all_names[n];
	free(all_names);
	return n;
}

int
mcp_tool_ref(const char *name, json_t *args, char *out, size_t outlen)
{
	const char *names[MDT_SCOPE_PARAMS_MAX];
	char val[ATTR_VALUE_MAX + 1];
	size_t n = 0, o;
	int w;

	if (!mcp_tool_name_ok(name))
		return -MDT_EINVAL;
	w = snprintf(out, outlen, "tool/%s", name);
	if (w < 0 || (size_t)w >= outlen)
		return -MDT_ETOOBIG;
	o = (size_t)w;
	if (json_is_object(args))
		n = attr_names(args, names, MDT_SCOPE_PARAMS_MAX);
	for (size_t i = 0; i < n; i++) {
		(void)attr_value(json_object_get(args, names[i]), val,
		    sizeof(val));
		w = snprintf(out + o, outlen - o, "%c%s=%s", i ? '&' : '?',
		    names[i], val);
		if (w < 0 || (size_t)w >= outlen - o)
			return -MDT_ETOOBIG;
		o += (size_t)w;
	}
	return 0;
}

int
mcp_patient_arg(json_t *args, const char *const *names, size_t n,
    char *out, size_t outlen)
{
	for (size_t i = 0; json_is_object(args) && i < n; i++) {
		json_t *v = json_object_get(args, names[i]);
		char *text;
		if (v == NULL)
			continue;
		if (json_is_string(v)) {
			const char *s = json_string_value(v);
			if (strncmp(s, "Patient/", 8) == 0)
				s += 8;
			/* a name that does not fit is no patient's */
			snprintf(out, outlen, "%s", strlen(s) < outlen ? s :
			    "(too long)");
			return 1;
		}
		text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		snprintf(out, outlen, "%s", text != NULL ? text : "?");
		free(text);
		return 1;
	}
	return 0;
}

/*
 * mandate-mcp's configuration file: INI sections [broker], [agent],
 * [gateway] and one [upstream NAME] per upstream MCP server, read through
 * one table of settings (name, type, bounds, default).  Unknown sections
 * and keys are errors, so a typo never leaves a default silently in force.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

enum kind { STR, U32, STEPUP, ONEXIT };

struct setting {
	const char *section;  /* "upstream": per upstream */
	const char *key;
	enum kind kind;
	size_t off, size;
	uint32_t min, max;
	const char *def;
};

#define C(f) offsetof(struct gw_config, f), sizeof(((struct gw_config *)0)->f)
#define U(f) offsetof(struct gw_upstream_cfg, f), \
	sizeof(((struct gw_upstream_cfg *)0)->f)

static const struct setting settings[] = {
	{ "broker", "url", STR, C(broker), 0, 0, "" },
	{ "broker", "events", STR, C(events), 0, 0, "" },
	{ "broker", "timeout_ms", U32, C(timeout_ms), 100, 600000, "10000" },
	{ "agent", "id", STR, C(agent), 0, 0, "" },
	{ "agent", "key", STR, C(key), 0, 0, "" },
	{ "agent", "svid_cert", STR, C(svid_cert), 0, 0, "" },
	{ "agent", "svid_key", STR, C(svid_key), 0, 0, "" },
	{ "agent", "task_wait_ms", U32, C(task_wait_ms), 1, 86400000, "30000" },
	{ "agent", "on_exit", ONEXIT, C(complete_on_exit), 0, 0, "complete" },
	{ "gateway", "step_up", STEPUP, C(step_up), 0, 0, "wait" },
	{ "gateway", "step_up_wait_ms", U32, C(step_up_wait_ms), 0, 86400000,
	    "300000" },
	{ "gateway", "patient_args", STR, C(patient_args), 0, 0,
	    "patient patientId patient_id subject" },
	{ "gateway", "max_message", U32, C(max_message), 1024,
	    MCP_MESSAGE_MAX_LIMIT, "4194304" },
	{ "gateway", "call_timeout_ms", U32, C(call_timeout_ms), 100,
	    86400000, "60000" },
	{ "http", "listen", STR, C(http_listen), 0, 0, "" },
	{ "http", "path", STR, C(http_path), 0, 0, "/mcp" },
	{ "http", "allowed_origins", STR, C(http_origins), 0, 0, "" },
	{ "upstream", "command", STR, U(command), 0, 0, "" },
	{ "upstream", "url", STR, U(url), 0, 0, "" },
	{ "upstream", "audience", STR, U(audience), 0, 0, "" },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static int
set_value(const struct setting *s, void *base, const char *v, char *why,
    size_t wlen)
{
	char *p = (char *)base + s->off, *end;
	unsigned long n;

	switch (s->kind) {
	case STR:
		if (strlen(v) >= s->size)
			return snprintf(why, wlen, "longer than %zu bytes",
			    s->size - 1), -1;
		memcpy(p, v, strlen(v) + 1);
		return 0;
	case U32:
		errno = 0;
		n = strtoul(v, &end, 10);
		if (*v == 0 || *end != 0 || errno != 0 || n < s->min ||
		    n > s->max || !isdigit((unsigned char)*v))
			return snprintf(why, wlen, "expected an integer from %u "
			    "to %u", s->min, s->max), -1;
		*(uint32_t *)(void *)p = (uint32_t)n;
		return 0;
	case STEPUP:
		if (strcmp(v, "wait") != 0 && strcmp(v, "pending") != 0)
			return snprintf(why, wlen, "expected wait or pending"),
			    -1;
		*(int *)(void *)p = strcmp(v, "pending") == 0;
		return 0;
	case ONEXIT:
		if (strcmp(v, "complete") != 0 && strcmp(v, "keep") != 0)
			return snprintf(why, wlen, "expected complete or keep"),
			    -1;
		*(int *)(void *)p = strcmp(v, "complete") == 0;
		return 0;
	}
	return -1;
}

static void
defaults(struct gw_config *c)
{
	char why[64];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].section, "upstream") != 0)
			(void)set_value(&settings[i], c, settings[i].def, why,
			    sizeof(why));
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* "[name]" or "[upstream NAME]": the section, and the upstream it opens. */
static int
section(struct gw_config *c, char *line, char *sec, size_t slen, char *why,
    size_t wlen)
{
	char *end = strchr(line, ']'), *name;

	if (end == NULL || end[1] != 0)
		return snprintf(why, wlen, "expected [section]"), -1;
	*end = 0;
	line = trim(line + 1);
	if (strncmp(line, "upstream", 8) != 0 || !isspace((unsigned char)line[8])) {
		snprintf(sec, slen, "%s", line);
		return 0;
	}
	name = trim(line + 8);
	if (!mcp_tool_name_ok(name) || strlen(name) >= sizeof(c->up[0].name))
		return snprintf(why, wlen, "upstream names are [a-z][a-z0-9_-]*"),
		    -1;
	for (size_t i = 0; i < c->nup; i++)
		if (strcmp(c->up[i].name, name) == 0)
			return snprintf(why, wlen, "upstream %s twice", name), -1;
	if (c->nup == GW_UPSTREAMS_MAX)
		return snprintf(why, wlen, "at most %d upstreams",
		    GW_UPSTREAMS_MAX), -1;
	snprintf(c->up[c->nup++].name, sizeof(c->up[0].name), "%s", name);
	snprintf(sec, slen, "upstream");
	return 0;
}

static int
assign(struct gw_config *c, const char *sec, char *line, char *why,
    size_t wlen)
{
	char *eq = strchr(line, '='), *key, *val;

	if (eq == NULL)
		return snprintf(why, wlen, "expected key = value"), -1;
	*eq = 0;
	key = trim(line);
	val = trim(eq + 1);
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];
		if (strcmp(s->section, sec) != 0 || strcmp(s->key, key) != 0)
			continue;
		if (strcmp(sec, "upstream") == 0)
			return set_value(s, &c->up[c->nup - 1], val, why, wlen);
		return set_value(s, c, val, why, wlen);
	}
	return snprintf(why, wlen, "unknown setting %s in [%s]", key, sec), -1;
}

static int
check(const struct gw_config *c, char *why, size_t wlen)
{
	if (c->broker[0] == 0 || c->events[0] == 0)
		return snprintf(why, wlen, "[broker] needs url and events"), -1;
	if (c->key[0] == 0 && c->svid_cert[0] == 0)
		return snprintf(why, wlen, "[agent] needs key, or svid_cert and "
		    "svid_key"), -1;
	if ((c->svid_cert[0] == 0) != (c->svid_key[0] == 0))
		return snprintf(why, wlen, "[agent] svid_cert and svid_key go "
		    "together"), -1;
	if (c->svid_cert[0] == 0 && c->agent[0] == 0)
		return snprintf(why, wlen, "[agent] needs id with key"), -1;
	if (c->nup == 0)
		return snprintf(why, wlen, "no [upstream NAME] section"), -1;
	for (size_t i = 0; i < c->nup; i++)
		if ((c->up[i].command[0] == 0) == (c->up[i].url[0] == 0))
			return snprintf(why, wlen, "[upstream %s] needs command "
			    "or url (one of them)", c->up[i].name), -1;
		else if (c->up[i].url[0] != 0 &&
		    strncmp(c->up[i].url, "http://", 7) != 0)
			return snprintf(why, wlen, "[upstream %s] url: only "
			    "http:// URLs", c->up[i].name), -1;
	if (c->http_path[0] != '/')
		return snprintf(why, wlen, "[http] path must start with /"), -1;
	return 0;
}

int
gw_config_load(const char *path, struct gw_config *c, char *err,
    size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[4096], sec[64] = "", why[256] = "";
	int lineno = 0, rc = 0;

	defaults(c);
	if (f == NULL)
		return snprintf(err, errlen, "%s: %s", path, strerror(errno)),
		    -1;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *s = trim(line);
		lineno++;
		if (*s == 0 || *s == '#' || *s == ';')
			continue;
		if (*s == '[')
			rc = section(c, s, sec, sizeof(sec), why, sizeof(why));
		else if (sec[0] == 0)
			rc = (snprintf(why, sizeof(why), "setting outside a "
			    "section"), -1);
		else
			rc = assign(c, sec, s, why, sizeof(why));
	}
	fclose(f);
	if (rc != 0)
		return snprintf(err, errlen, "%s:%d: %s", path, lineno, why), -1;
	if (check(c, why, sizeof(why)) != 0)
		return snprintf(err, errlen, "%s: %s", path, why), -1;
	return 0;
}

int
gw_split_command(const char *cmd, char *buf, size_t buflen, char **argv,
    size_t max)
{
	size_t n = 0, o = 0;
	const char *p = cmd;

	while (*p != 0) {
		int quoted = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == 0)
			break;
		if (n + 1 >= max)
			return -1;
		argv[n++] = buf + o;
		for (; *p != 0 && (quoted || (*p != ' ' && *p != '\t')); p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (o + 1 >= buflen)
				return -1;
			buf[o++] = *p;
		}
		if (quoted || o + 1 >= buflen)
			return -1;
		buf[o++] = 0;
	}
	argv[n] = NULL;
	return n > 0 ? (int)n : -1;
}

/*
 * mandatectl: the operator and security-team command line.  This file
 * owns the command table, global help and the small helpers every command
 * group shares.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/mandate.h>

#include "ctl.h"

static const ctl_command commands[] = {
	{"policy", "check, evaluate and conformance-test Cedar policies", ctl_policy_main},
	{"idp", "development identity provider: keys, launch assertions", ctl_idp_main},
	{"keygen", "generate an Ed25519 key pair (NAME.key, NAME.pub)", ctl_keygen_main},
	{"token", "mint, attenuate, seal, inspect and check tokens", ctl_token_main},
	{"audit", "verify, export and list the tamper-evident audit store", ctl_audit_main},
	{"tasks", "list open and orphaned tasks; cancel one through the broker", ctl_tasks_main},
	{"status", "ask a running broker for its state (admin)", ctl_status_main},
	{"agent", "add, list, show, remove agents and rotate their keys", ctl_agent_main},
	{"graph", "draw a task's delegation tree with its decisions", ctl_graph_main},
	{"review", "the decisions to review after the fact; mark one reviewed", ctl_review_main},
	{"access", "what an agent may do to a patient now or at a past instant", ctl_access_main},
	{NULL, NULL, NULL}
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: mandatectl COMMAND [ARGS...]\n"
	    "\n"
	    "Operator and security-team tool for Mandate, the delegation-chain\n"
	    "broker for AI agents.  Run `mandatectl COMMAND --help` for details.\n"
	    "\n"
	    "Commands:\n");
	for (const ctl_command *c = commands; c->name != NULL; c++)
		fprintf(out, "  %-12s %s\n", c->name, c->summary);
	fprintf(out,
	    "\n"
	    "Exit status: 0 success or allow, 1 deny, 2 invalid input,\n"
	    "3 step-up required (policy eval), 64 usage error.\n");
}

void
ctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mandatectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
ctl_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

int
ctl_read_file(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf;
	size_t n = 0, cap = 4096;

	if (f == NULL) {
		ctl_error("%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(cap + 1)) == NULL)
		goto nomem;
	for (;;) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n > max) {
			ctl_error("%s: larger than %zu bytes", path, max);
			goto fail;
		}
		if (got == 0)
			break;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (nb == NULL)
				goto nomem;
			buf = nb;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		ctl_error("%s: read error", path);
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
nomem:
	ctl_error("%s: out of memory", path);
fail:
	free(buf);
	if (f != stdin)
		fclose(f);
	return -1;
}

/* `mandatectl help CMD [SUB]` is `mandatectl CMD [SUB] --help`, so the
 * two never disagree. */
static int
help_of(int argc, char **argv)
{
	char help[] = "--help";
	char *args[4] = { argv[0], NULL, NULL, NULL };
	int n = 1;

	if (argc > 1)
		args[n++] = argv[1];
	args[n++] = help;
	for (const ctl_command *c = commands; c->name != NULL; c++)
		if (strcmp(argv[0], c->name) == 0)
			return c->run(n, args);
	ctl_error("unknown command '%s' (try --help)", argv[0]);
	return CTL_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 && argc > 2)
		return help_of(argc - 2, argv + 2);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("mandatectl %s\n", mdt_version());
		return CTL_EXIT_OK;
	}
	for (const ctl_command *c = commands; c->name != NULL; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	ctl_error("unknown command '%s' (try --help)", argv[1]);
	return CTL_EXIT_USAGE;
}

/*
 * mandatectl internals: the command table and helpers shared by the
 * command groups.  mandatectl uses only the public headers of Mandate.
 */
#ifndef MDT_CTL_H
#define MDT_CTL_H

#include <stdio.h>

/* Exit statuses shared by every command. */
#define CTL_EXIT_OK 0
#define CTL_EXIT_DENY 1
#define CTL_EXIT_INVALID 2
#define CTL_EXIT_USAGE 64

/* A command group: `mandatectl NAME ARGS...`; argv[0] is NAME. */
typedef struct ctl_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
} ctl_command;

/* Prints "mandatectl: " and the formatted message to stderr. */
void ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Reads a whole file ("-" = standard input) into a NUL-terminated buffer,
 * at most max bytes.  Returns 0 and sets *out (caller frees with free())
 * and *len, or -1 after printing what went wrong.
 */
int ctl_read_file(const char *path, size_t max, char **out, size_t *len);

/* True when argv holds -h or --help. */
int ctl_wants_help(int argc, char **argv);

/* Command groups (one per line, append-only). */
int ctl_policy_main(int argc, char **argv);
int ctl_idp_main(int argc, char **argv);
int ctl_keygen_main(int argc, char **argv);
int ctl_token_main(int argc, char **argv);
int ctl_audit_main(int argc, char **argv);
int ctl_tasks_main(int argc, char **argv);
int ctl_status_main(int argc, char **argv);
int ctl_agent_main(int argc, char **argv);
/* `mandatectl idp jwks` (ctl_idp_jwks.c). */
int ctl_idp_jwks(int argc, char **argv);
int ctl_graph_main(int argc, char **argv);
int ctl_review_main(int argc, char **argv);
int ctl_access_main(int argc, char **argv);
/* `mandatectl audit prove` (ctl_prove.c). */
int ctl_audit_prove_main(int argc, char **argv);
/* `token check --receipt R`: 0 when R (text or @FILE) is the receipt of
 * tok's decision under a key of the root set at root_path, else an exit
 * status after printing why (ctl_prove.c). */
struct mdt_token;
int ctl_receipt_check(const char *root_path, const char *receipt,
    const struct mdt_token *tok);

#endif

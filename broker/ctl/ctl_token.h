/*
 * Helpers shared by `mandatectl keygen` and `mandatectl token`: a table
 * option parser, number parsing and reading keys and tokens from the
 * command line.  Public Mandate API only.
 */
#ifndef MDT_CTL_TOKEN_H
#define MDT_CTL_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <mandate/mandate.h>

#define CTL_OPT_MULTI_MAX 64

typedef enum ctl_opt_kind {
	CTL_OPT_FLAG,  /* no value: *value becomes "1" */
	CTL_OPT_ARG,   /* one value, given at most once */
	CTL_OPT_MULTI  /* repeatable: values collected in order */
} ctl_opt_kind;

typedef struct ctl_opt {
	const char *name;   /* "--scope" */
	ctl_opt_kind kind;
	const char **value; /* FLAG and ARG */
	const char **multi; /* MULTI: array of CTL_OPT_MULTI_MAX */
	size_t *nmulti;
} ctl_opt;

/*
 * Parses argv[first..argc) against the table.  Returns 0, or
 * CTL_EXIT_USAGE after printing what was wrong (unknown option, missing
 * value, repeated option, stray argument) and where to find help (cmd).
 */
int ctl_parse_opts(int argc, char **argv, int first, const ctl_opt *opts,
    size_t nopts, const char *cmd);

/* Prints "missing --NAME" and returns CTL_EXIT_USAGE. */
int ctl_missing(const char *opt, const char *cmd);

/* A required option: where its value lands, and its name. */
typedef struct ctl_required {
	const char *const *value;
	const char *name;
} ctl_required;

/* 0 when every option of req has a value; else prints every missing one
 * on one line ("missing --key, --sub") and returns CTL_EXIT_USAGE. */
int ctl_require(const char *cmd, const ctl_required *req, size_t n);

/* Decimal integer in [min, max]; CTL_EXIT_USAGE with a message if not. */
int ctl_parse_int(const char *s, int64_t min, int64_t max, const char *opt,
    const char *cmd, int64_t *out);

/* `--now` if given, else the current time. */
int ctl_now(const char *s, const char *cmd, int64_t *out);

/*
 * Reads a token given as text, `-` (standard input) or `@FILE`, trims
 * surrounding white space and decodes it (not verified).  Returns 0, or
 * CTL_EXIT_INVALID after printing the reason.  Caller frees *out with
 * mdt_token_free.
 */
int ctl_read_token(const char *arg, mdt_token **out);

/* Loads a .pub file; CTL_EXIT_INVALID with a message on failure. */
int ctl_load_pub(const char *path, mdt_pubkey *out);

/* Verifies tok against the root key (.pub) or root set (.pubs) of path
 * (mdt_token_roots_load): 0, or CTL_EXIT_INVALID with the reason printed. */
int ctl_verify_roots(mdt_token *tok, const char *path);

/* Loads a .key file; CTL_EXIT_INVALID with a message on failure. */
int ctl_load_key(const char *path, mdt_keypair **out);

/* Parses every --scope value (each may hold several, space-separated)
 * into one set; CTL_EXIT_USAGE with the parser's message on error. */
int ctl_scopes(const char *const *v, size_t n, const char *cmd,
    mdt_scope_set **out);
/* The same for the values of another option (opt, e.g. "--ceiling"). */
int ctl_scopes_opt(const char *const *v, size_t n, const char *opt,
    const char *cmd, mdt_scope_set **out);

/* Prints the token's text form and a newline; 0 or CTL_EXIT_INVALID. */
int ctl_print_token(const mdt_token *tok);

/* Prints "mandatectl: WHAT: REASON (block N)" for a token failure. */
void ctl_token_error(const char *what, const mdt_token_reason *why, int rc);

/* The subcommands, in ctl_token_make.c and ctl_token_view.c. */
int ctl_token_mint(int argc, char **argv);
int ctl_token_attenuate(int argc, char **argv);
int ctl_token_seal(int argc, char **argv);
int ctl_token_inspect(int argc, char **argv);
int ctl_token_check(int argc, char **argv);
/* ctl_token_prove.c */
int ctl_token_prove(int argc, char **argv);

#endif

/*
 * `mandatectl token mint | attenuate | seal`: creating tokens from the
 * command line.  Each prints the new token's text form on standard output.
 */
#include <string.h>

#include "ctl.h"
#include "ctl_token.h"

#define TTL_MAX 86400 /* tokens live minutes; a day is a hard ceiling */

static const char mint_usage[] =
    "usage: mandatectl token mint --key ROOT.key --holder-pub H.pub\n"
    "           --sub SPIFFE_ID --clinician ID --patient ID --purpose CODE\n"
    "           --scope S [--scope S ...] --ttl SECONDS --depth N\n"
    "           [--task ID] [--parent-task ID] [--audience AUD]\n"
    "           [--now UNIX_SECONDS]\n"
    "\n"
    "Mints a token: block 0 signed with the broker's root key, for one\n"
    "holder, clinician, patient and purpose of use.  Prints the token.\n"
    "\n"
    "Options:\n"
    "    --key ROOT.key       the broker's root secret key (mode 0600)\n"
    "    --holder-pub H.pub   the holder's public key\n"
    "    --sub SPIFFE_ID      the holder's SPIFFE id\n"
    "    --clinician ID       clinician on whose behalf the task runs\n"
    "    --patient ID         the one patient the token is for\n"
    "    --purpose CODE       HL7 v3 PurposeOfUse: TREAT, ETREAT, HPAYMT,\n"
    "                         HOPERAT, ... (uppercase letters)\n"
    "    --scope S            SMART v2 scope(s), e.g. patient/Observation.rs;\n"
    "                         repeat, or give several separated by spaces\n"
    "    --ttl SECONDS        lifetime, 1..86400\n"
    "    --depth N            delegations still allowed, 0..16\n"
    "    --task ID            task id (default: a random 128-bit hex id)\n"
    "    --parent-task ID     parent task, for a subtask's fresh token\n"
    "    --audience AUD       the only verifier that may accept it\n"
    "    --now UNIX_SECONDS   issue time (default: now)\n"
    "\n"
    "Exit status: 0 minted, 2 unreadable key file, 64 usage error\n"
    "(including malformed scopes, ids or codes, with the reason).\n"
    "\n"
    "Example:\n"
    "    mandatectl token mint --key keys/root.key \\\n"
    "        --holder-pub keys/orch.pub \\\n"
    "        --sub spiffe://clinic.example/orchestrator \\\n"
    "        --clinician dr-ada --patient pat-123 --purpose TREAT \\\n"
    "        --scope 'patient/Observation.rs patient/Condition.rs' \\\n"
    "        --ttl 600 --depth 2 > orch.tok\n";

static const char attenuate_usage[] =
    "usage: mandatectl token attenuate --token T [--scope S ...]\n"
    "           [--ttl SECONDS] [--depth N] [--audience AUD]\n"
    "           [--resource REF] [--seal] [--now UNIX_SECONDS]\n"
    "           [--root-key ROOT.key [--holder-pub H.pub --sub SPIFFE_ID]\n"
    "           [--task ID]]\n"
    "\n"
    "Appends one attenuation block, offline, signed with the secret the\n"
    "unsealed token carries (no root key needed).  A block can only\n"
    "narrow: scopes must lie within the token's, expiry can only shorten,\n"
    "depth only drop.  Prints the new token.\n"
    "\n"
    "Only the broker hands a token to another holder or starts a subtask:\n"
    "with --root-key the block is a broker block, signed with the broker's\n"
    "root key, and may do both.  Resource servers accept only\n"
    "single-action tokens (--resource, --audience, --seal) made so.\n"
    "\n"
    "Options:\n"
    "    --token T            the token: text, `-` (stdin) or @FILE\n"
    "    --scope S            narrower SMART v2 scope(s); repeatable\n"
    "    --ttl SECONDS        expire at min(now + SECONDS, current expiry)\n"
    "    --depth N            lower the remaining depth to N (default on a\n"
    "                         delegation: one less than now)\n"
    "    --audience AUD       restrict to one verifier\n"
    "    --resource REF       restrict to one resource reference\n"
    "    --seal               make this the last block\n"
    "    --now UNIX_SECONDS   issue time of the block (default: now)\n"
    "    --root-key ROOT.key  the broker's root secret key: make a broker\n"
    "                         block (the root block 0 names)\n"
    "    --holder-pub H.pub   with --root-key: delegate to this key (with\n"
    "    --sub SPIFFE_ID      --sub); a delegation consumes one depth level\n"
    "    --task ID            with --root-key: a subtask id (its parent:\n"
    "                         the current task)\n"
    "\n"
    "Exit status: 0 attenuated, 1 refused (the block would widen scopes,\n"
    "exceed the depth, change the audience, hand the token to another\n"
    "holder or start a subtask without --root-key, or the token is\n"
    "sealed), 2 a token or key that does not decode or a root key that is\n"
    "not the token's, 64 usage error.\n"
    "\n"
    "Example:\n"
    "    mandatectl token attenuate --token @labs.tok \\\n"
    "        --scope patient/Observation.r --ttl 300 > labs-read.tok\n"
    "    mandatectl token attenuate --token @orch.tok \\\n"
    "        --root-key keys/root.key --holder-pub keys/labs.pub \\\n"
    "        --sub spiffe://clinic.example/agent/labs \\\n"
    "        --scope patient/Observation.rs --ttl 300 > labs.tok\n";

static const char seal_usage[] =
    "usage: mandatectl token seal --token T\n"
    "\n"
    "Appends a sealing block: the result carries no secret and no block\n"
    "can be appended to it.  Prints the sealed token.\n"
    "\n"
    "Options:\n"
    "    --token T   the token: text, `-` (stdin) or @FILE\n"
    "\n"
    "Exit status: 0 sealed, 1 already sealed, 2 a token that does not\n"
    "decode, 64 usage error.\n"
    "\n"
    "Example:\n"
    "    mandatectl token seal --token @labs.tok > labs-sealed.tok\n";

/* Status of a refused creation: arguments, rules, or broken input. */
static int
make_status(int rc)
{
	switch (-rc) {
	case MDT_EINVAL: case MDT_EPARSE: case MDT_ETOOBIG:
		return CTL_EXIT_USAGE;
	case MDT_ESCOPE: case MDT_EDEPTH: case MDT_ESEALED: case MDT_EAUDIENCE:
		return CTL_EXIT_DENY;
	default:
		return CTL_EXIT_INVALID;
	}
}

typedef struct mint_args {
	const char *key, *holder_pub, *sub, *clinician, *patient, *purpose;
	const char *ttl, *depth, *task, *parent, *audience, *now;
	const char *scopes[CTL_OPT_MULTI_MAX];
	size_t nscopes;
} mint_args;

static int
mint_parse(int argc, char **argv, mint_args *a)
{
	const ctl_opt opts[] = {
		{"--key", CTL_OPT_ARG, &a->key, NULL, NULL},
		{"--holder-pub", CTL_OPT_ARG, &a->holder_pub, NULL, NULL},
		{"--sub", CTL_OPT_ARG, &a->sub, NULL, NULL},
		{"--clinician", CTL_OPT_ARG, &a->clinician, NULL, NULL},
		{"--patient", CTL_OPT_ARG, &a->patient, NULL, NULL},
		{"--purpose", CTL_OPT_ARG, &a->purpose, NULL, NULL},
		{"--scope", CTL_OPT_MULTI, NULL, a->scopes, &a->nscopes},
		{"--ttl", CTL_OPT_ARG, &a->ttl, NULL, NULL},
		{"--depth", CTL_OPT_ARG, &a->depth, NULL, NULL},
		{"--task", CTL_OPT_ARG, &a->task, NULL, NULL},
		{"--parent-task", CTL_OPT_ARG, &a->parent, NULL, NULL},
		{"--audience", CTL_OPT_ARG, &a->audience, NULL, NULL},
		{"--now", CTL_OPT_ARG, &a->now, NULL, NULL},
	};
	const char *scope_seen = NULL;
	/* Pointers to the slots: read after parsing. */
	const ctl_required required[] = {
		{&scope_seen, "--scope"},
		{&a->key, "--key"}, {&a->holder_pub, "--holder-pub"},
		{&a->sub, "--sub"}, {&a->clinician, "--clinician"},
		{&a->patient, "--patient"}, {&a->purpose, "--purpose"},
		{&a->ttl, "--ttl"}, {&a->depth, "--depth"},
	};
	int rc = ctl_parse_opts(argc, argv, 1, opts,
	    sizeof(opts) / sizeof(opts[0]), "token mint");

	if (rc != 0)
		return rc;
	scope_seen = a->nscopes > 0 ? "" : NULL;
	return ctl_require("token mint", required, sizeof(required) /
	    sizeof(required[0]));
}

static int
mint_run(const mint_args *a, mdt_token_mint_params *p, mdt_scope_set *scopes)
{
	mdt_keypair *root = NULL;
	mdt_pubkey hk;
	mdt_token *tok = NULL;
	mdt_token_reason why;
	int rc;

	if ((rc = ctl_load_key(a->key, &root)) != 0 ||
	    (rc = ctl_load_pub(a->holder_pub, &hk)) != 0) {
		mdt_keypair_free(root);
		return rc;
	}
	p->holder_key = &hk;
	p->scopes = scopes;
	rc = mdt_token_mint(root, p, &tok, &why);
	mdt_keypair_free(root);
	if (rc != 0) {
		ctl_token_error("cannot mint", &why, rc);
		return make_status(rc);
	}
	rc = ctl_print_token(tok);
	mdt_token_free(tok);
	return rc;
}

int
ctl_token_mint(int argc, char **argv)
{
	mint_args a;
	mdt_token_mint_params p;
	mdt_scope_set *scopes = NULL;
	int64_t ttl, depth, now;
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(mint_usage, stdout);
		return CTL_EXIT_OK;
	}
	memset(&a, 0, sizeof(a));
	if ((rc = mint_parse(argc, argv, &a)) != 0 ||
	    (rc = ctl_parse_int(a.ttl, 1, TTL_MAX, "--ttl", "token mint",
	    &ttl)) != 0 ||
	    (rc = ctl_parse_int(a.depth, 0, MDT_TOKEN_DEPTH_MAX, "--depth",
	    "token mint", &depth)) != 0 ||
	    (rc = ctl_now(a.now, "token mint", &now)) != 0 ||
	    (rc = ctl_scopes(a.scopes, a.nscopes, "token mint", &scopes)) != 0)
		return rc;
	memset(&p, 0, sizeof(p));
	p.task_id = a.task;
	p.parent_task_id = a.parent;
	p.clinician = a.clinician;
	p.patient = a.patient;
	p.purpose = a.purpose;
	p.issued_at = now;
	p.expires_at = now + ttl;
	p.depth = (uint32_t)depth;
	p.holder_id = a.sub;
	p.audience = a.audience;
	rc = mint_run(&a, &p, scopes);
	mdt_scope_set_free(scopes);
	return rc;
}

/* ----------------------------------------------------------- attenuate */

typedef struct att_args {
	const char *token, *holder_pub, *sub, *ttl, *depth, *task;
	const char *audience, *resource, *seal, *now, *root_key;
	const char *scopes[CTL_OPT_MULTI_MAX];
	size_t nscopes;
} att_args;

static int
att_parse(int argc, char **argv, att_args *a)
{
	const ctl_opt opts[] = {
		{"--token", CTL_OPT_ARG, &a->token, NULL, NULL},
		{"--holder-pub", CTL_OPT_ARG, &a->holder_pub, NULL, NULL},
		{"--sub", CTL_OPT_ARG, &a->sub, NULL, NULL},
		{"--scope", CTL_OPT_MULTI, NULL, a->scopes, &a->nscopes},
		{"--ttl", CTL_OPT_ARG, &a->ttl, NULL, NULL},
		{"--depth", CTL_OPT_ARG, &a->depth, NULL, NULL},
		{"--task", CTL_OPT_ARG, &a->task, NULL, NULL},
		{"--audience", CTL_OPT_ARG, &a->audience, NULL, NULL},
		{"--resource", CTL_OPT_ARG, &a->resource, NULL, NULL},
		{"--seal", CTL_OPT_FLAG, &a->seal, NULL, NULL},
		{"--now", CTL_OPT_ARG, &a->now, NULL, NULL},
		{"--root-key", CTL_OPT_ARG, &a->root_key, NULL, NULL},
	};
	int rc = ctl_parse_opts(argc, argv, 1, opts,
	    sizeof(opts) / sizeof(opts[0]), "token attenuate");

	if (rc != 0)
		return rc;
	if (a->token == NULL)
		return ctl_missing("--token", "token attenuate");
	if ((a->holder_pub == NULL) != (a->sub == NULL))
		return ctl_missing(a->sub == NULL ? "--sub" : "--holder-pub",
		    "token attenuate");
	return 0;
}

/*
 * Whoever holds a token could otherwise hand it to anyone, or open a task
 * the broker never saw: refused before anything is read, with the way.
 */
static int
att_offline_only(const att_args *a)
{
	if (a->root_key != NULL || (a->sub == NULL && a->task == NULL))
		return 0;
	fprintf(stderr, "mandatectl: token attenuate: only the broker %s: an "
	    "offline attenuation may only narrow (scopes, expiry, depth, "
	    "audience, resource, seal); a broker block needs the broker's "
	    "root key (--root-key)\n", a->sub != NULL ?
	    "hands a token to another holder (--holder-pub, --sub)" :
	    "starts a subtask (--task)");
	return CTL_EXIT_DENY;
}

/* Fills the numeric parameters: expiry (clamped), depth, issue time. */
static int
att_numbers(const att_args *a, const mdt_token *tok,
    mdt_token_attenuate_params *p)
{
	int64_t ttl, depth, now;
	int rc;

	if ((rc = ctl_now(a->now, "token attenuate", &now)) != 0)
		return rc;
	p->issued_at = now;
	p->depth = MDT_TOKEN_KEEP_DEPTH;
	if (a->depth != NULL) {
		if ((rc = ctl_parse_int(a->depth, 0, MDT_TOKEN_DEPTH_MAX,
		    "--depth", "token attenuate", &depth)) != 0)
			return rc;
		p->depth = (int32_t)depth;
	}
	if (a->ttl != NULL) {
		if ((rc = ctl_parse_int(a->ttl, 1, TTL_MAX, "--ttl",
		    "token attenuate", &ttl)) != 0)
			return rc;
		if (now + ttl < mdt_token_expires_at(tok))
			p->expires_at = now + ttl;
	}
	return 0;
}

static int
att_run(const att_args *a, mdt_token *tok, mdt_token_attenuate_params *p)
{
	mdt_pubkey hk;
	mdt_token *out = NULL;
	mdt_token_reason why;
	int rc;

	if (a->holder_pub != NULL) {
		if ((rc = ctl_load_pub(a->holder_pub, &hk)) != 0)
			return rc;
		p->holder_key = &hk;
		p->holder_id = a->sub;
	}
	p->task_id = a->task;
	p->audience = a->audience;
	p->resource = a->resource;
	p->seal = a->seal != NULL;
	if ((rc = mdt_token_attenuate(tok, p, &out, &why)) != 0) {
		ctl_token_error("attenuation refused", &why, rc);
		return make_status(rc);
	}
	rc = ctl_print_token(out);
	mdt_token_free(out);
	return rc;
}

int
ctl_token_attenuate(int argc, char **argv)
{
	att_args a;
	mdt_token_attenuate_params p;
	mdt_scope_set *scopes = NULL;
	mdt_keypair *root = NULL;
	mdt_token *tok = NULL;
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(attenuate_usage, stdout);
		return CTL_EXIT_OK;
	}
	memset(&a, 0, sizeof(a));
	memset(&p, 0, sizeof(p));
	if ((rc = att_parse(argc, argv, &a)) != 0 ||
	    (rc = att_offline_only(&a)) != 0)
		return rc;
	if (a.nscopes > 0 && (rc = ctl_scopes(a.scopes, a.nscopes,
	    "token attenuate", &scopes)) != 0)
		return rc;
	p.scopes = scopes;
	if (a.root_key != NULL && (rc = ctl_load_key(a.root_key, &root)) != 0) {
		mdt_scope_set_free(scopes);
		return rc;
	}
	p.broker = root;
	if ((rc = ctl_read_token(a.token, &tok)) == 0 &&
	    (rc = att_numbers(&a, tok, &p)) == 0)
		rc = att_run(&a, tok, &p);
	mdt_token_free(tok);
	mdt_keypair_free(root);
	mdt_scope_set_free(scopes);
	return rc;
}

/* ---------------------------------------------------------------- seal */

int
ctl_token_seal(int argc, char **argv)
{
	const char *token = NULL;
	const ctl_opt opts[] = {{"--token", CTL_OPT_ARG, &token, NULL, NULL}};
	mdt_token *tok = NULL, *out = NULL;
	mdt_token_reason why;
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(seal_usage, stdout);
		return CTL_EXIT_OK;
	}
	if ((rc = ctl_parse_opts(argc, argv, 1, opts, 1, "token seal")) != 0)
		return rc;
	if (token == NULL)
		return ctl_missing("--token", "token seal");
	if ((rc = ctl_read_token(token, &tok)) != 0)
		return rc;
	if ((rc = mdt_token_seal(tok, &out, &why)) != 0) {
		ctl_token_error("cannot seal", &why, rc);
		rc = make_status(rc);
	} else {
		rc = ctl_print_token(out);
	}
	mdt_token_free(out);
	mdt_token_free(tok);
	return rc;
}

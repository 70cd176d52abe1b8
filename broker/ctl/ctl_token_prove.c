/*
 * `mandatectl token prove`: signs a proof of possession with the holder's
 * key, in the text form of the Mandate-Proof header, so that a resource
 * server (or `token check --proof`) can be tried without an agent.
 */
#include <stdio.h>
#include <string.h>

#include <sys/random.h>

#include "ctl.h"
#include "ctl_token.h"

static const char prove_usage[] =
    "usage: mandatectl token prove --token T --key HOLDER.key --action A\n"
    "           --resource REF [--audience AUD] [--nonce N]\n"
    "           [--now UNIX_SECONDS]\n"
    "\n"
    "Signs a proof of possession for one request with the key of the\n"
    "token's holder and prints it in the text form the Mandate-Proof\n"
    "HTTP header carries: mdtpop1.<time>.<nonce>.<signature>\n"
    "(docs/token-format.md).  The signature covers the token id, the\n"
    "audience, the action, the resource, the nonce and the time; a\n"
    "verifier supplies its own audience, action and resource, so the\n"
    "proof is good for this one request only.\n"
    "\n"
    "Options:\n"
    "    --token T            the token: text, `-` (stdin) or @FILE\n"
    "    --key HOLDER.key     the holder's secret key (mode 0600)\n"
    "    --action A           permission letter c, r, u, d or s (tool/: x)\n"
    "    --resource REF       the resource the request is for\n"
    "    --audience AUD       the verifier's audience (default: none)\n"
    "    --nonce N            16 to 64 of [0-9a-z] (default: random)\n"
    "    --now UNIX_SECONDS   signing time (default: now)\n"
    "\n"
    "Exit status: 0 printed; 1 the key is not the token's holder key;\n"
    "2 unreadable token or key; 64 usage error.\n"
    "\n"
    "Example:\n"
    "    P=$(mandatectl token prove --token @labs.tok --key labs.key \\\n"
    "          --action r --resource Observation/obs-1)\n"
    "    mandatectl token check --root root.pub --token @labs.tok \\\n"
    "          --action r --resource Observation/obs-1 --proof \"$P\"\n";

typedef struct prove_args {
	const char *token, *key, *action, *resource, *audience, *nonce, *now;
} prove_args;

static int
prove_parse(int argc, char **argv, prove_args *a)
{
	const ctl_opt opts[] = {
		{"--token", CTL_OPT_ARG, &a->token, NULL, NULL},
		{"--key", CTL_OPT_ARG, &a->key, NULL, NULL},
		{"--action", CTL_OPT_ARG, &a->action, NULL, NULL},
		{"--resource", CTL_OPT_ARG, &a->resource, NULL, NULL},
		{"--audience", CTL_OPT_ARG, &a->audience, NULL, NULL},
		{"--nonce", CTL_OPT_ARG, &a->nonce, NULL, NULL},
		{"--now", CTL_OPT_ARG, &a->now, NULL, NULL},
	};
	const ctl_required required[] = {
		{&a->token, "--token"}, {&a->key, "--key"},
		{&a->action, "--action"}, {&a->resource, "--resource"},
	};
	int rc = ctl_parse_opts(argc, argv, 1, opts,
	    sizeof(opts) / sizeof(opts[0]), "token prove");

	if (rc != 0)
		return rc;
	return ctl_require("token prove", required, sizeof(required) /
	    sizeof(required[0]));
}

static int
prove_run(const prove_args *a, const mdt_token *tok, mdt_keypair *key,
    int64_t now)
{
	char nonce[MDT_TOKEN_POP_NONCE_MAX], text[MDT_TOKEN_POP_TEXT_MAX];
	mdt_token_pop pop = { .audience = a->audience, .action = a->action,
	    .resource = a->resource, .time = now };
	uint8_t r[16];
	int rc;

	if (a->nonce != NULL) {
		size_t n = strlen(a->nonce);
		if (n < 16 || n >= sizeof(nonce) ||
		    strspn(a->nonce, "0123456789abcdefghijklmnopqrstuvwxyz") !=
		    n) {
			ctl_error("--nonce %s: 16 to 64 of [0-9a-z] (see "
			    "`mandatectl token prove --help`)", a->nonce);
			return CTL_EXIT_USAGE;
		}
		memcpy(nonce, a->nonce, n + 1);
	} else {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			ctl_error("no randomness for a nonce");
			return CTL_EXIT_INVALID;
		}
		for (size_t i = 0; i < sizeof(r); i++)
			snprintf(nonce + 2 * i, 3, "%02x", r[i]);
	}
	pop.nonce = nonce;
	pop.time = now;
	if ((rc = mdt_token_pop_sign(tok, key, &pop)) != 0) {
		ctl_error("cannot sign: %s (is %s the key of the token's "
		    "holder?)", mdt_strerror(rc), a->key);
		return CTL_EXIT_DENY;
	}
	if (mdt_token_pop_to_text(&pop, text, sizeof(text)) != 0) {
		ctl_error("the proof does not fit its text form");
		return CTL_EXIT_INVALID;
	}
	printf("%s\n", text);
	return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_INVALID;
}

int
ctl_token_prove(int argc, char **argv)
{
	prove_args a;
	mdt_token *tok = NULL;
	mdt_keypair *key = NULL;
	int64_t now;
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(prove_usage, stdout);
		return CTL_EXIT_OK;
	}
	memset(&a, 0, sizeof(a));
	if ((rc = prove_parse(argc, argv, &a)) != 0 ||
	    (rc = ctl_now(a.now, "token prove", &now)) != 0)
		return rc;
	if ((rc = ctl_read_token(a.token, &tok)) != 0)
		return rc;
	if ((rc = ctl_load_key(a.key, &key)) == 0)
		rc = prove_run(&a, tok, key, now);
	mdt_keypair_free(key);
	mdt_token_free(tok);
	return rc;
}

/*
 * `mandatectl token`: the command group for delegation tokens, dispatching
 * to mint, attenuate, seal (ctl_token_make.c), inspect and check
 * (ctl_token_view.c).
 */
#include <string.h>

#include "ctl.h"
#include "ctl_token.h"

static const char token_usage[] =
    "usage: mandatectl token SUBCOMMAND [OPTIONS]\n"
    "\n"
    "Mints, attenuates, seals, inspects and checks Mandate delegation\n"
    "tokens (text form `mdt1.<base64url>`; docs/token-format.md).\n"
    "\n"
    "Subcommands:\n"
    "    mint        mint block 0 with the broker's root key\n"
    "    attenuate   append a narrowing (or delegating) block, offline\n"
    "    seal        append a sealing block: no further attenuation\n"
    "    inspect     print every block, decoded (optionally verified)\n"
    "    check       verify and answer one request at a given time\n"
    "    prove       sign a proof of possession (Mandate-Proof header)\n"
    "\n"
    "Run `mandatectl token SUBCOMMAND --help` for each one's options.\n"
    "Wherever a token is read (--token), `-` reads it from standard input\n"
    "and `@FILE` from a file.  Unsealed tokens carry the secret that lets\n"
    "their holder attenuate them: handle them like keys.\n"
    "\n"
    "Exit status: 0 success or allow, 1 deny or refused attenuation,\n"
    "2 a token, key or file that does not decode or verify, 64 usage error.\n"
    "\n"
    "Example:\n"
    "    T=$(mandatectl token mint --key root.key --holder-pub orch.pub \\\n"
    "          --sub spiffe://clinic.example/orchestrator \\\n"
    "          --clinician dr-ada --patient pat-123 --purpose TREAT \\\n"
    "          --scope 'patient/Observation.rs' --ttl 600 --depth 2)\n"
    "    mandatectl token check --root root.pub --token \"$T\" \\\n"
    "          --action r --resource Observation/obs-1\n";

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} subcommands[] = {
	{"mint", ctl_token_mint},
	{"attenuate", ctl_token_attenuate},
	{"seal", ctl_token_seal},
	{"inspect", ctl_token_inspect},
	{"check", ctl_token_check},
	{"prove", ctl_token_prove},
};

int
ctl_token_main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(token_usage, stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(token_usage, stdout);
		return CTL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	ctl_error("unknown token subcommand '%s' (see `mandatectl token "
	    "--help`)", argv[1]);
	return CTL_EXIT_USAGE;
}

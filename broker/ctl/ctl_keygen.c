/*
 * `mandatectl keygen`: writes a fresh Ed25519 key pair as DIR/NAME.key
 * (mode 0600) and DIR/NAME.pub, for the broker's root key or an agent's
 * holder key.
 */
#include <string.h>

#include "ctl.h"
#include "ctl_token.h"

static const char keygen_usage[] =
    "usage: mandatectl keygen --out DIR/NAME\n"
    "\n"
    "Generates an Ed25519 key pair from the system's secure random source\n"
    "and writes two files:\n"
    "    DIR/NAME.key   the secret seed, one line `mdtsk1.<base64url>`,\n"
    "                   created with mode 0600; Mandate refuses to load a\n"
    "                   key file that group or other users can access\n"
    "    DIR/NAME.pub   the public key, one line `mdtpk1.<base64url>`\n"
    "Existing files are never overwritten.  Prints the public key and its\n"
    "key id (the id token block 0 names the root key by).\n"
    "\n"
    "Options:\n"
    "    --out DIR/NAME   path of the two files, without extension\n"
    "\n"
    "Exit status: 0 written, 2 a file exists or cannot be written,\n"
    "64 usage error.\n"
    "\n"
    "Example:\n"
    "    mandatectl keygen --out keys/root\n"
    "    mandatectl keygen --out keys/agent-labs\n";

int
ctl_keygen_main(int argc, char **argv)
{
	const char *out = NULL;
	const ctl_opt opts[] = {{"--out", CTL_OPT_ARG, &out, NULL, NULL}};
	char err[MDT_ERRMSG_MAX], text[MDT_KEY_PUBLIC_TEXT_BYTES];
	char kid[MDT_KEY_ID_TEXT_BYTES];
	mdt_keypair *kp;
	mdt_pubkey pk;
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(keygen_usage, stdout);
		return CTL_EXIT_OK;
	}
	if ((rc = ctl_parse_opts(argc, argv, 1, opts, 1, "keygen")) != 0)
		return rc;
	if (out == NULL || out[0] == '\0')
		return ctl_missing("--out", "keygen");
	if (mdt_keypair_generate(&kp) != 0) {
		ctl_error("cannot generate a key pair");
		return CTL_EXIT_INVALID;
	}
	rc = mdt_keypair_save(kp, out, err, sizeof(err));
	mdt_keypair_public(kp, &pk);
	mdt_keypair_free(kp);
	if (rc != 0) {
		ctl_error("%s", err);
		return CTL_EXIT_INVALID;
	}
	mdt_pubkey_to_text(&pk, text);
	mdt_key_id_text(&pk, kid);
	printf("wrote %s.key and %s.pub\npublic %s\nkey id %s\n", out, out,
	    text, kid);
	return CTL_EXIT_OK;
}

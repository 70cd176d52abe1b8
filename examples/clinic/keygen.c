/*
 * clinic-keygen: makes an agent's Ed25519 key pair for the example
 * (BASE.key, mode 0600, and BASE.pub) and prints the public key text,
 * which the demo writes into the agent registry.
 *
 * Uses only the public Mandate headers.
 */
#include <stdio.h>
#include <string.h>

#include <mandate/key.h>

int
main(int argc, char **argv)
{
	char err[MDT_ERRMSG_MAX], text[MDT_KEY_PUBLIC_TEXT_BYTES];
	mdt_keypair *kp;
	mdt_pubkey pk;
	int rv;

	if (argc != 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: clinic-keygen BASE\n"
		    "Writes BASE.key (0600) and BASE.pub and prints the public "
		    "key.\n");
		return argc == 2 ? 0 : 64;
	}
	if ((rv = mdt_keypair_generate(&kp)) != 0) {
		fprintf(stderr, "clinic-keygen: %s\n", mdt_strerror(rv));
		return 1;
	}
	rv = mdt_keypair_save(kp, argv[1], err, sizeof(err));
	mdt_keypair_public(kp, &pk);
	mdt_keypair_free(kp);
	if (rv != 0) {
		fprintf(stderr, "clinic-keygen: %s\n", err);
		return 1;
	}
	mdt_pubkey_to_text(&pk, text);
	printf("%s\n", text);
	return 0;
}

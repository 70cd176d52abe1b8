/*
 * `mandatectl audit prove`: is the decision a token's receipt names in
 * this store, and where (seq, batch, head)?  Compares the receipt the
 * client holds with the one the store rebuilds from its batch, and with
 * --pub also checks the receipt offline (head signature, path, the
 * token's id in the leaf).  Read-only; safe while a broker runs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mandate/mandate.h>

#include "ctl.h"

static const char prove_usage[] =
    "usage: mandatectl audit prove TOKEN --receipt RECEIPT --store URI\n"
    "                              [--pub BROKER.pub]\n"
    "\n"
    "Says whether the decision that issued TOKEN (text form, mdt1....,\n"
    "or @FILE holding it) is in the audit store, and where: its sequence\n"
    "number, its commit batch (first..last seq, leaf index, size) and the\n"
    "batch's signed head.  RECEIPT is the decision's receipt as the\n"
    "broker returned it (mdtrc1...., or @FILE; docs/token-format.md\n"
    "section 13).  The store must hold the same receipt: the leaf of\n"
    "this token's id at that seq, under the same signed head.\n"
    "    --store URI   the store (sqlite:PATH or PATH), opened read-only\n"
    "    --pub KEY     also verify the receipt against the broker's key\n"
    "                  (.pub file or mdtpk1. text): head signature and\n"
    "                  the path from the token's leaf to the root\n"
    "\n"
    "Output: `in store: seq S batch F..L leaf I of N head HEX time MS`\n"
    "or `NOT IN STORE: why`.\n"
    "Exit status: 0 in the store (and verified with --pub), 1 not in the\n"
    "store or not as the receipt says (or a receipt that does not\n"
    "verify), 2 unreadable token, receipt, key or store, 64 usage error.\n"
    "\n"
    "Example:\n"
    "    mandatectl audit prove @token.txt --receipt @receipt.txt \\\n"
    "        --store sqlite:/var/lib/mandate/audit.db --pub root.pub\n";

typedef struct prove_opts {
	const char *token, *receipt, *store, *pub;
} prove_opts;

static int
parse(int argc, char **argv, prove_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char **slot = strcmp(argv[i], "--receipt") == 0 ?
		    &o->receipt : strcmp(argv[i], "--store") == 0 ||
		    strcmp(argv[i], "--db") == 0 ? &o->store :
		    strcmp(argv[i], "--pub") == 0 ? &o->pub : NULL;
		if (slot != NULL && i + 1 < argc)
			*slot = argv[++i];
		else if (slot == NULL && argv[i][0] != '-' && o->token == NULL)
			o->token = argv[i];
		else {
			ctl_error("bad or incomplete argument '%s' (see "
			    "`mandatectl audit prove --help`)", argv[i]);
			return -1;
		}
	}
	if (o->token == NULL || o->receipt == NULL || o->store == NULL) {
		ctl_error("prove needs TOKEN, --receipt and --store (see "
		    "`mandatectl audit prove --help`)");
		return -1;
	}
	return 0;
}

/* The text itself, or the trimmed contents of @FILE (caller frees). */
static char *
text_arg(const char *arg)
{
	char *buf = NULL;
	size_t len = 0;

	if (arg[0] != '@')
		return strdup(arg);
	if (ctl_read_file(arg + 1, 65536, &buf, &len) != 0)
		return NULL;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' '))
		buf[--len] = 0;
	return buf;
}

static int
decode_args(const prove_opts *o, uint8_t tid[32], mdt_receipt *r)
{
	char *tt = text_arg(o->token), *rt = text_arg(o->receipt);
	mdt_token *tok = NULL;
	mdt_token_reason tw;
	mdt_receipt_reason why = MDT_RECEIPT_MALFORMED;
	int rc = -1;

	if (tt == NULL || rt == NULL)
		goto out;
	if (mdt_token_decode_text(tt, strlen(tt), &tok, &tw) != 0)
		ctl_error("token: %s", tw.message);
	else if (mdt_receipt_from_text(rt, strlen(rt), r, &why) != 0)
		ctl_error("receipt: %s", mdt_receipt_reason_name(why));
	else {
		mdt_token_id(tok, tid);
		rc = 0;
	}
out:
	mdt_token_free(tok);
	free(tt);
	free(rt);
	return rc;
}

static int
offline_check(const char *pub, const mdt_receipt *r, const uint8_t tid[32])
{
	char err[MDT_ERRMSG_MAX] = "";
	mdt_receipt_reason why = MDT_RECEIPT_OK;
	mdt_pubkey pk;

	if ((strncmp(pub, MDT_KEY_PUBLIC_PREFIX, 7) == 0 ?
	    mdt_pubkey_from_text(pub, strlen(pub), &pk) :
	    mdt_pubkey_load(pub, &pk, err, sizeof(err))) != 0) {
		ctl_error("--pub %s: unreadable key %s", pub, err);
		return CTL_EXIT_INVALID;
	}
	if (mdt_receipt_verify(r, tid, &pk, 0, &why) != 0) {
		printf("NOT IN STORE: the receipt does not verify: %s\n",
		    mdt_receipt_reason_name(why));
		return CTL_EXIT_DENY;
	}
	return CTL_EXIT_OK;
}

static int
in_store(const prove_opts *o, const mdt_receipt *r, const uint8_t tid[32])
{
	mdt_store_opts so = {.read_only = 1, .readers = 1};
	char err[MDT_ERRMSG_MAX] = "", hex[65];
	uint8_t stid[32], hh[32];
	mdt_receipt back;
	mdt_store *s = NULL;
	int rc = mdt_store_open(o->store, &so, &s, err, sizeof(err));

	if (rc != 0) {
		ctl_error("%s: %s: %s", o->store, mdt_strerror(rc), err);
		return CTL_EXIT_INVALID;
	}
	rc = mdt_store_get_receipt(s, r->seq, stid, &back);
	mdt_store_close(s);
	if (rc != 0) {
		printf("NOT IN STORE: no receipt for seq %" PRIu64 " (%s)\n",
		    r->seq, mdt_strerror(rc));
		return CTL_EXIT_DENY;
	}
	if (memcmp(stid, tid, 32) != 0 || !mdt_receipt_equal(&back, r)) {
		printf("NOT IN STORE: seq %" PRIu64 " holds another decision "
		    "or another head than the receipt says\n", r->seq);
		return CTL_EXIT_DENY;
	}
	mdt_receipt_head_hash(&back.head, hh);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", hh[i]);
	printf("in store: seq %" PRIu64 " batch %" PRIu64 "..%" PRIu64
	    " leaf %" PRIu32 " of %" PRIu32 " head %s time %" PRId64 "\n",
	    back.seq, back.head.first_seq, back.head.last_seq, back.index,
	    back.head.tree_size, hex, back.head.time_ms);
	return CTL_EXIT_OK;
}

int
ctl_audit_prove_main(int argc, char **argv)
{
	prove_opts o;
	mdt_receipt r;
	uint8_t tid[32];
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(prove_usage, stdout);
		return CTL_EXIT_OK;
	}
	if (parse(argc, argv, &o) != 0)
		return CTL_EXIT_USAGE;
	if (decode_args(&o, tid, &r) != 0)
		return CTL_EXIT_INVALID;
	if (o.pub != NULL && (rc = offline_check(o.pub, &r, tid)) != 0)
		return rc;
	return in_store(&o, &r, tid);
}

int
ctl_receipt_check(const char *root_path, const char *receipt,
    const mdt_token *tok)
{
	mdt_pubkey roots[MDT_TOKEN_ROOTS_MAX];
	uint8_t tid[32], kid[MDT_KEY_ID_BYTES];
	mdt_receipt_reason why = MDT_RECEIPT_KEY;
	char err[MDT_ERRMSG_MAX] = "", *rt = text_arg(receipt);
	mdt_receipt r;
	size_t n = 0;
	int rc = -MDT_EKEY;

	if (rt == NULL)
		return CTL_EXIT_INVALID;
	if (mdt_token_roots_load(root_path, roots, MDT_TOKEN_ROOTS_MAX, &n,
	    err, sizeof(err)) != 0) {
		free(rt);
		ctl_error("--root: %s", err);
		return CTL_EXIT_INVALID;
	}
	if ((rc = mdt_receipt_from_text(rt, strlen(rt), &r, &why)) == 0) {
		rc = -MDT_EKEY;
		why = MDT_RECEIPT_KEY;
		mdt_token_id(tok, tid);
		for (size_t i = 0; i < n && rc == -MDT_EKEY; i++) {
			mdt_key_id(&roots[i], kid);
			if (memcmp(kid, r.head.key_id, sizeof(kid)) == 0)
				rc = mdt_receipt_verify(&r, tid, &roots[i], 0, &why);
		}
	}
	free(rt);
	if (rc != 0) {
		ctl_error("receipt: %s: %s", mdt_strerror(rc),
		    mdt_receipt_reason_name(why));
		return CTL_EXIT_INVALID;
	}
	return 0;
}

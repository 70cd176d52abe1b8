/*
 * `mandatectl token inspect | check`: reading tokens from the command
 * line: every block decoded (text or JSON), and one request answered the
 * way a verifier would (verify against the root key, then check).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctl_token.h"

static const char inspect_usage[] =
    "usage: mandatectl token inspect --token T [--json] [--root ROOT.pub]\n"
    "\n"
    "Decodes a token strictly and prints every block: its fields, its\n"
    "signature, then the effective values (task chain, holder, expiry,\n"
    "depth, audience, scopes as the intersection of every block's).  The\n"
    "carried secret of an unsealed token is never printed.  With --root,\n"
    "the chain is also verified against the broker's public key.\n"
    "\n"
    "Options:\n"
    "    --token T          the token: text, `-` (stdin) or @FILE\n"
    "    --json             print one JSON document instead of text\n"
    "    --root ROOT.pub    verify against this root public key, or against\n"
    "                       the root set ROOT.pubs the broker publishes\n"
    "                       during a root key rollover\n"
    "\n"
    "Exit status: 0 decoded (and verified, with --root), 2 the token does\n"
    "not decode or verify, 64 usage error.\n"
    "\n"
    "Example:\n"
    "    mandatectl token inspect --token @labs.tok --root keys/root.pub\n";

static const char check_usage[] =
    "usage: mandatectl token check --root ROOT.pub --token T --action A\n"
    "           --resource REF [--patient ID|-] [--now UNIX_SECONDS]\n"
    "           [--attr NAME=VALUE ...] [--audience AUD]\n"
    "           [--holder SPIFFE_ID] [--single-action]\n"
    "           [--proof P [--proof-max-age SECONDS]] [--receipt R]\n"
    "\n"
    "Verifies the token against the root public key, then answers one\n"
    "request at one instant as a resource server or the broker would:\n"
    "time (not before / expiry), audience, holder, patient, resource\n"
    "restriction, and the scopes of every block.\n"
    "\n"
    "Options:\n"
    "    --root ROOT.pub      the broker's root public key, or its root set\n"
    "                         ROOT.pubs (a rollover: the key the token's\n"
    "                         block 0 names is used)\n"
    "    --token T            the token: text, `-` (stdin) or @FILE\n"
    "    --action A           permission letter c, r, u, d or s (tool/: x)\n"
    "    --resource REF       Observation/123, Observation,\n"
    "                         Observation?category=laboratory, tool/fax\n"
    "    --patient ID         patient whose compartment the resource is in\n"
    "                         (default: the token's patient; `-`: none)\n"
    "    --now UNIX_SECONDS   instant of the request (default: now)\n"
    "    --attr NAME=VALUE    an attribute of the resource, matched by scope\n"
    "                         query restrictions (e.g. category=laboratory);\n"
    "                         repeatable\n"
    "    --audience AUD       the verifier's own audience\n"
    "    --holder SPIFFE_ID   the authenticated caller, checked against the\n"
    "                         holder\n"
    "    --single-action      accept only sealed single-action tokens\n"
    "    --proof P            a proof of possession (the Mandate-Proof\n"
    "                         header: text or @FILE), checked with the\n"
    "                         holder's key for this audience, action and\n"
    "                         resource (`mandatectl token prove` makes one)\n"
    "    --proof-max-age S    how old the proof may be, seconds (default 30)\n"
    "    --receipt R          the decision's receipt (mdtrc1...., text or\n"
    "                         @FILE; docs/token-format.md section 13): its\n"
    "                         head signed by a key of --root and its path\n"
    "                         from this token's leaf to the head's root\n"
    "\n"
    "Exit status: 0 allow; 1 deny, with the reason (code, block, message)\n"
    "on standard error; 2 the token does not decode or verify (also on\n"
    "standard error; also a receipt that does not verify); 64 usage error.\n"
    "\n"
    "Example:\n"
    "    mandatectl token check --root keys/root.pub --token @labs.tok \\\n"
    "        --action r --resource Observation/obs-1 --now 1767225630\n";

/* --------------------------------------------------------- inspect */

static void
print_time(const char *label, int64_t t)
{
	char iso[32] = "?";
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) != NULL)
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("  %-12s %lld (%s)\n", label, (long long)t, iso);
}

static void
print_key(const char *label, const uint8_t *k)
{
	mdt_pubkey pk;
	char text[MDT_KEY_PUBLIC_TEXT_BYTES];

	memcpy(pk.bytes, k, sizeof(pk.bytes));
	mdt_pubkey_to_text(&pk, text);
	printf("  %-12s %s\n", label, text);
}

static void
print_hex(const char *label, const uint8_t *p, size_t n)
{
	printf("  %-12s ", label);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	putchar('\n');
}

static void
print_scopes(const char *label, const mdt_scope_set *s)
{
	char *text = NULL;

	if (mdt_scope_set_format(s, &text) == 0)
		printf("  %-12s %s\n", label, text[0] != '\0' ? text :
		    "(none: authorizes nothing)");
	mdt_free(text);
}

static void
print_str(const char *label, const char *v)
{
	if (v != NULL)
		printf("  %-12s %s\n", label, v);
}

static void
print_block(const mdt_token_block_view *v)
{
#define HAS(f) (v->fields & MDT_TOKEN_F(MDT_TOKEN_FIELD_##f))
	if (HAS(VERSION))
		printf("  %-12s %u\n", "version", v->version);
	if (HAS(KEY_ID))
		print_hex("key_id", v->key_id, MDT_KEY_ID_BYTES);
	print_str("task", v->task_id);
	print_str("parent_task", v->parent_task_id);
	if (HAS(ISSUED_AT))
		print_time("issued_at", v->issued_at);
	if (HAS(EXPIRES_AT))
		print_time("expires_at", v->expires_at);
	print_str("holder", v->holder_id);
	if (HAS(HOLDER_KEY))
		print_key("holder_key", v->holder_key);
	print_str("clinician", v->clinician);
	print_str("patient", v->patient);
	print_str("purpose", v->purpose);
	if (HAS(SCOPES))
		print_scopes("scopes", v->scopes);
	if (HAS(DEPTH))
		printf("  %-12s %u\n", "depth", v->depth);
	print_str("audience", v->audience);
	print_str("resource", v->resource);
	if (HAS(NEXT_KEY))
		print_key("next_key", v->next_key);
	if (v->sealed)
		printf("  %-12s yes\n", "sealed");
	if (HAS(NONCE))
		print_hex("nonce", v->nonce, MDT_TOKEN_NONCE_BYTES);
	if (v->broker)
		printf("  %-12s yes (signed by the root key)\n", "broker");
	print_hex("signature", v->signature, MDT_KEY_SIG_BYTES);
#undef HAS
}

static void
print_effective(const mdt_token *tok)
{
	mdt_scope_set *s = NULL;
	const char *t;

	printf("effective\n");
	printf("  %-12s", "tasks");
	for (size_t i = 0; (t = mdt_token_task_chain(tok, i)) != NULL; i++)
		printf("%s%s", i == 0 ? " " : " > ", t);
	putchar('\n');
	print_str("holder", mdt_token_holder_id(tok));
	print_time("expires_at", mdt_token_expires_at(tok));
	printf("  %-12s %u\n", "depth", mdt_token_depth(tok));
	print_str("audience", mdt_token_audience(tok));
	print_str("resource", mdt_token_resource(tok));
	if (mdt_token_scopes(tok, &s) == 0)
		print_scopes("scopes", s);
	mdt_scope_set_free(s);
}

static void
print_text(const mdt_token *tok, const char *verified)
{
	char id[MDT_TOKEN_ID_TEXT_BYTES];
	size_t n = mdt_token_block_count(tok);

	mdt_token_id_text(tok, id);
	printf("token %s\n  %zu block%s, %s, %s\n", id, n, n == 1 ? "" : "s",
	    mdt_token_is_sealed(tok) ? "sealed" :
	    "unsealed (carries the secret to attenuate it)", verified);
	for (size_t i = 0; i < n; i++) {
		mdt_token_block_view v;

		if (mdt_token_block(tok, i, &v) != 0)
			continue;
		printf("block %zu (%s%s)\n", i, i == 0 ? "authority" :
		    v.sealed ? "attenuation, sealing" : "attenuation",
		    v.broker ? ", by the broker" : "");
		print_block(&v);
	}
	print_effective(tok);
}

static int
verify_opt(mdt_token *tok, const char *root_path, const char **state)
{
	int rc;

	*state = "not verified (no --root)";
	if (root_path == NULL)
		return 0;
	if ((rc = ctl_verify_roots(tok, root_path)) != 0)
		return rc;
	*state = "verified against the root key";
	return 0;
}

int
ctl_token_inspect(int argc, char **argv)
{
	const char *token = NULL, *json = NULL, *root = NULL, *state;
	const ctl_opt opts[] = {
		{"--token", CTL_OPT_ARG, &token, NULL, NULL},
		{"--json", CTL_OPT_FLAG, &json, NULL, NULL},
		{"--root", CTL_OPT_ARG, &root, NULL, NULL},
	};
	mdt_token *tok = NULL;
	char *doc;
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(inspect_usage, stdout);
		return CTL_EXIT_OK;
	}
	if ((rc = ctl_parse_opts(argc, argv, 1, opts, 3, "token inspect")) != 0)
		return rc;
	if (token == NULL)
		return ctl_missing("--token", "token inspect");
	if ((rc = ctl_read_token(token, &tok)) != 0)
		return rc;
	if ((rc = verify_opt(tok, root, &state)) == 0) {
		if (json == NULL) {
			print_text(tok, state);
		} else if (mdt_token_to_json(tok, &doc) == 0) {
			printf("%s\n", doc);
			mdt_free(doc);
		} else {
			rc = CTL_EXIT_INVALID;
		}
	}
	mdt_token_free(tok);
	return rc;
}

/* ----------------------------------------------------------- check */

typedef struct check_args {
	const char *root, *token, *action, *resource, *patient, *now;
	const char *audience, *holder, *single, *proof, *proof_age;
	const char *receipt;
	const char *attrs[CTL_OPT_MULTI_MAX];
	size_t nattrs;
} check_args;

static int
check_parse(int argc, char **argv, check_args *a)
{
	const ctl_opt opts[] = {
		{"--root", CTL_OPT_ARG, &a->root, NULL, NULL},
		{"--token", CTL_OPT_ARG, &a->token, NULL, NULL},
		{"--action", CTL_OPT_ARG, &a->action, NULL, NULL},
		{"--resource", CTL_OPT_ARG, &a->resource, NULL, NULL},
		{"--patient", CTL_OPT_ARG, &a->patient, NULL, NULL},
		{"--now", CTL_OPT_ARG, &a->now, NULL, NULL},
		{"--audience", CTL_OPT_ARG, &a->audience, NULL, NULL},
		{"--holder", CTL_OPT_ARG, &a->holder, NULL, NULL},
		{"--single-action", CTL_OPT_FLAG, &a->single, NULL, NULL},
		{"--proof", CTL_OPT_ARG, &a->proof, NULL, NULL},
		{"--proof-max-age", CTL_OPT_ARG, &a->proof_age, NULL, NULL},
		{"--receipt", CTL_OPT_ARG, &a->receipt, NULL, NULL},
		{"--attr", CTL_OPT_MULTI, NULL, a->attrs, &a->nattrs},
	};
	const ctl_required required[] = {
		{&a->root, "--root"}, {&a->token, "--token"},
		{&a->action, "--action"}, {&a->resource, "--resource"},
	};
	int rc = ctl_parse_opts(argc, argv, 1, opts,
	    sizeof(opts) / sizeof(opts[0]), "token check");

	if (rc != 0)
		return rc;
	rc = ctl_require("token check", required, sizeof(required) /
	    sizeof(required[0]));
	if (rc != 0)
		return rc;
	return 0;
}

/* --attr NAME=VALUE into scope parameters (pointing into argv). */
static int
check_attrs(const check_args *a, mdt_scope_param *out)
{
	for (size_t i = 0; i < a->nattrs; i++) {
		const char *eq = strchr(a->attrs[i], '=');

		if (eq == NULL || eq == a->attrs[i] || eq[1] == '\0') {
			ctl_error("--attr %s: expected NAME=VALUE (see "
			    "`mandatectl token check --help`)", a->attrs[i]);
			return CTL_EXIT_USAGE;
		}
		out[i] = (mdt_scope_param){a->attrs[i],
		    (size_t)(eq - a->attrs[i]), eq + 1, strlen(eq + 1)};
	}
	return 0;
}

/* --proof into pop (its nonce in nonce), for this request. */
static int
check_proof(const check_args *a, mdt_token_pop *pop,
    char nonce[MDT_TOKEN_POP_NONCE_MAX], int64_t *max_age)
{
	char err[MDT_ERRMSG_MAX], *buf = NULL;
	const char *text = a->proof;
	size_t len;
	int rc;

	*max_age = 30;
	if (a->proof_age != NULL && (rc = ctl_parse_int(a->proof_age, 1,
	    86400, "--proof-max-age", "token check", max_age)) != 0)
		return rc;
	if (text[0] == '@') {
		if (ctl_read_file(text + 1, MDT_TOKEN_POP_TEXT_MAX, &buf,
		    &len) != 0)
			return CTL_EXIT_INVALID;
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		text = buf;
	}
	rc = mdt_token_pop_from_text(text, pop, nonce, err, sizeof(err));
	free(buf);
	if (rc != 0) {
		ctl_error("--proof: %s", err);
		return CTL_EXIT_INVALID;
	}
	pop->audience = a->audience;
	pop->action = a->action;
	pop->resource = a->resource;
	return 0;
}

static int
check_run(const check_args *a, mdt_token *tok, int64_t now)
{
	mdt_scope_param attrs[CTL_OPT_MULTI_MAX];
	mdt_token_check_params p;
	mdt_token_reason why;
	mdt_token_pop pop;
	char nonce[MDT_TOKEN_POP_NONCE_MAX];
	int64_t max_age = 0;
	int rc;

	if ((rc = check_attrs(a, attrs)) != 0 ||
	    (a->proof != NULL && (rc = check_proof(a, &pop, nonce,
	    &max_age)) != 0) ||
	    (rc = ctl_verify_roots(tok, a->root)) != 0 ||
	    (a->receipt != NULL && (rc = ctl_receipt_check(a->root,
	    a->receipt, tok)) != 0))
		return rc;
	memset(&p, 0, sizeof(p));
	p.attrs = attrs;
	p.nattrs = a->nattrs;
	p.action = a->action;
	p.resource = a->resource;
	p.patient = a->patient == NULL ? mdt_token_patient(tok) :
	    strcmp(a->patient, "-") == 0 ? NULL : a->patient;
	p.now = now;
	p.audience = a->audience;
	p.holder_id = a->holder;
	p.flags = a->single != NULL ? MDT_TOKEN_CHECK_SINGLE_ACTION : 0;
	p.pop = a->proof != NULL ? &pop : NULL;
	p.pop_max_age = max_age;
	if ((rc = mdt_token_check(tok, &p, &why)) != 0) {
		if (rc == -MDT_EINVAL) {
			ctl_token_error("malformed request", &why, rc);
			return CTL_EXIT_USAGE;
		}
		ctl_token_error("deny", &why, rc);
		return CTL_EXIT_DENY;
	}
	printf("allow: %s %s\n", a->action, a->resource);
	return CTL_EXIT_OK;
}

int
ctl_token_check(int argc, char **argv)
{
	check_args a;
	mdt_token *tok = NULL;
	int64_t now;
	int rc;

	if (ctl_wants_help(argc, argv)) {
		fputs(check_usage, stdout);
		return CTL_EXIT_OK;
	}
	memset(&a, 0, sizeof(a));
	if ((rc = check_parse(argc, argv, &a)) != 0 ||
	    (rc = ctl_now(a.now, "token check", &now)) != 0)
		return rc;
	if ((rc = ctl_read_token(a.token, &tok)) != 0)
		return rc;
	rc = check_run(&a, tok, now);
	mdt_token_free(tok);
	return rc;
}

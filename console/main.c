/*
 * mandate-console: a read-only web console over an audit store, for
 * security and compliance teams.  main parses the options, opens the
 * store read-only, reads the admin credential, listens, serves until
 * SIGINT or SIGTERM, then closes in reverse order.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mandate/mandate.h>

#include "console_int.h"
#include "console_server.h"

#define DEFAULT_LISTEN "127.0.0.1:9470"

static const char usage_text[] =
"usage: mandate-console --store URI --credential-file FILE\n"
"                       [--listen HOST:PORT] [--pub BROKER.pub]\n"
"                       [--broker URL --admin-id SPIFFE-ID --admin-key KEY]\n"
"\n"
"A read-only web console over Mandate's audit store, for security and\n"
"compliance teams: recent tasks; decisions filtered as `mandatectl audit\n"
"query` filters them; a task's delegation graph drawn as a picture with\n"
"every decision and its reason on it; the review queue; what an agent\n"
"may do to a patient now (asked of a live broker); and the verification\n"
"status of the hash chain.  It shows nothing the store does not hold, and changes\n"
"nothing: the store is opened read-only, takes no lock, and a running\n"
"broker keeps writing while the console reads.\n"
"\n"
"Options:\n"
"  --store URI            the audit store: sqlite:PATH (or a plain PATH)\n"
"                         or postgresql://... (required)\n"
"  --credential-file FILE the admin credential: one line of at least 16\n"
"                         printable characters, in a file only its owner\n"
"                         may read (chmod 600) (required)\n"
"  --listen HOST:PORT     the address to serve on (numeric; default\n"
"                         " DEFAULT_LISTEN "; [::1]:PORT for IPv6)\n"
"  --pub KEY              the broker's public key (a .pub file or its\n"
"                         text) to verify the chain's hashes and signed\n"
"                         checkpoints on the Verification page\n"
"  --broker URL           a running broker (e.g. ipc:///run/mandate/\n"
"                         broker.sock) for the Access page: what an agent\n"
"                         may do to a patient now (the admin `access`\n"
"                         operation, which the broker records)\n"
"  --admin-id SPIFFE-ID   the agent the console asks as: one listed in\n"
"                         the broker's `admins` setting\n"
"  --admin-key KEY        that agent's key (.key file, mode 0600)\n"
"  --help                 this text\n"
"\n"
"Sign-in: the console answers every page with a redirect to /login\n"
"until the credential is given there.  A sign-in opens a session held\n"
"in a cookie (HttpOnly, SameSite=Strict) that ends after 30 minutes\n"
"unused or 12 hours; the credential is compared in constant time, and\n"
"after 10 failures in a minute sign-ins are refused for the rest of\n"
"it.  The console speaks plain HTTP: keep it on a loopback address\n"
"(the default, where it answers only to a loopback Host header) and\n"
"reach it through an SSH tunnel or a TLS-terminating proxy.\n"
"\n"
"Pictures are drawn by Graphviz's `dot` (Debian: apt-get install\n"
"graphviz); without it a task's page shows the tree as text.\n"
"\n"
"Exit status: 0 after SIGINT or SIGTERM; 2 when the store, the\n"
"credential, the key or the address cannot be used; 64 usage error.\n"
"\n"
"See mandate-console(8) and docs/security-teams.md.\n";

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

typedef struct opts {
	const char *store, *cred, *listen, *pub, *broker, *admin_id,
	    *admin_key;
} opts;

static int
parse(int argc, char **argv, opts *o)
{
	*o = (opts){.listen = DEFAULT_LISTEN};
	for (int i = 1; i < argc; i++) {
		const char **slot = strcmp(argv[i], "--store") == 0 ? &o->store :
		    strcmp(argv[i], "--credential-file") == 0 ? &o->cred :
		    strcmp(argv[i], "--listen") == 0 ? &o->listen :
		    strcmp(argv[i], "--pub") == 0 ? &o->pub :
		    strcmp(argv[i], "--broker") == 0 ? &o->broker :
		    strcmp(argv[i], "--admin-id") == 0 ? &o->admin_id :
		    strcmp(argv[i], "--admin-key") == 0 ? &o->admin_key : NULL;
		if (slot == NULL || i + 1 == argc) {
			fprintf(stderr, "mandate-console: bad option '%s' (see "
			    "--help)\n", argv[i]);
			return -1;
		}
		*slot = argv[++i];
	}
	if (o->store == NULL || o->cred == NULL) {
		fprintf(stderr, "mandate-console: need --store URI and "
		    "--credential-file FILE (see --help)\n");
		return -1;
	}
	if ((o->broker != NULL) != (o->admin_id != NULL) ||
	    (o->broker != NULL) != (o->admin_key != NULL)) {
		fprintf(stderr, "mandate-console: --broker, --admin-id and "
		    "--admin-key go together (see --help)\n");
		return -1;
	}
	return 0;
}

static int
load_pub(const char *arg, con_app *a, char *err, size_t errlen)
{
	size_t plen = strlen(MDT_KEY_PUBLIC_PREFIX);

	if (strncmp(arg, MDT_KEY_PUBLIC_PREFIX, plen) == 0) {
		if (mdt_pubkey_from_text(arg, strlen(arg), &a->pub) != 0) {
			snprintf(err, errlen, "--pub: malformed key text");
			return -1;
		}
	} else if (mdt_pubkey_load(arg, &a->pub, err, errlen) != 0) {
		return -1;
	}
	a->have_pub = 1;
	return 0;
}

/* Store, key, credential and socket; 0 or -1 with err set. */
static int
start(const opts *o, con_app *a, int *lfd, char *err, size_t errlen)
{
	mdt_store_opts so = {.read_only = 1, .readers = 1};
	int rc;

	a->store_uri = o->store;
	if ((rc = mdt_store_open(o->store, &so, &a->store, err, errlen)) != 0)
		return -1;
	if (o->pub != NULL && load_pub(o->pub, a, err, errlen) != 0)
		return -1;
	if (con_auth_load(&a->auth, o->cred, err, errlen) != 0)
		return -1;
	if (o->broker != NULL && mdt_keypair_load(o->admin_key, &a->admin_key,
	    err, errlen) != 0)
		return -1;
	a->broker_url = o->broker;
	a->admin_id = o->admin_id;
	return con_listen(o->listen, lfd, &a->loopback_port, err, errlen);
}

int
main(int argc, char **argv)
{
	static con_app app;
	char err[MDT_ERRMSG_MAX] = "", shown[512];
	struct sigaction sa = {.sa_handler = on_signal};
	opts o;
	int lfd = -1, rc = 2;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (parse(argc, argv, &o) != 0)
		return 64;
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	mdt_store_uri_redact(o.store, shown, sizeof(shown));
	if (start(&o, &app, &lfd, err, sizeof(err)) != 0) {
		fprintf(stderr, "mandate-console: %s\n", err);
	} else {
		fprintf(stderr, "mandate-console: %s on http://%s/ (read-only)"
		    "\n", shown, o.listen);
		rc = con_serve(&app, lfd, &stop) == 0 ? 0 : 2;
	}
	if (lfd >= 0)
		close(lfd);
	con_auth_wipe(&app.auth);
	mdt_keypair_free(app.admin_key);
	mdt_store_close(app.store);
	return rc;
}

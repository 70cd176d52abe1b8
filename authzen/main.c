/*
 * mandate-authzen: the OpenID AuthZEN Authorization API 1.0 over HTTP in
 * front of mandated.  main parses the options, loads the credentials and
 * the key, connects to the broker as an admin agent, serves until SIGINT
 * or SIGTERM, then closes in reverse order.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <mandate/key.h>

#include "authzen_server.h"

static const char usage_text[] =
"Usage: mandate-authzen --broker URL --agent SPIFFE-ID --key FILE\n"
"                       --credentials FILE [options]\n"
"\n"
"Serves the OpenID AuthZEN Authorization API 1.0 over HTTP for a Mandate\n"
"broker: POST /access/v1/evaluation, POST /access/v1/evaluations and\n"
"GET /.well-known/authzen-configuration.  Every decision is made and\n"
"recorded in the audit by mandated (wire op evaluate) before it is\n"
"answered; this process only translates.  See docs/authzen.md.\n"
"\n"
"Required:\n"
"  --broker URL        the broker's request/reply URL\n"
"                      (ipc:///run/mandate/api.sock, tls+tcp://host:7300)\n"
"  --agent SPIFFE-ID   the registered agent this front authenticates as;\n"
"                      it must be listed in the broker's `evaluators`\n"
"  --key FILE          that agent's key (.key file, mode 0600)\n"
"  --credentials FILE  bearer credentials accepted from policy enforcement\n"
"                      points, one per line ('#' comments; mode 0600).  A\n"
"                      decision call without `Authorization: Bearer\n"
"                      <credential>` is answered 401.\n"
"\n"
"Options:\n"
"  --listen HOST:PORT  where to serve HTTP (default 127.0.0.1:8400; port 0\n"
"                      picks a free port).  Put TLS in front of it (a\n"
"                      reverse proxy) for anything but loopback.\n"
"  --pdp URL           the policy_decision_point identifier the metadata\n"
"                      names (default http://HOST:PORT)\n"
"  --port-file FILE    write the bound port there once listening\n"
"  --timeout-ms N      broker call timeout (default 5000)\n"
"  --root-pub FILE     the broker's token root public key: a Mandate\n"
"                      token and proof in an evaluation's context.mandate\n"
"                      are then verified offline, as a resource server\n"
"                      does, before Cedar is asked (without it they are\n"
"                      denied)\n"
"  --audience ID       the audience those tokens must be minted for\n"
"                      (required with --root-pub)\n"
"  --events URL        the broker's PUB URL, for revocations\n"
"                      (required with --root-pub)\n"
"  -h, --help          this text\n"
"\n"
"Exit status: 0 after SIGINT/SIGTERM, 1 on a startup error, 2 on a usage\n"
"error.\n";

struct opts {
	const char *broker, *agent, *key, *creds, *listen, *pdp, *port_file;
	const char *root_pub, *audience, *events;
	long timeout_ms;
};

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int
usage_error(const char *msg)
{
	fprintf(stderr, "mandate-authzen: %s\n(see mandate-authzen --help)\n",
	    msg);
	return 2;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct {
		const char *flag;
		size_t off;
	} t[] = {
		{ "--broker", offsetof(struct opts, broker) },
		{ "--agent", offsetof(struct opts, agent) },
		{ "--key", offsetof(struct opts, key) },
		{ "--credentials", offsetof(struct opts, creds) },
		{ "--listen", offsetof(struct opts, listen) },
		{ "--pdp", offsetof(struct opts, pdp) },
		{ "--port-file", offsetof(struct opts, port_file) },
		{ "--root-pub", offsetof(struct opts, root_pub) },
		{ "--audience", offsetof(struct opts, audience) },
		{ "--events", offsetof(struct opts, events) },
	};

	for (int i = 1; i < argc; i++) {
		size_t k = 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") ==
		    0) {
			fputs(usage_text, stdout);
			exit(0);
		}
		if (i + 1 >= argc)
			return usage_error("an option lacks its value");
		if (strcmp(argv[i], "--timeout-ms") == 0) {
			o->timeout_ms = strtol(argv[++i], NULL, 10);
			if (o->timeout_ms < 1 || o->timeout_ms > 600000)
				return usage_error("--timeout-ms: 1..600000");
			continue;
		}
		while (k < sizeof(t) / sizeof(t[0]) &&
		    strcmp(argv[i], t[k].flag) != 0)
			k++;
		if (k == sizeof(t) / sizeof(t[0]))
			return usage_error("unknown option");
		*(const char **)(void *)((char *)o + t[k].off) = argv[++i];
	}
	if (o->broker == NULL || o->agent == NULL || o->key == NULL ||
	    o->creds == NULL)
		return usage_error("--broker, --agent, --key and --credentials "
		    "are required");
	if (o->root_pub != NULL && (o->audience == NULL || o->events == NULL))
		return usage_error("--root-pub needs --audience and --events");
	return 0;
}

/* HOST:PORT, the host possibly in brackets. */
static int
split_listen(const char *s, char *host, size_t hl, char *port, size_t pl)
{
	const char *c = strrchr(s, ':');
	size_t n;

	if (c == NULL || c[1] == 0)
		return -1;
	n = (size_t)(c - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
		s++, n -= 2;
	if (n == 0 || n >= hl || strlen(c + 1) >= pl)
		return -1;
	memcpy(host, s, n);
	host[n] = 0;
	snprintf(port, pl, "%s", c + 1);
	return 0;
}

static int
eval_agent(void *arg, const mdt_eval_request *q, mdt_eval_result *out,
    char *err, size_t errlen)
{
	return mdt_agent_evaluate(arg, q, out, err, errlen);
}

static int
verify_token(void *arg, const char *token, const char *proof,
    const mdt_rs_request *req, mdt_rs_grant *grant, char *err,
    size_t errlen)
{
	return mdt_rs_verify(arg, token, proof, req, grant, err, errlen);
}

/* The verifier of presented tokens, when --root-pub is given. */
static int
open_verifier(const struct opts *o, mdt_rs_verifier **out, char *err,
    size_t errlen)
{
	mdt_rs_verifier_opts vo = MDT_RS_VERIFIER_OPTS_INIT;
	mdt_pubkey root;
	int rc;

	*out = NULL;
	if (o->root_pub == NULL)
		return 0;
	if ((rc = mdt_pubkey_load(o->root_pub, &root, err, errlen)) != 0)
		return rc;
	vo.broker_key = &root;
	vo.audience = o->audience;
	vo.events_url = o->events;
	return mdt_rs_verifier_new(&vo, out, err, errlen);
}

static int
connect_broker(const struct opts *o, mdt_agent **out, char *err,
    size_t errlen)
{
	mdt_keypair *kp = NULL;
	mdt_agent_opts ao = { .url = o->broker, .spiffe_id = o->agent,
	    .timeout_ms = (uint32_t)o->timeout_ms };
	int rc = mdt_keypair_load(o->key, &kp, err, errlen);

	if (rc != 0)
		return rc;
	ao.key = kp;
	rc = mdt_agent_connect(&ao, out, err, errlen);
	mdt_keypair_free(kp);
	return rc;
}

static int
write_port(const char *path, int port)
{
	char tmp[1100];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static int
serve(const struct opts *o, struct az_server *srv)
{
	char host[200], port[16], err[MDT_ERRMSG_MAX];

	if (split_listen(o->listen, host, sizeof(host), port,
	    sizeof(port)) != 0) {
		fprintf(stderr, "mandate-authzen: --listen: expected HOST:PORT"
		    "\n");
		return 1;
	}
	if (az_server_listen(srv, host, port, err, sizeof(err)) != 0) {
		fprintf(stderr, "mandate-authzen: %s\n", err);
		return 1;
	}
	if (o->pdp != NULL)
		snprintf(srv->api.pdp, sizeof(srv->api.pdp), "%s", o->pdp);
	else
		snprintf(srv->api.pdp, sizeof(srv->api.pdp), "http://%s%s%s:%d",
		    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ?
		    "]" : "", az_server_port(srv));
	if (o->port_file != NULL && write_port(o->port_file,
	    az_server_port(srv)) != 0) {
		fprintf(stderr, "mandate-authzen: cannot write %s\n",
		    o->port_file);
		return 1;
	}
	fprintf(stderr, "mandate-authzen: serving %s\n", srv->api.pdp);
	az_server_run(srv, &stop_flag);
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { .listen = "127.0.0.1:8400", .timeout_ms = 5000 };
	static struct az_server srv;
	char err[MDT_ERRMSG_MAX];
	mdt_agent *a = NULL;
	mdt_rs_verifier *v = NULL;
	int rc;

	if ((rc = parse_opts(argc, argv, &o)) != 0)
		return rc;
	if (sodium_init() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (az_api_load_tokens(&srv.api, o.creds, err, sizeof(err)) != 0 ||
	    connect_broker(&o, &a, err, sizeof(err)) != 0 ||
	    open_verifier(&o, &v, err, sizeof(err)) != 0) {
		fprintf(stderr, "mandate-authzen: %s\n", err);
		mdt_agent_close(a);
		return 1;
	}
	srv.api.eval = eval_agent;
	srv.api.eval_arg = a;
	srv.api.verify = v != NULL ? verify_token : NULL;
	srv.api.verify_arg = v;
	rc = serve(&o, &srv);
	mdt_rs_verifier_free(v);
	mdt_agent_close(a);
	sodium_memzero(srv.api.tokens, sizeof(srv.api.tokens));
	return rc;
}

/*
 * Shared helpers of the clinic example programs (see clinic.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "clinic.h"

#define CLINIC_FILE_MAX (64u * 1024u)
#define CLINIC_HTTP_TIMEOUT_MS 5000

void
clinic_log(const char *who, const char *fmt, ...)
{
	va_list ap;

	printf("[%s] ", who);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

int
clinic_parse_opts(int argc, char **argv, const clinic_opt *opts, void *args,
    const char *usage)
{
	for (int i = 1; i < argc; i++) {
		const clinic_opt *o;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("%s\n", usage);
			return 1;
		}
		for (o = opts; o->name != NULL; o++)
			if (strcmp(argv[i], o->name) == 0)
				break;
		if (o->name == NULL || i + 1 >= argc) {
			fprintf(stderr, "%s\n", usage);
			return -1;
		}
		*(const char **)((char *)args + o->off) = argv[++i];
	}
	return 0;
}

int
clinic_load_key(const char *path, mdt_keypair **out)
{
	char err[MDT_ERRMSG_MAX];

	if (path == NULL || mdt_keypair_load(path, out, err, sizeof(err)) != 0) {
		fprintf(stderr, "key %s: %s\n", path ? path : "(none)",
		    path ? err : "missing");
		return -1;
	}
	return 0;
}

char *
clinic_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	if ((buf = malloc(CLINIC_FILE_MAX + 1)) != NULL) {
		n = fread(buf, 1, CLINIC_FILE_MAX + 1, f);
		if (n > CLINIC_FILE_MAX) {
			free(buf);
			buf = NULL;
		} else {
			while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
				n--;
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

static int
http_request(nng_url *url, const char *method, const char *token,
    const char *proof, nng_http_req **out)
{
	nng_http_req *req;

	if (nng_http_req_alloc(&req, url) != 0)
		return -1;
	if (nng_http_req_set_method(req, method) != 0 ||
	    (token != NULL && nng_http_req_set_header(req,
	    MDT_HTTP_TOKEN_HEADER, token) != 0) ||
	    (proof != NULL && nng_http_req_set_header(req,
	    MDT_HTTP_PROOF_HEADER, proof) != 0) ||
	    nng_http_req_set_header(req, "Content-Length", "0") != 0) {
		nng_http_req_free(req);
		return -1;
	}
	*out = req;
	return 0;
}

static int
http_transact(nng_url *url, nng_http_req *req, clinic_http_res *out)
{
	nng_http_client *cli = NULL;
	nng_http_res *res = NULL;
	nng_aio *aio = NULL;
	void *data;
	size_t len;
	int rv = -1;

	if (nng_http_client_alloc(&cli, url) != 0 ||
	    nng_http_res_alloc(&res) != 0 ||
	    nng_aio_alloc(&aio, NULL, NULL) != 0)
		goto out;
	nng_aio_set_timeout(aio, CLINIC_HTTP_TIMEOUT_MS);
	nng_http_client_transact(cli, req, res, aio);
	nng_aio_wait(aio);
	if (nng_aio_result(aio) != 0)
		goto out;
	nng_http_res_get_data(res, &data, &len);
	if ((out->body = malloc(len + 1)) == NULL)
		goto out;
	memcpy(out->body, data, len);
	out->body[len] = '\0';
	out->status = nng_http_res_get_status(res);
	rv = 0;
out:
	nng_aio_free(aio);
	if (res != NULL)
		nng_http_res_free(res);
	if (cli != NULL)
		nng_http_client_free(cli);
	return rv;
}

int
clinic_http(const char *method, const char *url, const char *token,
    const char *proof, clinic_http_res *res)
{
	nng_http_req *req = NULL;
	nng_url *u = NULL;
	int rv = -1;

	memset(res, 0, sizeof(*res));
	if (nng_url_parse(&u, url) == 0 &&
	    http_request(u, method, token, proof, &req) == 0)
		rv = http_transact(u, req, res);
	if (req != NULL)
		nng_http_req_free(req);
	nng_url_free(u);
	return rv;
}

const clinic_opt clinic_arg_table[] = {
	{"--broker", offsetof(clinic_args, broker)},
	{"--events", offsetof(clinic_args, events)},
	{"--key", offsetof(clinic_args, key)},
	{"--id", offsetof(clinic_args, id)},
	{"--gateway", offsetof(clinic_args, gateway)},
	{"--role", offsetof(clinic_args, role)},
	{"--payer-audience", offsetof(clinic_args, payer)},
	{"--assertion-pat-001", offsetof(clinic_args, assert1)},
	{"--assertion-pat-003", offsetof(clinic_args, assert3)},
	{"--emergency-pat-003", offsetof(clinic_args, emerg3)},
	{"--acts", offsetof(clinic_args, acts)},
	{"--timeout", offsetof(clinic_args, timeout)},
	{NULL, 0},
};

int
clinic_connect(const char *who, const clinic_args *args, mdt_agent **out)
{
	mdt_agent_opts o;
	mdt_keypair *kp;
	char err[MDT_ERRMSG_MAX];
	int rv;

	if (args->broker == NULL || args->id == NULL ||
	    clinic_load_key(args->key, &kp) != 0)
		return -1;
	memset(&o, 0, sizeof(o));
	o.url = args->broker;
	o.spiffe_id = args->id;
	o.key = kp;
	rv = mdt_agent_connect(&o, out, err, sizeof(err));
	mdt_keypair_free(kp);
	if (rv != 0) {
		clinic_log(who, "cannot connect to %s as %s: %s", args->broker,
		    args->id, err);
		return -1;
	}
	clinic_log(who, "connected to the broker as %s", args->id);
	return 0;
}

/*
 * Listeners: the URLs of the listen and pub settings, each an nng
 * listener; ipc:// creates the socket's directory, and tls+tcp:// loads the
 * broker's certificate, key and (for mutual TLS) the client CA once, into
 * one TLS configuration that every TLS listener shares.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "alloc_int.h"
#include "broker.h"

#define PEM_MAX (64u << 10)

/* Reads a PEM file (at most PEM_MAX bytes) as a NUL-terminated string.
 * Caller frees with mdt__free. */
static char *
read_pem(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = f != NULL ? mdt__malloc(PEM_MAX + 1) : NULL;
	size_t n = 0;

	if (buf != NULL) {
		n = fread(buf, 1, PEM_MAX + 1, f);
		if (n > PEM_MAX || ferror(f)) {
			mdt__free(buf);
			buf = NULL;
		} else {
			buf[n] = 0;
		}
	}
	if (f != NULL)
		fclose(f);
	return buf;
}

/* The broker's certificate and key, from two PEM files. */
static int
tls_own_cert(brk_broker *b)
{
	char *cert = read_pem(b->cfg.tls_cert);
	char *key = read_pem(b->cfg.tls_key);
	int rv = cert != NULL && key != NULL ?
	    nng_tls_config_own_cert(b->tls, cert, key, NULL) : NNG_ENOENT;

	mdt__free(cert);
	if (key != NULL)
		sodium_memzero(key, strlen(key));
	mdt__free(key);
	return rv;
}

static int
tls_setup(brk_broker *b, char *err, size_t errlen)
{
	int rv;

	if (b->tls != NULL)
		return 0;
	if (b->cfg.tls_cert[0] == 0 || b->cfg.tls_key[0] == 0) {
		snprintf(err, errlen, "tls+tcp:// needs tls_cert and tls_key");
		return -MDT_ECONFIG;
	}
	rv = nng_tls_config_alloc(&b->tls, NNG_TLS_MODE_SERVER);
	if (rv == 0)
		rv = tls_own_cert(b);
	if (rv == 0 && b->cfg.tls_ca[0] != 0)
		rv = nng_tls_config_ca_file(b->tls, b->cfg.tls_ca);
	if (rv == 0)
		rv = nng_tls_config_auth_mode(b->tls, b->cfg.tls_ca[0] != 0 ?
		    NNG_TLS_AUTH_MODE_REQUIRED : NNG_TLS_AUTH_MODE_NONE);
	if (rv != 0) {
		snprintf(err, errlen, "TLS configuration (tls_cert %.200s, "
		    "tls_key, tls_ca): %s", b->cfg.tls_cert, nng_strerror(rv));
		return -MDT_ECONFIG;
	}
	return 0;
}

static int
listen_one(brk_broker *b, nng_socket s, const char *url, char *err,
    size_t errlen)
{
	nng_listener l;
	nng_listener *nl;
	int rv;

	if (strncmp(url, "ipc://", 6) == 0) {
		char dir[BRK_PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", url + 6);
		char *slash = strrchr(dir, '/');
		if (slash != NULL && slash != dir) {
			*slash = 0;
			(void)brk_mkdirs(dir, 0700);
		}
	}
	rv = nng_listener_create(&l, s, url);
	if (rv == 0 && strncmp(url, "tls+tcp://", 10) == 0) {
		rv = tls_setup(b, err, errlen);
		if (rv != 0)
			return rv;
		rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, b->tls);
	}
	if (rv == 0)
		rv = nng_listener_start(l, 0);
	if (rv != 0) {
		snprintf(err, errlen, "listen %s: %s", url, nng_strerror(rv));
		return -MDT_ETRANSPORT;
	}
	nl = mdt__realloc(b->listeners, (b->nlisteners + 1) * sizeof(*nl));
	if (nl == NULL)
		return -MDT_ENOMEM;
	b->listeners = nl;
	b->listeners[b->nlisteners++] = l;
	BLOG(b, BRK_INFO, "listen", "url=%s", url);
	return 0;
}

int
brk_listen_all(brk_broker *b, nng_socket s, const char *list, char *err,
    size_t errlen)
{
	char buf[BRK_STR_MAX], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *u = strtok_r(buf, " ", &save); u != NULL;
	    u = strtok_r(NULL, " ", &save)) {
		int rc = listen_one(b, s, u, err, errlen);
		if (rc != 0)
			return rc;
	}
	return 0;
}


/*
 * mandated over tls+tcp:// with mutual TLS: a client with a certificate
 * from the configured CA is served; a client without one, or with a
 * certificate from another CA, never gets an answer.  Certificates are
 * made with the openssl command at test time.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "brk_test.h"
#include "testutil.h"

static struct bt_broker B;

/* Runs a shell command inside directory dir. */
static void
sh(const char *body, const char *dir)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "cd '%s' && %s", dir, body);
	ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

/* A CA, a server certificate for localhost and two client certificates:
 * one from the CA, one self-signed. */
static void
make_certs(const char *d)
{
	sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 "
	    "-subj /CN=test-ca 2>/dev/null", d);
	sh("openssl req -newkey rsa:2048 -nodes "
	    " -keyout srv.key -out srv.csr -subj /CN=localhost "
	    "2>/dev/null && printf 'subjectAltName=DNS:localhost\\n' > san.ext "
	    "&& openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
	    "-CAcreateserial -out srv.pem -days 1 -extfile san.ext 2>/dev/null",
	    d);
	sh("openssl req -newkey rsa:2048 -nodes "
	    " -keyout cli.key -out cli.csr -subj /CN=agent 2>/dev/null && "
	    "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key "
	    "-CAcreateserial -out cli.pem -days 1 2>/dev/null", d);
	sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout bad.key -out bad.pem "
	    "-days 1 -subj /CN=intruder 2>/dev/null", d);
}

/* Dials with the client certificate `who` (NULL: none); 0 when the
 * broker answers a hello. */
static int
tls_hello(const char *url, const char *who)
{
	nng_socket s;
	nng_dialer dl;
	nng_tls_config *cfg;
	char ca[600], cert[600], key[700];
	mdt_wire_writer *w = NULL;
	const uint8_t *buf;
	size_t len, rn;
	void *r = NULL;
	int rc;

	snprintf(ca, sizeof(ca), "%s/ca.pem", B.dir);
	ck_assert_int_eq(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 1500);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 1500);
	ck_assert_int_eq(nng_dialer_create(&dl, s, url), 0);
	ck_assert_int_eq(nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT), 0);
	ck_assert_int_eq(nng_tls_config_ca_file(cfg, ca), 0);
	ck_assert_int_eq(nng_tls_config_server_name(cfg, "localhost"), 0);
	if (who != NULL) {
		/* nng wants certificate and key in one file */
		snprintf(cert, sizeof(cert), "cat %s.pem %s.key > both-%s.pem",
		    who, who, who);
		sh(cert, B.dir);
		snprintf(key, sizeof(key), "%s/both-%s.pem", B.dir, who);
		ck_assert_int_eq(nng_tls_config_cert_key_file(cfg, key, NULL),
		    0);
	}
	ck_assert_int_eq(nng_dialer_set_ptr(dl, NNG_OPT_TLS_CONFIG, cfg), 0);
	ck_assert_int_eq(nng_dialer_start(dl, NNG_FLAG_NONBLOCK), 0);
	ck_assert_int_eq(mdt_wire_writer_new(&w, MDT_OP_HELLO, "t1", 0, 0), 0);
	ck_assert_int_eq(mdt_wire_put_cstr(w, "agent", BT_ORCH), 0);
	ck_assert_int_eq(mdt_wire_writer_finish(w, &buf, &len), 0);
	rc = nng_send(s, (void *)(uintptr_t)buf, len, 0);
	if (rc == 0)
		rc = nng_recv(s, &r, &rn, NNG_FLAG_ALLOC);
	if (rc == 0)
		nng_free(r, rn);
	mdt_wire_writer_free(w);
	nng_close(s);
	nng_tls_config_free(cfg);
	return rc;
}

START_TEST(mutual_tls)
{
	char listen[700], ca[600], cert[600], key[600], url[64];
	int port = 20000 + (int)(getpid() % 20000);
	const char *args[] = { "--listen", listen, "--set", ca, "--set", cert,
	    "--set", key, NULL };

	ck_assert_int_eq(bt_setup(&B, NULL), 0);
	make_certs(B.dir);
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", port);
	snprintf(listen, sizeof(listen), "%s %s", B.url, url);
	snprintf(ca, sizeof(ca), "tls_ca=%s/ca.pem", B.dir);
	snprintf(cert, sizeof(cert), "tls_cert=%s/srv.pem", B.dir);
	snprintf(key, sizeof(key), "tls_key=%s/srv.key", B.dir);
	ck_assert_msg(bt_start(&B, args) == 0, "broker did not start (log %s)",
	    B.log);
	ck_assert_int_eq(tls_hello(url, "cli"), 0);
	ck_assert_int_ne(tls_hello(url, NULL), 0);
	ck_assert_int_ne(tls_hello(url, "bad"), 0);
	ck_assert_int_eq(tls_hello(url, "cli"), 0);
	ck_assert_int_eq(bt_stop(&B, SIGTERM), 0);
	bt_cleanup(&B);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("broker_tls");
	TCase *tc = tcase_create("tls");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, mutual_tls);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return mdt_test_run(suite());
}

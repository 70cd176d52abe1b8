/*
 * The listener of mandate-authzen (server.c), used by main.c only.
 */
#ifndef AZ_AUTHZEN_SERVER_H
#define AZ_AUTHZEN_SERVER_H

#include <signal.h>
#include <stdatomic.h>

#include "authzen_int.h"

#define AZ_CONNS_MAX 64

struct az_server {
	struct az_api api;
	int fd;
	atomic_int active;      /* connection threads running */
};

/* Binds and listens on host:port (port "0": any free port). */
int az_server_listen(struct az_server *srv, const char *host,
    const char *port, char *err, size_t errlen);
/* The bound port, or -1. */
int az_server_port(const struct az_server *srv);
/* Accepts connections until *stop, then waits (up to 3 s) for the
 * running ones and closes the socket. */
void az_server_run(struct az_server *srv, volatile sig_atomic_t *stop);

#endif

/*
 * The listener of mandate-console (server.c), for main.c.
 */
#ifndef CON_CONSOLE_SERVER_H
#define CON_CONSOLE_SERVER_H

#include <signal.h>
#include <stddef.h>

#include "console_int.h"

/* A listening socket on spec ("HOST:PORT", "[V6]:PORT", numeric); *lport
 * gets the port when the address is a loopback one, else 0.  0 or -1
 * with err set. */
int con_listen(const char *spec, int *fd, int *lport, char *err,
    size_t errlen);

/* Serves requests on lfd until *stop is set; 0, or -1 on a poll error. */
int con_serve(con_app *a, int lfd, volatile sig_atomic_t *stop);

#endif

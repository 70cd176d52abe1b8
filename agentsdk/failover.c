/*
 * The broker addresses of a connection and the move between them.
 *
 * The req0 socket has one dialer at a time, to the current address: with
 * two live brokers and a dialer to each, nng would spread requests over
 * both pipes while a session is bound to one.  A monitor thread (started
 * only when there are several addresses) watches the pipe count kept by
 * nng's pipe events; when the connection has had no pipe for failover_ms
 * (dials refused, a broker killed or restarting elsewhere) it closes the
 * dialer and dials the next address, round robin.  What follows is the
 * path of any reconnection (conn.c): req0 resends the requests in flight
 * on the new pipe, the new broker answers "auth.required", and sdk_call
 * re-authenticates and resends with the same request ids, which the
 * broker answers from its record when they were decided already.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sdk_int.h"

#define FAILOVER_DEFAULT_MS 1000
#define FAILOVER_POLL_MIN_MS 10
#define FAILOVER_POLL_MAX_MS 250

static int
addr_add(mdt_agent *a, const char *url, size_t len, char *err, size_t errlen)
{
	nng_url *u = NULL;
	char *dst;
	int rv;

	if (a->nurls == MDT_AGENT_URLS_MAX)
		return sdk_err(err, errlen, -MDT_ETOOBIG, "agent options: more "
		    "than %d broker addresses", MDT_AGENT_URLS_MAX);
	if (len == 0 || len >= MDT_AGENT_URL_MAX)
		return sdk_err(err, errlen, len ? -MDT_ETOOBIG : -MDT_EINVAL,
		    "agent options: broker address %zu is %s", a->nurls + 1,
		    len ? "too long" : "empty");
	dst = a->urls[a->nurls];
	memcpy(dst, url, len);
	dst[len] = '\0';
	/* a typo fails the connect, not a background dial later */
	if ((rv = nng_url_parse(&u, dst)) != 0)
		return sdk_err(err, errlen, -MDT_EINVAL, "agent options: "
		    "broker address \"%s\": %s", dst, nng_strerror(rv));
	nng_url_free(u);
	a->nurls++;
	return 0;
}

int
sdk_addrs_parse(mdt_agent *a, const mdt_agent_opts *o, char *err,
    size_t errlen)
{
	int rv = 0;

	a->failover_ms = o->failover_ms ? o->failover_ms : FAILOVER_DEFAULT_MS;
	if (o->nurls > 0) {
		if (o->urls == NULL)
			return sdk_err(err, errlen, -MDT_EINVAL,
			    "agent options: nurls without urls");
		for (size_t i = 0; rv == 0 && i < o->nurls; i++)
			rv = o->urls[i] == NULL ? sdk_err(err, errlen,
			    -MDT_EINVAL, "agent options: urls[%zu] is NULL", i) :
			    addr_add(a, o->urls[i], strlen(o->urls[i]), err,
			    errlen);
		return rv;
	}
	if (o->url == NULL)
		return sdk_err(err, errlen, -MDT_EINVAL,
		    "agent options: url (or urls) is required");
	for (const char *p = o->url; rv == 0;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		rv = addr_add(a, p, n, err, errlen);
		if (c == NULL)
			break;
		p = c + 1;
	}
	return rv;
}

const char *
sdk_addr(const mdt_agent *a)
{
	return a->urls[atomic_load(&a->cur)];
}

static void
on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	mdt_agent *a = arg;

	(void)p;
	if (ev == NNG_PIPE_EV_ADD_PRE)
		atomic_fetch_add(&a->pipes, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&a->pipes, 1);
}

static int
addr_dial(mdt_agent *a, char *err, size_t errlen)
{
	int rv;

	if ((rv = nng_dial(a->sock, sdk_addr(a), &a->dialer,
	    NNG_FLAG_NONBLOCK)) != 0)
		return sdk_err(err, errlen, -MDT_ETRANSPORT, "%s: %s",
		    sdk_addr(a), nng_strerror(rv));
	return 0;
}

/* Closes the dialer (and its pipe, if one came up meanwhile: the move is
 * decided) and dials the next address. */
static void
addr_next(mdt_agent *a)
{
	size_t next = (atomic_load(&a->cur) + 1) % a->nurls;

	nng_dialer_close(a->dialer);
	atomic_store(&a->cur, next);
	atomic_fetch_add(&a->failovers, 1);
	/* the address parsed at connect; a failure here is the next
	 * round's to retry */
	if (addr_dial(a, NULL, 0) != 0)
		a->dialer = (nng_dialer)NNG_DIALER_INITIALIZER;
}

static void
mon_wait(mdt_agent *a, uint32_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	(void)pthread_cond_timedwait(&a->mon_cv, &a->mon_mu, &ts);
}

static void *
mon_main(void *arg)
{
	mdt_agent *a = arg;
	uint64_t up = sdk_clock_ms();
	uint32_t poll = a->retry_ms;

	if (poll < FAILOVER_POLL_MIN_MS)
		poll = FAILOVER_POLL_MIN_MS;
	if (poll > FAILOVER_POLL_MAX_MS)
		poll = FAILOVER_POLL_MAX_MS;
	pthread_mutex_lock(&a->mon_mu);
	while (!a->mon_stop) {
		uint64_t now = sdk_clock_ms();

		if (atomic_load(&a->pipes) > 0) {
			up = now;
		} else if (now - up >= a->failover_ms) {
			pthread_mutex_unlock(&a->mon_mu);
			addr_next(a);
			pthread_mutex_lock(&a->mon_mu);
			up = sdk_clock_ms();
		}
		if (!a->mon_stop)
			mon_wait(a, poll);
	}
	pthread_mutex_unlock(&a->mon_mu);
	return NULL;
}

int
sdk_addrs_start(mdt_agent *a, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	int rv;

	/* ADD_PRE, not ADD_POST: nng reports REM_POST for every pipe that
	 * saw ADD_PRE, so the count cannot drift */
	if ((rv = nng_pipe_notify(a->sock, NNG_PIPE_EV_ADD_PRE, on_pipe,
	    a)) != 0 || (rv = nng_pipe_notify(a->sock, NNG_PIPE_EV_REM_POST,
	    on_pipe, a)) != 0)
		return sdk_err(err, errlen, -MDT_ETRANSPORT, "pipe events: %s",
		    nng_strerror(rv));
	if ((rv = addr_dial(a, err, errlen)) != 0 || a->nurls < 2)
		return rv;
	pthread_mutex_init(&a->mon_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->mon_cv, &ca);
	pthread_condattr_destroy(&ca);
	a->mon_init = 1;
	if (pthread_create(&a->mon, NULL, mon_main, a) != 0)
		return sdk_err(err, errlen, -MDT_ENOMEM,
		    "failover: cannot start the monitor thread");
	a->mon_running = 1;
	return 0;
}

void
sdk_addrs_stop(mdt_agent *a)
{
	if (!a->mon_init)
		return;
	if (a->mon_running) {
		pthread_mutex_lock(&a->mon_mu);
		a->mon_stop = 1;
		pthread_cond_signal(&a->mon_cv);
		pthread_mutex_unlock(&a->mon_mu);
		pthread_join(a->mon, NULL);
		a->mon_running = 0;
	}
	pthread_cond_destroy(&a->mon_cv);
	pthread_mutex_destroy(&a->mon_mu);
	a->mon_init = 0;
}

const char *
mdt_agent_url(const mdt_agent *a)
{
	return sdk_addr(a);
}

uint64_t
mdt_agent_failovers(const mdt_agent *a)
{
	return (uint64_t)atomic_load(&a->failovers);
}

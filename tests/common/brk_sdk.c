/*
 * SDK clients of test brokers (brk_sdk.h).
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <mandate/store.h>

#include "brk_sdk.h"

mdt_agent *
bs_connect(const struct bt_broker *b, const char *id,
    const char *const *urls, size_t n, uint32_t timeout_ms)
{
	mdt_agent_opts o = MDT_AGENT_OPTS_INIT;
	char err[MDT_ERRMSG_MAX];
	mdt_agent *a = NULL;

	o.urls = urls;
	o.nurls = n;
	o.spiffe_id = id;
	o.key = bt_key(b, id);
	o.timeout_ms = timeout_ms;
	o.retry_ms = 20;
	o.failover_ms = 300;
	ck_assert_msg(mdt_agent_connect(&o, &a, err, sizeof(err)) == 0,
	    "connect %s: %s", id, err);
	return a;
}

mdt_task *
bs_open_root(mdt_agent *orch, const char *jwt, const char *scopes)
{
	mdt_open_opts op = MDT_OPEN_OPTS_INIT;
	char err[MDT_ERRMSG_MAX];
	mdt_task *t = NULL;

	op.assertion = jwt;
	op.patient = "pat-001";
	op.purpose = "TREAT";
	op.scopes = scopes;
	ck_assert_msg(mdt_agent_open_task(orch, &op, &t, err, sizeof(err)) ==
	    0, "open: %s", err);
	return t;
}

void
bs_dispatch(mdt_task *root, const char *payload, char child[MDT_AGENT_ID_MAX])
{
	char err[MDT_ERRMSG_MAX];

	ck_assert_msg(mdt_task_dispatch(root, BT_SUMM, "patient/Observation.rs",
	    (const uint8_t *)payload, strlen(payload), child, err,
	    sizeof(err)) == 0, "dispatch %s: %s", payload, err);
}

static int
collect(void *arg, const mdt_store_decision *d)
{
	FILE *f = arg;

	if (d->verdict == MDT_STORE_ALLOW && d->resource != NULL &&
	    d->task_id != NULL)
		fprintf(f, "%s %s\n", d->task_id, d->resource);
	return 0;
}

char *
bs_store_allows(const char *uri)
{
	mdt_store_opts so = {.read_only = 1};
	mdt_store *s = NULL;
	char err[MDT_ERRMSG_MAX], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(mdt_store_open(uri, &so, &s, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(mdt_store_list_decisions(s, 0, 0, collect, f), 0);
	mdt_store_close(s);
	fclose(f);
	return buf;
}

/*
 * SDK clients of test brokers (brk_sdk.c): agents connected through
 * mdt_agent with a list of addresses, the root task of a clinician's
 * launch, dispatches, and the allows a store recorded, for the tests of
 * several brokers and of a store that goes away.
 */
#ifndef BRK_SDK_H
#define BRK_SDK_H

#include <stddef.h>
#include <stdint.h>

#include <mandate/agent.h>

#include "brk_test.h"

/* agent id of b's registry on urls[0..n), each request given timeout_ms
 * (reconnection and failover included).  Fails the test when it cannot. */
mdt_agent *bs_connect(const struct bt_broker *b, const char *id,
    const char *const *urls, size_t n, uint32_t timeout_ms);
/* The root task of jwt's launch for pat-001 under scopes. */
mdt_task *bs_open_root(mdt_agent *orch, const char *jwt, const char *scopes);
/* Dispatches payload to the summarizer under Observation read scopes. */
void bs_dispatch(mdt_task *root, const char *payload,
    char child[MDT_AGENT_ID_MAX]);
/* Every allowed decision in the store at uri, one "TASK RESOURCE\n" line
 * each.  Caller frees with free(). */
char *bs_store_allows(const char *uri);

#endif

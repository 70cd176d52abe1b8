/*
 * A second broker sharing the first one's identities (brk_test.h,
 * bt_twin): several brokers on one store must share the root key and
 * the agent registry, so the twin borrows them and owns only its
 * directory (run directory, data directory, log).
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "brk_test.h"

int
bt_twin(const struct bt_broker *a, struct bt_broker *t)
{
	*t = *a;
	t->pid = 0;
	t->exit_status = 0;
	snprintf(t->dir, sizeof(t->dir), "/tmp/mdt-brk-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->url, sizeof(t->url), "ipc://%s/run/api.sock", t->dir);
	snprintf(t->pub, sizeof(t->pub), "ipc://%s/run/events.sock", t->dir);
	snprintf(t->log, sizeof(t->log), "%s/broker.log", t->dir);
	/* the data directory is the twin's own; the root key is a's */
	snprintf(t->store, sizeof(t->store), "%s/data/audit.db", t->dir);
	return 0;
}

void
bt_twin_cleanup(struct bt_broker *t)
{
	char cmd[600];

	if (t->pid > 0)
		(void)bt_stop(t, 9);
	if (getenv("MDT_KEEP_TEST_DIR") == NULL && t->dir[0] == '/') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", t->dir);
	}
	memset(t, 0, sizeof(*t));
}

int
bt_start_pair(struct bt_broker *a, struct bt_broker *b, const char *store,
    const char *const *extra)
{
	char sarg[700], karg[700];
	const char *args[24];
	size_t n = 0;

	snprintf(sarg, sizeof(sarg), "store=%s", store);
	args[n++] = "--set";
	args[n++] = sarg;
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 20; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	if (bt_setup(a, NULL) != 0 || bt_start(a, args) != 0 ||
	    bt_twin(a, b) != 0)
		return -1;
	/* a has made its root key by now */
	snprintf(karg, sizeof(karg), "root_key=%s/data/root.key", a->dir);
	args[n++] = "--set";
	args[n++] = karg;
	args[n] = NULL;
	return bt_start(b, args);
}

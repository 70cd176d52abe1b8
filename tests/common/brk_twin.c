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

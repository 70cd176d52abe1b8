/* The broker root key: loaded from the data directory, or generated
 * there (mode 0600) on first start. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "broker.h"

int
brk_root_key(brk_broker *b, char *err, size_t errlen)
{
	char base[BRK_PATH_MAX];
	size_t n = strlen(b->cfg.root_key);
	struct stat st;
	mdt_keypair *kp = NULL;
	int rc;

	if (n < 5 || strcmp(b->cfg.root_key + n - 4, ".key") != 0) {
		snprintf(err, errlen, "root_key %s: must end in .key",
		    b->cfg.root_key);
		return -MDT_ECONFIG;
	}
	if (stat(b->cfg.root_key, &st) != 0 && errno == ENOENT) {
		snprintf(base, sizeof(base), "%.*s", (int)(n - 4),
		    b->cfg.root_key);
		rc = mdt_keypair_generate(&kp);
		if (rc == 0)
			rc = mdt_keypair_save(kp, base, err, errlen);
		mdt_keypair_free(kp);
		if (rc != 0)
			return rc;
		BLOG(b, BRK_INFO, "root_key.generated", "path=%s",
		    b->cfg.root_key);
	}
	rc = mdt_keypair_load(b->cfg.root_key, &b->root, err, errlen);
	if (rc != 0)
		return rc;
	mdt_keypair_public(b->root, &b->root_pub);
	return 0;
}

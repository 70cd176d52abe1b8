/*
 * What each decision can be replayed against: the policy set and the
 * entity data (entities file and care data) of a snapshot, as sources
 * kept in the audit store once per hash, at start and at every reload,
 * before any decision is made under them.
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "broker.h"

/* The entity files of cfg as one list: the entities file, then the care
 * data, in the order the snapshot loads them. */
static void
entity_paths(const struct brk_config *cfg, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s", cfg->entities, cfg->care_data[0] ? " " :
	    "", cfg->care_data);
}

int
brk_snapshot_sources(struct brk_snapshot *s, const struct brk_config *cfg,
    char *err, size_t errlen)
{
	char paths[BRK_PATH_MAX + BRK_STR_MAX + 2], hex[MDT_POLICY_HASH_HEX];
	int rc;

	rc = mdt_policy_dir_source(cfg->policy_dir, &s->policy_source, err,
	    errlen);
	if (rc == 0)
		rc = mdt_policy_source_hash(s->policy_source,
		    strlen(s->policy_source), hex, err, errlen);
	if (rc == 0 && strcmp(hex, mdt_policy_set_hash(s->policies)) != 0) {
		snprintf(err, errlen, "%s changed while it was loaded; load it "
		    "again", cfg->policy_dir);
		return -MDT_ECONFIG;
	}
	entity_paths(cfg, paths, sizeof(paths));
	if (rc == 0)
		rc = mdt_entity_files_source(paths, &s->entities_source, err,
		    errlen);
	if (rc == 0)
		rc = mdt_policy_source_hash(s->entities_source,
		    strlen(s->entities_source), s->entities_version, err,
		    errlen);
	return rc;
}

static int
put(mdt_store *st, const char *kind, const char *digest,
    const char *content, char *err, size_t errlen)
{
	mdt_store_source src = {.source_kind = kind, .digest = digest,
	    .content = content};
	int rc = mdt_store_put_source(st, &src, NULL);

	if (rc != 0 && rc != -MDT_EEXIST) {
		snprintf(err, errlen, "recording the %s %s: %s", kind, digest,
		    mdt_strerror(rc));
		return rc;
	}
	return 0;
}

int
brk_sources_record(brk_broker *b, const struct brk_snapshot *s, char *err,
    size_t errlen)
{
	int rc = put(b->store, MDT_STORE_SOURCE_POLICIES,
	    mdt_policy_set_hash(s->policies), s->policy_source, err, errlen);

	if (rc == 0)
		rc = put(b->store, MDT_STORE_SOURCE_ENTITIES,
		    s->entities_version, s->entities_source, err, errlen);
	return rc;
}

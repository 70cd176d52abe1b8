/*
 * `mandatectl agent`: the agent registry (the Mandate::Agent entities of
 * the broker's entities file) read, checked and rewritten in place.
 * Shared between the subcommands (ctl_agent.c), the entry checks
 * (ctl_agent_check.c) and the file handling (ctl_agent_file.c).
 */
#ifndef MDT_CTL_AGENT_H
#define MDT_CTL_AGENT_H

#include <stddef.h>

#include <jansson.h>

#include <mandate/mandate.h>

#define CTL_AGENT_TYPE "Mandate::Agent"
#define CTL_AGENT_ID_MAX 255 /* the broker's bound on an agent id */

/* The registry file, locked for the whole edit. */
typedef struct ctl_registry {
	char path[4096];     /* the file itself (symbolic links resolved) */
	json_t *root;        /* the entities array */
	int dirfd;           /* its directory, flock()ed while editing */
} ctl_registry;

/*
 * Opens path for reading (lock = 0) or editing (lock = 1: the directory
 * is locked until ctl_registry_close, so two edits cannot lose one
 * another).  Returns 0, or CTL_EXIT_INVALID after printing why.
 */
int ctl_registry_open(ctl_registry *r, const char *path, int lock);
void ctl_registry_close(ctl_registry *r);

/*
 * Checks every agent of r->root as the broker will and that the whole
 * array loads as Cedar entities, then replaces the file atomically
 * (temporary file in the same directory, fsync, rename, fsync of the
 * directory) keeping its mode and owner.  On any failure the file is
 * left as it was.  Returns 0 or CTL_EXIT_INVALID after printing why.
 */
int ctl_registry_save(ctl_registry *r);

/* Index of the agent id in r->root, or -1. */
long ctl_registry_find(const ctl_registry *r, const char *id);

/* True when ent's uid is of type Mandate::Agent. */
int ctl_agent_is(const json_t *ent);
/* The agent id of an entity (uid as {type,id} or {"__entity": ...}), or
 * NULL when it is not a Mandate::Agent. */
const char *ctl_agent_uid(const json_t *ent);
/* The id an allowedTargets entry names (a string or an entity ref). */
const char *ctl_agent_ref(const json_t *v);

/*
 * The broker's checks of one agent entity: id (SPIFFE, at most 255
 * bytes), publicKey ("" or an Ed25519 key), ceiling (scopes),
 * allowedTargets (SPIFFE ids), maxDepth (0..MDT_TOKEN_DEPTH_MAX),
 * maxFanout (>= 0).  0, or -MDT_ECONFIG with err naming the agent, the
 * field and why.
 */
int ctl_agent_check(const json_t *ent, char *err, size_t errlen);

/* An agent id given on the command line: a SPIFFE id with a path, at
 * most 255 bytes.  0, or -MDT_EPARSE with why. */
int ctl_agent_id_check(const char *id, char *why, size_t whylen);

/* A publicKey attribute value into *pk; 0 or -MDT_EKEY. */
int ctl_agent_key_parse(const char *text, mdt_pubkey *pk);

/* The subcommands (ctl_agent.c, ctl_agent_edit.c). */
int ctl_agent_add(int argc, char **argv);
int ctl_agent_remove(int argc, char **argv);
int ctl_agent_rotate(int argc, char **argv);
int ctl_agent_list(int argc, char **argv);
int ctl_agent_show(int argc, char **argv);

#endif

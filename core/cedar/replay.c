/*
 * The replay of a recorded request (what the audit store keeps with each
 * decision, written by reqjson.c) against a policy set, so a decision
 * can be re-made later, under the rules of then or of now.  The request
 * is read back from a store, so it is parsed as untrusted input.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "alloc_int.h"
#include "cedar/cedar_int.h"

static int
req_uid(const json_t *req, const char *field, mdt_entity_uid *u, char *err,
    size_t errlen)
{
	const json_t *o = json_object_get(req, field);
	const json_t *t = json_object_get(o, "type"), *id = json_object_get(o,
	    "id");

	if (!json_is_string(t) || !json_is_string(id)) {
		snprintf(err, errlen, "request.%s: needs string type and id",
		    field);
		return -MDT_EPARSE;
	}
	u->type = json_string_value(t);
	u->id = json_string_value(id);
	u->id_len = json_string_length(id);
	return 0;
}

/* Loads ctx (an object) into rec and the entities (an array, or absent)
 * into an overlay over base. */
static int
replay_inputs(const json_t *req, const mdt_entity_store *base,
    mdt_policy_record *rec, mdt_entity_store **ov, char *err, size_t errlen)
{
	const json_t *ctx = json_object_get(req, "context");
	const json_t *ents = json_object_get(req, "entities");
	char *text;
	int rc;

	if (!json_is_object(ctx) || (ents != NULL && !json_is_array(ents))) {
		snprintf(err, errlen, "request: context must be an object and "
		    "entities an array");
		return -MDT_EPARSE;
	}
	if ((text = json_dumps(ctx, JSON_COMPACT)) == NULL)
		return -MDT_ENOMEM;
	rc = mdt_policy_record_load_json(rec, text, strlen(text),
	    "request.context", err, errlen);
	free(text);
	if (rc == 0)
		rc = base != NULL ? mdt_entity_store_new_overlay(ov, base) :
		    mdt_entity_store_new(ov);
	if (rc != 0 || ents == NULL)
		return rc;
	if ((text = json_dumps(ents, JSON_COMPACT)) == NULL)
		return -MDT_ENOMEM;
	rc = mdt_entity_store_load_json(*ov, text, strlen(text),
	    "request.entities", err, errlen);
	free(text);
	return rc;
}

int
mdt_policy_replay(const mdt_policy_set *set,
    const mdt_entity_store *entities, const char *request, size_t len,
    mdt_policy_answer *ans, char *err, size_t errlen)
{
	mdt_policy_record *rec = NULL;
	mdt_entity_store *ov = NULL;
	mdt_policy_request req;
	json_error_t je;
	json_t *j;
	int rc;

	if (set == NULL || request == NULL || ans == NULL)
		return -MDT_EINVAL;
	if ((j = json_loadb(request, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		snprintf(err, errlen, "request: %s", je.text);
		return -MDT_EPARSE;
	}
	rc = mdt_policy_record_new(&rec);
	if (rc == 0 && ((rc = req_uid(j, "principal", &req.principal, err,
	    errlen)) != 0 || (rc = req_uid(j, "action", &req.action, err,
	    errlen)) != 0 || (rc = req_uid(j, "resource", &req.resource, err,
	    errlen)) != 0))
		rc = -MDT_EPARSE;
	if (rc == 0)
		rc = replay_inputs(j, entities, rec, &ov, err, errlen);
	if (rc == 0) {
		req.context = rec;
		rc = mdt_policy_evaluate(set, ov, &req, ans);
	}
	mdt_entity_store_free(ov);
	mdt_policy_record_free(rec);
	json_decref(j);
	return rc;
}

/*
 * Read access to a token: effective values, per-block views, the
 * effective scope set and a JSON rendering for inspection (never with the
 * carried secret).
 */
#include <string.h>

#include <jansson.h>

#include "alloc_int.h"
#include "key_int.h"
#include "token_int.h"

size_t
mdt_token_block_count(const mdt_token *tok)
{
	return tok->nblocks;
}

int
mdt_token_is_sealed(const mdt_token *tok)
{
	return tok->sealed;
}

const uint8_t *
mdt_token_key_id(const mdt_token *tok)
{
	return tok->blocks[0].kid;
}

const char *
mdt_token_task_id(const mdt_token *tok)
{
	return tok->tasks[tok->ntasks - 1];
}

const char *
mdt_token_parent_task_id(const mdt_token *tok)
{
	return tok->ntasks >= 2 ? tok->tasks[tok->ntasks - 2] : NULL;
}

const char *
mdt_token_task_chain(const mdt_token *tok, size_t i)
{
	return i < tok->ntasks ? tok->tasks[i] : NULL;
}

const char *
mdt_token_clinician(const mdt_token *tok)
{
	return tok->blocks[0].clinician;
}

const char *
mdt_token_patient(const mdt_token *tok)
{
	return tok->blocks[0].patient;
}

const char *
mdt_token_purpose(const mdt_token *tok)
{
	return tok->blocks[0].purpose;
}

int64_t
mdt_token_issued_at(const mdt_token *tok)
{
	return tok->blocks[0].iat;
}

int64_t
mdt_token_expires_at(const mdt_token *tok)
{
	return tok->exp;
}

uint32_t
mdt_token_depth(const mdt_token *tok)
{
	return tok->depth;
}

const char *
mdt_token_holder_id(const mdt_token *tok)
{
	return tok->holder;
}

void
mdt_token_holder_key(const mdt_token *tok, mdt_pubkey *out)
{
	memcpy(out->bytes, tok->holder_key, MDT_KEY_PUBLIC_BYTES);
}

const char *
mdt_token_audience(const mdt_token *tok)
{
	return tok->audience;
}

const char *
mdt_token_resource(const mdt_token *tok)
{
	return tok->resource;
}

/* Block 0's scopes are read in place: a copy is made only when no later
 * block intersects them into a new set. */
int
mdt_token_scopes(const mdt_token *tok, mdt_scope_set **out)
{
	const mdt_scope_set *acc;
	mdt_scope_set *own = NULL, *next;
	int rc;

	if (tok == NULL || out == NULL)
		return -MDT_EINVAL;
	acc = tok->blocks[0].scopes;
	for (size_t i = 1; i < tok->nblocks; i++) {
		if (tok->blocks[i].scopes == NULL)
			continue;
		rc = mdt_scope_set_intersect(acc, tok->blocks[i].scopes, &next);
		mdt_scope_set_free(own);
		if (rc != 0)
			return rc;
		acc = own = next;
	}
	if (own == NULL)
		return mdt_scope_set_dup(acc, out);
	*out = own;
	return 0;
}

int
mdt_token_block(const mdt_token *tok, size_t i, mdt_token_block_view *out)
{
	const mdt__tok_block *b;

	if (tok == NULL || out == NULL || i >= tok->nblocks)
		return -MDT_EINVAL;
	b = &tok->blocks[i];
	*out = (mdt_token_block_view){
		.fields = b->has, .version = b->version, .key_id = b->kid,
		.task_id = b->task, .parent_task_id = b->parent,
		.issued_at = b->iat, .expires_at = b->exp,
		.holder_id = b->holder, .holder_key = b->holder_key,
		.clinician = b->clinician, .patient = b->patient,
		.purpose = b->purpose, .scopes = b->scopes, .depth = b->depth,
		.audience = b->audience, .resource = b->resource,
		.next_key = b->next_key, .sealed = b->sealed,
		.signature = b->sig, .nonce = b->nonce, .broker = b->broker,
	};
	return 0;
}

/* ---------------------------------------------------------------- JSON */

static json_t *
hex_json(const uint8_t *p, size_t n)
{
	char buf[2 * 64 + 1];

	mdt__hex(p, n, buf);
	return json_string(buf);
}

static json_t *
key_json(const uint8_t *p)
{
	mdt_pubkey pk;
	char buf[MDT_KEY_PUBLIC_TEXT_BYTES];

	memcpy(pk.bytes, p, sizeof(pk.bytes));
	mdt_pubkey_to_text(&pk, buf);
	return json_string(buf);
}

static json_t *
scopes_json(const mdt_scope_set *set)
{
	json_t *a = json_array();
	char buf[MDT_SCOPE_TEXT_MAX + 1];

	for (size_t i = 0; a != NULL && i < mdt_scope_set_count(set); i++)
		if (mdt_scope_set_get(set, i, buf, sizeof(buf)) == 0)
			json_array_append_new(a, json_string(buf));
	return a;
}

/* One field of a block as JSON, by key. */
static json_t *
field_json(const mdt__tok_block *b, unsigned key)
{
	switch (key) {
	case MDT_TOKEN_FIELD_VERSION: return json_integer(b->version);
	case MDT_TOKEN_FIELD_KEY_ID: return hex_json(b->kid, MDT_KEY_ID_BYTES);
	case MDT_TOKEN_FIELD_TASK: return json_string(b->task);
	case MDT_TOKEN_FIELD_PARENT_TASK: return json_string(b->parent);
	case MDT_TOKEN_FIELD_ISSUED_AT: return json_integer(b->iat);
	case MDT_TOKEN_FIELD_EXPIRES_AT: return json_integer(b->exp);
	case MDT_TOKEN_FIELD_HOLDER: return json_string(b->holder);
	case MDT_TOKEN_FIELD_HOLDER_KEY: return key_json(b->holder_key);
	case MDT_TOKEN_FIELD_CLINICIAN: return json_string(b->clinician);
	case MDT_TOKEN_FIELD_PATIENT: return json_string(b->patient);
	case MDT_TOKEN_FIELD_PURPOSE: return json_string(b->purpose);
	case MDT_TOKEN_FIELD_SCOPES: return scopes_json(b->scopes);
	case MDT_TOKEN_FIELD_DEPTH: return json_integer(b->depth);
	case MDT_TOKEN_FIELD_AUDIENCE: return json_string(b->audience);
	case MDT_TOKEN_FIELD_RESOURCE: return json_string(b->resource);
	case MDT_TOKEN_FIELD_NEXT_KEY: return key_json(b->next_key);
	case MDT_TOKEN_FIELD_SEALED: return json_true();
	case MDT_TOKEN_FIELD_BROKER: return json_true();
	case MDT_TOKEN_FIELD_NONCE:
		return hex_json(b->nonce, MDT_TOKEN_NONCE_BYTES);
	default: return json_null();
	}
}

static json_t *
block_json(const mdt__tok_block *b)
{
	json_t *o = json_object();

	for (unsigned k = MDT_TOKEN_FIELD_VERSION;
	    o != NULL && k <= MDT_TOKEN_FIELD_BROKER; k++)
		if (b->has & MDT_TOKEN_F(k))
			json_object_set_new(o, mdt__tok_field_name(k),
			    field_json(b, k));
	if (o != NULL)
		json_object_set_new(o, "signature",
		    hex_json(b->sig, MDT_KEY_SIG_BYTES));
	return o;
}

static json_t *
token_json(const mdt_token *tok)
{
	char id[MDT_TOKEN_ID_TEXT_BYTES];
	json_t *o = json_object(), *blocks = json_array();

	if (o == NULL || blocks == NULL) {
		json_decref(o);
		json_decref(blocks);
		return NULL;
	}
	mdt_token_id_text(tok, id);
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "version", json_integer(MDT_TOKEN_VERSION));
	json_object_set_new(o, "verified", json_boolean(tok->verified));
	json_object_set_new(o, "sealed", json_boolean(tok->sealed));
	json_object_set_new(o, "carries_secret",
	    json_boolean(tok->proof != NULL));
	for (size_t i = 0; i < tok->nblocks; i++)
		json_array_append_new(blocks, block_json(&tok->blocks[i]));
	json_object_set_new(o, "blocks", blocks);
	return o;
}

int
mdt_token_to_json(const mdt_token *tok, char **out)
{
	json_t *o;
	char *s, *copy;

	if (tok == NULL || out == NULL)
		return -MDT_EINVAL;
	if ((o = token_json(tok)) == NULL)
		return -MDT_ENOMEM;
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return -MDT_ENOMEM;
	copy = mdt__strndup(s, strlen(s));
	free(s);
	if (copy == NULL)
		return -MDT_ENOMEM;
	*out = copy;
	return 0;
}

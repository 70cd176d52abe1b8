/*
 * Canonical encoding of tokens: blocks (fields in ascending key order from
 * one table), the envelope, the text form and the token id.
 */
#include <stddef.h>
#include <string.h>

#include "alloc_int.h"
#include "key_int.h"
#include "token_int.h"

typedef enum wkind { W_STR, W_BIN, W_U32, W_TIME, W_SCOPES, W_TRUE } wkind;

#define W(key, kind, member) \
	{MDT_TOKEN_FIELD_##key, kind, offsetof(mdt__tok_block, member)}

/* Ascending key order: the canonical order of a block's map. */
static const struct {
	unsigned key;
	wkind kind;
	size_t off;
} wtab[] = {
	W(VERSION, W_U32, version),
	W(KEY_ID, W_BIN, kid),
	W(TASK, W_STR, task),
	W(PARENT_TASK, W_STR, parent),
	W(ISSUED_AT, W_TIME, iat),
	W(EXPIRES_AT, W_TIME, exp),
	W(HOLDER, W_STR, holder),
	W(HOLDER_KEY, W_BIN, holder_key),
	W(CLINICIAN, W_STR, clinician),
	W(PATIENT, W_STR, patient),
	W(PURPOSE, W_STR, purpose),
	W(SCOPES, W_SCOPES, scopes),
	W(DEPTH, W_U32, depth),
	W(AUDIENCE, W_STR, audience),
	W(RESOURCE, W_STR, resource),
	W(NEXT_KEY, W_BIN, next_key),
	W(SEALED, W_TRUE, sealed),
	W(NONCE, W_BIN, nonce),
	W(BROKER, W_TRUE, broker),
};

#define FIELD(type, b, off) (*(type const *)(const void *)((const char *)(b) + (off)))

/*
 * Writes the set's scopes as they stand when they are in canonical order
 * already (strictly ascending texts, as in every set an intersection
 * made): 1 when written, 0 when not in order (nothing written).
 */
static int
write_scopes_ordered(mdt__mp_writer *w, const mdt_scope_set *set)
{
	char a[MDT_SCOPE_TEXT_MAX + 1], b[MDT_SCOPE_TEXT_MAX + 1];
	size_t count = mdt_scope_set_count(set);

	for (size_t i = 0; i < count; i++) {
		char *cur = i % 2 ? b : a, *prev = i % 2 ? a : b;

		if (mdt_scope_set_get(set, i, cur, sizeof(a)) != 0 ||
		    (i > 0 && strcmp(prev, cur) >= 0))
			return 0;
	}
	mdt__mp_write_array(w, count);
	for (size_t i = 0; i < count; i++) {
		if (mdt_scope_set_get(set, i, a, sizeof(a)) != 0)
			return -MDT_EINVAL;
		mdt__mp_write_str(w, a, strlen(a));
	}
	return 1;
}

/* The scope list: the set's canonical text, split at spaces. */
static int
write_scopes(mdt__mp_writer *w, const mdt_scope_set *set)
{
	char *text = NULL, *p;
	size_t count = 0;
	int rc;

	if (set == NULL)
		return -MDT_EINVAL;
	if ((rc = write_scopes_ordered(w, set)) != 0)
		return rc < 0 ? rc : 0;
	if ((rc = mdt_scope_set_format(set, &text)) != 0)
		return rc;
	for (p = text; *p != '\0'; p++)
		count += *p == ' ';
	count = text[0] == '\0' ? 0 : count + 1;
	mdt__mp_write_array(w, count);
	for (p = text; count > 0 && p != NULL;) {
		char *sp = strchr(p, ' ');
		size_t n = sp == NULL ? strlen(p) : (size_t)(sp - p);

		mdt__mp_write_str(w, p, n);
		p = sp == NULL ? NULL : sp + 1;
	}
	mdt_free(text);
	return 0;
}

static int
write_field(mdt__mp_writer *w, const mdt__tok_block *b, unsigned i,
    const mdt_scope_set *scopes)
{
	size_t binlen = mdt__tok_bin_len(wtab[i].key);

	mdt__mp_write_uint(w, wtab[i].key);
	switch (wtab[i].kind) {
	case W_STR:
		mdt__mp_write_cstr(w, FIELD(char *, b, wtab[i].off));
		return 0;
	case W_BIN:
		mdt__mp_write_bin(w, FIELD(uint8_t *, b, wtab[i].off), binlen);
		return 0;
	case W_U32:
		mdt__mp_write_uint(w, FIELD(uint32_t, b, wtab[i].off));
		return 0;
	case W_TIME:
		mdt__mp_write_uint(w, (uint64_t)FIELD(int64_t, b, wtab[i].off));
		return 0;
	case W_SCOPES:
		return write_scopes(w, scopes);
	case W_TRUE:
	default:
		mdt__mp_write_bool(w, 1);
		return 0;
	}
}

int
mdt__tok_write_block(mdt__mp_writer *w, const mdt__tok_block *b,
    const mdt_scope_set *scopes)
{
	size_t n = 0;
	int rc;

	for (unsigned i = 0; i < sizeof(wtab) / sizeof(wtab[0]); i++)
		n += (b->has & MDT_TOKEN_F(wtab[i].key)) != 0;
	mdt__mp_write_map(w, n);
	for (unsigned i = 0; i < sizeof(wtab) / sizeof(wtab[0]); i++)
		if ((b->has & MDT_TOKEN_F(wtab[i].key)) &&
		    (rc = write_field(w, b, i, scopes)) != 0)
			return rc;
	return mdt__mp_writer_status(w);
}

int
mdt__tok_write_envelope(mdt__mp_writer *w, const mdt_token *tok,
    const mdt__tok_raw *extra, const uint8_t *proof)
{
	size_t n = (tok == NULL ? 0 : tok->nblocks) + (extra != NULL);

	mdt__mp_write_map(w, proof != NULL ? 3 : 2);
	mdt__mp_write_uint(w, MDT__TOK_ENV_VERSION);
	mdt__mp_write_uint(w, MDT_TOKEN_VERSION);
	mdt__mp_write_uint(w, MDT__TOK_ENV_BLOCKS);
	mdt__mp_write_array(w, n);
	for (size_t i = 0; tok != NULL && i < tok->nblocks; i++) {
		mdt__mp_write_array(w, 2);
		mdt__mp_write_bin(w, tok->blocks[i].raw, tok->blocks[i].raw_len);
		mdt__mp_write_bin(w, tok->blocks[i].sig, MDT_KEY_SIG_BYTES);
	}
	if (extra != NULL) {
		mdt__mp_write_array(w, 2);
		mdt__mp_write_bin(w, extra->raw, extra->raw_len);
		mdt__mp_write_bin(w, extra->sig, MDT_KEY_SIG_BYTES);
	}
	if (proof != NULL) {
		mdt__mp_write_uint(w, MDT__TOK_ENV_PROOF);
		mdt__mp_write_bin(w, proof, MDT_KEY_SEED_BYTES);
	}
	return mdt__mp_writer_status(w);
}

const uint8_t *
mdt_token_bytes(const mdt_token *tok, size_t *len)
{
	*len = tok->enc_len;
	return tok->enc;
}

int
mdt_token_to_text(const mdt_token *tok, char **out)
{
	size_t pre = sizeof(MDT_TOKEN_TEXT_PREFIX) - 1;
	size_t n = pre + sodium_base64_ENCODED_LEN(tok->enc_len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s;

	if (out == NULL)
		return -MDT_EINVAL;
	if ((s = mdt__malloc(n)) == NULL)
		return -MDT_ENOMEM;
	memcpy(s, MDT_TOKEN_TEXT_PREFIX, pre);
	mdt__b64url_encode(tok->enc, tok->enc_len, s + pre, n - pre);
	*out = s;
	return 0;
}

void
mdt_token_text_free(char *text)
{
	if (text == NULL)
		return;
	sodium_memzero(text, strlen(text));
	mdt__free(text);
}

void
mdt__tok_hash_id(const uint8_t *enc, size_t len,
    uint8_t out[MDT_TOKEN_ID_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, MDT_TOKEN_ID_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)MDT__TOK_DOMAIN_ID,
	    sizeof(MDT__TOK_DOMAIN_ID)); /* with its 0x00 separator */
	crypto_generichash_update(&st, enc, len);
	crypto_generichash_final(&st, out, MDT_TOKEN_ID_BYTES);
}

void
mdt_token_id(const mdt_token *tok, uint8_t out[MDT_TOKEN_ID_BYTES])
{
	memcpy(out, tok->id, MDT_TOKEN_ID_BYTES);
}

void
mdt_token_id_text(const mdt_token *tok, char out[MDT_TOKEN_ID_TEXT_BYTES])
{
	uint8_t id[MDT_TOKEN_ID_BYTES];

	mdt_token_id(tok, id);
	mdt__hex(id, sizeof(id), out);
}

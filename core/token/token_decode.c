/*
 * Strict decoding of tokens: the envelope (version, blocks, proof), each
 * block's fields through one table, the per-block field rules, and the
 * fold of effective values (task chain, holder, expiry, depth, ...), and
 * taking over the blocks of a decoded prefix when a token is built on it.
 * Nothing here checks signatures: see token_chain.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <mandate/spiffe.h>

#include "alloc_int.h"
#include "key_int.h"
#include "token_int.h"

typedef struct dctx {
	mdt_token *tok;
	mdt__tok_block *b;
} dctx;

int
mdt__tok_fail(mdt_token_reason *why, int code, int block, const char *fmt,
    ...)
{
	va_list ap;

	if (why == NULL)
		return code;
	why->code = code;
	why->block = block;
	va_start(ap, fmt);
	vsnprintf(why->message, sizeof(why->message), fmt, ap);
	va_end(ap);
	return code;
}

void
mdt__tok_ok(mdt_token_reason *why)
{
	if (why != NULL) {
		why->code = 0;
		why->block = -1;
		why->message[0] = '\0';
	}
}

static const char *const field_names[] = {
	[MDT_TOKEN_FIELD_VERSION] = "version",
	[MDT_TOKEN_FIELD_KEY_ID] = "key_id",
	[MDT_TOKEN_FIELD_TASK] = "task",
	[MDT_TOKEN_FIELD_PARENT_TASK] = "parent_task",
	[MDT_TOKEN_FIELD_ISSUED_AT] = "issued_at",
	[MDT_TOKEN_FIELD_EXPIRES_AT] = "expires_at",
	[MDT_TOKEN_FIELD_HOLDER] = "holder",
	[MDT_TOKEN_FIELD_HOLDER_KEY] = "holder_key",
	[MDT_TOKEN_FIELD_CLINICIAN] = "clinician",
	[MDT_TOKEN_FIELD_PATIENT] = "patient",
	[MDT_TOKEN_FIELD_PURPOSE] = "purpose",
	[MDT_TOKEN_FIELD_SCOPES] = "scopes",
	[MDT_TOKEN_FIELD_DEPTH] = "depth",
	[MDT_TOKEN_FIELD_AUDIENCE] = "audience",
	[MDT_TOKEN_FIELD_RESOURCE] = "resource",
	[MDT_TOKEN_FIELD_NEXT_KEY] = "next_key",
	[MDT_TOKEN_FIELD_SEALED] = "sealed",
	[MDT_TOKEN_FIELD_NONCE] = "nonce",
	[MDT_TOKEN_FIELD_BROKER] = "broker",
};

const char *
mdt__tok_field_name(unsigned key)
{
	if (key >= sizeof(field_names) / sizeof(field_names[0]) ||
	    field_names[key] == NULL)
		return "?";
	return field_names[key];
}

/* ------------------------------------------------------ field readers */

#define SLOT(type, b, off) ((type *)(void *)((char *)(b) + (off)))
#define CSLOT(type, b, off) \
	(*(type const *)(const void *)((const char *)(b) + (off)))

static const char *
arena_add(mdt_token *tok, const char *s, size_t n)
{
	char *p = tok->arena + tok->arena_used;

	/* Cannot overflow: every string costs at least one header byte in
	 * the binary form, which is what sizes the arena. */
	memcpy(p, s, n);
	p[n] = '\0';
	tok->arena_used += n + 1;
	return p;
}

static int
rd_str(mdt__mp_reader *r, const mdt__mp_field *f, void *ctx)
{
	dctx *c = ctx;
	size_t max = f->key == MDT_TOKEN_FIELD_HOLDER ? MDT__TOK_HOLDER_MAX :
	    MDT_TOKEN_STR_MAX;
	const char *s;
	size_t n;
	int rc = mdt__mp_read_str(r, &s, &n, max);

	if (rc != 0)
		return rc;
	if (n == 0)
		return mdt__mp_fail(r, -MDT_EDECODE, "empty string");
	*SLOT(const char *, c->b, f->arg) = arena_add(c->tok, s, n);
	return 0;
}

size_t
mdt__tok_bin_len(unsigned key)
{
	return key == MDT_TOKEN_FIELD_KEY_ID ? MDT_KEY_ID_BYTES :
	    key == MDT_TOKEN_FIELD_NONCE ? MDT_TOKEN_NONCE_BYTES :
	    MDT_KEY_PUBLIC_BYTES;
}

/* A fixed-length byte string: key id, a public key or the nonce. */
static int
rd_key(mdt__mp_reader *r, const mdt__mp_field *f, void *ctx)
{
	dctx *c = ctx;

	return mdt__mp_read_bin_fixed(r, SLOT(const uint8_t *, c->b, f->arg),
	    mdt__tok_bin_len(f->key));
}

static int
rd_u32(mdt__mp_reader *r, const mdt__mp_field *f, void *ctx)
{
	dctx *c = ctx;
	uint64_t v;
	int rc = mdt__mp_read_uint(r, &v);

	if (rc != 0)
		return rc;
	if (v > UINT32_MAX)
		return mdt__mp_fail(r, -MDT_ETOOBIG, "value out of range");
	*SLOT(uint32_t, c->b, f->arg) = (uint32_t)v;
	return 0;
}

static int
rd_time(mdt__mp_reader *r, const mdt__mp_field *f, void *ctx)
{
	dctx *c = ctx;
	uint64_t v;
	int rc = mdt__mp_read_uint(r, &v);

	if (rc != 0)
		return rc;
	if (v > INT64_MAX)
		return mdt__mp_fail(r, -MDT_EDECODE, "time out of range");
	*SLOT(int64_t, c->b, f->arg) = (int64_t)v;
	return 0;
}

/* A flag (sealed, broker): `true`, since a false one is omitted. */
static int
rd_true(mdt__mp_reader *r, const mdt__mp_field *f, void *ctx)
{
	dctx *c = ctx;
	int v;
	int rc = mdt__mp_read_bool(r, &v);

	if (rc != 0)
		return rc;
	if (!v) /* canonical: absent rather than false */
		return mdt__mp_fail(r, -MDT_EDECODE, "%s is false",
		    mdt__tok_field_name(f->key));
	*SLOT(int, c->b, f->arg) = 1;
	return 0;
}

/* Byte order of two texts, a prefix first (strcmp's order). */
static int
text_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	return c != 0 ? c : (an > bn) - (an < bn);
}

/*
 * Canonical scope list: every entry parses, and the list equals the
 * scope module's canonical text of the set (mdt_scope_set_format: each
 * scope's canonical text, sorted by byte order).  With no entry merged
 * into another (count), set scope i is entry i, so this holds exactly
 * when each entry is its scope's canonical text and the entries ascend
 * strictly; checked so, without formatting the whole set.
 */
static int
check_scopes_canonical(mdt__mp_reader *r, const mdt_scope_set *set,
    const char *const *s, const size_t *n, size_t count)
{
	char text[MDT_SCOPE_TEXT_MAX + 1];
	int rc;

	if (mdt_scope_set_count(set) != count)
		return mdt__mp_fail(r, -MDT_EDECODE,
		    "scope list repeats a scope");
	for (size_t i = 0; i < count; i++) {
		if ((rc = mdt_scope_set_get(set, i, text, sizeof(text))) != 0)
			return mdt__mp_fail(r, rc, "scope %zu cannot be written",
			    i);
		if (strlen(text) != n[i] || memcmp(text, s[i], n[i]) != 0 ||
		    (i > 0 && text_cmp(s[i - 1], n[i - 1], s[i], n[i]) >= 0))
			return mdt__mp_fail(r, -MDT_EDECODE,
			    "scope %zu not in canonical form or order", i);
	}
	return 0;
}

static int
read_scope_list(mdt__mp_reader *r, mdt_scope_set *set, size_t count)
{
	const char *s[MDT_SCOPE_SET_MAX];
	size_t n[MDT_SCOPE_SET_MAX];
	char err[MDT_ERRMSG_MAX];
	int rc;

	for (size_t i = 0; i < count; i++) {
		if ((rc = mdt__mp_read_str(r, &s[i], &n[i],
		    MDT_SCOPE_TEXT_MAX)) != 0)
			return rc;
		if ((rc = mdt_scope_set_add(set, s[i], n[i], err,
		    sizeof(err))) != 0)
			return mdt__mp_fail(r, rc == -MDT_ENOMEM ? rc :
			    -MDT_EPARSE, "scope %zu: %s", i, err);
	}
	mdt__mp_leave(r);
	return check_scopes_canonical(r, set, s, n, count);
}

static int
rd_scopes(mdt__mp_reader *r, const mdt__mp_field *f, void *ctx)
{
	dctx *c = ctx;
	size_t count;
	int rc;

	(void)f;
	if ((rc = mdt__mp_read_array(r, &count, MDT_SCOPE_SET_MAX)) != 0)
		return rc;
	if ((rc = mdt_scope_set_new(&c->b->scopes)) != 0)
		return rc;
	return read_scope_list(r, c->b->scopes, count);
}

#define F(key, rd, member) \
	{MDT_TOKEN_FIELD_##key, #member, rd, offsetof(mdt__tok_block, member)}

static const mdt__mp_field block_fields[] = {
	F(VERSION, rd_u32, version),
	F(KEY_ID, rd_key, kid),
	F(TASK, rd_str, task),
	F(PARENT_TASK, rd_str, parent),
	F(ISSUED_AT, rd_time, iat),
	F(EXPIRES_AT, rd_time, exp),
	F(HOLDER, rd_str, holder),
	F(HOLDER_KEY, rd_key, holder_key),
	F(CLINICIAN, rd_str, clinician),
	F(PATIENT, rd_str, patient),
	F(PURPOSE, rd_str, purpose),
	F(SCOPES, rd_scopes, scopes),
	F(DEPTH, rd_u32, depth),
	F(AUDIENCE, rd_str, audience),
	F(RESOURCE, rd_str, resource),
	F(NEXT_KEY, rd_key, next_key),
	F(SEALED, rd_true, sealed),
	F(NONCE, rd_key, nonce),
	F(BROKER, rd_true, broker),
};

/* ---------------------------------------------------- per-block rules */

int
mdt__tok_purpose_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MDT__TOK_PURPOSE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return 0;
	return 1;
}

static int
first_bit(unsigned mask)
{
	for (int k = 0; k < 32; k++)
		if (mask & (1u << k))
			return k;
	return -1;
}

static int
check_presence(const mdt__tok_block *b, size_t i, size_t nblocks,
    mdt_token_reason *why)
{
	unsigned missing = MDT__TOK_B0_REQUIRED & ~b->has;
	unsigned extra = MDT__TOK_B0_ONLY & b->has;
	int bi = (int)i;

	if (i == 0 && missing != 0)
		return mdt__tok_fail(why, -MDT_EDECODE, bi,
		    "block 0: required field %s missing",
		    mdt__tok_field_name((unsigned)first_bit(missing)));
	if (i == 0 && (b->has & MDT__TOK_BN_ONLY))
		return mdt__tok_fail(why, -MDT_EDECODE, 0,
		    "block 0: field %s may only appear in later blocks",
		    mdt__tok_field_name((unsigned)first_bit(b->has &
		    MDT__TOK_BN_ONLY)));
	if (i > 0 && extra != 0)
		return mdt__tok_fail(why, -MDT_EDECODE, bi,
		    "block %zu: field %s may only appear in block 0", i,
		    mdt__tok_field_name((unsigned)first_bit(extra)));
	if (!(b->has & MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER)) !=
	    !(b->has & MDT_TOKEN_F(MDT_TOKEN_FIELD_HOLDER_KEY)))
		return mdt__tok_fail(why, -MDT_EDECODE, bi,
		    "block %zu: holder and holder_key must come together", i);
	if (b->sealed == (b->next_key != NULL))
		return mdt__tok_fail(why, -MDT_EDECODE, bi,
		    "block %zu: exactly one of next_key and sealed", i);
	if (b->sealed && i + 1 != nblocks)
		return mdt__tok_fail(why, -MDT_ESEALED, bi,
		    "block %zu is sealed but not the last block", i);
	return 0;
}

static int
check_values(const mdt__tok_block *b, size_t i, mdt_token_reason *why)
{
	char err[MDT_ERRMSG_MAX];
	int bi = (int)i;

	if (i == 0 && b->version != MDT_TOKEN_VERSION)
		return mdt__tok_fail(why, -MDT_EVERSION, 0,
		    "block 0: version %u not supported", b->version);
	if (i == 0 && b->depth > MDT_TOKEN_DEPTH_MAX)
		return mdt__tok_fail(why, -MDT_ETOOBIG, 0,
		    "block 0: depth %u above %d", b->depth, MDT_TOKEN_DEPTH_MAX);
	if (i == 0 && b->exp <= b->iat)
		return mdt__tok_fail(why, -MDT_EDECODE, 0,
		    "block 0: expires_at not after issued_at");
	if (b->purpose != NULL && !mdt__tok_purpose_ok(b->purpose))
		return mdt__tok_fail(why, -MDT_EPARSE, bi,
		    "block %zu: purpose is not a PurposeOfUse code", i);
	if (b->holder != NULL &&
	    mdt_spiffe_validate(b->holder, strlen(b->holder), err,
	    sizeof(err)) != 0)
		return mdt__tok_fail(why, -MDT_EPARSE, bi,
		    "block %zu: holder: %s", i, err);
	return 0;
}

/* ------------------------------------------------------------ blocks */

static int
decode_block(mdt_token *tok, size_t i, mdt_token_reason *why)
{
	mdt__tok_block *b = &tok->blocks[i];
	mdt__mp_reader r;
	dctx c = {tok, b};
	uint64_t seen = 0;
	int rc;

	mdt__mp_reader_init(&r, b->raw, b->raw_len);
	rc = mdt__mp_read_fields(&r, block_fields,
	    sizeof(block_fields) / sizeof(block_fields[0]), &c, &seen);
	if (rc == 0)
		rc = mdt__mp_read_end(&r);
	if (rc != 0)
		return mdt__tok_fail(why, rc, (int)i, "block %zu: %s", i, r.err);
	b->has = (unsigned)seen;
	if ((rc = check_presence(b, i, tok->nblocks, why)) != 0)
		return rc;
	return check_values(b, i, why);
}

/* Effective values: the fold that accessors and checks read. */
static void
fold(mdt_token *tok)
{
	const mdt__tok_block *b0 = &tok->blocks[0];

	tok->ntasks = 0;
	if (b0->parent != NULL)
		tok->tasks[tok->ntasks++] = b0->parent;
	tok->has_parent = b0->parent != NULL;
	tok->exp = INT64_MAX;
	tok->depth = b0->depth;
	for (size_t i = 0; i < tok->nblocks; i++) {
		const mdt__tok_block *b = &tok->blocks[i];

		if (b->task != NULL)
			tok->tasks[tok->ntasks++] = b->task;
		if (b->holder != NULL) {
			tok->holder = b->holder;
			tok->holder_key = b->holder_key;
		}
		if ((b->has & MDT_TOKEN_F(MDT_TOKEN_FIELD_EXPIRES_AT)) &&
		    b->exp < tok->exp) {
			tok->exp = b->exp;
			tok->exp_block = (int)i;
		}
		if ((b->has & MDT_TOKEN_F(MDT_TOKEN_FIELD_DEPTH)) &&
		    b->depth < tok->depth)
			tok->depth = b->depth;
		if (tok->audience == NULL)
			tok->audience = b->audience;
		if (tok->resource == NULL)
			tok->resource = b->resource;
	}
	tok->sealed = tok->blocks[tok->nblocks - 1].sealed;
}

/* ---------------------------------------------------------- envelope */

static int
rd_env_version(mdt__mp_reader *r, const mdt__mp_field *f, void *ctx)
{
	uint64_t v;
	int rc = mdt__mp_read_uint(r, &v);

	(void)f;
	(void)ctx;
	if (rc != 0)
		return rc;
	if (v != MDT_TOKEN_VERSION)
		return mdt__mp_fail(r, -MDT_EVERSION,
		    "token version %llu not supported", (unsigned long long)v);
	return 0;
}

static int
rd_env_blocks(mdt__mp_reader *r, const mdt__mp_field *f, void *ctx)
{
	dctx *c = ctx;
	size_t n, two;
	int rc;

	(void)f;
	if ((rc = mdt__mp_read_array(r, &n, MDT_TOKEN_BLOCKS_MAX)) != 0)
		return rc;
	if (n == 0)
		return mdt__mp_fail(r, -MDT_EDECODE, "no blocks");
	for (size_t i = 0; i < n; i++) {
		mdt__tok_block *b = &c->tok->blocks[i];

		memset(b, 0, sizeof(*b));
		if ((rc = mdt__mp_read_array(r, &two, 2)) != 0)
			return rc;
		if (two != 2)
			return mdt__mp_fail(r, -MDT_EDECODE,
			    "block %zu: [bytes, signature] expected", i);
		if ((rc = mdt__mp_read_bin(r, &b->raw, &b->raw_len,
		    MDT_TOKEN_BLOCK_BYTES_MAX)) != 0 ||
		    (rc = mdt__mp_read_bin_fixed(r, &b->sig,
		    MDT_KEY_SIG_BYTES)) != 0)
			return mdt__mp_fail(r, rc, "block %zu", i);
		mdt__mp_leave(r);
	}
	mdt__mp_leave(r);
	c->tok->nblocks = n;
	return 0;
}

static int
rd_env_proof(mdt__mp_reader *r, const mdt__mp_field *f, void *ctx)
{
	dctx *c = ctx;

	(void)f;
	return mdt__mp_read_bin_fixed(r, &c->tok->proof, MDT_KEY_SEED_BYTES);
}

static const mdt__mp_field env_fields[] = {
	{MDT__TOK_ENV_VERSION, "version", rd_env_version, 0},
	{MDT__TOK_ENV_BLOCKS, "blocks", rd_env_blocks, 0},
	{MDT__TOK_ENV_PROOF, "proof", rd_env_proof, 0},
};

static int
decode_envelope(mdt_token *tok, mdt_token_reason *why)
{
	mdt__mp_reader r;
	dctx c = {tok, NULL};
	uint64_t seen = 0;
	const uint64_t need = (1u << MDT__TOK_ENV_VERSION) |
	    (1u << MDT__TOK_ENV_BLOCKS);
	int rc;

	mdt__mp_reader_init(&r, tok->enc, tok->enc_len);
	rc = mdt__mp_read_fields(&r, env_fields,
	    sizeof(env_fields) / sizeof(env_fields[0]), &c, &seen);
	if (rc == 0)
		rc = mdt__mp_read_end(&r);
	if (rc != 0)
		return mdt__tok_fail(why, rc, -1, "token: %s", r.err);
	if ((seen & need) != need)
		return mdt__tok_fail(why, -MDT_EDECODE, -1,
		    "token: version or blocks missing");
	return 0;
}

int
mdt__tok_alloc(size_t cap, mdt_token **out)
{
	mdt_token *tok;

	if (cap == 0 || cap > MDT_TOKEN_BYTES_MAX)
		return -MDT_EINVAL;
	if ((tok = mdt__malloc(sizeof(*tok) + 2 * cap)) == NULL)
		return -MDT_ENOMEM;
	memset(tok, 0, offsetof(mdt_token, blocks));
	tok->mem = (uint8_t *)tok + sizeof(*tok);
	tok->mem_len = 2 * cap;
	*out = tok;
	return 0;
}

/* ------------------------------------------------ blocks of a prefix */

/*
 * Decoding is a function of a block's bytes and its index (and, through
 * check_presence only, of the block count), so a block whose bytes and
 * signature equal those of a decoded token's block at the same index
 * decodes to that block: copy it, repointing what points into its bytes
 * and the arena, and owning a copy of its scopes.
 */
static int
same_block(const mdt_token *tok, size_t i, const mdt_token *prefix)
{
	const mdt__tok_block *a = &tok->blocks[i], *b;

	if (prefix == NULL || i >= prefix->nblocks)
		return 0;
	b = &prefix->blocks[i];
	return a->raw_len == b->raw_len &&
	    memcmp(a->raw, b->raw, a->raw_len) == 0 &&
	    memcmp(a->sig, b->sig, MDT_KEY_SIG_BYTES) == 0;
}

static void
copy_pointers(mdt_token *tok, mdt__tok_block *b, const mdt__tok_block *src)
{
	for (size_t k = 0; k < sizeof(block_fields) / sizeof(block_fields[0]);
	    k++) {
		const mdt__mp_field *f = &block_fields[k];
		const uint8_t *from;
		const char *sfrom;

		if (f->read == rd_key &&
		    (from = CSLOT(const uint8_t *, src, f->arg)) != NULL)
			*SLOT(const uint8_t *, b, f->arg) =
			    b->raw + (from - src->raw);
		else if (f->read == rd_str &&
		    (sfrom = CSLOT(const char *, src, f->arg)) != NULL)
			*SLOT(const char *, b, f->arg) = arena_add(tok, sfrom,
			    strlen(sfrom));
	}
}

static int
copy_block(mdt_token *tok, size_t i, const mdt_token *prefix,
    mdt_token_reason *why)
{
	mdt__tok_block *b = &tok->blocks[i];
	const mdt__tok_block *src = &prefix->blocks[i];
	mdt__tok_block own = *b; /* raw, raw_len, sig from the envelope */
	int rc;

	*b = *src;
	b->raw = own.raw;
	b->raw_len = own.raw_len;
	b->sig = own.sig;
	b->scopes = NULL;
	copy_pointers(tok, b, src);
	if (src->scopes != NULL &&
	    (rc = mdt_scope_set_dup(src->scopes, &b->scopes)) != 0)
		return mdt__tok_fail(why, rc, (int)i, "out of memory");
	return check_presence(b, i, tok->nblocks, why);
}

/* Decodes the blocks (copying those prefix has) and folds. */
static int
decode_blocks(mdt_token *tok, const mdt_token *prefix, mdt_token_reason *why)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < tok->nblocks; i++)
		rc = same_block(tok, i, prefix) ?
		    copy_block(tok, i, prefix, why) : decode_block(tok, i, why);
	if (rc == 0 && (tok->proof == NULL) != tok->blocks[tok->nblocks - 1].sealed)
		rc = mdt__tok_fail(why, -MDT_EDECODE, (int)tok->nblocks - 1,
		    tok->proof == NULL ? "unsealed token without its secret" :
		    "sealed token carries a secret");
	if (rc == 0)
		fold(tok);
	return rc;
}

int
mdt__tok_decode_into(mdt_token *tok, size_t len, const mdt_token *prefix,
    mdt_token_reason *why)
{
	int rc;

	if (len == 0 || len > tok->mem_len / 2) {
		mdt_token_free(tok);
		return mdt__tok_fail(why, -MDT_EINVAL, -1, "no token bytes");
	}
	/* Cannot overflow: every string costs at least one header byte in
	 * the binary form, so len bytes of arena hold them all. */
	tok->enc = tok->mem;
	tok->enc_len = len;
	tok->arena = (char *)tok->mem + len;
	tok->arena_cap = tok->mem_len - len;
	if ((rc = decode_envelope(tok, why)) != 0 ||
	    (rc = decode_blocks(tok, prefix, why)) != 0) {
		mdt_token_free(tok);
		return rc;
	}
	mdt__tok_hash_id(tok->enc, tok->enc_len, tok->id);
	mdt__tok_ok(why);
	return 0;
}

int
mdt__tok_decode(const uint8_t *buf, size_t len, mdt_token **out,
    mdt_token_reason *why)
{
	mdt_token *tok;
	int rc;

	if (buf == NULL || out == NULL || len == 0)
		return mdt__tok_fail(why, -MDT_EINVAL, -1, "no token bytes");
	if (len > MDT_TOKEN_BYTES_MAX)
		return mdt__tok_fail(why, -MDT_ETOOBIG, -1,
		    "token of %zu bytes exceeds %d", len, MDT_TOKEN_BYTES_MAX);
	if ((rc = mdt__tok_alloc(len, &tok)) != 0)
		return mdt__tok_fail(why, rc, -1, "out of memory");
	memcpy(tok->mem, buf, len);
	if ((rc = mdt__tok_decode_into(tok, len, NULL, why)) != 0)
		return rc;
	*out = tok;
	return 0;
}

int
mdt_token_decode(const uint8_t *buf, size_t len, mdt_token **out,
    mdt_token_reason *why)
{
	return mdt__tok_decode(buf, len, out, why);
}

int
mdt_token_decode_text(const char *text, size_t len, mdt_token **out,
    mdt_token_reason *why)
{
	size_t pre = sizeof(MDT_TOKEN_TEXT_PREFIX) - 1, n, cap;
	uint8_t *bin;
	int rc;

	if (text == NULL || out == NULL)
		return mdt__tok_fail(why, -MDT_EINVAL, -1, "no token text");
	if (len > MDT_TOKEN_TEXT_MAX)
		return mdt__tok_fail(why, -MDT_ETOOBIG, -1,
		    "token text of %zu bytes exceeds %d", len,
		    MDT_TOKEN_TEXT_MAX);
	if (len < pre || memcmp(text, MDT_TOKEN_TEXT_PREFIX, pre) != 0)
		return mdt__tok_fail(why, -MDT_EDECODE, -1,
		    "token text does not start with \"%s\"",
		    MDT_TOKEN_TEXT_PREFIX);
	cap = (len - pre) / 4 * 3 + 3;
	if ((bin = mdt__malloc(cap)) == NULL)
		return mdt__tok_fail(why, -MDT_ENOMEM, -1, "out of memory");
	if (mdt__b64url_decode(text + pre, len - pre, bin, cap, &n) != 0)
		rc = mdt__tok_fail(why, -MDT_EDECODE, -1,
		    "token text is not canonical base64url after \"%s\"",
		    MDT_TOKEN_TEXT_PREFIX);
	else
		rc = mdt__tok_decode(bin, n, out, why);
	/* The binary form may carry the token's secret. */
	sodium_memzero(bin, cap);
	mdt__free(bin);
	return rc;
}

void
mdt_token_free(mdt_token *tok)
{
	if (tok == NULL)
		return;
	for (size_t i = 0; i < tok->nblocks; i++)
		mdt_scope_set_free(tok->blocks[i].scopes);
	sodium_memzero(tok->mem, tok->mem_len); /* may hold the secret */
	mdt__free(tok);
}

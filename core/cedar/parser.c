/*
 * Cedar policy-set parser: token helpers shared with parser_expr.c,
 * annotations, effects, scope constraints (principal/action/resource with
 * ==, in, is, is ... in and action in [...]), when/unless clauses, and the
 * policy-id rule (@id annotation, else "policyN" by position).
 */
#include <stdio.h>
#include <string.h>

#include "alloc_int.h"
#include "cedar/parse_int.h"

void
cp_next(cedar_parser *p)
{
	if (p->has_peek) {
		p->tok = p->peek;
		p->has_peek = 0;
	} else {
		p->tok = cedar_lex_next(&p->lx);
	}
}

cedar_token
cp_peek(cedar_parser *p)
{
	if (!p->has_peek) {
		p->peek = cedar_lex_next(&p->lx);
		p->has_peek = 1;
	}
	return p->peek;
}

int
cp_error_at(cedar_parser *p, size_t off, const char *msg)
{
	uint32_t line, col;

	if (p->failed)
		return -1;
	p->failed = 1;
	cedar_line_col(p->lx.text, off, &line, &col);
	snprintf(p->err, p->errlen, "%s:%u:%u: %s", p->name, line, col, msg);
	return -1;
}

int
cp_expected(cedar_parser *p, const char *what)
{
	char msg[160];
	const cedar_token *t = &p->tok;

	if (t->kind == T_ERR && p->lx.errmsg != NULL)
		return cp_error_at(p, t->off, p->lx.errmsg);
	if (t->kind == T_IDENT || t->kind == T_INT)
		snprintf(msg, sizeof(msg), "expected %s, found '%.*s'", what,
		    (int)(t->len > 40 ? 40 : t->len), p->lx.text + t->off);
	else
		snprintf(msg, sizeof(msg), "expected %s, found %s", what,
		    cedar_tok_name(t->kind));
	return cp_error_at(p, t->off, msg);
}

int
cp_expect(cedar_parser *p, cedar_tok t, const char *what)
{
	if (p->tok.kind != t)
		return cp_expected(p, what);
	cp_next(p);
	return 0;
}

cedar_str
cp_ident(cedar_parser *p)
{
	char *s = cedar_arena_dup(p->a, p->lx.text + p->tok.off, p->tok.len);

	if (s == NULL) {
		cp_error_at(p, p->tok.off, "out of memory");
		return cedar_cstr("", 0);
	}
	return cedar_cstr(s, p->tok.len);
}

int
cp_list_sep(cedar_parser *p, cedar_tok close, const char *what)
{
	if (p->tok.kind == T_COMMA) {
		cp_next(p);
		return 0;
	}
	return p->tok.kind == close ? 0 : cp_expected(p, what);
}

int
cp_is_ident(const cedar_parser *p, const char *word)
{
	size_t n = strlen(word);

	return p->tok.kind == T_IDENT && p->tok.len == n &&
	    memcmp(p->lx.text + p->tok.off, word, n) == 0;
}

int
cp_string(cedar_parser *p, cedar_str *out)
{
	size_t bad = 0;
	int rc = cedar_unescape(p->a, p->lx.text + p->tok.off, p->tok.len, out,
	    &bad);

	if (rc != 0)
		return cp_error_at(p, p->tok.off + bad, rc == -1 ?
		    "invalid escape sequence in string" : "out of memory");
	cp_next(p);
	return 0;
}

/* Words Cedar reserves: never an attribute, record key or name part. */
static const char *const reserved[] = {
	"true", "false", "if", "then", "else", "in", "is", "like", "has",
};

const char *
cedar_ident_reserved(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strlen(reserved[i]) == n && memcmp(reserved[i], s, n) == 0)
			return "this identifier is reserved and cannot be used";
	if (n == 7 && memcmp(s, "__cedar", 7) == 0)
		return "the name `__cedar` is reserved";
	return NULL;
}

int
cp_check_ident(cedar_parser *p, size_t off, const char *s, size_t n)
{
	char msg[128];
	const char *why = cedar_ident_reserved(s, n);

	if (why == NULL)
		return 0;
	snprintf(msg, sizeof(msg), "%s: %.*s", why, (int)n, s);
	return cp_error_at(p, off, msg);
}

static int
ident_char(unsigned char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    (!first && c >= '0' && c <= '9');
}

const char *
cedar_type_name_check(cedar_str t)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;
		const char *why;
		while (i < t.n && ident_char((unsigned char)t.p[i], i == start))
			i++;
		if (i == start)
			return "entity type is not a Cedar name";
		if ((why = cedar_ident_reserved(t.p + start, i - start)) != NULL)
			return why;
		if (i == t.n)
			return NULL;
		if (t.n - i < 2 || t.p[i] != ':' || t.p[i + 1] != ':')
			return "entity type is not a Cedar name";
		i += 2;
	}
}

int
cp_path(cedar_parser *p, cedar_str *out)
{
	char buf[1024];
	size_t n = 0;

	for (;;) {
		if (p->tok.kind != T_IDENT)
			return cp_expected(p, "type name");
		if (n + p->tok.len + 2 > sizeof(buf))
			return cp_error_at(p, p->tok.off, "type name too long");
		if (cp_check_ident(p, p->tok.off, p->lx.text + p->tok.off,
		    p->tok.len) != 0)
			return -1;
		memcpy(buf + n, p->lx.text + p->tok.off, p->tok.len);
		n += p->tok.len;
		cp_next(p);
		if (p->tok.kind != T_COLONCOLON || cp_peek(p).kind != T_IDENT)
			break;
		memcpy(buf + n, "::", 2);
		n += 2;
		cp_next(p);
	}
	if ((out->p = cedar_arena_dup(p->a, buf, n)) == NULL)
		return cp_error_at(p, p->tok.off, "out of memory");
	out->n = n;
	return 0;
}

int
cp_entity_ref(cedar_parser *p, cedar_uid *out)
{
	if (cp_path(p, &out->type) != 0 ||
	    cp_expect(p, T_COLONCOLON, "'::' and an entity id") != 0)
		return -1;
	if (p->tok.kind != T_STR)
		return cp_expected(p, "entity id string");
	return cp_string(p, &out->id);
}

/* A scratch array of n items with room for one more: items itself, or a
 * larger copy (the old one freed); NULL when out of memory (items kept). */
static void *
room(cedar_parser *p, void *items, size_t n, size_t *cap, size_t size)
{
	void *ni;

	if (n < *cap)
		return items;
	if ((ni = mdt__realloc(items, (*cap == 0 ? 8 : *cap * 2) * size)) == NULL)
		return cp_error_at(p, p->tok.off, "out of memory"), NULL;
	*cap = *cap == 0 ? 8 : *cap * 2;
	return ni;
}

/* The n items of a scratch array, copied into the arena. */
static void *
to_arena(cedar_parser *p, const void *items, size_t n, size_t size)
{
	void *v = cedar_arena_alloc(p->a, (n + 1) * size);

	if (v == NULL)
		return cp_error_at(p, p->tok.off, "out of memory"), NULL;
	if (n > 0)
		memcpy(v, items, n * size);
	return v;
}

/* ---- scope ---- */

static int
entity_list(cedar_parser *p, cedar_scope *sc)
{
	cedar_uid *items = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	cp_next(p);
	while (rc == 0 && p->tok.kind != T_RBRACKET) {
		cedar_uid *ni = room(p, items, n, &cap, sizeof(*items));
		if (ni == NULL)
			rc = -1;
		else if ((rc = cp_entity_ref(p, &(items = ni)[n++])) == 0)
			rc = cp_list_sep(p, T_RBRACKET, "',' or ']'");
	}
	if (rc == 0) {
		cp_next(p);
		if ((sc->list = to_arena(p, items, n, sizeof(*items))) == NULL)
			rc = -1;
	}
	sc->nlist = n;
	sc->kind = SC_IN_LIST;
	mdt__free(items);
	return rc;
}

/* Cedar requires actions in the scope to be of type Action, possibly
 * namespaced (`NS::Action`). */
static int
action_type_ok(cedar_parser *p, const cedar_uid *u, size_t off)
{
	char msg[160];
	const cedar_str t = u->type;

	if (cedar_str_eq(t, cedar_cstr("Action", 6)) || (t.n > 8 &&
	    memcmp(t.p + t.n - 8, "::Action", 8) == 0))
		return 0;
	snprintf(msg, sizeof(msg), "expected an entity uid with type `Action` "
	    "but got `%.*s::\"%.*s\"`", (int)(t.n > 40 ? 40 : t.n), t.p,
	    (int)(u->id.n > 40 ? 40 : u->id.n), u->id.p);
	return cp_error_at(p, off, msg);
}

static int
scope_target(cedar_parser *p, cedar_scope *sc, int is_action)
{
	size_t off = p->tok.off;

	if (p->tok.kind == T_QUESTION)
		return cp_error_at(p, off, "template slots are not "
		    "supported (policy templates are not implemented yet)");
	if (is_action && p->tok.kind == T_LBRACKET && sc->kind == SC_IN) {
		if (entity_list(p, sc) != 0)
			return -1;
		for (size_t i = 0; i < sc->nlist; i++)
			if (action_type_ok(p, &sc->list[i], off) != 0)
				return -1;
		return 0;
	}
	if (cp_entity_ref(p, &sc->uid) != 0)
		return -1;
	return is_action ? action_type_ok(p, &sc->uid, off) : 0;
}

static int
scope(cedar_parser *p, const char *var, cedar_scope *sc)
{
	int is_action = var[0] == 'a';

	memset(sc, 0, sizeof(*sc));
	if (!cp_is_ident(p, var)) {
		char what[32];
		snprintf(what, sizeof(what), "'%s'", var);
		return cp_expected(p, what);
	}
	cp_next(p);
	if (p->tok.kind == T_EQ) {
		cp_next(p);
		sc->kind = SC_EQ;
		return scope_target(p, sc, is_action);
	}
	if (cp_is_ident(p, "in")) {
		cp_next(p);
		sc->kind = SC_IN;
		return scope_target(p, sc, is_action);
	}
	if (cp_is_ident(p, "is") && !is_action) {
		cp_next(p);
		sc->kind = SC_IS;
		if (cp_path(p, &sc->type) != 0)
			return -1;
		if (!cp_is_ident(p, "in"))
			return 0;
		cp_next(p);
		sc->kind = SC_IS_IN;
		return scope_target(p, sc, 0);
	}
	return 0;
}

/* ---- annotations and policies ---- */

static int
annotation(cedar_parser *p, cedar_annot *items, size_t n)
{
	cedar_annot *an = &items[n];
	size_t off = p->tok.off;

	cp_next(p);
	if (p->tok.kind != T_IDENT)
		return cp_expected(p, "annotation name");
	an->key = cp_ident(p);
	an->has_value = 0;
	an->value = cedar_cstr("", 0);
	cp_next(p);
	if (p->tok.kind == T_LPAREN) {
		cp_next(p);
		if (p->tok.kind != T_STR)
			return cp_expected(p, "annotation value string");
		if (cp_string(p, &an->value) != 0 ||
		    cp_expect(p, T_RPAREN, "')'") != 0)
			return -1;
		an->has_value = 1;
	}
	for (size_t i = 0; i < n; i++)
		if (cedar_str_eq(items[i].key, an->key))
			return cp_error_at(p, off, "duplicate annotation");
	return 0;
}

static int
annotations(cedar_parser *p, cedar_policy *pol)
{
	cedar_annot *items = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	while (rc == 0 && p->tok.kind == T_AT) {
		cedar_annot *ni = room(p, items, n, &cap, sizeof(*items));
		if (ni == NULL)
			rc = -1;
		else if ((rc = annotation(p, items = ni, n)) == 0)
			n++;
	}
	if (rc == 0 && (pol->annots = to_arena(p, items, n, sizeof(*items))) == NULL)
		rc = -1;
	pol->nannots = n;
	mdt__free(items);
	return rc;
}

static int
clauses(cedar_parser *p, cedar_policy *pol)
{
	cedar_clause *items = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	while (rc == 0 && (cp_is_ident(p, "when") || cp_is_ident(p, "unless"))) {
		cedar_clause *ni = room(p, items, n, &cap, sizeof(*items));
		if (ni == NULL) {
			rc = -1;
			break;
		}
		items = ni;
		items[n].unless = cp_is_ident(p, "unless");
		cp_next(p);
		if (cp_expect(p, T_LBRACE, "'{'") != 0 ||
		    (items[n].expr = cp_expr(p)) == NULL ||
		    cp_expect(p, T_RBRACE, "'}'") != 0)
			rc = -1;
		n++;
	}
	if (rc == 0 && (pol->clauses = to_arena(p, items, n, sizeof(*items))) == NULL)
		rc = -1;
	pol->nclauses = n;
	mdt__free(items);
	return rc;
}

static int
effect(cedar_parser *p, cedar_policy *pol)
{
	if (cp_is_ident(p, "permit"))
		pol->forbid = 0;
	else if (cp_is_ident(p, "forbid"))
		pol->forbid = 1;
	else
		return cp_expected(p, "'permit' or 'forbid'");
	cp_next(p);
	return 0;
}

static int
policy(cedar_parser *p, cedar_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	if (annotations(p, pol) != 0 || effect(p, pol) != 0 ||
	    cp_expect(p, T_LPAREN, "'('") != 0 ||
	    scope(p, "principal", &pol->principal) != 0 ||
	    cp_expect(p, T_COMMA, "','") != 0 ||
	    scope(p, "action", &pol->action) != 0 ||
	    cp_expect(p, T_COMMA, "','") != 0 ||
	    scope(p, "resource", &pol->resource) != 0)
		return -1;
	if (p->tok.kind == T_COMMA)   /* Cedar allows a trailing comma */
		cp_next(p);
	if (cp_expect(p, T_RPAREN, "')'") != 0 || clauses(p, pol) != 0 ||
	    cp_expect(p, T_SEMI, "';'") != 0)
		return -1;
	return 0;
}

/* Id from @id unless the set uses positional ids; step-up marker. */
static int
finish_policy(cedar_parser *p, mdt_policy_set *set, cedar_policy *pol,
    size_t index, int positional)
{
	char buf[32];
	const char *id = NULL;

	for (size_t i = 0; i < pol->nannots; i++) {
		const cedar_annot *an = &pol->annots[i];
		if (!positional && cedar_str_eq(an->key, cedar_cstr("id", 2)))
			id = an->value.p;
		if (cedar_str_eq(an->key, cedar_cstr("step_up", 7))) {
			pol->step_up = 1;
			pol->approver = an->has_value ? an->value.p : NULL;
		}
	}
	if (id == NULL) {
		snprintf(buf, sizeof(buf), "policy%zu", index);
		if ((id = cedar_arena_dup(p->a, buf, strlen(buf))) == NULL)
			return cp_error_at(p, p->tok.off, "out of memory");
	}
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->pol[i].id, id) == 0)
			return cp_error_at(p, p->tok.off, "duplicate policy id");
	pol->id = id;
	return 0;
}

static int
grow(mdt_policy_set *set, size_t *cap)
{
	size_t ncap = *cap == 0 ? 16 : *cap * 2;
	cedar_policy *np;

	if (set->n < *cap)
		return 0;
	if (ncap > MDT_POLICY_COUNT_MAX)
		ncap = MDT_POLICY_COUNT_MAX;
	if (set->n >= ncap)
		return -MDT_ETOOBIG;
	if ((np = mdt__realloc(set->pol, ncap * sizeof(*np))) == NULL)
		return -MDT_ENOMEM;
	set->pol = np;
	*cap = ncap;
	return 0;
}

int
cedar_parse_policies(mdt_policy_set *set, const char *text, size_t len,
    const char *name, char *err, size_t errlen)
{
	cedar_parser p;
	size_t n0 = set->n, cap = set->cap;
	int rc = 0;

	memset(&p, 0, sizeof(p));
	cedar_lex_init(&p.lx, text, len);
	p.name = name;
	p.a = &set->arena;
	p.err = err;
	p.errlen = errlen;
	cp_next(&p);
	while (p.tok.kind != T_EOF) {
		if ((rc = grow(set, &cap)) != 0) {
			cp_error_at(&p, p.tok.off, rc == -MDT_ETOOBIG ?
			    "too many policies" : "out of memory");
			break;
		}
		set->cap = cap;
		if (policy(&p, &set->pol[set->n]) != 0 ||
		    finish_policy(&p, set, &set->pol[set->n], set->n,
		    set->positional_ids) != 0) {
			rc = -MDT_EPARSE;
			break;
		}
		set->n++;
	}
	set->cap = cap;
	if (rc != 0 || p.failed) {
		set->n = n0;
		return rc == 0 || rc == -MDT_EPARSE ? -MDT_EPARSE : rc;
	}
	return 0;
}

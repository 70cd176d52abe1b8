/*
 * Recursive-descent parser for Cedar expressions:
 *   Expr     ::= Or | 'if' Expr 'then' Expr 'else' Expr
 *   Or       ::= And {'||' And}
 *   And      ::= Relation {'&&' Relation}
 *   Relation ::= Add [RELOP Add | 'in' Add | 'has' Attr{.Attr}
 *                | 'like' PAT | 'is' Path ['in' Add]]
 *   Add      ::= Mult {('+'|'-') Mult}
 *   Mult     ::= Unary {'*' Unary}
 *   Unary    ::= ('!'{1,4} | '-'{1,4})? Member
 *   Member   ::= Primary {'.' IDENT ['(' args ')'] | '[' STR ']'}
 *   Primary  ::= INT | STR | true | false | Var | Path '::' STR
 *              | Path '(' args ')' | '(' Expr ')' | '[' args ']'
 *              | '{' [key ':' Expr {',' key ':' Expr}] '}'
 * Template slots (?principal, ?resource) are rejected: templates are not
 * supported yet.
 */
#include <string.h>

#include "alloc_int.h"
#include "cedar/parse_int.h"

static cedar_expr *
node(cedar_parser *p, cedar_expr_kind k, size_t off)
{
	cedar_expr *e = cedar_arena_alloc(p->a, sizeof(*e));

	(void)off;
	if (e == NULL) {
		cp_error_at(p, p->tok.off, "out of memory");
		return NULL;
	}
	memset(e, 0, sizeof(*e));
	e->kind = k;
	e->height = 1;
	return e;
}

/* Links children and enforces the nesting bound (evaluation recurses). */
static cedar_expr *
tie(cedar_parser *p, cedar_expr *e, cedar_expr *a, cedar_expr *b,
    cedar_expr *c, size_t off)
{
	cedar_expr *kids[3] = {a, b, c};

	if (e == NULL)
		return NULL;
	e->a = a;
	e->b = b;
	e->c = c;
	for (int i = 0; i < 3; i++)
		if (kids[i] != NULL && kids[i]->height + 1 > e->height)
			e->height = kids[i]->height + 1;
	/* `a.b.c...` is a flat chain too: the evaluator follows it in a loop,
	 * so each access is not a level of nesting. */
	if (e->kind == EX_ATTR && a != NULL && a->kind == EX_ATTR)
		e->height = a->height;
	if (e->height > MDT_POLICY_NEST_MAX) {
		cp_error_at(p, off, "expression nested too deeply");
		return NULL;
	}
	return e;
}

/* Operands of a flat chain or the items of a list, gathered before they
 * move to the arena (lists and chains have no length limit of their own). */
typedef struct chain {
	cedar_expr **v;
	int *ops;
	size_t n, cap;
	uint32_t height;
} chain;

static int
chain_push(cedar_parser *p, chain *c, cedar_expr *e, int op)
{
	if (c->n == c->cap) {
		size_t ncap = c->cap == 0 ? 16 : c->cap * 2;
		cedar_expr **nv = mdt__realloc(c->v, ncap * sizeof(*nv));
		int *no = nv == NULL ? NULL : mdt__realloc(c->ops, ncap * sizeof(*no));
		if (nv != NULL)
			c->v = nv;
		if (no == NULL)
			return cp_error_at(p, p->tok.off, "out of memory");
		c->ops = no;
		c->cap = ncap;
	}
	c->v[c->n] = e;
	c->ops[c->n++] = op;
	if (e->height > c->height)
		c->height = e->height;
	return 0;
}

static cedar_expr *unary(cedar_parser *p);
static cedar_expr *add(cedar_parser *p);

static void
chain_free(chain *c)
{
	mdt__free(c->v);
	mdt__free(c->ops);
}

/* The items of c, copied into the arena (NULL when out of memory). */
static cedar_expr **
chain_items(cedar_parser *p, const chain *c)
{
	cedar_expr **v = cedar_arena_alloc(p->a, (c->n + 1) * sizeof(*v));

	if (v == NULL)
		return cp_error_at(p, p->tok.off, "out of memory"), NULL;
	if (c->n > 0)
		memcpy(v, c->v, c->n * sizeof(*v));
	return v;
}

/* '(' [Expr {',' Expr}] ')' or '[' ... ']' (closing token given). */
static int
expr_list(cedar_parser *p, cedar_tok close, cedar_expr ***out, size_t *n,
    uint32_t *height)
{
	chain c = {NULL, NULL, 0, 0, 0};
	cedar_expr *e;
	int rc = -1;

	cp_next(p);
	while (p->tok.kind != close) {
		if ((e = cp_expr(p)) == NULL || chain_push(p, &c, e, 0) != 0 ||
		    cp_list_sep(p, close, "',' or closing bracket") != 0)
			goto out;
	}
	cp_next(p);
	if ((*out = chain_items(p, &c)) != NULL) {
		*n = c.n;
		*height = c.height;
		rc = 0;
	}
out:
	chain_free(&c);
	return rc;
}

static cedar_expr *
with_list(cedar_parser *p, cedar_expr *e, cedar_tok close, size_t off)
{
	uint32_t h;

	if (e == NULL || expr_list(p, close, &e->args, &e->nargs, &h) != 0)
		return NULL;
	e->height = h + 1;
	return tie(p, e, e->a, NULL, NULL, off);
}

/* A set or record literal whose elements are all literals becomes one
 * value, built once in the policy set's arena instead of per request. */
static cedar_expr *
fold_literal(cedar_parser *p, cedar_expr *e)
{
	cedar_value *v;
	cedar_field *f;

	if (e == NULL)
		return NULL;
	for (size_t i = 0; i < e->nargs; i++)
		if (e->args[i]->kind != EX_LIT)
			return e;
	if (e->kind == EX_SET) {
		if ((v = cedar_arena_alloc(p->a, (e->nargs + 1) * sizeof(*v))) == NULL)
			return cp_error_at(p, p->tok.off, "out of memory"), NULL;
		for (size_t i = 0; i < e->nargs; i++)
			v[i] = e->args[i]->lit;
		e->lit.kind = CK_SET;
		e->lit.u.set.v = v;
		e->lit.u.set.n = e->nargs;
	} else {
		if ((f = cedar_arena_alloc(p->a, (e->nargs + 1) * sizeof(*f))) == NULL)
			return cp_error_at(p, p->tok.off, "out of memory"), NULL;
		for (size_t i = 0; i < e->nargs; i++) {
			f[i].key = e->keys[i];
			f[i].val = e->args[i]->lit;
		}
		(void)cedar_record_sort(f, e->nargs, NULL); /* keys checked unique */
		e->lit.kind = CK_RECORD;
		e->lit.u.rec.f = f;
		e->lit.u.rec.n = e->nargs;
	}
	e->kind = EX_LIT;
	e->height = 1;
	return e;
}

static int
record_key(cedar_parser *p, cedar_str *key)
{
	if (p->tok.kind == T_IDENT) {
		if (cp_check_ident(p, p->tok.off, p->lx.text + p->tok.off,
		    p->tok.len) != 0)
			return -1;
		*key = cp_ident(p);
		cp_next(p);
		return 0;
	}
	if (p->tok.kind == T_STR)
		return cp_string(p, key);
	return cp_expected(p, "record key (identifier or string)");
}

/* One `key: value` of a record literal; keys grows with the values. */
static int
record_field(cedar_parser *p, chain *vals, cedar_str **keys, size_t off)
{
	cedar_str key;
	cedar_expr *v;

	if (record_key(p, &key) != 0 || cp_expect(p, T_COLON, "':'") != 0 ||
	    (v = cp_expr(p)) == NULL)
		return -1;
	for (size_t i = 0; i < vals->n; i++)
		if (cedar_str_eq((*keys)[i], key))
			return cp_error_at(p, off, "duplicate key in record literal");
	if (vals->n == vals->cap) {
		cedar_str *nk = mdt__realloc(*keys, (vals->cap == 0 ? 16 :
		    vals->cap * 2) * sizeof(*nk));
		if (nk == NULL)
			return cp_error_at(p, off, "out of memory");
		*keys = nk;
	}
	(*keys)[vals->n] = key;
	return chain_push(p, vals, v, 0);
}

static cedar_expr *
record_lit(cedar_parser *p, size_t off)
{
	chain c = {NULL, NULL, 0, 0, 0};
	cedar_str *keys = NULL;
	cedar_expr *e = node(p, EX_RECORD, off), *r = NULL;

	cp_next(p);
	while (e != NULL && p->tok.kind != T_RBRACE)
		if (record_field(p, &c, &keys, off) != 0 ||
		    cp_list_sep(p, T_RBRACE, "',' or '}'") != 0)
			goto out;
	if (e == NULL)
		goto out;
	cp_next(p);
	e->keys = cedar_arena_alloc(p->a, (c.n + 1) * sizeof(*e->keys));
	if ((e->args = chain_items(p, &c)) == NULL || e->keys == NULL) {
		cp_error_at(p, off, "out of memory");
		goto out;
	}
	if (c.n > 0)
		memcpy(e->keys, keys, c.n * sizeof(*keys));
	e->nargs = c.n;
	e->height = c.height + 1;
	r = fold_literal(p, tie(p, e, NULL, NULL, NULL, off));
out:
	chain_free(&c);
	mdt__free(keys);
	return r;
}

static const char *const vars[] = {"principal", "action", "resource", "context"};

/* An extension call with one literal string folds to its value. */
static cedar_expr *
fold_call(cedar_expr *e)
{
	cedar_value v;

	if (e->nargs == 1 && e->args[0]->kind == EX_LIT &&
	    e->args[0]->lit.kind == CK_STRING &&
	    cedar_ext_construct(e->name, e->args[0]->lit.u.s, &v) == 0) {
		e->kind = EX_LIT;
		e->lit = v;
		e->height = 1;
	}
	return e;
}

static cedar_expr *
name_primary(cedar_parser *p, size_t off)
{
	cedar_str w = cp_ident(p);
	cedar_expr *e;
	cedar_token nx = cp_peek(p);

	if (nx.kind != T_COLONCOLON && nx.kind != T_LPAREN) {
		if (cedar_str_eq(w, cedar_cstr("true", 4)) ||
		    cedar_str_eq(w, cedar_cstr("false", 5))) {
			if ((e = node(p, EX_LIT, off)) == NULL)
				return NULL;
			e->lit.kind = CK_BOOL;
			e->lit.u.b = w.n == 4;
			cp_next(p);
			return e;
		}
		for (int i = 0; i < 4; i++)
			if (cedar_str_eq(w, cedar_cstr(vars[i], strlen(vars[i])))) {
				if ((e = node(p, EX_VAR, off)) == NULL)
					return NULL;
				e->op = i;
				cp_next(p);
				return e;
			}
		return cp_expected(p, "expression"), NULL;
	}
	if ((e = node(p, EX_LIT, off)) == NULL)
		return NULL;
	if (nx.kind == T_COLONCOLON) {
		e->lit.kind = CK_ENTITY;
		return cp_entity_ref(p, &e->lit.u.uid) == 0 ? e : NULL;
	}
	e->kind = EX_CALL;
	e->name = w;
	if (!cedar_function_known(w))
		return cp_error_at(p, off, "unknown extension function"), NULL;
	cp_next(p);
	if (with_list(p, e, T_RPAREN, off) == NULL)
		return NULL;
	return fold_call(e);
}

/* Digits of an integer token; -1 if above 2^63. */
static int
int_value(cedar_parser *p, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < p->tok.len; i++) {
		uint64_t d = (uint64_t)(p->lx.text[p->tok.off + i] - '0');
		if (v > (UINT64_C(1) << 63) / 10 ||
		    v * 10 + d > (UINT64_C(1) << 63))
			return cp_error_at(p, p->tok.off, "integer literal out of range");
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static cedar_expr *
int_literal(cedar_parser *p, int negate, size_t off)
{
	cedar_expr *e = node(p, EX_LIT, off);
	uint64_t v = 0;

	if (e == NULL || int_value(p, &v) != 0)
		return NULL;
	if (!negate && v > (uint64_t)INT64_MAX)
		return cp_error_at(p, p->tok.off, "integer literal out of range"), NULL;
	e->lit.kind = CK_LONG;
	e->lit.u.l = negate ? (v == (UINT64_C(1) << 63) ? INT64_MIN : -(int64_t)v)
	    : (int64_t)v;
	cp_next(p);
	return e;
}

static cedar_expr *
primary(cedar_parser *p)
{
	size_t off = p->tok.off;
	cedar_expr *e;

	switch (p->tok.kind) {
	case T_STR:
		if ((e = node(p, EX_LIT, off)) == NULL)
			return NULL;
		e->lit.kind = CK_STRING;
		return cp_string(p, &e->lit.u.s) == 0 ? e : NULL;
	case T_INT:
		return int_literal(p, 0, off);
	case T_IDENT:
		return name_primary(p, off);
	case T_LPAREN:
		cp_next(p);
		if ((e = cp_expr(p)) == NULL || cp_expect(p, T_RPAREN, "')'") != 0)
			return NULL;
		return e;
	case T_LBRACKET:
		return fold_literal(p, with_list(p, node(p, EX_SET, off),
		    T_RBRACKET, off));
	case T_LBRACE:
		return record_lit(p, off);
	case T_QUESTION:
		return cp_error_at(p, off, "template slots are not supported "
		    "(policy templates are not implemented yet)"), NULL;
	default:
		return cp_expected(p, "expression"), NULL;
	}
}

static cedar_expr *
access(cedar_parser *p, cedar_expr *obj, size_t off)
{
	cedar_expr *e;

	if (p->tok.kind == T_LBRACKET) {
		cp_next(p);
		if (p->tok.kind != T_STR)
			return cp_expected(p, "string literal"), NULL;
		if ((e = node(p, EX_ATTR, off)) == NULL ||
		    cp_string(p, &e->name) != 0 ||
		    cp_expect(p, T_RBRACKET, "']'") != 0)
			return NULL;
		return tie(p, e, obj, NULL, NULL, off);
	}
	cp_next(p);
	if (p->tok.kind != T_IDENT)
		return cp_expected(p, "attribute or method name"), NULL;
	if (cp_check_ident(p, p->tok.off, p->lx.text + p->tok.off,
	    p->tok.len) != 0)
		return NULL;
	if ((e = node(p, EX_ATTR, off)) == NULL)
		return NULL;
	e->name = cp_ident(p);
	cp_next(p);
	if (p->tok.kind != T_LPAREN)
		return tie(p, e, obj, NULL, NULL, off);
	e->kind = EX_METHOD;
	if ((e->op = cedar_method_id(e->name)) < 0)
		return cp_error_at(p, off + 1, "unknown method"), NULL;
	e->a = obj;
	if (with_list(p, e, T_RPAREN, off) == NULL)
		return NULL;
	/* Built-in methods are checked here; extension methods, like Cedar,
	 * report a wrong argument count when evaluated. */
	if (cedar_method_builtin(e->op) && e->nargs != cedar_method_arity(e->op))
		return cp_error_at(p, off + 1, "wrong number of arguments to method"), NULL;
	return e;
}

static cedar_expr *
member(cedar_parser *p)
{
	cedar_expr *e = primary(p);

	while (e != NULL && (p->tok.kind == T_DOT || p->tok.kind == T_LBRACKET))
		e = access(p, e, p->tok.off);
	return e;
}

static cedar_expr *
unary(cedar_parser *p)
{
	size_t off = p->tok.off;
	cedar_tok op = p->tok.kind;
	int count = 0;
	cedar_expr *e;

	if (op != T_NOT && op != T_MINUS)
		return member(p);
	while (p->tok.kind == op) {
		if (++count > 4)
			return cp_error_at(p, p->tok.off, "too many unary operators"), NULL;
		cp_next(p);
	}
	if (op == T_MINUS && p->tok.kind == T_INT) {
		cedar_token nx = cp_peek(p);
		if (nx.kind != T_DOT && nx.kind != T_LBRACKET) {
			if ((e = int_literal(p, 1, off)) == NULL)
				return NULL;
			count--;
		} else {
			e = unary(p);
		}
	} else {
		e = member(p);
	}
	while (e != NULL && count-- > 0)
		e = tie(p, node(p, op == T_NOT ? EX_NOT : EX_NEG, off), e, NULL, NULL, off);
	return e;
}

/* One node holding every operand of c; its height is one more than its
 * tallest operand, whatever the chain's length. */
static cedar_expr *
chain_node(cedar_parser *p, chain *c, cedar_expr_kind kind, size_t off)
{
	cedar_expr *e = node(p, kind, off);

	if (e == NULL)
		return NULL;
	e->args = cedar_arena_alloc(p->a, c->n * sizeof(*e->args));
	e->ops = cedar_arena_alloc(p->a, c->n * sizeof(*e->ops));
	if (e->args == NULL || e->ops == NULL)
		return cp_error_at(p, off, "out of memory"), NULL;
	memcpy(e->args, c->v, c->n * sizeof(*e->args));
	memcpy(e->ops, c->ops, c->n * sizeof(*e->ops));
	e->nargs = c->n;
	e->height = c->height + 1;
	if (e->height > MDT_POLICY_NEST_MAX)
		return cp_error_at(p, off, "expression nested too deeply"), NULL;
	return e;
}

/* sub {op sub}, left-associative, parsed in a loop into one node. */
static cedar_expr *
binary_chain(cedar_parser *p, cedar_expr *(*sub)(cedar_parser *),
    const cedar_tok *toks, const int *ops, cedar_expr_kind kind, size_t ntoks)
{
	size_t off = p->tok.off;
	cedar_expr *e = sub(p);
	chain c = {NULL, NULL, 0, 0, 0};

	while (e != NULL) {
		size_t i = 0;
		while (i < ntoks && p->tok.kind != toks[i])
			i++;
		if (i == ntoks)
			break;
		cp_next(p);
		if ((c.n == 0 && chain_push(p, &c, e, 0) != 0) ||
		    (e = sub(p)) == NULL || chain_push(p, &c, e, ops[i]) != 0)
			e = NULL;
	}
	if (e != NULL && c.n > 0)
		e = chain_node(p, &c, kind, off);
	chain_free(&c);
	return e;
}

static cedar_expr *
mult(cedar_parser *p)
{
	static const cedar_tok t[] = {T_STAR};
	static const int o[] = {OP_MUL};
	return binary_chain(p, unary, t, o, EX_ARITH, 1);
}

static cedar_expr *
add(cedar_parser *p)
{
	static const cedar_tok t[] = {T_PLUS, T_MINUS};
	static const int o[] = {OP_ADD, OP_SUB};
	return binary_chain(p, mult, t, o, EX_ARITH, 2);
}

static const struct {
	cedar_tok t;
	cedar_binop op;
} relops[] = {
	{T_EQ, OP_EQ}, {T_NE, OP_NE}, {T_LT, OP_LT}, {T_LE, OP_LE},
	{T_GT, OP_GT}, {T_GE, OP_GE},
};

/* One step of `has a.b.c`: `cur has name`, and cur moves on to cur.name. */
static cedar_expr *
has_step(cedar_parser *p, cedar_expr **cur, int first, size_t off)
{
	cedar_str name;
	cedar_expr *h, *get;

	cp_next(p);
	if (p->tok.kind == T_STR && first) {
		if (cp_string(p, &name) != 0)
			return NULL;
	} else if (p->tok.kind == T_IDENT) {
		if (cp_check_ident(p, p->tok.off, p->lx.text + p->tok.off,
		    p->tok.len) != 0)
			return NULL;
		name = cp_ident(p);
		cp_next(p);
	} else {
		return cp_expected(p, "attribute name after 'has'"), NULL;
	}
	if ((h = node(p, EX_HAS, off)) == NULL ||
	    (get = node(p, EX_ATTR, off)) == NULL)
		return NULL;
	h->name = get->name = name;
	if ((h = tie(p, h, *cur, NULL, NULL, off)) == NULL ||
	    (*cur = tie(p, get, *cur, NULL, NULL, off)) == NULL)
		return NULL;
	return h;
}

/* `e has a.b.c` means `e has a && e.a has b && e.a.b has c`. */
static cedar_expr *
has_expr(cedar_parser *p, cedar_expr *obj, size_t off)
{
	cedar_expr *cur = obj, *h;
	chain c = {NULL, NULL, 0, 0, 0};

	do {
		if ((h = has_step(p, &cur, c.n == 0, off)) == NULL ||
		    chain_push(p, &c, h, 0) != 0) {
			h = NULL;
			break;
		}
	} while (p->tok.kind == T_DOT);
	if (h != NULL && c.n > 1)
		h = chain_node(p, &c, EX_AND, off);
	chain_free(&c);
	return h;
}

static cedar_expr *
like_expr(cedar_parser *p, cedar_expr *obj, size_t off)
{
	cedar_expr *e = node(p, EX_LIKE, off);
	size_t bad;
	int rc;

	cp_next(p);
	if (e == NULL)
		return NULL;
	if (p->tok.kind != T_STR)
		return cp_expected(p, "pattern string after 'like'"), NULL;
	rc = cedar_pattern_compile(p->a, p->lx.text + p->tok.off, p->tok.len,
	    &e->pat, &e->npat, &bad);
	if (rc != 0)
		return cp_error_at(p, p->tok.off + bad, rc == -1 ?
		    "invalid escape in pattern" : "out of memory"), NULL;
	cp_next(p);
	return tie(p, e, obj, NULL, NULL, off);
}

static cedar_expr *
is_expr(cedar_parser *p, cedar_expr *obj, size_t off)
{
	cedar_expr *e = node(p, EX_IS, off), *in = NULL;

	cp_next(p);
	if (e == NULL || cp_path(p, &e->name) != 0)
		return NULL;
	if (cp_is_ident(p, "in")) {
		cp_next(p);
		if ((in = add(p)) == NULL)
			return NULL;
	}
	return tie(p, e, obj, in, NULL, off);
}

static cedar_expr *
relation(cedar_parser *p)
{
	cedar_expr *e = add(p), *n, *r;
	size_t off = p->tok.off;

	if (e == NULL)
		return NULL;
	if (cp_is_ident(p, "has"))
		return has_expr(p, e, off);
	if (cp_is_ident(p, "like"))
		return like_expr(p, e, off);
	if (cp_is_ident(p, "is"))
		return is_expr(p, e, off);
	if (cp_is_ident(p, "in")) {
		cp_next(p);
		if ((r = add(p)) == NULL || (n = node(p, EX_BIN, off)) == NULL)
			return NULL;
		n->op = OP_IN;
		return tie(p, n, e, r, NULL, off);
	}
	for (size_t i = 0; i < sizeof(relops) / sizeof(relops[0]); i++) {
		if (p->tok.kind != relops[i].t)
			continue;
		cp_next(p);
		if ((r = add(p)) == NULL || (n = node(p, EX_BIN, off)) == NULL)
			return NULL;
		n->op = (int)relops[i].op;
		return tie(p, n, e, r, NULL, off);
	}
	return e;
}

static cedar_expr *
and_expr(cedar_parser *p)
{
	static const cedar_tok t[] = {T_AND};
	static const int o[] = {0};
	return binary_chain(p, relation, t, o, EX_AND, 1);
}

static cedar_expr *
or_expr(cedar_parser *p)
{
	static const cedar_tok t[] = {T_OR};
	static const int o[] = {0};
	return binary_chain(p, and_expr, t, o, EX_OR, 1);
}

cedar_expr *
cp_expr(cedar_parser *p)
{
	size_t off = p->tok.off;
	cedar_expr *c, *t, *f, *e;

	if (++p->depth > MDT_POLICY_NEST_MAX) {
		cp_error_at(p, off, "expression nested too deeply");
		return NULL;
	}
	if (!cp_is_ident(p, "if")) {
		e = or_expr(p);
	} else {
		cp_next(p);
		e = NULL;
		if ((c = cp_expr(p)) != NULL && cp_is_ident(p, "then")) {
			cp_next(p);
			if ((t = cp_expr(p)) != NULL && cp_is_ident(p, "else")) {
				cp_next(p);
				if ((f = cp_expr(p)) != NULL)
					e = tie(p, node(p, EX_IF, off), c, t, f, off);
			} else if (t != NULL) {
				cp_expected(p, "'else'");
			}
		} else if (c != NULL) {
			cp_expected(p, "'then'");
		}
	}
	p->depth--;
	return e;
}

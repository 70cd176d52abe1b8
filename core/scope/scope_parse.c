/*
 * The strict scope parser: text -> mdt__scope.  Grammar (docs/scopes.md):
 *   scope   = context "/" type "." perms [ "?" param *( "&" param ) ]
 *   context = "patient" / "user" / "system" / "tool"
 *   type    = "*" / FHIR type [A-Z][A-Za-z0-9]* / tool name [a-z][a-z0-9_-]*
 *   perms   = ordered non-repeating letters of "cruds" (tool: "x"), or the
 *             SMART v1 suffixes read / write / * (FHIR contexts only)
 *   param   = name "=" value
 * Nothing is repaired: the first byte that breaks the grammar is reported
 * with its offset and the reason.
 */
#include <string.h>

#include "parse_err_int.h"
#include "scope_int.h"
#include "utf8_int.h"

#define PERR(off, ...) \
	mdt__parse_err(-MDT_EPARSE, err, errlen, base + (off), __VA_ARGS__)

typedef struct ctx_name {
	const char *name;
	mdt_scope_context ctx;
} ctx_name;

static const ctx_name contexts[] = {
	{"patient", MDT_SCOPE_PATIENT},
	{"user", MDT_SCOPE_USER},
	{"system", MDT_SCOPE_SYSTEM},
	{"tool", MDT_SCOPE_TOOL},
};

/* SMART v1 permission suffixes and their v2 meaning. */
typedef struct v1_suffix {
	const char *text;
	unsigned perms;
} v1_suffix;

static const v1_suffix v1_suffixes[] = {
	{"read", MDT__PERM_R | MDT__PERM_S},
	{"write", MDT__PERM_C | MDT__PERM_U | MDT__PERM_D},
	{"*", MDT__PERM_C | MDT__PERM_R | MDT__PERM_U | MDT__PERM_D |
	    MDT__PERM_S},
};

/* A cursor over one scope's bytes. */
typedef struct cur {
	const char *s;
	size_t len;
	size_t i;
} cur;

const char *
mdt__scope_letters(mdt_scope_context ctx)
{
	return ctx == MDT_SCOPE_TOOL ? "x" : "cruds";
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

int
mdt__scope_is_name_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '-' ||
	    c == '.' || c == ':';
}

int
mdt__scope_is_value_char(unsigned char c)
{
	return mdt__scope_is_name_char(c) ||
	    (c != 0 && strchr("~/|@", c) != NULL);
}

static int
lower_eq(const char *s, size_t n, const char *word)
{
	if (strlen(word) != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + ('a' - 'A'));
		if (c != word[i])
			return 0;
	}
	return 1;
}

/*
 * Bytes no scope may contain anywhere, each with its own reason.  Scopes
 * are printable ASCII: the validator finds the first byte outside it, and
 * a '%' or space before that byte comes first.
 */
static int
check_bytes(const char *s, size_t len, size_t base, char *err, size_t errlen)
{
	size_t bad = mdt__utf8_check(s, len,
	    MDT__UTF8_ASCII | MDT__UTF8_CONTROLS);
	unsigned char c;

	for (size_t i = 0; i < bad; i++) {
		if (s[i] == '%')
			return PERR(i, "percent-encoding is not allowed");
		if (s[i] == ' ')
			return PERR(i, "space inside a scope");
	}
	if (bad == len)
		return 0;
	c = (unsigned char)s[bad];
	if (c < 0x20 || c == 0x7f)
		return PERR(bad, "control byte 0x%02x", c);
	return PERR(bad, "non-ASCII byte 0x%02x", c);
}

static int
parse_context(cur *c, size_t base, mdt__scope *out, char *err, size_t errlen)
{
	const char *slash = memchr(c->s, '/', c->len);
	size_t n = slash != NULL ? (size_t)(slash - c->s) : c->len;

	for (size_t k = 0; k < sizeof(contexts) / sizeof(contexts[0]); k++) {
		if (strlen(contexts[k].name) == n &&
		    memcmp(c->s, contexts[k].name, n) == 0) {
			if (slash == NULL)
				return PERR(n, "missing '/' after the context");
			out->ctx = contexts[k].ctx;
			c->i = n + 1;
			return 0;
		}
		if (lower_eq(c->s, n, contexts[k].name))
			return PERR(0, "wrong-case context '%.*s' (contexts are "
			    "lowercase: patient, user, system, tool)", (int)n,
			    c->s);
	}
	if (n == 0)
		return PERR(0, "empty context");
	if (slash == NULL)
		return PERR(0, "not a resource scope: expected "
		    "context/Type.permissions");
	return PERR(0, "unknown context '%.*s' (patient, user, system or tool)",
	    (int)(n > 32 ? 32 : n), c->s);
}

int
mdt__scope_type_char_ok(mdt_scope_context ctx, size_t k, unsigned char ch)
{
	if (ctx == MDT_SCOPE_TOOL)
		return (ch >= 'a' && ch <= 'z') ||
		    (k > 0 && (is_digit(ch) || ch == '_' || ch == '-'));
	if (k == 0)
		return ch >= 'A' && ch <= 'Z';
	return is_alpha(ch) || is_digit(ch);
}

static int
type_error(cur *c, size_t start, size_t base, mdt_scope_context ctx,
    char *err, size_t errlen)
{
	size_t i = c->i;

	if (i == start && (i == c->len || c->s[i] == '.'))
		return PERR(i, "empty %s", ctx == MDT_SCOPE_TOOL ?
		    "tool name" : "resource type");
	if (i == c->len)
		return PERR(i, "missing '.' and permissions");
	if (c->s[i] == '/')
		return PERR(i, "second '/' (a %s has no '/')", ctx ==
		    MDT_SCOPE_TOOL ? "tool name" : "resource type");
	if (c->s[i] == '?')
		return PERR(i, "missing '.' and permissions before '?'");
	if (i == start && ctx != MDT_SCOPE_TOOL && c->s[i] >= 'a' &&
	    c->s[i] <= 'z')
		return PERR(i, "a resource type starts with an uppercase "
		    "letter");
	if (i == start && ctx == MDT_SCOPE_TOOL)
		return PERR(i, "a tool name starts with a lowercase letter");
	return PERR(i, "character '%c' is not allowed in a %s", c->s[i],
	    ctx == MDT_SCOPE_TOOL ? "tool name (a-z 0-9 _ -)" :
	    "resource type (A-Z a-z 0-9)");
}

static int
parse_type(cur *c, size_t base, mdt__scope *out, char *err, size_t errlen)
{
	size_t start = c->i;

	if (c->i < c->len && c->s[c->i] == '*') {
		c->i++;
	} else {
		while (c->i < c->len && mdt__scope_type_char_ok(out->ctx,
		    c->i - start, (unsigned char)c->s[c->i]))
			c->i++;
	}
	if (c->i == start || c->i == c->len || c->s[c->i] != '.')
		return type_error(c, start, base, out->ctx, err, errlen);
	if (c->i - start > MDT__SCOPE_NAME_MAX)
		return mdt__parse_err(-MDT_ETOOBIG, err, errlen,
		    base + start + MDT__SCOPE_NAME_MAX,
		    "a type or tool name is at most %d bytes",
		    MDT__SCOPE_NAME_MAX);
	out->type_len = c->i - start;
	memcpy(out->type, c->s + start, out->type_len);
	out->type[out->type_len] = '\0';
	c->i++; /* the '.' */
	return 0;
}

static int
parse_v1(const char *p, size_t n, mdt__scope *out)
{
	for (size_t k = 0; k < sizeof(v1_suffixes) / sizeof(v1_suffixes[0]);
	    k++) {
		if (strlen(v1_suffixes[k].text) == n &&
		    memcmp(p, v1_suffixes[k].text, n) == 0) {
			out->perms = v1_suffixes[k].perms;
			return 1;
		}
	}
	return 0;
}

static int
letter_error(char ch, size_t at, size_t base, const char *letters,
    unsigned seen, char *err, size_t errlen)
{
	const char *pos = strchr(letters, ch);
	unsigned bit;

	if (ch == '\0' || pos == NULL) {
		if (ch == '*')
			return PERR(at, "'*' (SMART v1 wildcard) must stand "
			    "alone");
		return PERR(at, "'%c' is not a permission letter (allowed, in "
		    "this order: %s)", ch, letters);
	}
	bit = 1u << (pos - letters);
	if (seen & bit)
		return PERR(at, "permission '%c' repeated", ch);
	return PERR(at, "permission '%c' out of order (letters follow the "
	    "order %s)", ch, letters);
}

static int
parse_perms(cur *c, size_t base, mdt__scope *out, char *err, size_t errlen)
{
	const char *letters = mdt__scope_letters(out->ctx);
	const char *q = memchr(c->s + c->i, '?', c->len - c->i);
	size_t end = q != NULL ? (size_t)(q - c->s) : c->len;
	size_t next = 0; /* index in letters the next letter must reach */

	if (end == c->i)
		return PERR(c->i, "empty permission suffix");
	if (out->ctx != MDT_SCOPE_TOOL && parse_v1(c->s + c->i, end - c->i,
	    out)) {
		c->i = end;
		return 0;
	}
	out->perms = 0;
	for (; c->i < end; c->i++) {
		const char *pos = strchr(letters, c->s[c->i]);

		if (c->s[c->i] == '\0' || pos == NULL ||
		    (size_t)(pos - letters) < next)
			return letter_error(c->s[c->i], c->i, base, letters,
			    out->perms, err, errlen);
		next = (size_t)(pos - letters) + 1;
		out->perms |= 1u << (pos - letters);
	}
	return 0;
}

/* One name=value at c->i; appends it to out (unsorted). */
static int
parse_param(cur *c, size_t base, mdt__scope *out, char *err, size_t errlen)
{
	size_t ns = c->i, vs;
	mdt__scope_param *p;

	while (c->i < c->len &&
	    mdt__scope_is_name_char((unsigned char)c->s[c->i]))
		c->i++;
	if (c->i == ns)
		return PERR(c->i, c->i == c->len || c->s[c->i] == '&' ?
		    "empty query restriction" : "empty parameter name");
	if (c->i == c->len)
		return PERR(c->i, "missing '=' in a query restriction");
	if (c->s[c->i] != '=')
		return PERR(c->i, "character '%c' is not allowed in a "
		    "parameter name", c->s[c->i]);
	vs = ++c->i;
	while (c->i < c->len &&
	    mdt__scope_is_value_char((unsigned char)c->s[c->i]))
		c->i++;
	if (c->i == vs)
		return PERR(c->i, "empty parameter value");
	if (c->i < c->len && c->s[c->i] != '&')
		return PERR(c->i, c->s[c->i] == ',' ? "',' (a list of values) "
		    "is not allowed: use one scope per value" :
		    "character '%c' is not allowed in a parameter value",
		    c->s[c->i]);
	if (out->nparams == MDT_SCOPE_PARAMS_MAX)
		return mdt__parse_err(-MDT_ETOOBIG, err, errlen, base + ns,
		    "more than %d query restrictions", MDT_SCOPE_PARAMS_MAX);
	p = &out->params[out->nparams++];
	p->off = out->plen;
	p->name_len = vs - 1 - ns;
	p->value_len = c->i - vs;
	memcpy(out->pbuf + out->plen, c->s + ns, c->i - ns);
	out->plen += c->i - ns;
	return 0;
}

static int
param_at_cmp(const mdt__scope *sc, size_t a, size_t b)
{
	const mdt__scope_param *x = &sc->params[a], *y = &sc->params[b];

	return mdt__scope_param_cmp(sc->pbuf + x->off, x->name_len,
	    sc->pbuf + x->off + x->name_len + 1, x->value_len,
	    sc->pbuf + y->off, y->name_len,
	    sc->pbuf + y->off + y->name_len + 1, y->value_len);
}

/* Sorts params (insertion sort: at most 8) and refuses duplicates. */
static int
sort_params(mdt__scope *sc, const size_t *offs, size_t base, char *err,
    size_t errlen)
{
	size_t at[MDT_SCOPE_PARAMS_MAX];

	memcpy(at, offs, sc->nparams * sizeof(at[0]));
	for (size_t i = 1; i < sc->nparams; i++) {
		for (size_t j = i; j > 0 && param_at_cmp(sc, j - 1, j) > 0;
		    j--) {
			mdt__scope_param t = sc->params[j];
			size_t to = at[j];
			sc->params[j] = sc->params[j - 1];
			sc->params[j - 1] = t;
			at[j] = at[j - 1];
			at[j - 1] = to;
		}
	}
	for (size_t i = 1; i < sc->nparams; i++)
		if (param_at_cmp(sc, i - 1, i) == 0)
			return PERR(at[i] > at[i - 1] ? at[i] : at[i - 1],
			    "query restriction repeated");
	return 0;
}

static int
parse_params(cur *c, size_t base, mdt__scope *out, char *err, size_t errlen)
{
	size_t offs[MDT_SCOPE_PARAMS_MAX];
	int rc;

	if (c->i == c->len)
		return 0;
	c->i++; /* the '?' */
	if (c->i == c->len)
		return PERR(c->i, "empty query after '?'");
	for (;;) {
		size_t at = c->i;
		if ((rc = parse_param(c, base, out, err, errlen)) != 0)
			return rc;
		offs[out->nparams - 1] = at;
		if (c->i == c->len)
			break;
		c->i++; /* the '&' */
		if (c->i == c->len)
			return PERR(c->i - 1, "trailing '&'");
	}
	return sort_params(out, offs, base, err, errlen);
}

int
mdt__scope_parse(const char *s, size_t len, size_t base, mdt__scope *out,
    char *err, size_t errlen)
{
	cur c = {s, len, 0};
	int rc;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return PERR(0, "empty scope");
	if (len > MDT_SCOPE_TEXT_MAX)
		return mdt__parse_err(-MDT_ETOOBIG, err, errlen,
		    base + MDT_SCOPE_TEXT_MAX, "a scope is at most %d bytes",
		    MDT_SCOPE_TEXT_MAX);
	if ((rc = check_bytes(s, len, base, err, errlen)) != 0 ||
	    (rc = parse_context(&c, base, out, err, errlen)) != 0 ||
	    (rc = parse_type(&c, base, out, err, errlen)) != 0 ||
	    (rc = parse_perms(&c, base, out, err, errlen)) != 0 ||
	    (rc = parse_params(&c, base, out, err, errlen)) != 0)
		return rc;
	if (mdt__scope_text_len(out) > MDT_SCOPE_TEXT_MAX)
		return mdt__parse_err(-MDT_ETOOBIG, err, errlen, base,
		    "the scope's v2 form is longer than %d bytes",
		    MDT_SCOPE_TEXT_MAX);
	return 0;
}

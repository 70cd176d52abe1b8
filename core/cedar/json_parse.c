/*
 * A strict JSON parser (RFC 8259) building a tree in an arena, with the
 * byte offset of every node so that errors in Cedar data name
 * file:line:col.  Written for Cedar data rather than using jansson because
 * Cedar's corpus has NUL characters inside object keys (`"\u0000"`), which
 * jansson rejects.  Strings carry lengths; duplicate keys are rejected;
 * nesting is bounded.
 */
#include <stdio.h>
#include <string.h>

#include "cedar/json_int.h"
#include "utf8_int.h"

typedef struct jp {
	const char *t;
	size_t n, i;
	cedar_arena *a;
	const char *msg;
	size_t erroff;
	int depth;
} jp;

static int
jp_fail(jp *p, size_t off, const char *msg)
{
	if (p->msg == NULL) {
		p->msg = msg;
		p->erroff = off;
	}
	return -1;
}

static void
ws(jp *p)
{
	while (p->i < p->n && (p->t[p->i] == ' ' || p->t[p->i] == '\t' ||
	    p->t[p->i] == '\n' || p->t[p->i] == '\r'))
		p->i++;
}

static cjnode *
newnode(jp *p, cjkind k)
{
	cjnode *j = cedar_arena_alloc(p->a, sizeof(*j));

	if (j == NULL) {
		jp_fail(p, p->i, "out of memory");
		return NULL;
	}
	memset(j, 0, sizeof(*j));
	j->kind = k;
	j->off = p->i;
	return j;
}

static int
hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int k = 0; k < 4; k++) {
		char c = s[k];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
		    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + (uint32_t)d;
	}
	*out = v;
	return 0;
}

/* \uXXXX (with surrogate pairs) at p->t + i (after "\u"). */
static int
uescape(jp *p, size_t *i, uint32_t *cp)
{
	uint32_t hi, lo;

	if (*i + 4 > p->n || hex4(p->t + *i, &hi) != 0)
		return jp_fail(p, *i, "invalid \\u escape");
	*i += 4;
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return jp_fail(p, *i - 6, "unpaired surrogate in \\u escape");
	if (hi >= 0xD800 && hi <= 0xDBFF) {
		if (*i + 6 > p->n || p->t[*i] != '\\' || p->t[*i + 1] != 'u' ||
		    hex4(p->t + *i + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
			return jp_fail(p, *i - 6, "unpaired surrogate in \\u escape");
		*i += 6;
		hi = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
	}
	*cp = hi;
	return 0;
}

static const char json_esc[][2] = {
	{'"', '"'}, {'\\', '\\'}, {'/', '/'}, {'b', '\b'}, {'f', '\f'},
	{'n', '\n'}, {'r', '\r'}, {'t', '\t'},
};

/*
 * Length of the run of non-ASCII bytes at s[0..n): a valid character is
 * either ASCII or made only of bytes >= 0x80, so each run must be valid
 * UTF-8 by itself.
 */
static size_t
high_run(const char *s, size_t n)
{
	size_t e = 0;

	while (e < n && (unsigned char)s[e] >= 0x80)
		e++;
	return e;
}

static int
string(jp *p, cedar_str *out)
{
	size_t i = p->i + 1, o = 0, start = p->i, end = i;
	char *buf;

	/* Decoded text is never longer than the source. */
	while (end < p->n && p->t[end] != '"')
		end += p->t[end] == '\\' ? 2 : 1;
	if ((buf = cedar_arena_alloc(p->a, end - start + 1)) == NULL)
		return jp_fail(p, start, "out of memory");
	while (i < p->n && p->t[i] != '"') {
		unsigned char c = (unsigned char)p->t[i];
		if (c < 0x20)
			return jp_fail(p, i, "control character in string");
		if (c >= 0x80) {
			size_t l = high_run(p->t + i, p->n - i);
			size_t bad = mdt__utf8_check(p->t + i, l, 0);
			if (bad != l)
				return jp_fail(p, i + bad, "invalid UTF-8 in string");
			memcpy(buf + o, p->t + i, l);
			o += l;
			i += l;
			continue;
		}
		if (c != '\\') {
			buf[o++] = (char)c;
			i++;
			continue;
		}
		if (++i >= p->n)
			break;
		if (p->t[i] == 'u') {
			uint32_t cp;
			i++;
			if (uescape(p, &i, &cp) != 0)
				return -1;
			o += cedar_utf8_put(buf + o, cp);
			continue;
		}
		size_t k = 0;
		while (k < sizeof(json_esc) / sizeof(json_esc[0]) && json_esc[k][0] != p->t[i])
			k++;
		if (k == sizeof(json_esc) / sizeof(json_esc[0]))
			return jp_fail(p, i - 1, "invalid escape in string");
		buf[o++] = json_esc[k][1];
		i++;
	}
	if (i >= p->n)
		return jp_fail(p, start, "unterminated string");
	buf[o] = '\0';
	out->p = buf;
	out->n = o;
	p->i = i + 1;
	return 0;
}

static int
number(jp *p, cjnode *j)
{
	size_t i = p->i;
	int neg = 0, real = 0;
	uint64_t v = 0;

	if (i < p->n && p->t[i] == '-')
		neg = 1, i++;
	if (i >= p->n || p->t[i] < '0' || p->t[i] > '9')
		return jp_fail(p, p->i, "invalid number");
	if (p->t[i] == '0' && i + 1 < p->n && p->t[i + 1] >= '0' && p->t[i + 1] <= '9')
		return jp_fail(p, p->i, "leading zero in number");
	for (; i < p->n && p->t[i] >= '0' && p->t[i] <= '9'; i++) {
		uint64_t d = (uint64_t)(p->t[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			real = 2;
		else
			v = v * 10 + d;
	}
	if (i < p->n && (p->t[i] == '.' || p->t[i] == 'e' || p->t[i] == 'E')) {
		real = 1;
		while (i < p->n && strchr("0123456789.eE+-", p->t[i]) != NULL)
			i++;
	}
	if (real == 0 && v > (uint64_t)INT64_MAX + (uint64_t)neg)
		real = 2;
	if (real == 2)
		return jp_fail(p, p->i, "integer out of the 64-bit range");
	j->kind = real ? CJ_REAL : CJ_INT;
	j->i = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) :
	    (int64_t)v;
	p->i = i;
	return 0;
}

static int value(jp *p, cjnode **out);

static int
grow(jp *p, cjnode ***items, cedar_str **keys, size_t n, size_t *cap)
{
	size_t nc = *cap == 0 ? 8 : *cap * 2;
	cjnode **ni = cedar_arena_alloc(p->a, nc * sizeof(*ni));
	cedar_str *nk = keys == NULL ? NULL : cedar_arena_alloc(p->a, nc * sizeof(*nk));

	if (ni == NULL || (keys != NULL && nk == NULL))
		return jp_fail(p, p->i, "out of memory");
	if (n > 0) {
		memcpy(ni, *items, n * sizeof(*ni));
		if (keys != NULL)
			memcpy(nk, *keys, n * sizeof(*nk));
	}
	*items = ni;
	if (keys != NULL)
		*keys = nk;
	*cap = nc;
	return 0;
}

static int
container(jp *p, cjnode *j, char close)
{
	size_t cap = 0;
	int obj = close == '}';

	p->i++;
	ws(p);
	if (p->i < p->n && p->t[p->i] == close) {
		p->i++;
		return 0;
	}
	for (;;) {
		cedar_str key;
		ws(p);
		if (obj) {
			size_t koff = p->i;
			if (p->i >= p->n || p->t[p->i] != '"')
				return jp_fail(p, p->i, "expected a string key");
			if (string(p, &key) != 0)
				return -1;
			for (size_t k = 0; k < j->n; k++)
				if (cedar_str_eq(j->keys[k], key))
					return jp_fail(p, koff, "duplicate key");
			ws(p);
			if (p->i >= p->n || p->t[p->i] != ':')
				return jp_fail(p, p->i, "expected ':'");
			p->i++;
		}
		if (j->n == cap && grow(p, &j->items, obj ? &j->keys : NULL, j->n, &cap) != 0)
			return -1;
		if (obj)
			j->keys[j->n] = key;
		if (value(p, &j->items[j->n]) != 0)
			return -1;
		j->n++;
		ws(p);
		if (p->i < p->n && p->t[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->t[p->i] == close) {
			p->i++;
			return 0;
		}
		return jp_fail(p, p->i, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static const struct {
	const char *word;
	cjkind kind;
	int b;
} words[] = {{"true", CJ_BOOL, 1}, {"false", CJ_BOOL, 0}, {"null", CJ_NULL, 0}};

static int
value(jp *p, cjnode **out)
{
	cjnode *j;
	int rc;

	ws(p);
	if (p->i >= p->n)
		return jp_fail(p, p->i, "unexpected end of input");
	if ((j = newnode(p, CJ_NULL)) == NULL)
		return -1;
	*out = j;
	switch (p->t[p->i]) {
	case '{':
	case '[':
		if (++p->depth > CEDAR_JSON_DEPTH)
			return jp_fail(p, p->i, "nested too deeply");
		j->kind = p->t[p->i] == '{' ? CJ_OBJ : CJ_ARR;
		rc = container(p, j, p->t[p->i] == '{' ? '}' : ']');
		p->depth--;
		return rc;
	case '"':
		j->kind = CJ_STR;
		return string(p, &j->s);
	default:
		break;
	}
	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		size_t l = strlen(words[k].word);
		if (p->n - p->i >= l && memcmp(p->t + p->i, words[k].word, l) == 0) {
			j->kind = words[k].kind;
			j->b = words[k].b;
			p->i += l;
			return 0;
		}
	}
	if (p->t[p->i] != '-' && (p->t[p->i] < '0' || p->t[p->i] > '9'))
		return jp_fail(p, p->i, "expected a JSON value");
	return number(p, j);
}

cjnode *
cjson_parse(cedar_arena *a, const char *text, size_t len, const char *name,
    char *err, size_t errlen)
{
	jp p = {text, len, 0, a, NULL, 0, 0};
	cjnode *root = NULL;

	if (value(&p, &root) == 0) {
		ws(&p);
		if (p.i < p.n)
			jp_fail(&p, p.i, "trailing characters after the JSON value");
	}
	if (p.msg != NULL) {
		uint32_t line, col;
		cedar_line_col(text, p.erroff, &line, &col);
		snprintf(err, errlen, "%s:%u:%u: %s", name, line, col, p.msg);
		return NULL;
	}
	return root;
}

const cjnode *
cjson_get(const cjnode *obj, const char *key)
{
	size_t n = strlen(key);

	if (obj == NULL || obj->kind != CJ_OBJ)
		return NULL;
	for (size_t k = 0; k < obj->n; k++)
		if (cedar_str_eq(obj->keys[k], cedar_cstr(key, n)))
			return obj->items[k];
	return NULL;
}

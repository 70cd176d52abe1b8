/*
 * Cedar policy lexer: identifiers, integer and string literals, operators
 * and punctuation; skips whitespace and `//` comments.  Positions are byte
 * offsets; the parser turns them into line:col for messages.
 */
#include <string.h>

#include "cedar/cedar_int.h"
#include "cedar/lexer_int.h"

void
cedar_lex_init(cedar_lexer *lx, const char *text, size_t len)
{
	lx->text = text;
	lx->len = len;
	lx->pos = 0;
	lx->errmsg = NULL;
}

static int
is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_ident(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

/*
 * Length of the whitespace character at s, or 0.  Cedar's grammar skips
 * the regex class \s, which is Unicode's White_Space property: the ASCII
 * blanks (tab, line feed, vertical tab, form feed, carriage return, space)
 * and U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F,
 * U+205F and U+3000 (not U+200B, U+180E or U+FEFF).
 */
static size_t
space_len(const unsigned char *s, size_t n)
{
	if (n >= 1 && (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')))
		return 1;
	if (n >= 2 && s[0] == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0))
		return 2;
	if (n < 3)
		return 0;
	if (s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80)          /* U+1680 */
		return 3;
	if (s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80)          /* U+3000 */
		return 3;
	if (s[0] != 0xE2)
		return 0;
	if (s[1] == 0x80 && ((s[2] >= 0x80 && s[2] <= 0x8A) ||     /* U+2000..200A */
	    s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF))         /* U+2028/9/2F */
		return 3;
	if (s[1] == 0x81 && s[2] == 0x9F)                          /* U+205F */
		return 3;
	return 0;
}

/* Whitespace and `//` comments; a comment ends at a line feed or a
 * carriage return, as in Cedar's grammar. */
static void
skip_space(cedar_lexer *lx)
{
	while (lx->pos < lx->len) {
		const unsigned char *s = (const unsigned char *)lx->text + lx->pos;
		size_t n = space_len(s, lx->len - lx->pos);
		if (n > 0) {
			lx->pos += n;
		} else if (s[0] == '/' && lx->pos + 1 < lx->len && s[1] == '/') {
			while (lx->pos < lx->len && lx->text[lx->pos] != '\n' &&
			    lx->text[lx->pos] != '\r')
				lx->pos++;
		} else {
			break;
		}
	}
}

static cedar_token
lex_string(cedar_lexer *lx, size_t start)
{
	cedar_token t = {T_STR, start + 1, 0};
	size_t p = start + 1;

	while (p < lx->len && lx->text[p] != '"') {
		if (lx->text[p] == '\\')
			p++;
		p++;
	}
	if (p >= lx->len) {
		lx->errmsg = "unterminated string literal";
		t.kind = T_ERR;
		t.off = start;
		lx->pos = lx->len;
		return t;
	}
	t.len = p - t.off;
	lx->pos = p + 1;
	return t;
}

/* Two-character operators first, then single characters. */
static const struct {
	const char *s;
	cedar_tok t;
} ops[] = {
	{"::", T_COLONCOLON}, {"==", T_EQ}, {"!=", T_NE}, {"<=", T_LE},
	{">=", T_GE}, {"&&", T_AND}, {"||", T_OR},
	{"@", T_AT}, {"(", T_LPAREN}, {")", T_RPAREN}, {"{", T_LBRACE},
	{"}", T_RBRACE}, {"[", T_LBRACKET}, {"]", T_RBRACKET}, {",", T_COMMA},
	{";", T_SEMI}, {":", T_COLON}, {".", T_DOT}, {"<", T_LT}, {">", T_GT},
	{"!", T_NOT}, {"+", T_PLUS}, {"-", T_MINUS}, {"*", T_STAR},
	{"?", T_QUESTION}, {"=", T_ASSIGN},
};

cedar_token
cedar_lex_next(cedar_lexer *lx)
{
	cedar_token t = {T_EOF, 0, 0};
	size_t start;
	unsigned char c;

	skip_space(lx);
	start = lx->pos;
	t.off = start;
	if (start >= lx->len)
		return t;
	c = (unsigned char)lx->text[start];
	if (c == '"')
		return lex_string(lx, start);
	if (is_ident_start(c) || (c >= '0' && c <= '9')) {
		int digits = !is_ident_start(c);
		size_t p = start;
		while (p < lx->len && (digits ?
		    (lx->text[p] >= '0' && lx->text[p] <= '9') :
		    is_ident((unsigned char)lx->text[p])))
			p++;
		t.kind = digits ? T_INT : T_IDENT;
		t.len = p - start;
		lx->pos = p;
		return t;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].s);
		if (lx->len - start >= n && memcmp(lx->text + start, ops[i].s, n) == 0) {
			t.kind = ops[i].t;
			t.len = n;
			lx->pos = start + n;
			return t;
		}
	}
	t.kind = T_ERR;
	t.len = 1;
	lx->errmsg = "unexpected character";
	lx->pos = start + 1;
	return t;
}

static const char *const tok_names[] = {
	[T_EOF] = "end of input", [T_ERR] = "invalid token",
	[T_IDENT] = "identifier", [T_STR] = "string literal",
	[T_INT] = "integer literal", [T_AT] = "'@'", [T_LPAREN] = "'('",
	[T_RPAREN] = "')'", [T_LBRACE] = "'{'", [T_RBRACE] = "'}'",
	[T_LBRACKET] = "'['", [T_RBRACKET] = "']'", [T_COMMA] = "','",
	[T_SEMI] = "';'", [T_COLONCOLON] = "'::'", [T_COLON] = "':'",
	[T_DOT] = "'.'", [T_EQ] = "'=='", [T_NE] = "'!='", [T_LT] = "'<'",
	[T_LE] = "'<='", [T_GT] = "'>'", [T_GE] = "'>='", [T_AND] = "'&&'",
	[T_OR] = "'||'", [T_NOT] = "'!'", [T_PLUS] = "'+'", [T_MINUS] = "'-'",
	[T_STAR] = "'*'", [T_QUESTION] = "'?'", [T_ASSIGN] = "'='",
};

const char *
cedar_tok_name(cedar_tok t)
{
	return tok_names[t];
}

void
cedar_line_col(const char *text, size_t off, uint32_t *line, uint32_t *col)
{
	uint32_t l = 1, c = 1;

	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

/*
 * State shared by the policy parser's files (parser.c: policies and
 * scopes; parser_expr.c: expressions).
 */
#ifndef MDT_CEDAR_PARSE_INT_H
#define MDT_CEDAR_PARSE_INT_H

#include "cedar/cedar_int.h"
#include "cedar/lexer_int.h"

typedef struct cedar_parser {
	cedar_lexer lx;
	cedar_token tok;     /* current token */
	cedar_token peek;    /* one token of lookahead, when has_peek */
	int has_peek;
	const char *name;
	cedar_arena *a;
	char *err;
	size_t errlen;
	int failed;
	int depth;
} cedar_parser;

void cp_next(cedar_parser *p);
cedar_token cp_peek(cedar_parser *p);
/* Records "name:line:col: expected WHAT, found TOKEN" once; returns -1. */
int cp_expected(cedar_parser *p, const char *what);
/* Records "name:line:col: MSG" at offset off once; returns -1. */
int cp_error_at(cedar_parser *p, size_t off, const char *msg);
/* The current token's text, copied into the arena (the policy text is
 * not kept after parsing); an empty string on allocation failure, which
 * also fails the parse. */
cedar_str cp_ident(cedar_parser *p);
int cp_expect(cedar_parser *p, cedar_tok t, const char *what);
/* After a list element: a ',' (consumed; a trailing one before close is
 * allowed, as in Cedar's grammar) or the closing token (left in place). */
int cp_list_sep(cedar_parser *p, cedar_tok close, const char *what);
/* Refuses Cedar's reserved words and `__cedar` as an attribute name,
 * record key or part of a name; 0 when the identifier s[0..n) may be used. */
int cp_check_ident(cedar_parser *p, size_t off, const char *s, size_t n);
int cp_is_ident(const cedar_parser *p, const char *word);
/* A string token's decoded body. */
int cp_string(cedar_parser *p, cedar_str *out);
/* `Path::"id"` starting at the current identifier. */
int cp_entity_ref(cedar_parser *p, cedar_uid *out);
/* `Ident {:: Ident}` (not followed by a string); joined with "::". */
int cp_path(cedar_parser *p, cedar_str *out);
cedar_expr *cp_expr(cedar_parser *p);

int cedar_pattern_compile(cedar_arena *a, const char *s, size_t n,
    cedar_pat **out, size_t *nout, size_t *bad_off);

#endif

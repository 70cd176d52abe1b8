/*
 * Cedar policy lexer, shared by the parser files: tokens carry a byte span
 * into the source text; string bodies are decoded by the parser.
 */
#ifndef MDT_CEDAR_LEXER_INT_H
#define MDT_CEDAR_LEXER_INT_H

#include <stddef.h>
#include <stdint.h>

typedef enum cedar_tok {
	T_EOF, T_ERR, T_IDENT, T_STR, T_INT,
	T_AT, T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_LBRACKET, T_RBRACKET,
	T_COMMA, T_SEMI, T_COLONCOLON, T_COLON, T_DOT, T_EQ, T_NE, T_LT, T_LE,
	T_GT, T_GE, T_AND, T_OR, T_NOT, T_PLUS, T_MINUS, T_STAR, T_QUESTION,
	T_ASSIGN
} cedar_tok;

typedef struct cedar_token {
	cedar_tok kind;
	size_t off, len;   /* span in the text; for T_STR the body only */
} cedar_token;

typedef struct cedar_lexer {
	const char *text;
	size_t len, pos;
	const char *errmsg;   /* set with T_ERR */
} cedar_lexer;

void cedar_lex_init(cedar_lexer *lx, const char *text, size_t len);
cedar_token cedar_lex_next(cedar_lexer *lx);
const char *cedar_tok_name(cedar_tok t);

#endif

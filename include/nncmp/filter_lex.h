/*
 * filter_lex.h — the filter module's lexer and the parser state it shares with the parser, private
 * to the filter module: only src/core/filter_lex.c and src/core/filter_parse.c include it.
 *
 * filter_lex.c turns the source text into tokens (filter_lex_next) and records the first error
 * with its column (filter_fail); filter_parse.c builds the tree (filter_tree.h) from the tokens.
 * A token's decoded string is owned by the token until a node takes it.
 */
#ifndef NNCMP_FILTER_LEX_H
#define NNCMP_FILTER_LEX_H

#include <stdbool.h>
#include <stddef.h>

#include "nncmp/filter_tree.h"
#include "nncmp/util.h"

/* Deepest nesting of parentheses, `not`, unary minus and function arguments. */
#define MAX_DEPTH 200
/* Bytes of user text quoted in a message before it is cut with "...". */
#define CLIP_BYTES 40

enum tok_kind {
	T_END,
	T_ERR, /* a lexical error, already reported */
	T_NUM,
	T_STR,
	T_NAME,
	T_LP,
	T_RP,
	T_COMMA,
	T_AND,
	T_OR,
	T_NOT,
	T_MINUS,
	T_EQ,
	T_NE,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
	T_MATCH,
};

struct tok {
	enum tok_kind kind;
	size_t pos, len; /* bytes into the source */
	double num;      /* T_NUM */
	char *str;       /* T_STR: the decoded text, owned by the token until a node takes it */
};

struct parser {
	const struct study *s;
	const char *src;
	size_t len;
	size_t at; /* next byte to lex */
	struct tok tok;
	int depth;
	struct node *nodes;
	bool failed;
	struct nn_err err;
	size_t err_col;
};

static inline int uc(char c)
{
	return (unsigned char)c;
}

static inline bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static inline bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* A comma-separated list of names for a message, cut with "..." when it grows long. */
struct joiner {
	char buf[240];
	size_t len;
	bool full;
};

void filter_join_add(struct joiner *j, const char *name);

/* Copies text[0..n) into buf (at least CLIP_BYTES + 4 bytes) for a message: cut at a character
 * boundary with "..." when long, control characters shown as '?'. Returns buf. */
const char *filter_clip(const char *text, size_t n, char *buf);

/* Records the first error, at byte pos of the source. Returns NULL for `return filter_fail(...)`.
 */
void *filter_fail(struct parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads the next token into p->tok, dropping the current one. */
void filter_lex_next(struct parser *p);

#endif

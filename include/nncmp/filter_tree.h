/*
 * filter_tree.h — the compiled form of a filter or sort expression, private to the filter module.
 *
 * Only the filter module (src/core/filter_*.c) includes this header; everyone else sees
 * struct expr through filter.h as an opaque type. filter_parse.c builds the tree (expr_compile)
 * and frees it (expr_free); filter_eval.c reads it, and expr_gather() turns its float32 act()
 * nodes into N_FLOATS over columns it gathered (owned by the node). Every node is owned by its
 * expression (the next_alloc list) and lives until expr_free(); the arrays and names a node points
 * into are borrowed from the study and live as long as it does.
 */
#ifndef NNCMP_FILTER_TREE_H
#define NNCMP_FILTER_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/filter.h"
#include "nncmp/study.h"

enum type { TY_BOOL, TY_NUM, TY_CLASS, TY_STR };

enum kind {
	/* conditions */
	N_AND,
	N_OR,
	N_NOT,
	N_CMP_NUM,
	N_CMP_CONST, /* N_CMP_NUM with a constant on the right, the common case */
	N_CMP_STR,
	N_CMP_BOOL,
	N_MATCH_STR,
	N_MATCH_CLASS,
	N_STATUS, /* decided, relabelled, kept, removed: num is the status, -1 for decided */
	/* numbers and classes */
	N_CONST,
	N_INTS,   /* gt */
	N_PRED,   /* a model's prediction */
	N_CONF,   /* conf(model) */
	N_MARGIN, /* margin(model) */
	N_FLOATS, /* a gathered column */
	N_PROB,
	N_PROB_LOGIT,
	N_ACT,
	N_ACT_F32, /* N_ACT over native float32 in C order, read directly */
	N_ISSUE,
	N_CORRECT,
	N_INDEX,
	N_NEG,
	/* strings */
	N_STR_CONST,
	N_STR_ARRAY, /* split, text */
	N_ID,
};

enum cmp { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };

struct node {
	enum kind kind;
	enum type type;
	enum cmp op;
	bool literal;    /* written as a number or quoted string */
	size_t pos, end; /* source span in bytes, for messages */
	struct node *a, *b;
	struct node **kids; /* N_AND, N_OR; owned */
	size_t n_kids, cap_kids;
	double num;                /* N_CONST */
	const int32_t *ints;       /* N_INTS */
	const double *floats;      /* N_FLOATS */
	const struct model *model; /* N_PRED, N_CONF, N_MARGIN (study.h's accessors) */
	double *gathered;          /* N_FLOATS made by expr_gather: floats, owned */
	const struct npy *arr;     /* N_ACT, N_PROB*; the class comes from b */
	size_t col;                /* N_ACT */
	char *str;                 /* N_STR_CONST text, N_MATCH_* needle in lower case; owned */
	size_t str_len;            /* N_MATCH_* */
	bool *class_hit;           /* N_MATCH_CLASS: whether each class name matches; owned */
	char *const *strs;         /* N_STR_ARRAY */
	const struct study *s;     /* N_ISSUE, N_CORRECT, N_ID, N_MATCH_CLASS, N_STATUS */
	struct node *next_alloc;   /* every node of a parse, for freeing */
};

struct expr {
	struct node *root;
	struct node *nodes;
	size_t height; /* levels of the tree, for expr_select's scratch space */
};

/* Lower-cases an ASCII letter; any other byte value is returned as it is. */
int filter_fold(int c);

/*
 * True when needle (nlen bytes, already folded with filter_fold) occurs in the NUL-terminated hay,
 * ignoring ASCII case. The parser folds `~` needles and precomputes class matches with it; the
 * evaluator matches strings with it.
 */
bool filter_contains_folded(const char *hay, const char *needle, size_t nlen);

#endif

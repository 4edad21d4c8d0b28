/*
 * filter_eval.c — evaluating a compiled filter or sort expression (the tree of
 * include/nncmp/filter_tree.h, built by filter_parse.c). expr_match() and expr_value() walk the
 * tree for one instance; expr_select() walks it for BLOCK instances at a time, with a tight loop
 * per node for the common kinds and the per-row walk as the fallback for the others. Types, names
 * and data were checked when the expression was compiled, so evaluation never fails; it is
 * read-only and allocates nothing per instance (expr_select() takes one scratch buffer per call).
 */
#include "nncmp/filter.h"
#include "nncmp/filter_tree.h"
#include "nncmp/neurons.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int uc(char c)
{
	return (unsigned char)c;
}

int filter_fold(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

bool filter_contains_folded(const char *hay, const char *needle, size_t nlen)
{
	if (nlen == 0)
		return true;
	int first = uc(needle[0]);
	for (const char *h = hay; *h; h++) {
		if (filter_fold(uc(*h)) != first)
			continue;
		size_t k = 1;
		while (k < nlen && h[k] && filter_fold(uc(h[k])) == uc(needle[k]))
			k++;
		if (k == nlen)
			return true;
		if (!h[k])
			return false;
	}
	return false;
}

static double softmax_at(const struct npy *a, size_t i, size_t c)
{
	double mx = -INFINITY, sum = 0;
	for (size_t j = 0; j < a->cols; j++) {
		double x = npy_at(a, i, j);
		if (x > mx)
			mx = x;
	}
	for (size_t j = 0; j < a->cols; j++)
		sum += exp(npy_at(a, i, j) - mx);
	return exp(npy_at(a, i, c) - mx) / sum;
}

static double eval_num(const struct node *n, size_t i)
{
	switch (n->kind) {
	case N_CONST:
		return n->num;
	case N_INTS:
		return n->ints[i];
	case N_PRED:
		return model_pred(n->model, i);
	case N_CONF:
		return model_conf(n->model, i);
	case N_MARGIN:
		return model_margin(n->model, i);
	case N_FLOATS:
		return n->floats[i];
	case N_ACT:
		return npy_at(n->arr, i, n->col);
	case N_ACT_F32: {
		float f;
		memcpy(&f, n->arr->data + (i * n->arr->cols + n->col) * 4, 4);
		return f;
	}
	case N_PROB:
	case N_PROB_LOGIT: {
		double c = eval_num(n->b, i);
		if (!(c >= 0 && c < (double)n->arr->cols))
			return NAN;
		if (n->kind == N_PROB)
			return npy_at(n->arr, i, (size_t)c);
		return softmax_at(n->arr, i, (size_t)c);
	}
	case N_ISSUE:
		return study_issue_score(n->s, i);
	case N_CORRECT: {
		unsigned right = 0;
		for (size_t k = 0; k < n->s->n_models; k++)
			right += model_pred(&n->s->models[k], i) == n->s->labels[i];
		return right;
	}
	case N_INDEX:
		return (double)i;
	case N_NEG:
		return -eval_num(n->a, i);
	default:
		return NAN; /* not a number: the compiler never builds this */
	}
}

/* The string value for instance i, or NULL when the instance has none; buf holds 32 bytes. */
static const char *eval_str(const struct node *n, size_t i, char *buf)
{
	switch (n->kind) {
	case N_STR_CONST:
		return n->str;
	case N_STR_ARRAY:
		return n->strs[i];
	case N_ID:
		return study_instance_id(n->s, i, buf, 32);
	default:
		return NULL;
	}
}

/* Applies a comparison; false when either side is NaN, != included. */
static bool cmp_num(enum cmp op, double x, double y)
{
	switch (op) {
	case C_EQ:
		return x == y;
	case C_NE:
		return x < y || x > y;
	case C_LT:
		return x < y;
	case C_LE:
		return x <= y;
	case C_GT:
		return x > y;
	case C_GE:
		return x >= y;
	}
	return false;
}

static bool eval_bool(const struct node *n, size_t i)
{
	switch (n->kind) {
	case N_STATUS: {
		enum decision_status st = study_status(n->s, i);
		return n->num < 0 ? st != STATUS_UNDECIDED : st == (enum decision_status)n->num;
	}
	case N_AND:
		for (size_t k = 0; k < n->n_kids; k++)
			if (!eval_bool(n->kids[k], i))
				return false;
		return true;
	case N_OR:
		for (size_t k = 0; k < n->n_kids; k++)
			if (eval_bool(n->kids[k], i))
				return true;
		return false;
	case N_NOT:
		return !eval_bool(n->a, i);
	case N_CMP_NUM:
		return cmp_num(n->op, eval_num(n->a, i), eval_num(n->b, i));
	case N_CMP_CONST:
		return cmp_num(n->op, eval_num(n->a, i), n->num);
	case N_CMP_BOOL:
		return (eval_bool(n->a, i) == eval_bool(n->b, i)) == (n->op == C_EQ);
	case N_CMP_STR: {
		char ba[32], bb[32];
		const char *x = eval_str(n->a, i, ba), *y = eval_str(n->b, i, bb);
		if (!x || !y)
			return false;
		return cmp_num(n->op, strcmp(x, y), 0);
	}
	case N_MATCH_STR: {
		char buf[32];
		const char *x = eval_str(n->a, i, buf);
		return x && filter_contains_folded(x, n->str, n->str_len);
	}
	case N_MATCH_CLASS: {
		double c = eval_num(n->a, i);
		return c >= 0 && c < (double)n->s->n_classes && n->class_hit[(size_t)c];
	}
	default:
		return false; /* not a condition: the compiler never builds this */
	}
}

/*
 * Block evaluation for expr_select: each node handles BLOCK rows at once in a tight loop, which
 * beats walking the tree per row several times over. The common kinds have block loops; the
 * others fall back to the per-row evaluator. A node at tree level L keeps its temporaries in
 * slot L, so the scratch space is one slot per level.
 */
#define BLOCK 256

struct slot {
	double a[BLOCK], b[BLOCK];
	uint8_t m[BLOCK], l[BLOCK];
};

/* v[k] = value n on row i0 + k, for the rows where live[k] is set (all when live is NULL). */
static void block_num(const struct node *n, size_t i0, size_t cnt, double *v, const uint8_t *live,
                      struct slot *sl)
{
	switch (n->kind) {
	case N_CONST:
		for (size_t k = 0; k < cnt; k++)
			v[k] = n->num;
		return;
	case N_INTS:
		for (size_t k = 0; k < cnt; k++)
			v[k] = n->ints[i0 + k];
		return;
	case N_PRED:
		for (size_t k = 0; k < cnt; k++)
			v[k] = model_pred(n->model, i0 + k);
		return;
	case N_CONF:
		for (size_t k = 0; k < cnt; k++)
			v[k] = model_conf(n->model, i0 + k);
		return;
	case N_MARGIN:
		for (size_t k = 0; k < cnt; k++)
			v[k] = model_margin(n->model, i0 + k);
		return;
	case N_FLOATS:
		memcpy(v, n->floats + i0, cnt * sizeof *v);
		return;
	case N_ACT_F32: {
		const uint8_t *data = n->arr->data;
		size_t cols = n->arr->cols;
		for (size_t k = 0; k < cnt; k++) {
			float f;
			memcpy(&f, data + ((i0 + k) * cols + n->col) * 4, 4);
			v[k] = f;
		}
		return;
	}
	case N_INDEX:
		for (size_t k = 0; k < cnt; k++)
			v[k] = (double)(i0 + k);
		return;
	case N_NEG:
		block_num(n->a, i0, cnt, v, live, sl + 1);
		for (size_t k = 0; k < cnt; k++)
			v[k] = -v[k];
		return;
	default:
		for (size_t k = 0; k < cnt; k++)
			v[k] = !live || live[k] ? eval_num(n, i0 + k) : 0;
		return;
	}
}

/* m[k] = x[k] op y[k]; y is a constant when ystep is 0. */
static void block_cmp(enum cmp op, const double *x, const double *y, size_t ystep, size_t cnt,
                      uint8_t *m)
{
	switch (op) {
	case C_EQ:
		for (size_t k = 0; k < cnt; k++)
			m[k] = x[k] == y[k * ystep];
		return;
	case C_NE:
		for (size_t k = 0; k < cnt; k++)
			m[k] = (x[k] < y[k * ystep]) | (x[k] > y[k * ystep]);
		return;
	case C_LT:
		for (size_t k = 0; k < cnt; k++)
			m[k] = x[k] < y[k * ystep];
		return;
	case C_LE:
		for (size_t k = 0; k < cnt; k++)
			m[k] = x[k] <= y[k * ystep];
		return;
	case C_GT:
		for (size_t k = 0; k < cnt; k++)
			m[k] = x[k] > y[k * ystep];
		return;
	case C_GE:
		for (size_t k = 0; k < cnt; k++)
			m[k] = x[k] >= y[k * ystep];
		return;
	}
}

/* True when any of m[0..cnt) is set. */
static bool block_any(const uint8_t *m, size_t cnt)
{
	return memchr(m, 1, cnt) != NULL;
}

/*
 * m[k] = condition n on row i0 + k, for the rows where live[k] is set (all rows when live is
 * NULL); elsewhere m[k] is left undefined. The live mask lets and/or skip the per-row fallback on
 * rows that are already decided, as the per-row evaluator's short circuit does.
 */
static void block_bool(const struct node *n, size_t i0, size_t cnt, uint8_t *m, const uint8_t *live,
                       struct slot *sl)
{
	switch (n->kind) {
	case N_AND:
		block_bool(n->kids[0], i0, cnt, m, live, sl + 1);
		if (live)
			for (size_t k = 0; k < cnt; k++)
				m[k] &= live[k];
		for (size_t j = 1; j < n->n_kids && block_any(m, cnt); j++) {
			block_bool(n->kids[j], i0, cnt, sl->m, m, sl + 1);
			for (size_t k = 0; k < cnt; k++)
				m[k] &= sl->m[k];
		}
		return;
	case N_OR:
		block_bool(n->kids[0], i0, cnt, m, live, sl + 1);
		for (size_t j = 1; j < n->n_kids; j++) {
			/* the rows still to decide */
			for (size_t k = 0; k < cnt; k++)
				sl->l[k] = (live ? live[k] : 1) & !m[k];
			if (!block_any(sl->l, cnt))
				break;
			block_bool(n->kids[j], i0, cnt, sl->m, sl->l, sl + 1);
			for (size_t k = 0; k < cnt; k++)
				m[k] |= sl->m[k] & sl->l[k];
		}
		return;
	case N_NOT:
		block_bool(n->a, i0, cnt, m, live, sl + 1);
		for (size_t k = 0; k < cnt; k++)
			m[k] ^= 1;
		return;
	case N_CMP_CONST:
		block_num(n->a, i0, cnt, sl->a, live, sl + 1);
		block_cmp(n->op, sl->a, &n->num, 0, cnt, m);
		return;
	case N_CMP_NUM:
		block_num(n->a, i0, cnt, sl->a, live, sl + 1);
		block_num(n->b, i0, cnt, sl->b, live, sl + 1);
		block_cmp(n->op, sl->a, sl->b, 1, cnt, m);
		return;
	default:
		for (size_t k = 0; k < cnt; k++)
			m[k] = (!live || live[k]) && eval_bool(n, i0 + k);
		return;
	}
}

bool expr_is_bool(const struct expr *e)
{
	return !e || e->root->type == TY_BOOL;
}

bool expr_match(const struct expr *e, size_t i)
{
	if (!e)
		return true;
	if (e->root->type == TY_BOOL)
		return eval_bool(e->root, i);
	double v = eval_num(e->root, i);
	return v != 0 && !isnan(v);
}

static void gather_node(struct node *n, const uint32_t *idx, size_t count)
{
	if (!n)
		return;
	if (n->kind == N_ACT_F32) {
		double *col = xmalloc((n->arr->rows ? n->arr->rows : 1) * sizeof *col);
		for (size_t k = 0; k < n->arr->rows; k++)
			col[k] = NAN;
		if (neurons_gather_column(n->arr, n->col, idx, count, col)) {
			n->kind = N_FLOATS;
			n->floats = n->gathered = col;
		} else {
			free(col);
		}
		return;
	}
	gather_node(n->a, idx, count);
	gather_node(n->b, idx, count);
	for (size_t k = 0; k < n->n_kids; k++)
		gather_node(n->kids[k], idx, count);
}

int expr_read_error(const struct expr *e, struct nn_err *err)
{
	for (const struct node *n = e ? e->nodes : NULL; n; n = n->next_alloc)
		if (n->arr && npy_read_error(n->arr, err) < 0)
			return -1;
	return 0;
}

void expr_gather(struct expr *e, const uint32_t *idx, size_t n)
{
	gather_node(e->root, idx, n);
}

double expr_value(const struct expr *e, size_t i)
{
	if (!e)
		return NAN;
	if (e->root->type == TY_BOOL)
		return eval_bool(e->root, i) ? 1.0 : 0.0;
	return eval_num(e->root, i);
}

size_t expr_select(const struct expr *e, const struct study *s, uint32_t *out)
{
	size_t n = s->n, k = 0;
	if (!e) {
		for (size_t i = 0; i < n; i++)
			out[i] = (uint32_t)i;
		return n;
	}
	const struct node *root = e->root;
	struct slot *sl = xreallocarray(NULL, e->height + 1, sizeof *sl);
	uint8_t m[BLOCK];
	for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
		size_t cnt = n - i0 < BLOCK ? n - i0 : BLOCK;
		if (root->type == TY_BOOL) {
			block_bool(root, i0, cnt, m, NULL, sl);
		} else {
			/* a sort key used as a filter: neither 0 nor NaN */
			block_num(root, i0, cnt, sl->a, NULL, sl + 1);
			for (size_t j = 0; j < cnt; j++)
				m[j] = sl->a[j] != 0 && !isnan(sl->a[j]);
		}
		for (size_t j = 0; j < cnt; j++) {
			out[k] = (uint32_t)(i0 + j);
			k += m[j];
		}
	}
	free(sl);
	return k;
}

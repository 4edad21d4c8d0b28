/*
 * filter_parse.c — compiling filter and sort expressions: a recursive-descent parser over the
 * tokens of filter_lex.c builds a typed tree (include/nncmp/filter_tree.h), which filter_eval.c
 * walks: expr_match() and expr_value() for one instance, expr_select() for blocks of instances at a
 * time (the block loops are several times faster than one walk per row).
 *
 * Every value has a type fixed at compile time: a condition, a number, a class or a string. Type
 * errors, unknown names and missing data are reported by expr_compile(), so evaluation never
 * fails. Evaluation allocates nothing per instance: expr_select() takes one scratch buffer per
 * call. `and` and `or` keep their operands in a flat list, so a long chain is not a deep tree;
 * nesting (parentheses, not, unary minus, function arguments) stops at MAX_DEPTH levels.
 *
 * Choices the header leaves open:
 *  - Lookup order of a bare name: the keywords and/or/not (any case), the built-in names (gt,
 *    given, split, issue, text, id, index, correct (also `right`), and the decision conditions
 * decided, relabelled, kept, removed), then model names, then class names. A quoted string compared
 * with a class always names a class, so `gt == "mlp"` reaches a class hidden by a model called mlp.
 *  - Names are [A-Za-z_][A-Za-z0-9_.-]*, and bytes above 0x7f count as letters so that UTF-8
 *    class names need no quotes. Because '-' is a name character, `index-1` is one name.
 *  - Missing samples.jsonl fields: naming `split` or `text` in a study that has none is a compile
 *    error ("the study has no texts"), so a filter never matches nothing in silence. `id` falls
 *    back to the instance index as text, as study_instance_id() does. A single instance whose
 *    entry is NULL fails every comparison, like NaN does.
 *  - Comparisons: numbers and classes compare numerically (a class by its id, so `gt == 3` and
 *    `gt < 2` work); a quoted string beside a class names a class; strings compare byte-wise and
 *    only with strings; conditions compare with == and != only. `~` takes a string or a class
 *    (matched by name) on its left and a quoted string on its right. Comparisons do not chain.
 *  - p(M, CLASS) takes a class name, a quoted class name, a class id, or any class value such as
 *    gt. For models given as logits it applies the softmax.
 *  - Columns count characters (UTF-8 code points) from 1, not bytes.
 *  - expr_match() on a sort key is true when the value is neither 0 nor NaN; expr_value() on a
 *    filter is 1 or 0. A NULL expression is a filter that matches everything.
 */
#include "nncmp/filter.h"
#include "nncmp/filter_lex.h"
#include "nncmp/filter_tree.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- parser ----------------------------------------------------------------------------- */

static struct node *parse_or(struct parser *p);
static struct node *parse_value(struct parser *p);

static struct node *node_new(struct parser *p, enum kind kind, enum type type, size_t pos,
                             size_t end)
{
	struct node *n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->type = type;
	n->pos = pos;
	n->end = end;
	n->s = p->s;
	n->next_alloc = p->nodes;
	p->nodes = n;
	return n;
}

static void nodes_free(struct node *n)
{
	while (n) {
		struct node *next = n->next_alloc;
		free(n->kids);
		free(n->str);
		free(n->class_hit);
		free(n->gathered);
		free(n);
		n = next;
	}
}

static size_t node_height(const struct node *n)
{
	size_t h = 0;
	if (n->a)
		h = node_height(n->a);
	if (n->b) {
		size_t bh = node_height(n->b);
		if (bh > h)
			h = bh;
	}
	for (size_t k = 0; k < n->n_kids; k++) {
		size_t kh = node_height(n->kids[k]);
		if (kh > h)
			h = kh;
	}
	return h + 1;
}

static void kid_push(struct node *n, struct node *kid)
{
	if (n->n_kids == n->cap_kids) {
		n->cap_kids = n->cap_kids ? n->cap_kids * 2 : 4;
		n->kids = xreallocarray(n->kids, n->cap_kids, sizeof *n->kids);
	}
	n->kids[n->n_kids++] = kid;
	n->end = kid->end;
}

static bool enter(struct parser *p, size_t pos)
{
	if (++p->depth <= MAX_DEPTH)
		return true;
	filter_fail(p, pos, "expression nested too deeply (more than %d levels)", MAX_DEPTH);
	return false;
}

static const char *type_name(enum type t)
{
	switch (t) {
	case TY_BOOL:
		return "a condition";
	case TY_NUM:
		return "a number";
	case TY_CLASS:
		return "a class";
	case TY_STR:
		return "a string";
	}
	return "?";
}

/* The source text of n, for a message. */
static const char *span(const struct parser *p, const struct node *n, char *buf)
{
	return filter_clip(p->src + n->pos, n->end - n->pos, buf);
}

/* How to call n in "cannot compare X with Y": a literal by its type, anything else by its text. */
static const char *describe(const struct parser *p, const struct node *n, char *buf)
{
	if (n->literal || n->type == TY_BOOL)
		return type_name(n->type);
	return span(p, n, buf);
}

/* The current token for "expected ')', found X". */
static const char *tok_desc(const struct parser *p, char *buf)
{
	if (p->tok.kind == T_END)
		return "the end";
	buf[0] = '\'';
	filter_clip(p->src + p->tok.pos, p->tok.len, buf + 1);
	strcat(buf, "'");
	return buf;
}

static bool want_bool(struct parser *p, const struct node *n)
{
	if (n->type == TY_BOOL)
		return true;
	char buf[CLIP_BYTES + 4];
	filter_fail(p, n->pos, "expected a condition, but %s is %s", span(p, n, buf),
	            type_name(n->type));
	return false;
}

static bool expect(struct parser *p, enum tok_kind kind, const char *what)
{
	if (p->tok.kind == kind)
		return true;
	if (p->tok.kind != T_ERR) {
		char buf[CLIP_BYTES + 8];
		filter_fail(p, p->tok.pos, "expected %s, found %s", what, tok_desc(p, buf));
	}
	return false;
}

/* Turns a quoted string into the class of that name. */
static bool string_to_class(struct parser *p, struct node *n)
{
	int c = study_class_index(p->s, n->str);
	if (c < 0) {
		char buf[CLIP_BYTES + 4];
		filter_fail(p, n->pos, "unknown class '%s'",
		            filter_clip(n->str, strlen(n->str), buf));
		return false;
	}
	free(n->str);
	n->str = NULL;
	n->kind = N_CONST;
	n->type = TY_CLASS;
	n->num = c;
	n->literal = false;
	return true;
}

/* Checks a class argument: a class value, a quoted class name or a literal class id. */
static bool want_class(struct parser *p, struct node *n, const char *fn)
{
	if (n->type == TY_CLASS)
		return true;
	if (n->literal && n->type == TY_STR)
		return string_to_class(p, n);
	if (n->kind == N_CONST && n->type == TY_NUM) {
		double v = n->num;
		if (v >= 0 && v < (double)p->s->n_classes && v == floor(v)) {
			n->type = TY_CLASS;
			return true;
		}
		if (p->s->n_classes == 0)
			filter_fail(p, n->pos, "no class %g: the study has no classes", v);
		else
			filter_fail(p, n->pos, "no class %g (class ids are 0 to %zu)", v,
			            p->s->n_classes - 1);
		return false;
	}
	char buf[CLIP_BYTES + 4];
	filter_fail(p, n->pos, "%s() needs a class, but %s is %s", fn, span(p, n, buf),
	            type_name(n->type));
	return false;
}

static const struct model *find_model(struct parser *p, const char *name, size_t pos)
{
	int k = study_model_index(p->s, name);
	if (k >= 0)
		return &p->s->models[k];
	char buf[CLIP_BYTES + 4];
	struct joiner j = {.len = 0};
	for (size_t m = 0; m < p->s->n_models; m++)
		filter_join_add(&j, p->s->models[m].name);
	if (p->s->n_models == 0)
		filter_fail(p, pos, "unknown model '%s' (the study has no models)",
		            filter_clip(name, strlen(name), buf));
	else
		filter_fail(p, pos, "unknown model '%s' (models: %s)",
		            filter_clip(name, strlen(name), buf), j.buf);
	return NULL;
}

/* act(MODEL.LAYER.UNIT): the argument is read raw up to ')', since layer names hold dots. */
static struct node *parse_act(struct parser *p, size_t name_pos, size_t lp)
{
	const char *src = p->src;
	size_t a = lp + 1, b = a;
	while (b < p->len && src[b] != ')')
		b++;
	if (b >= p->len)
		return filter_fail(p, lp, "unclosed '('");
	size_t close = b;
	while (a < b && is_space(uc(src[a])))
		a++;
	while (b > a && is_space(uc(src[b - 1])))
		b--;
	const char *d1 = memchr(src + a, '.', b - a), *d2 = d1;
	for (const char *q = d1; q && q < src + b; q++)
		if (*q == '.')
			d2 = q;
	if (!d1 || d1 == d2 || d1 == src + a || d2 == d1 + 1 || d2 + 1 == src + b)
		return filter_fail(p, a, "act() needs model.layer.unit, such as act(cnn.fc1.0)");
	size_t lpos = (size_t)(d1 + 1 - src), upos = (size_t)(d2 + 1 - src);
	char *mname = xstrndup(src + a, (size_t)(d1 - (src + a)));
	char *lname = xstrndup(d1 + 1, (size_t)(d2 - d1 - 1));
	char buf[CLIP_BYTES + 4], buf2[CLIP_BYTES + 4];
	struct node *n = NULL;
	const struct model *m = find_model(p, mname, a);
	if (!m)
		goto out;
	int li = study_layer_index(m, lname);
	if (li < 0) {
		struct joiner j = {.len = 0};
		for (size_t k = 0; k < m->n_layers; k++)
			filter_join_add(&j, m->layers[k].name);
		if (m->n_layers == 0)
			filter_fail(p, lpos, "model '%s' has no layers",
			            filter_clip(mname, strlen(mname), buf));
		else
			filter_fail(p, lpos, "model '%s' has no layer '%s' (layers: %s)",
			            filter_clip(mname, strlen(mname), buf),
			            filter_clip(lname, strlen(lname), buf2), j.buf);
		goto out;
	}
	const struct layer *l = &m->layers[li];
	if (!l->act_path || l->act.rows < p->s->n) {
		filter_fail(p, lpos, "layer '%s' of model '%s' has no activations",
		            filter_clip(lname, strlen(lname), buf),
		            filter_clip(mname, strlen(mname), buf2));
		goto out;
	}
	size_t unit = 0;
	for (size_t k = upos; k < b; k++) {
		if (!is_digit(uc(src[k]))) {
			filter_fail(p, upos, "act() unit '%s' is not a whole number",
			            filter_clip(src + upos, b - upos, buf));
			goto out;
		}
		if (unit < l->act.cols)
			unit = unit * 10 + (size_t)(src[k] - '0');
	}
	if (unit >= l->act.cols) {
		filter_fail(p, upos, "unit %s is out of range: layer '%s' has %zu units",
		            filter_clip(src + upos, b - upos, buf),
		            filter_clip(lname, strlen(lname), buf2), l->act.cols);
		goto out;
	}
	const struct npy_header *h = &l->act.h;
	bool f32 = h->kind == NPY_FLOAT && h->itemsize == 4 && !h->swap && !h->fortran &&
	           npy_contiguous(&l->act);
	n = node_new(p, f32 ? N_ACT_F32 : N_ACT, TY_NUM, name_pos, close + 1);
	n->arr = &l->act;
	n->col = unit;
	p->at = close + 1;
	filter_lex_next(p);
out:
	free(mname);
	free(lname);
	return n;
}

/* conf(M), margin(M), p(M, CLASS); the current token is the first argument. */
static struct node *parse_model_fn(struct parser *p, const char *fn, size_t name_pos)
{
	if (p->tok.kind != T_NAME && p->tok.kind != T_STR) {
		if (p->tok.kind == T_ERR)
			return NULL;
		char buf[CLIP_BYTES + 8];
		return filter_fail(p, p->tok.pos, "%s() needs a model name, found %s", fn,
		                   tok_desc(p, buf));
	}
	size_t mpos = p->tok.pos;
	char *mname =
	    p->tok.kind == T_STR ? xstrdup(p->tok.str) : xstrndup(p->src + p->tok.pos, p->tok.len);
	const struct model *m = find_model(p, mname, mpos);
	char buf[CLIP_BYTES + 4];
	filter_clip(mname, strlen(mname), buf);
	free(mname);
	if (!m)
		return NULL;
	bool is_p = strcmp(fn, "p") == 0;
	if (m->src == SRC_PRED || !model_has_probs(m))
		return filter_fail(p, mpos, "model '%s' has only predictions", buf);
	if (is_p ? !m->probs.data || m->probs.cols != p->s->n_classes || m->probs.rows < p->s->n
	         : !model_has_probs(m))
		return filter_fail(p, mpos, "model '%s' has no usable %s", buf,
		                   is_p ? "probabilities" : "margins");
	filter_lex_next(p);
	struct node *n;
	if (is_p) {
		if (!expect(p, T_COMMA, "',' and a class"))
			return NULL;
		filter_lex_next(p);
		if (!enter(p, p->tok.pos))
			return NULL;
		struct node *c = parse_value(p);
		p->depth--;
		if (!c || !want_class(p, c, fn))
			return NULL;
		n = node_new(p, m->src == SRC_LOGITS ? N_PROB_LOGIT : N_PROB, TY_NUM, name_pos, 0);
		n->arr = &m->probs;
		n->b = c;
	} else {
		n = node_new(p, strcmp(fn, "conf") == 0 ? N_CONF : N_MARGIN, TY_NUM, name_pos, 0);
		n->model = m;
	}
	if (!expect(p, T_RP, "')'"))
		return NULL;
	n->end = p->tok.pos + 1;
	filter_lex_next(p);
	return n;
}

static struct node *parse_call(struct parser *p, size_t lp)
{
	const char *name = p->src + p->tok.pos;
	size_t n = p->tok.len, pos = p->tok.pos;
	if (n == 3 && memcmp(name, "act", 3) == 0)
		return parse_act(p, pos, lp);
	const char *fn = n == 4 && memcmp(name, "conf", 4) == 0     ? "conf"
	                 : n == 6 && memcmp(name, "margin", 6) == 0 ? "margin"
	                 : n == 1 && name[0] == 'p'                 ? "p"
	                                                            : NULL;
	if (!fn) {
		char buf[CLIP_BYTES + 4];
		return filter_fail(p, pos,
		                   "unknown function '%s' (functions: conf, margin, p, act)",
		                   filter_clip(name, n, buf));
	}
	p->at = lp + 1;
	filter_lex_next(p);
	return parse_model_fn(p, fn, pos);
}

/* The status a decision word names (-1 for decided, any decision), or -2 for other words. */
static int status_word(const char *name)
{
	static const struct {
		const char *word;
		int status;
	} words[] = {{"decided", -1},
	             {"relabelled", STATUS_RELABELLED},
	             {"kept", STATUS_KEPT},
	             {"removed", STATUS_REMOVED}};
	for (size_t k = 0; k < sizeof words / sizeof *words; k++)
		if (strcmp(name, words[k].word) == 0)
			return words[k].status;
	return -2;
}

static struct node *parse_name(struct parser *p)
{
	const struct study *s = p->s;
	size_t pos = p->tok.pos, len = p->tok.len, end = pos + len, k = p->at;
	while (is_space(uc(p->src[k])))
		k++;
	if (p->src[k] == '(')
		return parse_call(p, k);
	char *name = xstrndup(p->src + pos, len);
	char buf[CLIP_BYTES + 4];
	struct node *n = NULL;
	int m, c;
	if (strcmp(name, "gt") == 0) {
		n = node_new(p, N_INTS, TY_CLASS, pos, end);
		n->ints = s->labels;
	} else if (strcmp(name, "given") == 0) {
		n = node_new(p, N_INTS, TY_CLASS, pos, end);
		n->ints = study_given(s);
	} else if ((c = status_word(name)) != -2) {
		n = node_new(p, N_STATUS, TY_BOOL, pos, end);
		n->num = c;
		n->s = s;
	} else if (strcmp(name, "split") == 0 || strcmp(name, "text") == 0) {
		char *const *arr = name[0] == 's' ? s->splits : s->texts;
		if (!arr) {
			filter_fail(p, pos, "the study has no %ss", name);
		} else {
			n = node_new(p, N_STR_ARRAY, TY_STR, pos, end);
			n->strs = arr;
		}
	} else if (strcmp(name, "id") == 0) {
		n = node_new(p, N_ID, TY_STR, pos, end);
	} else if (strcmp(name, "issue") == 0) {
		n = node_new(p, N_ISSUE, TY_NUM, pos, end);
	} else if (strcmp(name, "index") == 0) {
		n = node_new(p, N_INDEX, TY_NUM, pos, end);
	} else if (strcmp(name, "correct") == 0 || strcmp(name, "right") == 0) {
		n = node_new(p, N_CORRECT, TY_NUM, pos, end);
	} else if ((m = study_model_index(s, name)) >= 0) {
		n = node_new(p, N_PRED, TY_CLASS, pos, end);
		n->model = &s->models[m];
	} else if ((c = study_class_index(s, name)) >= 0) {
		n = node_new(p, N_CONST, TY_CLASS, pos, end);
		n->num = c;
	} else if (strcmp(name, "conf") == 0 || strcmp(name, "margin") == 0 ||
	           strcmp(name, "p") == 0 || strcmp(name, "act") == 0) {
		filter_fail(p, pos, "%s is a function: write %s(%s)", name, name,
		            name[0] == 'a'   ? "model.layer.unit"
		            : name[0] == 'p' ? "model, class"
		                             : "model");
	} else {
		filter_fail(p, pos, "unknown name '%s'", filter_clip(name, len, buf));
	}
	free(name);
	if (n)
		filter_lex_next(p);
	return n;
}

static struct node *parse_value(struct parser *p)
{
	struct tok t = p->tok;
	struct node *n;
	char buf[CLIP_BYTES + 8];
	switch (t.kind) {
	case T_NUM:
		n = node_new(p, N_CONST, TY_NUM, t.pos, t.pos + t.len);
		n->num = t.num;
		n->literal = true;
		filter_lex_next(p);
		return n;
	case T_STR:
		n = node_new(p, N_STR_CONST, TY_STR, t.pos, t.pos + t.len);
		n->str = p->tok.str;
		p->tok.str = NULL;
		n->literal = true;
		filter_lex_next(p);
		return n;
	case T_NAME:
		return parse_name(p);
	case T_LP:
		if (!enter(p, t.pos))
			return NULL;
		filter_lex_next(p);
		n = parse_or(p);
		p->depth--;
		if (!n)
			return NULL;
		if (p->tok.kind == T_END)
			return filter_fail(p, t.pos, "unclosed '('");
		if (!expect(p, T_RP, "')'"))
			return NULL;
		filter_lex_next(p);
		return n;
	case T_MINUS: {
		if (!enter(p, t.pos))
			return NULL;
		filter_lex_next(p);
		struct node *a = parse_value(p);
		p->depth--;
		if (!a)
			return NULL;
		if (a->type != TY_NUM)
			return filter_fail(p, t.pos, "cannot negate %s", describe(p, a, buf));
		if (a->literal) {
			a->num = -a->num;
			a->pos = t.pos;
			return a;
		}
		n = node_new(p, N_NEG, TY_NUM, t.pos, a->end);
		n->a = a;
		return n;
	}
	case T_ERR:
		return NULL;
	case T_END:
		return filter_fail(p, t.pos, "unexpected end of expression");
	default:
		return filter_fail(p, t.pos, "expected a value, found %s", tok_desc(p, buf));
	}
}

static bool is_cmp(enum tok_kind k)
{
	return k == T_EQ || k == T_NE || k == T_LT || k == T_LE || k == T_GT || k == T_GE ||
	       k == T_MATCH;
}

static struct node *make_match(struct parser *p, struct node *a, size_t op_pos)
{
	char buf[CLIP_BYTES + 8];
	if (a->type != TY_STR && a->type != TY_CLASS)
		return filter_fail(p, op_pos, "'~' needs text or a class on its left, but %s is %s",
		                   span(p, a, buf), type_name(a->type));
	if (p->tok.kind != T_STR) {
		if (p->tok.kind == T_ERR)
			return NULL;
		return filter_fail(p, p->tok.pos,
		                   "'~' needs a quoted string on its right, found %s",
		                   tok_desc(p, buf));
	}
	struct node *n = node_new(p, N_MATCH_STR, TY_BOOL, a->pos, p->tok.pos + p->tok.len);
	n->a = a;
	n->str = p->tok.str;
	p->tok.str = NULL;
	n->str_len = strlen(n->str);
	for (size_t k = 0; k < n->str_len; k++)
		n->str[k] = (char)filter_fold(uc(n->str[k]));
	if (a->type == TY_CLASS) {
		n->kind = N_MATCH_CLASS;
		n->class_hit = xcalloc(p->s->n_classes, sizeof *n->class_hit);
		for (size_t c = 0; c < p->s->n_classes; c++)
			n->class_hit[c] =
			    filter_contains_folded(p->s->classes[c], n->str, n->str_len);
	}
	filter_lex_next(p);
	return n;
}

static struct node *make_cmp(struct parser *p, struct node *a, struct node *b, enum tok_kind op,
                             size_t op_pos)
{
	static const enum cmp ops[] = {[T_EQ] = C_EQ, [T_NE] = C_NE, [T_LT] = C_LT,
	                               [T_LE] = C_LE, [T_GT] = C_GT, [T_GE] = C_GE};
	char ba[CLIP_BYTES + 4], bb[CLIP_BYTES + 4];
	enum kind kind;
	if (a->type == TY_BOOL || b->type == TY_BOOL) {
		if (a->type != b->type)
			return filter_fail(p, op_pos, "cannot compare %s with %s",
			                   describe(p, a, ba), describe(p, b, bb));
		if (op != T_EQ && op != T_NE)
			return filter_fail(p, op_pos, "conditions compare only with '==' and '!='");
		kind = N_CMP_BOOL;
	} else {
		if (a->type == TY_CLASS && b->literal && b->type == TY_STR) {
			if (!string_to_class(p, b))
				return NULL;
		} else if (b->type == TY_CLASS && a->literal && a->type == TY_STR) {
			if (!string_to_class(p, a))
				return NULL;
		}
		if ((a->type == TY_STR) != (b->type == TY_STR))
			return filter_fail(p, op_pos, "cannot compare %s with %s",
			                   describe(p, a, ba), describe(p, b, bb));
		kind = a->type == TY_STR ? N_CMP_STR : N_CMP_NUM;
	}
	struct node *n = node_new(p, kind, TY_BOOL, a->pos, b->end);
	n->op = ops[op];
	n->a = a;
	n->b = b;
	if (kind == N_CMP_NUM && b->kind == N_CONST) {
		n->kind = N_CMP_CONST;
		n->num = b->num;
	}
	return n;
}

static struct node *parse_cmp(struct parser *p)
{
	struct node *a = parse_value(p);
	if (!a || !is_cmp(p->tok.kind))
		return a;
	enum tok_kind op = p->tok.kind;
	size_t op_pos = p->tok.pos;
	filter_lex_next(p);
	struct node *n;
	if (op == T_MATCH) {
		n = make_match(p, a, op_pos);
	} else {
		struct node *b = parse_value(p);
		if (!b)
			return NULL;
		n = make_cmp(p, a, b, op, op_pos);
	}
	if (n && is_cmp(p->tok.kind))
		return filter_fail(p, p->tok.pos, "comparisons do not chain: join them with 'and'");
	return n;
}

static struct node *parse_not(struct parser *p)
{
	if (p->tok.kind != T_NOT)
		return parse_cmp(p);
	size_t pos = p->tok.pos;
	if (!enter(p, pos))
		return NULL;
	filter_lex_next(p);
	struct node *a = parse_not(p);
	p->depth--;
	if (!a || !want_bool(p, a))
		return NULL;
	struct node *n = node_new(p, N_NOT, TY_BOOL, pos, a->end);
	n->a = a;
	return n;
}

/* and / or: a flat list of operands, so long chains need no deep recursion. */
static struct node *parse_chain(struct parser *p, enum tok_kind op, enum kind kind,
                                struct node *(*sub)(struct parser *))
{
	struct node *a = sub(p);
	if (!a || p->tok.kind != op)
		return a;
	if (!want_bool(p, a))
		return NULL;
	struct node *n = node_new(p, kind, TY_BOOL, a->pos, a->end);
	kid_push(n, a);
	while (p->tok.kind == op) {
		filter_lex_next(p);
		struct node *b = sub(p);
		if (!b || !want_bool(p, b))
			return NULL;
		kid_push(n, b);
	}
	return n;
}

static struct node *parse_and(struct parser *p)
{
	return parse_chain(p, T_AND, N_AND, parse_not);
}

static struct node *parse_or(struct parser *p)
{
	return parse_chain(p, T_OR, N_OR, parse_and);
}

/* ---- interface -------------------------------------------------------------------------- */

struct expr *expr_compile(const struct study *s, const char *text, struct nn_err *err,
                          size_t *err_col)
{
	struct parser p = {.s = s, .src = text ? text : "", .len = text ? strlen(text) : 0};
	struct node *root = NULL;
	filter_lex_next(&p);
	if (p.tok.kind == T_END) {
		filter_fail(&p, 0, "empty expression");
		p.err_col = 0;
	} else {
		root = parse_or(&p);
		char buf[CLIP_BYTES + 8];
		if (root && p.tok.kind != T_END)
			filter_fail(&p, p.tok.pos, "unexpected %s", tok_desc(&p, buf));
		if (root && root->type == TY_STR)
			filter_fail(&p, root->pos, "cannot sort by %s", describe(&p, root, buf));
	}
	free(p.tok.str);
	if (p.failed || !root) {
		nodes_free(p.nodes);
		if (!p.failed) /* cannot happen: every NULL comes with a message */
			filter_fail(&p, 0, "invalid expression");
		if (err)
			*err = p.err;
		if (err_col)
			*err_col = p.err_col;
		return NULL;
	}
	struct expr *e = xmalloc(sizeof *e);
	e->root = root;
	e->nodes = p.nodes;
	e->height = node_height(root);
	return e;
}

void expr_free(struct expr *e)
{
	if (!e)
		return;
	nodes_free(e->nodes);
	free(e);
}

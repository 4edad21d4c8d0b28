/*
 * filter_text.c — the filter language's vocabulary, for everyone who writes expressions rather
 * than parses them: the reserved words, what a bare name may hold, quoting a string or a class
 * into an expression, the expressions of the agreement table and the confusion matrix, and
 * compiling a condition. The lexer (filter_parse.c) reads names with filter_name_char, so a name
 * built here is one the parser reads back as the same name.
 */
#include "nncmp/filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const filter_words[] = {
    "gt",   "given",   "and",   "or",      "not",   "split",   "issue",
    "text", "id",      "index", "correct", "right", "decided", "relabelled",
    "kept", "removed", "conf(", "margin(", "p(",    "act(",    NULL};

bool filter_reserved(const char *name, bool fold)
{
	/* the lexer reads and, or, not in any case, so no name can be one of them in any case */
	if (strcasecmp(name, "and") == 0 || strcasecmp(name, "or") == 0 ||
	    strcasecmp(name, "not") == 0)
		return true;
	size_t len = strlen(name);
	for (const char *const *w = filter_words; *w; w++) {
		size_t wl = strlen(*w) - ((*w)[strlen(*w) - 1] == '(');
		if (wl == len && (fold ? strncasecmp(name, *w, wl) : strncmp(name, *w, wl)) == 0)
			return true;
	}
	return false;
}

bool filter_name_char(int c, bool first)
{
	bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
	return first ? letter : letter || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

bool filter_bare_name(const struct study *s, const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	if (!*p || !filter_name_char(*p, true) || *p >= 0x80)
		return false;
	for (; *p; p++)
		if (*p >= 0x80 || !filter_name_char(*p, false))
			return false;
	return !filter_reserved(name, true) && study_model_index(s, name) < 0;
}

char *filter_quote(const char *text)
{
	size_t len = strlen(text), o = 0;
	char *q = xmalloc(2 * len + 3);
	q[o++] = '"';
	for (size_t k = 0; k < len; k++) {
		if (text[k] == '"' || text[k] == '\\')
			q[o++] = '\\';
		q[o++] = text[k];
	}
	q[o++] = '"';
	q[o] = '\0';
	return q;
}

char *filter_class_literal(const struct study *s, int c)
{
	const char *name = s->classes[c];
	char num[32];
	snprintf(num, sizeof num, "%d", c);
	if (strcmp(name, num) == 0)
		return xstrdup(num);
	if (filter_bare_name(s, name))
		return xstrdup(name);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return xstrdup(num);
	return filter_quote(name);
}

char *filter_and(const char *base, const char *cond)
{
	while (*base == ' ' || *base == '\t')
		base++;
	if (!*base)
		return xstrdup(cond);
	if (!*cond)
		return xstrdup(base);
	return xasprintf("(%s) and %s", base, cond);
}

char *filter_agreement(const struct study *s, size_t a, size_t b, enum filter_outcome o, int cls)
{
	const char *ma = s->models[a].name, *mb = s->models[b].name;
	char *outcome;
	switch (o) {
	case OUTCOME_BOTH_RIGHT:
		outcome = xasprintf("%s == gt and %s == gt", ma, mb);
		break;
	case OUTCOME_ONLY_A:
		outcome = xasprintf("%s == gt and %s != gt", ma, mb);
		break;
	case OUTCOME_ONLY_B:
		outcome = xasprintf("%s != gt and %s == gt", ma, mb);
		break;
	case OUTCOME_BOTH_WRONG:
		outcome = xasprintf("%s != gt and %s != gt", ma, mb);
		break;
	case OUTCOME_DISAGREE:
		outcome = xasprintf("%s != %s", ma, mb);
		break;
	default:
		outcome = xstrdup("");
		break;
	}
	char *lit = cls >= 0 ? filter_class_literal(s, cls) : xstrdup("");
	/* removed instances are not in the table's counts, so not in what its cells open */
	const char *kept = s->n_removed && (cls >= 0 || *outcome) ? " and not removed" : "";
	char *f = xasprintf("%s%s%s%s%s", cls >= 0 ? "gt == " : "", lit,
	                    cls >= 0 && *outcome ? " and " : "", outcome, kept);
	free(lit);
	free(outcome);
	return f;
}

char *filter_confusion_cell(const struct study *s, int truth, int pred, size_t m, int m2)
{
	char *lt = filter_class_literal(s, truth), *lp = filter_class_literal(s, pred);
	const char *a = s->models[m].name;
	/* removed instances are not in the matrix's counts, so not in its cells either */
	const char *kept = s->n_removed ? " and not removed" : "";
	char *f = m2 >= 0 ? xasprintf("gt == %s and (%s == %s or %s == %s)%s", lt, a, lp,
	                              s->models[m2].name, lp, kept)
	                  : xasprintf("gt == %s and %s == %s%s", lt, a, lp, kept);
	free(lt);
	free(lp);
	return f;
}

struct expr *expr_compile_condition(const struct study *s, const char *text, struct nn_err *err,
                                    size_t *err_col)
{
	struct expr *e = expr_compile(s, text, err, err_col);
	if (e && !expr_is_bool(e)) {
		expr_free(e);
		*err_col = 0;
		nn_err_set(err,
		           "a value, not a condition (compare it with something, e.g. '> 0.5')");
		return NULL;
	}
	return e;
}

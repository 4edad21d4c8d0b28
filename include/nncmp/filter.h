/*
 * filter.h — filter and sort expressions over a study's instances, shared by the CLI and the TUI.
 *
 * Grammar (keywords case-insensitive, names case-sensitive):
 *   expr    := or
 *   or      := and ( "or" and )*
 *   and     := not ( "and" not )*
 *   not     := "not" not | cmp
 *   cmp     := value ( ("=="|"!="|"<"|"<="|">"|">="|"=") value )?  |  value "~" STRING
 *   value   := NUMBER | STRING | NAME | NAME "(" args ")" | "(" expr ")" | "-" value
 * Names: `gt` (ground truth: the corrected label once a journal is applied), `given` (the label
 * in the files), a model's name (its prediction), a class name (that class), `split`,
 * `issue` (study_issue_score), `text`, `id`, `index`, `correct` or `right` (how many models are
 * right), and the conditions `decided`, `relabelled`, `kept`, `removed` (the applied journal's
 * statuses). Functions: conf(M), margin(M), p(M, CLASS), act(M.LAYER.J). A model name shadows a
 * class of the same name; a quoted string compared with a class value names a class. `text ~
 * "word"` is a case-insensitive substring match (a class on the left matches its name). Any
 * comparison with NaN, or with a sample field the instance lacks, is false; using `text` or `split`
 * when the study has none is a compile error. Names are looked up in this order: keywords, the
 * built-in names above, models, classes. Name characters are letters, digits, '_', '-', '.' and
 * UTF-8; quote anything else.
 *
 * A compiled expression borrows the study: it must not outlive it, and expr_select() must be given
 * that same study. Errors carry the 1-based column (in characters) of the offending token.
 * Compile on one thread (number parsing consults the locale); evaluation is read-only.
 */
#ifndef NNCMP_FILTER_H
#define NNCMP_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/study.h"
#include "nncmp/util.h"

struct expr;

/*
 * The language's words (keywords, built-in names, then functions, which end in "("), ending
 * with NULL: for completion, and for the names a model cannot take.
 */
extern const char *const filter_words[];
/*
 * True when name is one of filter_words (without the "("); fold compares case-insensitively.
 * The keywords and, or, not match in any case either way, as the lexer reads them.
 */
bool filter_reserved(const char *name, bool fold);
/* True when byte c may be in a name (first: may start one): letters, '_', bytes above 0x7f,
 * then also digits, '.' and '-'. The lexer reads names with it. */
bool filter_name_char(int c, bool first);

/* ---- writing expressions (filter_text.c): every piece of filter text nncmp builds ---- */

/*
 * True when name can stand bare in an expression of s and mean that class: ASCII name
 * characters starting with a letter or '_', not a reserved word in any case, not a model's name.
 */
bool filter_bare_name(const struct study *s, const char *name);
/* text as a quoted string literal: "..." with \" and \\ escaped (the only escapes the lexer
 * knows). Caller frees. */
char *filter_quote(const char *text);
/*
 * The literal that names class c in an expression of s: its id when the name is its own id or
 * holds a control character, else the bare name when filter_bare_name allows it, else the name
 * quoted (a quoted string beside a class names a class, so a model cannot shadow it). Caller
 * frees.
 */
char *filter_class_literal(const struct study *s, int c);
/* "(base) and cond", or the one that is not empty (leading blanks of base ignored). Caller frees.
 */
char *filter_and(const char *base, const char *cond);

/* The outcomes of a pair of models that the agreement table counts. */
enum filter_outcome {
	OUTCOME_ANY,
	OUTCOME_BOTH_RIGHT,
	OUTCOME_ONLY_A,
	OUTCOME_ONLY_B,
	OUTCOME_BOTH_WRONG,
	OUTCOME_DISAGREE /* a != b, right or wrong */
};
/*
 * The condition of an agreement table cell: models a and b with outcome o, on the instances of
 * class cls (-1: every class), e.g. `gt == cat and cnn == gt and mlp != gt`; with
 * " and not removed" when the study has removed instances (the table does not count them).
 * OUTCOME_ANY with cls -1 gives "". Caller frees.
 */
char *filter_agreement(const struct study *s, size_t a, size_t b, enum filter_outcome o, int cls);
/*
 * The condition of a confusion matrix cell: truth class `truth` predicted as `pred` by model m,
 * or (m2 >= 0) by m or by m2; " and not removed" as above. Caller frees.
 */
char *filter_confusion_cell(const struct study *s, int truth, int pred, size_t m, int m2);

/*
 * Compiles text against study s. Returns NULL with err set ("unknown name 'cnnn'") and *err_col
 * set to the 1-based column of the problem (0 when it concerns the whole expression).
 */
struct expr *expr_compile(const struct study *s, const char *text, struct nn_err *err,
                          size_t *err_col);
void expr_free(struct expr *e);
/*
 * expr_compile for a filter: also fails (*err_col 0) when the expression is a value rather than
 * a condition ("a value, not a condition ...").
 */
struct expr *expr_compile_condition(const struct study *s, const char *text, struct nn_err *err,
                                    size_t *err_col);

/* True when the expression yields a truth value (a filter) rather than a number (a sort key). */
bool expr_is_bool(const struct expr *e);

/* Evaluates a boolean expression for instance i (a value expression: neither 0 nor NaN). */
bool expr_match(const struct expr *e, size_t i);
/* Evaluates a numeric expression for instance i (class values are their ids; NaN when undefined).
 */
double expr_value(const struct expr *e, size_t i);

/*
 * Writes the indices of the instances that match into out (which holds s->n entries) in increasing
 * order and returns how many there are. A NULL expression matches everything. The float32
 * act(M.L.J) columns of e are first read for every instance with expr_gather(), so e keeps them
 * (expr_match() and expr_value() read them afterwards) and the layer is not faulted in.
 */
size_t expr_select(struct expr *e, const struct study *s, uint32_t *out);

/*
 * 0, or -1 with err naming the file and what failed (npy_read_error) when a matrix e reads (an
 * act() layer or a model's probabilities) had a read fail: its values were NaN. For after
 * expr_select() or expr_value() over a layer read in blocks (an HDF5 chunk that cannot be read).
 */
int expr_read_error(const struct expr *e, struct nn_err *err);

/*
 * Reads every float32 act(M.L.J) of e for the instances idx[0 .. n) (increasing; NULL: 0 .. n-1)
 * once, in blocks of rows with pread() (neurons_gather_column), so that expr_value() on those
 * instances reads the gathered values instead of faulting the layer in through its mapping. The
 * values are the same; other instances read NaN afterwards. Layers of other types stay as they are.
 */
void expr_gather(struct expr *e, const uint32_t *idx, size_t n);

/*
 * Orders idx[0..n) by key, as `nncmp instances --sort` and the TUI's :sort do: "index" and "id"
 * ascending, any value expression (conf(M), act(M.L.J), issue, ...) highest first, with NaN last
 * and ties by index; a ":asc" or ":desc" suffix chooses the direction. When keys is not NULL and
 * the key is a value expression, *keys gets each sorted instance's value (caller frees; NULL for
 * index and id). Returns 0, or -1 with err and *err_col set (a bad expression, or a condition
 * given as a key), or -1 with *err_col 0 and err naming the file when the key read rows that
 * could not be read (expr_read_error); *keys is then NULL and idx in index order.
 */
int expr_sort(const struct study *s, uint32_t *idx, size_t n, const char *key, double **keys,
              struct nn_err *err, size_t *err_col);

#endif

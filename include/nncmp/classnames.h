/*
 * classnames.h — class names short enough for a narrow column, and still telling the classes
 * apart.
 *
 * Real studies name their classes `digit-0` .. `digit-9` or `class-00` .. `class-14`: cut to a
 * column's width every name reads `digit…`. classnames_abbrev() keeps what distinguishes them:
 * when some name is wider than the column, it drops the prefix and the suffix that every name
 * shares (whole code points, and only up to a separator or a letter/digit change, so `class-10`
 * and `class-11` keep `10` and `11`, and a name never becomes empty), then cuts what is still too
 * wide in the middle with an ellipsis, keeping as much of the start as it can and as much of the
 * end as the names need to stay distinct. When no abbreviation of that width is distinct, the
 * classes get their numbers (0, 1, ...; in one column 0-9a-zA-Z), which the caller must explain
 * with a legend.
 *
 * Widths are display columns (text_width: wcwidth under the current locale; a character it does not
 * know counts one). The names should already be sanitized (text.h): the result is drawn as it is.
 * Pure and thread-safe; the caller owns the strings written to out and releases them with
 * classnames_free().
 */
#ifndef NNCMP_CLASSNAMES_H
#define NNCMP_CLASSNAMES_H

#include <stdbool.h>
#include <stddef.h>

enum classnames_kind {
	CLASSNAMES_FULL,    /* every name fits: out holds the names as they are */
	CLASSNAMES_SHORT,   /* out holds distinct abbreviations of the names */
	CLASSNAMES_NUMBERS, /* out holds the class numbers (a legend must say which is which) */
};

/*
 * Writes n strings of at most width columns (width < 1 counts as 1) to out: the names, their
 * abbreviations or the class numbers, as the return value says. `ascii` cuts with '~' instead of
 * '…'. The strings are distinct whenever the names are, except when not even the numbers fit
 * (more than 62 classes in one column, or numbers wider than the column).
 */
enum classnames_kind classnames_abbrev(const char *const *names, size_t n, int width, bool ascii,
                                       char **out);

/* Frees the n strings classnames_abbrev() wrote to out (not out itself). */
void classnames_free(char **out, size_t n);

#endif

/*
 * samples.h — the per-instance side files: samples.jsonl and labels.csv.
 *
 * samples.jsonl has one JSON object per instance, in instance order, with optional fields "id"
 * (string or integer), "text", "image" (a path inside the study) and "split"; other fields are
 * ignored. Arrays of a field no line has stay NULL. labels.csv is either one column of class ids
 * (or names) without a header, or has a header row with a "label" column.
 *
 * Both fill fields of the study they are given; on error the study keeps what was set and
 * study_free() releases it.
 */
#ifndef NNCMP_SAMPLES_H
#define NNCMP_SAMPLES_H

#include <stdio.h>

#include "nncmp/study.h"

/* Reads samples.jsonl into s->ids/texts/images/splits; needs s->n. */
int samples_read(struct study *s, const char *path, struct nn_err *err);
/* Reads samples.jsonl shards (n files, their lines in order) as one file. */
int samples_read_shards(struct study *s, const char *const *paths, size_t n, struct nn_err *err);
/* The same from an open stream; name is used in messages. */
int samples_parse(struct study *s, FILE *f, const char *name, struct nn_err *err);

/*
 * Reads labels.csv into s->labels and s->n. Names are looked up in s->classes; when the study has
 * no classes.txt and the labels are names, the classes become the sorted distinct names.
 */
int samples_read_labels_csv(struct study *s, const char *path, struct nn_err *err);
int samples_parse_labels_csv(struct study *s, const char *buf, size_t len, const char *name,
                             struct nn_err *err);

#endif

/*
 * manifest.h — where a study's files are: a study.ini manifest, or what a directory implies.
 *
 * A manifest is a plain description (paths, model order); study.c opens and validates what it
 * names. All strings are owned by the manifest and freed by manifest_free(). Paths are already
 * resolved against the manifest's directory (or the study directory).
 *
 * study.ini:
 *   [study]               name, labels, classes, samples
 *   [model NAME]          probs | logits | pred, act.LAYER = path, weights.LAYER = path
 */
#ifndef NNCMP_MANIFEST_H
#define NNCMP_MANIFEST_H

#include "nncmp/study.h"
#include "nncmp/util.h"

struct manifest_layer {
	char *name;
	char *act;     /* NULL when absent */
	char *weights; /* NULL when absent */
};

struct manifest_model {
	char *name;
	enum prob_source src;
	char *src_path; /* NULL until a source is named */
	size_t n_layers;
	struct manifest_layer *layers;
};

struct manifest {
	char *path; /* the study.ini, or NULL for a directory by convention */
	char *root; /* directory relative paths are resolved against */
	char *name, *labels, *classes, *samples;
	size_t n_models;
	struct manifest_model *models;
	struct strvec warnings;
};

void manifest_init(struct manifest *mf);
void manifest_free(struct manifest *mf);
/* Appends a model called name (copied) and returns it. */
struct manifest_model *manifest_add_model(struct manifest *mf, const char *name);
/* Sets a layer's activation (or, with is_weights, weight) file; takes ownership of path. */
void manifest_set_layer(struct manifest_model *mm, const char *layer, bool is_weights, char *path);
/* Reads a study.ini; returns 0, or -1 with err naming the file and line. */
int manifest_read(struct manifest *mf, const char *ini_path, struct nn_err *err);
/* The same, from text in memory (for the fuzzer); root is the directory paths resolve against. */
int manifest_parse(struct manifest *mf, const char *text, const char *name, const char *root,
                   struct nn_err *err);

#endif

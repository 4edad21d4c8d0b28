/*
 * manifest.h — where a study's files are: a study.ini manifest, or what a directory implies.
 *
 * A manifest is a plain description (paths, model order); study.c opens and validates what it
 * names. All strings are owned by the manifest and freed by manifest_free(). Paths are already
 * resolved against the manifest's directory (or the study directory).
 *
 * study.ini:
 *   [study]               name, labels, classes, samples
 *   [model NAME]          probs | logits | pred, act.LAYER = path, weights.LAYER = path,
 *                         graph = path (graph.json), saliency.LAYER = path ((N, h, w) maps)
 *
 * A matrix (probs, logits, pred, act.LAYER, weights.LAYER) may be a tensor of a safetensors file,
 * "acts.safetensors:fc1" (npy.h), or shards: several files separated by commas, read as one
 * matrix with their rows concatenated in the order given. A value that ends in a comma goes on
 * in the next, indented line:
 *   act.fc1 = part-000.npy, part-001.npy,
 *             part-002.npy
 * A value that names an existing file whole is one file, commas and all. labels and samples may
 * be shards too (labels = y0.npy, y1.npy; samples = s0.jsonl, s1.jsonl), in the same row order.
 *
 * Paths expand "~" (or "~/...") at their start to $HOME and "${VAR}" anywhere to the
 * environment variable's value; a variable that is not set is an error. Lines may be of any
 * length (inih's 200-byte line buffer is worked around: long values are handed to inih as short
 * tokens), but a key or section name must fit in it.
 *
 * graph and saliency.LAYER name one file each (no shards, no tensor of an archive): what a
 * conventional study holds as models/NAME/graph.json and models/NAME/saliency/LAYER.npy.
 */
#ifndef NNCMP_MANIFEST_H
#define NNCMP_MANIFEST_H

#include "nncmp/study.h"
#include "nncmp/util.h"

/*
 * Where a matrix's path is in the structs below, `shards` holds its files when the value listed
 * more than one (resolved, in row order); the path then only names them for messages
 * ("a.npy .. c.npy (3 shards)"). For a single file the list is empty.
 */
struct manifest_layer {
	char *name;
	char *act;     /* NULL when absent */
	char *weights; /* NULL when absent */
	struct strvec act_shards, weights_shards;
};

struct manifest_model {
	char *name;
	enum prob_source src;
	char *src_path; /* NULL until a source is named */
	struct strvec src_shards;
	size_t n_layers;
	struct manifest_layer *layers;
	char *graph; /* graph.json; NULL: models/NAME/graph.json under the root, if there */
	/* saliency.LAYER keys in the order given: layer names and their files */
	struct strvec saliency_layers, saliency_paths;
};

struct manifest {
	char *path; /* the study.ini, or NULL for a directory by convention */
	char *root; /* directory relative paths are resolved against */
	char *name, *labels, *classes, *samples;
	struct strvec labels_shards, samples_shards; /* as for matrices: empty for one file */
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

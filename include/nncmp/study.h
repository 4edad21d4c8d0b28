/*
 * study.h — a study: one test set and the outputs of one or more models on it.
 *
 * study_open() reads a study directory by convention, or a study.ini manifest (a file path, or a
 * directory that holds one: the manifest rules), validates every file it names and returns a study
 * that owns everything it points to until study_free(). Large matrices (probabilities, activations,
 * weights) stay memory-mapped; what is copied into the heap is O(N): labels, per-model predictions
 * and the per-instance numbers derived from probabilities in one pass at open.
 *
 * Conventions: class ids are 0..n_classes-1; instance indices are 0..n-1 in file order.
 *
 * A manifest may name a matrix as a safetensors tensor ("out.safetensors:probs") or as shards
 * read as one matrix (manifest.h); the *_path strings then say so for messages ("a.npy .. c.npy
 * (3 shards)") and are not always the name of one file. The struct npy reads alike either way.
 */
#ifndef NNCMP_STUDY_H
#define NNCMP_STUDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/npy.h"
#include "nncmp/util.h"

/* Confusion and agreement tables are dense C × C: this bounds them (8 × C² bytes each). */
#define STUDY_MAX_CLASSES 5000

enum prob_source { SRC_PROBS, SRC_LOGITS, SRC_PRED };

/*
 * An instance's status after the triage journal's decisions (journal.h). SKIPPED only comes from
 * journals written before skip stopped being a decision; it counts as undecided everywhere.
 */
enum decision_status {
	STATUS_UNDECIDED = 0,
	STATUS_RELABELLED,
	STATUS_KEPT,
	STATUS_REMOVED,
	STATUS_SKIPPED
};

struct layer {
	char *name;
	char *act_path;     /* activations (N, H); NULL when only weights exist */
	struct npy act;     /* mapped when act_path is set */
	char *weights_path; /* NULL when absent */
	struct npy weights; /* mapped when weights_path is set */
};

struct model {
	char *name;
	enum prob_source src;
	char *src_path;
	struct npy probs; /* (N, C) probabilities or logits; unmapped for SRC_PRED */
	/*
	 * Derived at open, one entry per instance, read through model_pred() .. model_margin()
	 * below (never through these pointers): the prediction (argmax, first maximum wins, as
	 * numpy.argmax), the 0-based rank of the label (ties as scikit-learn's top_k), p(pred),
	 * p(label) and the margin p(pred) − second-highest p. rank, conf, p_label and second are
	 * NULL for SRC_PRED. Derived values are stored in the narrowest type that gives them back
	 * exactly (derive.h): pred and rank in id_size bytes (uint8 up to 256 classes, uint16 up to
	 * 65536, int32 for SRC_PRED's ids); for float32 (or narrower) probabilities conf, p_label
	 * and the runner-up p as float (val_size 4; the margin is conf − second in double, as
	 * derivation computes it), otherwise doubles (val_size 8; second holds the margin). They
	 * are the heap's (map NULL) or point into the read-only mapping of the derived-data cache
	 * (derive_cache.h); model_derived_writable() makes them writable either way.
	 */
	void *d_pred, *d_rank, *d_conf, *d_p_label, *d_second;
	uint8_t id_size, val_size;
	void *d_map; /* the derived-data cache file's mapping, d_map_len bytes, or NULL */
	size_t d_map_len;
	bool derived_cached; /* the arrays above came from the derived-data cache */
	size_t n_layers;
	struct layer *layers;
	/*
	 * models/NAME/saliency/LAYER.npy of a study read by convention, or the manifest's
	 * saliency.LAYER (the exporter's Grad-CAM maps; saliency.h): (N, h, w) float, mapped. NULL
	 * paths when the model has none; of several files the first in name order (in a manifest:
	 * the first given) is used and the others are warned about.
	 */
	char *saliency_layer;
	char *saliency_path;
	struct npy saliency;
	/* the manifest's graph = PATH (an existing file); NULL: models/NAME/graph.json, if there */
	char *graph_path;
};

struct study {
	char *name;
	char *root;        /* directory relative paths are resolved against */
	char *labels_path; /* as opened, for messages */
	/* labels_path's device, inode, size and mtime (ns) when it was read: study_labels_same() */
	uint64_t labels_sig[4];
	char *classes_path; /* NULL when the names are the default "0".."C-1" */
	size_t n, n_classes;
	char **classes;  /* n_classes names */
	int32_t *labels; /* n ground-truth ids: the corrected labels once a journal is applied */
	/*
	 * Set by journal_apply() (journal.h), NULL until then: given holds the n labels as in the
	 * files, status the n enum decision_status. Removed instances leave every metric
	 * (metrics.h); n_decided counts the instances relabelled, kept or removed.
	 */
	int32_t *given;
	uint8_t *status;
	size_t n_decided, n_removed;
	/* samples.jsonl, each array n long or NULL when the file (or the field) is absent */
	char **ids;
	char **texts;
	char **images;
	char **splits;
	size_t n_models;
	struct model *models;
	struct strvec warnings; /* accepted oddities worth telling the user, one line each */
	/* the derivation reads the probabilities through the mapping (STUDY_PROBS_AGAIN) */
	bool probs_again;
};

/* Opens path (a directory or a .ini manifest). Returns NULL with err set on any problem. */
struct study *study_open(const char *path, struct nn_err *err);

/* study_open_ex flags. */
enum {
	/*
	 * Leave out the derivation (study_derive): the study is validated and mapped, but the
	 * models with probabilities have no derived values yet (their d_* arrays are NULL, so
	 * model_has_probs() says false and model_pred() .. model_margin() must not be called) and
	 * their probabilities are not checked. The TUI draws its first screen meanwhile and runs
	 * study_derive() on its worker; nothing may read those arrays, or their pointers, before
	 * study_derive() has returned 0.
	 */
	STUDY_DEFER_DERIVE = 1,
	/*
	 * The caller reads the probabilities again after the derivation (the label-issue
	 * methods' passes): the derivation then reads them through the mapping, whose pages
	 * those passes find in the page table, even where one pass alone would copy them with
	 * pread (npy_map_cheap).
	 */
	STUDY_PROBS_AGAIN = 2
};
/* study_open with flags (0: study_open itself). */
struct study *study_open_ex(const char *path, unsigned flags, struct nn_err *err);
/*
 * The derivation study_open does last (derive.h: the derived-data cache or one pass over every
 * model's probabilities, which it validates), for a study opened with STUDY_DEFER_DERIVE.
 * Returns 0, or -1 with err naming the file and the row (then the study may only be freed).
 */
int study_derive(struct study *s, struct nn_err *err);
void study_free(struct study *s);
/*
 * 0 when the labels file is the one read at open (same file, size and modification time), else
 * -1 with err "PATH changed on disk since the study was opened: reopen the study". What the labels
 * were read from must not change under a journal that records them as "old".
 */
int study_labels_same(const struct study *s, struct nn_err *err);
/*
 * 0, or -1 with err "PATH: rows could not be read (damaged data?)" when a read of any of the
 * study's matrices failed (a damaged chunk of an HDF5 dataset read in blocks gives NaN rows): for
 * a front to check after computing from them (filters, sort keys).
 */
int study_read_error(const struct study *s, struct nn_err *err);

/*
 * Parses classes.txt from buf (len bytes; `path` names it in messages): one name per line, no
 * empty or duplicate names, no NUL, at most STUDY_MAX_CLASSES. Sets s->classes (owned by s) and
 * s->n_classes; returns 0, or -1 with err set and s unchanged.
 */
int study_parse_classes(struct study *s, const char *buf, size_t len, const char *path,
                        struct nn_err *err);

/* Index of the model or class with this name, or -1. */
int study_model_index(const struct study *s, const char *name);
int study_class_index(const struct study *s, const char *name);
/* Index of layer `name` in model m, or -1. */
int study_layer_index(const struct model *m, const char *name);

/* The labels as in the files (given), whether or not a journal was applied. */
static inline const int32_t *study_given(const struct study *s)
{
	return s->given ? s->given : s->labels;
}
/* The instance's status from the applied journal (STATUS_UNDECIDED when none was applied). */
static inline enum decision_status study_status(const struct study *s, size_t i)
{
	return s->status ? (enum decision_status)s->status[i] : STATUS_UNDECIDED;
}
/* True for a status a decision settled: relabelled, kept or removed (skipped is undecided). */
static inline bool status_decided(uint8_t st)
{
	return st == STATUS_RELABELLED || st == STATUS_KEPT || st == STATUS_REMOVED;
}
/*
 * The n-byte mask of the instances a decision settled (status_decided), which leave the label-issue
 * rankings everywhere (the CLI's issues, the report's suspects, the TUI's review queue), or NULL
 * when no journal is applied. Owned by the caller.
 */
uint8_t *study_decided_mask(const struct study *s);
/* True when a decision removed the instance: it leaves every metric. */
static inline bool study_removed(const struct study *s, size_t i)
{
	return s->status && s->status[i] == STATUS_REMOVED;
}

/* ---- a model's derived per-instance values (struct model's d_* arrays) ---- */

/* True for a model with probabilities or logits: conf, p_label, margin and rank exist. */
static inline bool model_has_probs(const struct model *m)
{
	return m->d_conf != NULL;
}

static inline int32_t model_id_at(const void *a, uint8_t size, size_t i)
{
	return size == 1   ? (int32_t)((const uint8_t *)a)[i]
	       : size == 2 ? (int32_t)((const uint16_t *)a)[i]
	                   : ((const int32_t *)a)[i];
}

static inline double model_val_at(const void *a, uint8_t size, size_t i)
{
	return size == 4 ? (double)((const float *)a)[i] : ((const double *)a)[i];
}

static inline int32_t model_pred(const struct model *m, size_t i)
{
	return model_id_at(m->d_pred, m->id_size, i);
}
static inline int32_t model_rank(const struct model *m, size_t i)
{
	return model_id_at(m->d_rank, m->id_size, i);
}
static inline double model_conf(const struct model *m, size_t i)
{
	return model_val_at(m->d_conf, m->val_size, i);
}
static inline double model_p_label(const struct model *m, size_t i)
{
	return model_val_at(m->d_p_label, m->val_size, i);
}
static inline double model_margin(const struct model *m, size_t i)
{
	if (m->val_size == 4)
		return (double)((const float *)m->d_conf)[i] -
		       (double)((const float *)m->d_second)[i];
	return ((const double *)m->d_second)[i];
}

/*
 * Sets instance i's values (the arrays must be writable: the heap's, or after
 * model_derived_writable()). second is the runner-up p (as derivation saw it; 0 with one class)
 * and margin conf − second in double: a float model keeps second, a double one the margin.
 */
static inline void model_set_pred(struct model *m, size_t i, int32_t v)
{
	if (m->id_size == 1)
		((uint8_t *)m->d_pred)[i] = (uint8_t)v;
	else if (m->id_size == 2)
		((uint16_t *)m->d_pred)[i] = (uint16_t)v;
	else
		((int32_t *)m->d_pred)[i] = v;
}
static inline void model_set_rank(struct model *m, size_t i, int32_t v)
{
	if (m->id_size == 1)
		((uint8_t *)m->d_rank)[i] = (uint8_t)v;
	else if (m->id_size == 2)
		((uint16_t *)m->d_rank)[i] = (uint16_t)v;
	else
		((int32_t *)m->d_rank)[i] = v;
}
static inline void model_set_p_label(struct model *m, size_t i, double v)
{
	if (m->val_size == 4)
		((float *)m->d_p_label)[i] = (float)v;
	else
		((double *)m->d_p_label)[i] = v;
}
static inline void model_set_values(struct model *m, size_t i, double conf, double second,
                                    double margin)
{
	if (m->val_size == 4) {
		((float *)m->d_conf)[i] = (float)conf;
		((float *)m->d_second)[i] = (float)second;
	} else {
		((double *)m->d_conf)[i] = conf;
		((double *)m->d_second)[i] = margin;
	}
}

/*
 * Allocates model m's derived arrays on the heap for s->n instances with the given sizes (zeroed;
 * rank and the values only when with_probs). Frees what it held before.
 */
void model_derived_alloc(struct model *m, size_t n, uint8_t id_size, uint8_t val_size,
                         bool with_probs);
/* Frees (or unmaps) model m's derived arrays; they are NULL afterwards. */
void model_derived_free(struct model *m);
/*
 * Makes mapped derived arrays writable (a private copy of each page written; the cache file is
 * never changed). A no-op for heap arrays.
 */
void model_derived_writable(struct model *m);
/* The narrowest id size for ids in [0, c): 1, 2 or 4 bytes. */
static inline uint8_t model_id_size(size_t c)
{
	return c <= 256 ? 1 : c <= 65536 ? 2 : 4;
}

/* The instance's id from samples.jsonl, or its index as text (written into buf). */
const char *study_instance_id(const struct study *s, size_t i, char *buf, size_t bufsize);

/*
 * The default label-issue score of instance i: the mean over models with probabilities of the
 * instance interpretation error score (max p + 1 − p_label) / 2; for prediction-only studies, the
 * fraction of models that disagree with the label.
 */
double study_issue_score(const struct study *s, size_t i);

#endif

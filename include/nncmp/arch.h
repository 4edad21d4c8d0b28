/*
 * arch.h — a model's architecture: its layers in execution order, folded into repeated blocks.
 *
 * The source is models/NAME/graph.json as tools/nncmp_export.py writes it (export_torch
 * graph=True: every module that ran, with its type, output shape, parameter count and inputs,
 * from torch.fx or as a chain), or, without that file, the study's own layers in name order with
 * what their activation and weight shapes tell. Only leaf modules (those without children) become
 * layers; containers only tell the folding where a repetition starts.
 *
 * arch_parse_graph() is the pure parser (the fuzzer drives it); arch_load() finds the file,
 * parses it and marks the layers the study holds activations or weights for; arch_fold() groups
 * consecutive identical runs of layers (same type, kernel, output shape and parameter count) into
 * blocks. A struct arch owns every string and array it points to until arch_free().
 */
#ifndef NNCMP_ARCH_H
#define NNCMP_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nncmp/study.h"
#include "nncmp/util.h"
#include "nncmp/weights.h"

#define ARCH_MAX_DIMS 8
/* graph.json limits: the file's size, its modules, a name's bytes, a module's inputs. */
#define ARCH_MAX_BYTES   ((size_t)64 << 20)
#define ARCH_MAX_MODULES 200000
#define ARCH_MAX_NAME    1024
#define ARCH_MAX_INPUTS  4096
/* Folding looks for repeated runs of at most this many layers. */
#define ARCH_MAX_BLOCK 64

enum arch_source { ARCH_FX, ARCH_ORDER, ARCH_LAYERS };

struct arch_layer {
	char *name; /* qualified module name ("layer1.0.conv1"); a module called twice is two layers
	             */
	char *op;   /* module type ("Conv2d"); "?" when the study's layers do not tell */
	int ndim;   /* output shape without the batch dimension; 0 when unknown */
	size_t shape[ARCH_MAX_DIMS];
	int nkernel; /* kernel size of convolutions and pooling, 0 when none */
	size_t kernel[3];
	/*
	 * Their stride, padding and dilation as graph.json gives them (as many as the kernel's
	 * dimensions, else absent: 0): what the receptive field needs (rfield.h). padding "same"
	 * or "valid" (PyTorch's strings) is pad_mode, with npad 0.
	 */
	int nstride, npad, ndilation;
	size_t stride[3], padding[3], dilation[3];
	enum arch_pad { ARCH_PAD_NUMBERS, ARCH_PAD_SAME, ARCH_PAD_VALID } pad_mode;
	uint64_t params;
	size_t n_inputs;
	long *inputs;              /* indices of earlier layers; -1 is the model's input */
	bool activations, weights; /* the study holds them for this name */
	size_t act_cols;           /* values per instance in those activations (0 without) */
	/* Against another snapshot (arch_set_change; ARCH_CHG_NONE until then): */
	enum arch_chg {
		ARCH_CHG_NONE,  /* not compared: no weights here, or no other snapshot */
		ARCH_CHG_VALUE, /* change = ||B - A|| / ||A|| over the finite pairs */
		ARCH_CHG_NULL,  /* compared, but no number (||A|| = 0, no finite weight): chg_why */
		ARCH_CHG_SKIP,  /* no comparable layer in the other model: chg_why says why */
	} chg;
	double change;        /* ARCH_CHG_VALUE only */
	size_t chg_nonfinite; /* NaN / infinite pairs left out of change */
	char *chg_why;        /* owned, one line, ASCII; NULL for NONE and VALUE */
};

/* Layers start .. start+len-1, then the same run repeated: repeat × len layers in all. */
struct arch_block {
	size_t start, len, repeat;
};

struct arch {
	char *model; /* NULL until arch_load() */
	enum arch_source source;
	uint64_t params; /* the model's parameter count (graph.json's, else the layers' sum) */
	int in_ndim;     /* graph.json's input_shape, without the batch (C, H, W); 0 when absent */
	size_t in_shape[ARCH_MAX_DIMS];
	size_t n_layers;
	struct arch_layer *layers;
	size_t n_blocks;
	struct arch_block *blocks; /* after arch_fold(): cover the layers in order */
	char *vs;     /* the other snapshot's model name after arch_set_change(), else NULL */
	long largest; /* the layer of the largest change (the first of equals), -1 when none */
};

/*
 * Parses graph.json from buf (len bytes; `path` names it in messages) into *a (zeroed first).
 * Returns 0, or -1 with a one-line message in err and *a needing no free.
 */
int arch_parse_graph(const char *buf, size_t len, const char *path, struct arch *a,
                     struct nn_err *err);
/*
 * The architecture of model m of study s: models/NAME/graph.json under the study's root when
 * present, else from m's layers (source ARCH_LAYERS); folded, the study's layers marked.
 * Returns 0, or -1 with err naming the file at fault.
 */
int arch_load(const struct study *s, const struct model *m, struct arch *a, struct nn_err *err);
/* Whether the study has a graph.json for model m (path set to it, caller frees, when true). */
bool arch_graph_path(const struct study *s, const struct model *m, char **path);
/* Groups a->layers into a->blocks (replacing any earlier folding). */
void arch_fold(struct arch *a);
/*
 * A layer as `nncmp arch` and the TUI's A show it, without its name: "Conv2d 3×3 64 16×8×8
 * (1168)" (type, kernel, a convolution's channels, output shape or "?", parameters when any)
 * and, with marks, " [A W]" (arch_layer_marks). UTF-8 or ASCII glyphs; the type is copied raw
 * from graph.json, so sanitize before drawing. Writes at most size bytes into buf; returns buf.
 */
const char *arch_layer_label(const struct arch_layer *ly, bool marks, bool utf8, char *buf,
                             size_t size);
/* "[A W]", "[A]", "[W]", "[A(16) W]" (activations holding another number of values than the
 * output shape, a pooled copy), or "" for a layer the study has no files for. Returns buf. */
const char *arch_layer_marks(const struct arch_layer *ly, char *buf, size_t size);
/*
 * Whether block b starts a new stage, a line of the drawing (`nncmp arch`, the TUI's A): the
 * first block, a repeated block and the one after it, or a change of spatial size (the
 * dimensions after the first) from the previous block's last layer.
 */
bool arch_new_stage(const struct arch *a, size_t b);
/*
 * Colours the architecture by the weight change against another snapshot of the model (the
 * CNNComparator network view): every layer with weights gets ||B - A||_F / ||A||_F from d, a
 * weights_diff_models() result of the same two models (either order; A is the reference, the
 * arch's model for arch_compare()), found by name; or, when d has none, the reason from `other`
 * and d->skipped (no such layer, no weights, another shape). Sets a->vs and a->largest. Replaces
 * any earlier change. d is only read and may be freed afterwards.
 */
void arch_set_change(struct arch *a, const struct model *other, const struct wdiff *d);
/*
 * weights_diff_models(self, other) and arch_set_change() in one: the change of every layer of
 * a (the architecture of self) from self to other. Returns 0, or -1 with err set.
 */
int arch_compare(struct arch *a, const struct model *self, const struct model *other,
                 struct nn_err *err);

/* Two layers fold together: same op, kernel, output shape and parameter count. */
bool arch_same_layer(const struct arch_layer *x, const struct arch_layer *y);
/* Compares layer names with digit runs as numbers ("b.2" < "b.10"), as strcmp returns. */
int arch_name_cmp(const char *x, const char *y);
/* "fx", "order" or "layers". */
const char *arch_source_name(enum arch_source src);
void arch_free(struct arch *a);

#endif

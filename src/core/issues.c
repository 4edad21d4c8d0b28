/* issues.c — label-issue scores: the methods' front, margin, iies, consensus, and the ranking. */
#include "nncmp/issues.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/derive.h"
#include "nncmp/issues_internal.h"
#include "nncmp/keysort.h"

static const char *const method_names[ISSUE_METHOD_COUNT] = {"cl",  "margin", "iies", "consensus",
                                                             "knn", "mean",   "mix"};

const char *issue_method_name(enum issue_method m)
{
	return (unsigned)m < ISSUE_METHOD_COUNT ? method_names[m] : "?";
}

int issue_method_parse(const char *name)
{
	for (int m = 0; m < ISSUE_METHOD_COUNT; m++)
		if (strcmp(name, method_names[m]) == 0)
			return m;
	return -1;
}

enum issue_method issue_method_default(const struct study *s)
{
	for (size_t m = 0; m < s->n_models; m++)
		if (s->models[m].src != SRC_PRED)
			return ISSUE_MIX;
	return ISSUE_CONSENSUS;
}

int issues_tick(struct nn_progress *prog, size_t rows, struct nn_err *err)
{
	if (!prog)
		return 0;
	atomic_fetch_add(&prog->done, rows);
	if (atomic_load(&prog->cancel))
		return nn_err_set(err, "cancelled");
	return 0;
}

bool probs_in_place(const struct model *m)
{
	const struct npy *a = &m->probs;
	return m->src == SRC_PROBS && a->h.kind == NPY_FLOAT && a->h.itemsize == 4 &&
	       npy_contiguous(a) && !a->h.swap && !a->h.fortran &&
	       (uintptr_t)a->data % sizeof(float) == 0;
}

/* Vector lanes for the loops below: a fixed inner trip count the compiler unrolls into SIMD. */
#define ISSUES_LANES 8

void prob_scratch_init(struct prob_scratch *sc, const struct prob_src *ps, size_t rows)
{
	sc->rows = rows ? rows : 1;
	sc->f = xmalloc(ps->nm * sc->rows * ps->c * sizeof *sc->f);
	sc->src = xcalloc(ps->nm, sizeof *sc->src);
	sc->row = xmalloc((ps->c ? ps->c : 1) * sizeof *sc->row);
}

void prob_scratch_free(struct prob_scratch *sc)
{
	free(sc->f);
	free(sc->src);
	free(sc->row);
	memset(sc, 0, sizeof *sc);
}

/* out[e] = ((f[0][e] + f[1][e]) + ...) / nm for e < n: the models' sum in model order. */
NN_VECTOR_CLONES
static void mean_f32(double *restrict out, const float *const *f, size_t nm, size_t n)
{
	size_t e = 0;
	for (; e + ISSUES_LANES <= n; e += ISSUES_LANES) {
		double acc[ISSUES_LANES];
		for (size_t k = 0; k < ISSUES_LANES; k++)
			acc[k] = f[0][e + k];
		for (size_t m = 1; m < nm; m++)
			for (size_t k = 0; k < ISSUES_LANES; k++)
				acc[k] += f[m][e + k];
		if (nm > 1)
			for (size_t k = 0; k < ISSUES_LANES; k++)
				acc[k] /= (double)nm;
		for (size_t k = 0; k < ISSUES_LANES; k++)
			out[e + k] = acc[k];
	}
	for (; e < n; e++) {
		double acc = f[0][e];
		for (size_t m = 1; m < nm; m++)
			acc += f[m][e];
		out[e] = nm > 1 ? acc / (double)nm : acc;
	}
}

typedef double argmax_v4d __attribute__((vector_size(4 * sizeof(double))));
typedef int64_t argmax_v4l __attribute__((vector_size(4 * sizeof(int64_t))));

/*
 * Four lanes, each with its maximum and the column where it first met it (as doubles, so the
 * blend needs no conversion); the column skip never counts. GCC at -O2 runs the plain loop
 * `if (p[j] > p[best]) best = j` scalar, a compare and a branch per value.
 */
NN_VECTOR_CLONES
static size_t argmax_lanes(const double *p, size_t c, size_t skip, size_t s0)
{
	const argmax_v4d step = {4, 4, 4, 4},
	                 sk = {(double)skip, (double)skip, (double)skip, (double)skip};
	argmax_v4d top = {-INFINITY, -INFINITY, -INFINITY, -INFINITY}, at = {0, 0, 0, 0};
	argmax_v4d jv = {0, 1, 2, 3};
	size_t j = 0;
	for (; j + 4 <= c; j += 4, jv += step) {
		argmax_v4d v;
		memcpy(&v, p + j, sizeof v);
		argmax_v4l gt = (v > top) & (jv != sk); /* all ones where v rises (never NaN) */
		top = (argmax_v4d)(((argmax_v4l)v & gt) | ((argmax_v4l)top & ~gt));
		at = (argmax_v4d)(((argmax_v4l)jv & gt) | ((argmax_v4l)at & ~gt));
	}
	double tl[4], al[4];
	memcpy(tl, &top, sizeof tl);
	memcpy(al, &at, sizeof al);
	for (size_t k = 0; j + k < c; k++)
		if (j + k != skip && p[j + k] > tl[k]) {
			tl[k] = p[j + k];
			al[k] = (double)(j + k);
		}
	double b = -INFINITY, first = (double)c;
	for (size_t k = 0; k < 4; k++)
		b = tl[k] > b ? tl[k] : b;
	for (size_t k = 0; k < 4; k++)
		if (tl[k] == b && b > -INFINITY && al[k] < first)
			first = al[k];
	return first < (double)c ? (size_t)first : s0; /* nothing above -inf: all -inf from s0 on */
}

size_t prob_row_argmax(const double *p, size_t c, size_t skip)
{
	size_t s0 = skip == 0 ? 1 : 0;
	if (s0 >= c)
		return 0;
	if (isnan(p[s0]))
		return s0; /* nothing compares greater than a NaN start */
	return argmax_lanes(p, c, skip, s0);
}

void prob_src_rows(const struct prob_src *ps, size_t i0, size_t nb, double *out,
                   struct prob_scratch *sc)
{
	size_t c = ps->c;
	bool all_f32 = true;
	for (size_t k = 0; k < ps->nm; k++) {
		const struct model *m = ps->m[k];
		const struct npy_header *h = &m->probs.h;
		sc->src[k] = NULL;
		if (probs_in_place(m))
			sc->src[k] = (const float *)(const void *)m->probs.data + i0 * c;
		else if (m->src == SRC_PROBS && h->kind == NPY_FLOAT && h->itemsize <= 4) {
			float *f = sc->f + k * sc->rows * c;
			npy_rows_f32(&m->probs, i0, nb, f); /* exact for float16 and float32 */
			sc->src[k] = f;
		}
		all_f32 &= sc->src[k] != NULL;
	}
	if (all_f32) {
		mean_f32(out, sc->src, ps->nm, nb * c);
		return;
	}
	/* some model has logits or wider values: the same sums, a row at a time */
	for (size_t r = 0; r < nb; r++) {
		double *o = out + r * c;
		for (size_t k = 0; k < ps->nm; k++) {
			const float *f = sc->src[k] ? sc->src[k] + r * c : NULL;
			double *dst = k ? sc->row : o;
			if (f)
				for (size_t j = 0; j < c; j++)
					dst[j] = f[j];
			else
				derive_model_row(ps->m[k], i0 + r, c, dst);
			if (k)
				for (size_t j = 0; j < c; j++)
					o[j] += dst[j];
		}
		if (ps->nm > 1)
			for (size_t j = 0; j < c; j++)
				o[j] /= (double)ps->nm;
	}
}

double prob_src_p_label(const struct prob_src *ps, size_t i, double *row, struct prob_scratch *sc)
{
	int32_t l = ps->labels[i];
	if (l == ps->s->labels[i]) {
		double sum = 0;
		for (size_t k = 0; k < ps->nm; k++)
			sum = k ? sum + model_p_label(ps->m[k], i) : model_p_label(ps->m[k], i);
		return ps->nm > 1 ? sum / (double)ps->nm : sum;
	}
	prob_src_rows(ps, i, 1, row, sc);
	return row[l];
}

/* Values per block of the fused passes below: 16 KB of doubles, in the CPU's first-level cache
 * beside the rows being read. */
#define ISSUES_FUSED_VALUES 2048
/* Models whose rows issues_mean_pick averages in registers (more: a block at a time). */
#define ISSUES_FUSED_MODELS 64
/* The fused passes run on up to this many threads, each over its own range of rows. */
#define ISSUES_MAX_THREADS 8

/* Candidate k of mean_top2's merge beats candidate o: a larger value, or equal and a lower column.
 */
static bool top_before(const double *v, const double *at, size_t k, size_t o)
{
	return v[k] > v[o] || (v[k] == v[o] && at[k] < at[o]);
}

/*
 * The mean of nm float32 rows f[m][0 .. c) (summed in model order, then divided by nm, as
 * mean_f32) scanned once for its first maximum *best and the first maximum *other of the columns
 * but best (what prob_row_argmax finds for skip = c and skip = best; c when c = 1), without a
 * division per value: lanes of four doubles keep the three largest sums and where they first met
 * the two largest. The sums' order is the means' (a division by nm is monotonic) unless two sums
 * give one mean: so with nm > 1 the answer stands only when the runner-up's sum is below the
 * least sum whose mean is the maximum's, and the next sum below the runner-up's likewise.
 * Returns -1 when a sum is NaN or that fails (then prob_row_argmax's rules on the mean rows
 * decide), else 0.
 */
NN_VECTOR_CLONES
static int mean_top2(const float *const *f, size_t nm, size_t c, size_t *best, size_t *other)
{
	typedef double v4d __attribute__((vector_size(4 * sizeof(double))));
	typedef float v4f __attribute__((vector_size(4 * sizeof(float))));
	typedef int64_t v4l __attribute__((vector_size(4 * sizeof(int64_t))));
	const v4d step = {4, 4, 4, 4};
	v4d t1 = {-INFINITY, -INFINITY, -INFINITY, -INFINITY}, t2 = t1, t3 = t1;
	v4d a1 = {0, 0, 0, 0}, a2 = a1, jv = {0, 1, 2, 3};
	v4l nan = {0, 0, 0, 0};
	size_t j = 0;
	for (; j + 4 <= c; j += 4, jv += step) {
		v4f x;
		memcpy(&x, f[0] + j, sizeof x);
		v4d v = __builtin_convertvector(x, v4d);
		for (size_t m = 1; m < nm; m++) {
			memcpy(&x, f[m] + j, sizeof x);
			v += __builtin_convertvector(x, v4d);
		}
		nan |= v != v;
		v4l g1 = v > t1, g2 = v > t2, g3 = v > t3; /* all ones where true; g1 in g2 in g3 */
		t3 = (v4d)(((v4l)t2 & g2) | ((v4l)v & g3 & ~g2) | ((v4l)t3 & ~g3));
		t2 = (v4d)(((v4l)t1 & g1) | ((v4l)v & g2 & ~g1) | ((v4l)t2 & ~g2));
		a2 = (v4d)(((v4l)a1 & g1) | ((v4l)jv & g2 & ~g1) | ((v4l)a2 & ~g2));
		t1 = (v4d)(((v4l)v & g1) | ((v4l)t1 & ~g1));
		a1 = (v4d)(((v4l)jv & g1) | ((v4l)a1 & ~g1));
	}
	double v1[12], at[12]; /* lanes' largest, then second largest (with columns), then third */
	memcpy(v1, &t1, sizeof t1);
	memcpy(v1 + 4, &t2, sizeof t2);
	memcpy(v1 + 8, &t3, sizeof t3);
	memcpy(at, &a1, sizeof a1);
	memcpy(at + 4, &a2, sizeof a2);
	for (size_t k = 8; k < 12; k++)
		at[k] = (double)c; /* the third's column is not kept */
	bool any_nan = nan[0] | nan[1] | nan[2] | nan[3];
	for (size_t k = 0; j + k < c; k++) {
		double v = f[0][j + k];
		for (size_t m = 1; m < nm; m++)
			v += f[m][j + k];
		any_nan |= v != v;
		double col = (double)(j + k);
		if (v > v1[k]) {
			v1[k + 8] = v1[k + 4];
			v1[k + 4] = v1[k], at[k + 4] = at[k];
			v1[k] = v, at[k] = col;
		} else if (v > v1[k + 4]) {
			v1[k + 8] = v1[k + 4];
			v1[k + 4] = v, at[k + 4] = col;
		} else if (v > v1[k + 8]) {
			v1[k + 8] = v;
		}
	}
	if (any_nan)
		return -1;
	size_t b = 0; /* among the lanes' largest */
	for (size_t k = 1; k < 4; k++)
		b = top_before(v1, at, k, b) ? k : b;
	size_t o = b == 0 ? 1 : 0; /* among the rest of the largest and the second largest */
	for (size_t k = 0; k < 8; k++)
		o = k != b && top_before(v1, at, k, o) ? k : o;
	double third = -INFINITY;
	for (size_t k = 0; k < 12; k++)
		third = k != b && k != o && v1[k] > third ? v1[k] : third;
	if (nm > 1) {
		double nmd = (double)nm;
		if (!(v1[o] < prob_sum_at_least(v1[b] / nmd, nmd)) ||
		    (c > 2 && !(third < prob_sum_at_least(v1[o] / nmd, nmd))))
			return -1;
	}
	*best = (size_t)at[b];
	*other = c > 1 ? (size_t)at[o] : c;
	return 0;
}

double prob_sum_at_least(double t, double nm)
{
	double v = t * nm;
	for (int k = 0; k < 16; k++) { /* t * nm is off by an ulp or so */
		if (v / nm >= t) {
			double d = nextafter(v, -INFINITY);
			if (!(d / nm >= t))
				return v;
			v = d;
		} else {
			v = nextafter(v, INFINITY);
		}
	}
	return NAN;
}

/* One thread's share of issues_mean_pick: rows [i0, i1). */
struct mean_part {
	const struct prob_src *ps;
	size_t i0, i1;
	uint8_t *flag;
	double *score;
	int32_t *sugg;
	struct nn_err err;
	int rc;
};

static void *mean_part_run(void *arg)
{
	struct mean_part *w = arg;
	const struct prob_src *ps = w->ps;
	size_t c = ps->c, block = c && c < ISSUES_FUSED_VALUES ? ISSUES_FUSED_VALUES / c : 1;
	double *rows = xmalloc(block * (c ? c : 1) * sizeof *rows);
	struct prob_scratch sc;
	prob_scratch_init(&sc, ps, block);
	/* float32 rows in place: each row's mean is made and scanned in registers */
	bool fused = c > 0 && ps->nm <= ISSUES_FUSED_MODELS;
	const float *base[ISSUES_FUSED_MODELS], *f[ISSUES_FUSED_MODELS];
	for (size_t k = 0; fused && k < ps->nm; k++) {
		fused = probs_in_place(ps->m[k]);
		base[k] = fused ? (const float *)(const void *)ps->m[k]->probs.data : NULL;
	}
	for (size_t i0 = w->i0; i0 < w->i1 && w->rc == 0; i0 += block) {
		size_t nb = w->i1 - i0 < block ? w->i1 - i0 : block;
		bool have_rows = false;
		for (size_t r = 0; r < nb; r++) {
			size_t i = i0 + r;
			if (ps->exclude && ps->exclude[i])
				continue;
			int32_t l = ps->labels[i];
			size_t best, other;
			if (fused) {
				for (size_t k = 0; k < ps->nm; k++)
					f[k] = base[k] + i * c;
				if (mean_top2(f, ps->nm, c, &best, &other) == 0) {
					double pl = f[0][l];
					for (size_t k = 1; k < ps->nm; k++)
						pl += f[k][l];
					w->score[i] = 1.0 - (ps->nm > 1 ? pl / (double)ps->nm : pl);
					w->flag[i] = (int32_t)best != l;
					w->sugg[i] =
					    (int32_t)(best == (size_t)l && c > 1 ? other : best);
					continue;
				}
			}
			if (!have_rows) /* the block's mean rows, for the general rules */
				prob_src_rows(ps, i0, nb, rows, &sc);
			have_rows = true;
			const double *p = rows + r * c;
			best = prob_row_argmax(p, c, c);
			w->score[i] = 1.0 - p[l];
			w->flag[i] = (int32_t)best != l;
			w->sugg[i] = (int32_t)best == l && c > 1
			                 ? (int32_t)prob_row_argmax(p, c, best)
			                 : (int32_t)best;
		}
		w->rc = issues_tick(ps->prog, nb, &w->err);
	}
	free(rows);
	prob_scratch_free(&sc);
	return NULL;
}

int issues_mean_pick(const struct prob_src *ps, uint8_t *flag, double *score, int32_t *sugg,
                     struct nn_err *err)
{
	size_t n = ps->s->n;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nt = cpus > 1 ? (size_t)cpus : 1;
	nt = nt > ISSUES_MAX_THREADS ? ISSUES_MAX_THREADS : nt;
	nt = n / nt < 65536 ? 1 : nt; /* small studies: one thread */
	struct mean_part parts[ISSUES_MAX_THREADS];
	pthread_t tid[ISSUES_MAX_THREADS];
	bool started[ISSUES_MAX_THREADS] = {false};
	for (size_t k = 0; k < nt; k++) {
		parts[k] = (struct mean_part){.ps = ps,
		                              .i0 = n * k / nt,
		                              .i1 = n * (k + 1) / nt,
		                              .flag = flag,
		                              .score = score,
		                              .sugg = sugg};
		if (k > 0)
			started[k] = pthread_create(&tid[k], NULL, mean_part_run, &parts[k]) == 0;
	}
	for (size_t k = 0; k < nt; k++)
		if (!started[k])
			mean_part_run(
			    &parts[k]); /* this thread's part, and any that did not start */
	int rc = 0;
	for (size_t k = 0; k < nt; k++) {
		if (started[k])
			pthread_join(tid[k], NULL);
		if (parts[k].rc && rc == 0) {
			*err = parts[k].err;
			rc = -1;
		}
	}
	return rc;
}

/*
 * Sets up ps for the models a method reads: model o->model (which must have probabilities), or
 * every model that has them. Returns 0, or -1 with err set.
 */
static int prob_src_init(struct prob_src *ps, const struct study *s, const struct issue_opts *o,
                         const int32_t *labels, struct nn_progress *prog, enum issue_method meth,
                         struct nn_err *err)
{
	memset(ps, 0, sizeof *ps);
	ps->s = s;
	ps->labels = labels;
	ps->exclude = o->exclude;
	ps->prog = prog;
	ps->m = xcalloc(s->n_models ? s->n_models : 1, sizeof *ps->m);
	for (size_t m = 0; m < s->n_models; m++) {
		if (o->model >= 0 && (size_t)o->model != m)
			continue;
		if (s->models[m].src == SRC_PRED) {
			if (o->model >= 0) {
				free(ps->m);
				return nn_err_set(err,
				                  "model %s has only predictions: method %s needs "
				                  "probabilities (try --method consensus)",
				                  s->models[m].name, issue_method_name(meth));
			}
			continue;
		}
		ps->m[ps->nm++] = &s->models[m];
	}
	if (ps->nm == 0) {
		free(ps->m);
		return nn_err_set(err,
		                  "%s: no model has probabilities: method %s needs them (try "
		                  "--method consensus)",
		                  s->name, issue_method_name(meth));
	}
	ps->c = s->n_classes;
	return 0;
}

/* margin or iies over ps, in one pass. */
static int issues_margin_iies(const struct prob_src *ps, bool iies, uint8_t *flag, double *score,
                              int32_t *sugg, struct nn_err *err)
{
	size_t n = ps->s->n, c = ps->c;
	size_t block = issues_block_rows(c);
	double *rows = xmalloc(block * c * sizeof *rows);
	struct prob_scratch sc;
	prob_scratch_init(&sc, ps, block);
	int rc = 0;
	if (ps->prog)
		atomic_store(&ps->prog->total, n);
	for (size_t i0 = 0; i0 < n && rc == 0; i0 += block) {
		size_t nb = n - i0 < block ? n - i0 : block;
		prob_src_rows(ps, i0, nb, rows, &sc);
		for (size_t r = 0; r < nb; r++) {
			size_t i = i0 + r;
			if (ps->exclude && ps->exclude[i])
				continue;
			const double *p = rows + r * c;
			int32_t l = ps->labels[i];
			size_t best = 0, other = l == 0 ? (c > 1 ? 1 : 0) : 0;
			for (size_t j = 1; j < c; j++) {
				if (p[j] > p[best])
					best = j;
				if ((int32_t)j != l && p[j] > p[other])
					other = j;
			}
			sugg[i] = (int32_t)best;
			if (iies) {
				score[i] = (p[best] + 1.0 - p[l]) / 2.0;
				flag[i] = (int32_t)best != l;
			} else {
				score[i] = c > 1 ? p[other] - p[l] : -p[l];
				flag[i] = score[i] > 0;
				sugg[i] = score[i] > 0 ? (int32_t)other : (int32_t)best;
			}
		}
		rc = issues_tick(ps->prog, nb, err);
	}
	free(rows);
	prob_scratch_free(&sc);
	return rc;
}

/* Model m's IIES for instance i against label l (one-hot rows for a prediction-only model). */
static double model_iies(const struct model *m, size_t i, int32_t l, const struct study *s,
                         double *row)
{
	if (m->src == SRC_PRED)
		return model_pred(m, i) == l ? 0.5 : 1.0;
	if (l == s->labels[i])
		return (model_conf(m, i) + 1.0 - model_p_label(m, i)) / 2.0;
	derive_model_row(m, i, s->n_classes, row);
	return (model_conf(m, i) + 1.0 - row[l]) / 2.0;
}

int issues_iies(const struct study *s, int model, double *out, struct nn_err *err)
{
	if (model < 0 || (size_t)model >= s->n_models)
		return nn_err_set(err, "%s: no model number %d", s->name, model);
	const struct model *m = &s->models[model];
	for (size_t i = 0; i < s->n; i++)
		out[i] = model_iies(m, i, s->labels[i], s, NULL);
	return 0;
}

/* consensus over the chosen models (all, or o->model). tie receives the disagreeing fraction. */
static int issues_consensus(const struct study *s, const struct issue_opts *o,
                            const int32_t *labels, struct nn_progress *prog, uint8_t *flag,
                            double *score, int32_t *sugg, double *tie, struct nn_err *err)
{
	size_t n = s->n, c = s->n_classes, nm = 0;
	for (size_t m = 0; m < s->n_models; m++)
		nm += o->model < 0 || (size_t)o->model == m;
	if (nm == 0)
		return nn_err_set(err, "%s: no models", s->name);
	double *row = xmalloc(c * sizeof *row);
	uint32_t *votes = xcalloc(c, sizeof *votes);
	if (prog)
		atomic_store(&prog->total, n);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (o->exclude && o->exclude[i])
			continue;
		double sum = 0;
		size_t disagree = 0;
		for (size_t m = 0; m < s->n_models; m++) {
			if (o->model >= 0 && (size_t)o->model != m)
				continue;
			const struct model *md = &s->models[m];
			sum += model_iies(md, i, labels[i], s, row);
			disagree += model_pred(md, i) != labels[i];
			votes[model_pred(md, i)]++;
		}
		int32_t best = 0;
		for (size_t m = 0; m < s->n_models; m++) {
			int32_t p = model_pred(&s->models[m], i);
			if (votes[p] > votes[best] || (votes[p] == votes[best] && p < best))
				best = p;
		}
		for (size_t m = 0; m < s->n_models; m++)
			votes[model_pred(&s->models[m], i)] = 0;
		score[i] = sum / (double)nm;
		tie[i] = (double)disagree / (double)nm;
		flag[i] = 2 * disagree > nm;
		sugg[i] = best;
		if ((i + 1) % 65536 == 0)
			rc = issues_tick(prog, 65536, err);
	}
	free(row);
	free(votes);
	return rc;
}

/* Sorts idx[0 .. n) by score, then by tie (when not NULL), highest first; stable. */
static void rank_segment(uint32_t *idx, size_t n, const double *score, const double *tie)
{
	if (tie)
		keysort_by(idx, n, tie, true);
	keysort_by(idx, n, score, true);
}

/* -1 when x ranks before y (higher first, NaN last), 1 after, 0 equal. */
static int cmp_desc(double x, double y)
{
	bool nx = isnan(x), ny = isnan(y);
	if (nx || ny)
		return nx == ny ? 0 : nx ? 1 : -1;
	return x > y ? -1 : x < y ? 1 : 0;
}

struct rank_keys {
	const double *score, *tie;
};

/* True when instance a ranks after b: by score, then tie, then index (as rank_segment). */
static bool ranks_after(const struct rank_keys *k, uint32_t a, uint32_t b)
{
	int c = cmp_desc(k->score[a], k->score[b]);
	if (c == 0 && k->tie)
		c = cmp_desc(k->tie[a], k->tie[b]);
	return c ? c > 0 : a > b;
}

/* Sifts h[i] down the heap h[0 .. n) whose root is the entry that ranks last. */
static void sift_down(uint32_t *h, size_t n, size_t i, const struct rank_keys *k)
{
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && ranks_after(k, h[c + 1], h[c]))
			c++;
		if (!ranks_after(k, h[c], h[i]))
			return;
		uint32_t t = h[i];
		h[i] = h[c];
		h[c] = t;
		i = c;
	}
}

/*
 * Puts the best top of idx[0 .. n) (in index order) first, ranked exactly as rank_segment ranks
 * them, and the others after in index order: a heap selection, O(n log top). For a top of half
 * of n or more, ranks them all.
 */
static void rank_top(uint32_t *idx, size_t n, size_t top, const double *score, const double *tie)
{
	if (top >= n / 2) {
		rank_segment(idx, n, score, tie);
		return;
	}
	if (top == 0)
		return;
	const struct rank_keys k = {score, tie};
	uint32_t *h = xmalloc(top * sizeof *h);
	memcpy(h, idx, top * sizeof *h);
	for (size_t i = top / 2; i-- > 0;)
		sift_down(h, top, i, &k);
	for (size_t j = top; j < n; j++)
		if (ranks_after(&k, h[0], idx[j])) {
			h[0] = idx[j];
			sift_down(h, top, 0, &k);
		}
	for (size_t e = top; e-- > 1;) { /* heap sort: the last-ranked to the end */
		uint32_t t = h[0];
		h[0] = h[e];
		h[e] = t;
		sift_down(h, e, 0, &k);
	}
	/* the rest in index order: idx is ascending, and so is every run of it not chosen */
	uint32_t *sorted = xmalloc(top * sizeof *sorted);
	memcpy(sorted, h, top * sizeof *sorted);
	keysort_index(h, top);
	size_t w = n, hk = top;
	for (size_t j = n; j-- > 0;) /* from the end, so the tail is written before it is read */
		if (hk > 0 && idx[j] == h[hk - 1])
			hk--;
		else
			idx[--w] = idx[j];
	memcpy(idx, sorted, top * sizeof *idx);
	free(sorted);
	free(h);
}

/*
 * Builds the ranked list from the per-instance arrays (tie may be NULL): flagged first, then
 * by score, then by the tie-break, highest first; then by index. Takes flag, score and sugg
 * (score becomes out->all_scores, the others are freed as soon as they are read), so that the
 * heap holds at most score, the index, out->suggested and out->score at once (the last two of
 * the ranked entries only, with o->partial).
 */
static void issues_finish(const struct study *s, const struct issue_opts *o, uint8_t *flag,
                          double *score, const double *tie, int32_t *sugg, struct issue_list *out)
{
	const uint8_t *exclude = o->exclude;
	size_t n = s->n, kept = 0, flagged = 0;
	for (size_t i = 0; i < n; i++) {
		bool ex = exclude && exclude[i];
		kept += !ex;
		flagged += !ex && flag[i];
	}
	out->count = flagged;
	out->n = kept;
	out->index = xmalloc((kept ? kept : 1) * sizeof *out->index);
	for (size_t i = 0, a = 0, b = flagged; i < n; i++)
		if (!(exclude && exclude[i]))
			out->index[flag[i] ? a++ : b++] = (uint32_t)i;
	free(flag);
	/* ranking reads the scores of instances not excluded only */
	for (size_t i = 0; exclude && i < n; i++)
		if (exclude[i])
			score[i] = NAN;
	out->all_scores = score;
	rank_segment(out->index, flagged, score, tie);
	if (o->partial)
		rank_top(out->index + flagged, kept - flagged, o->rank_rest, score, tie);
	else
		rank_segment(out->index + flagged, kept - flagged, score, tie);
	/* partial: the entries ranked only (issues.h) */
	size_t ranked = o->partial && o->rank_rest < kept - flagged ? flagged + o->rank_rest : kept;
	out->ranked = ranked;
	out->suggested = xmalloc((ranked ? ranked : 1) * sizeof *out->suggested);
	for (size_t r = 0; r < ranked; r++)
		out->suggested[r] = sugg[out->index[r]];
	free(sugg);
	out->score = xmalloc((ranked ? ranked : 1) * sizeof *out->score);
	for (size_t r = 0; r < ranked; r++)
		out->score[r] = score[out->index[r]];
}

/* Finds the knn layer: o->layer ("model.layer", the longest model name that fits), or the first. */
static const struct layer *knn_layer(const struct study *s, const char *spec, struct nn_err *err)
{
	if (!spec) {
		for (size_t m = 0; m < s->n_models; m++)
			for (size_t l = 0; l < s->models[m].n_layers; l++)
				if (s->models[m].layers[l].act_path)
					return &s->models[m].layers[l];
		nn_err_set(err, "%s: no layer has activations: method knn needs one", s->name);
		return NULL;
	}
	const struct layer *found = NULL;
	size_t best_len = 0;
	for (size_t m = 0; m < s->n_models; m++) {
		size_t len = strlen(s->models[m].name);
		if (strncmp(spec, s->models[m].name, len) != 0 || spec[len] != '.' ||
		    len < best_len)
			continue;
		int l = study_layer_index(&s->models[m], spec + len + 1);
		if (l >= 0) {
			found = &s->models[m].layers[l];
			best_len = len;
		}
	}
	if (!found) {
		nn_err_set(err, "%s: no layer '%s' (MODEL.LAYER)", s->name, spec);
		return NULL;
	}
	if (!found->act_path) {
		nn_err_set(err, "%s: layer '%s' has no activations: method knn needs them", s->name,
		           spec);
		return NULL;
	}
	return found;
}

/* The neighbour search's cost over n instances: n² multiply-adds per neuron of each layer. */
static double knn_work(size_t n, const struct layer *const *layers, size_t nl)
{
	double h = 0;
	for (size_t l = 0; l < nl; l++)
		h += (double)layers[l]->act.cols;
	return (double)n * (double)n * h;
}

/*
 * The layers mix reads into *out (freed by the caller): o->layer, or every layer with
 * activations of the models chosen (o->model, or all). When their neighbour search would cost
 * more than ISSUES_KNN_MAX_WORK and not o->force, none: *over_limit says how many were left out.
 * Returns how many, or -1 with err set (an unknown o->layer).
 */
static long mix_layers(const struct study *s, const struct issue_opts *o, const struct layer ***out,
                       size_t *over_limit, struct nn_err *err)
{
	size_t total = 0;
	for (size_t m = 0; m < s->n_models; m++)
		total += s->models[m].n_layers;
	*out = xcalloc(total ? total : 1, sizeof **out);
	long nl = 0;
	if (o->layer) {
		const struct layer *ly = knn_layer(s, o->layer, err);
		if (!ly)
			return -1;
		(*out)[nl++] = ly;
	} else {
		for (size_t m = 0; m < s->n_models; m++)
			for (size_t l = 0; l < s->models[m].n_layers; l++)
				if ((o->model < 0 || (size_t)o->model == m) &&
				    s->models[m].layers[l].act_path)
					(*out)[nl++] = &s->models[m].layers[l];
	}
	if (nl && !o->force && knn_work(s->n, *out, (size_t)nl) > ISSUES_KNN_MAX_WORK) {
		*over_limit = (size_t)nl;
		return 0;
	}
	return nl;
}

int issues_rank(const struct study *s, enum issue_method m, const struct issue_opts *o,
                struct nn_progress *prog, struct issue_list *out, struct nn_err *err)
{
	memset(out, 0, sizeof *out);
	out->method = m;
	static const struct issue_opts defaults = {.model = -1};
	if (!o)
		o = &defaults;
	if ((unsigned)m >= ISSUE_METHOD_COUNT)
		return nn_err_set(err, "unknown label-issue method %d", (int)m);
	if (o->model >= 0 && (size_t)o->model >= s->n_models)
		return nn_err_set(err, "%s: no model number %d", s->name, o->model);
	const int32_t *labels = o->labels ? o->labels : s->labels;
	if (o->labels)
		for (size_t i = 0; i < s->n; i++)
			if (labels[i] < 0 || (size_t)labels[i] >= s->n_classes)
				return nn_err_set(err, "label %d of instance %zu is not a class",
				                  labels[i], i);
	size_t n = s->n ? s->n : 1;
	uint8_t *flag = xcalloc(n, sizeof *flag);
	double *score = xcalloc(n, sizeof *score), *tie = NULL;
	int32_t *sugg = xcalloc(n, sizeof *sugg);
	int rc = 0;
	if (m == ISSUE_CONSENSUS) {
		tie = xcalloc(n, sizeof *tie);
		rc = issues_consensus(s, o, labels, prog, flag, score, sugg, tie, err);
	} else if (m == ISSUE_KNN) {
		const struct layer *ly = knn_layer(s, o->layer, err);
		if (!ly)
			rc = -1;
		else if (!o->force && knn_work(s->n, &ly, 1) > ISSUES_KNN_MAX_WORK)
			rc = nn_err_set(
			    err,
			    "%s: method knn on %zu instances × %zu neurons is refused: "
			    "N² × neurons = %.2g multiply-adds is over the limit of %.2g "
			    "(--force runs it anyway)",
			    s->name, s->n, ly->act.cols, knn_work(s->n, &ly, 1),
			    ISSUES_KNN_MAX_WORK);
		else
			rc = issues_knn(s, ly, labels, o->exclude,
			                o->k ? o->k : ISSUES_KNN_DEFAULT_K, prog, flag, score, sugg,
			                err);
	} else {
		struct prob_src ps;
		const struct layer **layers = NULL;
		long nl = 0;
		bool have_ps = (rc = prob_src_init(&ps, s, o, labels, prog, m, err)) == 0;
		if (rc == 0 && m == ISSUE_MIX &&
		    (nl = mix_layers(s, o, &layers, &out->layers_over_limit, err)) < 0)
			rc = -1;
		if (rc == 0) {
			if (m == ISSUE_CL)
				rc = issues_cl(&ps, flag, score, sugg, &out->estimated, err);
			else if (m == ISSUE_MEAN || m == ISSUE_MIX) {
				double *mw = xcalloc(ps.nm, sizeof *mw);
				rc = issues_mix(&ps, layers, (size_t)nl,
				                o->k ? o->k : ISSUES_KNN_DEFAULT_K, flag, score,
				                sugg, &out->layers_mixed, &out->layers_dropped,
				                &out->mix_weight, mw, err);
				out->model_weights = xcalloc(s->n_models ? s->n_models : 1,
				                             sizeof *out->model_weights);
				for (size_t q = 0; q < s->n_models; q++)
					out->model_weights[q] = NAN;
				for (size_t q = 0; q < ps.nm; q++)
					out->model_weights[ps.m[q] - s->models] = mw[q];
				free(mw);
			} else
				rc = issues_margin_iies(&ps, m == ISSUE_IIES, flag, score, sugg,
				                        err);
		}
		if (have_ps)
			free(ps.m);
		free(layers);
	}
	if (rc == 0) {
		issues_finish(s, o, flag, score, tie, sugg, out); /* takes flag, score, sugg */
		if (m != ISSUE_CL)
			out->estimated = out->count;
	} else {
		free(out->model_weights);
		memset(out, 0, sizeof *out);
		out->method = m;
		free(flag);
		free(score);
		free(sugg);
	}
	free(tie);
	return rc;
}

void issue_list_free(struct issue_list *l)
{
	free(l->index);
	free(l->suggested);
	free(l->score);
	free(l->all_scores);
	free(l->model_weights);
	memset(l, 0, sizeof *l);
}

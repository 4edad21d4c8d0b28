/*
 * rfield.c — receptive fields of spatial layers from graph.json, by the recurrence in rfield.h,
 * and the image region a position maps to.
 */
#include "nncmp/rfield.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Past this many pixels a field or its spacing is not worth drawing (and cannot overflow). */
#define RF_LIMIT ((size_t)1 << 40)

/* A layer's field along both dimensions, once computed. */
struct rf_state {
	size_t h, w;
	long start[2];
	size_t jump[2], size[2];
};

__attribute__((format(printf, 2, 3))) static void rf_fail(struct rfield *rf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rf->why, sizeof rf->why, fmt, ap);
	va_end(ap);
	rf->exact = false;
}

/* Types that act on each value alone (or per channel): the field passes through unchanged. */
static bool is_elementwise(const char *op)
{
	static const char *const ops[] = {"ReLU",         "ReLU6",
	                                  "LeakyReLU",    "PReLU",
	                                  "RReLU",        "ELU",
	                                  "SELU",         "CELU",
	                                  "GELU",         "SiLU",
	                                  "Mish",         "Sigmoid",
	                                  "Tanh",         "Hardtanh",
	                                  "Hardswish",    "Hardsigmoid",
	                                  "Softplus",     "Softsign",
	                                  "Threshold",    "Identity",
	                                  "Dropout",      "Dropout1d",
	                                  "Dropout2d",    "Dropout3d",
	                                  "AlphaDropout", "FeatureAlphaDropout",
	                                  "BatchNorm2d",  "FrozenBatchNorm2d",
	                                  "SyncBatchNorm"};
	for (size_t k = 0; k < sizeof ops / sizeof *ops; k++)
		if (strcmp(op, ops[k]) == 0)
			return true;
	return false;
}

static bool is_pool(const char *op)
{
	return strcmp(op, "MaxPool2d") == 0 || strcmp(op, "AvgPool2d") == 0;
}

static bool is_conv(const char *op)
{
	return strcmp(op, "Conv2d") == 0;
}

/*
 * Applies layer ly (a 2-D convolution or pooling) to the field in *st, in place, checking its
 * output size against graph.json's. Returns false after rf_fail().
 */
static bool apply_kernel(const struct arch_layer *ly, struct rf_state *st, struct rfield_step *sp,
                         struct rfield *rf)
{
	const char *n = ly->name;
	bool pool = is_pool(ly->op), avg = strcmp(ly->op, "AvgPool2d") == 0;
	if (ly->nkernel != 2 || ly->nstride != 2 ||
	    (ly->npad != 2 && ly->pad_mode == ARCH_PAD_NUMBERS) || (ly->ndilation != 2 && !avg)) {
		rf_fail(rf, "graph.json lacks %.64s's kernel, stride, padding or dilation", n);
		return false;
	}
	size_t in[2] = {st->h, st->w}, out[2], ceil_out[2], pad[2], span[2];
	for (int d = 0; d < 2; d++) {
		size_t k = ly->kernel[d], t = ly->stride[d], dil = avg ? 1 : ly->dilation[d];
		span[d] = dil * (k - 1); /* k, dil ≤ 2^20: no overflow */
		pad[d] = ly->pad_mode == ARCH_PAD_NUMBERS ? ly->padding[d]
		         : ly->pad_mode == ARCH_PAD_SAME
		             ? span[d] / 2 /* as torch: the rest after */
		             : 0;
		if (ly->pad_mode == ARCH_PAD_SAME && t != 1) {
			rf_fail(rf, "%.64s: padding \"same\" with stride %zu", n, t);
			return false;
		}
		/* torch's output size: (room + (ceil ? t − 1 : 0)) / t + 1, room possibly −1 and
		 * more in ceil mode (pooling's ceil_mode is not in graph.json: either may hold) */
		long room = (long)(in[d] + 2 * pad[d]) - (long)span[d] - 1;
		if (room + (pool ? (long)t - 1 : 0) < 0) {
			rf_fail(rf, "%.64s: its %zu×%zu input is smaller than its kernel", n, in[0],
			        in[1]);
			return false;
		}
		out[d] = ly->pad_mode == ARCH_PAD_SAME ? in[d]
		         : room < 0                    ? 0
		                                       : (size_t)room / t + 1;
		ceil_out[d] = (size_t)(room + (long)t - 1) / t + 1;
		if (ceil_out[d] > 1 && (ceil_out[d] - 1) * t >= in[d] + pad[d])
			ceil_out[d]--; /* the last window must start inside the input or its left
			                  pad */
		if (!pool)
			ceil_out[d] = out[d];
	}
	bool floor_ok = ly->shape[1] == out[0] && ly->shape[2] == out[1];
	bool ceil_ok = ly->shape[1] == ceil_out[0] && ly->shape[2] == ceil_out[1];
	if (!floor_ok && !ceil_ok) {
		rf_fail(rf,
		        "%.64s's output is %zu×%zu in graph.json, but its %zu×%zu input and kernel "
		        "give %zu×%zu (a step graph.json does not show?)",
		        n, ly->shape[1], ly->shape[2], in[0], in[1], out[0], out[1]);
		return false;
	}
	for (int d = 0; d < 2; d++) {
		size_t t = ly->stride[d];
		if (st->jump[d] > RF_LIMIT / t || span[d] > RF_LIMIT / st->jump[d] ||
		    st->size[d] + span[d] * st->jump[d] > RF_LIMIT ||
		    st->start[d] < -(long)RF_LIMIT) {
			rf_fail(rf, "%.64s: the receptive field is too large", n);
			return false;
		}
		st->size[d] += span[d] * st->jump[d];
		st->start[d] -= (long)(pad[d] * st->jump[d]);
		st->jump[d] *= t;
		sp->k[d] = ly->kernel[d];
		sp->s[d] = t;
		sp->p[d] = pad[d];
		sp->d[d] = avg ? 1 : ly->dilation[d];
	}
	sp->kernel = true;
	out[0] = ly->shape[1];
	out[1] = ly->shape[2];
	st->h = out[0];
	st->w = out[1];
	return true;
}

/*
 * Layer i's field from its inputs' (states), into *st, and its geometry into *sp. Returns
 * false after rf_fail().
 */
static bool layer_field(const struct arch *a, size_t i, const struct rf_state *in_state,
                        const struct rf_state *states, struct rf_state *st, struct rfield_step *sp,
                        struct rfield *rf)
{
	const struct arch_layer *ly = &a->layers[i];
	const char *n = ly->name;
	bool kernel = is_conv(ly->op) || is_pool(ly->op);
	if (!kernel && !is_elementwise(ly->op)) {
		rf_fail(rf,
		        "%.64s (%.64s) is neither a 2-D convolution, a pooling nor an "
		        "elementwise layer",
		        n, ly->op);
		return false;
	}
	if (ly->n_inputs == 0) {
		rf_fail(rf, "graph.json gives no inputs of %.64s", n);
		return false;
	}
	if (ly->ndim != 3) {
		rf_fail(rf, "%.64s's output shape in graph.json is not (C, H, W)", n);
		return false;
	}
	for (size_t k = 0; k < ly->n_inputs; k++) {
		long j = ly->inputs[k];
		const struct rf_state *x = j < 0 ? in_state : &states[j];
		if (k == 0) {
			*st = *x;
			continue;
		}
		if (x->h != st->h || x->w != st->w || x->jump[0] != st->jump[0] ||
		    x->jump[1] != st->jump[1]) {
			rf_fail(rf, "the inputs of %.64s differ in size or spacing", n);
			return false;
		}
		for (int d = 0; d < 2; d++) { /* the union of the fields */
			long end = st->start[d] + (long)st->size[d];
			long xend = x->start[d] + (long)x->size[d];
			if (x->start[d] < st->start[d])
				st->start[d] = x->start[d];
			st->size[d] = (size_t)((end > xend ? end : xend) - st->start[d]);
		}
	}
	if (kernel && !apply_kernel(ly, st, sp, rf))
		return false;
	sp->out[0] = st->h;
	sp->out[1] = st->w;
	if (kernel)
		return true;
	if (ly->shape[1] != st->h || ly->shape[2] != st->w) {
		rf_fail(rf, "%.64s (%.64s) changes the size from %zu×%zu to %zu×%zu", n, ly->op,
		        st->h, st->w, ly->shape[1], ly->shape[2]);
		return false;
	}
	return true;
}

void rfield_compute(const struct arch *a, const char *layer, size_t h, size_t w, struct rfield *rf)
{
	memset(rf, 0, sizeof *rf);
	rf->out[0] = h;
	rf->out[1] = w;
	if (a->source == ARCH_LAYERS) {
		rf_fail(rf, "no graph.json");
		return;
	}
	size_t target = a->n_layers, count = 0;
	for (size_t i = 0; i < a->n_layers; i++)
		if (strcmp(a->layers[i].name, layer) == 0) {
			target = i;
			count++;
		}
	if (count == 0) {
		rf_fail(rf, "graph.json has no module %.64s", layer);
		return;
	}
	if (count > 1) {
		rf_fail(rf, "%.64s runs %zu times in graph.json", layer, count);
		return;
	}
	if (a->in_ndim < 2) {
		rf_fail(rf, "graph.json gives no (C, H, W) input_shape");
		return;
	}
	struct rf_state in = {.h = a->in_shape[a->in_ndim - 2],
	                      .w = a->in_shape[a->in_ndim - 1],
	                      .jump = {1, 1},
	                      .size = {1, 1}};
	if (in.h == 0 || in.w == 0) {
		rf_fail(rf, "graph.json's input_shape is empty");
		return;
	}
	/* the layers the target depends on: inputs always come earlier */
	bool *needed = xcalloc(target + 1, sizeof *needed);
	struct rf_state *states = xcalloc(target + 1, sizeof *states);
	needed[target] = true;
	for (size_t i = target + 1; i-- > 0;)
		if (needed[i])
			for (size_t k = 0; k < a->layers[i].n_inputs; k++)
				if (a->layers[i].inputs[k] >= 0)
					needed[a->layers[i].inputs[k]] = true;
	long *step_of = xcalloc(target + 1, sizeof *step_of);
	struct rfield_step *steps = xcalloc(target + 1, sizeof *steps);
	size_t n_steps = 0;
	bool ok = true;
	for (size_t i = 0; ok && i <= target; i++) {
		if (!needed[i])
			continue;
		struct rfield_step *sp = &steps[n_steps];
		ok = layer_field(a, i, &in, states, &states[i], sp, rf);
		const struct arch_layer *ly = &a->layers[i];
		sp->inputs = xcalloc(ly->n_inputs + 1, sizeof *sp->inputs);
		for (size_t k = 0; k < ly->n_inputs; k++)
			sp->inputs[sp->n_inputs++] =
			    ly->inputs[k] < 0 ? -1 : step_of[ly->inputs[k]];
		step_of[i] = (long)n_steps++;
	}
	if (ok && (states[target].h != h || states[target].w != w))
		rf_fail(rf, "the activations are %zu×%zu, but graph.json's %.64s is %zu×%zu", h, w,
		        layer, states[target].h, states[target].w);
	else if (ok) {
		const struct rf_state *t = &states[target];
		rf->exact = true;
		rf->in[0] = in.h;
		rf->in[1] = in.w;
		for (int d = 0; d < 2; d++) {
			rf->start[d] = t->start[d];
			rf->jump[d] = t->jump[d];
			rf->size[d] = t->size[d];
		}
		rf->steps = steps;
		rf->n_steps = n_steps;
		steps = NULL;
		for (int d = 0; d < 2; d++) { /* the bytes and taps reach() would go through */
			size_t work = rf->in[d];
			for (size_t k = 0; k < n_steps && work <= RFIELD_WORK; k++) {
				const struct rfield_step *sp = &rf->steps[k];
				size_t per = (sp->kernel ? sp->k[d] : 1) * (sp->n_inputs + 1);
				work += sp->out[d] > RFIELD_WORK / per ? RFIELD_WORK + 1
				                                       : sp->out[d] * per;
			}
			rf->tight[d] = work <= RFIELD_WORK;
		}
	}
	if (steps)
		for (size_t k = 0; k < n_steps; k++)
			free(steps[k].inputs);
	free(steps);
	free(step_of);
	free(needed);
	free(states);
}

void rfield_free(struct rfield *rf)
{
	for (size_t k = 0; k < rf->n_steps; k++)
		free(rf->steps[k].inputs);
	free(rf->steps);
	rf->steps = NULL;
	rf->n_steps = 0;
}

/*
 * The first and last (exclusive) input index along dimension d that reach index pos of the
 * last step: pos carried back through the steps, each step's marked indices read by its taps.
 * Returns false when none does (every tap in the padding).
 */
static bool reach(const struct rfield *rf, int d, size_t pos, long *lo, long *hi)
{
	size_t n = rf->n_steps, total = rf->in[d];
	size_t *off = xcalloc(n + 1, sizeof *off); /* step k's marks at off[k]; the input's last */
	for (size_t k = 0; k < n; k++) {
		off[k + 1] = off[k] + rf->steps[k].out[d];
	}
	unsigned char *mark = xcalloc(off[n] + total + 1, 1);
	unsigned char *input = mark + off[n];
	mark[off[n - 1] + pos] = 1;
	for (size_t k = n; k-- > 0;) {
		const struct rfield_step *sp = &rf->steps[k];
		for (size_t i = 0; i < sp->out[d]; i++) {
			if (!mark[off[k] + i])
				continue;
			for (size_t q = 0; q < sp->n_inputs; q++) {
				long from = sp->inputs[q];
				unsigned char *dst = from < 0 ? input : mark + off[from];
				size_t size = from < 0 ? total : rf->steps[from].out[d];
				if (!sp->kernel) {
					dst[i] = 1;
					continue;
				}
				for (size_t u = 0; u < sp->k[d]; u++) {
					/* i·s + u·d − p, in range: sizes ≤ 2^40, k, s, d, p ≤ 2^20
					 */
					size_t j = i * sp->s[d] + u * sp->d[d];
					if (j >= sp->p[d] && j - sp->p[d] < size)
						dst[j - sp->p[d]] = 1;
				}
			}
		}
	}
	long first = -1, last = -1;
	for (size_t j = 0; j < total; j++)
		if (input[j]) {
			if (first < 0)
				first = (long)j;
			last = (long)j;
		}
	free(mark);
	free(off);
	*lo = first;
	*hi = last + 1;
	return first >= 0;
}

int rfield_for_layer(const struct study *s, const struct model *m, const char *layer,
                     const struct npy *act, struct rfield *rf, struct nn_err *err)
{
	size_t h = act->h.ndim == 4 ? act->h.dims[2] : 1, w = act->h.ndim == 4 ? act->h.dims[3] : 1;
	struct arch a;
	if (arch_load(s, m, &a, err) < 0) {
		memset(rf, 0, sizeof *rf);
		rf->out[0] = h;
		rf->out[1] = w;
		rf_fail(rf, "%s", err->msg);
		return -1;
	}
	rfield_compute(&a, layer, h, w, rf);
	arch_free(&a);
	return 0;
}

void rfield_region(const struct rfield *rf, size_t y, size_t x, double frac[4], long in_box[4])
{
	if (!rf->exact) {
		double H = (double)rf->out[0], W = (double)rf->out[1];
		frac[0] = (double)x / W;
		frac[1] = (double)y / H;
		frac[2] = (double)(x + 1) / W;
		frac[3] = (double)(y + 1) / H;
		return;
	}
	long b[4];
	size_t pos[2] = {y, x};
	for (int d = 0; d < 2; d++) { /* d 0: rows (y), 1: columns (x) */
		long n = (long)rf->in[d], lo, hi;
		if (pos[d] < rf->out[d] && !rf->tight[d]) {
			/* the span, clipped (start, jump, size ≤ 2^40: no overflow below 2^40
			 * steps) */
			bool far = rf->jump[d] && pos[d] > RF_LIMIT / rf->jump[d];
			lo = far ? n : rf->start[d] + (long)(pos[d] * rf->jump[d]);
			hi = far ? n + 1 : lo + (long)rf->size[d];
			lo = lo < 0 ? 0 : lo > n - 1 ? n - 1 : lo;
			hi = hi > n ? n : hi <= lo ? lo + 1 : hi;
		} else if (pos[d] >= rf->out[d] || !reach(rf, d, pos[d], &lo, &hi)) {
			/* no pixel reaches it (a position past the layer, or all in the padding):
			 * the nearest input pixel to its span */
			long at = pos[d] >= rf->out[d] ? n - 1 : rf->start[d] < 0 ? 0 : n - 1;
			lo = at;
			hi = at + 1;
		}
		b[1 - d] = lo;
		b[3 - d] = hi;
	}
	frac[0] = (double)b[0] / (double)rf->in[1];
	frac[1] = (double)b[1] / (double)rf->in[0];
	frac[2] = (double)b[2] / (double)rf->in[1];
	frac[3] = (double)b[3] / (double)rf->in[0];
	if (in_box)
		memcpy(in_box, b, sizeof b);
}

/* Pixel p of an n-pixel input on a size-pixel image: floor (or ceil) of p·size / n. */
static int scale_px(long p, size_t n, int size, bool up)
{
	if ((size_t)size == n)
		return (int)p;
	double v = (double)p * (double)size / (double)n;
	double r = up ? ceil(v) : floor(v);
	return r > (double)size ? size : (int)r;
}

/* The start of cell i of n scaled to size: floor(i·size / n). */
static int scaled(size_t i, size_t n, int size)
{
	return (int)((unsigned long long)i * (unsigned long long)size / n);
}

void rfield_box(const struct rfield *rf, size_t y, size_t x, int iw, int ih, int box[4])
{
	if (rf->exact) {
		double frac[4];
		long b[4];
		rfield_region(rf, y, x, frac, b);
		box[0] = scale_px(b[0], rf->in[1], iw, false);
		box[1] = scale_px(b[1], rf->in[0], ih, false);
		box[2] = scale_px(b[2], rf->in[1], iw, true);
		box[3] = scale_px(b[3], rf->in[0], ih, true);
	} else {
		box[0] = scaled(x, rf->out[1], iw);
		box[1] = scaled(y, rf->out[0], ih);
		box[2] = scaled(x + 1, rf->out[1], iw);
		box[3] = scaled(y + 1, rf->out[0], ih);
	}
	for (int k = 0; k < 2; k++)
		if (box[k + 2] <= box[k])
			box[k + 2] = box[k] + 1;
}

/* neurons_rank.c — scores by a key, ranking, and an instance's activation profile. */
#include "nncmp/neurons.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const key_names[] = {"d", "mean", "std", "dead"};

int neurons_key_parse(const char *s, enum neuron_key *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, key_names[i]) == 0) {
			*out = (enum neuron_key)i;
			return 0;
		}
	return -1;
}

const char *neurons_key_name(enum neuron_key key)
{
	return (unsigned)key < 4 ? key_names[key] : "?";
}

void neurons_scores(const struct neuron_stats *st, const struct neuron_subset *ss,
                    enum neuron_key key, double *score)
{
	for (size_t j = 0; j < st->h; j++) {
		uint64_t cnt = ss ? ss->count_in[j] : st->count[j];
		double mean = ss ? ss->mean_in[j] : st->mean[j];
		double m2 = ss ? ss->m2_in[j] : st->m2[j];
		uint64_t dead = ss ? ss->dead_in[j] : st->dead[j];
		switch (key) {
		case NEURON_BY_D:
			score[j] = ss ? neurons_d(ss, j) : NAN;
			break;
		case NEURON_BY_MEAN:
			score[j] = cnt ? mean : NAN;
			break;
		case NEURON_BY_STD:
			score[j] = cnt >= 2 ? sqrt(m2 / (double)(cnt - 1)) : NAN;
			break;
		case NEURON_BY_DEAD:
			score[j] = cnt ? (double)dead / (double)cnt : NAN;
			break;
		}
	}
}

struct rank_item {
	double key;
	uint32_t idx;
};

/* Highest first, NaN last, ties by lower index. */
static int rank_cmp(const void *a, const void *b)
{
	const struct rank_item *x = a, *y = b;
	bool xn = isnan(x->key), yn = isnan(y->key);
	if (xn != yn)
		return xn ? 1 : -1;
	if (!xn && x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

void neurons_rank(const double *score, size_t h, bool by_abs, uint32_t *order)
{
	struct rank_item *items = xreallocarray(NULL, h ? h : 1, sizeof *items);
	for (size_t j = 0; j < h; j++)
		items[j] = (struct rank_item){by_abs ? fabs(score[j]) : score[j], (uint32_t)j};
	qsort(items, h, sizeof *items, rank_cmp);
	for (size_t j = 0; j < h; j++)
		order[j] = items[j].idx;
	free(items);
}

/* The neurons of one row of values, most positive first. */
static void profile_order(const float *values, size_t h, uint32_t *order)
{
	double *score = xreallocarray(NULL, h ? h : 1, sizeof *score);
	for (size_t j = 0; j < h; j++)
		score[j] = values[j];
	neurons_rank(score, h, false, order);
	free(score);
}

void neurons_profile(const struct npy *act, size_t i, float *values, uint32_t *order)
{
	npy_rows_f32(act, i, 1, values);
	profile_order(values, act->cols, order);
}

int neurons_profile_guarded(const struct npy *act, size_t i, float *values, uint32_t *order,
                            struct nn_err *err)
{
	if (npy_rows_f32_guarded(act, i, 1, values, err) < 0)
		return -1;
	profile_order(values, act->cols, order);
	return 0;
}

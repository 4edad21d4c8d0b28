/*
 * fuzz_filter.c — libFuzzer harness for filter and sort expressions.
 *
 * Compiles the input as an expression against a small study built in memory (two models with
 * probabilities and logits, one with predictions only, a layer with NaN activations, a class
 * that shares its name with a model, one instance without text), evaluates it on every
 * instance and frees it. Besides the sanitizers it checks that expr_select (block evaluation)
 * agrees with expr_match (row by row) and that an error names a column inside the input.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/filter.h"

#define N      300 /* more than one evaluation block, with a partial last one */
#define C      4
#define STR(s) ((char *)(s))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *classes[C] = {STR("cat"), STR("dog"), STR("sea lion"), STR("mlp")};
static int32_t labels[N], cnn_pred[N], mlp_pred[N], knn_pred[N];
static double cnn_conf[N], cnn_margin[N], cnn_p_label[N];
static double mlp_conf[N], mlp_margin[N], mlp_p_label[N];
static float cnn_probs[N][C], mlp_logits[N][C], fc1[N][3], fc2[N][2];
static char *splits[N], *texts[N], *ids[N];
static char id_text[N][8];
static struct layer cnn_layers[3];
static struct model models[3];
static struct study study;

static struct npy npy_f32(const void *p, size_t rows, size_t cols)
{
	struct npy a;
	memset(&a, 0, sizeof a);
	a.h.kind = NPY_FLOAT;
	a.h.itemsize = 4;
	a.h.ndim = 2;
	a.h.shape[0] = rows;
	a.h.shape[1] = cols;
	a.h.data_bytes = rows * cols * 4;
	a.rows = rows;
	a.cols = cols;
	a.data = p;
	return a;
}

/* Fills probs row i with a distribution that peaks on class `top`, and the derived numbers. */
static void derive(float *row, int32_t top, int32_t label, int32_t *pred, double *conf,
                   double *margin, double *p_label)
{
	for (int j = 0; j < C; j++)
		row[j] = j == top ? 0.7f : 0.1f;
	*pred = top;
	*conf = 0.7;
	*margin = 0.6;
	*p_label = row[label];
}

static void build(void)
{
	static const char *const split_names[] = {"train", "test", "val"};
	static const char *const text_words[] = {"A Cat on a mat", "the dog barks", "Sea lion",
	                                         "it's \"mlp\"", ""};
	for (size_t i = 0; i < N; i++) {
		labels[i] = (int32_t)(i % C);
		derive(cnn_probs[i], (int32_t)(i * 7 % C), labels[i], &cnn_pred[i], &cnn_conf[i],
		       &cnn_margin[i], &cnn_p_label[i]);
		for (int j = 0; j < C; j++)
			mlp_logits[i][j] = (float)((i + (size_t)j * 3) % 5) - 2.0f;
		mlp_pred[i] = (int32_t)(i * 3 % C);
		mlp_conf[i] = 0.5;
		mlp_margin[i] = 0.25;
		mlp_p_label[i] = 0.25;
		knn_pred[i] = (int32_t)(i * 5 % C);
		for (int j = 0; j < 3; j++)
			fc1[i][j] = (i + (size_t)j) % 7 == 0 ? NAN : (float)i / 10.0f - (float)j;
		fc2[i][0] = (float)i;
		fc2[i][1] = -(float)i;
		splits[i] = STR(split_names[i % 3]);
		texts[i] = i % 11 == 10 ? NULL : STR(text_words[i % 5]);
		snprintf(id_text[i], sizeof id_text[i], "r%zu", i);
		ids[i] = id_text[i];
	}
	cnn_layers[0] = (struct layer){.name = STR("fc1"), .act_path = STR("fc1.npy")};
	cnn_layers[0].act = npy_f32(fc1, N, 3);
	cnn_layers[1] = (struct layer){.name = STR("fc.2"), .act_path = STR("fc.2.npy")};
	cnn_layers[1].act = npy_f32(fc2, N, 2);
	cnn_layers[2] = (struct layer){.name = STR("head"), .weights_path = STR("head.npy")};
	models[0] = (struct model){.name = STR("cnn"),
	                           .src = SRC_PROBS,
	                           .pred = cnn_pred,
	                           .conf = cnn_conf,
	                           .margin = cnn_margin,
	                           .p_label = cnn_p_label,
	                           .n_layers = 3,
	                           .layers = cnn_layers};
	models[0].probs = npy_f32(cnn_probs, N, C);
	models[1] = (struct model){.name = STR("mlp"),
	                           .src = SRC_LOGITS,
	                           .pred = mlp_pred,
	                           .conf = mlp_conf,
	                           .margin = mlp_margin,
	                           .p_label = mlp_p_label};
	models[1].probs = npy_f32(mlp_logits, N, C);
	models[2] = (struct model){.name = STR("knn"), .src = SRC_PRED, .pred = knn_pred};
	study = (struct study){.name = STR("fuzz"),
	                       .n = N,
	                       .n_classes = C,
	                       .classes = classes,
	                       .labels = labels,
	                       .ids = ids,
	                       .texts = texts,
	                       .splits = splits,
	                       .n_models = 3,
	                       .models = models};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		build();
		ready = true;
	}
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct nn_err err;
	size_t col = 0;
	struct expr *e = expr_compile(&study, text, &err, &col);
	if (!e) {
		/* a column is 0 or inside the text, one past its end at most */
		if (col > strlen(text) + 1 || err.msg[0] == '\0')
			abort();
		free(text);
		return 0;
	}
	static uint32_t out[N];
	size_t n = expr_select(e, &study, out), k = 0;
	for (size_t i = 0; i < N; i++) {
		bool m = expr_match(e, i);
		if (m != (k < n && out[k] == i))
			abort(); /* block and row evaluation disagree */
		k += m;
		if (!expr_is_bool(e))
			(void)expr_value(e, i);
	}
	expr_free(e);
	free(text);
	return 0;
}

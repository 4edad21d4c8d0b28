/* calibration.c — `nncmp calibration`: reliability diagrams and confidence histograms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/calibration.h"
#include "nncmp/metrics.h"

static const char calibration_help[] =
    "usage: nncmp calibration STUDY [--model M] [--bins B] [--json]\n"
    "\n"
    "Each model's reliability diagram: B equal-width bins of confidence (the probability of the\n"
    "predicted class; an instance goes to bin ceil(conf * B) - 1) with their count, mean\n"
    "confidence and accuracy; the expected calibration error ECE = sum of count/n * |accuracy -\n"
    "mean confidence| (with B = 15, the report's ECE); and the histograms of confidence of the\n"
    "right and of the wrong predictions over the same bins. Models without probabilities are\n"
    "left out.\n"
    "\n"
    "  --model M  only model M\n"
    "  --bins B   number of bins (default 15, at most 1000)\n"
    "  --json     one JSON object on stdout instead of text\n"
    "  --help     this text\n";

static json_t *calibration_json(const struct study *s, size_t m, const struct calibration *cb)
{
	json_t *bins = json_array();
	for (size_t b = 0; b < cb->bins; b++)
		json_array_append_new(bins, json_pack("{s:o, s:o, s:I, s:I, s:o, s:o, s:I}", "lo",
		                                      json_real((double)b / (double)cb->bins), "hi",
		                                      json_real((double)(b + 1) / (double)cb->bins),
		                                      "count", (json_int_t)cb->count[b], "right",
		                                      (json_int_t)cb->correct[b], "mean_conf",
		                                      cli_json_real(cb->mean_conf[b]), "accuracy",
		                                      cli_json_real(cb->accuracy[b]), "wrong",
		                                      (json_int_t)(cb->count[b] - cb->correct[b])));
	return json_pack("{s:o, s:I, s:o, s:o, s:o, s:o}", "name", cli_jstr(s->models[m].name), "n",
	                 (json_int_t)cb->n, "ece", cli_json_real(cb->ece), "mean_conf_right",
	                 cli_json_real(cb->mean_conf_right), "mean_conf_wrong",
	                 cli_json_real(cb->mean_conf_wrong), "bins", bins);
}

/* A bar of v/max in at most width cells ('#'), for the histograms. */
static void print_bar(int64_t v, int64_t max, int width)
{
	int k = max > 0 ? (int)llround((double)v / (double)max * width) : 0;
	if (v > 0 && k == 0)
		k = 1;
	for (int i = 0; i < k; i++)
		putchar('#');
	printf("%*s", width - k, "");
}

static void calibration_text(const struct study *s, size_t m, const struct calibration *cb)
{
	char *name = cli_safe(s->models[m].name);
	printf("%s: ECE %.4f over %zu bins, %zu instance%s; mean confidence right %.4f, wrong "
	       "%.4f\n",
	       name, cb->ece, cb->bins, cb->n, cli_plural(cb->n), cb->mean_conf_right,
	       cb->mean_conf_wrong);
	free(name);
	int64_t max_r = 0, max_w = 0;
	for (size_t b = 0; b < cb->bins; b++) {
		max_r = cb->correct[b] > max_r ? cb->correct[b] : max_r;
		int64_t wr = cb->count[b] - cb->correct[b];
		max_w = wr > max_w ? wr : max_w;
	}
	printf("  %-13s %7s %9s %9s %7s  %-20s %7s  %-20s\n", "confidence", "count", "mean conf",
	       "accuracy", "right", "", "wrong", "");
	for (size_t b = 0; b < cb->bins; b++) {
		int64_t wr = cb->count[b] - cb->correct[b];
		printf("  [%.3f,%.3f] %7lld", (double)b / (double)cb->bins,
		       (double)(b + 1) / (double)cb->bins, (long long)cb->count[b]);
		if (cb->count[b])
			printf(" %9.4f %9.4f", cb->mean_conf[b], cb->accuracy[b]);
		else
			printf(" %9s %9s", "-", "-");
		printf(" %7lld  ", (long long)cb->correct[b]);
		print_bar(cb->correct[b], max_r, 20);
		printf(" %7lld  ", (long long)wr);
		print_bar(wr, max_w, 20);
		printf("\n");
	}
}

int cmd_calibration(int argc, char **argv)
{
	bool json = false;
	const char *model = NULL, *study_path;
	long bins = ECE_BINS;
	const struct cli_opt opts[] = {CLI_OPT_JSON(&json),
	                               CLI_OPT_MODEL(&model),
	                               {.name = "bins",
	                                .letter = 'b',
	                                .type = CLI_LONG,
	                                .dest = &bins,
	                                .min = 1,
	                                .max = CALIBRATION_MAX_BINS},
	                               CLI_OPT_END};
	int prc = cli_parse_args("calibration", calibration_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	int mi = -1, rc = EXIT_OK;
	char *msg = NULL;
	if (model && (mi = study_model_index(s, model)) < 0)
		msg = xasprintf("no model '%s' in %s", model, s->name);
	else if (mi >= 0 && !model_has_probs(&s->models[mi]))
		msg = xasprintf("model '%s' has only predictions, no probabilities", model);
	if (msg) {
		rc = cli_input_error("calibration", msg);
		free(msg);
		study_free(s);
		return rc;
	}
	json_t *models = json_array();
	size_t shown = 0;
	for (size_t m = 0; m < s->n_models; m++) {
		if ((mi >= 0 && m != (size_t)mi) || !model_has_probs(&s->models[m]))
			continue;
		struct calibration cb;
		calibration_compute(s, m, (size_t)bins, &cb);
		if (json) {
			json_array_append_new(models, calibration_json(s, m, &cb));
		} else {
			if (shown)
				printf("\n");
			calibration_text(s, m, &cb);
		}
		shown++;
		calibration_free(&cb);
	}
	if (json) {
		rc = cli_json_print(json_pack("{s:o, s:I, s:O}", "study", cli_jstr(s->name), "bins",
		                              (json_int_t)bins, "models", models));
	} else {
		if (!shown)
			printf("no model has probabilities\n");
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
	}
	json_decref(models);
	study_free(s);
	return rc;
}

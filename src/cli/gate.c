/* gate.c — `nncmp gate`: exit 3 when a new model is significantly worse than a base model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/gate.h"

static const char gate_help[] =
    "usage: nncmp gate STUDY --base A --new B [--alpha P] [--metric accuracy|macro_f1]\n"
    "                  [--seed N] [--json]\n"
    "\n"
    "A regression gate for CI: is model B significantly worse than model A on the study?\n"
    "accuracy (the default): McNemar's exact test, one-sided: p = P(X >= only A right) for\n"
    "X ~ Binomial(discordant, 1/2). macro_f1: a paired bootstrap (10000 replicates, --seed) of\n"
    "macro-F1(B) - macro-F1(A); p = the fraction of replicates with a difference >= 0. B is\n"
    "worse when its value is below A's and p < alpha. One line says why.\n"
    "\n"
    "  --base A      the model to compare against\n"
    "  --new B       the candidate model\n"
    "  --alpha P     significance level (default 0.05, 0 < P < 1)\n"
    "  --metric M    accuracy or macro_f1 (default accuracy)\n"
    "  --seed N      seed of the macro-F1 bootstrap (default 1)\n"
    "  --json        one JSON object on stdout instead of text\n"
    "  --help        this text\n"
    "\n"
    "Exit status: 0 B is not significantly worse, 3 B is significantly worse, 2 bad input or\n"
    "usage, 1 internal failure.\n";

static const char *const metric_names[] = {"accuracy", "macro_f1"};

/* --alpha: a significance level in (0, 1); -1 otherwise. */
static int parse_alpha(const char *value, void *dest)
{
	double *alpha = dest;
	return cli_parse_real(value, alpha) == 0 && *alpha > 0 && *alpha < 1 ? 0 : -1;
}

int cmd_gate(int argc, char **argv)
{
	bool json = false;
	const char *base = NULL, *cand = NULL, *study_path;
	double alpha = 0.05;
	int metric = GATE_ACCURACY;
	long seed = 1;
	static const char *const metrics[] = {"accuracy", "macro_f1", NULL};
	const struct cli_opt opts[] = {
	    CLI_OPT_JSON(&json),
	    {.name = "base", .letter = 'a', .type = CLI_STR, .dest = &base},
	    {.name = "new", .letter = 'b', .type = CLI_STR, .dest = &cand},
	    {.name = "alpha",
	     .letter = 'p',
	     .type = CLI_FN,
	     .dest = &alpha,
	     .want = "a number in (0, 1)",
	     .fn = parse_alpha},
	    {.name = "metric",
	     .letter = 'm',
	     .type = CLI_CHOICE,
	     .dest = &metric,
	     .choices = metrics},
	    CLI_OPT_SEED(&seed),
	    CLI_OPT_END};
	int prc = cli_parse_args("gate", gate_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	if (!base || !cand)
		return cli_usage_error("gate", "--base A and --new B are both needed");
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	int ia = study_model_index(s, base), ib = study_model_index(s, cand);
	if (ia < 0 || ib < 0) {
		char *msg = xasprintf("%s: no model '%s' in %s", ia < 0 ? "--base" : "--new",
		                      ia < 0 ? base : cand, s->name);
		int rc = cli_input_error("gate", msg);
		free(msg);
		study_free(s);
		return rc;
	}
	struct gate_result g;
	gate_compare(s, (size_t)ia, (size_t)ib, metric, alpha, GATE_BOOT_REPS, (uint64_t)seed, &g);
	char *na = cli_safe(base), *nb = cli_safe(cand);
	const char *mname = metric_names[metric];
	char how[160];
	if (metric == GATE_ACCURACY)
		snprintf(
		    how, sizeof how,
		    "one-sided exact McNemar p = %.3g (only %s right %lld, only %s right %lld)",
		    g.p, "base", (long long)g.only_base, "new", (long long)g.only_new);
	else
		snprintf(how, sizeof how,
		         "paired bootstrap p = %.4g, %.0f%% upper bound of the difference %+.4f "
		         "(%u replicates, seed %ld)",
		         g.p, 100 * (1 - alpha), g.upper, g.reps, seed);
	int rc;
	if (json) {
		json_t *obj = json_pack(
		    "{s:o, s:o, s:s, s:o, s:I, s:o, s:o, s:o, s:I, s:I, s:o, s:b, s:s}", "base",
		    cli_jstr(base), "new", cli_jstr(cand), "metric", mname, "alpha",
		    json_real(alpha), "n", (json_int_t)g.n, "base_value",
		    cli_json_real(g.base_value), "new_value", cli_json_real(g.new_value), "diff",
		    cli_json_real(g.diff), "only_base", (json_int_t)g.only_base, "only_new",
		    (json_int_t)g.only_new, "p", cli_json_real(g.p), "worse", g.worse, "test",
		    metric == GATE_ACCURACY ? "mcnemar_exact_one_sided" : "paired_bootstrap");
		if (metric == GATE_MACRO_F1) {
			json_object_set_new(obj, "upper", cli_json_real(g.upper));
			json_object_set_new(obj, "reps", json_integer(g.reps));
			json_object_set_new(obj, "seed", json_integer((json_int_t)seed));
		}
		rc = cli_json_print(obj);
	} else {
		/* the reason: significant drop, a drop within chance, or no drop at all */
		printf("%s: %s %s %.4f vs %s %.4f (%+.4f); %s%s%g\n",
		       g.worse ? "worse" : "not worse", nb, mname, g.new_value, na, g.base_value,
		       g.diff, how,
		       g.worse      ? " < alpha "
		       : g.diff < 0 ? " >= alpha "
		                    : "; no drop, alpha ",
		       alpha);
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
	}
	if (rc == EXIT_OK && g.worse)
		rc = EXIT_GATE_WORSE;
	free(na);
	free(nb);
	study_free(s);
	return rc;
}

/* main.c — dispatches to a subcommand. */
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <unistd.h>

#include "cli/cli.h"
#include "nncmp/fault.h"
#include "nncmp/text.h"
#include "nncmp/tui.h"

static const char usage[] =
    "usage: nncmp [--] [STUDY] [--theme NAME] [--graphics sixel|kitty|iterm|blocks|none]\n"
    "             [--filter EXPR] [--sort KEY] [--models A B]\n"
    "                                     open a study (the TUI on a terminal, in that state;\n"
    "                                     else the report, over --filter)\n"
    "       nncmp report STUDY [--json]   models, per-class scores, pairwise agreement\n"
    "       nncmp report STUDY --html OUT.html | --markdown OUT.md [--force]   one file to share\n"
    "       nncmp instances STUDY [--filter EXPR] [--sort KEY] [--top K] [--json]\n"
    "       nncmp check STUDY [--json]    validate every file, describe the study\n"
    "       nncmp diff STUDY --models A B [--json]   two snapshots compared layer by layer\n"
    "       nncmp weights STUDY --model M --layer L [--json]   a layer's weights as a heat grid\n"
    "       nncmp matrix STUDY --model M --layer L [--rows class|filter]   mean activations\n"
    "       nncmp similarity STUDY --model A --layer L --with B.L2 [--cka]   neuron matches\n"
    "       nncmp project STUDY --model M --layer L [--filter EXPR]   2-D PCA scatter\n"
    "       nncmp neurons STUDY --model M --layer L [--filter EXPR] [--by d|mean|std|dead]\n"
    "       nncmp profile STUDY --index I --model M --layer L   one instance's activations\n"
    "       nncmp export STUDY --out PATH [--format npy|csv|jsonl] [--force]   new labels\n"
    "       nncmp decisions STUDY [--all] [--json]   the triage journal's decisions\n"
    "       nncmp issues STUDY [--method cl|margin|iies|consensus|knn] [--top K] [--json]\n"
    "                                     likely label errors, best suspects first\n"
    "       nncmp dups STUDY [--layer L | --pixels] [--threshold T] [--across-splits]\n"
    "                                     near-duplicate pairs\n"
    "       nncmp classes STUDY [--model M] [--json]   class distances, layout, closest pairs\n"
    "       nncmp calibration STUDY [--model M] [--bins B] [--json]   reliability diagrams\n"
    "       nncmp gate STUDY --base A --new B [--alpha P] [--metric accuracy|macro_f1]\n"
    "                                     exit 3 when B is significantly worse than A\n"
    "       nncmp arch STUDY --model M [--json]   the model's layers, repeated blocks folded\n"
    "       nncmp preview STUDY --index I [--graphics MODE] [--width PX]   an image\n"
    "       nncmp words STUDY [--filter EXPR] [--min N] [--json]   frequent words, their lift\n"
    "       nncmp overview STUDY [--model M] [--json]   per label, the predicted classes of\n"
    "                                     its misclassified instances\n"
    "       nncmp --help | --version\n"
    "\n"
    "--color=auto|always|never (any command) says whether to use colour; auto: on a terminal\n"
    "and when NO_COLOR is unset. '--' ends the options (a study whose name starts with '-').\n"
    "Every command applies the study's triage journal (gt is the corrected label, removed\n"
    "instances leave the metrics); --no-journal reads the labels as in the files.\n"
    "STUDY is a directory (labels.npy, classes.txt, samples.jsonl, models/NAME/probs.npy ...)\n"
    "or a study.ini manifest. 'nncmp CMD --help' describes a subcommand.\n"
    "Exit status: 0 success, 2 bad input or usage, 1 internal failure; gate: 3 when worse.\n";

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"report", cmd_report},
    {"instances", cmd_instances},
    {"check", cmd_check},
    {"diff", cmd_diff},
    {"weights", cmd_weights},
    {"matrix", cmd_matrix},
    {"similarity", cmd_similarity},
    {"project", cmd_project},
    {"neurons", cmd_neurons},
    {"profile", cmd_profile},
    {"export", cmd_export},
    {"decisions", cmd_decisions},
    {"dups", cmd_dups},
    {"issues", cmd_issues},
    {"preview", cmd_preview},
    {"classes", cmd_classes},
    {"calibration", cmd_calibration},
    {"gate", cmd_gate},
    {"words", cmd_words},
    {"overview", cmd_overview},
    {"arch", cmd_arch},
};

static int is_study_dir(const char *dir)
{
	static const char *const marks[] = {"study.ini", "labels.npy", "labels.csv"};
	char path[4096];
	struct stat st;
	for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, marks[i]);
		if (stat(path, &st) == 0)
			return 1;
	}
	return 0;
}

/*
 * `nncmp [--] [STUDY] [--theme NAME] [--graphics MODE] [--filter EXPR] [--sort KEY] [--models A
 * B]`: the TUI in that state when stdin and stdout are terminals, else the report (scripts and
 * tests rely on that; it takes --filter). Returns an exit status, or -1 when argv is not this
 * form.
 */
static int open_study(int argc, char **argv)
{
	const char *study = NULL, *theme = NULL, *graphics = NULL, *filter = NULL, *sort = NULL;
	const char *ma = NULL, *mb = NULL;
	bool opts = true, state = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts && strcmp(a, "--") == 0)
			opts = false;
		else if (opts && strcmp(a, "--theme") == 0 && i + 1 < argc)
			theme = argv[++i];
		else if (opts && strncmp(a, "--theme=", 8) == 0)
			theme = a + 8;
		else if (opts && strcmp(a, "--graphics") == 0 && i + 1 < argc)
			graphics = argv[++i];
		else if (opts && strncmp(a, "--graphics=", 11) == 0)
			graphics = a + 11;
		else if (opts && strcmp(a, "--filter") == 0 && i + 1 < argc)
			filter = argv[++i];
		else if (opts && strncmp(a, "--filter=", 9) == 0)
			filter = a + 9;
		else if (opts && strcmp(a, "--sort") == 0 && i + 1 < argc)
			sort = argv[++i], state = true;
		else if (opts && strncmp(a, "--sort=", 7) == 0)
			sort = a + 7, state = true;
		else if (opts && strcmp(a, "--models") == 0 && i + 2 < argc)
			ma = argv[++i], mb = argv[++i], state = true;
		else if ((opts && a[0] == '-') || study)
			return -1;
		else
			study = a;
	}
	if (!study) {
		if (!is_study_dir(".")) {
			fputs(usage, stderr);
			return EXIT_BAD_INPUT;
		}
		study = ".";
	}
	struct stat st;
	if (stat(study, &st) != 0) {
		char *safe = text_sanitize(study, false);
		fprintf(stderr,
		        "nncmp: '%s' is neither a subcommand nor a study (see nncmp --help)\n",
		        safe);
		free(safe);
		return EXIT_BAD_INPUT;
	}
	if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
		tui_set_start(filter, sort, ma, mb);
		return tui_run(study, theme, graphics);
	}
	if (state) {
		fprintf(stderr,
		        "nncmp: --sort and --models set up the TUI, which needs a terminal; "
		        "piped, use nncmp instances STUDY --sort KEY or nncmp report\n");
		return EXIT_BAD_INPUT;
	}
	char *args[] = {argv[0],      (char *)"--filter", (char *)filter,
	                (char *)"--", (char *)study,      NULL};
	if (filter)
		return cmd_report(5, args);
	char *plain[] = {argv[0], (char *)"--", (char *)study, NULL};
	return cmd_report(3, plain);
}

/* Parses --color's WHEN; returns -1 when it is none of auto, always, never. */
static int colour_parse(const char *w)
{
	if (strcmp(w, "auto") == 0)
		return COLOUR_AUTO;
	if (strcmp(w, "always") == 0 || strcmp(w, "yes") == 0 || strcmp(w, "force") == 0)
		return COLOUR_ALWAYS;
	if (strcmp(w, "never") == 0 || strcmp(w, "no") == 0 || strcmp(w, "none") == 0)
		return COLOUR_NEVER;
	return -1;
}

/*
 * Takes --color[=WHEN] (and --colour) out of argv for every command, as take_no_journal does;
 * a bare --color means always (ls), "--color WHEN" is ripgrep's form. Returns the new argc, or -1
 * after a message when WHEN is not one of the three.
 */
static int take_colour(int argc, char **argv, enum colour_when *when)
{
	int out = 1;
	bool opts = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts && strcmp(a, "--") == 0)
			opts = false;
		bool is = opts && (strncmp(a, "--color", 7) == 0 || strncmp(a, "--colour", 8) == 0);
		const char *rest = is ? a + (a[7] == 'u' ? 8 : 7) : NULL;
		if (!is || (*rest && *rest != '=')) {
			argv[out++] = argv[i];
			continue;
		}
		const char *w = *rest == '=' ? rest + 1 : NULL;
		if (!w && i + 1 < argc && colour_parse(argv[i + 1]) >= 0)
			w = argv[++i];
		int c = w ? colour_parse(w) : COLOUR_ALWAYS;
		if (c < 0) {
			char *safe = text_sanitize(w, false);
			fprintf(stderr, "nncmp: --color wants auto, always or never, not '%s'\n",
			        safe);
			free(safe);
			return -1;
		}
		*when = (enum colour_when)c;
	}
	argv[out] = NULL;
	return out;
}

/*
 * OpenBLAS starts its thread pool when the library loads, sized by OPENBLAS_NUM_THREADS, and the
 * pool spins for about 0.1 s: on a 2-CPU machine that takes a fifth of a short command's time
 * (0.89 s against 0.66 s to open the 1M-instance bench study). When the user has not chosen a
 * size, start again once with a pool of one; commands that multiply matrices raise it with
 * linalg_init(). Without /proc/self/exe, carry on as before.
 */
static void blas_pool_small(char **argv)
{
	if (getenv("OPENBLAS_NUM_THREADS")) {
		if (getenv("NNCMP_BLAS_SMALL")) { /* set by us: not the user's choice */
			unsetenv("OPENBLAS_NUM_THREADS");
			unsetenv("NNCMP_BLAS_SMALL");
		}
		return;
	}
	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	setenv("NNCMP_BLAS_SMALL", "1", 1);
	execv("/proc/self/exe", argv);
	unsetenv("OPENBLAS_NUM_THREADS");
	unsetenv("NNCMP_BLAS_SMALL");
}

/*
 * Takes --no-journal out of argv (every command accepts it; options after "--" are left alone),
 * so that the subcommands' parsers need not know it. Returns the new argc.
 */
static int take_no_journal(int argc, char **argv, bool *no_journal)
{
	int out = 1;
	bool opts = true;
	for (int i = 1; i < argc; i++) {
		if (opts && strcmp(argv[i], "--") == 0)
			opts = false;
		if (opts && strcmp(argv[i], "--no-journal") == 0) {
			*no_journal = true;
			continue;
		}
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	blas_pool_small(argv);
	fault_install(); /* a matrix truncated under us: an error, not a crash */
	setlocale(LC_ALL, "");
	bool no_journal = false;
	argc = take_no_journal(argc, argv, &no_journal);
	cli_set_journal(!no_journal);
	tui_set_journal(!no_journal);
	enum colour_when when = COLOUR_AUTO;
	argc = take_colour(argc, argv, &when);
	if (argc < 0)
		return EXIT_BAD_INPUT;
	cli_set_colour(when);
	tui_set_colour(when);
	static const char *const tui_opts[] = {"--theme", "--graphics", "--filter", "--sort",
	                                       "--models"};
	bool tui_opt = argc >= 2 && strcmp(argv[1], "--") == 0;
	for (size_t k = 0; argc >= 2 && k < sizeof tui_opts / sizeof *tui_opts; k++)
		tui_opt = tui_opt || strncmp(argv[1], tui_opts[k], strlen(tui_opts[k])) == 0;
	if (argc < 2 || tui_opt) {
		int rc = open_study(argc, argv);
		if (rc >= 0)
			return rc;
		fputs(usage, stderr);
		return EXIT_BAD_INPUT;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("nncmp %s\n", NNCMP_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	if (cmd[0] != '-') {
		struct stat st;
		if (stat(cmd, &st) != 0) {
			char *safe = text_sanitize(cmd, false);
			fprintf(
			    stderr,
			    "nncmp: '%s' is neither a subcommand nor a study (see nncmp --help)\n",
			    safe);
			free(safe);
			return EXIT_BAD_INPUT;
		}
		int rc = open_study(argc, argv);
		/* other arguments after the study go to the report's parser, as before */
		return rc >= 0 ? rc : cmd_report(argc, argv);
	}
	fprintf(stderr, "nncmp: unknown option '%s' (see nncmp --help)\n", cmd);
	return EXIT_BAD_INPUT;
}

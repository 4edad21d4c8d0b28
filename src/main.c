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

/* The form that opens a study, before the subcommands in --help. */
static const char usage_open[] =
    "usage: nncmp [--] [STUDY] [--theme NAME] [--graphics sixel|kitty|iterm|blocks|none]\n"
    "             [--filter EXPR] [--sort KEY] [--models A B] [--view NAME]\n"
    "                                     open a study (the TUI on a terminal, in that state;\n"
    "                                     else the report, over --filter)\n";

static const char usage_end[] =
    "       nncmp --help | --version\n"
    "\n"
    "--color=auto|always|never (any command) says whether to use colour; auto: on a terminal\n"
    "and when NO_COLOR is unset. '--' ends the options (a study whose name starts with '-').\n"
    "Every command applies the study's triage journal (gt is the corrected label, removed\n"
    "instances leave the metrics); --no-journal reads the labels as in the files.\n"
    "STUDY is a directory (labels.npy, classes.txt, samples.jsonl, models/NAME/probs.npy ...)\n"
    "or a study.ini manifest. 'nncmp CMD --help' describes a subcommand.\n"
    "Exit status: 0 success, 2 bad input or usage, 1 internal failure; gate: 3 when worse.\n";

/*
 * Every subcommand: its name, what it does in a line, its arguments and its handler. `nncmp
 * --help` is generated from this table, in this order; `nncmp NAME --help` is the handler's.
 * README's Subcommands section and doc/nncmp.1 list the same usages (tests/cli checks the names).
 */
struct command {
	const char *name;
	const char *summary;
	const char *usage;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"report", "models, per-class and pairwise scores; a file with --html, --markdown",
     "STUDY [--filter EXPR] [--pairs A:B,...|all] [--json] [--seed N] "
     "[--html OUT.html | --markdown OUT.md [--force]]",
     cmd_report},
    {"instances", "the matching instances, sorted",
     "STUDY [--filter EXPR] [--sort KEY[:asc|:desc]] [--top K] [--json | --format "
     "text|json|jsonl|csv|tsv]",
     cmd_instances},
    {"check", "validate every file, describe the study", "STUDY [--json]", cmd_check},
    {"diff", "two snapshots compared layer by layer",
     "STUDY --models A B [--layer L] [--bins K] [--decades D] [--json]", cmd_diff},
    {"weights", "a layer's weights as a heat grid",
     "STUDY --model M [--layer L] [--grid RxC] [--summary peak|mean] [--json]", cmd_weights},
    {"matrix", "mean activations per class or per filter",
     "STUDY --model M --layer L [--rows class|filter] [--filter EXPR]... [--sort-row NAME] "
     "[--top K] [--json] [--threads N]",
     cmd_matrix},
    {"similarity", "neuron matches between layers, linear CKA",
     "STUDY --model A --layer L [--with [B.]L2] [--neuron J] [--top K] [--abs] [--cka] "
     "[--filter EXPR] [--matrix] [--json] [--threads N]",
     cmd_similarity},
    {"project", "2-D PCA scatter of a layer's activations",
     "STUDY --model M --layer L [--filter EXPR] [--top K] [--json] [--threads N]", cmd_project},
    {"neurons", "per-neuron statistics, ranked",
     "STUDY --model M --layer L [--filter EXPR] [--by d|mean|std|dead] [--channels] [--top K] "
     "[--bins B] [--threads N] [--json]",
     cmd_neurons},
    {"profile", "one instance's activations over a layer",
     "STUDY --index I --model M --layer L [--top K] [--json]", cmd_profile},
    {"export", "the corrected labels and the decisions table",
     "STUDY --out PATH [--format npy|csv|jsonl] [--force]", cmd_export},
    {"decisions", "the triage journal's decisions", "STUDY [--all] [--json]", cmd_decisions},
    {"issues", "likely label errors, best suspects first",
     "STUDY [--method mix|mean|cl|margin|iies|consensus|knn] [--model M] [--top K] "
     "[--filter EXPR] [--layer M.L] [--k N] [--force] [--json]",
     cmd_issues},
    {"dups", "near-duplicate pairs",
     "STUDY [--model M] [--layer L | --pixels [--size S]] [--threshold T] [--top K] "
     "[--across-splits] [--any-class] [--json] [--threads N]",
     cmd_dups},
    {"classes", "class distances, layout, closest pairs", "STUDY [--model M] [--top K] [--json]",
     cmd_classes},
    {"calibration", "reliability diagrams", "STUDY [--model M] [--bins B] [--json]",
     cmd_calibration},
    {"gate", "exit 3 when B is significantly worse than A",
     "STUDY --base A --new B [--alpha P] [--metric accuracy|macro_f1] [--seed N] [--json]",
     cmd_gate},
    {"arch", "the model's layers, repeated blocks folded; --vs B: weight change",
     "STUDY --model M [--vs B] [--json]", cmd_arch},
    {"kernels", "a conv layer's kernels as a heat grid",
     "STUDY --model M --layer L [--vs B] [--json]", cmd_kernels},
    {"patches", "the instances that most activate a channel, and where",
     "STUDY --model M --layer L --channel C [--top K] [--json]", cmd_patches},
    {"saliency", "explanation maps of the models, how alike",
     "STUDY (--index I | --filter EXPR) [--json]", cmd_saliency},
    {"preview", "an instance's image as sixel, kitty, iTerm2 or half-blocks",
     "STUDY --index I [--graphics sixel|kitty|iterm|blocks] [--width PX]", cmd_preview},
    {"words", "frequent words of the matching texts, their lift",
     "STUDY [--filter EXPR] [--min N] [--by lift|count] [--stop] [--top K] [--json]", cmd_words},
    {"overview", "per label, the predicted classes of its errors", "STUDY [--model M] [--json]",
     cmd_overview},
};

/* Columns of --help: where a summary starts, and the widest line. */
enum { HELP_SUMMARY_COL = 37, HELP_WIDTH = 100 };

/* Bytes of u up to the first space outside brackets: a piece --help does not break. */
static size_t usage_piece(const char *u)
{
	size_t k = 0;
	int depth = 0;
	for (; u[k] && (u[k] != ' ' || depth > 0); k++)
		depth += (u[k] == '[' || u[k] == '(') - (u[k] == ']' || u[k] == ')');
	return k;
}

/*
 * Prints the usage of every subcommand from the table: "nncmp NAME USAGE" wrapped between
 * bracketed pieces to HELP_WIDTH, then the summary after it when it fits on the line, else on a
 * line of its own.
 */
static void usage_print(FILE *f)
{
	fputs(usage_open, f);
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
		const struct command *c = &commands[i];
		int indent = 13 + (int)strlen(c->name); /* under the first argument */
		int col = fprintf(f, "       nncmp %s", c->name);
		for (const char *u = c->usage; *u; u += strspn(u, " ")) {
			size_t w = usage_piece(u);
			if (col + 1 + (int)w > HELP_WIDTH)
				col = fprintf(f, "\n%*s", indent, "") - 1;
			col += fprintf(f, " %.*s", (int)w, u);
			u += w;
		}
		if (col + 3 + (int)strlen(c->summary) <= HELP_WIDTH)
			fprintf(f, "   %s\n", c->summary);
		else
			fprintf(f, "\n%*s%s\n", HELP_SUMMARY_COL, "", c->summary);
	}
	fputs(usage_end, f);
}

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
	const char *ma = NULL, *mb = NULL, *view = NULL;
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
		else if (opts && strcmp(a, "--view") == 0 && i + 1 < argc)
			view = argv[++i], state = true;
		else if (opts && strncmp(a, "--view=", 7) == 0)
			view = a + 7, state = true;
		else if (opts && strcmp(a, "--models") == 0 && i + 2 < argc)
			ma = argv[++i], mb = argv[++i], state = true;
		else if ((opts && a[0] == '-') || study)
			return -1;
		else
			study = a;
	}
	if (!study) {
		if (!is_study_dir(".")) {
			usage_print(stderr);
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
		tui_set_view(view);
		return tui_run(study, theme, graphics);
	}
	if (state) {
		fprintf(
		    stderr,
		    "nncmp: --sort, --models and --view set up the TUI, which needs a terminal; "
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
	static const char *const tui_opts[] = {"--theme", "--graphics", "--filter",
	                                       "--sort",  "--models",   "--view"};
	bool tui_opt = argc >= 2 && strcmp(argv[1], "--") == 0;
	for (size_t k = 0; argc >= 2 && k < sizeof tui_opts / sizeof *tui_opts; k++)
		tui_opt = tui_opt || strncmp(argv[1], tui_opts[k], strlen(tui_opts[k])) == 0;
	if (argc < 2 || tui_opt) {
		int rc = open_study(argc, argv);
		if (rc >= 0)
			return rc;
		usage_print(stderr);
		return EXIT_BAD_INPUT;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage_print(stdout);
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

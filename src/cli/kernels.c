/*
 * kernels.c — `nncmp kernels`: a convolution layer's kernels laid out as CNNComparator draws
 * them (kernels.h), as a heat grid or JSON; with --vs B, B − A and each weight's change level.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/kernels.h"
#include "nncmp/weights.h"

static const char kernels_help[] =
    "usage: nncmp kernels STUDY --model M --layer L [--vs B] [--json]\n"
    "\n"
    "The (out, in, kh, kw) weights of convolution layer L of model M as CNNComparator draws\n"
    "them: one column of tiles per output kernel, one kh x kw tile per input channel, on a\n"
    "diverging scale centred on 0. With --vs B the tiles show B - A (model B's weights minus\n"
    "M's), and a second grid gives each weight's level of relative change as 'nncmp diff'\n"
    "defines it: d = 2|a - b| / (|a| + |b|) in the levels 0 [0, 0.1), 1 [0.1, 0.5),\n"
    "2 [0.5, 1), 3 [1, 2] (2: a sign flip, or a weight that appeared or vanished).\n"
    "A layer whose weights are not 4-D is an error.\n"
    "\n"
    "  --model M   the model (required)\n"
    "  --layer L   the layer, with (out, in, kh, kw) weights (required)\n"
    "  --vs B      compare with model B's layer L, of the same shape\n"
    "  --json      {\"model\", \"vs\", \"layer\", \"values\": \"weights\"|\"b-a\",\n"
    "              \"shape\": [out, in, kh, kw], \"scale\", \"level_edges\", \"level_counts\",\n"
    "              \"kernels\": [{\"out\", \"tiles\": [[[kw values] x kh] x in],\n"
    "              \"levels\": (like tiles, with --vs)}]} (level_* with --vs only;\n"
    "              NaN and infinite values, and their levels, are null)\n"
    "  --help      this text\n"
    "\n"
    "Cells are coloured by v / scale, where scale is the 99th percentile of |v| over the\n"
    "layer: red is negative, green positive; glyphs say the same without colour.\n";

/* The layer of model `name` with weights, or NULL after a one-line error. */
static const struct layer *weights_layer(const struct study *s, const char *name, const char *layer)
{
	int mi = study_model_index(s, name);
	char *mn = cli_safe(name), *ln = cli_safe(layer);
	const struct layer *ly = NULL;
	if (mi < 0) {
		fprintf(stderr, "nncmp kernels: no model '%s' in the study\n", mn);
	} else {
		int li = study_layer_index(&s->models[mi], layer);
		ly = li >= 0 && s->models[mi].layers[li].weights_path ? &s->models[mi].layers[li]
		                                                      : NULL;
		if (!ly)
			fprintf(stderr, "nncmp kernels: model %s has no weights for layer '%s'\n",
			        mn, ln);
	}
	free(mn);
	free(ln);
	return ly;
}

static void print_level(uint8_t l)
{
	if (l == KERNELS_LEVEL_NONE)
		putchar('?');
	else
		putchar('0' + l);
}

/* One grid: values (level NULL) or levels, a block of kh lines per input channel. */
static void print_tiles(const struct kernel_map *k, const uint8_t *level, bool utf8, bool colour)
{
	int lw = snprintf(NULL, 0, "in %zu", k->in - 1);
	for (size_t c = 0; c < k->in; c++)
		for (size_t y = 0; y < k->kh; y++) {
			if (y == 0)
				printf("in %-*zu", lw - 3, c);
			else
				printf("%*s", lw, "");
			for (size_t o = 0; o < k->out; o++) {
				putchar(' ');
				for (size_t x = 0; x < k->kw; x++) {
					size_t i = kernels_index(k, o, c, y, x);
					if (level)
						print_level(level[i]);
					else
						cli_print_heat_cell(k->v[i], k->scale, utf8,
						                    colour);
				}
			}
			putchar('\n');
		}
}

static void count_levels(const struct kernel_map *k, size_t counts[WDIFF_LEVELS + 1])
{
	memset(counts, 0, (WDIFF_LEVELS + 1) * sizeof *counts);
	size_t n = k->out * k->in * k->kh * k->kw;
	for (size_t i = 0; i < n; i++)
		counts[k->level[i] < WDIFF_LEVELS ? k->level[i] : WDIFF_LEVELS]++;
}

static void print_text(const char *model, const char *vs, const char *layer,
                       const struct kernel_map *k)
{
	bool utf8 = cli_utf8(), colour = cli_colour();
	char *mn = cli_safe(model), *ln = cli_safe(layer), *bn = vs ? cli_safe(vs) : NULL;
	printf("%s / %s: %zu output kernel%s x %zu input channel%s of %zu x %zu", mn, ln, k->out,
	       cli_plural(k->out), k->in, cli_plural(k->in), k->kh, k->kw);
	if (bn)
		printf(", %s - %s", bn, mn);
	printf("\n");
	printf("columns: output kernels 0..%zu, %zu wide each; rows: input channels, %zu high "
	       "each\n",
	       k->out - 1, k->kw, k->kh);
	printf("scale %.4g (99th percentile of |%s|)\n", k->scale, bn ? "b - a" : "w");
	printf("legend: # = -  below -0.7, -0.35, -0.1 x scale;  %s  |v| < 0.1 x scale;  + * @  "
	       "above 0.1, 0.35, 0.7 x scale;  ? NaN/Inf\n",
	       utf8 ? "\u00b7" : ".");
	print_tiles(k, NULL, utf8, colour);
	if (k->level) {
		size_t counts[WDIFF_LEVELS + 1];
		count_levels(k, counts);
		printf("\nrelative change d = 2|a-b| / (|a|+|b|) per weight: 0 [0, 0.1) %zu, "
		       "1 [0.1, 0.5) %zu, 2 [0.5, 1) %zu, 3 [1, 2] %zu",
		       counts[0], counts[1], counts[2], counts[3]);
		if (counts[WDIFF_LEVELS])
			printf(", ? NaN/Inf %zu", counts[WDIFF_LEVELS]);
		printf("\n");
		print_tiles(k, k->level, utf8, colour);
	}
	free(mn);
	free(ln);
	free(bn);
}

/* The kernels streamed after the metadata: tiles (and levels) per output kernel. */
static int print_json(const char *model, const char *vs, const char *layer,
                      const struct kernel_map *k)
{
	json_t *o =
	    json_pack("{s:o, s:o, s:o, s:s, s:[I, I, I, I], s:o}", "model", cli_jstr(model), "vs",
	              cli_jstr(vs), "layer", cli_jstr(layer), "values", vs ? "b-a" : "weights",
	              "shape", (json_int_t)k->out, (json_int_t)k->in, (json_int_t)k->kh,
	              (json_int_t)k->kw, "scale", cli_json_real(k->scale));
	if (o && k->level) {
		size_t counts[WDIFF_LEVELS + 1];
		count_levels(k, counts);
		json_t *edges = json_array(), *cnt = json_array();
		for (int l = 0; l <= WDIFF_LEVELS; l++)
			json_array_append_new(edges, json_real(wdiff_level_edges[l]));
		for (int l = 0; l < WDIFF_LEVELS; l++)
			json_array_append_new(cnt, json_integer((json_int_t)counts[l]));
		json_object_set_new(o, "level_edges", edges);
		json_object_set_new(o, "level_counts", cnt);
	}
	if (cli_json_open_object(o) != 0)
		return EXIT_INTERNAL;
	fputs(",\"kernels\":[", stdout);
	for (size_t oi = 0; oi < k->out; oi++) {
		printf("%s{\"out\":%zu", oi ? "," : "", oi);
		for (int part = 0; part < (k->level ? 2 : 1); part++) {
			fputs(part ? ",\"levels\":[" : ",\"tiles\":[", stdout);
			for (size_t c = 0; c < k->in; c++) {
				fputs(c ? ",[" : "[", stdout);
				for (size_t y = 0; y < k->kh; y++) {
					fputs(y ? ",[" : "[", stdout);
					for (size_t x = 0; x < k->kw; x++) {
						size_t i = kernels_index(k, oi, c, y, x);
						if (x)
							putchar(',');
						if (!part)
							cli_json_num(k->v[i], false);
						else if (k->level[i] == KERNELS_LEVEL_NONE)
							fputs("null", stdout);
						else
							printf("%u", k->level[i]);
					}
					putchar(']');
				}
				putchar(']');
			}
			putchar(']');
		}
		putchar('}');
	}
	fputs("]}\n", stdout);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
}

int cmd_kernels(int argc, char **argv)
{
	bool json = false;
	const char *study_path, *model = NULL, *layer = NULL, *vs = NULL;
	const struct cli_opt opts[] = {CLI_OPT_JSON(&json),
	                               CLI_OPT_MODEL(&model),
	                               CLI_OPT_LAYER(&layer),
	                               {.name = "vs", .type = CLI_STR, .dest = &vs},
	                               CLI_OPT_END};
	int prc = cli_parse_args("kernels", kernels_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	if (!model || !layer)
		return cli_usage_error("kernels", "--model and --layer are required");
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	int rc = EXIT_BAD_INPUT;
	const struct layer *la = weights_layer(s, model, layer);
	const struct layer *lb = la && vs ? weights_layer(s, vs, layer) : NULL;
	if (la && (!vs || lb)) {
		struct kernel_map k;
		struct nn_err err = {{0}};
		if (kernels_map(&la->weights, lb ? &lb->weights : NULL, &k, &err) < 0) {
			char *msg = cli_safe(err.msg);
			fprintf(stderr, "nncmp kernels: %s\n", msg);
			free(msg);
		} else {
			if (json) {
				rc = print_json(model, vs, layer, &k);
			} else {
				print_text(model, vs, layer, &k);
				rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
			}
			kernels_free(&k);
		}
	}
	study_free(s);
	return rc;
}

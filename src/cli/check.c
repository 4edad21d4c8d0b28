/* check.c — `nncmp check`: describe a study and scan every matrix for NaN and infinities. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/arch.h"

static const char check_help[] =
    "usage: nncmp check STUDY [--json]\n"
    "\n"
    "Opens the study (which validates labels, classes, samples and every model's outputs),\n"
    "then reads every activation and weight matrix in full and counts NaN and infinite values,\n"
    "which analyses leave out. Prints what the study holds: instances, classes, models, their\n"
    "sources and layers with shapes and dtypes (an array of more than two dimensions is read\n"
    "as rows × the product of the rest; its shape follows in parentheses: (C×H×W)), and how\n"
    "each matrix is held when it is not simply mapped (a deflated npz member decompressed\n"
    "into memory, a chunked HDF5 dataset read in row blocks, a CSV converted into a float32\n"
    "cache). A model's graph.json (nncmp arch) is parsed too; \"graph\" says its source, null\n"
    "without one.\n"
    "\n"
    "  --json   {\"study\", \"n\", \"classes\", \"models\": [{\"name\", \"source\", \"storage\",\n"
    "           \"graph\", \"layers\": [{\"name\", \"act\", \"weights\"}]}]}; act and\n"
    "           weights: {\"path\", \"shape\" (as a matrix), \"dims\" (as stored),\n"
    "           \"dtype\", \"fortran\", \"nan\", \"inf\", \"storage\"}\n"
    "  --help   this text\n";

static json_t *matrix_json(const struct npy *a, const char *path)
{
	size_t nan_count, inf_count;
	char dt[8];
	struct nn_err err = {0};
	if (npy_count_nonfinite(a, &nan_count, &inf_count, &err) < 0) {
		fprintf(stderr, "nncmp: %s\n", err.msg);
		exit(EXIT_BAD_INPUT);
	}
	json_t *dims = json_array();
	for (int d = 0; d < a->h.ndim; d++)
		json_array_append_new(dims, json_integer((json_int_t)a->h.dims[d]));
	return json_pack("{s:o, s:[I, I], s:o, s:s, s:b, s:I, s:I, s:s}", "path", cli_jstr(path),
	                 "shape", (json_int_t)a->rows, (json_int_t)a->cols, "dims", dims, "dtype",
	                 npy_dtype_str(&a->h, dt), "fortran", a->h.fortran, "nan",
	                 (json_int_t)nan_count, "inf", (json_int_t)inf_count, "storage",
	                 npy_storage_str(a));
}

static void print_matrix(const char *what, const json_t *m)
{
	char *path = cli_safe(json_string_value(json_object_get(m, "path")));
	json_t *shape = json_object_get(m, "shape");
	long long nan_count = json_integer_value(json_object_get(m, "nan"));
	long long inf_count = json_integer_value(json_object_get(m, "inf"));
	printf("      %-8s %8lld × %-6lld %-3s %s", what,
	       (long long)json_integer_value(json_array_get(shape, 0)),
	       (long long)json_integer_value(json_array_get(shape, 1)),
	       json_string_value(json_object_get(m, "dtype")), path);
	const json_t *dims = json_object_get(m, "dims");
	if (json_array_size(dims) > 2) { /* the shape behind the matrix view: (C×H×W) */
		printf("  (");
		for (size_t d = 1; d < json_array_size(dims); d++)
			printf("%s%lld", d > 1 ? (cli_utf8() ? "×" : "x") : "",
			       (long long)json_integer_value(json_array_get(dims, d)));
		printf(")");
	}
	if (nan_count || inf_count)
		printf("  (%lld NaN, %lld infinite: left out of statistics)", nan_count, inf_count);
	const char *storage = json_string_value(json_object_get(m, "storage"));
	if (storage && strcmp(storage, "mapped") != 0)
		printf("  (%s)", storage);
	printf("\n");
	free(path);
}

int cmd_check(int argc, char **argv)
{
	bool json = false;
	const char *study_path;
	const struct cli_opt opts[] = {CLI_OPT_JSON(&json), CLI_OPT_END};
	int prc = cli_parse_args("check", check_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	static const char *const src_names[] = {"probs", "logits", "pred"};
	json_t *models = json_array();
	for (size_t m = 0; m < s->n_models; m++) {
		const struct model *md = &s->models[m];
		char *gpath;
		json_t *graph = json_null();
		if (arch_graph_path(s, md, &gpath)) { /* graph.json is validated like every file */
			struct arch a;
			struct nn_err err;
			free(gpath);
			if (arch_load(s, md, &a, &err) != 0) {
				json_decref(models);
				study_free(s);
				return cli_input_error("check", err.msg);
			}
			graph = json_string(arch_source_name(a.source));
			arch_free(&a);
		}
		json_t *layers = json_array();
		for (size_t l = 0; l < md->n_layers; l++) {
			const struct layer *ly = &md->layers[l];
			json_t *o2 = json_pack("{s:o}", "name", cli_jstr(ly->name));
			if (ly->act_path)
				json_object_set_new(o2, "act", matrix_json(&ly->act, ly->act_path));
			if (ly->weights_path)
				json_object_set_new(o2, "weights",
				                    matrix_json(&ly->weights, ly->weights_path));
			json_array_append_new(layers, o2);
		}
		json_t *jm = json_pack("{s:o, s:s, s:o, s:b, s:o, s:o}", "name", cli_jstr(md->name),
		                       "source", src_names[md->src], "path", cli_jstr(md->src_path),
		                       "derived_cached", md->derived_cached, "graph", graph,
		                       "layers", layers);
		if (md->src != SRC_PRED)
			json_object_set_new(jm, "storage",
			                    json_string(npy_storage_str(&md->probs)));
		json_array_append_new(models, jm);
	}
	/* a chunked dataset whose rows could not be read was scanned as NaN: say so instead */
	for (size_t m = 0; m < s->n_models; m++)
		for (size_t l = 0; l < s->models[m].n_layers; l++) {
			const struct layer *ly = &s->models[m].layers[l];
			struct nn_err rerr = {{0}};
			if ((ly->act_path && npy_read_error(&ly->act, &rerr) < 0) ||
			    (ly->weights_path && npy_read_error(&ly->weights, &rerr) < 0)) {
				const char *msg = rerr.msg;
				json_decref(models);
				study_free(s);
				return cli_input_error("check", msg);
			}
		}
	json_t *classes = json_array();
	for (size_t j = 0; j < s->n_classes; j++)
		json_array_append_new(classes, cli_jstr(s->classes[j]));
	json_t *out =
	    json_pack("{s:o, s:I, s:o, s:b, s:b, s:b, s:o}", "study", cli_jstr(s->name), "n",
	              (json_int_t)s->n, "classes", classes, "texts", s->texts != NULL, "images",
	              s->images != NULL, "splits", s->splits != NULL, "models", models);
	int rc;
	if (json) {
		rc = cli_json_print(out);
	} else {
		char *name = cli_safe(s->name);
		printf("%s: %zu instance%s, %zu class%s%s%s%s\n", name, s->n, cli_plural(s->n),
		       s->n_classes, s->n_classes == 1 ? "" : "es", s->texts ? ", texts" : "",
		       s->images ? ", images" : "", s->splits ? ", splits" : "");
		free(name);
		for (size_t m = 0; m < s->n_models; m++) {
			const json_t *jm = json_array_get(json_object_get(out, "models"), m);
			char *mn = cli_safe(s->models[m].name),
			     *p = cli_safe(s->models[m].src_path);
			const char *st = json_string_value(json_object_get(jm, "storage"));
			printf("  model %s: %s %s", mn, src_names[s->models[m].src], p);
			if (st && strcmp(st, "mapped") != 0)
				printf("  (%s)", st);
			printf("%s\n", s->models[m].derived_cached
			                   ? " (derived values from the cache)"
			                   : "");
			free(mn);
			free(p);
			const json_t *layers = json_object_get(jm, "layers");
			for (size_t l = 0; l < json_array_size(layers); l++) {
				const json_t *jl = json_array_get(layers, l);
				char *ln = cli_safe(json_string_value(json_object_get(jl, "name")));
				printf("    layer %s\n", ln);
				free(ln);
				if (json_object_get(jl, "act"))
					print_matrix("act", json_object_get(jl, "act"));
				if (json_object_get(jl, "weights"))
					print_matrix("weights", json_object_get(jl, "weights"));
			}
		}
		json_decref(out);
		printf("ok\n");
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
	}
	study_free(s);
	return rc;
}

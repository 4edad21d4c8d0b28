/*
 * patches.c — `nncmp patches`: the instances whose channel C of a spatial layer has the highest
 * spatial maximum, where that maximum is, and the region of the instance's image it maps to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nncmp/channels.h"
#include "nncmp/image.h"
#include "nncmp/rfield.h"

static const char patches_help[] =
    "usage: nncmp patches STUDY --model M --layer L --channel C [--top K] [--json]\n"
    "\n"
    "The K instances with the highest spatial maximum of channel C of layer L (activations\n"
    "stored (N, C, H, W)), highest first (ties by lower index; an all-NaN channel is left out),\n"
    "with the position (y, x) of that maximum (its first occurrence, row by row) and the image\n"
    "region it maps to. When the model's graph.json (tools/nncmp_export.py graph=True, or\n"
    "study.ini's graph =) gives the kernel, stride, padding and dilation of every convolution\n"
    "and pooling from the input to L, with the input's shape, the region is L's receptive\n"
    "field (region_from \"receptive_field\"): with j = 1, r = 1, s = 0 at the input, each layer\n"
    "of kernel k, stride t, padding p, dilation d gives j' = j t, r' = r + (k-1) d j,\n"
    "s' = s - p j, and position i spans input pixels s + i j .. s + i j + r - 1 along each\n"
    "dimension; the region is the bounding box of the pixels that reach the position (that span\n"
    "clipped to the input and to the taps that do not fall into the padding), scaled to the\n"
    "image when it is not the input's size (floor for starts, ceil for ends). Elementwise\n"
    "layers (activations, BatchNorm2d, Dropout) pass the field on; a layer with several inputs\n"
    "takes the union. Otherwise (no graph.json, another kind of layer on the way, a shape\n"
    "graph.json does not explain) the region is the feature-map cell scaled to the image\n"
    "(region_from \"scaled\", scaled_because says why): x0 = floor(x w / W),\n"
    "x1 = max(floor((x+1) w / W), x0 + 1), likewise y0, y1 with h and H (w x h the image's\n"
    "size; ends exclusive). Without a readable image only the box as fractions of the image\n"
    "is given. A malformed graph.json is an error.\n"
    "\n"
    "  --model M     the model (required)\n"
    "  --layer L     the layer, with (N, C, H, W) activations (required)\n"
    "  --channel C   the channel, 0-based (required)\n"
    "  --top K       the number of instances (default 10)\n"
    "  --json        {\"model\", \"layer\", \"channel\", \"shape\": [N, C, H, W], "
    "\"region_from\":\n"
    "                \"receptive_field\"|\"scaled\", \"receptive_field\": {\"size\", \"jump\",\n"
    "                \"start\", \"input\"} ([rows, columns] each) or null, \"scaled_because\",\n"
    "                \"patches\": [{\"index\", \"id\", \"value\", \"y\", \"x\", \"box_frac\":\n"
    "                [x0, y0, x1, y1], \"image\", \"image_size\": [w, h], \"box\": [x0, y0, x1,\n"
    "                y1], \"input_box\": [x0, y0, x1, y1]}]} (image, image_size and box null\n"
    "                when the image is unknown or unreadable; input_box, in the model input's\n"
    "                pixels, null when scaled; value null when infinite)\n"
    "  --help        this text\n";

struct patch {
	struct channel_hit hit;
	char *image;    /* path as samples.jsonl gives it, or NULL */
	int w, h;       /* image size; 0 when unknown */
	int box[4];     /* x0, y0, x1, y1 in pixels, when w > 0 */
	double frac[4]; /* the same as fractions of the image */
	long in_box[4]; /* the receptive field in the model input's pixels, when exact */
};

static void patch_fill(const struct study *s, const struct rfield *rf, struct patch *p)
{
	rfield_region(rf, p->hit.y, p->hit.x, p->frac, p->in_box);
	if (!s->images || !s->images[p->hit.index])
		return;
	p->image = s->images[p->hit.index];
	struct nn_err err = {{0}};
	char *path = image_path(s, p->hit.index, &err);
	struct image img = {0};
	if (!path || image_load(path, &img, &err) < 0) {
		free(path);
		return;
	}
	free(path);
	p->w = img.w;
	p->h = img.h;
	image_free(&img);
	rfield_box(rf, p->hit.y, p->hit.x, p->w, p->h, p->box);
}

/* {"size", "jump", "start", "input"} of an exact field ([rows, columns] each), else null. */
static json_t *field_json(const struct rfield *rf)
{
	if (!rf->exact)
		return json_null();
	return json_pack("{s:[I, I], s:[I, I], s:[I, I], s:[I, I]}", "size",
	                 (json_int_t)rf->size[0], (json_int_t)rf->size[1], "jump",
	                 (json_int_t)rf->jump[0], (json_int_t)rf->jump[1], "start",
	                 (json_int_t)rf->start[0], (json_int_t)rf->start[1], "input",
	                 (json_int_t)rf->in[0], (json_int_t)rf->in[1]);
}

static int print_json(const struct study *s, const char *model, const char *layer, long channel,
                      const struct npy *act, const struct rfield *rf, const struct patch *ps,
                      size_t n)
{
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++) {
		const struct patch *p = &ps[k];
		char buf[32];
		json_t *o = json_pack("{s:I, s:o, s:o, s:I, s:I, s:[f, f, f, f]}", "index",
		                      (json_int_t)p->hit.index, "id",
		                      cli_jstr(study_instance_id(s, p->hit.index, buf, sizeof buf)),
		                      "value", cli_json_real(p->hit.value), "y",
		                      (json_int_t)p->hit.y, "x", (json_int_t)p->hit.x, "box_frac",
		                      p->frac[0], p->frac[1], p->frac[2], p->frac[3]);
		json_object_set_new(o, "image", cli_jstr(p->image));
		json_object_set_new(o, "image_size",
		                    p->w ? json_pack("[i, i]", p->w, p->h) : json_null());
		json_object_set_new(
		    o, "box",
		    p->w ? json_pack("[i, i, i, i]", p->box[0], p->box[1], p->box[2], p->box[3])
		         : json_null());
		json_object_set_new(o, "input_box",
		                    rf->exact ? json_pack("[I, I, I, I]", (json_int_t)p->in_box[0],
		                                          (json_int_t)p->in_box[1],
		                                          (json_int_t)p->in_box[2],
		                                          (json_int_t)p->in_box[3])
		                              : json_null());
		json_array_append_new(arr, o);
	}
	const size_t *d = act->h.dims;
	return cli_json_print(json_pack(
	    "{s:o, s:o, s:I, s:[I, I, I, I], s:s, s:o, s:o, s:o}", "model", cli_jstr(model),
	    "layer", cli_jstr(layer), "channel", (json_int_t)channel, "shape", (json_int_t)d[0],
	    (json_int_t)d[1], (json_int_t)d[2], (json_int_t)d[3], "region_from",
	    rf->exact ? "receptive_field" : "scaled", "receptive_field", field_json(rf),
	    "scaled_because", rf->exact ? json_null() : cli_jstr(rf->why), "patches", arr));
}

static void print_text(const struct study *s, const char *model, const char *layer, long channel,
                       const struct npy *act, const struct rfield *rf, const struct patch *ps,
                       size_t n)
{
	char *mn = cli_safe(model), *ln = cli_safe(layer);
	const size_t *d = act->h.dims;
	printf("%s.%s channel %ld: the %zu instance%s of highest maximum over %zu x %zu\n", mn, ln,
	       channel, n, cli_plural(n), d[2], d[3]);
	if (rf->exact) {
		printf(
		    "region: the receptive field, %zu x %zu pixels of the %zu x %zu input (w x h), "
		    "positions %zu x %zu apart, (0, 0)'s from x %ld, y %ld; clipped to the taps "
		    "that land in the input\n",
		    rf->size[1], rf->size[0], rf->in[1], rf->in[0], rf->jump[1], rf->jump[0],
		    rf->start[1], rf->start[0]);
	} else {
		char *why = cli_safe(rf->why);
		printf("region: the cell scaled to the image (no receptive field: %s)\n", why);
		free(why);
	}
	printf("%6s %-16s %10s %8s  %s\n", "rank", "id", "max", "(y, x)", "image region");
	for (size_t k = 0; k < n; k++) {
		const struct patch *p = &ps[k];
		char buf[32], pos[32];
		printf("%6zu ", k + 1);
		cli_print_cell(study_instance_id(s, p->hit.index, buf, sizeof buf), 16, false);
		snprintf(pos, sizeof pos, "(%u, %u)", p->hit.y, p->hit.x);
		printf(" %10.4g %8s  ", (double)p->hit.value, pos);
		if (p->w) {
			char *img = cli_safe(p->image);
			printf("x %d..%d, y %d..%d of %d x %d  %s\n", p->box[0], p->box[2] - 1,
			       p->box[1], p->box[3] - 1, p->w, p->h, img);
			free(img);
		} else {
			printf("x %.3g..%.3g, y %.3g..%.3g of the image (%s)\n", p->frac[0],
			       p->frac[2], p->frac[1], p->frac[3],
			       p->image ? "unreadable, size unknown" : "no image");
		}
	}
	free(mn);
	free(ln);
}

int cmd_patches(int argc, char **argv)
{
	bool json = false;
	const char *study_path, *model = NULL, *layer = NULL;
	long channel = -1, top = 10;
	const struct cli_opt opts[] = {
	    CLI_OPT_JSON(&json),
	    CLI_OPT_MODEL(&model),
	    CLI_OPT_LAYER(&layer),
	    {.name = "channel",
	     .letter = 'c',
	     .type = CLI_LONG,
	     .dest = &channel,
	     .min = 0,
	     .max = 1L << 30},
	    {.name = "top", .letter = 't', .type = CLI_LONG, .dest = &top, .min = 1, .max = 100000},
	    CLI_OPT_END};
	int prc = cli_parse_args("patches", patches_help, opts, argc, argv, &study_path);
	if (prc >= 0)
		return prc;
	if (!model || !layer || channel < 0)
		return cli_usage_error("patches", "--model, --layer and --channel are required");
	struct study *s = cli_open_study(study_path);
	if (!s)
		return EXIT_BAD_INPUT;
	int rc = EXIT_BAD_INPUT;
	const struct model *md = NULL;
	const struct layer *ly = layer_find(s, "patches", model, layer, &md);
	struct channel_hit *hits = NULL;
	size_t n = 0;
	struct nn_err err = {{0}};
	if (ly && channels_top(&ly->act, (size_t)channel, (size_t)top, 0, &hits, &n, &err) < 0) {
		char *msg = cli_safe(err.msg);
		fprintf(stderr, "nncmp patches: %s\n", msg);
		free(msg);
	} else if (ly) {
		struct rfield rf;
		if (rfield_for_layer(s, md, layer, &ly->act, &rf, &err) < 0) {
			free(hits);
			study_free(s);
			return cli_input_error("patches", err.msg);
		}
		struct patch *ps = xcalloc(n ? n : 1, sizeof *ps);
		for (size_t k = 0; k < n; k++) {
			ps[k].hit = hits[k];
			patch_fill(s, &rf, &ps[k]);
		}
		if (json) {
			rc = print_json(s, model, layer, channel, &ly->act, &rf, ps, n);
		} else {
			print_text(s, model, layer, channel, &ly->act, &rf, ps, n);
			rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
		}
		free(ps);
		rfield_free(&rf);
	}
	free(hits);
	study_free(s);
	return rc;
}

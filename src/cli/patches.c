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

static const char patches_help[] =
    "usage: nncmp patches STUDY --model M --layer L --channel C [--top K] [--json]\n"
    "\n"
    "The K instances with the highest spatial maximum of channel C of layer L (activations\n"
    "stored (N, C, H, W)), highest first (ties by lower index; an all-NaN channel is left out),\n"
    "with the position (y, x) of that maximum (its first occurrence, row by row) and the image\n"
    "region it maps to: the feature-map cell scaled to the image of samples.jsonl,\n"
    "x0 = floor(x w / W), x1 = max(floor((x+1) w / W), x0 + 1), likewise y0, y1 with h and H\n"
    "(w x h the image's size; the end is exclusive). Without a readable image only the box as\n"
    "fractions of the image is given. The layer's receptive field is not used: the box is the\n"
    "cell the maximum lies in, not all the pixels that affect it.\n"
    "\n"
    "  --model M     the model (required)\n"
    "  --layer L     the layer, with (N, C, H, W) activations (required)\n"
    "  --channel C   the channel, 0-based (required)\n"
    "  --top K       the number of instances (default 10)\n"
    "  --json        {\"model\", \"layer\", \"channel\", \"shape\": [N, C, H, W], \"patches\":\n"
    "                [{\"index\", \"id\", \"value\", \"y\", \"x\", \"box_frac\": [x0, y0, x1, "
    "y1],\n"
    "                \"image\", \"image_size\": [w, h], \"box\": [x0, y0, x1, y1]}]} (image,\n"
    "                image_size and box null when the image is unknown or unreadable;\n"
    "                value null when infinite)\n"
    "  --help        this text\n";

struct patch {
	struct channel_hit hit;
	char *image;    /* path as samples.jsonl gives it, or NULL */
	int w, h;       /* image size; 0 when unknown */
	int box[4];     /* x0, y0, x1, y1 in pixels, when w > 0 */
	double frac[4]; /* the same as fractions of the image */
};

/* The start of cell i of n scaled to size: floor(i·size / n). */
static int scaled(size_t i, size_t n, int size)
{
	return (int)((unsigned long long)i * (unsigned long long)size / n);
}

static void patch_fill(const struct study *s, size_t hh, size_t ww, struct patch *p)
{
	size_t y = p->hit.y, x = p->hit.x;
	p->frac[0] = (double)x / (double)ww;
	p->frac[1] = (double)y / (double)hh;
	p->frac[2] = (double)(x + 1) / (double)ww;
	p->frac[3] = (double)(y + 1) / (double)hh;
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
	p->box[0] = scaled(x, ww, p->w);
	p->box[1] = scaled(y, hh, p->h);
	p->box[2] = scaled(x + 1, ww, p->w);
	p->box[3] = scaled(y + 1, hh, p->h);
	for (int k = 0; k < 2; k++)
		if (p->box[k + 2] <= p->box[k])
			p->box[k + 2] = p->box[k] + 1;
}

static int print_json(const struct study *s, const char *model, const char *layer, long channel,
                      const struct npy *act, const struct patch *ps, size_t n)
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
		json_array_append_new(arr, o);
	}
	const size_t *d = act->h.dims;
	return cli_json_print(
	    json_pack("{s:o, s:o, s:I, s:[I, I, I, I], s:o}", "model", cli_jstr(model), "layer",
	              cli_jstr(layer), "channel", (json_int_t)channel, "shape", (json_int_t)d[0],
	              (json_int_t)d[1], (json_int_t)d[2], (json_int_t)d[3], "patches", arr));
}

static void print_text(const struct study *s, const char *model, const char *layer, long channel,
                       const struct npy *act, const struct patch *ps, size_t n)
{
	char *mn = cli_safe(model), *ln = cli_safe(layer);
	const size_t *d = act->h.dims;
	printf("%s.%s channel %ld: the %zu instance%s of highest maximum over %zu x %zu\n", mn, ln,
	       channel, n, cli_plural(n), d[2], d[3]);
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
		struct patch *ps = xcalloc(n ? n : 1, sizeof *ps);
		for (size_t k = 0; k < n; k++) {
			ps[k].hit = hits[k];
			patch_fill(s, ly->act.h.dims[2], ly->act.h.dims[3], &ps[k]);
		}
		if (json) {
			rc = print_json(s, model, layer, channel, &ly->act, ps, n);
		} else {
			print_text(s, model, layer, channel, &ly->act, ps, n);
			rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_INTERNAL;
		}
		free(ps);
	}
	free(hits);
	study_free(s);
	return rc;
}

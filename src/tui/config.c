/*
 * config.c — the user's configuration file, $XDG_CONFIG_HOME/nncmp/config.ini (read with inih):
 * [keys] rebinds actions by "MODE.ACTION = KEY [KEY...]" (keys.h; a name without MODE. is the
 * panes' action), [ui] theme, graphics, graphics_passthrough and mouse, [layout] the share of
 * its column a pane of the wide layout takes ("detail = 40").
 *
 * Rebinding is order-independent: every binding of the file replaces its action's keys first;
 * then a key that another action of the same mode has by default moves to the binding, and a
 * key two bindings name stays with the later one. Every problem (a syntax error, an unknown
 * mode, action or key name, a key taken from another action) is collected into one line for
 * the message line; the rest of the file applies.
 */
#include "tui_int.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdarg.h>
#include <sys/stat.h>

/* [ui] graphics and graphics_passthrough, as the config file said (config_graphics()) */
static char ui_graphics[16];
static bool ui_passthrough;
/* [ui] mouse (config_mouse()): on unless the config says false */
static bool ui_mouse = true;
/* [layout] PANE = PERCENT (config_share()), as the percent + 1; 0: the pane class's own share */
static int layout_share[PANE_COUNT];

/* One [keys] line that named a known action, kept until every line is read. */
struct binding {
	struct keymode *mode;
	struct key_action *act;
	int keys[KEYS_MAX];
	int line;
};

/* A problem of the file, said with the others on one line in the order of the lines. */
struct problem {
	int line;
	size_t order; /* the order it was found in, to keep that within a line */
	char text[240];
};
#define PROBLEMS_MAX 16

struct config_ctx {
	char *theme;
	size_t size;
	struct problem problems[PROBLEMS_MAX];
	size_t n_problems; /* may pass PROBLEMS_MAX: those are counted, not kept */
	struct binding *b;
	size_t n_b, cap_b;
	int line; /* inih's current line, counted by the handler */
};

/* Records one problem of line `line`. */
static void problem(struct config_ctx *ctx, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(struct config_ctx *ctx, int line, const char *fmt, ...)
{
	if (ctx->n_problems < PROBLEMS_MAX) {
		struct problem *p = &ctx->problems[ctx->n_problems];
		p->line = line;
		p->order = ctx->n_problems;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->text, sizeof p->text, fmt, ap);
		va_end(ap);
	}
	ctx->n_problems++;
}

static int cmp_problem(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Every problem on one line, by line: "line 3: ...; line 5: ...". */
static void problems_join(struct config_ctx *ctx, char *buf, size_t size)
{
	size_t kept = ctx->n_problems < PROBLEMS_MAX ? ctx->n_problems : PROBLEMS_MAX, o = 0;
	qsort(ctx->problems, kept, sizeof *ctx->problems, cmp_problem);
	buf[0] = '\0';
	for (size_t k = 0; k < kept; k++) {
		int w = snprintf(buf + o, size - o, "%sline %d: %s", k ? "; " : "",
		                 ctx->problems[k].line, ctx->problems[k].text);
		if (w < 0 || (size_t)w >= size - o)
			return;
		o += (size_t)w;
	}
	if (ctx->n_problems > kept)
		snprintf(buf + o, size - o, "; and %zu more", ctx->n_problems - kept);
}

/* Records "name = value" of [keys] (applied once the whole file is read). */
static void key_line(struct config_ctx *ctx, const char *name, const char *value, int line)
{
	char mname[64] = "panes";
	const char *aname = name, *dot = strchr(name, '.');
	if (dot) {
		snprintf(mname, sizeof mname, "%.*s", (int)(dot - name < 63 ? dot - name : 63),
		         name);
		aname = dot + 1;
	}
	struct keymode *m = keymode_named(mname);
	if (!m) {
		problem(ctx, line, "[keys] no mode called '%.40s' (? names the modes)", mname);
		return;
	}
	struct key_action *act = keymode_action(m, aname);
	/* a name without a mode may also be a pane's own key (left and right were the panes' once)
	 */
	for (size_t p = 0; !act && !dot && p < PANE_COUNT; p++)
		if (pane_classes[p]->keys && (act = keymode_action(pane_classes[p]->keys, aname)))
			m = pane_classes[p]->keys;
	if (!act) {
		problem(ctx, line, "[keys] no action called '%.40s' in %s (? lists them)", aname,
		        m->name);
		return;
	}
	struct binding b = {.mode = m, .act = act, .line = line};
	int n = 0;
	char buf[200];
	snprintf(buf, sizeof buf, "%s", value);
	for (char *save = NULL, *tok = strtok_r(buf, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		int k = key_parse(tok);
		if (k < 0) {
			problem(ctx, line, "[keys] %.40s: unknown key '%.20s'", name, tok);
			return;
		}
		if (n < KEYS_MAX)
			b.keys[n++] = k;
	}
	if (ctx->n_b == ctx->cap_b) {
		ctx->cap_b = ctx->cap_b ? 2 * ctx->cap_b : 16;
		ctx->b = xreallocarray(ctx->b, ctx->cap_b, sizeof *ctx->b);
	}
	ctx->b[ctx->n_b++] = b;
}

/* The binding of act in the file, or NULL when it keeps its default keys. */
static const struct binding *bound(const struct config_ctx *ctx, const struct key_action *act)
{
	for (size_t i = 0; i < ctx->n_b; i++)
		if (ctx->b[i].act == act)
			return &ctx->b[i];
	return NULL;
}

/* Removes key from the keys of a. */
static void drop_key(struct key_action *a, int key)
{
	int w = 0;
	for (int r = 0; r < KEYS_MAX; r++)
		if (a->keys[r] != key)
			a->keys[w++] = a->keys[r];
	while (w < KEYS_MAX)
		a->keys[w++] = 0;
}

/*
 * Applies the recorded bindings: each replaces its action's keys; then a key that another
 * action of the same mode has by default moves to the binding (said), and a key that two
 * bindings name stays with the later one (said).
 */
static void bindings_apply(struct config_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_b; i++)
		memcpy(ctx->b[i].act->keys, ctx->b[i].keys, sizeof ctx->b[i].keys);
	for (size_t i = 0; i < ctx->n_b; i++) {
		struct binding *b = &ctx->b[i];
		struct keymode *m = b->mode;
		for (int j = 0; j < KEYS_MAX && b->keys[j]; j++) {
			int key = b->keys[j];
			for (size_t a = 0; a < m->n; a++) {
				struct key_action *other = &m->acts[a];
				bool has = false;
				for (int r = 0; other != b->act && r < KEYS_MAX; r++)
					has = has || (other->keys[r] && other->keys[r] == key);
				if (!has)
					continue;
				char kb[24];
				key_label(key, kb, sizeof kb);
				const struct binding *ob = bound(ctx, other);
				if (ob) {
					problem(ctx, b->line, "[keys] %s.%s: %s is %s's (line %d)",
					        m->name, b->act->name, kb, other->name, ob->line);
					drop_key(b->act, key);
				} else {
					problem(ctx, b->line, "[keys] %s.%s: %s taken from %s",
					        m->name, b->act->name, kb, other->name);
					drop_key(other, key);
				}
			}
		}
	}
}

/* The file and the number of the line inih reads, for the messages. */
struct counted {
	FILE *f;
	int *line;
};

/* inih's reader: fgets, counting lines. */
static char *read_line(char *str, int num, void *stream)
{
	struct counted *c = stream;
	char *r = fgets(str, num, c->f);
	if (r)
		(*c->line)++;
	return r;
}

static void layout_line(struct config_ctx *ctx, const char *name, const char *value, int line);

static int config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_ctx *ctx = user;
	if (strcasecmp(section, "keys") == 0) {
		key_line(ctx, name, value, ctx->line);
	} else if (strcasecmp(section, "ui") == 0 && strcasecmp(name, "theme") == 0) {
		snprintf(ctx->theme, ctx->size, "%s", value);
	} else if (strcasecmp(section, "ui") == 0 && strcasecmp(name, "graphics") == 0) {
		snprintf(ui_graphics, sizeof ui_graphics, "%s", value);
	} else if (strcasecmp(section, "ui") == 0 && strcasecmp(name, "mouse") == 0) {
		ui_mouse = !(strcasecmp(value, "false") == 0 || strcasecmp(value, "no") == 0 ||
		             strcasecmp(value, "off") == 0 || strcmp(value, "0") == 0);
	} else if (strcasecmp(section, "ui") == 0 &&
	           strcasecmp(name, "graphics_passthrough") == 0) {
		ui_passthrough = strcasecmp(value, "true") == 0 || strcasecmp(value, "yes") == 0 ||
		                 strcmp(value, "1") == 0;
	} else if (strcasecmp(section, "layout") == 0) {
		layout_line(ctx, name, value, ctx->line);
	}
	return 1;
}

/* One [layout] line: a pane's name and a whole percent 0..100. */
static void layout_line(struct config_ctx *ctx, const char *name, const char *value, int line)
{
	int p = -1;
	for (int k = 0; k < PANE_COUNT; k++)
		if (strcasecmp(pane_classes[k]->name, name) == 0)
			p = k;
	if (p < 0) {
		problem(ctx, line, "[layout] no pane called '%.40s'", name);
		return;
	}
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (end == value || *end || errno || v < 0 || v > 100) {
		problem(ctx, line, "[layout] %.40s: '%.40s' is not a percent from 0 to 100", name,
		        value);
		return;
	}
	layout_share[p] = (int)v + 1;
}

int config_share(int pane, int share)
{
	return pane >= 0 && pane < PANE_COUNT && layout_share[pane] ? layout_share[pane] - 1
	                                                            : share;
}

bool config_mouse(void)
{
	return ui_mouse;
}

const char *config_graphics(bool *passthrough)
{
	*passthrough = ui_passthrough;
	return ui_graphics[0] ? ui_graphics : NULL;
}

int config_load(char *theme, size_t size, struct nn_err *err)
{
	keys_reset(); /* the first call records the defaults */
	memset(layout_share, 0, sizeof layout_share);
	char path[PATH_MAX];
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(path, sizeof path, "%.3900s/nncmp/config.ini", xdg);
	else if (home && *home)
		snprintf(path, sizeof path, "%.3900s/.config/nncmp/config.ini", home);
	else
		return 0;
	struct stat st;
	if (stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0; /* no config file: the defaults */
	FILE *f = nn_fopen_regular(path, err);
	if (!f)
		return -1;
	struct config_ctx ctx = {.theme = theme, .size = size};
	struct counted c = {f, &ctx.line};
	int line = ini_parse_stream(read_line, &c, config_handler, &ctx);
	fclose(f);
	if (line != 0)
		problem(&ctx, line, "syntax error");
	bindings_apply(&ctx);
	free(ctx.b);
	if (ctx.n_problems) {
		char all[NN_ERR_MAX];
		problems_join(&ctx, all, sizeof all);
		return nn_err_set(err, "config.ini %.900s", all);
	}
	return 0;
}

/*
 * theme.c — colour roles and the theme loader.
 *
 * A theme is an .ini file read with inih: a [colors] section of lines `role = fg,bg[,attr...]`,
 * where fg and bg are colour names (default, black, red, ..., brightred, ..., grey), numbers
 * 0-255 or "#rrggbb", and attrs are bold, dim, underline, reverse, italic or normal. Roles the
 * file does not name keep the compiled-in default. On a direct-colour terminal (COLORS >= 2^24,
 * e.g. TERM=xterm-direct) "#rrggbb" is drawn as is; elsewhere it becomes the nearest entry of the
 * 256-colour palette, or of the 8 (16) basic colours, and 256-colour numbers the terminal lacks
 * are folded to its 8 (or 16). On a terminal without colours every role falls back to its
 * monochrome attribute, so the screen stays readable (selection reversed, wrong predictions
 * marked by shape). NO_COLOR (no-color.org), set and not empty, makes theme_default() give the
 * monochrome theme's attributes without any colour pair; only a theme loaded by name
 * (theme_load: --theme, :theme) brings colours back.
 */
#include "tui_int.h"
#include "nncmp/tui.h"

#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "nncmp/colour.h"

/* A colour of a role: -1 (the terminal's default), a palette index 0-255, or RGB_BIT | 0xRRGGBB. */
#define RGB_BIT 0x1000000

struct role_style {
	int fg, bg;
	attr_t attr;   /* extra attributes with colours */
	bool has_attr; /* attr was given by the theme (else the default rule applies) */
};

static const char *const role_names[ROLE_COUNT] = {
#define X(id, name, fg, bg, mono) name,
    ROLE_LIST(X)
#undef X
};

static const struct role_style role_defaults[ROLE_COUNT] = {
#define X(id, name, fg, bg, mono) {fg, bg, (mono) & (A_BOLD | A_UNDERLINE), false},
    ROLE_LIST(X)
#undef X
};

static const attr_t role_mono[ROLE_COUNT] = {
#define X(id, name, fg, bg, mono) mono,
    ROLE_LIST(X)
#undef X
};

/* The theme in use (this module's only state). */
static struct role_style styles[ROLE_COUNT];
static attr_t attrs[ROLE_COUNT];
static char current_name[64] = "default";
static bool shapes;

/*
 * Class hues for DeepCompare's glyph (a prediction's colour on the truth's colour): Okabe and
 * Ito's colour-blind safe qualitative palette as xterm 256-colour entries (orange, sky blue,
 * bluish green, yellow, blue, vermillion, reddish purple, grey). Classes past eight repeat hues,
 * so a wrong prediction whose class shares the truth's hue is drawn in a contrast colour of its
 * own (black, white on blue) instead: a solid patch is always a right prediction. The table
 * names a wrong prediction's class anyway.
 */
#define CLASS_HUES 8
static const int class_hue[CLASS_HUES] = {214, 117, 36, 227, 25, 166, 175, 247};
static const int class_contrast[CLASS_HUES] = {16, 16, 16, 16, 231, 16, 16, 16};
#define CLASS_PAIRS (CLASS_HUES * CLASS_HUES + CLASS_HUES)
static bool class_pairs; /* the pairs CLASS_PAIR_BASE.. are set up */

static const char *const colour_names[] = {"black", "red",     "green", "yellow",
                                           "blue",  "magenta", "cyan",  "white"};

/* Parses a colour: a name, "bright" + name, grey, default, 0-255 or #rrggbb. Returns 0 or -1. */
static int parse_colour(const char *s, int *out)
{
	uint32_t rgb;
	if (s[0] == '#') {
		if (colour_parse_hex(s, &rgb) != 0)
			return -1;
		*out = (int)(RGB_BIT | rgb);
		return 0;
	}
	if (strcasecmp(s, "default") == 0 || strcmp(s, "-1") == 0) {
		*out = -1;
		return 0;
	}
	if (strcasecmp(s, "grey") == 0 || strcasecmp(s, "gray") == 0) {
		*out = 8;
		return 0;
	}
	bool bright = strncasecmp(s, "bright", 6) == 0;
	const char *base = bright ? s + 6 : s;
	for (short i = 0; i < 8; i++)
		if (strcasecmp(base, colour_names[i]) == 0) {
			*out = i + (bright ? 8 : 0);
			return 0;
		}
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < 0 || v > 255)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_attr(const char *s, attr_t *out)
{
	static const struct {
		const char *name;
		attr_t attr;
	} names[] = {{"bold", A_BOLD},       {"dim", A_DIM},          {"underline", A_UNDERLINE},
	             {"reverse", A_REVERSE}, {"italic", A_ITALIC},    {"blink", A_BLINK},
	             {"normal", A_NORMAL},   {"standout", A_STANDOUT}};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcasecmp(s, names[i].name) == 0) {
			*out |= names[i].attr;
			return 0;
		}
	return -1;
}

/* Folds a 256-colour index to the terminal's palette (8 or 16 colours). */
static int fold_index(int c)
{
	if (c < 0 || c < COLORS)
		return c;
	if (c < 16)
		return (short)(c - 8);
	if (c >= 232) /* grey ramp */
		return c < 244 ? COLOR_BLACK : COLOR_WHITE;
	int v = c - 16, r = v / 36, g = (v / 6) % 6, b = v % 6;
	int hi = r > g ? (r > b ? r : b) : (g > b ? g : b);
	if (hi < 2)
		return COLOR_BLACK;
	int t = hi - 1; /* channels close to the strongest count as lit */
	return (r >= t ? 1 : 0) | (g >= t ? 2 : 0) | (b >= t ? 4 : 0);
}

/*
 * The colour number for this terminal: on a direct-colour one an RGB value (palette indices 8-255
 * as xterm's RGB; 0-7 stay the terminal's own ANSI colours, and an RGB value below 8, which
 * xterm-direct would read as one of those, becomes 8, a black); elsewhere a palette index below
 * COLORS.
 */
static int terminal_colour(int c, bool direct)
{
	if (c < 0)
		return c;
	if (direct) {
		if (!(c & RGB_BIT) && c < 8)
			return c;
		int rgb = c & RGB_BIT ? c & 0xffffff : (int)colour_index_rgb(c);
		return rgb < 8 ? 8 : rgb;
	}
	if (c & RGB_BIT)
		return colour_nearest((uint32_t)c & 0xffffff, COLORS);
	return fold_index(c);
}

struct parse_ctx {
	struct nn_err *err;
	bool failed;
};

static int theme_ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	if (strcasecmp(section, "colors") != 0 && strcasecmp(section, "colours") != 0)
		return 1; /* other sections are for other readers */
	int r = -1;
	for (int i = 0; i < ROLE_COUNT; i++)
		if (strcasecmp(name, role_names[i]) == 0)
			r = i;
	if (r < 0) {
		nn_err_set(ctx->err, "unknown role '%.40s'", name);
		ctx->failed = true;
		return 0;
	}
	char buf[200];
	snprintf(buf, sizeof buf, "%s", value);
	struct role_style st = {-1, -1, A_NORMAL, true};
	int field = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save), field++) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		size_t len = strlen(tok);
		while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
			tok[--len] = '\0';
		int bad = field == 0   ? parse_colour(tok, &st.fg)
		          : field == 1 ? parse_colour(tok, &st.bg)
		                       : parse_attr(tok, &st.attr);
		if (bad) {
			nn_err_set(ctx->err, "%s: '%.40s' is not a colour or attribute", name, tok);
			ctx->failed = true;
			return 0;
		}
	}
	styles[r] = st;
	return 1;
}

/*
 * Turns styles[] into attributes for this terminal. With no_pairs (NO_COLOR) the attributes
 * come from styles[] alone, as the monochrome theme gives them, and no colour pair is made.
 */
static void theme_apply(bool no_pairs)
{
	bool colour = !no_pairs && has_colors() && COLOR_PAIRS > ROLE_COUNT;
	bool defaults = colour && use_default_colors() == OK;
	bool direct = colour && COLORS >= RGB_BIT;
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (no_pairs) {
			attrs[i] = styles[i].has_attr ? styles[i].attr : role_mono[i];
			continue;
		}
		if (!colour) {
			attrs[i] = role_mono[i];
			continue;
		}
		int fg = terminal_colour(styles[i].fg, direct);
		int bg = terminal_colour(styles[i].bg, direct);
		if (!defaults) {
			fg = fg < 0 ? COLOR_WHITE : fg;
			bg = bg < 0 ? COLOR_BLACK : bg;
		}
		init_extended_pair(i + 1, fg, bg);
		attrs[i] = COLOR_PAIR(i + 1) | styles[i].attr;
	}
	shapes = !colour || styles[ROLE_RIGHT].fg == styles[ROLE_WRONG].fg;
	/* every (prediction, truth) pair of class hues, when the terminal has colours to spare */
	class_pairs =
	    colour && !shapes && COLORS >= 256 && COLOR_PAIRS >= CLASS_PAIR_BASE + CLASS_PAIRS;
	for (int f = 0; class_pairs && f < CLASS_HUES; f++)
		for (int b = 0; b < CLASS_HUES; b++)
			init_extended_pair(CLASS_PAIR_BASE + f * CLASS_HUES + b,
			                   terminal_colour(class_hue[f], direct),
			                   terminal_colour(class_hue[b], direct));
	for (int b = 0; class_pairs && b < CLASS_HUES; b++)
		init_extended_pair(CLASS_PAIR_BASE + CLASS_HUES * CLASS_HUES + b,
		                   terminal_colour(class_contrast[b], direct),
		                   terminal_colour(class_hue[b], direct));
}

int class_pair(int fg_class, int bg_class)
{
	if (!class_pairs || fg_class < 0 || bg_class < 0)
		return 0;
	int f = fg_class % CLASS_HUES, b = bg_class % CLASS_HUES;
	if (f == b && fg_class != bg_class) /* a wrong prediction never looks like a right one */
		return CLASS_PAIR_BASE + CLASS_HUES * CLASS_HUES + b;
	return CLASS_PAIR_BASE + f * CLASS_HUES + b;
}

/* --color: never and always override NO_COLOR (tui_set_colour) */
static enum colour_when colour_when = COLOUR_AUTO;

void tui_set_colour(enum colour_when when)
{
	colour_when = when;
}

enum colour_when theme_colour_when(void)
{
	return colour_when;
}

bool theme_no_colour(void)
{
	if (colour_when != COLOUR_AUTO)
		return colour_when == COLOUR_NEVER;
	const char *v = getenv("NO_COLOR");
	return v && *v;
}

static int theme_read(const char *name, struct nn_err *err);

void theme_default(void)
{
	memcpy(styles, role_defaults, sizeof styles);
	snprintf(current_name, sizeof current_name, "default");
	if (theme_no_colour()) {
		struct nn_err err;
		if (theme_read("monochrome", &err) != 0) /* the compiled-in attributes */
			for (int i = 0; i < ROLE_COUNT; i++)
				styles[i].has_attr = false;
		snprintf(current_name, sizeof current_name, "monochrome");
		theme_apply(true);
		return;
	}
	if (has_colors())
		start_color();
	theme_apply(false);
}

/* Writes the first readable theme file for name into path; returns 0 or -1. */
static int theme_find(const char *name, char *path, size_t size)
{
	if (strchr(name, '/') ||
	    (strlen(name) > 4 && strcmp(name + strlen(name) - 4, ".ini") == 0)) {
		snprintf(path, size, "%s", name);
		return access(path, R_OK) == 0 ? 0 : -1;
	}
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return -1;
	char dirs[5][PATH_MAX];
	size_t nd = 0;
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(dirs[nd++], PATH_MAX, "%.3800s/nncmp/themes", xdg);
	else if (home && *home)
		snprintf(dirs[nd++], PATH_MAX, "%.3800s/.config/nncmp/themes", home);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(dirs[nd++], PATH_MAX, "%.3800s/themes", exe);
		snprintf(dirs[nd++], PATH_MAX, "%.3800s/../themes",
		         exe); /* build/ in a source tree */
		snprintf(dirs[nd++], PATH_MAX, "%.3800s/../share/nncmp/themes", exe);
	}
	snprintf(dirs[nd++], PATH_MAX, "/usr/share/nncmp/themes");
	for (size_t i = 0; i < nd; i++) {
		snprintf(path, size, "%.3900s/%.60s.ini", dirs[i], name);
		if (access(path, R_OK) == 0)
			return 0;
	}
	return -1;
}

/* Reads theme name into styles[] (unchanged on failure); returns 0 or -1 with err set. */
static int theme_read(const char *name, struct nn_err *err)
{
	char path[PATH_MAX + 80];
	if (theme_find(name, path, sizeof path) != 0)
		return nn_err_set(err, "theme '%.60s' not found (themes/NAME.ini)", name);
	struct role_style saved[ROLE_COUNT];
	memcpy(saved, styles, sizeof saved);
	memcpy(styles, role_defaults, sizeof styles);
	struct nn_err oerr;
	FILE *f = nn_fopen_regular(path, &oerr); /* a FIFO must not block the TUI */
	if (!f)
		return nn_err_set(err, "theme '%.60s': %.300s", name, oerr.msg);
	struct parse_ctx ctx = {err, false};
	int line = ini_parse_file(f, theme_ini_line, &ctx);
	fclose(f);
	if (line != 0 || ctx.failed) {
		memcpy(styles, saved, sizeof styles);
		if (line < 0)
			return nn_err_set(err, "theme '%.60s': cannot read it", name);
		char msg[NN_ERR_MAX];
		snprintf(msg, sizeof msg, "%s", ctx.failed ? err->msg : "syntax error");
		return nn_err_set(err, "theme '%.60s', line %d: %.300s", name, line, msg);
	}
	return 0;
}

int theme_load(const char *name, struct nn_err *err)
{
	if (theme_read(name, err) != 0)
		return -1;
	const char *base = strrchr(name, '/');
	snprintf(current_name, sizeof current_name, "%.60s", base ? base + 1 : name);
	if (has_colors())
		start_color();
	theme_apply(false);
	return 0;
}

attr_t role_attr(enum role r)
{
	return attrs[r];
}

bool role_rgb(enum role r, bool background, uint8_t rgb[3])
{
	int c = background ? styles[r].bg : styles[r].fg;
	if (c < 0)
		return false;
	uint32_t v = c & RGB_BIT ? (uint32_t)c & 0xffffff : colour_index_rgb(c);
	rgb[0] = (uint8_t)(v >> 16);
	rgb[1] = (uint8_t)(v >> 8);
	rgb[2] = (uint8_t)v;
	return true;
}

bool theme_needs_shapes(void)
{
	return shapes;
}

const char *theme_name(void)
{
	return current_name;
}

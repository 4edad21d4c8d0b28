/* choose.c — the graphics mode from what the terminal answered and what the environment says
   (pure: gfx_probe does the asking). */
#include <stdio.h>
#include <string.h>

#include "nncmp/termgfx.h"

static const char *const mode_names[] = {"none", "blocks", "sixel", "kitty", "iterm"};

int gfx_mode_parse(const char *s, enum gfx_mode *mode)
{
	for (size_t k = 0; k < sizeof mode_names / sizeof *mode_names; k++)
		if (strcmp(s, mode_names[k]) == 0) {
			*mode = (enum gfx_mode)k;
			return 0;
		}
	return -1;
}

const char *gfx_mode_name(enum gfx_mode m)
{
	return (unsigned)m < sizeof mode_names / sizeof *mode_names ? mode_names[m] : "none";
}

bool gfx_mode_is_pixels(enum gfx_mode m)
{
	return m == GFX_SIXEL || m == GFX_KITTY || m == GFX_ITERM;
}

static bool has_prefix(const char *s, const char *p)
{
	return s && strncmp(s, p, strlen(p)) == 0;
}

/* What names iTerm2 (the terminal itself, not tmux in it), or NULL. */
static const char *iterm_sign(const struct termreply *r, const struct gfx_hints *h)
{
	if (has_prefix(r->version, "iTerm2"))
		return "XTVERSION says iTerm2";
	if (r->iterm_cell_w > 0)
		return "it answers ReportCellSize";
	if (h->in_tmux)
		return NULL; /* TERM_PROGRAM and LC_TERMINAL are the outer terminal's, not tmux's */
	if (h->term_program && strcmp(h->term_program, "iTerm.app") == 0)
		return "TERM_PROGRAM=iTerm.app";
	if (h->lc_terminal && strcmp(h->lc_terminal, "iTerm2") == 0)
		return "LC_TERMINAL=iTerm2";
	return NULL;
}

enum gfx_mode gfx_choose(const struct termreply *r, const struct gfx_hints *h, char *why,
                         size_t cap)
{
	const char *who = r->version[0] ? r->version : "the terminal";
	const char *sign;
	if (r->kitty_ok && !h->in_tmux) {
		snprintf(why, cap, "kitty (%s answers kitty's graphics query)", who);
		return GFX_KITTY;
	}
	if (!h->in_tmux && (sign = iterm_sign(r, h))) {
		snprintf(why, cap, "iterm (%s)", sign);
		return GFX_ITERM;
	}
	if (r->sixel) {
		snprintf(why, cap, "sixel (%s answers DA1 with 4)", h->in_tmux ? "tmux" : who);
		return GFX_SIXEL;
	}
	if (h->in_tmux && h->passthrough) {
		/* tmux before 3.4 (or built without sixel) answers for itself: the user vouches for
		   the terminal outside */
		snprintf(why, cap, "sixel through tmux passthrough (opted in)");
		return GFX_SIXEL;
	}
	snprintf(why, cap, "blocks (%s)",
	         r->da1 ? "no image protocol in the replies" : "no DA1 reply in time");
	return GFX_BLOCKS;
}

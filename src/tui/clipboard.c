/*
 * clipboard.c — `y` and `:copy FIELD`: a field of the selected instance (its id, text, image
 * path, label, a model's prediction) to the terminal's clipboard with OSC 52.
 *
 * The sequence is nncmp's own, never the data's: the value travels base64-encoded, so no byte of
 * it reaches the terminal raw, whatever the study holds. Inside tmux the sequence goes twice: as
 * is, for tmux's own set-clipboard, and inside the passthrough wrapper the graphics layer uses
 * (ESC P tmux; ... ESC \), for the terminal outside tmux when allow-passthrough is on. OSC 52
 * has no reply, so the status line says what was sent, not that the terminal took it.
 */
#include "tui_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nncmp/termgfx.h"

/* Terminals cap OSC 52 (xterm at about 100 000 bytes of base64): larger values are refused. */
#define COPY_MAX 65536

static const char *const copy_fields[] = {"id", "index", "text",  "image",
                                          "gt", "given", "split", NULL};

/* Base64 of buf[0..n) (RFC 4648, padded), newly allocated. */
static char *base64(const unsigned char *buf, size_t n)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
	for (size_t k = 0; k < n; k += 3) {
		unsigned v = (unsigned)buf[k] << 16;
		if (k + 1 < n)
			v |= (unsigned)buf[k + 1] << 8;
		if (k + 2 < n)
			v |= buf[k + 2];
		*o++ = abc[(v >> 18) & 63];
		*o++ = abc[(v >> 12) & 63];
		*o++ = k + 1 < n ? abc[(v >> 6) & 63] : '=';
		*o++ = k + 2 < n ? abc[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* Sends value to the clipboard; returns whether it went through tmux's passthrough too. */
static bool osc52_send(const char *value)
{
	char *b64 = base64((const unsigned char *)value, strlen(value));
	char *seq = xasprintf("\033]52;c;%s\a", b64);
	free(b64);
	size_t n = strlen(seq);
	(void)write_all(STDOUT_FILENO, seq, n);
	const char *tmux = getenv("TMUX");
	bool in_tmux = tmux && *tmux;
	if (in_tmux) {
		size_t wl;
		char *wrapped = image_tmux_wrap(seq, n, &wl);
		(void)write_all(STDOUT_FILENO, wrapped, wl);
		free(wrapped);
	}
	free(seq);
	return in_tmux;
}

/*
 * The value of field for instance i, newly allocated, or NULL with a message in why (no such
 * field, or the study has none for it).
 */
static char *field_value(const struct app *app, size_t i, const char *field, char *why, size_t size)
{
	const struct study *s = app->s;
	char buf[32];
	if (strcmp(field, "id") == 0)
		return xstrdup(study_instance_id(s, i, buf, sizeof buf));
	if (strcmp(field, "index") == 0)
		return xasprintf("%zu", i);
	if (strcmp(field, "gt") == 0 || strcmp(field, "label") == 0)
		return xstrdup(s->classes[s->labels[i]]);
	if (strcmp(field, "given") == 0)
		return xstrdup(s->classes[study_given(s)[i]]);
	if (strcmp(field, "text") == 0 || strcmp(field, "image") == 0 ||
	    strcmp(field, "split") == 0) {
		char **v = field[0] == 't' ? s->texts : field[0] == 'i' ? s->images : s->splits;
		if (!v || !v[i]) {
			snprintf(why, size, "instance #%zu has no %s", i, field);
			return NULL;
		}
		return field[0] == 'i' ? path_join(s->root, v[i]) : xstrdup(v[i]);
	}
	int m = study_model_index(s, field);
	if (m >= 0) /* a model's name: its prediction */
		return xstrdup(s->classes[model_pred(&s->models[m], i)]);
	snprintf(why, size,
	         "nothing called '%.40s' to copy (id, index, text, image, gt, given, split, or a "
	         "model's name for its prediction)",
	         field);
	return NULL;
}

int clipboard_copy(struct app *app, const char *field)
{
	if (!field || !*field)
		field = "id";
	size_t i = app_current(app);
	if (i == SIZE_MAX) {
		app_message(app, true, "copy: no instance is selected");
		return REDRAW_STATUS;
	}
	char why[200];
	char *v = field_value(app, i, field, why, sizeof why);
	if (!v) {
		app_message(app, true, "copy: %s", why);
		return REDRAW_STATUS;
	}
	size_t n = strlen(v);
	if (n > COPY_MAX) {
		app_message(app, true,
		            "copy: the %.40s of #%zu is %zu bytes, more than terminals take "
		            "(%d)",
		            field, i, n, COPY_MAX);
		free(v);
		return REDRAW_STATUS;
	}
	bool tmux = osc52_send(v);
	/* the message line sanitizes what it draws */
	app_message(app, false, "copied the %.40s of #%zu to the clipboard (OSC 52%s): %.80s%s",
	            field, i, tmux ? ", also through tmux's passthrough" : "", v,
	            n > 80 ? "..." : "");
	free(v);
	return REDRAW_STATUS;
}

const char *const *clipboard_fields(void)
{
	return copy_fields;
}

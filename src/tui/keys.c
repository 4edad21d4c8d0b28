/*
 * keys.c — the machinery of keys as data (keys.h): the list of every mode (the fixed ones, then
 * each pane's and each view's own table, found through pane_classes[] and view_classes[]),
 * looking a key or a name up in a mode, key names for the help screen and for config.ini, the
 * defaults kept for keys_reset(), and the list moves panes and views share.
 */
#include "tui_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "views.h"

struct keymode *keymode_at(size_t k)
{
	static struct keymode *const fixed[] = {&panes_keys, &view_keys, &cmdline_keys, &help_keys,
	                                        &picker_keys};
	size_t nf = sizeof fixed / sizeof *fixed;
	if (k < nf)
		return fixed[k];
	k -= nf;
	for (size_t p = 0; p < PANE_COUNT; p++)
		if (pane_classes[p]->keys && k-- == 0)
			return pane_classes[p]->keys;
	for (size_t v = 0; view_classes[v]; v++)
		if (view_classes[v]->keys && k-- == 0)
			return view_classes[v]->keys;
	return NULL;
}

struct keymode *keymode_named(const char *name)
{
	struct keymode *m;
	for (size_t k = 0; (m = keymode_at(k)); k++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

const struct key_action *keymode_find(const struct keymode *m, int key)
{
	if (!m || key == 0)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		for (int j = 0; j < KEYS_MAX && m->acts[i].keys[j]; j++)
			if (m->acts[i].keys[j] == key)
				return &m->acts[i];
	return NULL;
}

struct key_action *keymode_action(const struct keymode *m, const char *name)
{
	for (size_t i = 0; m && i < m->n; i++)
		if (strcmp(m->acts[i].name, name) == 0)
			return &m->acts[i];
	return NULL;
}

const char *keymode_key(const struct keymode *m, const char *name, char *buf, size_t size)
{
	const struct key_action *a = keymode_action(m, name);
	if (a && a->keys[0])
		return key_label(a->keys[0], buf, size);
	snprintf(buf, size, "?");
	return buf;
}

const char *action_key(const char *name, char *buf, size_t size)
{
	return keymode_key(&panes_keys, name, buf, size);
}

static const struct {
	const char *name;
	int key;
} key_names[] = {
    {"Tab", '\t'},        {"S-Tab", KEY_BTAB}, {"Enter", '\n'},      {"Enter", '\r'},
    {"Enter", KEY_ENTER}, {"Esc", KEY_ESC},    {"Space", ' '},       {"Up", KEY_UP},
    {"Down", KEY_DOWN},   {"Left", KEY_LEFT},  {"Right", KEY_RIGHT}, {"PgUp", KEY_PPAGE},
    {"PgDn", KEY_NPAGE},  {"Home", KEY_HOME},  {"End", KEY_END},     {"BS", KEY_BACKSPACE},
    {"BS", 127},          {"Del", KEY_DC},     {"F1", KEY_F(1)},     {"F2", KEY_F(2)},
    {"F3", KEY_F(3)},     {"F4", KEY_F(4)},    {"F5", KEY_F(5)},     {"F6", KEY_F(6)},
};

const char *key_label(int key, char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof key_names / sizeof *key_names; i++)
		if (key_names[i].key == key) {
			snprintf(buf, size, "%s", key_names[i].name);
			return buf;
		}
	if (key > 0 && key < 32)
		snprintf(buf, size, "C-%c", key + 'a' - 1);
	else if (key > 32 && key < 127)
		snprintf(buf, size, "%c", key);
	else
		snprintf(buf, size, "#%d", key);
	return buf;
}

const char *key_action_labels(const struct key_action *a, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int j = 0; j < KEYS_MAX && a->keys[j]; j++) {
		char kb[24];
		key_label(a->keys[j], kb, sizeof kb);
		bool seen = false; /* Enter is \n, \r and KEY_ENTER: name it once */
		for (int q = 0; q < j; q++) {
			char prev[24];
			seen = seen || strcmp(key_label(a->keys[q], prev, sizeof prev), kb) == 0;
		}
		if (seen)
			continue;
		int w = snprintf(buf + o, size - o, "%s%s", o ? " " : "", kb);
		if (w < 0 || (size_t)w >= size - o)
			break;
		o += (size_t)w;
	}
	return buf;
}

int key_parse(const char *s)
{
	for (size_t i = 0; i < sizeof key_names / sizeof *key_names; i++)
		if (strcasecmp(s, key_names[i].name) == 0)
			return key_names[i].key;
	if (strlen(s) == 1 && (unsigned char)s[0] > 32 && (unsigned char)s[0] < 127)
		return s[0];
	if ((strncasecmp(s, "C-", 2) == 0 && strlen(s) == 3) || (s[0] == '^' && strlen(s) == 2)) {
		int c = tolower((unsigned char)s[strlen(s) - 1]);
		if (c >= 'a' && c <= 'z')
			return CTRL(c);
	}
	return -1;
}

void keys_reset(void)
{
	/* the defaults of every mode, recorded on the first call (before any rebinding) */
	static int(*saved)[KEYS_MAX];
	static size_t n_saved;
	struct keymode *m;
	if (!saved) {
		for (size_t k = 0; (m = keymode_at(k)); k++)
			n_saved += m->n;
		saved = xcalloc(n_saved ? n_saved : 1, sizeof *saved);
		size_t o = 0;
		for (size_t k = 0; (m = keymode_at(k)); k++)
			for (size_t i = 0; i < m->n; i++)
				memcpy(saved[o++], m->acts[i].keys, sizeof *saved);
		return;
	}
	size_t o = 0;
	for (size_t k = 0; (m = keymode_at(k)); k++)
		for (size_t i = 0; i < m->n; i++)
			memcpy(m->acts[i].keys, saved[o++], sizeof *saved);
}

bool nav_move(struct view_nav *nav, size_t rows, long page, long arg)
{
	if (!nav || rows == 0)
		return false;
	long delta = arg;
	if (arg == MOVE_PAGE || arg == -MOVE_PAGE)
		delta = arg > 0 ? page : -page;
	long cur = (long)nav->cur + delta;
	cur = cur < 0 ? 0 : cur >= (long)rows ? (long)rows - 1 : cur;
	if ((size_t)cur == nav->cur)
		return false;
	nav->cur = (size_t)cur;
	return true;
}

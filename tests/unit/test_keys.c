/*
 * test_keys.c — the default key bindings of every key mode (keys.h: the panes, each pane's own,
 * the views' shared keys, each view's own, the review's picker, the command line, the help): no
 * key is bound twice in one mode (the first entry would win and the other action could not be
 * reached: the agreement view's G once took the lists' bottom), and no key of a pane's or a
 * view's own table hides a key of the table under it (panes_find and view_key try the own table
 * first), except where the own action is the shared one done the view's way (see deliberate[]).
 * Links the TUI's tables (the Makefile's TUI_UNIT rule).
 */
#include "testutil.h"

#include "../../src/tui/pane.h"
#include "../../src/tui/views.h"

/*
 * An own key may hide the shared one when it is the same action done the view's way: an entry of
 * the same name (the thumbnails' j k h l g G move in the grid, the instances by label's h l along
 * a row), or one listed here with why.
 */
static const struct {
	const char *mode;
	const char *name; /* the own entry */
	const char *why;
} deliberate[] = {
    {"review", "confirm", "Enter confirms the sample under review (there is no list to apply)"},
    {"preview", "next", "j Down Space: the next instance's image (the preview has no rows)"},
    {"preview", "prev", "k Up: the previous instance's image"},
    {"preview", "page-down", "PgDn: a page of instances further"},
    {"preview", "page-up", "PgUp: a page of instances back"},
    {"preview", "first", "g Home: the first instance"},
    {"preview", "last", "G End: the last instance"},
};

static bool is_deliberate(const struct keymode *m, const struct key_action *own,
                          const struct key_action *shared)
{
	if (strcmp(own->name, shared->name) == 0)
		return true;
	for (size_t k = 0; k < sizeof deliberate / sizeof *deliberate; k++)
		if (strcmp(deliberate[k].mode, m->name) == 0 &&
		    strcmp(deliberate[k].name, own->name) == 0)
			return true;
	return false;
}

/* Counts (and prints) the keys of m bound twice, within m or (under != NULL) also in under. */
static int collisions(const struct keymode *m, const struct keymode *under)
{
	int bad = 0;
	char kb[32];
	for (size_t i = 0; i < m->n; i++)
		for (int a = 0; a < KEYS_MAX && m->acts[i].keys[a]; a++) {
			int key = m->acts[i].keys[a];
			for (size_t j = i; j < m->n; j++)
				for (int b = j == i ? a + 1 : 0; b < KEYS_MAX && m->acts[j].keys[b];
				     b++)
					if (m->acts[j].keys[b] == key) {
						print_error("%s: %s is bound to both %s and %s\n",
						            m->name, key_label(key, kb, sizeof kb),
						            m->acts[i].name, m->acts[j].name);
						bad++;
					}
			const struct key_action *u = under ? keymode_find(under, key) : NULL;
			if (u && !is_deliberate(m, &m->acts[i], u)) {
				print_error("%s: %s (%s) hides %s.%s\n", m->name,
				            key_label(key, kb, sizeof kb), m->acts[i].name,
				            under->name, u->name);
				bad++;
			}
		}
	return bad;
}

static void test_modes_distinct(void **state)
{
	(void)state;
	int bad = 0;
	size_t n = 0;
	const struct keymode *m;
	for (size_t k = 0; (m = keymode_at(k)); k++, n++)
		bad += collisions(m, NULL);
	assert_true(n >= 5 + 2); /* the fixed modes and some pane's and view's own */
	assert_int_equal(bad, 0);
}

static void test_own_over_shared(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t p = 0; p < PANE_COUNT; p++)
		if (pane_classes[p]->keys)
			bad += collisions(pane_classes[p]->keys, &panes_keys);
	for (size_t v = 0; view_classes[v]; v++)
		if (view_classes[v]->keys)
			bad += collisions(view_classes[v]->keys, &view_keys);
	assert_int_equal(bad, 0);
}

/* The checks themselves see a duplicate: a table made to collide. */
static int nop(struct app *app, void *ctx, struct view_nav *nav, long arg)
{
	(void)app, (void)ctx, (void)nav, (void)arg;
	return 0;
}

static void test_detects(void **state)
{
	(void)state;
	struct key_action acts[] = {
	    {"one", "", nop, 0, K('x', 'y')},
	    {"two", "", nop, 0, K('z', 'x')},
	    {"three", "", nop, 0, K('w', 'w')},
	};
	struct keymode m = {"made", "", acts, 3};
	assert_int_equal(collisions(&m, NULL), 2);
	struct key_action sh[] = {{"shared", "", nop, 0, K('z')}};
	struct keymode under = {"under", "", sh, 1};
	assert_int_equal(collisions(&m, &under), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_detects),
	    cmocka_unit_test(test_modes_distinct),
	    cmocka_unit_test(test_own_over_shared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

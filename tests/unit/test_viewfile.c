/*
 * test_viewfile.c — saved views (views.ini): a book written and read back holds every value
 * as it was, value by value; bad lines are named on one line and skipped, the rest kept; a value
 * that would not read back the same is refused at writing; the state file is used when the
 * study's directory cannot be written.
 */
#include "testutil.h"

#include "nncmp/viewfile.h"

static char r0n[] = "sure", r0e[] = "conf(cnn) > 0.9", r1n[] = "threes",
            r1e[] = "gt == 3 and cnn != gt";
static struct saved_row rows[] = {{r0n, r0e}, {r1n, r1e}};

static void fill(struct saved_view *v, const char *name)
{
	memset(v, 0, sizeof *v);
	v->name = (char *)name;
	v->filter = (char *)"cnn != gt and p(mlp, \"3\") >= 0.5";
	v->sort = (char *)"conf(cnn):asc";
	v->model_a = (char *)"cnn";
	v->model_b = (char *)"mlp.v2";
	v->layer = (char *)"cnn.fc1";
	v->focus = (char *)"neurons";
	v->open = (char *)"matrix";
	v->rows = rows;
	v->n_rows = 2;
}

static void same(const char *a, const char *b)
{
	if (!a || !b)
		assert_true(a == b);
	else
		assert_string_equal(a, b);
}

static void test_round_trip(void **state)
{
	(void)state;
	char *dir = xstrdup(tu_mkdtemp());
	char *path = path_join(dir, ".nncmp/views.ini");
	struct view_book b = {0};
	struct saved_view v;
	fill(&v, "errors");
	viewbook_put(&b, &v);
	struct saved_view w = {
	    .name = (char *)VIEW_LAST, .filter = (char *)"", .sort = (char *)"index"};
	viewbook_put(&b, &w);
	struct nn_err err = {{0}};
	assert_int_equal(viewbook_save(&b, path, &err), 0);

	struct view_book r = {0};
	assert_int_equal(viewbook_load(&r, path, &err), 0);
	assert_int_equal(r.n, 2);
	const struct saved_view *x = viewbook_find(&r, "errors");
	assert_non_null(x);
	same(x->filter, v.filter);
	same(x->sort, v.sort);
	same(x->model_a, "cnn");
	same(x->model_b, "mlp.v2");
	same(x->layer, "cnn.fc1");
	same(x->focus, "neurons");
	same(x->open, "matrix");
	assert_int_equal(x->n_rows, 2);
	same(x->rows[0].name, "sure");
	same(x->rows[0].expr, "conf(cnn) > 0.9");
	same(x->rows[1].name, "threes");
	same(x->rows[1].expr, "gt == 3 and cnn != gt");
	const struct saved_view *y = viewbook_find(&r, VIEW_LAST);
	assert_non_null(y);
	same(y->filter, ""); /* "filter =" is every instance, not "unset" */
	same(y->sort, "index");
	assert_null(y->open);
	assert_null(y->model_a);
	assert_int_equal(y->n_rows, 0);
	/* replacing a view keeps one of that name */
	struct saved_view z = {.name = (char *)"errors", .sort = (char *)"id"};
	viewbook_put(&r, &z);
	assert_int_equal(r.n, 2);
	assert_null(viewbook_find(&r, "errors")->filter);
	viewbook_free(&r);
	viewbook_free(&b);
	free(path);
	tu_rm_rf(dir);
	free(dir);
}

static int read_text(struct view_book *b, const char *text, struct nn_err *err)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(f);
	int rc = viewbook_read(b, f, "views.ini", err);
	fclose(f);
	return rc;
}

static void test_bad_lines(void **state)
{
	(void)state;
	char longline[400];
	memset(longline, 'x', sizeof longline);
	memcpy(longline, "filter = ", 9);
	longline[sizeof longline - 1] = '\0';
	char *text = xasprintf("[ok]\nsort = id\ncolour = red\nmodels = onlyone\n%s\n"
	                       "row = bad name = gt == 1\nrow = r1 = gt == 1\nrow = r1 = gt == 2\n"
	                       "[no spaces]\nfilter = gt == 1\n[fine]\nfilter = gt == 2\n",
	                       longline);
	struct view_book b = {0};
	struct nn_err err = {{0}};
	assert_int_equal(read_text(&b, text, &err), -1);
	assert_null(strchr(err.msg, '\n'));
	assert_non_null(strstr(err.msg, "views.ini: line 3: unknown key 'colour'"));
	assert_non_null(strstr(err.msg, "line 4: models wants two model names"));
	assert_non_null(strstr(err.msg, "line 5: longer than 198 characters"));
	assert_non_null(strstr(err.msg, "and 2 more (ignored)"));
	const struct saved_view *v = viewbook_find(&b, "ok");
	assert_non_null(v);
	same(v->sort, "id");
	assert_null(v->filter);  /* the long line was skipped whole */
	assert_null(v->model_a); /* and so was the bad models line */
	assert_int_equal(v->n_rows, 1);
	same(v->rows[0].expr, "gt == 1"); /* the first r1 is kept */
	assert_null(viewbook_find(&b, "no spaces"));
	assert_non_null(viewbook_find(&b, "fine"));
	same(viewbook_find(&b, "fine")->filter, "gt == 2");
	viewbook_free(&b);
	free(text);
	/* a syntax error, named by its line */
	assert_int_equal(read_text(&b, "[a]\nsort = id\nnot a key value line\n", &err), -1);
	assert_non_null(strstr(err.msg, "line 3: syntax error"));
	same(viewbook_find(&b, "a")->sort, "id");
	viewbook_free(&b);
}

static void test_refused_values(void **state)
{
	(void)state;
	struct view_book b = {0};
	struct saved_view v = {.name = (char *)"x", .filter = (char *)"gt == 1 ; comment"};
	viewbook_put(&b, &v);
	char buf[4096];
	FILE *f = fmemopen(buf, sizeof buf, "w");
	struct nn_err err = {{0}};
	assert_int_equal(viewbook_write(&b, f, &err), -1);
	fclose(f);
	assert_non_null(strstr(err.msg, "starts a comment"));
	viewbook_free(&b);
	/* "filter = ;x" would read back as an empty filter (fuzz_viewfile found it) */
	struct saved_view u = {.name = (char *)"u", .filter = (char *)";cnn != gt"};
	viewbook_put(&b, &u);
	f = fmemopen(buf, sizeof buf, "w");
	assert_int_equal(viewbook_write(&b, f, &err), -1);
	fclose(f);
	assert_non_null(strstr(err.msg, "starts a comment"));
	viewbook_free(&b);
	char big[300];
	memset(big, 'a', sizeof big);
	big[sizeof big - 1] = '\0';
	struct saved_view w = {.name = (char *)"y", .sort = big};
	viewbook_put(&b, &w);
	f = fmemopen(buf, sizeof buf, "w");
	assert_int_equal(viewbook_write(&b, f, &err), -1);
	fclose(f);
	assert_non_null(strstr(err.msg, "too long"));
	viewbook_free(&b);
	/* "sort = " and 191 characters is the longest line that reads back; 192 is refused
	 * (a 199-character line filled inih's buffer: fuzz_viewfile found it) */
	for (int extra = 0; extra < 2; extra++) {
		big[191 + extra] = '\0';
		struct saved_view e = {.name = (char *)"e", .sort = big};
		viewbook_put(&b, &e);
		f = fmemopen(buf, sizeof buf, "w");
		int rc = viewbook_write(&b, f, &err);
		fclose(f);
		assert_int_equal(rc, extra ? -1 : 0);
		if (!extra) {
			struct view_book r = {0};
			assert_int_equal(read_text(&r, buf, &err), 0);
			assert_int_equal(strlen(viewbook_find(&r, "e")->sort), 191);
			viewbook_free(&r);
		}
		viewbook_free(&b);
		big[191 + extra] = 'a';
	}
	assert_true(viewbook_name_ok("a-b_c.1"));
	assert_false(viewbook_name_ok(""));
	assert_false(viewbook_name_ok(VIEW_LAST));
	assert_false(viewbook_name_ok("has space"));
	assert_false(viewbook_name_ok("01234567890123456789012345678901234567890"));
}

static void test_path(void **state)
{
	(void)state;
	char *dir = xstrdup(tu_mkdtemp());
	char *study = path_join(dir, "study");
	char *state_dir = path_join(dir, "state");
	assert_int_equal(mkdir(study, 0755), 0);
	setenv("XDG_STATE_HOME", state_dir, 1);
	char *alt = NULL;
	char *p = viewbook_path(study, &alt);
	char *want = path_join(study, ".nncmp/views.ini");
	assert_string_equal(p, want);
	assert_null(alt);
	free(p);
	if (geteuid() != 0) { /* root writes anywhere: the read-only case needs another user */
		assert_int_equal(chmod(study, 0555), 0);
		p = viewbook_path(study, &alt);
		assert_non_null(strstr(p, "/state/nncmp/views/"));
		assert_null(alt);
		free(p);
		chmod(study, 0755);
	}
	free(want);
	free(study);
	free(state_dir);
	tu_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_bad_lines),
	    cmocka_unit_test(test_refused_values),
	    cmocka_unit_test(test_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * export_report.c — :export-report PATH: `nncmp report --html` (cli's report_html_selection,
 * the same code) over the instances the panes show, written whole or not at all.
 */
#include "views.h"

#include <stdlib.h>

#include "../cli/cli.h"

int report_export(struct app *app, const char *path, bool force)
{
	if (!path || !*path) {
		app_message(app, true,
		            ":export-report wants a path, e.g. :export-report report.html");
		return REDRAW_STATUS;
	}
	size_t n, images = 0;
	uint32_t *idx = view_sel_sorted(app, &n);
	struct nn_err err = {{0}};
	int rc = report_html_selection(app->s, app->filter[0] ? app->filter : NULL, idx, n, path,
	                               force, &images, &err);
	free(idx);
	if (rc != EXIT_OK)
		app_message(app, true, "%s%s", err.msg,
		            force ? "" : "; :export-report! replaces it");
	else
		app_message(app, false, "wrote %.200s (HTML, %zu instance%s, %zu image%s)", path, n,
		            n == 1 ? "" : "s", images, images == 1 ? "" : "s");
	return REDRAW_STATUS;
}

/*
 * views.h — what the views reached by keys (views.c and view_*.c) share beyond tui_int.h: the
 * view classes, and small helpers for their prepare() and draw().
 *
 * Each view_*.c defines one struct view_class; views.c lists them in view_classes[] and runs
 * them (prepare on the UI thread, compute on the worker, then draw/key/enter on the UI thread).
 * Helpers that return memory say so; the caller frees it.
 */
#ifndef NNCMP_TUI_VIEWS_H
#define NNCMP_TUI_VIEWS_H

#include "tui_int.h"

extern const struct view_class view_words, view_matrix, view_weights, view_projection, view_models,
    view_snapshot, view_review, view_overview, view_grid, view_preview, view_dups, view_patches;

/* The selection as a strictly increasing list (caller frees); *n gets its length. */
uint32_t *view_sel_sorted(const struct app *app, size_t *n);

/*
 * The neuron pane's layer (app->lm, app->ll) when it has activations; else the first layer of
 * any model that has them. Returns false with err set when the study has none.
 */
bool view_layer(const struct app *app, int *m, int *l, struct nn_err *err);

/* Keeps nav->cur below rows and nav->top such that the cursor shows in `visible` rows. */
void view_clamp(struct view_nav *nav, size_t rows, size_t visible);

/* The heat role (ROLE_HEAT_0..5) of v on the scale lo..hi (HEAT_0 for NaN). */
enum role view_heat(double v, double lo, double hi);

#endif

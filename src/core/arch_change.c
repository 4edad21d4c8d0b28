/*
 * arch_change.c — an architecture coloured by the weight change against another snapshot of the
 * model (CNNComparator's network view). The numbers are weights_diff_models()'s (weights.c, as
 * `nncmp diff` and the TUI's snapshot view compute them); this file only maps them onto the
 * architecture's layers and says why a layer has none.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nncmp/arch.h"

static void clear_change(struct arch *a)
{
	for (size_t i = 0; i < a->n_layers; i++) {
		free(a->layers[i].chg_why);
		a->layers[i].chg_why = NULL;
		a->layers[i].chg = ARCH_CHG_NONE;
		a->layers[i].change = 0;
		a->layers[i].chg_nonfinite = 0;
	}
	free(a->vs);
	a->vs = NULL;
	a->largest = -1;
}

/* Sets the change of ly from the compared layer l. */
static void from_layer(struct arch_layer *ly, const struct wdiff_layer *l)
{
	ly->chg_nonfinite = l->n_nonfinite;
	if (l->n == 0) {
		ly->chg = ARCH_CHG_NULL;
		ly->chg_why = xstrdup("no finite weight pair (NaN or infinite)");
	} else if (!(l->norm_a > 0)) {
		ly->chg = ARCH_CHG_NULL;
		ly->chg_why = xstrdup(l->l2 == 0 ? "all zero in both" : "new: ||A|| = 0");
	} else if (!isfinite(l->relative)) {
		/* finite weights whose squares overflow: say so rather than print inf */
		ly->chg = ARCH_CHG_NULL;
		ly->chg_why = xstrdup("the norms overflow a double");
	} else {
		ly->chg = ARCH_CHG_VALUE;
		ly->change = l->relative;
	}
}

/* Why layer `name` of the other model is not comparable. */
static char *skip_reason(const struct model *other, const struct wdiff *d, const char *name)
{
	int j = study_layer_index(other, name);
	if (j < 0)
		return xasprintf("%s has no layer of this name", other->name);
	if (!other->layers[j].weights_path)
		return xasprintf("%s has no weights for it", other->name);
	for (size_t k = 0; k < d->n_skipped; k++)
		if (strcmp(d->skipped[k].name, name) == 0)
			return xasprintf("different shape: %s",
			                 strncmp(d->skipped[k].reason, "shape ", 6) == 0
			                     ? d->skipped[k].reason + 6
			                     : d->skipped[k].reason);
	return xstrdup("not compared");
}

void arch_set_change(struct arch *a, const struct model *other, const struct wdiff *d)
{
	clear_change(a);
	a->vs = xstrdup(other->name);
	for (size_t i = 0; i < a->n_layers; i++) {
		struct arch_layer *ly = &a->layers[i];
		if (!ly->weights)
			continue;
		const struct wdiff_layer *l = NULL;
		for (size_t k = 0; k < d->n_layers && !l; k++)
			if (strcmp(d->layers[k].name, ly->name) == 0)
				l = &d->layers[k];
		if (l) {
			from_layer(ly, l);
		} else {
			ly->chg = ARCH_CHG_SKIP;
			ly->chg_why = skip_reason(other, d, ly->name);
		}
		if (ly->chg == ARCH_CHG_VALUE &&
		    (a->largest < 0 || ly->change > a->layers[a->largest].change))
			a->largest = (long)i;
	}
}

int arch_compare(struct arch *a, const struct model *self, const struct model *other,
                 struct nn_err *err)
{
	struct wdiff d;
	/* one histogram bin: only the norms are wanted */
	if (weights_diff_models(self, other, NULL, 1, WDIFF_DECADES_DEFAULT, &d, err) != 0)
		return -1;
	arch_set_change(a, other, &d);
	weights_diff_free(&d);
	return 0;
}

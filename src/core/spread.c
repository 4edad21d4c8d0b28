/* spread.c — the spread of per-class recall across models (metrics_class_spread, metrics.h). */
#include "nncmp/metrics.h"

#include <math.h>
#include <stdlib.h>

static int cmp_spread(const void *pa, const void *pb)
{
	const struct class_spread *a = pa, *b = pb;
	double x = a->hi - a->lo, y = b->hi - b->lo;
	if (isnan(x) != isnan(y))
		return isnan(x) ? 1 : -1;
	if (x != y && !isnan(x))
		return x > y ? -1 : 1;
	return a->c < b->c ? -1 : a->c > b->c;
}

void metrics_class_spread(const struct model_metrics *mm, size_t n_models, size_t n_classes,
                          struct class_spread *out)
{
	for (size_t k = 0; k < n_classes; k++) {
		struct class_spread *sp = &out[k];
		sp->c = k;
		sp->lo = sp->hi = NAN;
		sp->at_lo = sp->at_hi = 0;
		sp->support = n_models ? mm[0].per_class[k].support : 0;
		if (sp->support == 0)
			continue;
		for (size_t m = 0; m < n_models; m++) {
			double r = mm[m].per_class[k].recall;
			if (isnan(sp->lo) || r < sp->lo) {
				sp->lo = r;
				sp->at_lo = m;
			}
			if (isnan(sp->hi) || r > sp->hi) {
				sp->hi = r;
				sp->at_hi = m;
			}
		}
	}
	qsort(out, n_classes, sizeof *out, cmp_spread);
}

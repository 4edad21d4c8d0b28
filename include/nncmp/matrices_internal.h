/*
 * matrices_internal.h — choosing the path of matrices_means(), for src/core/matrices.c and its
 * unit test (tests/unit/test_matrices.c) only; everyone else calls matrices_means(), which picks
 * the path itself. The public interface is matrices.h.
 */
#ifndef NNCMP_MATRICES_INTERNAL_H
#define NNCMP_MATRICES_INTERNAL_H

#include "nncmp/matrices.h"

enum matrices_path {
	MATRICES_AUTO,      /* MATRICES_PARTITION when the subsets are one, else MATRICES_GEMM */
	MATRICES_GEMM,      /* Sᵀ·A per block of rows: any subsets */
	MATRICES_PARTITION, /* each row added into its subset's sums: disjoint subsets only */
};

/*
 * matrices_means() by the given path. Besides its errors, MATRICES_PARTITION fails when an
 * instance is in two subsets.
 */
int matrices_means_path(const struct npy *act, const struct matrices_subsets *subsets,
                        enum matrices_path path, struct nn_progress *prog,
                        struct matrices_means *out, struct nn_err *err);

#endif

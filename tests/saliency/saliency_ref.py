#!/usr/bin/python3
"""saliency_ref.py: the NumPy reference of nncmp's saliency similarity (include/nncmp/saliency.h).

Written apart from the C code: the SSIM image is computed over the whole map with scipy-style
"reflect" edges (np.pad mode="symmetric") and box sums from cumulative sums, then cropped, as
skimage.metrics.structural_similarity does with its defaults for 2-D float images and
data_range=1 (7x7 uniform window, K1 0.01, K2 0.03, sample covariance).

  saliency_ref.py header OUT.h   writes the cmocka test's inputs and expected values
  saliency_ref.py skimage        checks ssim() against scikit-image once (python3-skimage)
As a module (tests/saliency/run.sh): normalise, l1, ssim.
"""
import sys

import numpy as np

WIN = 7


def normalise(m):
    m = np.asarray(m, dtype=np.float64)
    mx = np.nanmax(m) if m.size else 0.0
    if not (np.isfinite(mx) and mx > 0):
        return np.where(np.isnan(m), m, 0.0)
    return m / mx


def l1(a, b):
    return float(np.mean(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def _box(x):
    """Mean over a WIN x WIN window at every pixel, edges mirrored (d c b a | a b c d)."""
    p = WIN // 2
    x = np.pad(x, p, mode="symmetric")
    c = np.cumsum(np.cumsum(x, axis=0), axis=1)
    c = np.pad(c, ((1, 0), (1, 0)))
    s = c[WIN:, WIN:] - c[:-WIN, WIN:] - c[WIN:, :-WIN] + c[:-WIN, :-WIN]
    return s / (WIN * WIN)


def ssim(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if min(a.shape) < WIN:
        return float("nan")
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    cov = WIN * WIN / (WIN * WIN - 1.0)
    ux, uy = _box(a), _box(b)
    vx = cov * (_box(a * a) - ux * ux)
    vy = cov * (_box(b * b) - uy * uy)
    vxy = cov * (_box(a * b) - ux * uy)
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    p = (WIN - 1) // 2
    return float(s[p:-p, p:-p].mean())


def _cases():
    """Pairs of maps for the unit test: random, smooth, shifted, constant, too small, zero."""
    rng = np.random.default_rng(17)
    out = []
    a = rng.random((9, 11)); b = rng.random((9, 11))
    out.append(("random", a, b))
    y, x = np.mgrid[0:12, 0:10]
    g1 = np.exp(-((y - 5) ** 2 + (x - 4) ** 2) / 8.0)
    g2 = np.exp(-((y - 6) ** 2 + (x - 6) ** 2) / 6.0)
    out.append(("blobs", g1 * 3.5, g2 * 0.25))
    out.append(("same", g1, g1 * 2))
    out.append(("seven", rng.random((7, 7)), rng.random((7, 7))))
    out.append(("constant", np.full((8, 8), 0.5), rng.random((8, 8))))
    out.append(("zero", np.zeros((8, 8)), rng.random((8, 8))))
    out.append(("small", rng.random((5, 6)), rng.random((5, 6))))
    return out


def _carr(v):
    return "{" + ", ".join(repr(float(x)) for x in np.ravel(v)) + "}"


def header(path):
    lines = ["/* saliency_oracle.h — written by tests/saliency/saliency_ref.py header: do not edit. */",
             "/* clang-format off */",
             "struct sal_case {", "\tconst char *name;", "\tsize_t h, w;",
             "\tconst double *a, *b;", "\tdouble l1, ssim; /* of the max-normalised maps */",
             "};"]
    for name, a, b in _cases():
        lines.append("static const double %s_a[] = %s;" % (name, _carr(a)))
        lines.append("static const double %s_b[] = %s;" % (name, _carr(b)))
    lines.append("static const struct sal_case sal_cases[] = {")
    for name, a, b in _cases():
        na, nb = normalise(a), normalise(b)
        s = ssim(na, nb)
        lines.append("\t{\"%s\", %d, %d, %s_a, %s_b, %r, %s}," % (
            name, a.shape[0], a.shape[1], name, name, l1(na, nb),
            "NAN" if np.isnan(s) else repr(s)))
    lines.append("};")
    lines.append("/* clang-format on */")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def check_skimage():
    from skimage.metrics import structural_similarity
    worst = 0.0
    for name, a, b in _cases():
        if min(a.shape) < WIN:
            continue
        na, nb = normalise(a), normalise(b)
        ref = structural_similarity(na, nb, data_range=1.0)
        d = abs(ref - ssim(na, nb))
        worst = max(worst, d)
        print("%-9s skimage %.15f  ours %.15f  diff %.2e" % (name, ref, ssim(na, nb), d))
    print("largest difference %.2e" % worst)
    return 0 if worst < 1e-12 else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "header":
        header(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "skimage":
        sys.exit(check_skimage())
    else:
        sys.exit(__doc__)

#!/usr/bin/python3
"""Writes tests/data/weights/: weight matrices made by NumPy and what NumPy computes from them,
the oracle for nncmp's weights module (src/core/weights.c). Run with Debian's python3 (numpy):

    /usr/bin/python3 tools/make_weight_fixtures.py [OUTDIR]

Snapshot comparison (diff_*.npy, bias_*.npy): for a pair of matrices A, B the Frobenius distance
||A - B||, ||A||, ||B||, the relative distance, the largest |dw|, and the histogram of
|dw| = |a - b| split by the relative change d(a, b) = 2|a - b| / (|a| + |b|) (0 when a = b = 0)
into the levels [0, .1), [.1, .5), [.5, 1), [1, 2]. Bin edges: e0 = 0 and, for j = 1..K,
e_j = top * 10^(-D (K - j) / (K - 1)) with top = the largest |dw| (K log-spaced edges over D decades
below it; bin 0 = [0, e1) holds unchanged and negligible changes, the last bin is closed). Pairs
where either value is NaN or infinite are left out of everything and counted. Every quantity is
computed in float64 from the stored values (float16 and float32 widen exactly).

Planted cases: zeros on both sides (d = 0), sign flips (d = 2), a zero on one side only (d = 2),
|dw| exactly on a bin edge and one ulp below it (edge_*.npy, float64: an edge belongs to the bin
above it), equal values (|dw| = 0), d exactly 0.1, 0.5 and 1 (the upper level takes them), a NaN.

Grid summaries (grid_*.npy): the matrix cut into R' x C' blocks, R' = min(R, rows), C' = min(C,
cols); block i of n items in g blocks covers [floor(i n / g), floor((i + 1) n / g)). "peak" is the
finite value of largest magnitude in the block (ties: the larger value), "mean" the mean of its
finite values (NaN when none). Scale: the 99th percentile of |cell| over finite cells (numpy's
default linear interpolation), or the largest |cell| when that is 0. A 1-D vector is one row; a
conv layer's (out, in, kh, kw) kernels (conv_*.npy) are the matrix out x in*kh*kw.
Statistics over finite values: min, max, mean, std (population, ddof = 0), fraction of zeros.
"""
import json
import os
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/weights"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240611)
LEVELS = [0.0, 0.1, 0.5, 1.0, 2.0]


def save(name, a):
    np.save(os.path.join(OUT, name), a)
    back = np.load(os.path.join(OUT, name))
    assert back.dtype == a.dtype and back.shape == a.shape
    assert back.flags["F_CONTIGUOUS"] == a.flags["F_CONTIGUOUS"]


# --- snapshot pairs -------------------------------------------------------------------------

a = (rng.standard_normal((6, 10)) * 0.25).astype(np.float32)
b = (a + rng.standard_normal((6, 10)) * 0.05).astype(np.float32)
# zeros on both sides: d = 0, |dw| = 0
a[0, 0:3] = 0
b[0, 0:3] = 0
# sign flips: d = 2
a[1, 0], b[1, 0] = 0.5, -0.5
a[1, 1], b[1, 1] = -0.125, 0.25
# a zero on one side only: d = 2
a[1, 2], b[1, 2] = 0.0, 0.375
a[1, 3], b[1, 3] = -0.75, 0.0
# equal values: d = 0, |dw| = 0
b[2, 0:4] = a[2, 0:4]
# d exactly at the level boundaries (the upper level takes them): 4/40 = 0.1, 4/8 = 0.5, 4/4 = 1
s = 2.0**-6
a[3, 0], b[3, 0] = 21 * s, 19 * s
a[3, 1], b[3, 1] = 5 * s, 3 * s
a[3, 2], b[3, 2] = -3 * s, -1 * s
# the largest change, so that top is a value a float16 also holds exactly
a[4, 4], b[4, 4] = 1.5, -0.5
# a NaN: the pair is left out
b[5, 9] = np.nan
for x, y in [(21 * s, 19 * s), (5 * s, 3 * s), (3 * s, 1 * s)]:
    print("boundary d =", 2 * abs(x - y) / (abs(x) + abs(y)))

a16 = a.astype(np.float16)
b16 = b.astype(np.float16)
bias_a = (rng.standard_normal(7) * 0.1).astype(np.float32)
bias_b = bias_a.copy()
bias_b[[1, 4]] += np.float32(0.02)
bias_b[6] = -bias_a[6]
bias_a[0] = bias_b[0] = 0

save("diff_a.npy", a)
save("diff_b.npy", b)
save("diff_a_f2.npy", a16)
save("diff_b_f2.npy", b16)
save("diff_a_F.npy", np.asfortranarray(a))
save("diff_b_F.npy", np.asfortranarray(b))
save("diff_t.npy", np.ascontiguousarray(a.T))  # (10, 6): a shape mismatch
save("bias_a.npy", bias_a)
save("bias_b.npy", bias_b)
save("same.npy", a)  # identical to diff_a: every |dw| is 0

# float64 vectors whose |dw| fall exactly on the bin edges of 5 bins over 4 decades, and just
# below them: each edge belongs to the bin above it
edge_top = 2.0
edges5 = [edge_top * 10.0 ** (-4.0 * (5 - j) / 4) for j in range(1, 5)]
ea = [1.5] + edges5 + [np.nextafter(e, 0) for e in edges5] + [0.0, -0.25]
eb = [-0.5] + [0.0] * 8 + [0.0, -0.25]
save("edge_a.npy", np.array(ea, dtype="<f8"))
save("edge_b.npy", np.array(eb, dtype="<f8"))


def diff_expected(x, y, bins, decades):
    x = x.astype(np.float64).ravel()
    y = y.astype(np.float64).ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    nonfinite = int((~ok).sum())
    x, y = x[ok], y[ok]
    dw = np.abs(x - y)
    den = np.abs(x) + np.abs(y)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(den == 0, 0.0, 2 * np.abs(x - y) / den)
    level = np.searchsorted(np.array(LEVELS[1:4]), d, side="right")
    top = float(dw.max()) if dw.size else 0.0
    edges = [0.0]
    for j in range(1, bins + 1):
        if j == bins or bins == 1:
            edges.append(top)
        else:
            edges.append(top * 10.0 ** (-decades * (bins - j) / (bins - 1)))
    e = np.array(edges)
    if top == 0:
        binidx = np.zeros(dw.size, dtype=np.int64)
    else:
        binidx = np.minimum(np.searchsorted(e, dw, side="right") - 1, bins - 1)
    hist = np.zeros((4, bins), dtype=np.int64)
    np.add.at(hist, (level, binidx), 1)
    l2 = float(np.sqrt(np.sum(dw * dw)))
    na = float(np.sqrt(np.sum(x * x)))
    nb = float(np.sqrt(np.sum(y * y)))
    rel = l2 / na if na > 0 else (0.0 if l2 == 0 else "inf")
    return {
        "n": int(x.size),
        "nonfinite": nonfinite,
        "l2": l2,
        "norm_a": na,
        "norm_b": nb,
        "relative": rel,
        "max_abs_delta": top,
        "level_count": [int(c) for c in np.bincount(level, minlength=4)],
        "bin_edges": edges,
        "hist": hist.tolist(),
    }


diff_cases = {}
for name_a, name_b in [("diff_a.npy", "diff_b.npy"), ("diff_a_f2.npy", "diff_b_f2.npy"),
                       ("diff_a_F.npy", "diff_b_F.npy"), ("diff_a.npy", "diff_b_F.npy"),
                       ("diff_a_F.npy", "diff_b_f2.npy"), ("bias_a.npy", "bias_b.npy"),
                       ("diff_a.npy", "same.npy"), ("edge_a.npy", "edge_b.npy")]:
    xa = np.load(os.path.join(OUT, name_a))
    xb = np.load(os.path.join(OUT, name_b))
    for bins, decades in [(16, 4.0), (5, 2.0), (5, 4.0), (1, 4.0)]:
        diff_cases[f"{name_a} {name_b} {bins} {decades:g}"] = diff_expected(xa, xb, bins, decades)

# --- grids ----------------------------------------------------------------------------------

w = (rng.standard_normal((37, 53)) * 0.3).astype(np.float32)
w[w > 0.9] = 0.9  # keep the planted values below the largest
w[w < -0.9] = -0.9
w[10:12, 20:30] = 0  # zeros
w[1, 1], w[2, 2] = -3.0, 3.0  # a tie in block (0, 0): the larger value wins
w[8, 8] = -3.5  # block (1, 1)
w[30, 50] = np.nan  # left out
w[36, 0] = np.inf  # left out
bvec = (rng.standard_normal(29) * 0.2).astype(np.float32)
bvec[3] = 0

# a convolution's (out, in, kh, kw) kernels: read as the matrix out x in*kh*kw (C order), as
# npy.h promises for arrays of more than two dimensions
conv_a = (rng.standard_normal((5, 4, 3, 3)) * 0.2).astype(np.float32)
conv_b = (conv_a + rng.standard_normal((5, 4, 3, 3)) * 0.05).astype(np.float32)
conv_b[0, 0, 0, 0] = -conv_a[0, 0, 0, 0]  # a sign flip: d = 2
conv_b[1, 2] = conv_a[1, 2]  # a whole tile unchanged: d = 0
save("conv_a.npy", conv_a)
save("conv_b.npy", conv_b)

save("grid_w.npy", w)
save("grid_w_F.npy", np.asfortranarray(w))
save("grid_w_f2.npy", w.astype(np.float16))
save("grid_bias.npy", bvec)


def blocks(n, g):
    return [(i * n // g, (i + 1) * n // g) for i in range(g)]


def grid_expected(m, gr, gc):
    m = m.astype(np.float64)
    if m.ndim == 1:
        m = m[None, :]
    elif m.ndim > 2:
        m = m.reshape(m.shape[0], -1)
    rows, cols = m.shape
    gr, gc = min(gr, rows), min(gc, cols)
    peak = np.full((gr, gc), np.nan)
    mean = np.full((gr, gc), np.nan)
    for i, (r0, r1) in enumerate(blocks(rows, gr)):
        for j, (c0, c1) in enumerate(blocks(cols, gc)):
            blk = m[r0:r1, c0:c1]
            v = blk[np.isfinite(blk)]
            if v.size:
                big = np.abs(v).max()
                peak[i, j] = v[np.abs(v) == big].max()
                mean[i, j] = v.mean()
    fin = m[np.isfinite(m)]

    def scale(g):
        c = np.abs(g[np.isfinite(g)])
        if c.size == 0:
            return 0.0
        p = float(np.percentile(c, 99))
        return p if p > 0 else float(c.max())

    def lst(g):
        return [[None if not np.isfinite(v) else float(v) for v in row] for row in g]

    return {
        "grid_rows": gr,
        "grid_cols": gc,
        "min": float(fin.min()),
        "max": float(fin.max()),
        "mean": float(fin.mean()),
        "std": float(fin.std()),
        "frac_zero": float((fin == 0).sum() / fin.size),
        "nonfinite": int(m.size - fin.size),
        "peak": lst(peak),
        "peak_scale": scale(peak),
        "mean_grid": lst(mean),
        "mean_scale": scale(mean),
    }


grid_cases = {}
for name in ["grid_w.npy", "grid_w_F.npy", "grid_w_f2.npy", "grid_bias.npy", "diff_a_f2.npy",
             "conv_a.npy"]:
    m = np.load(os.path.join(OUT, name))
    for gr, gc in [(5, 7), (64, 64), (1, 1), (4, 6), (2, 100)]:
        grid_cases[f"{name} {gr} {gc}"] = grid_expected(m, gr, gc)

for bins, decades in [(16, 4.0), (5, 2.0), (5, 4.0), (1, 4.0)]:
    diff_cases[f"conv_a.npy conv_b.npy {bins} {decades:g}"] = diff_expected(conv_a, conv_b, bins,
                                                                           decades)

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump({"diff": diff_cases, "grid": grid_cases}, f, sort_keys=True)
print(f"{len(diff_cases)} diff and {len(grid_cases)} grid cases in {OUT}")

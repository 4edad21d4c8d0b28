#!/usr/bin/python3
"""Writes tests/data/matrices/: small activation matrices and what NumPy computes from them, the
oracle for nncmp's subset means, neuron correlation, CKA and PCA (src/core/matrices.c,
similarity.c, project.c).

Files: x.npy (300 x 6 float32: correlated neurons with offsets, a constant neuron 5, a NaN and two
infinities), x16.npy (x as float16), xq.npy (x times a random orthogonal matrix times 2.5, for
CKA's invariances), y.npy (300 x 4 float32: partly x's neurons, one NaN), labels.npy (5 classes,
class 4 holds one instance, whose neuron 0 is infinite), xl.npy and yl.npy (13000 x 5 and x 3
float32, offsets up to 1e3 against unit spread, scattered non-finite rows: more rows than one span
of similarity.c's pass, so its threads and their float32 spans are exercised), and expected.json. Everything expected is
computed in float64 from the values as stored. NaN is written as null.

Run with Debian's python3 (numpy): /usr/bin/python3 tools/make_matrix_fixtures.py [OUT]
"""
import json
import os
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/matrices"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240611)

N, H1, H2, C = 300, 6, 4, 5
latent = rng.normal(size=(N, 3))
x = latent @ rng.normal(size=(3, H1)) + 0.4 * rng.normal(size=(N, H1))
x += np.array([5.0, -2.0, 0.0, 1.0, 10.0, 0.0])  # offsets: centring must matter
x[:, 5] = 0.5  # a constant neuron: its correlation is undefined
x = x.astype(np.float32)
x[7, 2] = np.nan
x[40, 0] = np.inf
x[41, 3] = -np.inf
y = latent @ rng.normal(size=(3, H2)) + 0.5 * rng.normal(size=(N, H2))
y[:, 3] = -2.0 * x[:, 1] + 0.3 * rng.normal(size=N)  # strongly anti-correlated with x[:, 1]
y = y.astype(np.float32)
y[100, 1] = np.nan
x16 = x.astype(np.float16)
q, _ = np.linalg.qr(rng.normal(size=(H1, H1)))
xq = ((x.astype(np.float64) @ q) * 2.5).astype(np.float32)  # non-finite rows stay non-finite

labels = rng.integers(0, C - 1, size=N).astype(np.int64)
labels[40] = C - 1  # the only instance of class 4, with x[40, 0] = inf

for name, a in [("x", x), ("x16", x16), ("xq", xq), ("y", y), ("labels", labels)]:
    np.save(os.path.join(OUT, name + ".npy"), a)


def clean(v):
    """Nested lists of floats with NaN as None (JSON has no NaN)."""
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, list):
        return [clean(e) for e in v]
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def subset_means(a, subsets):
    a = a.astype(np.float64)
    fin = np.isfinite(a)
    means, valid, nonfinite, member = [], [], 0, np.zeros(len(a), bool)
    for idx in subsets:
        sub, ok = a[idx], fin[idx]
        cnt = ok.sum(axis=0)
        tot = np.where(ok, sub, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            means.append(np.where(cnt > 0, tot / cnt, np.nan))
        valid.append(cnt.tolist())
        member[idx] = True
    nonfinite = int((~fin[member]).sum())
    return np.array(means), valid, nonfinite


def order(row):
    return sorted(range(len(row)), key=lambda j: (np.isnan(row[j]), -row[j] if not np.isnan(row[j]) else 0, j))


def usable(*mats):
    ok = np.ones(N, bool)
    for m in mats:
        ok &= np.isfinite(m.astype(np.float64)).all(axis=1)
    return ok


def corr(a, b, idx):
    a, b = a.astype(np.float64)[idx], b.astype(np.float64)[idx]
    ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    a, b = a[ok], b[ok]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(a, b, rowvar=False)[: a.shape[1], a.shape[1]:]
    return r, int(ok.sum())


def top(r, k, by_abs):
    out = []
    for row in r:
        key = np.abs(row) if by_abs else row
        js = [j for j in range(len(row)) if not np.isnan(row[j])]
        js.sort(key=lambda j: (-key[j], j))
        out.append([[j, float(row[j])] for j in js[:k]])
    return out


def cka(a, b, idx):
    """Linear CKA, Kornblith et al. 2019, eq. for centred X, Y."""
    a, b = a.astype(np.float64)[idx], b.astype(np.float64)[idx]
    ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    a, b = a[ok] - a[ok].mean(0), b[ok] - b[ok].mean(0)
    return float(np.linalg.norm(b.T @ a) ** 2 / (np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b)))


def pca(a, idx):
    a = a.astype(np.float64)[idx]
    ok = np.isfinite(a).all(1)
    mean = a[ok].mean(0)
    cov = np.cov(a[ok], rowvar=False)
    w, v = np.linalg.eigh(cov)
    order_ = np.argsort(w)[::-1][:2]
    axes = v[:, order_].T.copy()
    for ax in axes:
        if ax[np.argmax(np.abs(ax))] < 0:
            ax *= -1
    pts = (a - mean) @ axes.T
    pts[~ok] = np.nan
    return {
        "axes": axes.tolist(),
        "variance": w[order_].tolist(),
        "explained": (w[order_] / np.trace(cov)).tolist(),
        "mean": mean.tolist(),
        "points": clean(pts),
        "used": int(ok.sum()),
    }


all_idx = np.arange(N)
classes = [np.flatnonzero(labels == c) for c in range(C)]
f1 = np.flatnonzero(np.nan_to_num(x[:, 0].astype(np.float64), posinf=1e9) > 5.0)
f2 = np.flatnonzero(all_idx % 3 == 0)
rest = np.setdiff1d(all_idx, f1)

exp = {"n": N, "f1": f1.tolist(), "f2": f2.tolist()}
for name, a in [("x", x), ("x16", x16)]:
    m, valid, nonfinite = subset_means(a, classes)
    exp[f"class_means_{name}"] = {
        "means": clean(m),
        "valid": valid,
        "size": [len(c) for c in classes],
        "nonfinite": nonfinite,
        "order": [order(row) for row in m],
    }
m, valid, nonfinite = subset_means(x, [f1, f2, rest])
exp["filter_means_x"] = {
    "means": clean(m),
    "valid": valid,
    "size": [len(f1), len(f2), len(rest)],
    "nonfinite": nonfinite,
    "order": [order(row) for row in m],
}

r, used = corr(x, y, all_idx)
exp["corr_xy"] = {"r": clean(r), "used": used, "top3": top(r, 3, False), "top2_abs": top(r, 2, True)}
r, used = corr(x, y, f1)
exp["corr_xy_f1"] = {"r": clean(r), "used": used}
r, used = corr(x16, y, all_idx)
exp["corr_x16y"] = {"r": clean(r), "used": used}
exp["cka"] = {
    "xy": cka(x, y, all_idx),
    "xqy": cka(xq, y, all_idx),
    "x16y": cka(x16, y, all_idx),
    "xy_f1": cka(x, y, f1),
}
# the long pair: several spans of rows (similarity.c), large means, non-finite rows
rng2 = np.random.default_rng(20261202)
NL = 13000
lat = rng2.normal(size=(NL, 2))
xl = lat @ rng2.normal(size=(2, 5)) + 0.3 * rng2.normal(size=(NL, 5)) + np.array([1e3, -500, 3, 0, 250])
yl = lat @ rng2.normal(size=(2, 3)) + 0.6 * rng2.normal(size=(NL, 3)) + np.array([-1e3, 40, 7])
xl, yl = xl.astype(np.float32), yl.astype(np.float32)
xl[rng2.choice(NL, 20, replace=False), 1] = np.nan
yl[rng2.choice(NL, 20, replace=False), 2] = np.inf
np.save(os.path.join(OUT, "xl.npy"), xl)
np.save(os.path.join(OUT, "yl.npy"), yl)
all_l = np.arange(NL)
fl = np.flatnonzero((all_l % 3 == 0) | ((all_l >= 5000) & (all_l < 9000)))  # gaps and a long run
r, used = corr(xl, yl, all_l)
exp["corr_long"] = {"r": clean(r), "used": used, "cka": cka(xl, yl, all_l)}
r, used = corr(xl, yl, fl)
exp["corr_long_sub"] = {"idx": fl.tolist(), "r": clean(r), "used": used, "cka": cka(xl, yl, fl)}
r, used = corr(xl, xl, all_l)
exp["corr_long_self"] = {"r": clean(r), "used": used}

exp["pca_x"] = pca(x, all_idx)
exp["pca_x_f1"] = pca(x, f1)
exp["pca_x16"] = pca(x16, all_idx)
exp["pca_y"] = pca(y, all_idx)

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(exp, f, indent=0, sort_keys=True)
print(f"fixtures in {OUT}: x {x.shape}, y {y.shape}, CKA(x, y) = {exp['cka']['xy']:.6f}")

#!/usr/bin/python3
"""Writes tests/data/neurons/: small activation layers and what NumPy computes from them, the
oracle for nncmp's per-neuron statistics (src/core/neurons.c).

Usage: tools/make_neuron_fixtures.py [OUT_DIR]          (default tests/data/neurons)
       tools/make_neuron_fixtures.py --bench DIR [--n N] [--h H]
           writes a study for timing (DIR/labels.npy, DIR/models/m/pred.npy,
           DIR/models/m/act/fc.npy float32 (N, H), default 1,000,000 x 512 = 2 GB)
       tools/make_neuron_fixtures.py --bench-ref DIR [--bins B] [--k K]
           times NumPy computing the same statistics of DIR/models/m/act/fc.npy (chunked,
           vectorized over neurons; it assumes no NaN, which favours NumPy), and the d ranking
           for the filter 'gt < 5' (labels from DIR/labels.npy)

Run with Debian's python3 (numpy). Layers (float32 unless said):
  f32.npy      (300, 7): NaN and Inf cells and an all-NaN row, an all-dead neuron, a constant
               neuron, one with values exactly on histogram edges and ties at its maximum;
               the layer's range is [-4, 12]
  bigmean.npy  (500, 4): means of 1e6 and -3e5 with spreads of 1 and 0.01 (precision)
  f16.npy      (200, 5) float16
  fortran.npy  (150, 6) in Fortran order
  constant.npy (40, 3) every value 2.5 (a range of one value: one bin)
  nan_neuron.npy (30, 4): neuron 2 has no finite value at all
Filters (index lists) give d, mean/std/dead inside S, mean outside and S's histogram.

expected.json: {FILE: {"n", "h", "stats": {BINS/K: {...}}, "filters": {NAME: {...}},
"profile": {ROW: {"order", "values"}}}}; NaN is written as null.
"""
import json
import math
import os
import sys
import time

import numpy as np

BINS = [32, 17]
KS = [10, 3]


def layers(rng):
    out = {}
    n, h = 300, 7
    a = rng.normal(0, 1, (n, h)).astype(np.float32)
    a[:, 0] = np.maximum(a[:, 0] * 3, 0)  # ReLU-like: many exact zeros
    a[:, 1] = 0.0  # all dead
    a[:, 2] = 2.5  # constant
    a[:, 3] = np.clip(rng.normal(5, 0.5, n), -4, 12).astype(np.float32)
    a[:, 4] = np.round(rng.uniform(-4, 3, n) * 2) / 2  # multiples of 0.5: every other one on a 32-bin edge (0.75 apart)
    a[:, 4][rng.choice(n, 20, replace=False)] = 3.0  # ties at the maximum
    a[:, 5] = rng.uniform(-4, 12, n).astype(np.float32)
    a[0, 5], a[1, 5] = -4.0, 12.0  # the layer's range
    a[:, 6] = rng.exponential(1.0, n).astype(np.float32)
    a[10, :] = np.nan  # an all-NaN row
    a[20, 0] = np.nan
    a[21, 5] = np.inf
    a[22, 6] = -np.inf
    a[23, 4] = np.nan
    out["f32.npy"] = a

    # a real large mean (the layer range then is wide): variance must not cancel
    big = (1e6 + rng.normal(0, 1, (500, 4))).astype(np.float32)
    big[:, 3] = (-3e5 + rng.normal(0, 0.01, 500)).astype(np.float32)
    out["bigmean.npy"] = big

    f16 = rng.normal(0.5, 2, (200, 5)).astype(np.float16)
    f16[:, 1] = np.maximum(f16[:, 1], 0)
    f16[5, 2] = np.float16(np.nan)
    out["f16.npy"] = f16

    out["fortran.npy"] = np.asfortranarray(rng.normal(0, 1, (150, 6)).astype(np.float32))
    out["constant.npy"] = np.full((40, 3), 2.5, np.float32)
    nn = rng.normal(0, 1, (30, 4)).astype(np.float32)
    nn[:, 2] = np.nan
    out["nan_neuron.npy"] = nn
    return out


def filters(n, rng):
    f = {
        "first_half": np.arange(n // 2),
        "every_third": np.arange(0, n, 3),
        "most": np.sort(rng.choice(n, int(n * 0.8), replace=False)),
        "single": np.array([5]),
        "all_but_one": np.delete(np.arange(n), 7),
    }
    return {k: np.asarray(v, np.int64) for k, v in f.items()}


def num(v):
    v = float(v)
    return v if np.isfinite(v) else None


def column_stats(col):
    """Statistics of one neuron's values (float64), finite values only."""
    fin = col[np.isfinite(col)]
    c = len(fin)
    return {
        "count": c,
        "nonfinite": int(len(col) - c),
        "mean": num(fin.mean()) if c else None,
        "std": num(fin.std(ddof=1)) if c >= 2 else None,
        "m2": float(((fin - fin.mean()) ** 2).sum()) if c else 0.0,
        "min": num(fin.min()) if c else None,
        "max": num(fin.max()) if c else None,
        "dead": int((fin == 0).sum()),
        "dead_frac": num((fin == 0).mean()) if c else None,
    }


def layer_range(a):
    fin = a[np.isfinite(a)]
    return (float(fin.min()), float(fin.max())) if len(fin) else (None, None)


def hist_grid(lo, hi, bins):
    """The histogram bins nncmp promises (README, "Histogram bins"), from the rule alone: the
    smallest exponent e, not below ilogb(max(|lo|, |hi|)) - 22 nor -100, at which [lo, hi]
    touches at most 6 * bins slots [s 2^e, (s+1) 2^e); then the least k for which the slots
    floor(lo 2^-e) .. floor(hi 2^-e), grouped by k from multiples of k, make at most `bins`
    groups. Returns (e, k, a, edges): bin i is [(a+i) k 2^e, (a+i+1) k 2^e)."""
    m = max(abs(lo), abs(hi))
    e = max(math.frexp(m)[1] - 1 - 22, -100) if m > 0 else -100
    while math.floor(math.ldexp(hi, -e)) - math.floor(math.ldexp(lo, -e)) + 1 > 6 * bins:
        e += 1
    sl, sh = math.floor(math.ldexp(lo, -e)), math.floor(math.ldexp(hi, -e))
    k = 1
    while sh // k - sl // k > bins - 1:
        k += 1
    a = sl // k
    return e, k, a, [math.ldexp((a + i) * k, e) for i in range(bins + 1)]


def hist(col, lo, hi, bins):
    fin = col[np.isfinite(col)]
    if lo is None:
        return [0] * bins
    edges = np.array(hist_grid(lo, hi, bins)[3])
    assert edges[0] <= lo and hi < edges[-1]
    return np.histogram(fin, bins=edges)[0].astype(int).tolist()


def top_k(col, k):
    idx = np.arange(len(col))
    fin = np.isfinite(col)
    order = np.lexsort((idx[fin], -col[fin]))[:k]
    return idx[fin][order].tolist(), [float(v) for v in col[fin][order]]


def subset(a, sel, lo, hi, bins):
    n, h = a.shape
    mask = np.zeros(n, bool)
    mask[sel] = True
    r = {"n_in": int(mask.sum()), "n_out": int((~mask).sum()), "neurons": []}
    for j in range(h):
        s, o = column_stats(a[mask, j]), column_stats(a[~mask, j])
        ns, no = s["count"], o["count"]
        if ns == 0 or no == 0 or ns + no <= 2:
            d = None
        else:
            # a single value contributes no variance: its (n - 1) var term is 0 (m2 = 0)
            pooled = np.sqrt((s["m2"] + o["m2"]) / (ns + no - 2))
            d = 0.0 if pooled == 0 else float((s["mean"] - o["mean"]) / pooled)
        r["neurons"].append({
            "d": d, "count_in": ns, "count_out": no, "mean_in": s["mean"],
            "mean_out": o["mean"], "std_in": s["std"], "dead_in": s["dead"],
            "dead_frac_in": s["dead_frac"],
            "hist_in": {str(b): hist(a[mask, j], lo, hi, b) for b in bins}})
    return r


def profile(row):
    idx = np.arange(len(row))
    key = np.where(np.isnan(row), np.inf, -row)  # NaN last
    order = np.lexsort((idx, np.isnan(row), key))
    return {"order": order.tolist(), "values": [num(v) for v in row]}


def fixtures(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20240611)
    expected = {}
    for name, arr in layers(rng).items():
        np.save(os.path.join(out, name), arr)
        a = np.load(os.path.join(out, name)).astype(np.float32).astype(np.float64)
        n, h = a.shape
        lo, hi = layer_range(a)
        e = {"n": n, "h": h, "lo": lo, "hi": hi, "neurons": [], "hist": {}, "top": {},
             "edges": {str(b): hist_grid(lo, hi, b)[3] if lo is not None else None
                       for b in BINS}}
        for j in range(h):
            e["neurons"].append(column_stats(a[:, j]))
        for b in BINS:
            e["hist"][str(b)] = [hist(a[:, j], lo, hi, b) for j in range(h)]
        for k in KS:
            e["top"][str(k)] = [top_k(a[:, j], k) for j in range(h)]
        e["filters"] = {fn: dict(subset(a, sel, lo, hi, BINS), indices=sel.tolist())
                        for fn, sel in filters(n, rng).items()}
        e["profile"] = {str(i): profile(a[i]) for i in (0, 10, 23, n - 1)}
        expected[name] = e
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, sort_keys=True)
    print(f"{len(expected)} layers in {out}")


def bench_study(out, n, h):
    """A study with one model and a (n, h) float32 ReLU layer whose neurons depend on the label."""
    from numpy.lib import format as npf
    os.makedirs(os.path.join(out, "models", "m", "act"), exist_ok=True)
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 10, n).astype(np.int32)
    np.save(os.path.join(out, "labels.npy"), labels)
    pred = np.where(rng.random(n) < 0.8, labels, rng.integers(0, 10, n)).astype(np.int32)
    np.save(os.path.join(out, "models", "m", "pred.npy"), pred)
    act = npf.open_memmap(os.path.join(out, "models", "m", "act", "fc.npy"), mode="w+",
                          dtype=np.float32, shape=(n, h))
    w = rng.normal(0, 1, (10, h)).astype(np.float32)
    bias = rng.normal(0, 1, h).astype(np.float32)
    bias[: h // 10] = -50  # dead neurons
    for r0 in range(0, n, 50000):
        r1 = min(n, r0 + 50000)
        x = rng.standard_normal((r1 - r0, h), dtype=np.float32)
        x += w[labels[r0:r1]] + bias
        np.maximum(x, 0, out=x)
        act[r0:r1] = x
    act.flush()
    print(f"{out}: labels, models/m/pred.npy, models/m/act/fc.npy ({n} x {h} float32)")


def bench_ref(study, bins, k, chunk=65536):
    """NumPy computing nncmp's statistics: chunks of rows, every operation over all neurons."""
    path = os.path.join(study, "models", "m", "act", "fc.npy")
    a = np.load(path, mmap_mode="r")
    n, h = a.shape
    t0 = time.perf_counter()
    s1, s2 = np.zeros(h), np.zeros(h)
    mn, mx = np.full(h, np.inf, np.float32), np.full(h, -np.inf, np.float32)
    dead = np.zeros(h, np.int64)
    topv = topi = None
    for r0 in range(0, n, chunk):
        c = np.asarray(a[r0:r0 + chunk])
        c64 = c.astype(np.float64)
        s1 += c64.sum(0)
        s2 += np.einsum("ij,ij->j", c64, c64)
        np.minimum(mn, c.min(0), out=mn)
        np.maximum(mx, c.max(0), out=mx)
        dead += (c == 0).sum(0)
    mean = s1 / n
    std = np.sqrt((s2 - n * mean * mean) / (n - 1))
    assert np.all(std >= 0)
    t1 = time.perf_counter()
    for r0 in range(0, n, chunk):
        c = np.asarray(a[r0:r0 + chunk])
        p = np.argpartition(-c, k, axis=0)[:k]
        v = np.take_along_axis(c, p, 0)
        if topv is None:
            topv, topi = v, p + r0
        else:
            allv, alli = np.concatenate([topv, v]), np.concatenate([topi, p + r0])
            q = np.lexsort((alli, -allv), axis=0)[:k]
            topv, topi = np.take_along_axis(allv, q, 0), np.take_along_axis(alli, q, 0)
    t2 = time.perf_counter()
    lo, hi = float(mn.min()), float(mx.max())
    e, k, anchor, _ = hist_grid(lo, hi, bins)
    counts = np.zeros(h * bins, np.int64)
    off = np.arange(h) * bins
    for r0 in range(0, n, chunk):
        c = np.asarray(a[r0:r0 + chunk])
        idx = np.floor(c * np.float32(math.ldexp(1, -e))).astype(np.int64) // k - anchor
        idx += off
        counts += np.bincount(idx.ravel(), minlength=h * bins)
    t3 = time.perf_counter()
    print(f"numpy {path}: moments/min/max/dead {t1 - t0:.2f} s, top-{k} {t2 - t1:.2f} s, "
          f"histogram {t3 - t2:.2f} s, total {t3 - t0:.2f} s")

    # ranking by d for S = labels < 5 against the rest
    t0 = time.perf_counter()
    sel = np.load(os.path.join(study, "labels.npy")) < 5
    s1, s2, cnt = np.zeros((2, h)), np.zeros((2, h)), np.zeros(2)
    for r0 in range(0, n, chunk):
        c = np.asarray(a[r0:r0 + chunk], dtype=np.float64)
        m = sel[r0:r0 + chunk]
        for side, mm in enumerate((m, ~m)):
            x = c[mm]
            s1[side] += x.sum(0)
            s2[side] += np.einsum("ij,ij->j", x, x)
            cnt[side] += len(x)
    mean = s1 / cnt[:, None]
    var = (s2 - cnt[:, None] * mean ** 2) / (cnt[:, None] - 1)
    pooled = np.sqrt(((cnt[0] - 1) * var[0] + (cnt[1] - 1) * var[1]) / (n - 2))
    d = np.where(pooled == 0, 0, (mean[0] - mean[1]) / np.where(pooled == 0, 1, pooled))
    order = np.lexsort((np.arange(h), -np.abs(d)))
    print(f"numpy ranking by d for 'gt < 5': {time.perf_counter() - t0:.2f} s "
          f"(first: neuron {order[0]}, d {d[order[0]]:.4f})")


def main(argv):
    if argv and argv[0] == "--bench":
        n = int(argv[argv.index("--n") + 1]) if "--n" in argv else 1_000_000
        h = int(argv[argv.index("--h") + 1]) if "--h" in argv else 512
        bench_study(argv[1], n, h)
    elif argv and argv[0] == "--bench-ref":
        bins = int(argv[argv.index("--bins") + 1]) if "--bins" in argv else 32
        k = int(argv[argv.index("--k") + 1]) if "--k" in argv else 10
        bench_ref(argv[1], bins, k)
    else:
        fixtures(argv[0] if argv else "tests/data/neurons")


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/python3
"""The NumPy reference `make bench` times nncmp's neuron analyses against (tools/bench_ops.c).

Usage: tools/bench_ref_neurons.py STUDY [--model a] [--with b] [--layer fc] [--reps 3]
                                  [--chunk 16384] [--no-cka] [--json] [--check DUMP]

Computes, on layer L of models A and B of a study (models/NAME/act/L.npy, float32 (N, H)), what
bench_ops times, the way a competent researcher would with NumPy: the layers opened with
np.load(mmap_mode="r") and processed in chunks of rows (so memory stays at a few chunks),
every step vectorized over the neurons:
  stats      per neuron count, mean, std (ddof=1), min, max, dead fraction (exact zeros), a
             32-bin histogram in nncmp's bins (README: Histogram bins; the edges from the rule in
             make_neuron_fixtures.py, once the range is known) and the 10 highest-activating instances
             (ties to the lower index). Pass 1: float64 sums and sums of squares, min/max, zero
             counts, and a running top-k (a candidate must beat the neuron's current 10th value;
             the few candidates are merged with one lexsort). Pass 2: the histogram, bin indices
             floor(x 2^-e) // k - a (exact in float32) with the bincount-over-offsets trick. The count is N: the
             reference assumes finite values (which the bench data are), nncmp checks.
  rank_err   ranking by d = (mean_S - mean_R) / s_pooled for S = 'A != gt', from float64 sums
  rank_half  and for S = 'conf(A) > median' (~50%): boolean masks over the chunks, argsort |d|.
             The masks are built before the clock starts (nncmp times its filter apart too).
  matrix     class means of A.L: a one-hot (chunk, C) float32 matrix S and S.T @ chunk (BLAS),
             summed in float64; the fastest of the NumPy ways tried (np.add.reduceat over rows
             sorted by class took 2.5x as long, np.add.at 20x).
  corr       Pearson r between every neuron of A.L and of B.L: pass 1 the column means and
             standard deviations (float64 sums), pass 2 the standardized chunks multiplied in
             float32, Xs.T @ Ys, summed in float64, over N - 1.
  corr_cka   the same plus the Gram matrices Xs.T @ Xs and Ys.T @ Ys, for linear CKA.
Each operation is timed alone (best of --reps, each from scratch; the layers stay in the page
cache). With --check DUMP (written by `bench_ops STUDY --dump DUMP`) the numbers are compared
with nncmp's; a difference prints a MISMATCH line and the exit status is 1.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_neuron_fixtures import hist_grid  # noqa: E402

BINS = 32
TOP_K = 10
SEED_ROWS = 1024  # the first top-k lists come from a full sort of this many rows


def load_layer(study, model, layer):
    # a plain ndarray over the mapping (np.memmap slices carry subclass overhead)
    return np.asarray(np.load(os.path.join(study, "models", model, "act", layer + ".npy"),
                              mmap_mode="r"))


def chunks(n, size):
    for lo in range(0, n, size):
        yield lo, min(n, lo + size)


def topk_seed(c, k):
    """The k highest values of each column of c and their rows, highest first, ties by row."""
    rows = np.broadcast_to(np.arange(c.shape[0])[:, None], c.shape)
    order = np.lexsort((rows, -c), axis=0)[:k]
    return np.take_along_axis(c, order, 0), order.astype(np.int64)


def topk_merge(topv, topi, c, lo, k):
    """Merges the values of c (rows lo..) that beat each column's current k-th into the lists."""
    r, j = np.nonzero(c > topv[-1])
    if r.size == 0:
        return topv, topi
    h = c.shape[1]
    vals = np.concatenate([topv.ravel(), c[r, j]])
    idx = np.concatenate([topi.ravel(), r + lo])
    neuron = np.concatenate([np.tile(np.arange(h), k), j])
    o = np.lexsort((idx, -vals, neuron))
    neuron = neuron[o]
    pos = np.arange(o.size) - np.searchsorted(neuron, np.arange(h))[neuron]
    keep = pos < k
    topv, topi = np.empty_like(topv), np.empty_like(topi)
    topv[pos[keep], neuron[keep]] = vals[o][keep]
    topi[pos[keep], neuron[keep]] = idx[o][keep]
    return topv, topi


def layer_stats(a, chunk, bins=BINS, k=TOP_K):
    n, h = a.shape
    s1, s2 = np.zeros(h), np.zeros(h)
    mn, mx = np.full(h, np.inf, np.float32), np.full(h, -np.inf, np.float32)
    dead = np.zeros(h, np.int64)
    topv = topi = None
    for lo, hi in chunks(n, chunk):
        c = a[lo:hi]
        c64 = c.astype(np.float64)
        s1 += c64.sum(axis=0)
        s2 += np.einsum("ij,ij->j", c64, c64)
        np.minimum(mn, c.min(axis=0), out=mn)
        np.maximum(mx, c.max(axis=0), out=mx)
        dead += np.count_nonzero(c == 0, axis=0)
        start = 0
        if topv is None:
            start = min(SEED_ROWS, hi - lo)
            topv, topi = topk_seed(c[:start], k)
        topv, topi = topk_merge(topv, topi, c[start:], lo + start, k)
    mean = s1 / n
    std = np.sqrt(np.maximum(s2 - n * mean * mean, 0) / (n - 1))
    # pass 2: the histogram in nncmp's bins, slot floor(x 2^-e) exact in float32
    lo_v, hi_v = float(mn.min()), float(mx.max())
    e, k, anchor, _ = hist_grid(lo_v, hi_v, bins)
    scale = np.float32(2.0 ** -e)
    off = np.arange(h, dtype=np.intp) * bins - anchor
    hist = np.zeros(h * bins, np.int64)
    for lo, hi in chunks(n, chunk):
        t = a[lo:hi] * scale
        np.floor(t, out=t)
        b = t.astype(np.intp)
        b //= k
        b += off
        hist += np.bincount(b.ravel(), minlength=h * bins)
    return {"count": np.full(h, n), "mean": mean, "std": std, "min": mn, "max": mx,
            "dead": dead, "dead_frac": dead / n, "lo": lo_v, "hi": hi_v,
            "hist": hist.reshape(h, bins), "top_val": topv.T, "top_idx": topi.T}


def rank_d(a, mask, chunk):
    """d of every neuron for S = mask against the rest, and the neurons by |d| (ties: lower)."""
    n, h = a.shape
    s1, s2, cnt = np.zeros((2, h)), np.zeros((2, h)), np.zeros(2)
    for lo, hi in chunks(n, chunk):
        c = a[lo:hi]
        m = mask[lo:hi]
        for side, sel in enumerate((m, ~m)):
            x = c[sel].astype(np.float64)
            s1[side] += x.sum(axis=0)
            s2[side] += np.einsum("ij,ij->j", x, x)
            cnt[side] += x.shape[0]
    mean = s1 / cnt[:, None]
    m2 = np.maximum(s2 - cnt[:, None] * mean * mean, 0)
    pooled = np.sqrt((m2[0] + m2[1]) / (n - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(pooled > 0, (mean[0] - mean[1]) / pooled, 0.0)
    order = np.lexsort((np.arange(h), np.isnan(d), -np.abs(d)))
    return d, order


def class_means(a, labels, n_classes, chunk):
    n, h = a.shape
    sums = np.zeros((n_classes, h))
    for lo, hi in chunks(n, chunk):
        s = np.zeros((hi - lo, n_classes), np.float32)
        s[np.arange(hi - lo), labels[lo:hi]] = 1
        sums += s.T @ a[lo:hi]
    size = np.bincount(labels, minlength=n_classes)
    with np.errstate(divide="ignore", invalid="ignore"):
        return sums / size[:, None]


def moments(a, chunk):
    """Column means and sample standard deviations (float64 sums)."""
    n, h = a.shape
    s1, s2 = np.zeros(h), np.zeros(h)
    for lo, hi in chunks(n, chunk):
        c64 = a[lo:hi].astype(np.float64)
        s1 += c64.sum(axis=0)
        s2 += np.einsum("ij,ij->j", c64, c64)
    mean = s1 / n
    return mean, np.sqrt(np.maximum(s2 - n * mean * mean, 0) / (n - 1))


def correlation(x, y, chunk, cka=False):
    """r (h1 x h2) and, with cka, the linear CKA; a constant neuron's r is NaN."""
    n = x.shape[0]
    mx, sx = moments(x, chunk)
    my, sy = moments(y, chunk)
    # a constant neuron: standardized to 0, its r set to NaN at the end
    ix = (1 / np.where(sx > 0, sx, np.inf)).astype(np.float32)
    iy = (1 / np.where(sy > 0, sy, np.inf)).astype(np.float32)
    mx32, my32 = mx.astype(np.float32), my.astype(np.float32)
    xy = np.zeros((x.shape[1], y.shape[1]))
    xx = np.zeros((x.shape[1],) * 2) if cka else None
    yy = np.zeros((y.shape[1],) * 2) if cka else None
    for lo, hi in chunks(n, chunk):
        xs = x[lo:hi] - mx32
        xs *= ix
        ys = y[lo:hi] - my32
        ys *= iy
        xy += xs.T @ ys
        if cka:
            xx += xs.T @ xs
            yy += ys.T @ ys
    r = np.clip(xy / (n - 1), -1, 1)
    r[sx == 0, :] = np.nan
    r[:, sy == 0] = np.nan
    if not cka:
        return r, None
    # back from standardized to centred columns: Xc.T @ Yc = diag(sx) (Xs.T @ Ys) diag(sy)
    cxy, cxx, cyy = sx[:, None] * xy * sy, sx[:, None] * xx * sx, sy[:, None] * yy * sy
    return r, float(np.sum(cxy * cxy) / (np.linalg.norm(cxx) * np.linalg.norm(cyy)))


def filters(study, model):
    """The two filters of bench_ops as boolean masks, with their texts."""
    labels = np.load(os.path.join(study, "labels.npy"))
    probs = np.load(os.path.join(study, "models", model, "probs.npy"), mmap_mode="r")
    pred = np.empty(probs.shape[0], np.int64)
    conf = np.empty(probs.shape[0], np.float64)
    for lo, hi in chunks(probs.shape[0], 65536):
        p = probs[lo:hi]
        pred[lo:hi] = p.argmax(axis=1)
        conf[lo:hi] = p.max(axis=1)
    median = f"{np.sort(conf)[conf.size // 2]:.9g}"  # as bench_ops prints it, then parses it
    return labels, [("rank_err", f"{model} != gt", pred != labels),
                    ("rank_half", f"conf({model}) > {median}", conf > float(median))]


def best_of(reps, fn):
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, out


# ---- comparison with nncmp (bench_ops --dump) ----

def arr(v, dtype=np.float64):
    return np.array([np.nan if x is None else x for x in v], dtype=dtype)


def check(dump, res, n_labels_classes):
    bad = []
    st, ns = res["stats"], dump["stats"]
    h, bins, k = dump["h"], dump["bins"], dump["k"]

    def close(what, mine, ref, rtol, atol=0.0):
        mine, ref = np.asarray(mine, np.float64), np.asarray(ref, np.float64)
        both_nan = np.isnan(mine) & np.isnan(ref)
        ok = both_nan | (np.abs(mine - ref) <= rtol * np.maximum(np.abs(mine), np.abs(ref)) + atol)
        if not ok.all():
            i = int(np.flatnonzero(~ok.ravel())[0])
            bad.append(f"MISMATCH {what}: {int((~ok).sum())} of {ok.size} differ, e.g. "
                       f"[{i}] nncmp {mine.ravel()[i]!r} NumPy {ref.ravel()[i]!r}")

    def equal(what, mine, ref):
        mine, ref = np.asarray(mine), np.asarray(ref)
        if mine.shape != ref.shape or not np.array_equal(mine, ref):
            bad.append(f"MISMATCH {what}: nncmp {mine.ravel()[:8]} NumPy {ref.ravel()[:8]}")

    equal("stats count", arr(ns["count"], np.int64), st["count"])
    close("stats mean", arr(ns["mean"]), st["mean"], 1e-9, 1e-12)
    close("stats std", arr(ns["std"]), st["std"], 1e-7, 1e-12)
    equal("stats min", arr(ns["min"]), st["min"].astype(np.float64))
    equal("stats max", arr(ns["max"]), st["max"].astype(np.float64))
    equal("stats dead", arr(ns["dead"], np.int64), st["dead"])
    equal("stats range", np.array([ns["lo"], ns["hi"]]), np.array([st["lo"], st["hi"]]))
    # both find each value's bin exactly: not one value may be in another bin
    hist = arr(ns["hist"], np.int64).reshape(h, bins)
    moved = int(np.abs(hist - st["hist"]).sum() // 2)
    if moved or (hist.sum(axis=1) != st["hist"].sum(axis=1)).any():
        bad.append(f"MISMATCH stats histogram: {moved} values in other bins")
    equal("stats top values", arr(ns["top_val"]).reshape(h, k), st["top_val"].astype(np.float64))
    equal("stats top instances", arr(ns["top_idx"], np.float64).reshape(h, k),
          st["top_idx"].astype(np.float64))

    for rk in dump["rank"]:
        mine = res[rk["op"]]
        if rk["filter"] != mine["filter"] or rk["n_in"] != mine["n_in"]:
            bad.append(f"MISMATCH {rk['op']} filter: nncmp '{rk['filter']}' ({rk['n_in']}) NumPy "
                       f"'{mine['filter']}' ({mine['n_in']})")
        equal(f"{rk['op']} top-5 neurons", np.array(rk["order"][:5]), mine["order"][:5])
        close(f"{rk['op']} d", arr(rk["d"]), mine["d"], 1e-6, 1e-12)

    mm = dump["matrix"]
    close("matrix class means", arr(mm["mean"]).reshape(mm["rows"], mm["cols"]), res["matrix"],
          1e-4, 1e-9 * np.nanmax(np.abs(res["matrix"])))

    sim = dump["similarity"]
    r_n = arr(sim["r"]).reshape(sim["h1"], sim["h2"])
    r_p = res["corr"]
    close("correlation r (all pairs)", r_n, r_p, 0, 1e-4)
    rows = ~np.all(np.isnan(r_p), axis=1)
    best_n = np.nanargmax(np.where(np.isnan(r_n[rows]), -np.inf, r_n[rows]), axis=1)
    best_p = np.nanargmax(np.where(np.isnan(r_p[rows]), -np.inf, r_p[rows]), axis=1)
    pr = np.arange(best_p.size)
    # a different best match is a near-tie: NumPy's r of nncmp's choice must be as good
    close("correlation of the best match", r_n[rows][pr, best_n], r_p[rows][pr, best_p], 0, 1e-4)
    close("correlation best match (NumPy's r of nncmp's pick)", r_p[rows][pr, best_n],
          r_p[rows][pr, best_p], 0, 1e-4)
    if res.get("cka") is not None and sim.get("cka") is not None:
        close("CKA", sim["cka"], res["cka"], 1e-4)
    summary = {"hist_values_moved": moved,
               "r_max_abs_diff": float(np.nanmax(np.abs(r_n - r_p))),
               "best_match_differs": int((best_n != best_p).sum()),
               "matrix_max_rel_diff": float(np.nanmax(np.abs(
                   arr(mm["mean"]).reshape(res["matrix"].shape) - res["matrix"]) /
                   np.maximum(np.abs(res["matrix"]), 1e-30)))}
    return bad, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("study")
    ap.add_argument("--model", default="a")
    ap.add_argument("--with", dest="other", default="b")
    ap.add_argument("--layer", default="fc")
    ap.add_argument("--reps", type=int, default=3, help="timed runs per operation (best is kept)")
    ap.add_argument("--cka-reps", type=int, default=1, help="timed runs of corr_cka (0: skip it)")
    ap.add_argument("--chunk", type=int, default=16384, help="rows per chunk")
    ap.add_argument("--json", action="store_true", help="print the times as JSON")
    ap.add_argument("--check", metavar="DUMP", help="compare with `bench_ops STUDY --dump DUMP`")
    args = ap.parse_args()
    reps = max(1, args.reps)

    a = load_layer(args.study, args.model, args.layer)
    b = load_layer(args.study, args.other, args.layer)
    labels, masks = filters(args.study, args.model)
    n_classes = sum(1 for line in open(os.path.join(args.study, "classes.txt")) if line.strip())
    ops, res = {}, {}

    def timed(name, fn, r=reps):
        t, runs, out = best_of(r, fn)
        ops[name] = {"seconds": t, "runs": runs}
        print(f"bench_ref_neurons: {name:<10} {t:8.3f} s (best of {r})", file=sys.stderr)
        return out

    res["stats"] = timed("stats", lambda: layer_stats(a, args.chunk))
    for name, text, mask in masks:
        d, order = timed(name, lambda m=mask: rank_d(a, m, args.chunk))
        res[name] = {"filter": text, "n_in": int(mask.sum()), "d": d, "order": order}
        ops[name].update(n_in=int(mask.sum()), filter=text)
    res["matrix"] = timed("matrix", lambda: class_means(a, labels, n_classes, args.chunk))
    res["corr"], _ = timed("corr", lambda: correlation(a, b, args.chunk))
    if args.cka_reps > 0:
        _, res["cka"] = timed("corr_cka", lambda: correlation(a, b, args.chunk, cka=True),
                              args.cka_reps)
        ops["corr_cka"]["cka"] = res["cka"]

    bad, summary = [], {}
    if args.check:
        with open(args.check) as f:
            bad, summary = check(json.load(f), res, n_classes)
    out = {"n": int(a.shape[0]), "h": int(a.shape[1]), "chunk": args.chunk, "ops": ops,
           "check": summary, "mismatches": bad}
    if args.json:
        json.dump(out, sys.stdout)
        print()
    else:
        for name, o in ops.items():
            print(f"{name:<10} {o['seconds']:8.3f} s")
        for key, v in summary.items():
            print(f"{key}: {v}")
    for line in bad:
        print(line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

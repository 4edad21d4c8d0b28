#!/usr/bin/python3
"""NumPy reference for `nncmp issues --method cl` (tools/bench.sh): confident learning on the mean
of every model's probabilities, the same steps as src/core/issues_cl.c (cleanlab's
prune_by_noise_rate, as tools/make_issue_fixtures.py writes them), written the way one would in
NumPy: whole matrices in memory, vectorized.

Usage: bench_ref_issues.py STUDY [--reps R] [--top K]
Prints one JSON object: {"seconds": best of R (loading the files included, imports excluded),
"count": flagged, "top": the first K flagged indices in rank order, "parts": {step: seconds}}.
"""
import argparse
import json
import os
import time

import numpy as np

SLACK = 1e-6


def load(study):
    labels = np.load(os.path.join(study, "labels.npy")).astype(np.int64)
    mdir = os.path.join(study, "models")
    probs = []
    for name in sorted(os.listdir(mdir)):
        d = os.path.join(mdir, name)
        if os.path.exists(os.path.join(d, "probs.npy")):
            probs.append(np.load(os.path.join(d, "probs.npy")))
        elif os.path.exists(os.path.join(d, "logits.npy")):
            z = np.load(os.path.join(d, "logits.npy")).astype(np.float64)
            e = np.exp(z - z.max(axis=1, keepdims=True))
            probs.append(e / e.sum(axis=1, keepdims=True))
    return labels, probs


def confident_learning(labels, probs, parts):
    t = time.perf_counter()

    def lap(name):
        nonlocal t
        now = time.perf_counter()
        parts[name] = parts.get(name, 0.0) + now - t
        t = now

    P = probs[0].astype(np.float64)
    for p in probs[1:]:
        P += p
    if len(probs) > 1:
        P /= len(probs)
    lap("mean of the models")
    n, c = P.shape
    y = labels
    pl = P[np.arange(n), y]
    cnt = np.bincount(y, minlength=c)
    with np.errstate(invalid="ignore", divide="ignore"):
        thr = np.bincount(y, weights=pl, minlength=c) / cnt - SLACK
    lap("thresholds")
    conf = P >= thr
    has = conf.any(axis=1)
    guess = np.where(conf, P, -np.inf).argmax(axis=1)
    cj = np.bincount(y[has] * c + guess[has], minlength=c * c).reshape(c, c)
    np.fill_diagonal(cj, np.maximum(cj.diagonal(), 1))
    lap("confident joint")
    v = cj / cj.sum(axis=1, keepdims=True) * cnt[:, None]
    prune = np.floor(v).astype(np.int64)
    frac = v - np.floor(v)
    rem = cnt - prune.sum(axis=1)
    order = np.argsort(-frac, axis=1, kind="stable")
    for i in np.nonzero(rem > 0)[0]:
        prune[i, order[i, :rem[i]]] += 1
    lap("calibration")
    pred = P.argmax(axis=1)
    flag = np.zeros(n, bool)
    by_class = np.argsort(y, kind="stable")
    starts = np.concatenate(([0], np.cumsum(cnt)))
    for i in range(c):
        cols = [j for j in range(c) if j != i and prune[i, j] > 0]
        if not cols:
            continue
        rows = by_class[starts[i]:starts[i + 1]]
        m = P[rows][:, cols] - P[rows, i][:, None]
        for k, j in enumerate(cols):
            kth = np.partition(m[:, k], len(rows) - prune[i, j])[len(rows) - prune[i, j]]
            flag[rows[m[:, k] >= kth]] = True
    flag &= pred != y
    lap("pruning")
    score = 1.0 - pl
    idx = np.arange(n)
    ranked = idx[np.lexsort((idx, -score, -flag.astype(np.int8)))]
    lap("ranking")
    return int(flag.sum()), ranked


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("study")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--top", type=int, default=20)
    a = ap.parse_args()
    best, parts_best = None, None
    for _ in range(max(1, a.reps)):
        parts = {}
        t0 = time.perf_counter()
        labels, probs = load(a.study)
        parts["loading the files"] = time.perf_counter() - t0
        count, ranked = confident_learning(labels, probs, parts)
        dt = time.perf_counter() - t0
        if best is None or dt < best:
            best, parts_best = dt, parts
        del labels, probs
    print(json.dumps({"seconds": best, "count": count, "top": ranked[:min(a.top, count)].tolist(),
                      "parts": parts_best}))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""NumPy reference for `nncmp issues --method cl` (tools/bench.sh): confident learning on the mean
of every model's probabilities as cleanlab 2.9's find_label_issues computes it by default
(prune_by_noise_rate; the steps of tools/bench_triage.py's cleanlab_default and
tools/make_issue_fixtures.py), written the way one would in NumPy for speed: whole matrices in
memory, vectorized, a partition instead of a sort per cell.

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
    rows_all = np.arange(n)
    pl = P[rows_all, y]
    cnt = np.bincount(y, minlength=c)
    with np.errstate(invalid="ignore", divide="ignore"):
        thr = np.bincount(y, weights=pl, minlength=c) / cnt
    thr = np.maximum(np.where(cnt > 0, thr, 2.0), 2e-6) - SLACK
    lap("thresholds")
    conf = P >= thr
    nconf = conf.sum(axis=1)
    pred = P.argmax(axis=1)
    guess = np.where(nconf > 1, pred, conf.argmax(axis=1))
    has = nconf > 0
    cj = np.bincount(y[has] * c + guess[has], minlength=c * c).reshape(c, c)
    np.fill_diagonal(cj, np.maximum(cj.diagonal(), 1))
    lap("confident joint")
    v = cj / np.maximum(cj.sum(axis=1, keepdims=True), 1e-100) * cnt[:, None]
    v = v / max(v.sum(), 1e-100) * cnt.sum()
    cal = np.round(v)
    want = np.round(v.sum(axis=1))
    for i in np.nonzero(cal.sum(axis=1) != want)[0]:  # rows whose rounding moved the total
        while cal[i].sum() != want[i]:
            gap = v[i] - cal[i]
            cols = np.arange(c)
            k = min(int(abs(want[i] - cal[i].sum())), c)
            if want[i] > cal[i].sum():
                cal[i, np.lexsort((-cols, -gap))[:k]] += 1
            else:
                cal[i, np.lexsort((cols, gap))[:k]] -= 1
    diag = cal.diagonal().copy()
    take = (np.maximum(diag, 1) - diag) / np.maximum(np.count_nonzero(cal, axis=1) - 1, 1)
    prune = np.trunc(np.clip(cal - take[:, None], 0, None)).astype(np.int64)
    np.fill_diagonal(prune, 0)
    prune[cnt <= 1] = 0
    lap("calibration")
    flag = np.zeros(n, bool)
    by_class = np.argsort(y, kind="stable")
    starts = np.concatenate(([0], np.cumsum(cnt)))
    for i in range(c):
        cols = [j for j in range(c) if prune[i, j] > 0]
        if not cols:
            continue
        rows = by_class[starts[i]:starts[i + 1]]  # in index order
        m = P[rows][:, cols] - P[rows, i][:, None]
        for k, j in enumerate(cols):
            need = prune[i, j]
            if need >= len(rows):
                flag[rows] = True
                continue
            kth = np.partition(m[:, k], len(rows) - need)[len(rows) - need]
            above = m[:, k] > kth
            flag[rows[above]] = True
            # equal margins at the cutoff: the lower indices first
            flag[rows[np.nonzero(m[:, k] == kth)[0][:need - int(above.sum())]]] = True
    idx = np.nonzero(flag)[0]  # not flagged where p_label + 1e-6 is the first maximum
    sub = P[idx]
    sub[np.arange(len(idx)), y[idx]] += SLACK
    flag[idx] = sub.argmax(axis=1) != y[idx]
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

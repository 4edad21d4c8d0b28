#!/usr/bin/python3
"""The NumPy / scikit-learn reference `make bench` times nncmp against.

Usage: tools/bench_ref.py STUDY [--reps 3] [--json] [--boot 1000] [--seed 0]

Computes what `nncmp report STUDY --json` reports, the way a competent researcher would with
NumPy + scikit-learn: per model the argmax predictions, accuracy, confusion matrix, per-class
precision/recall/F1/support, macro F1, top-2/3/5 accuracy and a 15-bin ECE; per pair of models the
correct/incorrect contingency counts (overall and per ground-truth class), agreement, Cohen's kappa
between the predictions, McNemar's exact p and a bootstrap 95% CI of acc_b - acc_a.

Only study directories by convention are read (labels.npy, classes.txt, models/NAME/probs.npy),
which is what tools/bench_gen.py writes. Timing covers everything after the imports: opening and
reading the files (np.load with mmap_mode="r", so from the page cache when warm) and every metric.
The best of --reps runs is reported, each run from scratch; the per-part times are those of the
best run.
"""

import argparse
import json
import os
import sys
import time
from collections import defaultdict

import numpy as np
import scipy.stats
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

ECE_BINS = 15
TOP_K = (2, 3, 5)
BOOT_BATCH_ELEMS = 20_000_000  # resampled indices held at once (int32: 80 MB)


class Parts:
    """Accumulates wall time per named part of the computation."""

    def __init__(self):
        self.t = defaultdict(float)
        self.last = time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        self.t[name] += now - self.last
        self.last = now


def ece_score(correct, conf, bins=ECE_BINS):
    conf = conf.astype(np.float64)
    b = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    count = np.bincount(b, minlength=bins)
    sum_conf = np.bincount(b, weights=conf, minlength=bins)
    sum_correct = np.bincount(b, weights=correct, minlength=bins)
    nz = count > 0
    gap = np.abs(sum_correct[nz] / count[nz] - sum_conf[nz] / count[nz])
    return float(np.sum(count[nz] / correct.size * gap))


def bootstrap_ci(diff, reps, rng):
    """95% percentile CI of mean(diff) over `reps` resamples of the instances, in batches."""
    n = diff.size
    batch = max(1, min(reps, BOOT_BATCH_ELEMS // n))
    idx_dtype = np.int32 if n < 2**31 else np.int64
    means = np.empty(reps)
    for lo in range(0, reps, batch):
        hi = min(reps, lo + batch)
        idx = rng.integers(0, n, size=(hi - lo, n), dtype=idx_dtype)
        means[lo:hi] = diff[idx].sum(axis=1) / n
    lo, hi = np.percentile(means, [2.5, 97.5])
    return [float(lo), float(hi)]


def analyse(study, boot_reps, seed):
    parts = Parts()
    labels = np.load(os.path.join(study, "labels.npy"), mmap_mode="r")
    y = np.asarray(labels, dtype=np.int64)
    with open(os.path.join(study, "classes.txt")) as f:
        classes = [line.rstrip("\n") for line in f if line.strip()]
    n, c = y.size, len(classes)
    cls = np.arange(c)
    names = sorted(d for d in os.listdir(os.path.join(study, "models"))
                   if os.path.isfile(os.path.join(study, "models", d, "probs.npy")))
    parts.lap("load labels")

    models, preds, correct = [], [], []
    for name in names:
        probs = np.load(os.path.join(study, "models", name, "probs.npy"), mmap_mode="r")
        assert probs.shape == (n, c), (name, probs.shape)
        pred = probs.argmax(axis=1)
        parts.lap("argmax")
        conf = probs.max(axis=1)
        parts.lap("max (confidence)")
        acc = accuracy_score(y, pred)
        parts.lap("accuracy_score")
        cm = confusion_matrix(y, pred, labels=cls)
        parts.lap("confusion_matrix")
        prec, rec, f1, sup = precision_recall_fscore_support(y, pred, labels=cls, zero_division=0)
        parts.lap("precision_recall_fscore_support")
        macro_f1 = f1_score(y, pred, labels=cls, average="macro", zero_division=0)
        parts.lap("f1_score macro")
        top_k = {str(k): float(top_k_accuracy_score(y, probs, k=k, labels=cls)) for k in TOP_K if k < c}
        parts.lap("top_k_accuracy_score")
        ok = pred == y
        ece = ece_score(ok, conf)
        parts.lap("ece")
        models.append({
            "name": name, "accuracy": float(acc), "macro_f1": float(macro_f1), "ece": ece,
            "top_k": top_k, "confusion": cm.tolist(),
            "per_class": [{"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                          for p, r, f, s in zip(prec, rec, f1, sup)],
        })
        preds.append(pred)
        correct.append(ok)
        parts.lap("collect")
        del probs

    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            ca, cb = correct[i], correct[j]
            # 0 both wrong, 1 only a, 2 only b, 3 both correct
            cat = ca.astype(np.int64) + 2 * cb.astype(np.int64)
            overall = np.bincount(cat, minlength=4)
            per_class = np.bincount(y * 4 + cat, minlength=4 * c).reshape(c, 4)
            parts.lap("pair counts (bincount)")
            agreement = float(np.mean(preds[i] == preds[j]))
            parts.lap("agreement")
            kappa = float(cohen_kappa_score(preds[i], preds[j]))
            parts.lap("cohen_kappa_score")
            b, cc = int(overall[1]), int(overall[2])
            p = float(scipy.stats.binomtest(min(b, cc), b + cc, 0.5).pvalue) if b + cc else 1.0
            parts.lap("mcnemar (binomtest)")
            diff = cb.astype(np.int8) - ca.astype(np.int8)
            ci = bootstrap_ci(diff, boot_reps, rng)
            parts.lap("bootstrap CI")
            pairs.append({
                "a": names[i], "b": names[j],
                "both_correct": int(overall[3]), "only_a": b, "only_b": cc, "both_wrong": int(overall[0]),
                "per_class": [{"both_correct": int(r[3]), "only_a": int(r[1]), "only_b": int(r[2]),
                               "both_wrong": int(r[0])} for r in per_class],
                "agreement": agreement, "kappa": kappa, "mcnemar_p": p,
                "acc_diff": float(cb.mean() - ca.mean()), "acc_diff_ci": ci,
            })
    n_correct = np.bincount(np.sum(correct, axis=0), minlength=len(names) + 1).tolist()
    parts.lap("n_correct")
    return {"n": n, "classes": classes, "models": models, "pairs": pairs, "n_correct": n_correct}, parts.t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("study")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print the figures and time as JSON")
    ap.add_argument("--full", action="store_true", help="with --json: also confusion matrices etc.")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = ap.parse_args()

    best, best_parts, res, times = None, None, None, []
    for _ in range(max(1, args.reps)):
        t0 = time.perf_counter()
        res, part_t = analyse(args.study, args.boot, args.seed)
        dt = time.perf_counter() - t0
        times.append(dt)
        if best is None or dt < best:
            best, best_parts = dt, dict(part_t)

    if args.json:
        out = {"seconds": best, "runs": times, "parts": best_parts}
        if args.full:
            out.update(res)
        else:
            out["models"] = [{k: m[k] for k in ("name", "accuracy", "macro_f1", "ece", "top_k")}
                             for m in res["models"]]
            out["pairs"] = [{k: p[k] for k in ("a", "b", "both_correct", "only_a", "only_b", "both_wrong",
                                                "agreement", "kappa", "mcnemar_p", "acc_diff", "acc_diff_ci")}
                            for p in res["pairs"]]
            out["n_correct"] = res["n_correct"]
        json.dump(out, sys.stdout)
        print()
        return 0

    print(f"study {args.study}: {res['n']:,} instances, {len(res['classes'])} classes, "
          f"{len(res['models'])} models")
    for m in res["models"]:
        tk = "  ".join(f"top{k} {v:.4f}" for k, v in m["top_k"].items())
        print(f"  {m['name']:<12} acc {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  "
              f"ECE {m['ece']:.4f}  {tk}")
    for p in res["pairs"]:
        lo, hi = p["acc_diff_ci"]
        print(f"  {p['a']} vs {p['b']}: both {p['both_correct']} only_a {p['only_a']} only_b {p['only_b']} "
              f"neither {p['both_wrong']}  agree {p['agreement']:.4f}  kappa {p['kappa']:.4f}  "
              f"McNemar p {p['mcnemar_p']:.3g}  diff {p['acc_diff']:+.4f} [{lo:+.4f}, {hi:+.4f}]")
    print(f"time: best {best:.3f} s of {len(times)} ({', '.join(f'{t:.3f}' for t in times)})")
    for name, t in sorted(best_parts.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<34} {t:8.3f} s  {100 * t / best:5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())

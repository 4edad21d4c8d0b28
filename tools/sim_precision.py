#!/usr/bin/python3
"""How far nncmp's neuron correlation and linear CKA are from an exact float64 computation.

Usage: tools/sim_precision.py STUDY [--model a] [--with b] [--layer fc] [--nncmp ./nncmp]
       tools/sim_precision.py --adversarial DIR [--nncmp ./nncmp]

nncmp multiplies shifted float32 rows with float32 accumulation over spans of 4096 rows and sums
the spans in double (src/core/similarity.c). This script runs `nncmp similarity --cka --matrix
--json` and compares every r and the CKA with a float64 reference: column means and centred
products both in float64 (two passes, in chunks), no float32 arithmetic at all. It prints the
largest |r - r64| and the relative CKA error, and exits 1 when either is above 1e-5.

--adversarial DIR writes into DIR (and then checks) studies made to hurt float32 accumulation:
  means    means of 1e4 .. 1e5 against unit spread (cancellation if the data were not centred
           first), pairs correlated at 0.9999, 0.5 and 0;
  rows     4M rows (float32 error grows with the rows summed in one float32 accumulator);
  drift    the mean moves from -50 to +50 along the rows, 1 of spread, and rows with NaN.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

LIMIT = 1e-5


def reference(x, y, chunk=65536):
    """r (float64, NaN for a constant neuron) and CKA over the rows finite in both."""
    n = x.shape[0]
    keep = np.ones(n, bool)
    for lo in range(0, n, chunk):
        keep[lo:lo + chunk] = (np.isfinite(x[lo:lo + chunk]).all(1) &
                               np.isfinite(y[lo:lo + chunk]).all(1))
    rows = np.flatnonzero(keep)
    mx = np.zeros(x.shape[1])
    my = np.zeros(y.shape[1])
    for lo in range(0, rows.size, chunk):
        r = rows[lo:lo + chunk]
        mx += x[r].astype(np.float64).sum(0)
        my += y[r].astype(np.float64).sum(0)
    mx /= rows.size
    my /= rows.size
    xy = np.zeros((x.shape[1], y.shape[1]))
    xx = np.zeros((x.shape[1],) * 2)
    yy = np.zeros((y.shape[1],) * 2)
    for lo in range(0, rows.size, chunk):
        r = rows[lo:lo + chunk]
        a = x[r].astype(np.float64) - mx
        b = y[r].astype(np.float64) - my
        xy += a.T @ b
        xx += a.T @ a
        yy += b.T @ b
    dx, dy = np.sqrt(np.diag(xx)), np.sqrt(np.diag(yy))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.clip(xy / np.outer(dx, dy), -1, 1)
    r[dx == 0, :] = np.nan
    r[:, dy == 0] = np.nan
    cka = float(np.sum(xy * xy) / (np.linalg.norm(xx) * np.linalg.norm(yy)))
    return r, cka


def check(study, model, other, layer, nncmp):
    cmd = [nncmp, "similarity", study, "--model", model, "--layer", layer, "--with",
           f"{other}.{layer}", "--cka", "--matrix", "--json"]
    env = dict(os.environ, NNCMP_CACHE="0")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"sim_precision: {' '.join(cmd)} failed: {out.stderr.strip()}")
    got = json.loads(out.stdout)
    r_n = np.array([[np.nan if v is None else v for v in row] for row in got["matrix"]])
    load = lambda m: np.load(os.path.join(study, "models", m, "act", layer + ".npy"), mmap_mode="r")
    r64, cka64 = reference(load(model), load(other))
    both = np.isnan(r_n) & np.isnan(r64)
    if (np.isnan(r_n) != np.isnan(r64)).any():
        print(f"{study}: NaN pattern differs", file=sys.stderr)
        return False
    err_r = float(np.max(np.where(both, 0, np.abs(r_n - r64))))
    err_cka = abs(got["cka"] - cka64) / abs(cka64)
    ok = err_r <= LIMIT and err_cka <= LIMIT
    print(f"{study} ({model}.{layer} vs {other}.{layer}, {got['used']} rows used): "
          f"max |r - r64| = {err_r:.2e}, CKA {got['cka']:.9f} vs {cka64:.9f} "
          f"(relative {err_cka:.2e}) {'ok' if ok else 'ABOVE ' + str(LIMIT)}")
    return ok


def write_study(d, x, y):
    n = x.shape[0]
    for m, a in (("a", x), ("b", y)):
        os.makedirs(os.path.join(d, "models", m, "act"), exist_ok=True)
        p = np.full((n, 2), 0.5, np.float32)
        np.save(os.path.join(d, "models", m, "probs.npy"), p)
        np.save(os.path.join(d, "models", m, "act", "fc.npy"), a.astype(np.float32))
    np.save(os.path.join(d, "labels.npy"), np.zeros(n, np.int64))
    with open(os.path.join(d, "classes.txt"), "w") as f:
        f.write("zero\none\n")


def adversarial(root):
    rng = np.random.default_rng(20)
    studies = []

    def pairs(n, h, rs):
        """x (n × h) and y whose column j correlates with x's at rs[j % len(rs)]."""
        x = rng.standard_normal((n, h))
        e = rng.standard_normal((n, h))
        c = np.array([rs[j % len(rs)] for j in range(h)])
        return x, c * x + np.sqrt(1 - c * c) * e

    x, y = pairs(500_000, 48, [0.9999, 0.5, 0.0])
    off = np.logspace(4, 5, 48)
    studies.append(("means", x + off, y - off[::-1]))
    x, y = pairs(4_000_000, 12, [0.9999, 0.5, 0.0])
    studies.append(("rows", x + 3, y * 2 - 1))
    x, y = pairs(600_000, 32, [0.999, 0.3])
    drift = np.linspace(-50, 50, x.shape[0])[:, None]
    x, y = x + drift, y + 0.5 * drift
    x[rng.choice(x.shape[0], 100, replace=False), 3] = np.nan
    y[rng.choice(y.shape[0], 100, replace=False), 5] = np.inf
    studies.append(("drift", x, y))
    for name, a, b in studies:
        write_study(os.path.join(root, name), a, b)
    return [os.path.join(root, name) for name, _, _ in studies]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("study", nargs="?")
    ap.add_argument("--model", default="a")
    ap.add_argument("--with", dest="other", default="b")
    ap.add_argument("--layer", default="fc")
    ap.add_argument("--nncmp", default="./nncmp")
    ap.add_argument("--adversarial", metavar="DIR")
    args = ap.parse_args()
    if args.adversarial:
        studies = adversarial(args.adversarial)
        ok = all([check(s, "a", "b", "fc", args.nncmp) for s in studies])
    elif args.study:
        ok = check(args.study, args.model, args.other, args.layer, args.nncmp)
    else:
        ap.error("a STUDY or --adversarial DIR")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

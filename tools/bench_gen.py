#!/usr/bin/python3
"""Generates the synthetic study `make bench` measures.

Usage: tools/bench_gen.py OUT_DIR [--n N] [--classes C] [--models M] [--seed S]

Writes, by the study directory convention:
    OUT_DIR/labels.npy              int32 (N,) ground-truth class ids
    OUT_DIR/classes.txt             C names, class_000 .. class_{C-1}
    OUT_DIR/models/NAME/probs.npy   float32 (N, C) probabilities, rows sum to 1
with models named a, b, c, ... (M of them; M <= 26).

The study is cached: OUT_DIR/.complete, written last, holds the parameters as JSON. When it
exists and matches, nothing is done; otherwise the study is regenerated from scratch (so an
interrupted run, which leaves OUT_DIR/.generating behind, is redone). The generator refuses to
touch a non-empty OUT_DIR that carries neither marker, so it never clobbers a real study.

The generative model, per instance i with label y (Zipf-distributed class frequencies):
    d_i      ~ N(0, 1)                    shared difficulty: makes the models' errors correlated
    S_i      ~ N(0, 1)^C                  shared "confusable classes" noise
    E_mi     ~ N(0, 1)^C                  model m's own noise
    z_mi     = sigma * (sqrt(rho) S_i + sqrt(1 - rho) E_mi)
    z_mi[y] += beta_m + delta_y - gamma d_i            true class boosted
    z_mi[nb(y)] += kappa                              each class has one look-alike class
    p_mi     = softmax(tau_m * z_mi)                  tau_m: over/under-confidence (ECE)
beta_m is solved for on a calibration sample so model m's accuracy is ~70%, 75%, 80%, ...
Everything is drawn from per-chunk generators seeded by (seed, chunk index): deterministic for a
seed, and chunks could be produced in any order.

Extending (e.g. neuron statistics): add the parameter to params() -- a changed parameter set
invalidates the cache by itself -- and write the extra arrays in write_chunk(), which sees each
chunk's latent variables (labels, difficulty, logits) so activations can be made to depend on them.
"""

import argparse
import json
import os
import shutil
import string
import sys
import time

import numpy as np
from numpy.lib import format as npformat

FORMAT = 2  # bump when the generative code changes, so cached studies are regenerated
CHUNK = 50_000

SIGMA = 2.0  # scale of the noise logits
RHO = 0.35  # fraction of noise variance shared between models
GAMMA = 1.2  # weight of the shared per-instance difficulty
KAPPA = 1.5  # boost of each class's look-alike class
DELTA_SD = 0.6  # spread of per-class difficulty
TAU_FIRST, TAU_LAST = 1.7, 1.35  # softmax sharpness of the first and last model
ZIPF_S = 1.0  # class frequency ∝ 1 / rank^s
CALIB_N = 40_000  # rows in the sample beta_m is solved on


def params(args):
    return {
        "format": FORMAT,
        "n": args.n,
        "classes": args.classes,
        "models": args.models,
        "seed": args.seed,
        "chunk": CHUNK,
        # the generative constants, so changing one invalidates cached studies too
        "model": {"sigma": SIGMA, "rho": RHO, "gamma": GAMMA, "kappa": KAPPA, "delta_sd": DELTA_SD,
                  "tau": [TAU_FIRST, TAU_LAST], "zipf_s": ZIPF_S, "calib_n": CALIB_N},
    }


def model_names(m):
    return list(string.ascii_lowercase[:m])


def target_accuracies(m):
    """70%, 75%, 80%, ... (at most 95%; more models than that share the range)."""
    if m == 1:
        return [0.75]
    return list(np.linspace(0.70, min(0.95, 0.70 + 0.05 * (m - 1)), m))


class World:
    """Everything fixed for a seed: class frequencies, per-class difficulty, look-alikes, models."""

    def __init__(self, seed, c, m):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC1A55]))
        ranks = rng.permutation(c) + 1.0
        freq = 1.0 / ranks**ZIPF_S
        self.class_p = freq / freq.sum()
        self.delta = rng.normal(0.0, DELTA_SD, c).astype(np.float32)
        # look-alike class of each class: any other class
        self.neighbour = (np.arange(c) + rng.integers(1, c, c)) % c if c > 1 else np.zeros(1, int)
        # sharpness: with the default targets the first model is overconfident, the last underconfident
        self.tau = np.linspace(TAU_FIRST, TAU_LAST, m).astype(np.float32) if m > 1 else np.ones(1, np.float32)
        self.c, self.m = c, m
        self.beta = self._calibrate(seed)

    def latent(self, rng, rows):
        """Labels, difficulty and the per-model logits before the true-class boost beta_m."""
        c, m = self.c, self.m
        y = rng.choice(c, size=rows, p=self.class_p).astype(np.int32)
        d = rng.standard_normal(rows, dtype=np.float32)
        shared = rng.standard_normal((rows, c), dtype=np.float32)
        shared *= np.float32(SIGMA * np.sqrt(RHO))
        r = np.arange(rows)
        base_true = self.delta[y] - np.float32(GAMMA) * d
        logits = []
        for _ in range(m):
            z = rng.standard_normal((rows, c), dtype=np.float32)
            z *= np.float32(SIGMA * np.sqrt(1.0 - RHO))
            z += shared
            z[r, self.neighbour[y]] += np.float32(KAPPA) if c > 1 else 0
            z[r, y] += base_true
            logits.append(z)
        return y, d, logits

    def _calibrate(self, seed):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0xCA1B]))
        y, _, logits = self.latent(rng, CALIB_N)
        r = np.arange(CALIB_N)
        beta = np.zeros(self.m, np.float32)
        for k, (z, acc) in enumerate(zip(logits, target_accuracies(self.m))):
            true = z[r, y].copy()
            z[r, y] = -np.inf
            # correct iff true + beta > max of the others (argmax picks the first maximum; ties
            # have probability zero here)
            need = z.max(axis=1) - true
            beta[k] = np.quantile(need, acc)
        return beta


def softmax_rows(z, tau):
    z *= tau
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def write_chunk(world, rng, rows, files):
    y, _d, logits = world.latent(rng, rows)
    r = np.arange(rows)
    files["labels"].write(y.astype("<i4", copy=False).tobytes())
    for k, z in enumerate(logits):
        z[r, y] += world.beta[k]
        files["probs"][k].write(softmax_rows(z, world.tau[k]).astype("<f4", copy=False).tobytes())


def create_npy(path, dtype, shape):
    """Opens a new .npy file for sequential writing of its data, header already written.

    (Plain writes rather than np.lib.format.open_memmap: a write-mapping of the whole file keeps
    every page written so far resident in this process.)"""
    f = open(path, "wb")
    npformat.write_array_header_1_0(
        f, {"descr": npformat.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape})
    return f


def generate(out_dir, p):
    n, c, m, seed = p["n"], p["classes"], p["models"], p["seed"]
    names = model_names(m)
    world = World(seed, c, m)
    with open(os.path.join(out_dir, "classes.txt"), "w") as f:
        f.writelines(f"class_{i:03d}\n" for i in range(c))
    files = {"labels": create_npy(os.path.join(out_dir, "labels.npy"), "<i4", (n,)), "probs": []}
    for name in names:
        os.makedirs(os.path.join(out_dir, "models", name))
        files["probs"].append(create_npy(os.path.join(out_dir, "models", name, "probs.npy"), "<f4", (n, c)))
    for ci, lo in enumerate(range(0, n, CHUNK)):
        hi = min(n, lo + CHUNK)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1, ci]))
        write_chunk(world, rng, hi - lo, files)
    for f in [files["labels"]] + files["probs"]:
        f.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--models", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()
    if args.n < 1 or args.classes < 2 or not 1 <= args.models <= 26:
        ap.error("need --n >= 1, --classes >= 2, 1 <= --models <= 26")
    p = params(args)
    out = args.out_dir
    stamp = os.path.join(out, ".complete")
    marker = os.path.join(out, ".generating")

    try:
        with open(stamp) as f:
            if json.load(f) == p:
                if not args.quiet:
                    print(f"bench_gen: {out} is up to date (cached)", file=sys.stderr)
                return 0
    except (OSError, ValueError):
        pass

    os.makedirs(out, exist_ok=True)
    entries = set(os.listdir(out))
    if entries and not entries & {".complete", ".generating"}:
        print(f"bench_gen: {out} is not empty and was not made by bench_gen.py; refusing to touch it",
              file=sys.stderr)
        return 1
    open(marker, "w").close()
    if os.path.exists(stamp):
        os.remove(stamp)
    for name in ("labels.npy", "classes.txt"):
        if os.path.exists(os.path.join(out, name)):
            os.remove(os.path.join(out, name))
    shutil.rmtree(os.path.join(out, "models"), ignore_errors=True)

    t0 = time.perf_counter()
    if not args.quiet:
        print(f"bench_gen: generating {out}: {p['n']:,} instances x {p['classes']} classes x "
              f"{p['models']} models ...", file=sys.stderr)
    generate(out, p)
    with open(stamp + ".tmp", "w") as f:
        json.dump(p, f)
        f.write("\n")
    os.replace(stamp + ".tmp", stamp)
    os.remove(marker)
    if not args.quiet:
        print(f"bench_gen: done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

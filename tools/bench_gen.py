#!/usr/bin/python3
"""Generates the synthetic study `make bench` measures.

Usage: tools/bench_gen.py OUT_DIR [--n N] [--classes C] [--models M] [--h H] [--seed S]

Writes, by the study directory convention:
    OUT_DIR/labels.npy              int32 (N,) ground-truth class ids
    OUT_DIR/classes.txt             C names, class_000 .. class_{C-1}
    OUT_DIR/models/NAME/probs.npy   float32 (N, C) probabilities, rows sum to 1
    OUT_DIR/models/NAME/act/fc.npy  float32 (N, H) activations of a ReLU layer (not with --h 0)
with models named a, b, c, ... (M of them; M <= 26). At the defaults (N = 1,000,000, H = 512)
each fc.npy is 2 GB.

The study is cached: OUT_DIR/.complete, written last, holds the parameters as JSON. When it
exists and matches, nothing is done. When only the layer's parameters changed (or a run was
interrupted while it wrote the layers), only the layers are rewritten: OUT_DIR/.generating holds
the parameters of the labels and probabilities once those are complete, and is empty before.
Otherwise the study is regenerated from scratch. The generator refuses to touch a non-empty
OUT_DIR that carries neither marker, so it never clobbers a real study.

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

The layer fc (class Layer) is written after the probabilities, from them: it reads the labels
and each model's probabilities back chunk by chunk, so it can be rewritten alone. Per instance i
with label y, and per model m with prediction p_m and confidence q_m (the max probability):
    u_i   = (0.55 c_y + 0.45 c_{p_m} + w e_i,  f_i,  (q_m - 0.6) / 0.25)     latent, L dims
            c: class centres (CLASS_DIMS dims); e_i, f_i ~ N(0, 1): within-class and
            class-free variation, shared between models in the fraction LAYER_RHO of their
            variance, the rest drawn per model
    x_mi  = s_m * max(0, u_i W_m + b_m + LAYER_NOISE z_mi)                 z_mi ~ N(0, 1)^H
Each neuron loads on the class dims with a weight drawn per neuron (so some are strongly class
dependent and others not), on the confidence for a tenth of them (they separate errors from
correct predictions), and has a bias that makes 20-80% of its values exact zeros; LAYER_DEAD of
the neurons are dead (always 0). For every model after the first, a fraction LAYER_MATCH of the
neurons copy a neuron of the first model (a permutation; weight correlation LAYER_COPY), so the
correspondence finds matches (r mostly 0.5-0.8); the others are drawn afresh.
Activations are drawn from per-chunk generators seeded by (seed, 3, chunk index), and written a
chunk of rows at a time: memory stays at a few chunks of 50,000 x H floats.
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

LAYER = "fc"  # the activation layer's name
LAYER_FORMAT = 1  # bump when the layer's generative code changes
CLASS_DIMS = 24  # latent dims carrying the class (centres c_y)
FREE_DIMS = 24  # latent dims of class-free variation
WITHIN_SD = 0.8  # within-class spread w of the class dims
LAYER_RHO = 0.85  # fraction of the latent variance shared between models
LAYER_NOISE = 0.35  # per-neuron noise, against a signal of standard deviation about 1
LAYER_DEAD = 0.03  # fraction of dead neurons (always 0)
LAYER_CONF = 0.1  # fraction of neurons driven by the model's confidence
LAYER_MATCH = 0.75  # fraction of a later model's neurons that copy one of the first model's
LAYER_COPY = 0.95  # correlation of a copied neuron's weights with the original's


def params(args):
    """Everything the files depend on; "layers" (the activations) may change alone."""
    layers = {}
    if args.h:
        layers[LAYER] = {"format": LAYER_FORMAT, "h": args.h, "class_dims": CLASS_DIMS,
                         "free_dims": FREE_DIMS, "within_sd": WITHIN_SD, "rho": LAYER_RHO,
                         "noise": LAYER_NOISE, "dead": LAYER_DEAD, "conf": LAYER_CONF,
                         "match": LAYER_MATCH, "copy": LAYER_COPY}
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
        "layers": layers,
    }


def base_params(p):
    """The parameters the labels and probabilities depend on."""
    return {k: v for k, v in p.items() if k != "layers"}


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


class Layer:
    """The weights of the layer fc of every model (see the module's docstring)."""

    def __init__(self, seed, c, m, h):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0xAC7, h]))
        self.centres = rng.standard_normal((c, CLASS_DIMS), dtype=np.float32)
        first = self._neurons(rng, h)
        self.models = [first]
        for _ in range(1, m):
            w, b, s = self._neurons(rng, h)
            perm = rng.permutation(h)
            copy = rng.random(h) < LAYER_MATCH
            w[:, copy] = (LAYER_COPY * first[0][:, perm[copy]] +
                          np.sqrt(1 - LAYER_COPY**2) * w[:, copy]).astype(np.float32)
            b[copy] = first[1][perm[copy]] + rng.normal(0, 0.1, copy.sum()).astype(np.float32)
            s[copy] = first[2][perm[copy]] * np.exp(rng.normal(0, 0.2, copy.sum())).astype(np.float32)
            # a copy of a dead neuron is dead too
            b[copy & (first[1][perm] < -10)] = -50
            self.models.append((w, b, s))

    @staticmethod
    def _neurons(rng, h):
        """Weights (L, h), biases and output scales of h neurons."""
        g = rng.random(h) ** 1.5  # class loading: a few strongly class dependent, most less
        w = np.empty((CLASS_DIMS + FREE_DIMS + 1, h), np.float32)
        w[:CLASS_DIMS] = rng.standard_normal((CLASS_DIMS, h)) * np.sqrt(g / CLASS_DIMS)
        w[CLASS_DIMS:-1] = rng.standard_normal((FREE_DIMS, h)) * np.sqrt((1 - g) / FREE_DIMS)
        conf = rng.random(h) < LAYER_CONF
        w[-1] = np.where(conf, rng.choice([-1.0, 1.0], h) * rng.uniform(0.6, 1.2, h),
                         rng.normal(0, 0.1, h))
        b = rng.normal(0.0, 0.5, h).astype(np.float32)  # 20-80% zeros
        b[rng.random(h) < LAYER_DEAD] = -50
        s = np.exp(rng.normal(0.0, 0.5, h)).astype(np.float32)
        return w, b, s

    def chunk(self, rng, y, preds, confs):
        """The activations of every model for one chunk of rows (a list of (rows, h) arrays)."""
        rows = y.size
        dims = CLASS_DIMS + FREE_DIMS + 1
        shared = np.sqrt(np.float32(LAYER_RHO))
        own = np.sqrt(np.float32(1 - LAYER_RHO))
        e = rng.standard_normal((rows, CLASS_DIMS + FREE_DIMS), dtype=np.float32)
        out = []
        for (w, b, s), pred, conf in zip(self.models, preds, confs):
            u = np.empty((rows, dims), np.float32)
            u[:, :-1] = rng.standard_normal((rows, dims - 1), dtype=np.float32)
            u[:, :-1] *= own
            u[:, :-1] += shared * e
            u[:, :CLASS_DIMS] *= np.float32(WITHIN_SD)
            u[:, :CLASS_DIMS] += 0.55 * self.centres[y] + 0.45 * self.centres[pred]
            u[:, -1] = (conf - 0.6) / 0.25
            x = rng.standard_normal((rows, w.shape[1]), dtype=np.float32)
            x *= np.float32(LAYER_NOISE)
            x += u @ w
            x += b
            np.maximum(x, 0, out=x)
            x *= s
            out.append(x)
        return out


def generate_layers(out_dir, p):
    """Writes models/NAME/act/fc.npy for every model from the labels and probabilities on disk."""
    n, c, m, seed = p["n"], p["classes"], p["models"], p["seed"]
    h = p["layers"][LAYER]["h"]
    layer = Layer(seed, c, m, h)
    labels = np.load(os.path.join(out_dir, "labels.npy"), mmap_mode="r")
    probs, files = [], []
    for name in model_names(m):
        probs.append(np.load(os.path.join(out_dir, "models", name, "probs.npy"), mmap_mode="r"))
        os.makedirs(os.path.join(out_dir, "models", name, "act"), exist_ok=True)
        files.append(create_npy(os.path.join(out_dir, "models", name, "act", LAYER + ".npy"),
                                "<f4", (n, h)))
    for ci, lo in enumerate(range(0, n, CHUNK)):
        hi = min(n, lo + CHUNK)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 3, ci]))
        y = np.asarray(labels[lo:hi], dtype=np.intp)
        preds, confs = [], []
        for pr in probs:
            q = np.asarray(pr[lo:hi])
            preds.append(q.argmax(axis=1))
            confs.append(q.max(axis=1))
        for f, x in zip(files, layer.chunk(rng, y, preds, confs)):
            f.write(x.astype("<f4", copy=False).data)
    for f in files:
        f.close()


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


def read_json(path):
    """The JSON in path, or None when it is missing, empty or not JSON."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(path, value):
    """Replaces path atomically with value as JSON (None: an empty file)."""
    with open(path + ".tmp", "w") as f:
        if value is not None:
            json.dump(value, f)
            f.write("\n")
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--models", type=int, default=3)
    ap.add_argument("--h", type=int, default=512, help="neurons of the layer fc (0: no layer)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()
    if args.n < 1 or args.classes < 2 or not 1 <= args.models <= 26 or args.h < 0:
        ap.error("need --n >= 1, --classes >= 2, 1 <= --models <= 26, --h >= 0")
    p = params(args)
    out = args.out_dir
    stamp = os.path.join(out, ".complete")
    marker = os.path.join(out, ".generating")
    say = (lambda msg: None) if args.quiet else (lambda msg: print(f"bench_gen: {msg}", file=sys.stderr))

    old = read_json(stamp)
    if old == p:
        say(f"{out} is up to date (cached)")
        return 0

    os.makedirs(out, exist_ok=True)
    entries = set(os.listdir(out))
    if entries and not entries & {".complete", ".generating"}:
        print(f"bench_gen: {out} is not empty and was not made by bench_gen.py; refusing to touch it",
              file=sys.stderr)
        return 1
    # Labels and probabilities still good: those of a complete study with the same base
    # parameters, or those an interrupted run had finished (the marker names their parameters).
    keep = isinstance(old, dict) and base_params(old) == base_params(p)
    keep = keep or (old is None and read_json(marker) == base_params(p))
    write_json(marker, base_params(p) if keep else None)
    if os.path.exists(stamp):
        os.remove(stamp)

    t0 = time.perf_counter()
    if keep:
        for name in os.listdir(os.path.join(out, "models")):
            shutil.rmtree(os.path.join(out, "models", name, "act"), ignore_errors=True)
    else:
        for name in ("labels.npy", "classes.txt"):
            if os.path.exists(os.path.join(out, name)):
                os.remove(os.path.join(out, name))
        shutil.rmtree(os.path.join(out, "models"), ignore_errors=True)
        say(f"generating {out}: {p['n']:,} instances x {p['classes']} classes x "
            f"{p['models']} models ...")
        generate(out, p)
        write_json(marker, base_params(p))
    if p["layers"]:
        h = p["layers"][LAYER]["h"]
        say(f"generating the layer {LAYER} of every model in {out}: {p['n']:,} x {h} float32 "
            f"({p['n'] * h * 4 / 1e9:.1f} GB each) ...")
        generate_layers(out, p)
    write_json(stamp, p)
    os.remove(marker)
    say(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Writes tests/data/dups/: a small study with planted near-duplicates and the pairs NumPy finds
by brute force, the oracle for nncmp's near-duplicate search (src/core/dups.c, `nncmp dups`).

The study: N = 240 instances, 4 classes, one model m (probs.npy, predictions set on purpose),
its layer fc (240 x 24 float32 activations) and fc16 (the same as float16), samples.jsonl with
ids, a "split" (train/test, absent for a few) and an 8 x 8 RGB PNG image per instance (absent
for one). Planted in the activations: near-copies (cosine about 0.9999) within a predicted class,
some with a different label, some across splits, one across predicted classes, a triple, decoys
just below the threshold (about 0.99), two all-zero rows and a row with a NaN. Planted in the
pixels: exact and near copies, a 4 x 4 image that is an exact half of an 8 x 8 one (image_fit
enlarges it by 2, nearest neighbour), an all-black image.

expected.json holds, for each configuration (source, any_class, across_splits, threshold), every
pair with cosine >= threshold computed in float64 from the values as stored (rows normalized;
zero or non-finite rows left out), most similar first, and the counts left out. The script
checks that no cosine lies within 1e-4 of a threshold, so float32 products decide alike.

Run with Debian's python3 (numpy, PIL): /usr/bin/python3 tools/make_dups_fixtures.py [OUT]

Benchmark (not a test): `--bench DIR` writes a 100,000 x 512 float32 study to DIR, and
`--bench-numpy DIR` times the same blocked search in NumPy, to set beside
`time nncmp dups DIR --layer fc`.
"""
import json
import os
import shutil
import sys

import time

import numpy as np

BENCH_N, BENCH_H, BENCH_C, BENCH_BLOCK = 100_000, 512, 10, 2048


def bench_write(out):
    """A study of BENCH_N x BENCH_H float32 activations (10 predicted classes, 500 planted pairs)."""
    r = np.random.default_rng(1)
    os.makedirs(os.path.join(out, "models", "m", "act"), exist_ok=True)
    pred = r.integers(0, BENCH_C, size=BENCH_N)
    np.save(os.path.join(out, "labels.npy"), pred.astype(np.int64))
    act = np.lib.format.open_memmap(os.path.join(out, "models", "m", "act", "fc.npy"), "w+",
                                    np.float32, (BENCH_N, BENCH_H))
    for r0 in range(0, BENCH_N, 10_000):
        act[r0:r0 + 10_000] = np.maximum(0, r.normal(size=(10_000, BENCH_H)))
    src = r.choice(BENCH_N, size=1000, replace=False)
    for i, j in zip(src[:500], src[500:]):
        pred[j] = pred[i]
        act[j] = act[i] + 0.01 * r.normal(size=BENCH_H).astype(np.float32)
    probs = np.full((BENCH_N, BENCH_C), 0.5 / (BENCH_C - 1), np.float32)
    probs[np.arange(BENCH_N), pred] = 0.5
    np.save(os.path.join(out, "models", "m", "probs.npy"), probs)
    act.flush()


def bench_numpy(out, threshold=0.995):
    """The same blocked search in NumPy (float32 matmul per block pair); prints pairs and time."""
    t0 = time.time()
    act = np.load(os.path.join(out, "models", "m", "act", "fc.npy"), mmap_mode="r")
    probs = np.load(os.path.join(out, "models", "m", "probs.npy"), mmap_mode="r")
    pred = probs.argmax(axis=1)
    count = 0
    for c in range(probs.shape[1]):
        idx = np.nonzero(pred == c)[0]
        for i0 in range(0, len(idx), BENCH_BLOCK):
            a = np.asarray(act[idx[i0:i0 + BENCH_BLOCK]], np.float32)
            a /= np.linalg.norm(a, axis=1, keepdims=True)
            for j0 in range(i0, len(idx), BENCH_BLOCK):
                b = a if j0 == i0 else np.asarray(act[idx[j0:j0 + BENCH_BLOCK]], np.float32)
                if j0 != i0:
                    b /= np.linalg.norm(b, axis=1, keepdims=True)
                prod = a @ b.T
                if j0 == i0:
                    prod = np.triu(prod, 1)
                count += int((prod >= threshold).sum())
    print("numpy: %d pairs >= %g in %.2f s" % (count, threshold, time.time() - t0))


if len(sys.argv) > 2 and sys.argv[1] == "--bench":
    bench_write(sys.argv[2])
    sys.exit(0)
if len(sys.argv) > 2 and sys.argv[1] == "--bench-numpy":
    bench_numpy(sys.argv[2])
    sys.exit(0)

from PIL import Image  # noqa: E402 (only the fixtures need it)

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/dups"
if os.path.isdir(OUT):
    shutil.rmtree(OUT)
os.makedirs(os.path.join(OUT, "models", "m", "act"))
os.makedirs(os.path.join(OUT, "images"))
rng = np.random.default_rng(20261122)

N, H, C, SIDE = 240, 24, 4, 8
pred = rng.integers(0, C, size=N)
labels = pred.copy()
noisy = rng.choice(N, size=12, replace=False)
labels[noisy] = (labels[noisy] + 1) % C

# activations: ReLU of Gaussians around a class centre, so that unplanted cosines stay well
# below 0.99
centres = rng.normal(size=(C, H))
x = np.maximum(0.0, centres[pred] * 0.8 + rng.normal(size=(N, H)))
x = x + 0.05 * rng.random(size=(N, H))


def plant(i, j, noise, same_class=True):
    """Makes row j a noisy, scaled copy of row i (and its prediction alike, unless told)."""
    if same_class:
        pred[j] = pred[i]
    x[j] = x[i] * rng.uniform(0.5, 2.0) + noise * np.linalg.norm(x[i]) * rng.normal(size=H) / np.sqrt(H)


free = [i for i in range(N)]
rng.shuffle(free)
take = iter(free)
planted = []
for k in range(10):  # near-copies within a class
    i, j = next(take), next(take)
    plant(i, j, 0.01)
    planted.append((i, j))
for k in range(3):  # ... whose labels differ
    i, j = next(take), next(take)
    plant(i, j, 0.005)
    labels[j] = (pred[i] + 2) % C
    labels[i] = pred[i]
for k in range(2):  # across predicted classes: found with any class only
    i, j = next(take), next(take)
    plant(i, j, 0.01, same_class=False)
    if pred[i] == pred[j]:
        pred[j] = (pred[i] + 1) % C
i, j, k2 = next(take), next(take), next(take)  # a triple
plant(i, j, 0.008)
plant(i, k2, 0.008)
for k in range(6):  # decoys: cosine about 0.99, below the default threshold
    i, j = next(take), next(take)
    plant(i, j, 0.14)
zeros = [next(take), next(take)]
pred[zeros[1]] = pred[zeros[0]]
x[zeros] = 0.0
nan_row = next(take)
x = x.astype(np.float32)
x[nan_row, 3] = np.nan

# probabilities whose argmax is pred
logits = rng.normal(size=(N, C))
logits[np.arange(N), pred] += 6.0
probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)

# splits: train/test, a few absent
split = np.where(rng.random(N) < 0.5, "train", "test").astype(object)
for i in rng.choice(N, size=6, replace=False):
    split[i] = None

# images: random 8 x 8 RGB; planted copies
pix = rng.integers(0, 256, size=(N, SIDE, SIDE, 3)).astype(np.uint8)
small = {}  # instance -> its 4 x 4 image
ptake = iter(rng.permutation(N).tolist())
for k in range(4):  # near-copies: a few pixels nudged
    i, j = next(ptake), next(ptake)
    pix[j] = pix[i]
    for _ in range(3):
        r, c, ch = rng.integers(0, SIDE), rng.integers(0, SIDE), rng.integers(0, 3)
        pix[j, r, c, ch] = np.clip(int(pix[j, r, c, ch]) + 3, 0, 255)
for k in range(2):  # exact copies
    i, j = next(ptake), next(ptake)
    pix[j] = pix[i]
i, j = next(ptake), next(ptake)  # j is stored at 4 x 4; i is its exact enlargement
half = rng.integers(0, 256, size=(4, 4, 3)).astype(np.uint8)
pix[i] = half.repeat(2, axis=0).repeat(2, axis=1)
pix[j] = pix[i]
small[j] = half
black = next(ptake)
pix[black] = 0
no_image = next(ptake)

np.save(os.path.join(OUT, "labels.npy"), labels.astype(np.int64))
np.save(os.path.join(OUT, "models", "m", "probs.npy"), probs.astype(np.float32))
np.save(os.path.join(OUT, "models", "m", "act", "fc.npy"), x)
np.save(os.path.join(OUT, "models", "m", "act", "fc16.npy"), x.astype(np.float16))
with open(os.path.join(OUT, "classes.txt"), "w") as f:
    f.write("".join("c%d\n" % c for c in range(C)))
with open(os.path.join(OUT, "samples.jsonl"), "w") as f:
    for i in range(N):
        rec = {"id": "s%03d" % i}
        if split[i] is not None:
            rec["split"] = split[i]
        if i != no_image:
            rec["image"] = "images/%03d.png" % i
            img = small.get(i, pix[i])
            Image.fromarray(img, "RGB").save(os.path.join(OUT, "images", "%03d.png" % i))
        f.write(json.dumps(rec) + "\n")


def pairs(vec, valid, any_class, across, threshold):
    """Every pair (a < b) of valid rows with cosine >= threshold, by brute force in float64."""
    v = vec.astype(np.float64)
    norm = np.sqrt((v * v).sum(axis=1))
    u = v / np.where(valid, norm, 1.0)[:, None]
    cos = u @ u.T
    ok = valid[:, None] & valid[None, :] & np.triu(np.ones((N, N), bool), 1)
    if not any_class:
        ok &= pred[:, None] == pred[None, :]
    if across:
        has = np.array([s is not None for s in split])
        ok &= has[:, None] & has[None, :]
        ok &= np.array([[split[a] != split[b] for b in range(N)] for a in range(N)])
    band = np.abs(cos[ok] - threshold) < 1e-4
    assert not band.any(), "a cosine lies within 1e-4 of threshold %g" % threshold
    a, b = np.nonzero(ok & (cos >= threshold))
    found = sorted(zip(a.tolist(), b.tolist(), cos[a, b].tolist()), key=lambda p: (-p[2], p[0], p[1]))
    return [[p[0], p[1], p[2]] for p in found]


expected = {"n": N, "configs": []}
finite = np.isfinite(x.astype(np.float64)).all(axis=1)
sources = {
    "fc": x,
    "fc16": x.astype(np.float16),
    "pixels": pix.reshape(N, -1),
}
for name, vec in sources.items():
    v = vec.astype(np.float64)
    fin = np.isfinite(v).all(axis=1)
    nz = (v != 0).any(axis=1)
    valid = fin & nz
    if name == "pixels":
        valid[no_image] = False
    for any_class in (False, True):
        for across in (False, True):
            for threshold in (0.995, 0.95):
                ok = valid.copy()
                no_split = 0
                if across:
                    no_split = sum(s is None for s in split)
                found = pairs(vec, ok, any_class, across, threshold)
                expected["configs"].append({
                    "source": name,
                    "any_class": any_class,
                    "across_splits": across,
                    "threshold": threshold,
                    "count": len(found),
                    "zero": int((fin & ~nz).sum()) - (1 if name == "pixels" and not nz[no_image] else 0),
                    "nonfinite": int((~fin).sum()),
                    "no_split": no_split,
                    "no_image": 1 if name == "pixels" else 0,
                    "pairs": found,
                })
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
for c in expected["configs"]:
    print(c["source"], "any" if c["any_class"] else "same", "across" if c["across_splits"] else "all",
          c["threshold"], c["count"], "pairs")

#!/usr/bin/python3
"""Writes tests/data/kernels/: a small study with convolution weights and (N, C, H, W)
activations made by NumPy, and what NumPy computes from them, the oracle for nncmp's kernel map
(src/core/kernels.c), channel maxima (src/core/channels.c) and the `kernels`, `neurons
--channels` and `patches` subcommands. Run with Debian's python3 (numpy):

    /usr/bin/python3 tools/make_kernel_fixtures.py [OUTDIR]

Kernel map: W of shape (out, in, kh, kw) drawn as CNNComparator does, one column of tiles per
output kernel and one kh x kw tile per input channel: map = W.transpose(1, 2, 0, 3).reshape(in*kh,
out*kw), i.e. map[c*kh + y, o*kw + x] = W[o, c, y, x]. With B the values are B - A and the level of
d = 2|a - b| / (|a| + |b|) (0 when both are 0) in [0, .1), [.1, .5), [.5, 1), [1, 2]. Scale: the
99th percentile of |v| (numpy's linear interpolation), the max |v| when that is 0.

Channel maxima: for activations X of shape (N, C, H, W), M = nanmax(X, axis=(2, 3)) in float32
(NaN when a channel of an instance is all NaN; +inf stays). Channel statistics are those of the
neurons command over the finite values of M's columns: mean, sample std (ddof 1), and
d = (mean_S - mean_R) / s_pooled for S = the instances with label 1. Patches: per channel, the
instances by M descending (ties by lower index, NaN last), with the (y, x) of the first maximum in
C order, and the image region of that cell: x0 = floor(x w / W), x1 = max(floor((x + 1) w / W),
x0 + 1), likewise for y with h and H (w x h the image's size; instances without an image in
samples.jsonl have none). Image 0 is smaller than the feature map, so the "+ 1" rule shows.
"""
import json
import os
import sys

import numpy as np
from PIL import Image

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/kernels"
STUDY = os.path.join(OUT, "study")
rng = np.random.default_rng(20261202)
LEVELS = [0.0, 0.1, 0.5, 1.0, 2.0]


def save(rel, a):
    path = os.path.join(STUDY, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, a)
    back = np.load(path)
    assert back.dtype == a.dtype and back.shape == a.shape


def num(v):
    v = float(v)
    if np.isnan(v):
        return None
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def scale(v):
    f = np.abs(v[np.isfinite(v)].astype(np.float64))
    if f.size == 0:
        return 0.0
    s = float(np.percentile(f, 99))
    return s if s != 0 else float(f.max())


def levels(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    den = np.abs(a) + np.abs(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(den > 0, 2 * np.abs(a - b) / den, 0.0)
    lv = np.digitize(d, LEVELS[1:4])  # [0,.1) -> 0, ..., [1, 2] -> 3
    lv[~(np.isfinite(a) & np.isfinite(b))] = 255
    return lv


N, C, H, W = 12, 4, 3, 5
labels = (np.arange(N) % 3 == 1).astype(np.int64)
save("labels.npy", labels)
save("models/a/pred.npy", labels.copy())
save("models/b/pred.npy", np.zeros(N, np.int64))
SIZES = {i: ((7, 2) if i == 0 else (20, 9)) for i in range(0, N, 2)}  # (w, h)
os.makedirs(os.path.join(STUDY, "images"), exist_ok=True)
with open(os.path.join(STUDY, "samples.jsonl"), "w") as f:
    for i in range(N):
        rec = {"id": "s%02d" % i}
        if i in SIZES:
            rec["image"] = "images/%02d.png" % i
            w, h = SIZES[i]
            px = (rng.random((h, w, 3)) * 255).astype(np.uint8)
            Image.fromarray(px, "RGB").save(os.path.join(STUDY, rec["image"]))
        f.write(json.dumps(rec) + "\n")

# --- weights: a (3, 2, 2, 3) conv in A and B, a 2-D layer --------------------------------------
wa = (rng.standard_normal((3, 2, 2, 3)) * 0.3).astype(np.float32)
wb = (wa + rng.standard_normal(wa.shape) * 0.1).astype(np.float32)
wa[0, 0, 0, 0] = 0.0
wb[0, 0, 0, 0] = 0.0          # both zero: d = 0
wb[1, 1, 1, 2] = -wa[1, 1, 1, 2]  # sign flip: d = 2
wa[2, 0, 1, 1] = 0.0           # appears: d = 2
wb[2, 1, 0, 0] = wa[2, 1, 0, 0] * np.float32(1.5)  # d = 0.4
save("models/a/weights/conv.npy", wa)
save("models/b/weights/conv.npy", wb)
save("models/a/weights/fc.npy", (rng.standard_normal((2, 4))).astype(np.float32))
save("models/b/weights/fc.npy", (rng.standard_normal((2, 4))).astype(np.float32))
save("models/b/weights/conv_other.npy", wb[:, :1].copy())

out_, in_, kh, kw = wa.shape
amap = wa.astype(np.float64).transpose(1, 2, 0, 3).reshape(in_ * kh, out_ * kw)
dv = wb.astype(np.float64) - wa.astype(np.float64)
dmap = dv.transpose(1, 2, 0, 3).reshape(in_ * kh, out_ * kw)
lv = levels(wa, wb)
lmap = lv.transpose(1, 2, 0, 3).reshape(in_ * kh, out_ * kw)

# --- activations: (N, C, H, W) float32 and float16, a flat layer --------------------------------
x = rng.standard_normal((N, C, H, W)).astype(np.float32)
x[3, 1, 2, 4] = np.nan
x[5, 2] = np.nan               # a whole channel of one instance: its maximum is NaN
x[7, 0, 1, 1] = np.inf         # left out of the statistics, counted
x[8, 3] = x[8, 3].max()        # the maximum everywhere: the first position (0, 0) wins
x[9, 1, 0, 2] = 5.0            # a clear top for channel 1
save("models/a/act/conv.npy", x)
save("models/a/act/conv16.npy", x.astype(np.float16))
save("models/a/act/fc.npy", rng.standard_normal((N, 6)).astype(np.float32))

with np.errstate(invalid="ignore"):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m = np.nanmax(x, axis=(2, 3)).astype(np.float32)
        m16 = np.nanmax(x.astype(np.float16).astype(np.float32), axis=(2, 3))

chans = []
S = labels == 1
for c in range(C):
    col = m[:, c].astype(np.float64)
    fin = np.isfinite(col)
    s_in, s_out = col[fin & S], col[fin & ~S]
    pooled = np.sqrt((((s_in - s_in.mean()) ** 2).sum() + ((s_out - s_out.mean()) ** 2).sum())
                     / (s_in.size + s_out.size - 2))
    d = (s_in.mean() - s_out.mean()) / pooled
    # patches: by maximum descending, ties by lower index, NaN last
    key = np.where(np.isnan(m[:, c]), -np.inf, m[:, c])
    order = sorted(range(N), key=lambda i: (np.isnan(m[i, c]), -key[i], i))
    top = []
    for i in order:
        if np.isnan(m[i, c]):
            continue
        flat = x[i, c].reshape(-1)
        p = int(np.nanargmax(flat))
        y, xx = p // W, p % W
        hit = {"index": i, "value": num(m[i, c]), "y": y, "x": xx}
        if i in SIZES:
            w, h = SIZES[i]
            x0, y0 = xx * w // W, y * h // H
            hit["box"] = [x0, y0, max((xx + 1) * w // W, x0 + 1), max((y + 1) * h // H, y0 + 1)]
            hit["image_size"] = [w, h]
        else:
            hit["box"] = None
        top.append(hit)
    chans.append({"mean": num(col[fin].mean()), "std": num(col[fin].std(ddof=1)),
                  "min": num(col[fin].min()), "max": num(col[fin].max()),
                  "nan": int((~fin).sum()), "d": num(d), "top": top})

expected = {
    "shape": list(wa.shape),
    "map_a": amap.tolist(),
    "scale_a": scale(wa),
    "map_diff": dmap.tolist(),
    "scale_diff": scale(dv),
    "levels": lmap.tolist(),
    "act_shape": [N, C, H, W],
    "chmax": [[num(v) for v in row] for row in m],
    "chmax16": [[num(v) for v in row] for row in m16],
    "channels": chans,
}
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)

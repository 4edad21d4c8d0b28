"""tests/screen/saliency_study.py SRC DST — a copy of the digits study (SRC) with what the saliency
overlay and the patches grid need and the demo may lack: models/cnn and models/cnn_early get
(N, 4, 4, 4) activations of a layer "pool" (2 x 2 means of the image's brightness times
per-channel gains plus noise, so each channel peaks on the white paper around the dark digit) and
Grad-CAM-like (N, 4, 4) float16 maps (cnn: the pooled brightness, cnn_early: its complement, the
ink), both with NumPy. The images, labels, classes, samples
and predictions are the demo's, copied."""
import os
import shutil
import sys

import numpy as np
from skimage import io

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for f in ("classes.txt", "labels.npy", "samples.jsonl"):
    shutil.copy(os.path.join(src, f), dst)
if not os.path.exists(os.path.join(dst, "images")):  # copied: a link would leave the study
    shutil.copytree(os.path.join(src, "images"), os.path.join(dst, "images"))
ids = [l for l in open(os.path.join(src, "samples.jsonl"))]
n = len(ids)
import json

imgs = np.stack([io.imread(os.path.join(src, json.loads(l)["image"])).astype(np.float64) / 255
                 for l in ids])  # (n, 8, 8)
pooled = imgs.reshape(n, 4, 2, 4, 2).mean(axis=(2, 4))  # (n, 4, 4) brightness
rng = np.random.RandomState(7)
for name, probs in (("cnn", "probs.npy"), ("cnn_early", "probs.npy")):
    md = os.path.join(dst, "models", name)
    os.makedirs(os.path.join(md, "act"), exist_ok=True)
    os.makedirs(os.path.join(md, "saliency"), exist_ok=True)
    shutil.copy(os.path.join(src, "models", name, probs), md)
    gains = rng.uniform(0.5, 2.0, size=4)
    act = pooled[:, None, :, :] * gains[None, :, None, None]
    act = act + rng.uniform(0, 0.3, size=act.shape)  # varied, and no ties
    np.save(os.path.join(md, "act", "pool.npy"), act.astype(np.float32))
    sal = pooled if name == "cnn" else 1 - pooled
    mx = sal.reshape(n, -1).max(axis=1)[:, None, None]
    np.save(os.path.join(md, "saliency", "pool.npy"), (sal / np.where(mx > 0, mx, 1)).astype(np.float16))

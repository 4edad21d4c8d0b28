#!/usr/bin/python3
"""nncmp saliency on the digits demo against NumPy and scikit-image: argv = study, json of
--index I, json of --filter 'gt == 3', I. Prints what differs; exit 1 if anything does."""
import json
import sys

import numpy as np
from skimage.metrics import structural_similarity

study, f_index, f_filter, idx = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
maps = {m: np.load(f"{study}/models/{m}/saliency/conv2.npy").astype(np.float64)
        for m in ("cnn", "cnn_early")}
labels = np.load(f"{study}/labels.npy")


def norm(a):
    mx = a.max()
    return a / mx if mx > 0 else np.zeros_like(a)


def sim(i):
    a, b = norm(maps["cnn"][i]), norm(maps["cnn_early"][i])
    return np.abs(a - b).mean(), structural_similarity(a, b, data_range=1)


bad = []
j = json.load(open(f_index))
got = {m["name"]: np.array(m["map"]) for m in j["models"]}
for m in maps:
    if m not in got or got[m].shape != (8, 8) or np.abs(got[m] - maps[m][idx]).max() > 1e-6:
        bad.append(f"--index {idx}: {m}'s map differs from saliency/conv2.npy")
l1, ss = sim(idx)
s = j["similarity"][0]
if abs(s["l1"] - l1) > 1e-6 or abs(s["ssim"] - ss) > 1e-6:
    bad.append(f"--index {idx}: l1 {s['l1']} ssim {s['ssim']}, NumPy/skimage {l1} {ss}")
j = json.load(open(f_filter))
sel = np.nonzero(labels == 3)[0]
ls = np.array([sim(i) for i in sel])
s = j["similarity"][0]
if j["n"] != len(sel):
    bad.append(f"--filter: n {j['n']}, NumPy {len(sel)}")
if abs(s["l1"] - ls[:, 0].mean()) > 1e-6 or abs(s["ssim"] - ls[:, 1].mean()) > 1e-6:
    bad.append(f"--filter: l1 {s['l1']} ssim {s['ssim']}, NumPy/skimage {ls.mean(0)}")
print("; ".join(bad))
sys.exit(1 if bad else 0)

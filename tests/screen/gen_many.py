#!/usr/bin/python3
"""tests/screen/gen_many.py DIR — a study of 30 models: 2000 instances, 10 classes, each model's
probabilities from a noisy copy of the truth (accuracy from about 55% to 95%), with ids and
texts. Deterministic (seed 18). Prints nothing; the screen test reads the files for its oracle."""
import json
import os
import sys

import numpy as np

N, C, M = 2000, 10, 30
out = sys.argv[1]
rng = np.random.default_rng(18)
os.makedirs(out, exist_ok=True)
y = rng.integers(0, C, N)
np.save(os.path.join(out, "labels.npy"), y.astype(np.int64))
with open(os.path.join(out, "classes.txt"), "w") as f:
    f.write("\n".join("class-%d" % c for c in range(C)) + "\n")
with open(os.path.join(out, "samples.jsonl"), "w") as f:
    for i in range(N):
        f.write(json.dumps({"id": "s%04d" % i, "text": "sample %d of class %d" % (i, y[i])}) + "\n")
for m in range(M):
    d = os.path.join(out, "models", "model-%02d" % m)
    os.makedirs(d, exist_ok=True)
    logits = rng.normal(0, 1, (N, C))
    logits[np.arange(N), y] += 1.0 + 3.0 * m / (M - 1)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.save(os.path.join(d, "probs.npy"), p.astype(np.float32))

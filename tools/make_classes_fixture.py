#!/usr/bin/python3
"""A study for the screens, not the numbers: tests/data/classes15/.

Real studies have class names that share a prefix (`class-00` .. `class-14`), more than eight
classes (so hues repeat), texts with newlines and tabs, a model that is mostly wrong, a layer
with activations (fc1) and a layer with only weights (fc2), as a real export often has.

  labels.npy        int64 (300,), every class 20 times
  classes.txt       class-00 .. class-14
  samples.jsonl     id t000 .. t299, a text of two or three lines, some with tabs
  models/good/      probs.npy (about 85% right), act/fc1.npy (300, 16), weights/fc1.npy,
                    weights/fc2.npy (15, 16)
  models/poor/      probs.npy (about 25% right)

Deterministic (its own seed); numpy only. Usage: /usr/bin/python3 tools/make_classes_fixture.py
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "classes15")
N, C, H = 300, 15, 16
rng = np.random.default_rng(1515)


def probs_for(labels, right):
    """Rows of probabilities whose argmax is the label on a `right` fraction of the rows."""
    p = rng.dirichlet(np.full(C, 0.3), size=len(labels)).astype(np.float64)
    ok = rng.random(len(labels)) < right
    for i, y in enumerate(labels):
        top = y if ok[i] else (y + 1 + rng.integers(C - 1)) % C
        p[i, top] += 2.0
    p /= p.sum(axis=1, keepdims=True)
    return p.astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    labels = np.repeat(np.arange(C), N // C)
    rng.shuffle(labels)
    np.save(os.path.join(OUT, "labels.npy"), labels.astype(np.int64))
    with open(os.path.join(OUT, "classes.txt"), "w") as f:
        f.write("".join("class-%02d\n" % c for c in range(C)))
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    with open(os.path.join(OUT, "samples.jsonl"), "w") as f:
        for i in range(N):
            w = [words[(i + k) % len(words)] for k in range(6)]
            text = "%s %s\n%s\t%s" % (w[0], w[1], w[2], w[3])
            if i % 3 == 0:
                text += "\n\t%s %s" % (w[4], w[5])
            f.write(json.dumps({"id": "t%03d" % i, "text": text, "split": "test"}) + "\n")
    for name, right in (("good", 0.85), ("poor", 0.25)):
        d = os.path.join(OUT, "models", name)
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "probs.npy"), probs_for(labels, right))
    good = os.path.join(OUT, "models", "good")
    os.makedirs(os.path.join(good, "act"), exist_ok=True)
    os.makedirs(os.path.join(good, "weights"), exist_ok=True)
    centers = rng.normal(size=(C, H))
    act = np.maximum(centers[labels] + 0.5 * rng.normal(size=(N, H)), 0).astype(np.float32)
    np.save(os.path.join(good, "act", "fc1.npy"), act)
    np.save(os.path.join(good, "weights", "fc1.npy"), rng.normal(size=(H, 8)).astype(np.float32))
    np.save(os.path.join(good, "weights", "fc2.npy"), rng.normal(size=(C, H)).astype(np.float32))


if __name__ == "__main__":
    main()

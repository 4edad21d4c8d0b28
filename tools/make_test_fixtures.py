#!/usr/bin/python3
"""Writes tests/data/npy/: .npy files made by NumPy itself, the oracle for nncmp's npy reader.

Every supported dtype in both byte orders, C and Fortran order, format versions 1-3, with the
values NumPy reads back recorded in expected.json. Run with Debian's python3 (numpy).
"""
import json
import os
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/npy"
os.makedirs(OUT, exist_ok=True)

base = np.array([[0, 1, -2, 3], [4.5, -5.25, 6, 7], [8, 9, 10, 11]])
kinds = ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]
expected = {}
for kind in kinds:
    for order in "<>":
        if kind in ("i1", "u1", "b1") and order == ">":
            continue  # one byte: byte order does not exist
        for layout in "CF":
            dt = np.dtype(order + kind if kind not in ("i1", "u1", "b1") else "|" + kind)
            if kind[0] == "u":
                vals = np.abs(base).round()
            elif kind[0] == "i":
                vals = base.round()
            elif kind == "b1":
                vals = base != 0
            else:
                vals = base
            a = np.asarray(vals, dtype=dt)
            a = np.asfortranarray(a) if layout == "F" else np.ascontiguousarray(a)
            name = f"{kind}_{'le' if order == '<' else 'be'}_{layout}.npy"
            np.save(os.path.join(OUT, name), a)
            back = np.load(os.path.join(OUT, name))
            expected[name] = back.astype(np.float64).tolist()

for version in [(2, 0), (3, 0)]:
    name = f"f4_v{version[0]}.npy"
    a = base.astype("<f4")
    with open(os.path.join(OUT, name), "wb") as f:
        np.lib.format.write_array(f, a, version=version)
    expected[name] = np.load(os.path.join(OUT, name)).astype(np.float64).tolist()

vec = np.arange(5, dtype="<i8") * 3 - 4
np.save(os.path.join(OUT, "vector_i8.npy"), vec)
expected["vector_i8.npy"] = [[float(v)] for v in vec]

half = np.array([[0.0, -0.0, 65504.0, 6.1035156e-05], [5.96e-08, np.inf, -np.inf, 1.0]], "<f2")
np.save(os.path.join(OUT, "f2_special.npy"), half)
expected["f2_special.npy"] = [[float(v) if np.isfinite(v) else ("inf" if v > 0 else "-inf")
                               for v in row] for row in half.astype(np.float64)]

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=0, sort_keys=True)
print(f"{len(expected)} fixtures in {OUT}")

#!/usr/bin/python3
"""Writes tests/data/safetensors/: safetensors files and a study that reads from them.

Also the seeds of tests/fuzz/fuzz_safetensors.c (a byte choosing the tensor, then a file).

The safetensors package is not needed: the files are written per the format with numpy, json and
struct (an 8-byte little-endian header length N, N bytes of JSON, then the byte buffer the
data_offsets count from). bfloat16 is float32's upper half, rounded to nearest even; the value
recorded is that half widened back (bits << 16). expected.json holds, for every tensor, its shape
and its values as float64 rows (the first dimension by the product of the others), the oracle for
test_safetensors.c. Run with Debian's python3 (numpy).
"""
import json
import os
import struct
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/safetensors"
os.makedirs(OUT, exist_ok=True)


def bf16_bits(x):
    """float32 values to bfloat16 bit patterns, rounded to nearest even."""
    u = np.asarray(x, dtype="<f4").view("<u4").astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype("<u2")


def bf16_value(bits):
    return (bits.astype(np.uint32) << 16).view("<f4").astype(np.float64)


class Tensor:
    def __init__(self, dtype, array, raw=None, values=None):
        self.dtype = dtype
        self.shape = list(array.shape)
        self.raw = raw if raw is not None else np.ascontiguousarray(array).tobytes()
        self.values = values if values is not None else np.asarray(array, np.float64)


def tensor(dtype, values):
    values = np.asarray(values)
    if dtype == "BF16":
        bits = bf16_bits(values)
        return Tensor(dtype, bits, bits.tobytes(), bf16_value(bits))
    npdt = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I8": "i1", "I16": "<i2", "I32": "<i4",
            "I64": "<i8", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8",
            "BOOL": "?"}[dtype]
    a = values.astype(npdt)
    return Tensor(dtype, a, a.tobytes(), a.astype(np.float64))


def write(path, tensors, metadata=None, extra=0):
    """Writes tensors (name -> Tensor, in that order), the header padded with spaces so that the
    data starts 8-aligned, then by `extra` more (to misalign it)."""
    header, buf = {}, b""
    for tname, t in tensors.items():
        header[tname] = {"dtype": t.dtype, "shape": t.shape,
                         "data_offsets": [len(buf), len(buf) + len(t.raw)]}
        buf += t.raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((-len(text) - 8) % 8 + extra)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + buf)


def rows(t):
    v = np.asarray(t.values, np.float64)
    if v.ndim == 0:
        v = v.reshape(1, 1)
    elif v.ndim == 1:
        v = v.reshape(-1, 1)
    else:
        v = v.reshape(v.shape[0], int(np.prod(v.shape[1:])))
    return [[x if np.isfinite(x) else ("inf" if x > 0 else "-inf") for x in r]
            for r in v.tolist()]


expected = {}


def record(file, tensors):
    expected[file] = {n: {"dtype": t.dtype, "shape": t.shape, "rows": rows(t)}
                      for n, t in tensors.items()}


# every dtype, a 3-D tensor, a scalar, a vector, an empty tensor, and one of a dtype nncmp does
# not read (its bytes are there; asking for it must fail with a message, the others must open)
base = np.array([[0, 1, -2, 3], [4.5, -5.25, 6, 7], [8, 9, 10, 11]])
frac = np.array([[0.1, -1.7, 3.14159, 1e-3], [65504, -0.0, 2.5, 1 / 3], [-100.125, 7, 0.5, 9]])
dtypes = {}
for dt in ["F16", "BF16", "F32", "F64", "I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64",
           "BOOL"]:
    if dt[0] == "U":
        v = np.abs(base).round()
    elif dt[0] == "I":
        v = base.round()
    elif dt == "BOOL":
        v = base != 0
    else:
        v = frac
    dtypes[dt] = tensor(dt, v)
dtypes["I64_big"] = tensor("I64", np.array([-(2**53), 2**53, -1], dtype=np.int64))
dtypes["conv"] = tensor("F32", np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 8 - 1)
dtypes["scalar"] = tensor("F64", np.array(2.75))
dtypes["vec"] = tensor("I32", np.array([5, -4, 3, -2, 1]))
dtypes["empty"] = tensor("F32", np.zeros((0, 4)))
dtypes["bf16_special"] = tensor("BF16", np.array([1.0, -2.5, np.inf, -np.inf, 1e-40, 3.0e38]))
dtypes["f16_special"] = tensor("F16", np.array([65504.0, 6.1035156e-05, 5.96e-08, np.inf]))
fp8 = Tensor("F8_E4M3", np.zeros(4, np.uint8), b"\x38\x40\x44\x48", np.zeros(4))
write(os.path.join(OUT, "dtypes.safetensors"), {**dtypes, "fp8": fp8},
      metadata={"format": "pt", "source": "tools/make_safetensors_fixtures.py"})
record("dtypes.safetensors", dtypes)

single = {"only": tensor("F32", frac)}
write(os.path.join(OUT, "single.safetensors"), single)
record("single.safetensors", single)

two = {"b": tensor("F32", base[:2]), "a": tensor("F16", base[1:])}
write(os.path.join(OUT, "two.safetensors"), two, metadata={})
record("two.safetensors", two)

# a header of length 8k + 1: the tensor data starts at an odd offset
odd = {"x": tensor("F32", frac[:2]), "y": tensor("F64", base[:1])}
write(os.path.join(OUT, "unaligned.safetensors"), odd, extra=1)
record("unaligned.safetensors", odd)

# a study: probabilities and one layer from safetensors, two layers in shards
STUDY = os.path.join(OUT, "study")
os.makedirs(STUDY, exist_ok=True)
rng = np.random.default_rng(7)
N, C, H = 10, 3, 4
labels = rng.integers(0, C, N).astype("<i8")
np.save(os.path.join(STUDY, "labels.npy"), labels)
logits = rng.normal(size=(N, C))
probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
fc1 = rng.normal(size=(N, H)).astype("<f4")
fc2 = rng.normal(size=(N, 2, 3)).astype("<f4")  # (N, 6) as a matrix
fc3 = rng.normal(size=(N, H)).astype("<f4")
out_t = {"probs": tensor("F32", probs), "logits": tensor("F64", logits)}
write(os.path.join(STUDY, "out.safetensors"), out_t, metadata={"epoch": "3"})
acts = {"fc1": tensor("F32", fc1), "fc3_tail": tensor("F32", fc3[7:])}
write(os.path.join(STUDY, "acts.safetensors"), acts)
# fc2: three npy shards of 4, 3 and 3 rows
np.save(os.path.join(STUDY, "fc2-000.npy"), fc2[:4])
np.save(os.path.join(STUDY, "fc2-001.npy"), fc2[4:7])
np.save(os.path.join(STUDY, "fc2-002.npy"), fc2[7:])
# fc3: an npy shard in Fortran order, an empty one, and a safetensors tensor
np.save(os.path.join(STUDY, "fc3-a.npy"), np.asfortranarray(fc3[:7]))
np.save(os.path.join(STUDY, "fc3-empty.npy"), np.zeros((0, H), "<f4"))
with open(os.path.join(STUDY, "study.ini"), "w") as f:
    f.write("""; written by tools/make_safetensors_fixtures.py
[study]
name = safetensors
labels = labels.npy

[model a]
probs = out.safetensors:probs
act.fc1 = acts.safetensors:fc1
act.fc2 = fc2-000.npy, fc2-001.npy,
          fc2-002.npy
act.fc3 = fc3-a.npy, fc3-empty.npy, acts.safetensors:fc3_tail

[model b]
logits = out.safetensors:logits
""")
expected["study"] = {
    "labels": labels.tolist(),
    "probs": probs.astype("<f4").astype(np.float64).tolist(),
    "logits": logits.tolist(),
    "fc1": fc1.astype(np.float64).tolist(),
    "fc2": fc2.reshape(N, -1).astype(np.float64).tolist(),
    "fc3": fc3.astype(np.float64).tolist(),
}

# fuzz seeds: the first byte picks the tensor name (0: the only one, 1 "t", 2 "a", 3 "probs",
# 4 "__metadata__"), the rest is the file
SEEDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz", "seeds",
                     "fuzz_safetensors")
os.makedirs(SEEDS, exist_ok=True)
seed_tensors = {
    "bf16_2d": {"t": tensor("BF16", frac[:2, :3])},
    "f16_3d": {"t": tensor("F16", np.arange(8).reshape(2, 2, 2) / 4)},
    "i64_meta": {"t": tensor("I64", np.array([1, -2, 3]))},
    "bool_scalar": {"t": tensor("BOOL", np.array(True))},
    "u8_empty": {"t": tensor("U8", np.zeros((0, 5)))},
    "f64_two": {"a": tensor("F64", base), "t": tensor("F32", base.T)},
}
for name, ts in seed_tensors.items():
    path = os.path.join(SEEDS, name + ".bin")
    write(path, ts, metadata={"k": "v"} if "meta" in name else None)
    with open(path, "rb") as f:
        body = f.read()
    with open(path, "wb") as f:
        f.write(bytes([1]) + body)
for sel, src in [(0, "single.safetensors"), (2, "two.safetensors"), (0, "dtypes.safetensors"),
                 (3, "study/out.safetensors"), (4, "two.safetensors")]:
    with open(os.path.join(OUT, src), "rb") as f:
        body = f.read()
    with open(os.path.join(SEEDS, f"{sel}_{src.replace('/', '_')}.bin"), "wb") as f:
        f.write(bytes([sel]) + body)

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=0, sort_keys=True)
print(f"{sum(len(v) for k, v in expected.items() if k != 'study')} tensors in {OUT}")

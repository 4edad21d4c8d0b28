#!/usr/bin/python3
"""Writes one study (demo-data/digits) in every format study.ini reads, for tests/formats/run.sh.

Usage: gen.py SRC_STUDY OUT_DIR

Each OUT_DIR/NAME/study.ini describes the same instances, labels, classes, samples and models
(probabilities, logits, predictions, activations of float32 and float16, weights), stored as:
  npy          the npy files as they are
  npz          numpy.savez (stored members), one archive per model, labels a bare one-array npz
  npzz         numpy.savez_compressed (deflated members)
  h5           h5py, contiguous datasets, all in one file
  h5z          h5py, chunked and gzip-compressed (with shuffle), big-endian float16
  csv          probabilities and logits as CSV (a header of the class names) and TSV (none),
               labels as labels.csv
  shards       labels, samples and matrices split in shards of mixed formats (npy, npz, h5)
  expand       paths through ${VAR} and ~, one of them longer than inih's 200-byte line
  conv-npz/digits, conv-h5/digits, conv-csv/digits
               no study.ini: the directory convention (models/NAME/probs.EXT, logits.EXT,
               pred.EXT, act/LAYER.EXT, weights/LAYER.EXT) with bare one-array npz files,
               one-dataset HDF5 files (chunked + gzip for activations) and CSV/TSV sources
NumPy and h5py write the files, so the readers are checked against the reference writers.
"""
import json
import os
import shutil
import sys

import h5py
import numpy as np

src, out = sys.argv[1], sys.argv[2]
classes = open(os.path.join(src, "classes.txt")).read().split("\n")
classes = [c for c in classes if c]
labels = np.load(os.path.join(src, "labels.npy"))
samples = open(os.path.join(src, "samples.jsonl")).read().splitlines()
models = {}
for name in sorted(os.listdir(os.path.join(src, "models"))):
    d = os.path.join(src, "models", name)
    m = {"act": {}, "weights": {}}
    for kind in ("probs", "logits", "pred"):
        p = os.path.join(d, kind + ".npy")
        if os.path.exists(p):
            m["src"] = (kind, np.load(p))
    for sub in ("act", "weights"):
        if os.path.isdir(os.path.join(d, sub)):
            for f in sorted(os.listdir(os.path.join(d, sub))):
                m[sub][f[:-4]] = np.load(os.path.join(d, sub, f))
    models[name] = m


def study(name, lines, files=True):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    if files:
        shutil.copy(os.path.join(src, "classes.txt"), d)
        shutil.copy(os.path.join(src, "samples.jsonl"), d)
        if os.path.isdir(os.path.join(src, "images")) and not os.path.exists(os.path.join(d, "images")):
            os.symlink(os.path.abspath(os.path.join(src, "images")), os.path.join(d, "images"))
    with open(os.path.join(d, "study.ini"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return d


def header(labels_spec, samples_spec="samples.jsonl"):
    return ["[study]", "name = digits", "labels = " + labels_spec, "classes = classes.txt",
            "samples = " + samples_spec]


# npy
d = os.path.join(out, "npy")
lines = header("labels.npy")
os.makedirs(d, exist_ok=True)
np.save(os.path.join(d, "labels.npy"), labels)
for name, m in models.items():
    lines.append("[model %s]" % name)
    kind, a = m["src"]
    np.save(os.path.join(d, "%s_%s.npy" % (name, kind)), a)
    lines.append("%s = %s_%s.npy" % (kind, name, kind))
    for sub in ("act", "weights"):
        for layer, a in m[sub].items():
            np.save(os.path.join(d, "%s_%s_%s.npy" % (name, sub, layer)), a)
            lines.append("%s.%s = %s_%s_%s.npy" % (sub, layer, name, sub, layer))
study("npy", lines)

# npz, stored and deflated
for name_, save in (("npz", np.savez), ("npzz", np.savez_compressed)):
    d = os.path.join(out, name_)
    os.makedirs(d, exist_ok=True)
    save(os.path.join(d, "labels.npz"), labels)  # one array: arr_0, named by the bare file
    lines = header("labels.npz")
    for name, m in models.items():
        kind, a = m["src"]
        arrays = {kind: a}
        lines.append("[model %s]" % name)
        lines.append("%s = %s.npz:%s" % (kind, name, kind))
        for sub in ("act", "weights"):
            for layer, b in m[sub].items():
                arrays["%s_%s" % (sub, layer)] = b
                lines.append("%s.%s = %s.npz:%s_%s" % (sub, layer, name, sub, layer))
        save(os.path.join(d, name + ".npz"), **arrays)
    study(name_, lines)

# HDF5, contiguous and chunked + gzip
for name_, opts in (("h5", {}), ("h5z", {"compression": "gzip", "shuffle": True})):
    d = os.path.join(out, name_)
    os.makedirs(d, exist_ok=True)
    lines = header("study.h5:/labels")
    with h5py.File(os.path.join(d, "study.h5"), "w") as f:
        f.create_dataset("/labels", data=labels, **({"chunks": (100,)} if opts else {}), **opts)
        for name, m in models.items():
            kind, a = m["src"]
            lines.append("[model %s]" % name)
            items = [(kind, a)] + [("%s/%s" % (sub, layer), b) for sub in ("act", "weights")
                                   for layer, b in m[sub].items()]
            for key, b in items:
                if opts:
                    if b.dtype == np.float16:
                        b = b.astype(">f2")
                    chunks = (min(64, b.shape[0]),) + b.shape[1:]
                    f.create_dataset("/%s/%s" % (name, key), data=b, chunks=chunks, **opts)
                else:
                    f.create_dataset("/%s/%s" % (name, key), data=b)
            lines.append("%s = study.h5:/%s/%s" % (kind, name, kind))
            for sub in ("act", "weights"):
                for layer in m[sub]:
                    lines.append("%s.%s = study.h5:/%s/%s/%s" % (sub, layer, name, sub, layer))
    study(name_, lines)


def csv_write(path, a, sep, head):
    with open(path, "w") as f:
        if head:
            f.write(sep.join(head) + "\n")
        for row in a:
            f.write(sep.join(repr(float(np.float32(v))) for v in row) + "\n")


# CSV / TSV for probabilities and logits; labels.csv; the rest npy
d = os.path.join(out, "csv")
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "labels.csv"), "w") as f:
    f.write("label\n" + "".join("%d\n" % v for v in labels))
lines = header("labels.csv")
for i, (name, m) in enumerate(models.items()):
    kind, a = m["src"]
    lines.append("[model %s]" % name)
    if kind == "pred":
        np.save(os.path.join(d, name + "_pred.npy"), a)
        lines.append("pred = %s_pred.npy" % name)
    elif i % 2 == 0:
        csv_write(os.path.join(d, name + ".csv"), a, ",", classes)
        lines.append("%s = %s.csv" % (kind, name))
    else:
        csv_write(os.path.join(d, name + ".tsv"), a, "\t", None)
        lines.append("%s = %s.tsv" % (kind, name))
    for sub in ("act", "weights"):
        for layer, b in m[sub].items():
            np.save(os.path.join(d, "%s_%s_%s.npy" % (name, sub, layer)), b)
            lines.append("%s.%s = %s_%s_%s.npy" % (sub, layer, name, sub, layer))
study("csv", lines)

# shards of mixed formats, rows split at uneven points
d = os.path.join(out, "shards")
os.makedirs(d, exist_ok=True)
cut = [0, 300, 301, len(labels)]
for k in range(3):
    np.save(os.path.join(d, "y%d.npy" % k), labels[cut[k]:cut[k + 1]])
    with open(os.path.join(d, "s%d.jsonl" % k), "w") as f:
        f.write("".join(l + "\n" for l in samples[cut[k]:cut[k + 1]]))
lines = ["[study]", "name = digits", "labels = y0.npy, y1.npy,", "  y2.npy",
         "classes = classes.txt", "samples = s0.jsonl, s1.jsonl, s2.jsonl"]
with h5py.File(os.path.join(d, "part2.h5"), "w") as f:
    for name, m in models.items():
        kind, a = m["src"]
        lines.append("[model %s]" % name)
        specs = {}
        items = [(kind, a)] + [("%s.%s" % (sub, layer), b) for sub in ("act", "weights")
                               for layer, b in m[sub].items()]
        for key, b in items:
            if key.startswith("weights."):
                np.save(os.path.join(d, "%s_%s.npy" % (name, key)), b)
                specs[key] = "%s_%s.npy" % (name, key)
                continue
            np.save(os.path.join(d, "%s_%s_0.npy" % (name, key)), b[cut[0]:cut[1]])
            np.savez_compressed(os.path.join(d, "%s_%s_1.npz" % (name, key)), x=b[cut[1]:cut[2]])
            f.create_dataset("/%s/%s" % (name, key), data=b[cut[2]:], chunks=True,
                             compression="gzip")
            specs[key] = "%s_%s_0.npy, %s_%s_1.npz:x, part2.h5:/%s/%s" % (
                name, key, name, key, name, key)
        for key, spec in specs.items():
            lines.append("%s = %s" % (key, spec))
study("shards", lines, files=False)
shutil.copy(os.path.join(src, "classes.txt"), d)
if os.path.isdir(os.path.join(src, "images")):
    os.symlink(os.path.abspath(os.path.join(src, "images")), os.path.join(d, "images"))

# ${VAR}, ~ and a path longer than inih's line: the npy files under a deep directory
deep = os.path.join(out, "expand-data", *(["a-directory-name-of-some-length"] * 6))
os.makedirs(deep, exist_ok=True)
for f in os.listdir(os.path.join(out, "npy")):
    if f.endswith(".npy"):
        os.symlink(os.path.abspath(os.path.join(out, "npy", f)), os.path.join(deep, f))
lines = []
for l in open(os.path.join(out, "npy", "study.ini")).read().splitlines():
    k, sep, v = l.partition(" = ")
    if sep and v.endswith(".npy"):
        if k == "labels":
            v = os.path.abspath(os.path.join(deep, v))  # one long line, no variable
        elif k.startswith("act."):
            v = "~/" + os.path.relpath(os.path.join(deep, v), os.environ["HOME"])
        else:
            v = "${NNCMP_FMT_DEEP}/" + v
        l = "%s = %s" % (k, v)
    lines.append(l)
assert any(len(l) > 200 for l in lines)
study("expand", lines)

# the directory convention, no study.ini: each matrix in a file of its own
def conv_study(fmt):
    d = os.path.join(out, "conv-" + fmt, "digits")
    os.makedirs(d)
    for f in ("labels.npy", "classes.txt", "samples.jsonl"):
        shutil.copy(os.path.join(src, f), d)
    if os.path.isdir(os.path.join(src, "images")):
        os.symlink(os.path.abspath(os.path.join(src, "images")), os.path.join(d, "images"))
    for name, m in models.items():
        md = os.path.join(d, "models", name)
        os.makedirs(md)
        g = os.path.join(src, "models", name, "graph.json")
        if os.path.exists(g):
            shutil.copy(g, md)
        kind, a = m["src"]
        files = [(kind, a)] + [("%s/%s" % (sub, layer), b) for sub in ("act", "weights")
                               for layer, b in m[sub].items()]
        for i, (key, b) in enumerate(files):
            base = os.path.join(md, key)
            os.makedirs(os.path.dirname(base), exist_ok=True)
            if fmt == "npz":
                (np.savez if i % 2 else np.savez_compressed)(base + ".npz", b)
            elif fmt == "h5":
                with h5py.File(base + (".hdf5" if i % 3 == 2 else ".h5"), "w") as f:
                    if key.startswith("act/"):
                        f.create_dataset("x", data=b, chunks=(min(50, b.shape[0]),) + b.shape[1:],
                                         compression="gzip")
                    else:
                        f.create_dataset("/" + kind if i == 0 else "/w", data=b)
            elif i == 0 and kind != "pred":
                csv_write(base + (".csv" if kind == "probs" else ".tsv"), a,
                          "," if kind == "probs" else "\t", classes if kind == "probs" else None)
            else:
                np.save(base + ".npy", b)


for fmt in ("npz", "h5", "csv"):
    conv_study(fmt)
print(len(os.listdir(out)) - 1, "studies in", out)

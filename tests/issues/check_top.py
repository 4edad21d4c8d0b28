#!/usr/bin/python3
"""Checks `nncmp issues --method M --top K --json` (GOT) against the NumPy oracle's case for M over
all models (ORACLE, tests/data/issues/demo_*.json), value by value: count, estimated_errors, K
entries (or every instance), the flagged ones first with "flagged": true and the rest false, and
for the self-confidence methods (cl, mean, mix) each rank's index, score and suggestion.
Prints what differs and exits 1, or exits 0.

Usage: tests/issues/check_top.py GOT ORACLE M K
"""
import json
import os
import sys

got = json.load(open(sys.argv[1]))
oracle = json.load(open(sys.argv[2]))
m, k = sys.argv[3], int(sys.argv[4])
with open(os.path.join(oracle["study"], "classes.txt")) as f:
    classes = [line.rstrip("\n") for line in f if line.strip()]
case = next(c for c in oracle["cases"]
            if c["method"] == m and c["model"] is None and not c["exclude"])
e = case["expect"]
want = e["ranked"][: k if k else e["count"]]
sugg = e["ranked_suggested"][: len(want)]
errs = []
if got["method"] != m:
    errs.append(f"method {got['method']}")
if got["count"] != e["count"]:
    errs.append(f"count {got['count']}, NumPy {e['count']}")
if got["estimated_errors"] != e["estimated"]:
    errs.append(f"estimated_errors {got['estimated_errors']}, NumPy {e['estimated']}")
if len(got["issues"]) != len(want):
    errs.append(f"{len(got['issues'])} entries, want {len(want)}")
exact = m in ("cl", "mean", "mix")
for r, (g, w, s) in enumerate(zip(got["issues"], want, sugg)):
    if exact and g["index"] != w:
        errs.append(f"rank {r}: index {g['index']}, NumPy {w}")
    # iies/margin/consensus: near-equal scores may trade places (see test_issues.c)
    ref = e["scores"][w] if exact else e["scores"][g["index"]]
    if abs(g["score"] - ref) > 1e-9 or (not exact and abs(g["score"] - e["scores"][w]) > 1e-9):
        errs.append(f"rank {r}: score {g['score']}, NumPy {ref}")
    if g["flagged"] is not (r < e["count"]):
        errs.append(f"rank {r}: flagged {g['flagged']}")
    if exact and g["suggested"] != classes[s]:
        errs.append(f"rank {r}: suggested {g['suggested']}, NumPy {classes[s]}")
print("; ".join(errs[:3]))
sys.exit(1 if errs else 0)

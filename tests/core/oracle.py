#!/usr/bin/python3
"""tests/core/oracle.py NNCMP STUDY... — `nncmp words`, `nncmp overview` and `report --json`'s
class_spread against NumPy, computed here from the study's files (labels.npy, classes.txt,
samples.jsonl, models/*/probs.npy | logits.npy | pred.npy) and the definitions in words.h,
overview.h and metrics.h, not from nncmp's code. Every nncmp run passes --no-journal, so the
labels are the files' even where a study has a journal. Prints one line per failed check; exit 1
if any failed."""
import json
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np

NNCMP = sys.argv[1]
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)


def run(*args, want=0, journal=False):
    extra = [] if journal else ["--no-journal"]
    p = subprocess.run([NNCMP, *args, *extra], capture_output=True, text=True)
    if p.returncode != want:
        fail(f"{' '.join(args)} -> exit {p.returncode}, want {want}: {p.stderr.strip()}")
        return None
    return p


def load(study):
    y = np.load(os.path.join(study, "labels.npy")).astype(np.int64)
    classes = open(os.path.join(study, "classes.txt"), encoding="utf-8").read().splitlines()
    models = {}
    for name in sorted(os.listdir(os.path.join(study, "models"))):
        d = os.path.join(study, "models", name)
        for f in ("probs.npy", "logits.npy"):
            if os.path.exists(os.path.join(d, f)):
                pred = np.load(os.path.join(d, f)).astype(np.float64).argmax(1)
                break
        else:
            pred = np.load(os.path.join(d, "pred.npy")).astype(np.int64)
        models[name] = pred
    texts = []
    path = os.path.join(study, "samples.jsonl")
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            if line.strip():
                texts.append(json.loads(line).get("text"))
    return y, classes, models, texts


# ---- words (words.h) ----

def word_char(ch):
    cp = ord(ch)
    if cp < 0x80:
        return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ("0" <= ch <= "9") or ch == "'"
    if cp < 0xC0 or cp in (0xD7, 0xF7, 0xFFFD):
        return False
    for lo, hi in ((0x2000, 0x2BFF), (0x3000, 0x303F), (0xFE30, 0xFE4F), (0xFF00, 0xFF0F)):
        if lo <= cp <= hi:
            return False
    return True


def words_of(text):
    out, run_ = set(), []
    for ch in text + " ":
        if word_char(ch):
            run_.append(ch)
            continue
        if run_:
            w = "".join(run_)
            run_ = []
            if len(w.encode("utf-8")) > 256:
                continue
            w = "".join(c.lower() if "A" <= c <= "Z" else c for c in w).strip("'")
            if w:
                out.add(w)
    return out


STOP = set("""a about after again all also am an and any are as at be been but by can could did do
does don't for from had has have he her him his how i i'm if in into is it it's its just me more
most my no not now of on one only or other our out over she so some such than that the their them
then there these they this those to too up us very was we were what when where which who whom why
will with would you your you're there's that's what's can't won't isn't didn't doesn't ll re ve s
t d""".split())


def check_words(study, texts, sel, filt, label):
    n, n_sel = len(texts), int(sel.sum())
    df_all, df_sel = {}, {}
    for i, t in enumerate(texts):
        if t is None:
            continue
        for w in words_of(t):
            df_all[w] = df_all.get(w, 0) + 1
            df_sel[w] = df_sel.get(w, 0) + int(sel[i])
    args = ["words", study, "--json"] + (["--filter", filt] if filt else [])
    for extra, mn, stop, by in ((["--min", "1", "--stop"], 1, True, None),
                                ([], 3, False, None),
                                (["--by", "count", "--min", "2"], 2, False, "count"),
                                (["--by", "lift"], 3, False, "lift")):
        by = by or ("lift" if filt else "count")
        p = run(*args, *extra)
        if p is None:
            continue
        got = json.loads(p.stdout)
        what = f"{label} words {' '.join(extra)}"
        if (got["n"], got["n_subset"], got["by"]) != (n, n_sel, by):
            fail(f"{what}: n {got['n']} n_subset {got['n_subset']} by {got['by']}, "
                 f"want {n} {n_sel} {by}")
        keep = [w for w in df_all if df_sel[w] >= mn and (stop or w not in STOP)]

        def key(w):
            lift = Fraction(df_sel[w], df_all[w])  # every lift shares n_sel and n
            b = w.encode("utf-8")
            return (-lift, -df_sel[w], b) if by == "lift" else (-df_sel[w], -lift, b)
        keep.sort(key=key)
        words = [e["word"] for e in got["words"]]
        if words != keep or got["n_words"] != len(keep):
            fail(f"{what}: {len(words)} words {words[:8]}..., want {len(keep)} {keep[:8]}...")
            continue
        for e in got["words"]:
            w = e["word"]
            lift = (df_sel[w] / n_sel) / (df_all[w] / n)
            if (e["in_subset"], e["in_all"], e["stop"]) != (df_sel[w], df_all[w], w in STOP) \
                    or abs(e["lift"] - lift) > 1e-12 or abs(e["share_all"] - df_all[w] / n) > 1e-15:
                fail(f"{what}: {w}: {e}, want df {df_sel[w]}/{df_all[w]} lift {lift}")
                break


# ---- overview (overview.h) ----

def check_overview(study, y, classes, models, label, settled=None):
    """settled: the instances a journal's decisions settled (then nncmp applies the journal)."""
    C = len(classes)
    journal = settled is not None
    if settled is None:
        settled = np.zeros(len(y), bool)
    for name, pred in models.items():
        p = run("overview", study, "--model", name, "--json", journal=journal)
        if p is None:
            continue
        got = json.loads(p.stdout)
        wrong = (pred != y) & ~settled
        cnt = np.bincount(y[wrong] * C + pred[wrong], minlength=C * C).reshape(C, C)
        rows = []
        for l in range(C):
            if cnt[l].sum() == 0:
                continue
            cells = sorted((p_ for p_ in range(C) if cnt[l, p_]), key=lambda p_: (-cnt[l, p_], p_))
            rows.append((l, int(cnt[l].sum()), cells))
        rows.sort(key=lambda r: (-r[1], r[0]))
        want = [{"label": classes[l], "errors": e,
                 "cells": [{"predicted": classes[p_], "count": int(cnt[l, p_])} for p_ in cells]}
                for l, e, cells in rows]
        if got["rows"] != want:
            fail(f"{label} overview --model {name}: rows differ: {json.dumps(got['rows'])[:300]} "
                 f"want {json.dumps(want)[:300]}")
        want = (int(wrong.sum()), name, int(settled.sum()))
        if (got["errors"], got["model"], got["settled"]) != want:
            fail(f"{label} overview --model {name}: errors {got['errors']} model {got['model']} "
                 f"settled {got['settled']}, want {want}")


# ---- class spread (metrics.h) ----

def check_spread(study, y, classes, models, label, filt=None, mask=None, journal=False):
    args = ["report", study, "--json"] + (["--filter", filt] if filt else [])
    p = run(*args, journal=journal)
    if p is None:
        return
    got = json.loads(p.stdout)
    order = [m["name"] for m in got["models"]]
    if mask is None:
        mask = np.ones(len(y), bool)
    C = len(classes)
    yy = y[mask]
    support = np.bincount(yy, minlength=C)
    R = np.array([[np.sum((models[m][mask] == yy) & (yy == c)) / support[c] if support[c] else np.nan
                   for c in range(C)] for m in order])
    want = []
    for c in range(C):
        if support[c] == 0:
            want.append({"class": classes[c], "support": 0, "min_recall": None, "max_recall": None,
                         "spread": None, "model_at_min": None, "model_at_max": None})
            continue
        lo, hi = int(np.argmin(R[:, c])), int(np.argmax(R[:, c]))  # first one wins, as nncmp
        want.append({"class": classes[c], "support": int(support[c]),
                     "min_recall": float(R[lo, c]), "max_recall": float(R[hi, c]),
                     "spread": float(R[hi, c] - R[lo, c]),
                     "model_at_min": order[lo], "model_at_max": order[hi]})
    want.sort(key=lambda e: (e["spread"] is None, -(e["spread"] or 0), classes.index(e["class"])))
    gs = got.get("class_spread")
    if gs is None or len(gs) != len(want):
        fail(f"{label} report class_spread: {gs and len(gs)} entries, want {len(want)}")
        return
    for g, w in zip(gs, want):
        same = all(g[k] == w[k] for k in ("class", "support", "model_at_min", "model_at_max"))
        for k in ("min_recall", "max_recall", "spread"):
            same = same and ((g[k] is None) == (w[k] is None)) and (
                g[k] is None or abs(g[k] - w[k]) < 1e-12)
        if not same:
            fail(f"{label} report {' '.join(args[3:])} class_spread: {g}, want {w}")
            return


def check_journal(study, y, classes, models, tmp):
    """A copy of study with a journal: relabels, a keep, a removal, a skip and an undone
    relabel; nncmp applies it (no --no-journal). The corrected labels count, and the settled
    instances leave the overview; removed ones leave the report's class spread."""
    import shutil
    copy = os.path.join(tmp, "journalled")
    shutil.copytree(study, copy)
    name = sorted(models)[-1]
    wrong = np.flatnonzero(models[name] != y)
    C = len(classes)
    i_fix, i_other, i_keep, i_rm, i_skip, i_undo = (int(i) for i in wrong[:6])
    other = next(c for c in range(C) if c not in (y[i_other], models[name][i_other]))
    t = "2026-12-02T00:00:00Z"
    lines = [{"v": 1, "type": "header", "study": "journalled", "n": len(y), "n_classes": C,
              "classes": classes, "created": t}]
    dec = [(i_fix, "relabel", int(models[name][i_fix])), (i_other, "relabel", other),
           (i_keep, "keep", int(y[i_keep])), (i_rm, "remove", -1),
           (i_skip, "skip", int(y[i_skip])), (i_undo, "relabel", int(models[name][i_undo]))]
    for b, (i, a, new) in enumerate(dec, 1):
        lines.append({"v": 1, "seq": b, "time": t, "batch": b, "size": 1, "index": i,
                      "action": a, "old": int(y[i]), "new": new})
    lines.append({"v": 1, "seq": len(dec) + 1, "time": t, "action": "undo",
                  "undo_batch": len(dec)})
    with open(os.path.join(copy, "nncmp-journal.jsonl"), "w") as f:
        for line in lines:
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
    yj = y.copy()
    yj[i_fix], yj[i_other] = models[name][i_fix], other
    settled = np.zeros(len(y), bool)
    settled[[i_fix, i_other, i_keep, i_rm]] = True
    check_overview(copy, yj, classes, models, "journalled", settled)
    keep = np.ones(len(y), bool)
    keep[i_rm] = False
    check_spread(copy, yj, classes, models, "journalled", mask=keep, journal=True)


for study in sys.argv[2:]:
    y, classes, models, texts = load(study)
    label = os.path.basename(study.rstrip("/"))
    check_overview(study, y, classes, models, label)
    check_spread(study, y, classes, models, label)
    # a filter that empties some classes: they come last with nulls
    check_spread(study, y, classes, models, label, "gt != 0 and gt != 1",
                 (y != 0) & (y != 1))
    if any(t is not None for t in texts):
        check_words(study, texts, np.ones(len(y), bool), None, label)
        top = int(np.bincount(y).argmax())
        check_words(study, texts, y == top, f"gt == {top}", label)
        name = sorted(models)[-1]  # its errors: a subset that crosses the classes
        check_words(study, texts, models[name] != y, f"{name} != gt", label)
        check_words(study, texts, np.arange(len(y)) < 0, "index < 0", label)  # empty

if len(sys.argv) > 2:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        study = sys.argv[-1]
        y, classes, models, texts = load(study)
        check_journal(study, y, classes, models, tmp)

sys.exit(1 if failures else 0)

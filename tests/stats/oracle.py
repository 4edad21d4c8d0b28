#!/usr/bin/python3
"""tests/stats/oracle.py NNCMP STUDY... — `nncmp classes`, `calibration`, `gate`, the N-model
pairs of `report --json` (agreement, Cohen's kappa, McNemar's exact p: the TUI's agreement view)
and `similarity --cka` (the TUI's CKA view) against NumPy, SciPy and scikit-learn, computed here from the study's files (labels.npy, models/*/probs.npy | logits.npy |
pred.npy), not from nncmp's code. Prints one line per failed check; exit 1 if any failed.
Studies must have no triage journal (the oracle reads the labels as in the files)."""
import json
import os
import subprocess
import sys

import numpy as np
from scipy import stats

NNCMP = sys.argv[1]
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)


def run(*args, want=0):
    p = subprocess.run([NNCMP, *args], capture_output=True, text=True)
    if p.returncode != want:
        fail(f"{' '.join(args)} -> exit {p.returncode}, want {want}: {p.stderr.strip()}")
    return p


def load(study):
    y = np.load(os.path.join(study, "labels.npy")).astype(np.int64)
    models = {}
    for name in sorted(os.listdir(os.path.join(study, "models"))):
        d = os.path.join(study, "models", name)
        if os.path.exists(os.path.join(d, "probs.npy")):
            P = np.load(os.path.join(d, "probs.npy")).astype(np.float64)
        elif os.path.exists(os.path.join(d, "logits.npy")):
            z = np.load(os.path.join(d, "logits.npy")).astype(np.float64)
            z = np.exp(z - z.max(axis=1, keepdims=True))
            P = z / z.sum(axis=1, keepdims=True)
        else:
            P = None
        pred = np.load(os.path.join(d, "pred.npy")).astype(np.int64) if P is None else P.argmax(1)
        models[name] = (P, pred)
    return y, models


def close(a, b, tol=1e-9):
    return np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), atol=tol, rtol=0)


def check_classes(study, y, models):
    out = json.loads(run("classes", study, "--json", "--top", "0").stdout)
    c = int(y.max()) + 1
    c = max(c, len(out["models"][0]["classes"]))
    for mo in out["models"]:
        name = mo["model"]
        P, pred = models[name]
        if P is None:
            P = np.eye(c)[pred]
        D0 = np.array([(1 - P[y == i]).mean(axis=0) for i in range(c)])
        np.fill_diagonal(D0, 0)
        D = (D0 + D0.T) / 2
        got = np.array(mo["distance"])
        if not close(got, D):
            fail(f"{study} {name}: distance differs by {np.abs(got - D).max():.3g}")
        # classical MDS: B = -1/2 J D^2 J, two largest eigenpairs
        J = np.eye(c) - 1.0 / c
        B = -0.5 * J @ (D**2) @ J
        w, V = np.linalg.eigh(B)
        top = np.argsort(w)[::-1][:2]
        X = V[:, top] * np.sqrt(np.maximum(w[top], 0))
        L = np.array(mo["layout"])
        for k in range(2):
            if not (close(L[:, k], X[:, k], 1e-7) or close(L[:, k], -X[:, k], 1e-7)):
                fail(f"{study} {name}: MDS axis {k} differs up to sign")
            big = np.argmax(np.abs(L[:, k]))
            if L[big, k] < 0:
                fail(f"{study} {name}: axis {k}'s largest entry is negative")
        order = sorted(range(c), key=lambda i: (L[i, 0], i))
        if mo["order"] != order:
            fail(f"{study} {name}: order is not along the first axis")
        pairs = sorted(((D[i, j], i, j) for i in range(c) for j in range(i + 1, c)))
        gotp = [(p["distance"], p["i"], p["j"]) for p in mo["closest"]]
        if len(gotp) != len(pairs):
            fail(f"{study} {name}: {len(gotp)} pairs, want {len(pairs)}")
        for (gd, gi, gj), (d, i, j) in zip(gotp[:10], pairs[:10]):
            if abs(gd - d) > 1e-9 or ((gi, gj) != (i, j) and abs(D[gi, gj] - d) > 1e-12):
                fail(f"{study} {name}: closest pair ({gi},{gj}) {gd}, want ({i},{j}) {d}")
    one = json.loads(run("classes", study, "--json", "--model", mo["model"]).stdout)
    if one["model"] != mo["model"] or len(one["closest"]) != min(5, len(pairs)):
        fail(f"{study}: --model gives another object")


def check_calibration(study, y, models):
    rep = json.loads(run("report", study, "--json").stdout)
    ece_rep = {m["name"]: m["ece"] for m in rep["models"]}
    for bins in (15, 7):
        out = json.loads(run("calibration", study, "--json", "--bins", str(bins)).stdout)
        names = [m["name"] for m in out["models"]]
        want_names = [n for n in models if models[n][0] is not None]
        if sorted(names) != sorted(want_names):
            fail(f"{study}: calibration models {names}, want {want_names}")
        for mo in out["models"]:
            P, pred = models[mo["name"]]
            conf = P.max(axis=1)
            right = pred == y
            b = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
            count = np.bincount(b, minlength=bins)
            ok = np.bincount(b, weights=right, minlength=bins)
            sconf = np.bincount(b, weights=conf, minlength=bins)
            got = mo["bins"]
            if [g["count"] for g in got] != count.tolist():
                fail(f"{study} {mo['name']}: bin counts differ")
            if [g["right"] for g in got] != ok.astype(int).tolist():
                fail(f"{study} {mo['name']}: right histogram differs")
            if [g["wrong"] for g in got] != (count - ok).astype(int).tolist():
                fail(f"{study} {mo['name']}: wrong histogram differs")
            nz = count > 0
            mc = np.array([g["mean_conf"] if g["mean_conf"] is not None else np.nan for g in got])
            acc = np.array([g["accuracy"] if g["accuracy"] is not None else np.nan for g in got])
            if not close(mc[nz], sconf[nz] / count[nz]) or not np.all(np.isnan(mc[~nz])):
                fail(f"{study} {mo['name']}: mean confidence differs")
            if not close(acc[nz], ok[nz] / count[nz]):
                fail(f"{study} {mo['name']}: accuracy per bin differs")
            ece = np.sum(count[nz] / len(y) * np.abs(ok[nz] / count[nz] - sconf[nz] / count[nz]))
            if abs(mo["ece"] - ece) > 1e-12:
                fail(f"{study} {mo['name']}: ECE {mo['ece']}, NumPy {ece}")
            if bins == 15 and mo["ece"] != ece_rep[mo["name"]]:
                fail(f"{study} {mo['name']}: ECE {mo['ece']} != report's {ece_rep[mo['name']]}")
            if not close(mo["mean_conf_right"], conf[right].mean()):
                fail(f"{study} {mo['name']}: mean confidence of right predictions")


def macro_f1(y, p):
    labels = np.union1d(y, p)
    f = []
    for j in labels:
        tp = np.sum((y == j) & (p == j))
        den = np.sum(y == j) + np.sum(p == j)
        f.append(2 * tp / den if den else 0.0)
    return np.mean(f)


def macro_f1_fast(y, p, c):
    """macro_f1 by counting: the same classes, the same F1."""
    tp = np.bincount(y[y == p], minlength=c)
    den = np.bincount(y, minlength=c) + np.bincount(p, minlength=c)
    present = den > 0
    return np.mean(2 * tp[present] / den[present])


def check_gate(study, y, models, base, new):
    for metric in ("accuracy", "macro_f1"):
        pa, pb = models[base][1], models[new][1]
        if metric == "accuracy":
            va, vb = np.mean(pa == y), np.mean(pb == y)
            oa = int(np.sum((pa == y) & (pb != y)))
            ob = int(np.sum((pb == y) & (pa != y)))
            p = stats.binomtest(oa, oa + ob, 0.5, alternative="greater").pvalue if oa + ob else 1.0
        else:
            va, vb = macro_f1(y, pa), macro_f1(y, pb)
            rng = np.random.default_rng(7)
            c = int(max(y.max(), pa.max(), pb.max())) + 1
            d = np.empty(4000)
            for t in range(len(d)):
                i = rng.integers(0, len(y), len(y))
                d[t] = macro_f1_fast(y[i], pb[i], c) - macro_f1_fast(y[i], pa[i], c)
            p = np.mean(d >= 0)
            upper = np.percentile(d, 95)
        worse = vb < va and p < 0.05
        r = run("gate", study, "--base", base, "--new", new, "--metric", metric, "--json",
                want=3 if worse else 0)
        g = json.loads(r.stdout)
        if not close([g["base_value"], g["new_value"], g["diff"]], [va, vb, vb - va], 1e-12):
            fail(f"{study} gate {base} {new} {metric}: values {g}")
        if g["worse"] != worse:
            fail(f"{study} gate {base} {new} {metric}: worse {g['worse']}, want {worse}")
        if metric == "accuracy":
            if (g["only_base"], g["only_new"]) != (oa, ob) or abs(g["p"] - p) > 1e-9 * max(p, 1e-300) + 1e-15:
                fail(f"{study} gate {base} {new}: p {g['p']}, scipy {p}")
        else:
            # two bootstraps with different generators: agree within their Monte Carlo error
            if abs(g["p"] - p) > 0.03 or abs(g["upper"] - upper) > 0.01:
                fail(f"{study} gate {base} {new} macro_f1: p {g['p']} upper {g['upper']}, "
                     f"NumPy p {p} upper {upper}")
        t = run("gate", study, "--base", base, "--new", new, "--metric", metric,
                want=3 if worse else 0)
        lines = t.stdout.splitlines()
        if len(lines) != 1 or not lines[0].startswith("worse: " if worse else "not worse: "):
            fail(f"{study} gate {base} {new} {metric}: text '{t.stdout.strip()}'")


def check_pairs(study, y, models):
    """Every pair of report --json: agreement, kappa (scikit-learn), McNemar (SciPy's binomtest)."""
    from sklearn.metrics import cohen_kappa_score
    rep = json.loads(run("report", study, "--json").stdout)
    names = list(models)
    want = {(a, b) for i, a in enumerate(names) for b in names[i + 1:]}
    got = {(p["a"], p["b"]) for p in rep["pairs"]}
    if got != want:
        fail(f"{study}: report pairs {sorted(got)}, want every pair {sorted(want)}")
    for p in rep["pairs"]:
        pa, pb = models[p["a"]][1], models[p["b"]][1]
        ra, rb = pa == y, pb == y
        counts = (int(np.sum(ra & rb)), int(np.sum(ra & ~rb)), int(np.sum(~ra & rb)),
                  int(np.sum(~ra & ~rb)))
        if (p["both_correct"], p["only_a"], p["only_b"], p["both_wrong"]) != counts:
            fail(f"{study} {p['a']}/{p['b']}: outcomes differ from NumPy {counts}")
        if abs(p["agreement"] - np.mean(pa == pb)) > 1e-12:
            fail(f"{study} {p['a']}/{p['b']}: agreement {p['agreement']}, NumPy {np.mean(pa == pb)}")
        k = cohen_kappa_score(pa, pb)
        if abs(p["kappa"] - k) > 1e-9:
            fail(f"{study} {p['a']}/{p['b']}: kappa {p['kappa']}, scikit-learn {k}")
        b, c = counts[1], counts[2]
        mp = stats.binomtest(min(b, c), b + c, 0.5).pvalue if b + c else 1.0
        if abs(p["mcnemar_p"] - mp) > 1e-9 * max(mp, 1e-300) + 1e-15:
            fail(f"{study} {p['a']}/{p['b']}: McNemar p {p['mcnemar_p']}, SciPy {mp}")


def check_right(study, y, models):
    """The filter word right (how many models are right): each count and each comparison."""
    right = sum((pred == y).astype(int) for _, pred in models.values())
    for expr, want in (("right == 0", right == 0), ("right >= 2", right >= 2),
                       (f"right == {len(models)}", right == len(models)),
                       ("right < 1 or right > 2", (right < 1) | (right > 2))):
        out = json.loads(run("instances", study, "--filter", expr, "--json", "--top", "0").stdout)
        if out["count"] != int(want.sum()):
            fail(f"{study} --filter '{expr}': {out['count']}, NumPy {int(want.sum())}")


def linear_cka(X, Y):
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    return np.linalg.norm(Y.T @ X) ** 2 / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y))


def check_cka(study):
    """similarity --cka --json between every two layers with activations, against NumPy."""
    layers = []
    for name in sorted(os.listdir(os.path.join(study, "models"))):
        d = os.path.join(study, "models", name, "act")
        if os.path.isdir(d):
            layers += [(name, f[:-4]) for f in sorted(os.listdir(d)) if f.endswith(".npy")]
    for i, (ma, la) in enumerate(layers):
        X = np.load(os.path.join(study, "models", ma, "act", la + ".npy")).astype(np.float64)
        X = X.reshape(len(X), -1)
        for mb, lb in layers[i:]:
            Y = np.load(os.path.join(study, "models", mb, "act", lb + ".npy")).astype(np.float64)
            Y = Y.reshape(len(Y), -1)
            out = json.loads(run("similarity", study, "--model", ma, "--layer", la, "--with",
                                 f"{mb}.{lb}", "--cka", "--json").stdout)
            want = linear_cka(X, Y)
            if abs(out["cka"] - want) > 1e-5:
                fail(f"{study} CKA {ma}.{la} {mb}.{lb}: {out['cka']}, NumPy {want}")


for study in sys.argv[2:]:
    y, models = load(study)
    check_pairs(study, y, models)
    check_right(study, y, models)
    check_cka(study)
    check_classes(study, y, models)
    check_calibration(study, y, models)
    names = list(models)
    pairs = [(a, b) for a in names for b in names]
    if os.path.basename(study.rstrip("/")) == "digits":
        pairs = [("cnn", "cnn_early"), ("cnn_early", "cnn"), ("cnn", "cnn"), ("cnn", "mlp"),
                 ("mlp", "knn")]
    for a, b in pairs:
        check_gate(study, y, models, a, b)
sys.exit(1 if failures else 0)

#!/usr/bin/python3
"""Label-issue oracle for tests/unit/test_issues.c: an independent NumPy implementation.

Writes, under tests/data/issues/:
  small/            a tiny random study (labels.npy, classes.txt, models a (probs), b (logits),
                    vote (predictions only), a's layer fc with activations)
  small.json        the expected results on it for every method and several options
  skewed/, skewed.json   a study whose confident-learning thresholds need correctly classified
                    rows (classes of very different self-confidence), and its expectations
  sparse/, sparse.json   a study whose ReLU layer has rows of zeros and a row with a NaN (no
                    cosine: no neighbours, and no one's neighbour), and its expectations
  many12/, many13/ (.json)   12 and 13 models, one a copy of another and one uniform: mix's
                    fitted weights at their limit and past it (write_many)
  clrules/, clrules.json   a study in which each of cleanlab's rules that a simpler confident
                    learning would skip (see write_clrules) changes the flagged set
  demo_digits.json, demo_fortunes.json   the same for the demo studies (demo-data/)

Each case is {method, model, exclude, labels, k} and its expectation {count, flagged (sorted),
order (the flagged instances in rank order), scores (N, null when excluded), suggested (one per
flagged instance, in `order`), ranked and ranked_suggested (every instance kept, in rank order:
the flagged ones, then the rest), estimated (cl: the calibrated confident joint's off-diagonal
sum, cleanlab's num_label_issues; the others: count)}; mix adds layers_mixed, layers_dropped,
mix_weight and
near_ties (instances whose k-th and (k+1)-th neighbours are within 1e-5 in cosine, where float32
similarities may pick another neighbour).

mean and mix are written here from issue #13's formulas and the rule of its benchmark (README,
"Label issues"), independently of src/core/issues_mix.c: mean ranks by self-confidence
1 - P[i, y_i] on the mean probabilities and flags argmax P != y. mix weights the models by the
convex combination P0 of least summed Brier score over the kept instances (every face of the
simplex tried, the KKT system solved by Gaussian elimination; equal weights past 12 models);
for each layer it takes the k nearest neighbours by cosine (self and excluded instances left
out, ties to the lower index; a row of zeros or with a non-finite value has no cosine, so it has
no neighbours and is no one's neighbour), v_i(c) = sum of the credibility P0[j, y_j] / max P0[j]
over neighbours j labelled c, Q_i = v_i / sum_c v_i(c) (label counts / k when that sum is 0;
P0_i without neighbours), drops a layer whose argmax Q = y holds on more than 10 points more rows
than argmax P0 = y (every layer dropped: mean), averages Q over the layers kept, and P' = the
convex combination of the models and Q of least summed Brier score (P0 and Q past 11 models).
Then S = P' / t with t_c the mean P'[i, c] over the kept instances labelled c: score 1 -
S[i, y_i], flagged argmax S != y, suggested argmax S (the runner-up if that is the label).

Confident learning (Northcutt, Jiang & Chuang 2021) is cleanlab 2.9's find_label_issues default
(prune_by_noise_rate): thresholds t_k = mean p_k over the kept instances labelled k (at least
2e-6), confident where p >= t - 1e-6; an instance counts in (label, its only confident class, or
argmax p when several are confident); the joint calibrated (rows to the label counts, the whole
to N), rows rounded keeping their totals (np.round, then the entries rounding moved most); one
instance kept in a class whose diagonal rounded to 0; for each cell the count of the label's
instances of largest margin p_j - p_label (ties to the lower index), in a class of at least two;
unflagged where p_label + 1e-6 is the first maximum. It is computed three times: vectorized
(the reference written to the file), as per-row loops, and by tools/bench_triage.py's
cleanlab_default (written apart, from cleanlab's documented steps); the script stops when they
disagree.

Usage: /usr/bin/python3 tools/make_issue_fixtures.py   (from the top of the tree)
"""
import json
import os
import sys

import numpy as np

OUT = "tests/data/issues"
SLACK = 1e-6  # cleanlab: p_j >= t_j - 1e-6 counts as confident


def softmax(z):
    z = z.astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    # summed left to right, as nncmp does (numpy's sum would pair them)
    return e / np.add.accumulate(e, axis=1)[:, -1:]


def load_study(path):
    labels = np.load(os.path.join(path, "labels.npy")).astype(np.int64)
    with open(os.path.join(path, "classes.txt")) as f:
        classes = [line.rstrip("\n") for line in f if line.strip()]
    models = []
    mdir = os.path.join(path, "models")
    for name in sorted(os.listdir(mdir)):
        d = os.path.join(mdir, name)
        if os.path.exists(os.path.join(d, "probs.npy")):
            p = np.load(os.path.join(d, "probs.npy")).astype(np.float64)
            models.append((name, p, p.argmax(axis=1)))
        elif os.path.exists(os.path.join(d, "logits.npy")):
            p = softmax(np.load(os.path.join(d, "logits.npy")))
            models.append((name, p, p.argmax(axis=1)))
        elif os.path.exists(os.path.join(d, "pred.npy")):
            models.append((name, None, np.load(os.path.join(d, "pred.npy")).astype(np.int64)))
    acts = {}
    for name, _, _ in models:
        adir = os.path.join(mdir, name, "act")
        if os.path.isdir(adir):
            for f in sorted(os.listdir(adir)):
                if f.endswith(".npy"):
                    a = np.load(os.path.join(adir, f))
                    # nncmp reads an (N, C, H, W) layer as N x C*H*W
                    acts[f"{name}.{f[:-4]}"] = a.reshape(len(a), -1)
    return labels, classes, models, acts


def mean_probs(models, model):
    """The probabilities a method reads: model's, or the mean over models in order."""
    return mean_of([p for name, p, _ in models
                    if p is not None and (model is None or name == model)])


def round_row(v):
    """v rounded to integers that keep its total: np.round (ties to even) each, then, while the
    total is off round(v.sum()), add to (take from) the entries whose v - rounded is largest
    (smallest); equal gaps: the higher index first when adding, the lower when taking away."""
    ints = np.round(v)
    want = np.round(v.sum())
    while abs(ints.sum() - want) > 1e-6:
        gap = v - ints
        cols = np.arange(len(v))
        m = min(int(abs(want - ints.sum())), len(v))
        if want > ints.sum():
            pick = np.lexsort((-cols, -gap))[:m]  # largest gap, then the higher column
            ints[pick] += 1
        else:
            pick = np.lexsort((cols, gap))[:m]  # smallest gap, then the lower column
            ints[pick] -= 1
    return ints.astype(np.int64)


def cl_counts(cj, cnt):
    """cleanlab's steps from the confident joint (diagonal at least 1) to the prune counts:
    rows scaled to the label counts, the whole to N, rows rounded keeping their totals (the
    calibrated joint); then in each row whose diagonal rounded to 0, the diagonal set to 1 and
    1 / (its other nonzero cells, at least 1) taken from every other cell, floored at 0 and
    truncated. Returns (calibrated joint, prune counts with a zero diagonal)."""
    c = len(cnt)
    v = cj / np.maximum(cj.sum(axis=1, keepdims=True), 1e-100) * cnt[:, None]
    v = v / max(v.sum(), 1e-100) * cnt.sum()
    cal = np.stack([round_row(r) for r in v])
    prune = np.zeros((c, c), np.int64)
    for k in range(c):
        d = cal[k, k]
        take = (max(d, 1) - d) / max(np.count_nonzero(cal[k]) - 1, 1)
        prune[k] = np.trunc(np.clip(cal[k] - take, 0, None)).astype(np.int64)
        prune[k, k] = 0
    return cal, prune


def cl_vectorized(P, y, keep):
    """cleanlab 2.9's find_label_issues default (prune_by_noise_rate) on the kept rows."""
    n, c = P.shape
    flag = np.zeros(n, bool)
    idx = np.nonzero(keep)[0]
    Pk, yk = P[idx], y[idx]
    rows = np.arange(len(idx))
    pl = Pk[rows, yk]
    cnt = np.bincount(yk, minlength=c)
    t = np.full(c, 2.0)
    for k in range(c):
        if cnt[k]:
            t[k] = np.cumsum(pl[yk == k])[-1] / cnt[k]  # sequential sum, as nncmp adds
    t = np.maximum(t, 2e-6) - SLACK
    conf = Pk >= t
    nconf = conf.sum(axis=1)
    guess = np.where(nconf > 1, Pk.argmax(axis=1), conf.argmax(axis=1))
    has = nconf > 0
    cj = np.zeros((c, c), np.int64)
    np.add.at(cj, (yk[has], guess[has]), 1)
    np.fill_diagonal(cj, np.maximum(cj.diagonal(), 1))
    cal, prune = cl_counts(cj, cnt)
    sel = np.zeros(len(idx), bool)
    for i in range(c):
        members = np.nonzero(yk == i)[0]
        if len(members) <= 1:
            continue
        for j in range(c):
            if prune[i, j] > 0:
                m = Pk[members, j] - Pk[members, i]
                sel[members[np.lexsort((members, -m))[:prune[i, j]]]] = True
    bumped = Pk.copy()
    bumped[rows, yk] += SLACK
    sel &= bumped.argmax(axis=1) != yk
    flag[idx] = sel
    score = np.full(n, np.nan)
    score[idx] = 1.0 - pl
    sugg = P.argmax(axis=1)
    return flag, score, sugg, (t, cal, prune)


def cl_loops(P, y, keep):
    """The same steps written as loops over rows, for a cross-check."""
    n, c = P.shape
    rows = [i for i in range(n) if keep[i]]
    t = []
    for k in range(c):
        vals = [P[i, k] for i in rows if y[i] == k]
        acc = 0.0
        for x in vals:
            acc += x
        t.append(max(acc / len(vals) if vals else 2.0, 2e-6) - SLACK)
    cj = [[0] * c for _ in range(c)]
    for i in rows:
        confident = [j for j in range(c) if P[i, j] >= t[j]]
        if len(confident) == 1:
            cj[y[i]][confident[0]] += 1
        elif confident:
            cj[y[i]][int(np.argmax(P[i]))] += 1
    for k in range(c):
        cj[k][k] = max(cj[k][k], 1)
    cnt = [sum(1 for i in rows if y[i] == k) for k in range(c)]
    _, prune = cl_counts(np.array(cj, np.int64), np.array(cnt, np.int64))
    flagged = set()
    for i in range(c):
        members = [r for r in rows if y[r] == i]
        if len(members) <= 1:
            continue
        for j in range(c):
            if prune[i][j] > 0:
                order = sorted(members, key=lambda r: (-(P[r, j] - P[r, i]), r))
                flagged |= set(order[:prune[i][j]])
    out = set()
    for r in flagged:
        b = list(P[r])
        b[y[r]] += SLACK
        if int(np.argmax(b)) != y[r]:
            out.add(r)
    return out


def margin_iies(P, y, keep, iies):
    n, c = P.shape
    pl = P[np.arange(n), y]
    best = P.argmax(axis=1)
    if iies:
        score = (P.max(axis=1) + 1.0 - pl) / 2.0
        flag = best != y
        sugg = best
    else:
        Q = P.copy()
        Q[np.arange(n), y] = -np.inf
        other = Q.argmax(axis=1)
        score = Q.max(axis=1) - pl
        flag = score > 0
        sugg = np.where(flag, other, best)
    score = np.where(keep, score, np.nan)
    return flag & keep, score, sugg


def consensus(models, model, y, keep):
    n = len(y)
    chosen = [(name, p, pred) for name, p, pred in models if model is None or name == model]
    s = np.zeros(n)
    disagree = np.zeros(n, np.int64)
    for k, (name, p, pred) in enumerate(chosen):
        if p is None:
            v = np.where(pred == y, 0.5, 1.0)
        else:
            v = (p.max(axis=1) + 1.0 - p[np.arange(n), y]) / 2.0
        s = v.copy() if k == 0 else s + v
        disagree += pred != y
    nm = len(chosen)
    score = s / nm
    tie = disagree / nm
    flag = (2 * disagree > nm) & keep
    preds = np.stack([pred for _, _, pred in chosen])
    sugg = np.zeros(n, np.int64)
    for i in range(n):
        vals, counts = np.unique(preds[:, i], return_counts=True)
        sugg[i] = vals[np.argmax(counts)]  # unique sorts: the lower class wins ties
    return flag, np.where(keep, score, np.nan), sugg, tie


def cosine(act, keep):
    """Cosine similarities in float64, with -inf where j may not be i's neighbour: itself, an
    excluded instance, or a row without a direction (all zeros, or a non-finite value), whose
    cosine is undefined; and the rows that may have neighbours (kept, with a direction)."""
    x = act.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        norm = np.sqrt((x * x).sum(axis=1))
    real = np.isfinite(norm) & (norm > 0)
    x = np.where(real[:, None], x, 0.0) / np.where(real, norm, 1.0)[:, None]
    sim = x @ x.T
    n = len(keep)
    sim[np.arange(n), np.arange(n)] = -np.inf
    sim[:, ~keep | ~real] = -np.inf
    return sim, keep & real


def knn(act, y, keep, k):
    sim, asks = cosine(act, keep)
    n = len(y)
    flag = np.zeros(n, bool)
    score = np.full(n, np.nan)
    score[keep] = 0.0  # a row without a direction has no neighbours: score 0, not flagged
    sugg = y.copy()
    for i in np.nonzero(asks)[0]:
        cand = np.nonzero(np.isfinite(sim[i]))[0]
        order = cand[np.lexsort((cand, -sim[i, cand]))][:k]
        nl = y[order]
        differ = int((nl != y[i]).sum())
        score[i] = differ / len(order) if len(order) else 0.0
        flag[i] = 2 * differ > len(order)
        if len(order):
            vals, counts = np.unique(nl, return_counts=True)
            sugg[i] = vals[np.argmax(counts)]
    return flag, score, sugg


def neighbours(act, keep, k, tie_eps=1e-5):
    """Each kept instance's k nearest neighbours by cosine (float64), nearest first, ties to the
    lower index; and the instances whose k-th and (k+1)-th neighbours are within tie_eps."""
    sim, asks = cosine(act, keep)
    n = len(keep)
    out, near = [None] * n, set()
    for i in np.nonzero(keep)[0]:
        if not asks[i]:
            out[i] = np.zeros(0, np.int64)  # no direction: no neighbours
            continue
        cand = np.nonzero(np.isfinite(sim[i]))[0]
        order = cand[np.lexsort((cand, -sim[i, cand]))]
        out[i] = order[:k]
        if len(order) > k and sim[i, order[k - 1]] - sim[i, order[k]] < tie_eps:
            near.add(int(i))
    return out, near


def seq_sum(x):
    """The sum of x's entries in index order, one addition at a time, as nncmp sums."""
    return float(np.add.accumulate(x)[-1]) if len(x) else 0.0


def row_dot(a, b, keep):
    """sum over the kept rows, in index order, of each row's sum over the classes of a * b."""
    return seq_sum(np.add.accumulate(a * b, axis=1)[:, -1][keep])


SIMPLEX_MAX = 12  # sources whose weights simplex_lsq finds by trying every face


def solve_small(A, r):
    """Gaussian elimination with partial pivoting (the first largest pivot); None when a pivot
    is at most 1e-12 times the largest entry (the system is singular for our purposes)."""
    n = len(r)
    A = [list(map(float, row)) + [float(v)] for row, v in zip(A, r)]
    scale = max(abs(v) for row in A for v in row[:n])
    for col in range(n):
        piv = col
        for q in range(col + 1, n):
            if abs(A[q][col]) > abs(A[piv][col]):
                piv = q
        if not abs(A[piv][col]) > 1e-12 * scale:
            return None
        A[col], A[piv] = A[piv], A[col]
        for q in range(col + 1, n):
            f = A[q][col] / A[col][col]
            for e in range(col, n + 1):
                A[q][e] -= f * A[col][e]
    x = [0.0] * n
    for col in range(n - 1, -1, -1):
        t = A[col][n]
        for e in range(col + 1, n):
            t -= A[col][e] * x[e]
        x[col] = t / A[col][col]
    return x


def simplex_lsq(G, b):
    """The weights a >= 0, sum a = 1, that minimise a'Ga - 2b'a (the summed Brier score of the
    combination, less a constant): on every face of the simplex (supports in increasing bit
    order) the minimiser of its affine hull from the KKT system, kept when no weight is
    negative; the least objective wins, the first on ties."""
    m = len(b)
    best, best_f = None, float("inf")
    for mask in range(1, 1 << m):
        idx = [q for q in range(m) if mask >> q & 1]
        s = len(idx)
        A = [[2.0 * G[i][j] for j in idx] + [1.0] for i in idx] + [[1.0] * s + [0.0]]
        x = solve_small(A, [2.0 * b[i] for i in idx] + [1.0])
        if x is None or any(v < 0 for v in x[:s]):
            continue
        a = [0.0] * m
        for q, i in enumerate(idx):
            a[i] = x[q]
        f = 0.0
        for i in range(m):
            for j in range(m):
                f += a[i] * G[i][j] * a[j]
            f -= 2.0 * b[i] * a[i]
        if f < best_f:
            best, best_f = a, f
    return best


def source_weights(srcs, y, keep):
    """The convex combination of the sources' probabilities of least summed Brier score on the
    given labels over the kept rows: simplex_lsq on their Gram matrix (row sums in index
    order); equal weights past SIMPLEX_MAX sources, one weight of 1 for one source."""
    m = len(srcs)
    if m == 1:
        return [1.0]
    if m > SIMPLEX_MAX:
        return [1.0 / m] * m
    rows = np.arange(len(y))
    G = [[0.0] * m for _ in range(m)]
    for i in range(m):
        for j in range(i, m):
            G[i][j] = G[j][i] = row_dot(srcs[i], srcs[j], keep)
    b = [seq_sum(S[rows, y][keep]) for S in srcs]
    a = simplex_lsq(G, b)
    check_optimal(np.array(G), np.array(b), np.array(a))
    return a


def check_optimal(G, b, a):
    """Stops the script unless a is as good as scipy's SLSQP finds from the centre of the
    simplex (an optimiser written apart from simplex_lsq), to 1e-9 of the objective's scale."""
    from scipy.optimize import minimize

    def f(x):
        return float(x @ G @ x - 2.0 * b @ x)

    m = len(b)
    res = minimize(f, np.full(m, 1.0 / m), jac=lambda x: 2.0 * G @ x - 2.0 * b,
                   bounds=[(0.0, 1.0)] * m, method="SLSQP", options={"ftol": 1e-15, "maxiter": 1000},
                   constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1.0}])
    if f(a) > f(res.x) + 1e-9 * max(1.0, abs(f(res.x))):
        sys.exit(f"make_issue_fixtures: simplex_lsq's weights {a} are worse than SLSQP's {res.x}")


def combine(srcs, a):
    out = a[0] * srcs[0]
    for w, S in zip(a[1:], srcs[1:]):
        out = out + w * S
    return out


def mix(Ps, y, keep, layers, k):
    """mean (no layers) or mix, from the formulas above (the rule of issue #13's benchmark)."""
    n, c = Ps[0].shape
    rows = np.arange(n)
    if not layers:
        return mean_pick(mean_of(Ps), y, keep) + (0, 0, set(), 0.0, [1.0 / len(Ps)] * len(Ps))
    alpha = source_weights(Ps, y, keep) if len(Ps) <= SIMPLEX_MAX else [1.0 / len(Ps)] * len(Ps)
    P0 = combine(Ps, alpha)
    mx = P0.max(axis=1)
    cred = np.where(mx > 0, P0[rows, y] / np.where(mx > 0, mx, 1.0), 0.0)
    kept = int(keep.sum())
    agree_p = int(((P0.argmax(axis=1) == y) & keep).sum())
    Qs, dropped, near = [], 0, set()
    for act in layers:
        nbrs, amb = neighbours(act, keep, k)
        Q = np.zeros((n, c))
        lonely = np.zeros(n, bool)
        for i in np.nonzero(keep)[0]:
            nb = nbrs[i]
            if len(nb) == 0:
                Q[i] = P0[i]  # no neighbours: no vote
                lonely[i] = True
                continue
            v = np.zeros(c)
            np.add.at(v, y[nb], cred[nb])  # in neighbour order
            total = np.cumsum(cred[nb])[-1]
            if not total > 0:
                v = np.bincount(y[nb], minlength=c).astype(np.float64)
                total = float(len(nb))
            Q[i] = v / total
        agree_u = int(((Q.argmax(axis=1) == y) & keep & ~lonely).sum())
        if agree_u > agree_p and 100 * (agree_u - agree_p) > 10 * kept:
            dropped += 1
            continue
        Qs.append(Q)
        near |= amb
    if not Qs:  # every layer dropped: mean
        return mean_pick(mean_of(Ps), y, keep) + (0, dropped, set(), 0.0,
                                                  [1.0 / len(Ps)] * len(Ps))
    q = Qs[0].copy()
    for Q in Qs[1:]:
        q += Q
    Qm = q / len(Qs)
    srcs = Ps + [Qm]
    if len(srcs) > SIMPLEX_MAX:  # the models' mean and the vote
        srcs = [P0, Qm]
    beta = source_weights(srcs, y, keep)
    P2 = combine(srcs, beta)
    # each class's threshold: the mean P'[i, c] over the kept instances labelled c (1 when
    # there are none, or it is not positive), the rows summed in index order
    t = np.ones(c)
    for cl in range(c):
        m = keep & (y == cl)
        if m.any():
            tc = seq_sum(P2[m, cl]) / int(m.sum())
            t[cl] = tc if tc > 0 else 1.0
    weights = beta if len(srcs) == len(Ps) + 1 else [w * beta[0] for w in alpha] + [beta[1]]
    return mean_pick(P2 / t, y, keep) + (len(Qs), dropped, near, weights[-1], weights[:-1])


def mean_of(Ps):
    """The mean of the matrices Ps, summed in order, as nncmp sums them."""
    s = Ps[0].copy()
    for p in Ps[1:]:
        s += p
    if len(Ps) > 1:
        s /= len(Ps)
    return s


def mean_pick(P, y, keep):
    """Self-confidence on P: flagged argmax != y, score 1 - P[i, y_i], suggested argmax (the
    runner-up when that is the label)."""
    n, c = P.shape
    rows = np.arange(n)
    best = P.argmax(axis=1)
    R = P.copy()
    R[rows, best] = -np.inf
    other = R.argmax(axis=1)
    sugg = np.where((best == y) & (c > 1), other, best)
    score = np.where(keep, 1.0 - P[rows, y], np.nan)
    return ((best != y) & keep, score, sugg)


def mix_layer_list(acts, case):
    """The layers mix reads: case's layer, or every layer of the models chosen."""
    if case.get("layer"):
        return [acts[case["layer"]]]
    model = case["model"]
    return [a for name, a in acts.items() if model is None or name.split(".")[0] == model]


def expect(labels, models, acts, case):
    n = len(labels)
    keep = np.ones(n, bool)
    if case["exclude"]:
        keep[case["exclude"]] = False
    y = labels.copy()
    for i, l in (case["labels"] or {}).items():
        y[int(i)] = l
    m, model = case["method"], case["model"]
    tie = np.zeros(n)
    estimated, extra = None, {}
    if m == "cl":
        P = mean_probs(models, model)
        flag, score, sugg, (_, cal, _) = cl_vectorized(P, y, keep)
        estimated = int(cal.sum() - np.trace(cal))
        loops = cl_loops(P, y, keep)
        if loops != set(np.nonzero(flag)[0].tolist()):
            sys.exit(f"make_issue_fixtures: the two cl implementations disagree on {case}")
        import bench_triage  # cleanlab_default, written apart from both, on the kept rows
        idx = np.nonzero(keep)[0]
        if set(idx[bench_triage.cleanlab_default(P[idx], y[idx])].tolist()) != loops:
            sys.exit(f"make_issue_fixtures: cl and bench_triage.cleanlab_default disagree "
                     f"on {case}")
    elif m in ("margin", "iies"):
        flag, score, sugg = margin_iies(mean_probs(models, model), y, keep, m == "iies")
    elif m == "consensus":
        flag, score, sugg, tie = consensus(models, model, y, keep)
    elif m in ("mean", "mix"):
        layers = mix_layer_list(acts, case) if m == "mix" else []
        Ps = [p for name, p, _ in models if p is not None and (model is None or name == model)]
        flag, score, sugg, mixed, dropped, near, weight, mweights = mix(Ps, y, keep, layers,
                                                                        case["k"])
        if m == "mix":
            extra = {"layers_mixed": mixed, "layers_dropped": dropped, "mix_weight": weight,
                     "model_weights": mweights,
                     "near_ties": sorted(near)}
    else:
        layer = case.get("layer") or next(iter(acts))
        flag, score, sugg = knn(acts[layer], y, keep, case["k"])
    idx = np.nonzero(keep)[0]
    order = idx[np.lexsort((idx, -tie[idx], -score[idx], -flag[idx].astype(int)))]
    count = int(flag.sum())
    ranked = order
    order = order[:count]
    return {"count": count, "flagged": sorted(np.nonzero(flag)[0].tolist()),
            "order": order.tolist(), "suggested": [int(sugg[i]) for i in order],
            "ranked": ranked.tolist(), "ranked_suggested": [int(sugg[i]) for i in ranked],
            "estimated": count if estimated is None else estimated,
            "scores": [None if not np.isfinite(v) else float(v) for v in score], **extra}


def cases_for(labels, models, acts, rng, full):
    n = len(labels)
    c = int(labels.max()) + 1
    names = [name for name, p, _ in models]
    prob_names = [name for name, p, _ in models if p is not None]
    excl = sorted(rng.choice(n, size=max(1, n // 10), replace=False).tolist())
    relab = {str(int(i)): int((labels[i] + 1) % c) for i in rng.choice(n, size=max(1, n // 20), replace=False)}
    out = []
    for method in ("cl", "margin", "iies", "consensus"):
        out.append({"method": method, "model": None, "exclude": None, "labels": None, "k": 10})
        for name in (names if method == "consensus" else prob_names) if full or method == "cl" else ():
            out.append({"method": method, "model": name, "exclude": None, "labels": None, "k": 10})
        if full or method == "cl":
            out.append({"method": method, "model": None, "exclude": excl, "labels": relab, "k": 10})
    # mean and mix (cases after the others, so that the draws above stay as they were)
    out.append({"method": "mean", "model": None, "exclude": None, "labels": None, "k": 10})
    out.append({"method": "mix", "model": None, "exclude": None, "labels": None, "k": 10})
    if full:
        for name in prob_names:
            out.append({"method": "mean", "model": name, "exclude": None, "labels": None,
                        "k": 10})
            out.append({"method": "mix", "model": name, "exclude": None, "labels": None,
                        "k": 10})
        for method in ("mean", "mix"):
            out.append({"method": method, "model": None, "exclude": excl, "labels": relab,
                        "k": 10})
        if acts:
            out.append({"method": "mix", "model": None, "exclude": None, "labels": None,
                        "k": 5})
            for layer in acts:
                out.append({"method": "mix", "model": None, "layer": layer, "exclude": None,
                            "labels": None, "k": 10})
    if acts:
        layer = next(iter(acts))
        for k in (5, 10) if full else (10,):
            out.append({"method": "knn", "model": None, "layer": layer, "exclude": None,
                        "labels": None, "k": k})
        if full:
            out.append({"method": "knn", "model": None, "layer": layer, "exclude": excl,
                        "labels": relab, "k": 10})
    return out


def write_small(path, rng):
    n, c, h = 60, 4, 8
    os.makedirs(os.path.join(path, "models", "a", "act"), exist_ok=True)
    os.makedirs(os.path.join(path, "models", "b"), exist_ok=True)
    os.makedirs(os.path.join(path, "models", "vote"), exist_ok=True)
    truth = rng.integers(0, c, n)
    labels = truth.copy()
    flip = rng.choice(n, size=8, replace=False)
    labels[flip] = (labels[flip] + rng.integers(1, c, 8)) % c
    za = rng.normal(0, 1, (n, c)) + 3.0 * np.eye(c)[truth]
    pa = softmax(za).astype(np.float32)
    pa /= pa.sum(axis=1, keepdims=True)
    zb = (rng.normal(0, 1.5, (n, c)) + 2.0 * np.eye(c)[truth]).astype(np.float32)
    pred = np.where(rng.random(n) < 0.8, truth, rng.integers(0, c, n))
    centres = rng.normal(0, 1, (c, h))
    act = (centres[truth] + rng.normal(0, 0.6, (n, h))).astype(np.float32)
    np.save(os.path.join(path, "labels.npy"), labels.astype(np.int64))
    with open(os.path.join(path, "classes.txt"), "w") as f:
        f.write("".join(f"class{k}\n" for k in range(c)))
    np.save(os.path.join(path, "models", "a", "probs.npy"), pa)
    np.save(os.path.join(path, "models", "a", "act", "fc.npy"), act)
    np.save(os.path.join(path, "models", "b", "logits.npy"), zb)
    np.save(os.path.join(path, "models", "vote", "pred.npy"), pred.astype(np.int64))
    # b's layer "leak" is what a model trained on these very labels would give: mix's guard
    # drops it (its own generator, so that the draws above and after stay as they were)
    leak_rng = np.random.default_rng(20261124)
    os.makedirs(os.path.join(path, "models", "b", "act"), exist_ok=True)
    leak = 3.0 * np.eye(c)[labels] + leak_rng.normal(0, 0.3, (n, c))
    np.save(os.path.join(path, "models", "b", "act", "leak.npy"), leak.astype(np.float32))


def write_skewed(path, rng):
    """Classes of very different self-confidence: some rows labelled 0 are counted confidently in
    class 2 (p_2 >= t_2, p_0 < t_0) while their argmax is 0, so confident learning's pruning
    threshold for cell (0, 2) comes from correctly classified rows (a margin below zero)."""
    os.makedirs(os.path.join(path, "models", "a"), exist_ok=True)
    rows, labels = [], []
    for _ in range(100):  # class 0, confident
        p0 = rng.uniform(0.9, 0.98)
        r = rng.uniform(0, 1)
        rows.append([p0, (1 - p0) * r, (1 - p0) * (1 - r)])
        labels.append(0)
    for _ in range(24):  # class 0, leaning to 2 but right
        p2 = rng.uniform(0.41, 0.47)
        p0 = rng.uniform(p2 + 0.01, min(0.57, 1 - p2))
        rows.append([p0, 1 - p0 - p2, p2])
        labels.append(0)
    for _ in range(8):  # class 0, predicted 1
        p1 = rng.uniform(0.5, 0.7)
        p0 = rng.uniform(0.1, 1 - p1)
        rows.append([p0, p1, max(0.0, 1 - p0 - p1)])
        labels.append(0)
    for _ in range(80):  # class 1
        p1 = rng.uniform(0.55, 0.9)
        r = rng.uniform(0, 1)
        rows.append([(1 - p1) * r, p1, (1 - p1) * (1 - r)])
        labels.append(1)
    for _ in range(88):  # class 2, unsure
        p2 = rng.uniform(0.3, 0.5)
        r = rng.uniform(0.2, 0.8)
        rows.append([(1 - p2) * r, (1 - p2) * (1 - r), p2])
        labels.append(2)
    order = rng.permutation(len(rows))
    probs = np.array(rows, dtype=np.float64)[order]
    probs = (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)
    np.save(os.path.join(path, "labels.npy"), np.array(labels, dtype=np.int64)[order])
    with open(os.path.join(path, "classes.txt"), "w") as f:
        f.write("zero\none\ntwo\n")
    np.save(os.path.join(path, "models", "a", "probs.npy"), probs)


def write_clrules(path, rng):
    """A study where each of cleanlab's rules that a simpler confident learning would miss changes
    the flagged set (float64, so that the values below stay exact):
    class 0 has three instances with p_0 = 0 (its threshold is the least, 2e-6), each confident
    in another class only: its calibrated row is 3/4 everywhere, rounds to 1 everywhere and gives
    back the extra 1 from the lowest column, its diagonal, so that one instance is kept and the
    other cells lose 1/3 (truncated to 0); rows labelled 1 confident in classes 1 and 2 whose
    argmax is 3 (not confident) count in (1, 3); probabilities in steps of 0.05 make equal margins
    at the prune counts' cutoffs; and rows labelled 2 whose p_2 is within 1e-6 of the maximum."""
    os.makedirs(os.path.join(path, "models", "a"), exist_ok=True)
    rows, labels = [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], [0, 0, 0]

    def q(v):  # rounded to steps of 0.05, at least one step for the label
        return np.round(np.asarray(v) * 20) / 20

    for _ in range(30):  # class 1, unsure (t_1 about 0.2)
        p1 = q(rng.uniform(0.1, 0.3))
        rest = q(rng.dirichlet([1, 1, 1]) * (1 - p1))
        rows.append([0, p1, rest[1], rest[2]] if rest[1] + rest[2] > 0 else [0, p1, 1 - p1, 0])
        labels.append(1)
    for _ in range(8):  # class 1, confident in 1 and 2, argmax 3
        rows.append([0, 0.3, 0.25, 0.45])
        labels.append(1)
    for _ in range(30):  # class 2, unsure (t_2 about 0.2)
        p2 = q(rng.uniform(0.1, 0.3))
        rest = q(rng.dirichlet([1, 1, 1]) * (1 - p2))
        rows.append([0, rest[0] + rest[2], p2, rest[1]])
        labels.append(2)
    for _ in range(6):  # class 2, argmax 1 by 5e-7
        rows.append([0, 0.4, 0.4 - 5e-7, 0.2 + 5e-7])
        labels.append(2)
    for _ in range(30):  # class 3, confident (t_3 about 0.9)
        p3 = q(rng.uniform(0.8, 1.0))
        r = q(rng.uniform(0, 1) * (1 - p3))
        rows.append([0, r, 1 - p3 - r, p3])
        labels.append(3)
    for _ in range(10):  # class 3, mislabelled 1 or 2, equal margins
        k = int(rng.integers(1, 3))
        rows.append([0, 0.6 if k == 1 else 0.1, 0.6 if k == 2 else 0.1, 0.3])
        labels.append(3)
    order = rng.permutation(len(rows))
    probs = np.clip(np.array(rows, dtype=np.float64), 0, None)[order]
    probs = probs / probs.sum(axis=1, keepdims=True)
    np.save(os.path.join(path, "labels.npy"), np.array(labels, dtype=np.int64)[order])
    with open(os.path.join(path, "classes.txt"), "w") as f:
        f.write("zero\none\ntwo\nthree\n")
    np.save(os.path.join(path, "models", "a", "probs.npy"), probs)


SPARSE_DEAD = [3, 5, 20, 33, 40]  # rows of the sparse study's layer that are all zero
SPARSE_NAN = 44  # and one with a NaN


def write_sparse(path, rng):
    """A ReLU layer with dead rows (all zero, as sparse inputs often give) and one row with a NaN:
    such a row has no cosine, so it has no neighbours (knn: score 0; mix: it keeps P) and is no
    one's neighbour. The lowest indices are one class, so that a dead row given the first
    instances as neighbours ("ties to the lower index" on a similarity of 0) would be voted
    into that class."""
    n, c, h = 48, 3, 6
    os.makedirs(os.path.join(path, "models", "a", "act"), exist_ok=True)
    truth = np.repeat(np.arange(c), n // c)
    labels = truth.copy()
    flip = np.array([5, 12, 20, 27, 40])
    labels[flip] = (labels[flip] + 1) % c
    za = rng.normal(0, 1, (n, c)) + 4.0 * np.eye(c)[truth]
    pa = softmax(za).astype(np.float32)
    pa /= pa.sum(axis=1, keepdims=True)
    centres = np.zeros((c, h))
    for k in range(c):
        centres[k, 2 * k:2 * k + 2] = rng.uniform(1.0, 2.0, 2)
    act = np.maximum(centres[truth] + rng.normal(0, 0.5, (n, h)), 0.0)
    act[SPARSE_DEAD] = 0.0
    act[SPARSE_NAN, 1] = np.nan
    np.save(os.path.join(path, "labels.npy"), labels.astype(np.int64))
    with open(os.path.join(path, "classes.txt"), "w") as f:
        f.write("".join(f"class{k}\n" for k in range(c)))
    np.save(os.path.join(path, "models", "a", "probs.npy"), pa)
    np.save(os.path.join(path, "models", "a", "act", "relu.npy"), act.astype(np.float32))


def write_many(path, rng, models):
    """`models` models with probabilities, for mix's weights: model m1 is a copy of m0 (two
    sources that are one: a singular system on every face holding both), m2 is uniform (a
    weight of 0 is its best), the others are noisy to different degrees; with 12 models the
    models' weights are fitted on all 4,095 faces and the vote joins their combination (13
    sources), with 13 the models get equal weights. A layer in which the classes are apart."""
    n, c, h = 64, 4, 5
    truth = np.repeat(np.arange(c), n // c)
    labels = truth.copy()
    flip = np.array([3, 17, 30, 45, 58])
    labels[flip] = (labels[flip] + 1 + np.arange(len(flip)) % (c - 1)) % c
    for m in range(models):
        d = os.path.join(path, "models", f"m{m:02d}")
        os.makedirs(d, exist_ok=True)
        if m == 1:
            p = np.load(os.path.join(path, "models", "m00", "probs.npy"))
        elif m == 2:
            p = np.full((n, c), 1.0 / c, np.float32)
        else:
            z = rng.normal(0, 1 + 0.3 * m, (n, c)) + (4.0 - 0.25 * m) * np.eye(c)[truth]
            p = softmax(z).astype(np.float32)
            p /= p.sum(axis=1, keepdims=True)
        np.save(os.path.join(d, "probs.npy"), p)
    os.makedirs(os.path.join(path, "models", "m00", "act"), exist_ok=True)
    act = 2.0 * np.eye(c, h)[truth] + rng.normal(0, 0.6, (n, h))
    np.save(os.path.join(path, "models", "m00", "act", "fc.npy"), act.astype(np.float32))
    np.save(os.path.join(path, "labels.npy"), labels.astype(np.int64))
    with open(os.path.join(path, "classes.txt"), "w") as f:
        f.write("".join(f"k{k}\n" for k in range(c)))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261122)
    small = os.path.join(OUT, "small")
    write_small(small, rng)
    targets = [("small", small), ("demo_digits", "demo-data/digits"),
               ("demo_fortunes", "demo-data/fortunes")]
    skewed = os.path.join(OUT, "skewed")
    write_skewed(skewed, np.random.default_rng(20261123))  # its own generator: the others stay
    targets.append(("skewed", skewed))
    sparse = os.path.join(OUT, "sparse")
    write_sparse(sparse, np.random.default_rng(20261201))  # its own generator: the others stay
    targets.append(("sparse", sparse))
    clrules = os.path.join(OUT, "clrules")
    write_clrules(clrules, np.random.default_rng(20261202))  # its own generator: the others stay
    targets.append(("clrules", clrules))
    for name, count, seed in (("many12", 12, 20261203), ("many13", 13, 20261204)):
        many = os.path.join(OUT, name)
        write_many(many, np.random.default_rng(seed), count)  # their own generators
        targets.append((name, many))
    for name, path in targets:
        labels, classes, models, acts = load_study(path)
        cases = cases_for(labels, models, acts, rng,
                          name in ("small", "skewed", "sparse", "clrules"))
        for case in cases:
            case["expect"] = expect(labels, models, acts, case)
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump({"study": path, "cases": cases}, f, separators=(",", ":"))
        print(f"{name}: {len(cases)} cases")


if __name__ == "__main__":
    main()

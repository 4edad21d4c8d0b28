#!/usr/bin/python3
"""The alternatives to `mix`'s weighting tried for issue #13's target, scored on sets of studies
made by `tools/bench_triage.py gen DIR --seed S`, so that the next attempt starts from these
figures instead of repeating them.

Every rule ranks as `nncmp issues --top K` does: flagged first (argmax P' != given label unless the
rule says otherwise), then by the score 1 - P'[i, y_i], then by index. P is the mean of the
models' probabilities, Q the neighbour vote of issue #13 (k nearest neighbours by cosine in the
study's layer, float64, ties to the lower index; v(c) = sum of cred[j] over the neighbours j
labelled c, Q = v / sum v) and the guard that of src/core/issues_mix.c. No rule reads the injected
errors: every constant is a fixed choice named below or is chosen on the given labels. For each
set and rule the table gives the target's three figures: the rule's mean precision at K minus the
better reference's mean (cleanlab's default or predicted_neq_given, as tools/bench_triage.py
computes them), the worst study's difference, and the number of studies lost by more than 3
points. The target is mean >= +2.0 and none lost.

  default       nncmp's mix since stop 27: the models' convex combination P0 of least summed
                Brier score (make_issue_fixtures.source_weights), cred[j] = P0[j, y_j] /
                max P0[j], the guard against P0, then P' = the convex combination of the models
                and Q of least summed Brier score, divided by each class's threshold t_c (the
                mean P'[i, c] over the instances labelled c); flag argmax, score 1 - P'[i, y_i]
                / t_y
  no-threshold  default without the class thresholds
  equal-models  default with the models' mean for P0 and P' = (1 - w) P + w Q (w of least
                Brier score, closed form): the stop-26 rule, with the thresholds
The rules below are the alternatives tried in stop 26 on the stop-26 rule (P the models' mean,
cred[j] = P[j, y_j], P' = (1 - w) P + w Q, no thresholds):
  stop-26       that rule: k = 10, w of least summed Brier score (closed form)
  tie-mean      default, ties of the score broken by the mean's self-confidence before the index
  k=5, k=20, k=30   default with another fixed k
  k-brier       k in {5, 10, 20, 40} and w of least Brier score over both
  k-loo         k in {5, 10, 20, 40} of best leave-one-out vote accuracy on the given labels
  k-average     Q averaged over k = 5, 10, 20, 40 (neighbour weights decaying with rank)
  sim           each neighbour's vote also weighted by its cosine (clipped at 0)
  counts        plain label counts (no P[j, y_j] weighting)
  pl^2          votes weighted by P[j, y_j]^2 (a neighbour's credibility more sharply)
  hard          votes weighted by [argmax P_j = y_j]
  iter          three rounds: the votes weighted by the previous round's P'[j, y_j]
  w-logloss     w of least log-loss (grid of 201 steps) instead of Brier score
  w-cv          w fitted on the other four of five folds of the instances (i mod 5)
  w-class       one w per given class (Brier score over that class's instances)
  w-signif      the vote used only when its Brier gain over P exceeds 2 standard errors
                (paired over the instances; about a 5% one-sided test)
  dirichlet     P' = (v + a P) / (sum v + a): a per-instance weight sum v / (sum v + a), high
                where the neighbours' labels are credible; a of least Brier score (log grid)
  flag-cl       default, flagged set = cleanlab's default rule applied to P'
  models-brier  P = the convex combination of the models (steps of 0.05) of least Brier score,
                then default
  models-brier+hard+logloss   models-brier, hard votes and w of least log-loss together

Usage: tools/triage_rules.py [--nncmp ./nncmp] DIR...
  --nncmp checks that the default rule's top K holds the instances of `nncmp issues --method
  mix --top K` on every study (exit status 1 when one differs), so that the table measures what
  nncmp does.
"""
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_triage  # noqa: E402
import make_issue_fixtures as oracle  # noqa: E402

KS = (5, 10, 20, 40)
KMAX = max(KS)
WS = np.linspace(0.0, 1.0, 201)
ALPHAS = np.exp(np.linspace(np.log(0.01), np.log(1000.0), 241))
MODEL_GRID = [(a, b, 1.0 - a - b) for a in np.linspace(0, 1, 21) for b in np.linspace(0, 1, 21)
              if a + b <= 1.0 + 1e-9]


class Study:
    """One study: labels y, mean probabilities P, each model's, the layer's neighbours nearest
    first (-1 where there are fewer than KMAX) with their cosines, the injected errors, K and
    the two references' precision at K."""

    def __init__(self, path):
        labels, _, models, acts = oracle.load_study(path)
        if len(acts) != 1:
            sys.exit(f"triage_rules: {path}: expected one layer, found {len(acts)}")
        self.y = labels
        self.P = oracle.mean_probs(models, None)
        self.models = [p for _, p, _ in models]
        n = len(labels)
        self.rows = np.arange(n)
        sim, asks = oracle.cosine(next(iter(acts.values())), np.ones(n, bool))
        self.nbr = np.full((n, KMAX), -1, np.int64)
        self.nsim = np.zeros((n, KMAX))
        for i in np.nonzero(asks)[0]:
            cand = np.nonzero(np.isfinite(sim[i]))[0]
            order = cand[np.lexsort((cand, -sim[i, cand]))][:KMAX]
            self.nbr[i, :len(order)] = order
            self.nsim[i, :len(order)] = sim[i, order]
        with open(os.path.join(path, "oracle", "injected.json")) as f:
            bad = json.load(f)["indices"]
        self.bad = np.zeros(n, bool)
        self.bad[bad] = True
        self.K = len(bad)
        self.ref = {name: self.precision(order)
                    for name, (order, _) in bench_triage.references(path).items()}

    def precision(self, order):
        return float(self.bad[order[:self.K]].sum()) / self.K


def onehot(y, c):
    e = np.zeros((len(y), c))
    e[np.arange(len(y)), y] = 1.0
    return e


def brier(P2, y):
    return float(((P2 - onehot(y, P2.shape[1])) ** 2).sum())


def votes(st, k, cred, weights=None):
    """v(c) = the sum of cred[j] (times weights) over i's first k neighbours labelled c, and
    whether i has neighbours."""
    n, c = st.P.shape
    nb = st.nbr[:, :k]
    ok = nb >= 0
    j = np.where(ok, nb, 0)
    wv = np.where(ok, cred[j], 0.0)
    if weights is not None:
        wv = wv * weights[:, :k]
    V = np.zeros((n, c))
    np.add.at(V, (np.repeat(st.rows, k), st.y[j].ravel()), wv.ravel())
    cnt = np.zeros((n, c))
    np.add.at(cnt, (np.repeat(st.rows, k), st.y[j].ravel()), ok.ravel().astype(float))
    return V, cnt, ok.any(axis=1)


def vote(st, k, cred=None, P=None, weights=None):
    """Q (issue #13's vote; P's row where i has no neighbours) and the rows with neighbours."""
    P = st.P if P is None else P
    cred = P[st.rows, st.y] if cred is None else cred
    V, cnt, has = votes(st, k, cred, weights)
    tot = V.sum(axis=1)
    Q = np.where((tot > 0)[:, None], V / np.where(tot > 0, tot, 1.0)[:, None],
                 cnt / np.maximum(cnt.sum(axis=1), 1.0)[:, None])
    Q[~has] = P[~has]
    return Q, has


def guard_keeps(st, Q, has, P=None):
    P = st.P if P is None else P
    agree_p = int((P.argmax(axis=1) == st.y).sum())
    agree_u = int(((Q.argmax(axis=1) == st.y) & has).sum())
    return not (agree_u > agree_p and 100 * (agree_u - agree_p) > 10 * len(st.y))


def w_brier(P, Q, y):
    a = P - onehot(y, P.shape[1])
    d = Q - P
    dd = float((d * d).sum())
    return float(np.clip(-(a * d).sum() / dd, 0.0, 1.0)) if dd > 0 else 0.0


def w_logloss(P, Q, y):
    r = np.arange(len(y))
    ll = [-np.log(np.clip((1 - w) * P[r, y] + w * Q[r, y], 1e-12, 1.0)).sum() for w in WS]
    return float(WS[int(np.argmin(ll))])


def ranked(st, P2, flag=None, tie=None):
    """nncmp's order: flagged first, then by 1 - P2[i, y_i], then tie (if any), then index."""
    flag = P2.argmax(axis=1) != st.y if flag is None else flag
    keys = (st.rows,) + ((tie,) if tie is not None else ()) + (-(1.0 - P2[st.rows, st.y]),
                                                               -flag.astype(int))
    return st.rows[np.lexsort(keys)]


def mixed(st, k=10, cred=None, P=None, weights=None, choose=w_brier):
    """P' of the default rule with its parts replaceable; P when the guard drops the layer."""
    P = st.P if P is None else P
    Q, has = vote(st, k, cred, P, weights)
    if not guard_keeps(st, Q, has, P):
        return P
    w = choose(P, Q, st.y)
    return (1 - w) * P + w * Q


def rule_stop26(st):
    return ranked(st, mixed(st))


def thresholds(P2, y):
    """P2 divided by each class's threshold: the mean P2[i, c] over the instances labelled c (1
    when there are none or it is not positive)."""
    t = np.ones(P2.shape[1])
    for c in range(P2.shape[1]):
        m = y == c
        if m.any():
            tc = oracle.seq_sum(P2[m, c]) / int(m.sum())
            t[c] = tc if tc > 0 else 1.0
    return P2 / t


def joint(st, k=10):
    """P' of nncmp's mix: the sources' weights fitted as make_issue_fixtures.mix fits them
    (the study's one layer); P (the mean) when the guard drops the layer."""
    keep = np.ones(len(st.y), bool)
    Ps = [p for p in st.models if p is not None]
    alpha = oracle.source_weights(Ps, st.y, keep)
    P0 = oracle.combine(Ps, alpha)
    mx = P0.max(axis=1)
    cred = np.where(mx > 0, P0[st.rows, st.y] / np.where(mx > 0, mx, 1.0), 0.0)
    Q, has = vote(st, k, cred, P0)
    if not guard_keeps(st, Q, has, P0):
        return None
    srcs = Ps + [Q] if len(Ps) + 1 <= oracle.SIMPLEX_MAX else [P0, Q]
    return oracle.combine(srcs, oracle.source_weights(srcs, st.y, keep))


def rule_default(st):
    P2 = joint(st)
    return ranked(st, st.P if P2 is None else thresholds(P2, st.y))


def rule_no_threshold(st):
    P2 = joint(st)
    return ranked(st, st.P if P2 is None else P2)


def rule_equal_models(st):
    Q, has = vote(st, 10)
    if not guard_keeps(st, Q, has):
        return ranked(st, st.P)
    return ranked(st, thresholds(mixed(st), st.y))


def rule_tie_mean(st):
    return ranked(st, mixed(st), tie=-(1.0 - st.P[st.rows, st.y]))


def rule_k(k):
    return lambda st: ranked(st, mixed(st, k=k))


def rule_k_brier(st):
    cands = [mixed(st, k=k) for k in KS]
    return ranked(st, min(cands, key=lambda P2: brier(P2, st.y)))


def rule_k_loo(st):
    acc = [float((vote(st, k)[0].argmax(axis=1) == st.y).mean()) for k in KS]
    return ranked(st, mixed(st, k=KS[int(np.argmax(acc))]))


def rule_k_average(st):
    parts = [vote(st, k) for k in KS]
    Q = sum(q for q, _ in parts) / len(parts)
    has = parts[0][1]
    if not guard_keeps(st, Q, has):
        return ranked(st, st.P)
    w = w_brier(st.P, Q, st.y)
    return ranked(st, (1 - w) * st.P + w * Q)


def rule_sim(st):
    return ranked(st, mixed(st, weights=np.maximum(st.nsim, 0.0)))


def rule_counts(st):
    return ranked(st, mixed(st, cred=np.ones(len(st.y))))


def rule_pl2(st):
    return ranked(st, mixed(st, cred=st.P[st.rows, st.y] ** 2))


def rule_hard(st):
    return ranked(st, mixed(st, cred=(st.P.argmax(axis=1) == st.y).astype(float)))


def rule_iter(st):
    P2 = st.P
    for _ in range(3):
        Q, has = vote(st, 10, cred=P2[st.rows, st.y])
        if not guard_keeps(st, Q, has):
            return ranked(st, st.P)
        w = w_brier(st.P, Q, st.y)
        P2 = (1 - w) * st.P + w * Q
    return ranked(st, P2)


def rule_w_logloss(st):
    return ranked(st, mixed(st, choose=w_logloss))


def rule_w_cv(st):
    Q, has = vote(st, 10)
    if not guard_keeps(st, Q, has):
        return ranked(st, st.P)
    fold = st.rows % 5
    P2 = st.P.copy()
    for f in range(5):
        m = fold == f
        w = w_brier(st.P[~m], Q[~m], st.y[~m])
        P2[m] = (1 - w) * st.P[m] + w * Q[m]
    return ranked(st, P2)


def rule_w_class(st):
    Q, has = vote(st, 10)
    if not guard_keeps(st, Q, has):
        return ranked(st, st.P)
    P2 = st.P.copy()
    for c in np.unique(st.y):
        m = st.y == c
        w = w_brier(st.P[m], Q[m], st.y[m])
        P2[m] = (1 - w) * st.P[m] + w * Q[m]
    return ranked(st, P2)


def rule_w_signif(st):
    P2 = mixed(st)
    e = onehot(st.y, st.P.shape[1])
    gain = ((st.P - e) ** 2).sum(axis=1) - ((P2 - e) ** 2).sum(axis=1)
    se = gain.std(ddof=1) / np.sqrt(len(gain))
    return ranked(st, P2 if gain.mean() > 2.0 * se else st.P)


def rule_dirichlet(st):
    Q, has = vote(st, 10)
    if not guard_keeps(st, Q, has):
        return ranked(st, st.P)
    V, _, _ = votes(st, 10, st.P[st.rows, st.y])
    tot = V.sum(axis=1, keepdims=True)
    cands = ((V + a * st.P) / (tot + a) for a in ALPHAS)
    return ranked(st, min(cands, key=lambda P2: brier(P2, st.y)))


def rule_flag_cl(st):
    P2 = mixed(st)
    return ranked(st, P2, flag=bench_triage.cleanlab_default(P2, st.y))


def models_brier(st):
    e = onehot(st.y, st.P.shape[1])
    m = st.models
    return min((g[0] * m[0] + g[1] * m[1] + g[2] * m[2] for g in MODEL_GRID),
               key=lambda P: float(((P - e) ** 2).sum()))


def rule_models_brier(st):
    return ranked(st, mixed(st, P=models_brier(st)))


def rule_models_hard_logloss(st):
    P = models_brier(st)
    return ranked(st, mixed(st, P=P, cred=(P.argmax(axis=1) == st.y).astype(float),
                            choose=w_logloss))


RULES = [("default", rule_default), ("no-threshold", rule_no_threshold),
         ("equal-models", rule_equal_models), ("stop-26", rule_stop26), ("tie-mean", rule_tie_mean), ("k=5", rule_k(5)),
         ("k=20", rule_k(20)), ("k=30", rule_k(30)), ("k-brier", rule_k_brier),
         ("k-loo", rule_k_loo), ("k-average", rule_k_average), ("sim", rule_sim),
         ("counts", rule_counts), ("pl^2", rule_pl2), ("hard", rule_hard), ("iter", rule_iter),
         ("w-logloss", rule_w_logloss), ("w-cv", rule_w_cv), ("w-class", rule_w_class),
         ("w-signif", rule_w_signif), ("dirichlet", rule_dirichlet), ("flag-cl", rule_flag_cl),
         ("models-brier", rule_models_brier),
         ("models-brier+hard+logloss", rule_models_hard_logloss)]


def check_nncmp(nncmp, path, st):
    """Whether the default rule's top K holds the instances of nncmp's mix top K on this study
    (the order within it may differ where two scores are within float32's rounding)."""
    out = json.loads(subprocess.run(
        [nncmp, "--no-journal", "issues", path, "--method", "mix", "--top", str(st.K),
         "--json"], capture_output=True, text=True, check=True).stdout)
    return {e["index"] for e in out["issues"]} == set(rule_default(st)[:st.K].tolist())


def main():
    args = sys.argv[1:]
    nncmp = None
    if len(args) >= 2 and args[0] == "--nncmp":
        nncmp, args = args[1], args[2:]
    if not args:
        sys.exit(__doc__)
    cells = {name: [] for name, _ in RULES}
    # per study name, over the sets: each rule's precision and the two references' (for the
    # figures of make bench-triage, which averages each study over its draws first)
    pooled = {}
    differ = 0
    for top in args:
        names = sorted(d for d in os.listdir(top) if os.path.isdir(os.path.join(top, d)))
        if not names:
            sys.exit(f"triage_rules: {top}: no studies")
        prec = {name: [] for name, _ in RULES}
        best, refs = [], {"cleanlab": [], "pred!=given": []}
        for sname in names:
            path = os.path.join(top, sname)
            st = Study(path)
            if nncmp and not check_nncmp(nncmp, path, st):
                print(f"{path}: the default rule's top {st.K} is not nncmp's mix top {st.K}")
                differ += 1
            best.append(max(st.ref.values()))
            for r in refs:
                refs[r].append(st.ref[r])
            for name, rule in RULES:
                prec[name].append(st.precision(rule(st)))
            slot = pooled.setdefault(sname, {"refs": {r: [] for r in refs},
                                             "rules": {name: [] for name, _ in RULES}})
            for r in refs:
                slot["refs"][r].append(st.ref[r])
            for name, _ in RULES:
                slot["rules"][name].append(prec[name][-1])
        ref_mean = max(np.mean(v) for v in refs.values())
        for name, _ in RULES:
            d = 100 * (np.array(prec[name]) - np.array(best))
            cells[name].append((100 * (np.mean(prec[name]) - ref_mean), d.min(),
                                int((d < -3.0 - 1e-9).sum())))
    names = sorted(pooled)
    if any(len(pooled[n]["refs"]["cleanlab"]) != len(args) for n in names):
        sys.exit("triage_rules: the sets do not hold the same studies")
    ref_m = {r: np.array([np.mean(pooled[n]["refs"][r]) for n in names])
             for r in ("cleanlab", "pred!=given")}
    best_m = np.maximum(ref_m["cleanlab"], ref_m["pred!=given"])
    best_mean = max(v.mean() for v in ref_m.values())
    print("| rule | " + " | ".join(os.path.basename(t.rstrip("/")) for t in args)
          + " | mean over sets | lost, all sets | sets meeting the target | studies averaged over"
          " the sets |")
    print("|" + " --- |" * (len(args) + 5))
    for name, _ in RULES:
        met = sum(m >= 2.0 - 1e-9 and lost == 0 for m, _, lost in cells[name])
        pm = np.array([np.mean(pooled[n]["rules"][name]) for n in names])
        d = 100 * (pm - best_m)
        print(f"| {name} | " + " | ".join(f"{m:+.1f} / {w:+.1f} / {lost}"
                                          for m, w, lost in cells[name])
              + f" | {np.mean([m for m, _, _ in cells[name]]):+.2f}"
              + f" | {sum(lost for _, _, lost in cells[name])} | {met} of {len(args)}"
              + f" | {100 * (pm.mean() - best_mean):+.1f} / {d.min():+.1f} / "
              + f"{int((d < -3.0 - 1e-9).sum())} |")
    print()
    print("each set: mean minus the better reference's mean / worst study / studies lost by "
          "more than 3 (points); the last column the same with each study's precisions "
          "averaged over the sets first, as make bench-triage scores them")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())

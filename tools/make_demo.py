#!/usr/bin/python3
"""Generate nncmp's demo studies and their test oracles.

Writes two studies under --out (default: demo-data):

  digits/    scikit-learn's bundled copy of the UCI optical digits (1797 8x8 images, 10 classes)
             with ~4% of the labels corrupted on purpose. Models: cnn, cnn_early (the same run's
             checkpoint after one epoch), knn (predictions only), mlp (logits); cnn and
             cnn_early also get graph.json (nncmp arch) and saliency/conv2.npy (Grad-CAM).
  fortunes/  entries of Debian's `fortunes` package (computers, literature, politics, science,
             startrek; at most 450 per class) with ~3% of the labels corrupted. Models: bow
             (tf-idf MLP), cnn (1-D CNN over word embeddings), nb (multinomial naive Bayes).

Each data set gets its labels corrupted first, over all of it, then one seeded stratified split:
half trains the models (on the corrupted labels), the other half is the study. Every model is
trained once; its outputs, activations and weights all come from that one trained model (for
cnn_early, from the same run's checkpoint after one epoch). The study holds the test half only.

Each study gets an oracle/ directory the nncmp loader ignores:
  true_labels.npy  the test instances' labels before corruption
  injected.json    the corrupted test instances: {"indices" (into the study), "true", "given",
                   "dataset_indices", "ids", "dataset_size", "dataset_injected"}
  metrics.json     metrics computed with numpy/scikit-learn/scipy from the files as written,
                   the reference the C code is tested against

Run with Debian's Python (it has numpy, scikit-learn, scipy, torch and PIL):

    /usr/bin/python3 tools/make_demo.py [--out DIR]

The output is deterministic: two runs on the same machine give byte-identical files.
"""

import argparse
import json
import os
import re
import shutil
import sys
import time

import numpy as np
import scipy.stats
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.metrics import (accuracy_score, cohen_kappa_score, confusion_matrix, f1_score,
                             precision_recall_fscore_support, top_k_accuracy_score)
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import MultinomialNB
from sklearn.neighbors import KNeighborsClassifier

TEST_FRAC = 0.5
BOOTSTRAP_REPS = 10000
ECE_BINS = 15
FORTUNES_DIR = "/usr/share/games/fortunes"
FORTUNE_CLASSES = ["computers", "literature", "politics", "science", "startrek"]
FORTUNES_PER_CLASS = 450


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------

def setup_torch():
    # A fixed thread count keeps the floating-point reductions, hence the files, identical from
    # run to run. One thread rather than two: these models are tiny, and two OpenMP threads that
    # share the machine's two cores with anything else run about ten times slower.
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def save_npy(path, arr, dtype):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(np.asarray(arr).astype(np.dtype(dtype).newbyteorder("<"))))


def write_json(path, obj, indent=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, indent=indent, allow_nan=False)
        f.write("\n")


def corrupt_labels(y, n_classes, frac, seed):
    """Moves round(frac*N) labels, chosen at random, to a different random class."""
    rng = np.random.default_rng(seed)
    n_bad = int(round(frac * len(y)))
    idx = np.sort(rng.choice(len(y), size=n_bad, replace=False))
    given = y.copy()
    for i in idx:
        others = [c for c in range(n_classes) if c != y[i]]
        given[i] = others[rng.integers(len(others))]
    return given, idx


def split_half(y, seed):
    """One seeded split, stratified on the labels a user would have (the corrupted ones): half the
    instances train the models, the other half is the study. Both index lists are sorted, so the
    study keeps the data set's order."""
    tr, te = train_test_split(np.arange(len(y)), test_size=TEST_FRAC, stratify=y,
                              random_state=seed)
    return np.sort(tr), np.sort(te)


def write_common(study, classes, te, y, y_true, injected, samples):
    """Writes what every study has, for the test instances te (indices into the data set): the
    corrupted labels, classes, samples and the oracle's truth. injected holds the data set indices
    of every corrupted label, train and test."""
    with open(os.path.join(study, "classes.txt"), "w", encoding="utf-8", newline="\n") as f:
        for c in classes:
            f.write(c + "\n")
    save_npy(os.path.join(study, "labels.npy"), y[te], np.int64)
    save_npy(os.path.join(study, "oracle", "true_labels.npy"), y_true[te], np.int64)
    pos = np.nonzero(np.isin(te, injected))[0]         # positions in the study
    assert np.array_equal(pos, np.nonzero(y[te] != y_true[te])[0])
    write_json(os.path.join(study, "oracle", "injected.json"), {
        "indices": [int(i) for i in pos],
        "true": [int(y_true[te[i]]) for i in pos],
        "given": [int(y[te[i]]) for i in pos],
        "dataset_indices": [int(te[i]) for i in pos],
        "ids": [samples[i]["id"] for i in pos],
        "dataset_size": int(len(y)),
        "dataset_injected": int(len(injected)),
    })
    with open(os.path.join(study, "samples.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for s in samples:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")


def weight_dtype(w):
    """float32, or float16 for a matrix over 100 KB (it keeps the study small)."""
    return np.float16 if w.size * 4 > 100 * 1024 else np.float32


def save_weights(md, name, model, layers):
    """weights/LAYER.npy for each layer, in torch's layout: (out, in) for a Linear, and a Conv2d's
    (out, in, kh, kw) as it is, which `nncmp kernels` and the K view draw as kernels (nncmp reads
    it as the matrix out x in*kh*kw where it wants one). Other convolutions' (out, in, k) kernels
    are flattened to (out, in*k) in C order."""
    for l in layers:
        mod = getattr(model, l)
        w = mod.weight.detach().numpy()
        if not isinstance(mod, nn.Conv2d):
            w = w.reshape(w.shape[0], -1)
        save_npy(f"{md}/{name}/weights/{l}.npy", w, weight_dtype(w))


def train_torch(model, inputs, y, *, epochs, lr, batch, weight_decay, seed, snapshots=()):
    """Adam over shuffled mini-batches, learning rate decayed along a cosine per epoch. inputs is
    a tuple of tensors indexed along dim 0. Returns {epoch: state_dict copy} for the epochs in
    `snapshots` (1-based)."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    yt = torch.as_tensor(y, dtype=torch.int64)
    n = len(yt)
    saved = {}
    for ep in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=g)
        for s in range(0, n, batch):
            b = perm[s:s + batch]
            opt.zero_grad()
            out = model(*(t[b] for t in inputs))[0]
            loss = F.cross_entropy(out, yt[b])
            loss.backward()
            opt.step()
        sched.step()
        if ep in snapshots:
            saved[ep] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.eval()
    return saved


def tick(what, t0):
    print(f"  {what}: {time.time() - t0:.1f} s", flush=True)
    return time.time()


# ---------------------------------------------------------------------------------------------
# Digits
# ---------------------------------------------------------------------------------------------

class DigitsCNN(nn.Module):
    def __init__(self, dropout=0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 4 * 4, 64)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        c1 = F.relu(self.conv1(x))                 # (B, 8, 8, 8)
        c2 = F.relu(self.conv2(c1))                # (B, 16, 8, 8)
        gap = c2.mean(dim=(2, 3))                  # global average pool, post-ReLU
        h = F.max_pool2d(c2, 2).flatten(1)         # (B, 256)
        f1 = F.relu(self.fc1(self.drop(h)))
        return self.fc2(self.drop(f1)), {"fc1": f1, "conv2": gap, "conv1": c1}


class DigitsMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        f1 = F.relu(self.fc1(x))
        return self.fc2(f1), {"fc1": f1}


def eval_torch(model, inputs):
    """Evaluates model on inputs (a tuple of tensors) in eval mode: (outputs, activations) as
    numpy arrays."""
    model.eval()
    with torch.no_grad():
        out, acts = model(*inputs)
    return out.numpy(), {k: v.numpy() for k, v in acts.items()}


def softmax(z):
    return torch.softmax(torch.from_numpy(z), dim=1).numpy()


def write_inside(md, name, model, x):
    """graph.json (nncmp arch) and Grad-CAM maps on conv2 (issue 17), with tools/nncmp_export.py's
    functions, which export_torch uses; the model is in eval mode."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import nncmp_export as nx
    write_json(f"{md}/{name}/graph.json", nx.model_graph(model, x[:64], name), indent=1)
    cams = [nx.grad_cam(model, model.conv2, x[b:b + 256])[0].numpy()
            for b in range(0, len(x), 256)]
    save_npy(f"{md}/{name}/saliency/conv2.npy", np.concatenate(cams), np.float16)


def make_digits(out):
    t0 = t = time.time()
    study = os.path.join(out, "digits")
    shutil.rmtree(study, ignore_errors=True)
    os.makedirs(study)
    d = load_digits()
    X = d.data.astype(np.float64)               # (1797, 64), values 0..16
    y_true = d.target.astype(np.int64)
    C = 10
    classes = [str(c) for c in range(C)]
    y, injected = corrupt_labels(y_true, C, 0.04, seed=4)
    tr, te = split_half(y, seed=0)

    # The study holds the test half only; ids and image names keep the data set index.
    os.makedirs(os.path.join(study, "images"))
    samples = []
    for i in te:
        px = (255 - np.round(X[i].reshape(8, 8) * 255 / 16)).astype(np.uint8)
        Image.fromarray(px, mode="L").save(os.path.join(study, "images", f"{i:05d}.png"))
        samples.append({"id": f"digit-{i:05d}", "image": f"images/{i:05d}.png", "split": "test"})
    write_common(study, classes, te, y, y_true, injected, samples)

    Xs = torch.tensor(X / 16.0, dtype=torch.float32)
    Ximg = Xs.reshape(len(X), 1, 8, 8)
    md = os.path.join(study, "models")

    # cnn and cnn_early: one training run; cnn_early is its checkpoint after epoch 1.
    epochs = 20
    torch.manual_seed(100)
    m = DigitsCNN()
    snaps = train_torch(m, (Ximg[tr],), y[tr], epochs=epochs, lr=5e-3, batch=16,
                        weight_decay=1e-4, seed=200, snapshots=(1, epochs))
    for name, ep in (("cnn", epochs), ("cnn_early", 1)):
        m.load_state_dict(snaps[ep])
        z, acts = eval_torch(m, (Ximg[te],))
        save_npy(f"{md}/{name}/probs.npy", softmax(z), np.float32)
        save_npy(f"{md}/{name}/act/fc1.npy", acts["fc1"], np.float32)
        save_npy(f"{md}/{name}/act/conv2.npy", acts["conv2"], np.float16)
        # conv1's output as (N, C, H, W): nncmp neurons --channels, nncmp patches
        save_npy(f"{md}/{name}/act/conv1.npy", acts["conv1"], np.float16)
        save_weights(md, name, m, ("conv1", "conv2", "fc1", "fc2"))
        write_inside(md, name, m, Ximg[te])
    t = tick("cnn + cnn_early", t)

    # mlp: logits
    torch.manual_seed(300)
    m = DigitsMLP()
    train_torch(m, (Xs[tr],), y[tr], epochs=30, lr=2e-3, batch=16, weight_decay=1e-3, seed=400)
    z, acts = eval_torch(m, (Xs[te],))
    save_npy(f"{md}/mlp/logits.npy", z, np.float32)
    save_npy(f"{md}/mlp/act/fc1.npy", acts["fc1"], np.float32)
    save_weights(md, "mlp", m, ("fc1",))
    t = tick("mlp", t)

    # knn: predictions only
    knn = KNeighborsClassifier(n_neighbors=5)
    knn.fit(X[tr], y[tr])
    save_npy(f"{md}/knn/pred.npy", knn.predict(X[te]), np.int64)
    t = tick("knn", t)

    filters = [
        "gt == 3 and cnn == gt and mlp != gt",
        "conf(cnn) > 0.9 and cnn != gt",
        "margin(mlp) < 0.2",
        "not (cnn == knn)",
        'split == "test" and gt == 0',
        "act(cnn.fc1.5) > 0.5",
        # conv2 is float16: five test instances sit exactly on this value, so >= and > differ.
        "act(cnn.conv2.3) >= 0.2025146484375",
        "act(cnn.conv2.3) > 0.2025146484375",
        "p(cnn, 7) > 0.5",
        "correct == 0",
        "cnn != gt or mlp != gt",
        "cnn_early != cnn and (gt == 8 or gt == 9)",
        "conf(cnn_early) < 0.5 and not correct == 4",
        'p(mlp, "4") >= 0.25 and knn == 4',
    ]
    metrics = oracle(study, filters, d_filter="cnn != gt")
    t = tick("oracle", t)
    write_json(os.path.join(study, "oracle", "metrics.json"), metrics)
    summarize("digits", metrics, t0)
    return metrics


# ---------------------------------------------------------------------------------------------
# Fortunes
# ---------------------------------------------------------------------------------------------

def read_fortunes(path):
    """Entries of a fortune file as (index, text): text between '%' lines, the final line break
    dropped, everything else (tabs, backspace overstrike, bells, ...) kept."""
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8")
    if raw.endswith("\n"):
        raw = raw[:-1]
    entries, cur = [], []
    for line in raw.split("\n"):
        if line == "%":
            entries.append("\n".join(cur))
            cur = []
        else:
            cur.append(line)
    entries.append("\n".join(cur))
    return list(enumerate(entries))


TOKEN_RE = re.compile(r"[a-z0-9']+")


def tokenize(text):
    return TOKEN_RE.findall(text.lower())


class BowMLP(nn.Module):
    def __init__(self, n_in):
        super().__init__()
        self.fc1 = nn.Linear(n_in, 64)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(64, 5)

    def forward(self, x):
        f1 = F.relu(self.fc1(x))
        return self.fc2(self.drop(f1)), {"fc1": f1}


class TextCNN(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.emb = nn.Embedding(vocab, 32, padding_idx=0)
        self.conv = nn.Conv1d(32, 64, 3, padding=1)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(64, 5)

    def forward(self, ids, mask):
        # Crop the padding to the batch's longest text: padding embeds to zeros (padding_idx) and
        # the conv's own zero padding sees the same, so this changes nothing but the cost.
        L = max(int(mask.sum(dim=1).max()), 1)
        ids, mask = ids[:, :L], mask[:, :L]
        e = self.emb(ids).transpose(1, 2)          # (B, 32, L)
        h = F.relu(self.conv(e)) * mask[:, None, :]  # post-ReLU, padding positions zeroed
        pooled = h.max(dim=2).values               # global max-pool over real tokens
        return self.fc(self.drop(pooled)), {"conv": pooled}


MAX_TOKENS = 256


def encode(texts, vocab):
    ids = torch.zeros((len(texts), MAX_TOKENS), dtype=torch.int64)
    mask = torch.zeros((len(texts), MAX_TOKENS), dtype=torch.float32)
    for i, t in enumerate(texts):
        toks = [vocab.get(w, 1) for w in tokenize(t)][:MAX_TOKENS]
        ids[i, :len(toks)] = torch.tensor(toks, dtype=torch.int64)
        mask[i, :len(toks)] = 1.0
    return ids, mask


def make_fortunes(out):
    t0 = t = time.time()
    study = os.path.join(out, "fortunes")
    shutil.rmtree(study, ignore_errors=True)
    os.makedirs(study)
    rng = np.random.default_rng(5)
    texts, ids, y_true = [], [], []
    for c, name in enumerate(FORTUNE_CLASSES):
        entries = [(i, t) for i, t in read_fortunes(os.path.join(FORTUNES_DIR, name))
                   if t.strip() != ""]
        if len(entries) > FORTUNES_PER_CLASS:
            keep = np.sort(rng.choice(len(entries), size=FORTUNES_PER_CLASS, replace=False))
            entries = [entries[j] for j in keep]
        for i, text in entries:
            texts.append(text)
            ids.append(f"{name}-{i:04d}")
            y_true.append(c)
    y_true = np.array(y_true, dtype=np.int64)
    C = len(FORTUNE_CLASSES)
    y, injected = corrupt_labels(y_true, C, 0.03, seed=3)
    tr, te = split_half(y, seed=1)
    samples = [{"id": ids[i], "text": texts[i], "split": "test"} for i in te]
    write_common(study, FORTUNE_CLASSES, te, y, y_true, injected, samples)
    md = os.path.join(study, "models")
    texts_tr = [texts[i] for i in tr]
    texts_te = [texts[i] for i in te]

    # bow: tf-idf MLP
    vec = TfidfVectorizer(max_features=2000, sublinear_tf=True)
    Xtr = torch.tensor(vec.fit_transform(texts_tr).toarray(), dtype=torch.float32)
    Xte = torch.tensor(vec.transform(texts_te).toarray(), dtype=torch.float32)
    torch.manual_seed(500)
    m = BowMLP(Xtr.shape[1])
    train_torch(m, (Xtr,), y[tr], epochs=15, lr=2e-3, batch=32, weight_decay=1e-4, seed=600)
    z, acts = eval_torch(m, (Xte,))
    save_npy(f"{md}/bow/probs.npy", softmax(z), np.float32)
    save_npy(f"{md}/bow/act/fc1.npy", acts["fc1"], np.float32)
    save_weights(md, "bow", m, ("fc1", "fc2"))
    t = tick("bow", t)

    # cnn: 1-D CNN over word embeddings, vocabulary from the training half
    counts = {}
    for text in texts_tr:
        for w in tokenize(text):
            counts[w] = counts.get(w, 0) + 1
    words = sorted(w for w, c in counts.items() if c >= 2)
    vocab = {w: j + 2 for j, w in enumerate(words)}   # 0 padding, 1 unknown
    ids_tr, mask_tr = encode(texts_tr, vocab)
    ids_te, mask_te = encode(texts_te, vocab)
    torch.manual_seed(700)
    m = TextCNN(len(vocab) + 2)
    train_torch(m, (ids_tr, mask_tr), y[tr], epochs=8, lr=1e-2, batch=32, weight_decay=1e-5,
                seed=800)
    z, acts = eval_torch(m, (ids_te, mask_te))
    save_npy(f"{md}/cnn/probs.npy", softmax(z), np.float32)
    save_npy(f"{md}/cnn/act/conv.npy", acts["conv"], np.float32)
    save_weights(md, "cnn", m, ("conv", "fc"))
    t = tick("cnn", t)

    # nb: multinomial naive Bayes on counts
    vec = CountVectorizer()
    nb = MultinomialNB(alpha=1.0)
    nb.fit(vec.fit_transform(texts_tr), y[tr])
    save_npy(f"{md}/nb/probs.npy", nb.predict_proba(vec.transform(texts_te)), np.float32)
    t = tick("nb", t)

    filters = [
        'text ~ "unix"',
        "gt == politics and bow == gt and cnn != gt",
        "nb == science",
        "conf(bow) > 0.9 and bow != gt",
        "margin(cnn) < 0.2",
        "not (bow == nb)",
        'split == "test" and gt == startrek',
        "act(bow.fc1.5) > 0.3",
        "act(cnn.conv.3) >= 1.0",
        "p(nb, literature) > 0.5",
        "correct == 0",
        "bow != gt or cnn != gt",
        'text ~ "computer" and gt != computers',
        'p(cnn, "computers") >= 0.25 and not (gt == computers)',
    ]
    metrics = oracle(study, filters, d_filter="bow != gt")
    t = tick("oracle", t)
    write_json(os.path.join(study, "oracle", "metrics.json"), metrics)
    summarize("fortunes", metrics, t0)
    return metrics


# ---------------------------------------------------------------------------------------------
# Oracle: everything below reads the study back from disk
# ---------------------------------------------------------------------------------------------

def load_study(study):
    s = {}
    s["labels"] = np.load(os.path.join(study, "labels.npy")).astype(np.int64)
    with open(os.path.join(study, "classes.txt"), encoding="utf-8") as f:
        s["classes"] = [l.rstrip("\n") for l in f]
    with open(os.path.join(study, "samples.jsonl"), encoding="utf-8") as f:
        s["samples"] = [json.loads(l) for l in f]
    md = os.path.join(study, "models")
    models = []
    for name in sorted(os.listdir(md), key=lambda x: x.encode()):
        d = os.path.join(md, name)
        m = {"name": name, "layers": {}}
        if os.path.exists(os.path.join(d, "probs.npy")):
            m["source"] = "probs"
            m["p"] = np.load(os.path.join(d, "probs.npy")).astype(np.float64)
        elif os.path.exists(os.path.join(d, "logits.npy")):
            m["source"] = "logits"
            z = np.load(os.path.join(d, "logits.npy")).astype(np.float64)
            e = np.exp(z - z.max(axis=1, keepdims=True))
            m["p"] = e / e.sum(axis=1, keepdims=True)
        else:
            m["source"] = "pred"
            m["p"] = None
            m["pred"] = np.load(os.path.join(d, "pred.npy")).astype(np.int64)
        if m["p"] is not None:
            m["pred"] = np.argmax(m["p"], axis=1)
            srt = np.sort(m["p"], axis=1)
            m["conf"] = srt[:, -1]
            m["margin"] = srt[:, -1] - srt[:, -2]
        ad = os.path.join(d, "act")
        if os.path.isdir(ad):
            for fn in sorted(os.listdir(ad), key=lambda x: x.encode()):
                a = np.load(os.path.join(ad, fn)).astype(np.float64)
                # nncmp reads an (N, C, H, W) layer as N x C*H*W
                m["layers"][fn[:-4]] = a.reshape(len(a), -1)
        models.append(m)
    s["models"] = models
    return s


def ece(p, pred, labels):
    conf = p.max(axis=1)
    correct = (pred == labels).astype(np.float64)
    b = np.clip(np.ceil(conf * ECE_BINS) - 1, 0, ECE_BINS - 1).astype(np.int64)
    n, total = len(labels), 0.0
    for k in range(ECE_BINS):
        sel = b == k
        if sel.any():
            total += sel.sum() / n * abs(correct[sel].mean() - conf[sel].mean())
    return float(total)


def bootstrap_ci(ca, cb):
    """Percentile CI (2.5, 97.5; numpy's default linear interpolation) of acc_b - acc_a over
    BOOTSTRAP_REPS instance-level resamples. Each pair starts a fresh default_rng(0); drawing in
    chunks gives the same indices as one rng.integers(0, n, size=(BOOTSTRAP_REPS, n))."""
    rng = np.random.default_rng(0)
    n = len(ca)
    diff = (cb.astype(np.float64) - ca.astype(np.float64))
    out = np.empty(BOOTSTRAP_REPS)
    chunk = 500
    for s in range(0, BOOTSTRAP_REPS, chunk):
        idx = rng.integers(0, n, size=(min(chunk, BOOTSTRAP_REPS - s), n))
        out[s:s + len(idx)] = diff[idx].mean(axis=1)
    lo, hi = np.percentile(out, [2.5, 97.5])
    return [float(lo), float(hi)]


def model_metrics(m, labels, C):
    pred = m["pred"]
    L = list(range(C))
    prec, rec, f1, sup = precision_recall_fscore_support(labels, pred, labels=L, zero_division=0)
    r = {
        "name": m["name"],
        "source": m["source"],
        "accuracy": float(accuracy_score(labels, pred)),
        "macro_f1": float(f1_score(labels, pred, average="macro", labels=L, zero_division=0)),
        "per_class": [{"precision": float(prec[c]), "recall": float(rec[c]), "f1": float(f1[c]),
                       "support": int(sup[c])} for c in L],
        "confusion": confusion_matrix(labels, pred, labels=L).tolist(),
    }
    if m["p"] is not None:
        r["top_k"] = {str(k): float(top_k_accuracy_score(labels, m["p"], k=k, labels=L))
                      for k in (2, 3, 5) if k < C}
        r["ece"] = ece(m["p"], pred, labels)
    return r


def pair_metrics(a, b, labels, C):
    ca, cb = a["pred"] == labels, b["pred"] == labels

    def counts(sel):
        return {"both_correct": int(np.sum(ca & cb & sel)), "only_a": int(np.sum(ca & ~cb & sel)),
                "only_b": int(np.sum(~ca & cb & sel)), "both_wrong": int(np.sum(~ca & ~cb & sel))}

    r = {"a": a["name"], "b": b["name"]}
    r.update(counts(np.ones(len(labels), bool)))
    r["per_class"] = [counts(labels == c) for c in range(C)]
    oa, ob = r["only_a"], r["only_b"]
    r["agreement"] = float(np.mean(a["pred"] == b["pred"]))
    r["kappa"] = float(cohen_kappa_score(a["pred"], b["pred"]))
    r["mcnemar_p"] = (float(scipy.stats.binomtest(min(oa, ob), oa + ob, 0.5).pvalue)
                      if oa + ob > 0 else 1.0)
    r["acc_diff"] = float(cb.mean() - ca.mean())
    r["acc_diff_ci_bootstrap"] = bootstrap_ci(ca, cb)
    r["bootstrap_reps"] = BOOTSTRAP_REPS
    return r


def neuron_stats(acts, sel):
    n = acts.shape[0]
    r = {
        "mean": acts.mean(axis=0).tolist(),
        "std": acts.std(axis=0, ddof=1).tolist(),
        "min": acts.min(axis=0).tolist(),
        "max": acts.max(axis=0).tolist(),
        "dead_frac": (np.sum(acts == 0.0, axis=0) / n).tolist(),
    }
    S, R = acts[sel], acts[~sel]
    nS, nR = len(S), len(R)
    pooled = np.sqrt(((nS - 1) * S.var(axis=0, ddof=1) + (nR - 1) * R.var(axis=0, ddof=1))
                     / (nS + nR - 2))
    diff = S.mean(axis=0) - R.mean(axis=0)
    d = np.where(pooled == 0, 0.0, diff / np.where(pooled == 0, 1.0, pooled))
    r["d"] = d.tolist()
    return r


def oracle(study, filters, d_filter):
    s = load_study(study)
    labels, C, models = s["labels"], len(s["classes"]), s["models"]
    met = {"n": int(len(labels)), "classes": s["classes"]}
    met["models"] = [model_metrics(m, labels, C) for m in models]
    met["pairs"] = [pair_metrics(models[i], models[j], labels, C)
                    for i in range(len(models)) for j in range(i + 1, len(models))]
    n_correct = sum((m["pred"] == labels).astype(np.int64) for m in models)
    met["n_correct"] = np.bincount(n_correct, minlength=len(models) + 1).tolist()
    ev = FilterEval(s)
    met["filters"] = []
    for f in filters:
        mask = ev.select(f)
        if ev.select(f, f32=True).tolist() != mask.tolist():
            raise SystemExit(f"filter {f!r}: count depends on float32 vs float64 rounding")
        met["filters"].append({"expr": f, "count": int(mask.sum())})
    sel = ev.select(d_filter)
    met["neurons"] = {}
    for m in models:
        for layer, acts in m["layers"].items():
            st = neuron_stats(acts, sel)
            met["neurons"][f"{m['name']}.{layer}"] = {
                "mean": st["mean"], "std": st["std"], "min": st["min"], "max": st["max"],
                "dead_frac": st["dead_frac"], "d_filter": d_filter, "d": st["d"]}
    return met


# ---------------------------------------------------------------------------------------------
# A small evaluator of nncmp's filter language (see include/nncmp/filter.h), vectorized with numpy
# ---------------------------------------------------------------------------------------------

TOKENS = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
                    r"|(?P<str>\"(?:[^\"\\]|\\.)*\")"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)"
                    r"|(?P<op>==|!=|<=|>=|<|>|=|~|\(|\)|,|-))")


def ascii_lower(t):
    return t.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))


class FilterEval:
    """Values are (kind, array) with kind in num, class, str, lit (a quoted string), bool."""

    def __init__(self, s):
        self.s = s
        self.n = len(s["labels"])
        self.models = {m["name"]: m for m in s["models"]}
        self.classes = s["classes"]

    def select(self, text, f32=False):
        self.f32 = f32
        self.toks = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            mt = TOKENS.match(text, pos)
            if not mt or mt.end() == pos:
                raise ValueError(f"bad token at {pos} in {text!r}")
            kind = mt.lastgroup
            val = mt.group(kind)
            if kind == "name" and val.lower() in ("and", "or", "not"):
                kind, val = "kw", val.lower()
            self.toks.append((kind, val))
            pos = mt.end()
        self.i = 0
        k, v = self.parse_or()
        if self.i != len(self.toks) or k != "bool":
            raise ValueError(f"not a filter: {text!r}")
        return v

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, kind=None, val=None):
        t = self.peek()
        if (kind and t[0] != kind) or (val and t[1] != val):
            raise ValueError(f"expected {kind} {val}, got {t}")
        self.i += 1
        return t

    def parse_or(self):
        k, v = self.parse_and()
        while self.peek() == ("kw", "or"):
            self.take()
            k2, v2 = self.parse_and()
            assert k == k2 == "bool"
            v = v | v2
        return k, v

    def parse_and(self):
        k, v = self.parse_not()
        while self.peek() == ("kw", "and"):
            self.take()
            k2, v2 = self.parse_not()
            assert k == k2 == "bool"
            v = v & v2
        return k, v

    def parse_not(self):
        if self.peek() == ("kw", "not"):
            self.take()
            k, v = self.parse_not()
            assert k == "bool"
            return k, ~v
        return self.parse_cmp()

    def class_id(self, kind, v):
        if kind == "class":
            return v
        name = v if kind == "lit" else None
        if kind == "num":
            name = str(int(v[0])) if float(v[0]).is_integer() else None
        if name in self.classes:
            return np.full(self.n, float(self.classes.index(name)))
        if kind == "num":
            return v
        raise ValueError(f"no class {v!r}")

    def parse_cmp(self):
        ka, a = self.parse_value()
        t = self.peek()
        if t[0] == "op" and t[1] in ("==", "!=", "<", "<=", ">", ">=", "=", "~"):
            op = self.take()[1]
            kb, b = self.parse_value()
            if op == "~":
                assert ka == "str" and kb == "lit"
                needle = ascii_lower(b)
                return "bool", np.array([needle in ascii_lower(x) for x in a])
            if ka == "class" or kb == "class":
                a, b = self.class_id(ka, a), self.class_id(kb, b)
            elif ka in ("str", "lit") or kb in ("str", "lit"):
                a = a if ka == "str" else np.array([a] * self.n, dtype=object)
                b = b if kb == "str" else np.array([b] * self.n, dtype=object)
                assert op in ("==", "=", "!=")
            fn = {"==": np.equal, "=": np.equal, "!=": np.not_equal, "<": np.less,
                  "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[op]
            return "bool", fn(a, b).astype(bool)
        return ka, a

    def rnd(self, v):
        return v.astype(np.float32).astype(np.float64) if self.f32 else v

    def parse_value(self):
        kind, val = self.take()
        if kind == "num":
            return "num", np.full(self.n, float(val))
        if kind == "str":
            return "lit", json.loads(val)
        if kind == "op" and val == "(":
            r = self.parse_or()
            self.take("op", ")")
            return r
        if kind == "op" and val == "-":
            k, v = self.parse_value()
            assert k == "num"
            return k, -v
        if kind != "name":
            raise ValueError(f"unexpected {val!r}")
        if self.peek() == ("op", "("):
            self.take()
            args = [self.take()]
            while self.peek() == ("op", ","):
                self.take()
                args.append(self.take())
            self.take("op", ")")
            if val == "act":
                mname, layer, j = args[0][1].split(".")
                return "num", self.models[mname]["layers"][layer][:, int(j)]
            m = self.models[args[0][1]]
            if m["p"] is None:
                raise ValueError(f"{val}() of a prediction-only model")
            if val == "conf":
                return "num", self.rnd(m["conf"])
            if val == "margin":
                return "num", self.rnd(m["margin"])
            if val == "p":
                k, v = args[1]
                c = self.classes.index(json.loads(v) if k == "str" else v)
                return "num", self.rnd(m["p"][:, c])
            raise ValueError(f"unknown function {val}")
        if val == "gt":
            return "class", self.s["labels"].astype(np.float64)
        if val in self.models:
            return "class", self.models[val]["pred"].astype(np.float64)
        if val in self.classes:
            return "class", np.full(self.n, float(self.classes.index(val)))
        if val == "correct":
            return "num", sum((m["pred"] == self.s["labels"]).astype(np.float64)
                              for m in self.models.values())
        if val in ("split", "text", "id"):
            return "str", np.array([x.get(val, "") for x in self.s["samples"]], dtype=object)
        if val == "index":
            return "num", np.arange(self.n, dtype=np.float64)
        raise ValueError(f"unknown name {val!r}")


# ---------------------------------------------------------------------------------------------

def summarize(name, met, t0):
    print(f"{name}: n={met['n']} classes={len(met['classes'])} ({time.time() - t0:.1f} s)")
    for m in met["models"]:
        extra = f" top2 {m['top_k']['2']:.4f} ece {m['ece']:.4f}" if "top_k" in m else ""
        print(f"  {m['name']:10s} {m['source']:6s} accuracy {m['accuracy']:.4f} "
              f"macro_f1 {m['macro_f1']:.4f}{extra}")
    for p in met["pairs"]:
        print(f"  {p['a']} vs {p['b']}: only_a {p['only_a']} only_b {p['only_b']} "
              f"kappa {p['kappa']:.3f} mcnemar_p {p['mcnemar_p']:.3g}")
    print(f"  n_correct {met['n_correct']}")
    for f in met["filters"]:
        print(f"  {f['count']:5d}  {f['expr']}")


def dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for fn in files:
            total += os.path.getsize(os.path.join(root, fn))
    return total


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="demo-data", help="output directory (default: demo-data)")
    args = ap.parse_args(argv)
    setup_torch()
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    make_digits(args.out)
    make_fortunes(args.out)
    for st in ("digits", "fortunes"):
        print(f"{st}: {dir_size(os.path.join(args.out, st)) / 1e6:.2f} MB")
    print(f"done in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    sys.exit(main())

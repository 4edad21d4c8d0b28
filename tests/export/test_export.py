#!/usr/bin/python3
"""Tests of tools/nncmp_export.py; run by tests/export/run.sh from the repo top.

Prints one line per check: "ok NAME", "FAIL NAME: why" or "SKIP NAME: why".
"""
import json
import os
import subprocess
import sys
import tempfile
import traceback

import numpy as np

TOP = os.getcwd()
sys.path.insert(0, os.path.join(TOP, "tools"))
import nncmp_export as nx  # noqa: E402

NNCMP = os.environ.get("NNCMP", "./nncmp")
TMP = tempfile.mkdtemp(prefix="nncmp-export-")
os.environ["XDG_CACHE_HOME"] = os.path.join(TMP, "cache")  # nncmp's caches stay in scratch
results = []


def check(name):
    def deco(fn):
        try:
            r = fn()
            if isinstance(r, str) and r.startswith("SKIP"):
                print("SKIP %s: %s" % (name, r[5:]), flush=True)
            else:
                print("ok %s" % name, flush=True)
        except Exception as e:  # noqa: BLE001
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
            traceback.print_exc(file=sys.stderr)
        return fn
    return deco


def nncmp(*args, expect=0):
    p = subprocess.run([NNCMP] + list(args), capture_output=True, text=True)
    if p.returncode != expect:
        raise AssertionError("nncmp %s: exit %d (expected %d): %s"
                             % (" ".join(args), p.returncode, expect, p.stderr.strip()))
    return p


def nncmp_json(*args):
    return json.loads(nncmp(*args, "--json").stdout)


def layers_of(chk):
    return {m["name"]: {l["name"]: l for l in m["layers"]} for m in chk["models"]}


def raises(fn, *words):
    try:
        fn()
    except ValueError as e:
        msg = str(e)
        for w in words:
            assert w in msg, "message %r lacks %r" % (msg, w)
        return msg
    raise AssertionError("no ValueError raised")


# 1. NumPy only ---------------------------------------------------------------
@check("numpy: batches, float16, dotted layer, samples; nncmp check/report/instances")
def t_numpy():
    assert "torch" not in sys.modules, "importing nncmp_export imported torch"
    rng = np.random.default_rng(1)
    classes = ["neg", "pos", "mixed ünï"]
    path = os.path.join(TMP, "np")
    N, sizes = 0, [7, 50, 1, 42]
    lab, probs, logits, pred, a16, a32, conv = [], [], [], [], [], [], []
    samples = []
    with nx.StudyWriter(path, classes=classes) as w:
        for b in sizes:
            y = rng.integers(0, 3, b)
            p = rng.random((b, 3)) + 0.01
            p /= p.sum(1, keepdims=True)
            lg = rng.normal(size=(b, 3)).astype(np.float32)
            pr = rng.integers(0, 3, b)
            h = rng.normal(size=(b, 12))
            h2 = rng.normal(size=(b, 5)).astype(np.float32)
            c = rng.normal(size=(b, 2, 3, 3)).astype(np.float32)
            ss = [{"id": "s%d" % (N + i), "text": "texte n°%d — “quoted”" % (N + i),
                   "split": "test" if (N + i) % 2 else "val"} for i in range(b)]
            w.add_labels(y)
            w.add_samples(ss)
            w.add_probs("cnn", p)
            w.add_activations("cnn", "layer1.0.conv1", h, dtype=np.float16)
            w.add_activations("cnn", "conv", c)
            w.add_logits("lstm", lg)
            w.add_activations("lstm", "fc", h2)
            w.add_pred("knn_3", pr)
            lab.append(y); probs.append(p); logits.append(lg); pred.append(pr)
            a16.append(h); a32.append(h2); conv.append(c); samples += ss
            N += b
        wt = rng.normal(size=(12, 4, 3)).astype(np.float32)
        w.set_weights("cnn", "layer1.0.conv1", wt)
    chk = nncmp_json("check", path)
    assert chk["n"] == N and chk["classes"] == classes, (chk["n"], chk["classes"])
    assert chk["texts"] and chk["splits"]
    L = layers_of(chk)
    assert sorted(L) == ["cnn", "knn_3", "lstm"], sorted(L)
    assert sorted(L["cnn"]) == ["conv", "layer1.0.conv1"], sorted(L["cnn"])
    assert L["cnn"]["layer1.0.conv1"]["act"]["shape"] == [N, 12]
    assert L["cnn"]["layer1.0.conv1"]["act"]["dtype"] == "f2"
    assert L["cnn"]["layer1.0.conv1"]["weights"]["shape"] == [12, 12]
    assert L["cnn"]["conv"]["act"]["shape"] == [N, 18]
    assert list(L["lstm"]) == ["fc"]
    src = {m["name"]: m["source"] for m in chk["models"]}
    assert src == {"cnn": "probs", "knn_3": "pred", "lstm": "logits"}, src
    rep = nncmp_json("report", path)
    assert rep["n"] == N and rep["classes"] == classes
    assert [m["name"] for m in rep["models"]] == ["cnn", "knn_3", "lstm"]
    y = np.concatenate(lab)
    acc = {m["name"]: m["accuracy"] for m in rep["models"]}
    assert abs(acc["cnn"] - np.mean(np.concatenate(probs).argmax(1) == y)) < 1e-12
    assert abs(acc["knn_3"] - np.mean(np.concatenate(pred) == y)) < 1e-12
    assert abs(acc["lstm"] - np.mean(np.concatenate(logits).argmax(1) == y)) < 1e-12
    # values read back
    ld = lambda *p: np.load(os.path.join(path, *p))  # noqa: E731
    assert ld("labels.npy").dtype == np.int64 and np.array_equal(ld("labels.npy"), y)
    assert ld("models", "cnn", "probs.npy").dtype == np.float32
    assert np.array_equal(ld("models", "cnn", "probs.npy"),
                          np.concatenate(probs).astype(np.float32))
    assert np.array_equal(ld("models", "lstm", "logits.npy"), np.concatenate(logits))
    assert ld("models", "knn_3", "pred.npy").dtype == np.int64
    assert np.array_equal(ld("models", "knn_3", "pred.npy"), np.concatenate(pred))
    a = ld("models", "cnn", "act", "layer1.0.conv1.npy")
    assert a.dtype == np.float16 and np.array_equal(a, np.concatenate(a16).astype(np.float16))
    assert np.array_equal(ld("models", "lstm", "act", "fc.npy"), np.concatenate(a32))
    assert np.array_equal(ld("models", "cnn", "act", "conv.npy"), np.concatenate(conv))
    assert np.array_equal(ld("models", "cnn", "weights", "layer1.0.conv1.npy"), wt)
    with open(os.path.join(path, "classes.txt"), encoding="utf-8") as f:
        assert f.read().splitlines() == classes
    with open(os.path.join(path, "samples.jsonl"), encoding="utf-8") as f:
        raw = f.read()
    assert "“quoted”" in raw, "ensure_ascii=False"
    assert [json.loads(l) for l in raw.splitlines()] == samples
    inst = nncmp_json("instances", path, "--filter", 'text ~ "n°57 —"')
    assert inst["count"] == 1 and inst["instances"][0]["index"] == 57, inst
    assert inst["instances"][0]["id"] == "s57"
    # neuron analysis on the dotted layer
    nncmp("neurons", path, "--model", "cnn", "--layer", "layer1.0.conv1", "--json")
    nncmp("instances", path, "--filter", "act(cnn.layer1.0.conv1.3) > 0", "--json")


@check("numpy: --demo script and --help")
def t_demo():
    out = os.path.join(TMP, "demo")
    py = sys.executable
    p = subprocess.run([py, "tools/nncmp_export.py", "--demo", out], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    chk = nncmp_json("check", out)
    assert chk["n"] == 240 and sorted(layers_of(chk)) == ["deep", "lin"]
    p = subprocess.run([py, "tools/nncmp_export.py", "--demo", out], capture_output=True,
                       text=True)
    assert p.returncode == 2 and "not empty" in p.stderr, (p.returncode, p.stderr)
    assert "--overwrite" in p.stderr and "overwrite=True" not in p.stderr, p.stderr
    # executable, as the README runs it
    assert os.access("tools/nncmp_export.py", os.X_OK)
    with open("tools/nncmp_export.py", encoding="utf-8") as f:
        assert f.readline().startswith("#!/usr/bin/python3")
    p = subprocess.run([py, "tools/nncmp_export.py", "--demo", out, "--overwrite",
                        "--rows", "50"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert nncmp_json("check", out)["n"] == 50
    h = subprocess.run([py, "tools/nncmp_export.py", "--help"], capture_output=True, text=True)
    assert h.returncode == 0 and "StudyWriter" in h.stdout and "export_torch" in h.stdout


# 2. Streaming ----------------------------------------------------------------
CHILD = r"""
import sys, numpy as np
sys.path.insert(0, "tools")
import nncmp_export as nx
if sys.argv[1] == "write":
    with nx.StudyWriter(sys.argv[2], classes=["a", "b"]) as w:
        for s in range(0, 200000, 1000):
            r = np.arange(s, s + 1000)
            w.add_labels(r % 2)
            w.add_pred("m", (r // 3) % 2)
            w.add_activations("m", "big",
                              ((r[:, None] * 64 + np.arange(64)) % 4099).astype(np.float32))
elif sys.argv[1] == "hold":  # control: what holding the matrix in memory costs
    held = [((np.arange(s, s + 1000)[:, None] * 64 + np.arange(64)) % 4099).astype(np.float32)
            for s in range(0, 200000, 1000)]
"""


def child_maxrss_kb(*args):
    p = subprocess.Popen([sys.executable, "-c", CHILD] + list(args))
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    assert p.returncode == 0, "child exit %d" % p.returncode
    return ru.ru_maxrss  # KiB on Linux


@check("streaming: 200000 x 64 float32 in batches of 1000, peak RSS far below 51 MB")
def t_stream():
    path = os.path.join(TMP, "big")
    base = child_maxrss_kb("baseline")
    peak = child_maxrss_kb("write", path)
    hold = child_maxrss_kb("hold")
    grow = (peak - base) / 1024
    print("   peak RSS: baseline %.1f MB, writer %.1f MB (+%.1f), holding the matrix %.1f MB"
          " (+%.1f)" % (base / 1024, peak / 1024, grow, hold / 1024, (hold - base) / 1024),
          flush=True)
    assert (hold - base) / 1024 > 40, "the RSS measure does not see a held matrix"
    assert grow < 40, "peak RSS grew by %.1f MB" % grow
    chk = nncmp_json("check", path)
    act = layers_of(chk)["m"]["big"]["act"]
    assert chk["n"] == 200000 and act["shape"] == [200000, 64] and act["dtype"] == "f4", act
    a = np.load(os.path.join(path, "models", "m", "act", "big.npy"), mmap_mode="r")
    r = np.arange(200000)
    assert a.shape == (200000, 64)
    for lo in (0, 999, 1000, 123456, 199000):
        exp = ((r[lo:lo + 1000, None] * 64 + np.arange(64)) % 4099).astype(np.float32)
        assert np.array_equal(a[lo:lo + 1000], exp), lo
    assert np.array_equal(np.load(os.path.join(path, "labels.npy")), r % 2)


# 3. PyTorch ------------------------------------------------------------------
@check("torch: export_torch of a trained MLP and CNN, opened by nncmp")
def t_torch():
    try:
        import torch
        from torch import nn
    except ImportError as e:
        return "SKIP torch not importable (%s)" % e
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    n = 300
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.randn(n, 1, 8, 8, generator=g)
    for c in range(3):  # class c: a bright 3x3 patch at a class-specific place
        x[y == c, 0, 2 * c:2 * c + 3, 2 * c:2 * c + 3] += 0.45

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 16)
            self.fc2 = nn.Linear(16, 3)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x.flatten(1))))

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
            self.fc = nn.Linear(4 * 8 * 8, 3)

        def forward(self, x):
            return self.fc(torch.relu(self.conv1(x)).flatten(1))

    models = {"mlp": MLP(), "cnn": CNN()}
    for m in models.values():
        opt = torch.optim.Adam(m.parameters(), lr=0.02)
        for step in range(40):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(m(x[:200]), y[:200])
            loss.backward()
            opt.step()
    ds = torch.utils.data.TensorDataset(x, y)
    loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=False)
    path = os.path.join(TMP, "torch")
    classes = ["a", "b", "c"]
    nx.export_torch(path, models=models, loader=loader,
                    layers={"mlp": ["fc1"], "cnn": ["conv1", "fc"]}, classes=classes)
    # run in eval mode, then put back in the mode they were in (train, here)
    assert all(m.training for m in models.values())
    for m in models.values():
        m.eval()
    chk = nncmp_json("check", path)
    assert chk["n"] == n and chk["classes"] == classes
    L = layers_of(chk)
    assert sorted(L) == ["cnn", "mlp"], sorted(L)
    assert sorted(L["mlp"]) == ["fc1"] and sorted(L["cnn"]) == ["conv1", "fc"], L
    assert L["mlp"]["fc1"]["act"]["shape"] == [n, 16]
    assert L["cnn"]["conv1"]["act"]["shape"] == [n, 256]
    assert L["cnn"]["fc"]["act"]["shape"] == [n, 3]
    assert L["mlp"]["fc1"]["weights"]["shape"] == [16, 64]
    assert L["cnn"]["conv1"]["weights"]["shape"] == [4, 9]
    assert L["cnn"]["fc"]["weights"]["shape"] == [3, 256]
    rep = nncmp_json("report", path)
    assert rep["n"] == n and [m["name"] for m in rep["models"]] == ["cnn", "mlp"]
    yl = np.load(os.path.join(path, "labels.npy"))
    assert np.array_equal(yl, y.numpy())
    with torch.no_grad():
        for m in rep["models"]:
            lg = np.load(os.path.join(path, "models", m["name"], "logits.npy"))
            mine = np.mean(lg.argmax(1) == yl)
            assert abs(m["accuracy"] - mine) < 1e-12, (m["name"], m["accuracy"], mine)
            direct = models[m["name"]](x).numpy()
            assert np.allclose(lg, direct, atol=1e-5), m["name"]
            assert mine > 0.6, "%s accuracy %.3f: not trained?" % (m["name"], mine)
            print("   %s accuracy %.4f (nncmp) = %.4f (numpy)" % (m["name"], m["accuracy"], mine),
                  flush=True)
        conv = np.load(os.path.join(path, "models", "cnn", "act", "conv1.npy"))
        assert conv.shape == (n, 4, 8, 8), "spatial outputs keep their shape"
        assert np.allclose(conv, models["cnn"].conv1(x).numpy(), atol=1e-5)
        w = np.load(os.path.join(path, "models", "cnn", "weights", "conv1.npy"))
        assert w.shape == (4, 1, 3, 3) and np.array_equal(w, models["cnn"].conv1.weight.numpy())
    # probs and float16 activations
    p2 = os.path.join(TMP, "torch16")
    nx.export_torch(p2, models={"mlp": models["mlp"]}, loader=loader, layers={"mlp": ["fc1"]},
                    classes=classes, dtype=np.float16, logits=False)
    chk = nncmp_json("check", p2)
    assert chk["models"][0]["source"] == "probs"
    assert layers_of(chk)["mlp"]["fc1"]["act"]["dtype"] == "f2"
    # a shuffling loader gives different label orders: refused
    sh = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True)
    raises(lambda: nx.export_torch(os.path.join(TMP, "torchsh"), models=models, loader=sh,
                                   classes=classes), "shuffle=False", "cnn")
    # unknown module name lists the available ones (and writes nothing)
    bad = os.path.join(TMP, "torchbad")
    raises(lambda: nx.export_torch(bad, models=models, loader=loader,
                                   layers={"cnn": ["conv9"]}), "conv9", "conv1", "fc")
    assert not os.path.exists(bad)


# 4. Errors -------------------------------------------------------------------
@check("errors: row mismatch, reserved/invalid names, non-empty directory")
def t_errors():
    p = os.path.join(TMP, "err1")
    w = nx.StudyWriter(p, classes=["x", "y"])
    w.add_labels([0, 1, 1])
    w.add_probs("good", np.full((3, 2), 0.5))
    w.add_activations("good", "block.2", np.zeros((2, 4)))
    raises(w.close, "good", "block.2", "2 rows", "3")
    raises(w.close, "good", "block.2")  # a second close() still says so
    p = os.path.join(TMP, "err2")

    def short_model():
        with nx.StudyWriter(p) as w2:
            w2.add_labels([0, 1, 1, 0])
            w2.add_logits("m2", np.zeros((3, 2)))
    raises(short_model, "m2", "logits")
    for bad in ("conf", "gt", "act", "p", "1abc", "a.b", "", "x y"):
        raises(lambda: nx.StudyWriter(os.path.join(TMP, "err3"), overwrite=True)
               .add_probs(bad, np.ones((1, 1))), repr(bad))
    raises(lambda: nx.check_model_name("margin"), "reserved")
    raises(lambda: nx.StudyWriter(os.path.join(TMP, "err1")), "not empty")
    w = nx.StudyWriter(os.path.join(TMP, "err4"))
    w.add_labels([0])
    raises(lambda: w.add_probs("m", np.ones((1, 2))) or w.add_logits("m", np.ones((1, 2))),
           "already has probs")
    raises(lambda: nx.StudyWriter(os.path.join(TMP, "err5"), classes=["a", "b"])
           .add_labels([0, 2]), "out of range")


# 5. Frameworks: dict batches and pooled tokens, torchvision, torch.distributed ---------------
def _free_port():
    import socket
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def tiny_transformer_parts():
    """A two-block transformer encoder in plain torch, and a Hugging Face-style loader."""
    import collections
    import torch
    from torch import nn

    class Out:  # what transformers' SequenceClassifierOutput offers here: .logits
        def __init__(self, logits):
            self.logits = logits

    class Block(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.attn = nn.MultiheadAttention(d, 2, batch_first=True)
            self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)

        def forward(self, h, pad):
            a, _ = self.attn(h, h, h, key_padding_mask=pad, need_weights=False)
            h = self.n1(h + a)
            return self.n2(h + self.ff(h))

    class Tiny(nn.Module):
        def __init__(self, vocab=30, d=8, classes=3):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(16, d)
            self.blocks = nn.ModuleList([Block(d), Block(d)])
            self.head = nn.Linear(d, classes)

        def forward(self, input_ids, attention_mask):
            pad = attention_mask == 0
            h = self.embed(input_ids) + self.pos(torch.arange(input_ids.shape[1]))
            for b in self.blocks:
                h = b(h, pad)
            m = attention_mask.unsqueeze(2).float()
            return Out(self.head((h * m).sum(1) / m.sum(1)))

    class Encoding(collections.UserDict):  # transformers' BatchEncoding is a UserDict
        pass

    g = torch.Generator().manual_seed(2)
    n = 41
    lens = torch.randint(2, 13, (n,), generator=g)
    seqs = [torch.randint(1, 30, (int(k),), generator=g) for k in lens]
    labels = torch.randint(0, 3, (n,), generator=g)
    rows = [{"input_ids": s, "labels": int(l)} for s, l in zip(seqs, labels)]

    def collate(batch):  # dynamic padding: to the longest row of the batch
        t = max(len(r["input_ids"]) for r in batch)
        ids = torch.zeros(len(batch), t, dtype=torch.long)
        mask = torch.zeros(len(batch), t, dtype=torch.long)
        for i, r in enumerate(batch):
            ids[i, :len(r["input_ids"])] = r["input_ids"]
            mask[i, :len(r["input_ids"])] = 1
        return Encoding(input_ids=ids, attention_mask=mask,
                        labels=torch.tensor([r["labels"] for r in batch]))

    loader = torch.utils.data.DataLoader(rows, batch_size=6, shuffle=False, collate_fn=collate)
    torch.manual_seed(4)
    return Tiny, loader, seqs, labels


@check("torch: Hugging Face-style dict batches, a tiny transformer, pooled per-token layers")
def t_transformer():
    try:
        import torch
    except ImportError as e:
        return "SKIP torch not importable (%s)" % e
    Tiny, loader, seqs, labels = tiny_transformer_parts()
    tx, tx2 = Tiny(), Tiny()
    pools = {"embed": "first", "blocks.0": "mean", "blocks.1": "max", "blocks.1.n1": "last"}
    path = os.path.join(TMP, "tx")
    # tx2 is called through forward= with positional arguments and answers a dict:
    # output= picks its scores (its first value is a loss, which must not be taken)
    nx.export_torch(
        path, models={"tx": tx}, loader=loader, layers={"tx": pools},
        classes=["x", "y", "z"])
    p2 = os.path.join(TMP, "tx2")
    nx.export_torch(
        p2, models={"tx2": tx2}, loader=loader, layers={"tx2": [("blocks.1", "mean")]},
        classes=["x", "y", "z"],
        forward=lambda m, x: {"loss": torch.zeros(()),
                              "scores": m(x["input_ids"], x["attention_mask"]).logits},
        output=lambda out: out["scores"])
    n = len(seqs)
    chk = nncmp_json("check", path)
    assert chk["n"] == n
    L = layers_of(chk)["tx"]
    assert sorted(L) == sorted(pools), sorted(L)
    for ln in pools:
        assert L[ln]["act"]["shape"] == [n, 8], (ln, L[ln]["act"]["shape"])
    rep = nncmp_json("report", path)
    assert rep["n"] == n and [m["name"] for m in rep["models"]] == ["tx"]
    assert np.array_equal(np.load(os.path.join(path, "labels.npy")), labels.numpy())
    # oracle: each sequence alone, unpadded (the model ignores padding), pooled by NumPy
    got = {ln: np.load(os.path.join(path, "models", "tx", "act", ln + ".npy")) for ln in pools}
    lg = np.load(os.path.join(path, "models", "tx", "logits.npy"))
    lg2 = np.load(os.path.join(p2, "models", "tx2", "logits.npy"))
    got2 = np.load(os.path.join(p2, "models", "tx2", "act", "blocks.1.npy"))
    mods = dict(tx.named_modules())
    tx.eval()
    tx2.eval()
    for i, s in enumerate(seqs):
        seen = {}
        hs = [mods[ln].register_forward_hook(
            lambda mod, inp, out, ln=ln: seen.__setitem__(ln, out.detach().numpy()[0]))
            for ln in pools]
        with torch.no_grad():
            ids, mask = s[None], torch.ones(1, len(s), dtype=torch.long)
            direct = tx(ids, mask).logits.numpy()[0]
            h2 = {}
            hh = dict(tx2.named_modules())["blocks.1"].register_forward_hook(
                lambda mod, inp, out: h2.__setitem__("h", out.detach().numpy()[0]))
            direct2 = tx2(ids, mask).logits.numpy()[0]
            hh.remove()
        for h in hs:
            h.remove()
        ref = {"embed": seen["embed"][0], "blocks.0": seen["blocks.0"].mean(0),
               "blocks.1": seen["blocks.1"].max(0), "blocks.1.n1": seen["blocks.1.n1"][-1]}
        for ln in pools:
            assert np.allclose(got[ln][i], ref[ln], atol=1e-5), (ln, i, got[ln][i], ref[ln])
        assert np.allclose(lg[i], direct, atol=1e-5), (i, lg[i], direct)
        assert np.allclose(lg2[i], direct2, atol=1e-5) and not np.allclose(lg2[i], 0)
        assert np.allclose(got2[i], h2["h"].mean(0), atol=1e-5)
    # padding really varies, so some rows were pooled over a shorter length than their batch
    assert len(set(len(s) for s in seqs[:6])) > 1
    # without pool a per-token layer of varying length is refused, naming pool
    raises(lambda: nx.export_torch(os.path.join(TMP, "txbad"), models={"tx": tx},
                                   loader=loader, layers={"tx": ["blocks.0"]}),
           "blocks.0", "pool", "mean")
    raises(lambda: nx.export_torch(os.path.join(TMP, "txbad2"), models={"tx": tx},
                                   loader=loader, layers={"tx": {"blocks.0": "avg"}}),
           "'avg'", "mean", "first", "last", "max")
    raises(lambda: nx.export_torch(os.path.join(TMP, "txbad3"), models={"tx": tx},
                                   loader=loader, label_key="label"), "'label'", "labels")
    nncmp("neurons", path, "--model", "tx", "--layer", "blocks.1.n1", "--json")


@check("torchvision: a ResNet-18 (random weights) over an ImageFolder, layers by module path")
def t_torchvision():
    try:
        import torch
        import torchvision
        from PIL import Image
    except ImportError as e:
        return "SKIP torch, torchvision or PIL not importable (%s)" % e
    from torchvision import transforms
    rng = np.random.default_rng(7)
    root = os.path.join(TMP, "imgs")
    classes = ["circle", "square"]
    for c, cls in enumerate(classes):
        os.makedirs(os.path.join(root, cls))
        for k in range(6):
            a = rng.integers(0, 80, (32, 32, 3)).astype(np.uint8)
            yy, xx = np.mgrid[:32, :32]
            shape = ((yy - 16) ** 2 + (xx - 16) ** 2 < 100) if c == 0 else \
                ((abs(yy - 16) < 9) & (abs(xx - 16) < 9))
            a[shape] += np.uint8(120 + 10 * k)
            Image.fromarray(a).save(os.path.join(root, cls, "%d.png" % k))
    ds = torchvision.datasets.ImageFolder(root, transform=transforms.ToTensor())
    assert ds.classes == classes and len(ds) == 12
    loader = torch.utils.data.DataLoader(ds, batch_size=5, shuffle=False)
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None, num_classes=2)
    layers = ["layer2.1.conv2", "layer4", "avgpool", "fc"]
    path = os.path.join(TMP, "resnet")
    nx.export_torch(path, models={"resnet18": net}, loader=loader,
                    layers={"resnet18": layers}, classes=ds.classes)
    chk = nncmp_json("check", path)
    L = layers_of(chk)["resnet18"]
    assert sorted(L) == sorted(layers), sorted(L)
    assert L["layer2.1.conv2"]["act"]["shape"] == [12, 128 * 4 * 4]
    assert L["layer2.1.conv2"]["weights"]["shape"] == [128, 128 * 9]
    assert L["layer4"]["act"]["shape"] == [12, 512] and "weights" not in L["layer4"]
    assert L["avgpool"]["act"]["shape"] == [12, 512]
    assert L["fc"]["weights"]["shape"] == [2, 512]
    x = torch.stack([ds[i][0] for i in range(12)])
    y = np.array([ds[i][1] for i in range(12)])
    net.eval()
    with torch.no_grad():
        direct = net(x).numpy()
        seen = {}
        h = net.layer2[1].conv2.register_forward_hook(
            lambda m, i, o: seen.__setitem__("c", o.flatten(1).numpy()))
        net(x)
        h.remove()
    lg = np.load(os.path.join(path, "models", "resnet18", "logits.npy"))
    assert np.allclose(lg, direct, atol=1e-4), np.abs(lg - direct).max()
    act = np.load(os.path.join(path, "models", "resnet18", "act", "layer2.1.conv2.npy"))
    assert act.shape == (12, 128, 4, 4), act.shape  # a conv output keeps its (C, H, W)
    assert np.allclose(act.reshape(12, -1), seen["c"], atol=1e-4)
    assert np.array_equal(np.load(os.path.join(path, "labels.npy")), y)
    wt = np.load(os.path.join(path, "models", "resnet18", "weights", "layer2.1.conv2.npy"))
    assert np.array_equal(wt, net.layer2[1].conv2.weight.detach().numpy())
    rep = nncmp_json("report", path)
    assert abs(rep["models"][0]["accuracy"] - np.mean(direct.argmax(1) == y)) < 1e-12
    nncmp("neurons", path, "--model", "resnet18", "--layer", "layer2.1.conv2", "--json")


@check("torch.distributed: 2 gloo ranks, shuffled DistributedSampler shards read as one study")
def t_distributed():
    try:
        import configparser
        import torch
        import torch.distributed as dist
    except ImportError as e:
        return "SKIP torch not importable (%s)" % e
    if not dist.is_available():
        return "SKIP torch.distributed is not available"
    sys.path.insert(0, os.path.join(TOP, "tests", "export"))
    import dist_worker as dw
    # the reference: one process, the whole dataset in its order
    one = os.path.join(TMP, "one", "run")
    loader = torch.utils.data.DataLoader(dw.dataset(), batch_size=dw.BATCH, shuffle=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the ranks run
    try:
        nx.export_torch(one, models=dw.models(), loader=loader, layers=dw.LAYERS,
                        classes=dw.CLASSES)
    finally:
        torch.set_num_threads(threads)
    two = os.path.join(TMP, "two", "run")
    os.makedirs(two)
    with open(os.path.join(two, "old.txt"), "w") as f:
        f.write("x")
    p = subprocess.run([sys.executable, "tests/export/dist_worker.py", two, str(_free_port())],
                       capture_output=True, text=True, timeout=300)
    # rank 0 refuses the non-empty directory; rank 1 is told so instead of waiting forever
    assert p.returncode != 0 and "not empty" in p.stderr and "ValueError: rank 0:" in p.stderr, \
        (p.returncode, p.stderr[-2000:])
    os.remove(os.path.join(two, "old.txt"))
    p = subprocess.run([sys.executable, "tests/export/dist_worker.py", two, str(_free_port())],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    orders = {}
    for r in (0, 1):
        with open("%s.order-%d.json" % (two, r)) as f:
            orders["rank %d" % r] = json.load(f)
    # the ranks' orders are not the dataset's: a reorder was needed, and one index repeats
    assert sorted(orders["rank 0"] + orders["rank 1"]) != list(range(dw.N))
    assert sorted(set(orders["rank 0"] + orders["rank 1"])) == list(range(dw.N))
    assert orders["rank 0"] + orders["rank 1"] != list(range(dw.N))
    assert sorted(os.listdir(two)) == ["classes.txt", "labels.npy", "shards", "study.ini",
                                       "weights"], os.listdir(two)
    assert sorted(os.listdir(os.path.join(two, "shards"))) == ["rank-00000", "rank-00001"]
    ini = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    ini.read(os.path.join(two, "study.ini"))
    for m, lns in dw.LAYERS.items():
        sec = ini["model " + m]
        mats = [("logits", "logits.npy")] + [("act." + ln, os.path.join("act", ln + ".npy"))
                                            for ln in lns]
        for key, rel in mats:
            files = [f.strip() for f in sec[key].replace("\n", "").split(",")]
            assert len(files) == 2, files
            cat = np.concatenate([np.load(os.path.join(two, f)) for f in files])
            ref = np.load(os.path.join(one, "models", m, rel))
            assert cat.dtype == ref.dtype and cat.shape == ref.shape, (key, cat.shape)
            assert np.array_equal(cat, ref), (m, key, np.abs(cat - ref).max())
        for ln in lns:
            ref = np.load(os.path.join(one, "models", m, "weights", ln + ".npy"))
            assert np.array_equal(np.load(os.path.join(two, sec["weights." + ln])), ref)
    assert np.array_equal(np.load(os.path.join(two, "labels.npy")),
                          np.load(os.path.join(one, "labels.npy")))
    # nncmp reads the two as the same study: every figure and every instance
    for args in (("report",), ("instances", "--top", "0", "--sort", "conf(mlp)")):
        a, b = nncmp_json(*args, one), nncmp_json(*args, two)
        assert a == b, args
    for m, lns in dw.LAYERS.items():
        for ln in lns:
            a = nncmp_json("neurons", one, "--model", m, "--layer", ln)
            b = nncmp_json("neurons", two, "--model", m, "--layer", ln)
            assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True), (m, ln)
            for i in (0, 18, 19, 36):
                a = nncmp_json("profile", one, "--model", m, "--layer", ln, "--index", str(i))
                b = nncmp_json("profile", two, "--model", m, "--layer", ln, "--index", str(i))
                assert a == b, (m, ln, i)


@check("README: every exporter snippet runs as written, and nncmp opens what it wrote")
def t_readme_snippets():
    try:
        import torch  # noqa: F401
    except ImportError as e:
        return "SKIP torch not importable (%s)" % e
    import re
    with open(os.path.join(TOP, "README.md"), encoding="utf-8") as f:
        text = f.read()
    sec = text[text.index("## Exporting from PyTorch"):]
    sec = sec[:sec.index("\n## ", 3)]
    blocks = re.findall(r"```python\n(.*?)```", sec, re.S)
    assert len(blocks) == 5, len(blocks)
    work = os.path.join(TMP, "readme")
    os.makedirs(work)
    os.symlink(os.path.join(TOP, "tools"), os.path.join(work, "tools"))
    for k, code in enumerate(blocks):
        assert "import" in code and "from nncmp_export import" in code, k
        fn = os.path.join(work, "snippet%d.py" % k)
        with open(fn, "w", encoding="utf-8") as f:
            f.write(code)
        if code.startswith("# export_dist.py"):
            # the README's loop, as torchrun would start the ranks (Debian's torchrun fails)
            procs = [subprocess.Popen(
                [sys.executable, fn], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, env=dict(os.environ, RANK=str(r), WORLD_SIZE="2",
                                    MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)))
                for port in [_free_port()] for r in (0, 1)]
            for r, pr in enumerate(procs):
                _, err = pr.communicate(timeout=300)
                assert pr.returncode == 0, (k, r, err[-3000:])
            continue
        p = subprocess.run([sys.executable, fn], cwd=work, capture_output=True, text=True,
                           timeout=300)
        assert p.returncode == 0, (k, p.stderr[-3000:])
    want = {"study": 500, "text": 64, "dist": 1000, "mine": 1000, "cnn": 24}
    for d, n in want.items():
        chk = nncmp_json("check", os.path.join(work, "runs", d))
        assert chk["n"] == n, (d, chk["n"])
    L = layers_of(nncmp_json("check", os.path.join(work, "runs", "text")))["tiny"]
    assert L["embed"]["act"]["shape"] == [64, 16] and L["encoder"]["act"]["shape"] == [64, 16]
    nncmp("report", os.path.join(work, "runs", "dist"))
    nncmp("arch", os.path.join(work, "runs", "cnn"), "--model", "cnn")


print("tmp %s" % TMP, file=sys.stderr)

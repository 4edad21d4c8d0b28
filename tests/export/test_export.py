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


print("tmp %s" % TMP, file=sys.stderr)

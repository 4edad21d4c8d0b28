#!/usr/bin/python3
"""Tests of export_torch's graph, spatial activations, Grad-CAM, samples and images, and of
`nncmp arch` on what it writes (issue #17); run by tests/export/run.sh from the repo top.

Prints one line per check: "ok NAME", "FAIL NAME: why" or "SKIP NAME: why".  The oracles are
computed here, separately: module lists written from the models' code, shapes and parameter
counts by hand, Grad-CAM per single image with torch.autograd.grad and NumPy, PNGs decoded
with PIL.
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
TMP = tempfile.mkdtemp(prefix="nncmp-export-arch-")


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
    env = dict(os.environ, LC_ALL="C.UTF-8")  # the text output's glyphs: × and →
    p = subprocess.run([NNCMP] + list(args), capture_output=True, text=True, env=env)
    if p.returncode != expect:
        raise AssertionError("nncmp %s: exit %d (expected %d): %s"
                             % (" ".join(args), p.returncode, expect, p.stderr.strip()))
    return p


try:
    import torch
    from torch import nn
except ImportError as e:  # pragma: no cover
    torch = None
    SKIP = "SKIP torch not importable (%s)" % e

if torch is not None:
    class Block(nn.Module):
        """conv 3x3 -> batch norm -> (+ input) -> ReLU: the repeated block."""

        def __init__(self, c):
            super().__init__()
            self.conv = nn.Conv2d(c, c, 3, padding=1)
            self.bn = nn.BatchNorm2d(c)
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.bn(self.conv(x)) + x)

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 6, 3, padding=1)
            self.act = nn.ReLU()
            self.blocks = nn.Sequential(Block(6), Block(6), Block(6))
            self.pool = nn.MaxPool2d(2)
            self.layer4 = nn.Conv2d(6, 5, 3, padding=1)
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.flat = nn.Flatten()
            self.fc = nn.Linear(5, 3)

        def forward(self, x):
            h = self.pool(self.blocks(self.act(self.stem(x))))
            return self.fc(self.flat(self.gap(torch.relu(self.layer4(h)))))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 16)
            self.relu = nn.ReLU()
            self.fc2 = nn.Linear(16, 3)

        def forward(self, x):
            return self.fc2(self.relu(self.fc1(x.flatten(1))))

    class Branchy(nn.Module):
        """Data-dependent control flow: torch.fx cannot trace it."""

        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 12)
            self.relu = nn.ReLU()
            self.fc2 = nn.Linear(12, 3)

        def forward(self, x):
            h = self.fc1(x.flatten(1))
            if h.mean() > -1e9:  # always true, but a Proxy has no truth value
                h = self.relu(h)
            return self.fc2(h)

    def data(n=300, seed=0):
        g = torch.Generator().manual_seed(seed)
        y = torch.randint(0, 3, (n,), generator=g)
        x = torch.rand(n, 1, 8, 8, generator=g) * 0.5
        for c in range(3):  # class c: a bright 3x3 patch at a class-specific place
            x[y == c, 0, 2 * c:2 * c + 3, 2 * c:2 * c + 3] += 0.5
        return x, y

    def train(m, x, y, steps=30):
        opt = torch.optim.Adam(m.parameters(), lr=0.02)
        for _ in range(steps):
            opt.zero_grad()
            nn.functional.cross_entropy(m(x[:200]), y[:200]).backward()
            opt.step()
        return m

    torch.manual_seed(0)
    X, Y = data()
    MODELS = {"cnn": train(CNN(), X, Y), "mlp": train(MLP(), X, Y),
              "branchy": train(Branchy(), X, Y)}
    for _m in MODELS.values():
        _m.eval()
    LOADER = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y), batch_size=64,
                                         shuffle=False)
    STUDY = os.path.join(TMP, "arch")
    TEXTS = ["sample number %d" % i for i in range(len(Y))]
    nx.export_torch(STUDY, models=MODELS, loader=LOADER, classes=["a", "b", "c"],
                    layers={"cnn": ["stem", "blocks.1.conv", "layer4", "fc"],
                            "mlp": ["fc1"], "branchy": ["fc1"]},
                    graph=["cnn", "branchy"], saliency={"cnn": "layer4"},
                    samples=lambda i: {"text": TEXTS[i], "split": "test"}, save_images=True)


def graph_of(name):
    with open(os.path.join(STUDY, "models", name, "graph.json"), encoding="utf-8") as f:
        return json.load(f)


def conv_params(cin, cout, k):
    return cout * cin * k * k + cout


@check("graph: the CNN traces (fx); modules, types, shapes, params and inputs as its code says")
def t_graph_cnn():
    if torch is None:
        return SKIP
    g = graph_of("cnn")
    assert g["source"] == "fx" and g["model"] == "cnn", (g["source"], g["model"])
    assert g["input_shape"] == [1, 8, 8]
    leaves = [m for m in g["modules"] if m["leaf"]]
    want = ["stem", "act"]
    for b in range(3):
        want += ["blocks.%d.conv" % b, "blocks.%d.bn" % b, "blocks.%d.relu" % b]
    want += ["pool", "layer4", "gap", "flat", "fc"]
    assert [m["name"] for m in leaves] == want, [m["name"] for m in leaves]
    types = ["Conv2d", "ReLU"] + ["Conv2d", "BatchNorm2d", "ReLU"] * 3 + \
        ["MaxPool2d", "Conv2d", "AdaptiveAvgPool2d", "Flatten", "Linear"]
    assert [m["type"] for m in leaves] == types
    shapes = [[6, 8, 8]] * 11 + [[6, 4, 4], [5, 4, 4], [5, 1, 1], [5], [3]]
    assert [m["shape"] for m in leaves] == shapes, [m["shape"] for m in leaves]
    params = [conv_params(1, 6, 3), 0] + [conv_params(6, 6, 3), 12, 0] * 3 + \
        [0, conv_params(6, 5, 3), 0, 0, 5 * 3 + 3]
    assert [m["params"] for m in leaves] == params, [m["params"] for m in leaves]
    assert g["params"] == sum(params)
    assert leaves[0]["kernel"] == [3, 3] and leaves[11]["kernel"] == [2, 2]
    # stride, padding and dilation, for receptive fields: the conv's, and MaxPool2d(2)'s stride
    # defaulting to its kernel
    rf = [[m.get(k) for k in ("stride", "padding", "dilation")] for m in (leaves[0], leaves[11])]
    assert rf == [[[1, 1], [1, 1], [1, 1]], [[2, 2], [0, 0], [1, 1]]], rf
    odd = nn.Sequential(nn.Conv2d(1, 2, (3, 5), stride=(2, 1), padding=(0, 2), dilation=(1, 2)),
                        nn.Conv2d(2, 2, 3, padding="same"), nn.Conv1d(2, 2, 3))
    og = nx.model_graph(odd[:2], torch.zeros(2, 1, 9, 9), "odd")
    got = [[m.get(k) for k in ("kernel", "stride", "padding", "dilation")] for m in og["modules"]]
    assert got == [[[3, 5], [2, 1], [0, 2], [1, 2]], [[3, 3], [1, 1], "same", [1, 1]]], got
    og = nx.model_graph(odd[2:], torch.zeros(2, 2, 9), "odd1d")
    got = [m.get(k) for m in og["modules"] for k in ("kernel", "stride", "padding", "dilation")]
    assert got == [[3], [1], [0], [1]], got
    # containers: the Sequential and each Block ran, in the order they began
    cont = [m["name"] for m in g["modules"] if not m["leaf"]]
    assert cont == ["blocks", "blocks.0", "blocks.1", "blocks.2"], cont
    blk = [m for m in g["modules"] if m["name"] == "blocks.0"][0]
    assert blk["params"] == conv_params(6, 6, 3) + 12 and blk["shape"] == [6, 8, 8]
    # inputs: the residual add gives each block's ReLU two inputs
    ids = {m["name"]: m["id"] for m in leaves}
    byname = {m["name"]: m for m in leaves}
    assert byname["stem"]["inputs"] == [-1]
    assert byname["blocks.0.relu"]["inputs"] == sorted([ids["blocks.0.bn"], ids["act"]])
    assert byname["blocks.2.relu"]["inputs"] == sorted([ids["blocks.2.bn"],
                                                        ids["blocks.1.relu"]])
    assert byname["gap"]["inputs"] == [ids["layer4"]]  # through torch.relu, not a module
    assert all(i < m["id"] for m in leaves for i in m["inputs"])


@check("graph: a model with data-dependent control flow does not trace: source order, a chain")
def t_graph_order():
    if torch is None:
        return SKIP
    try:
        torch.fx.symbolic_trace(Branchy())
        raise AssertionError("torch.fx traced Branchy: the test model does not test anything")
    except torch.fx.proxy.TraceError:
        pass
    g = graph_of("branchy")
    assert g["source"] == "order"
    ms = g["modules"]
    assert [(m["name"], m["type"], m["shape"], m["params"]) for m in ms] == [
        ("fc1", "Linear", [12], 64 * 12 + 12), ("relu", "ReLU", [12], 0),
        ("fc2", "Linear", [3], 12 * 3 + 3)], ms
    assert [m["inputs"] for m in ms] == [[-1], [ms[0]["id"]], [ms[1]["id"]]]
    assert not os.path.exists(os.path.join(STUDY, "models", "mlp", "graph.json"))


@check("activations: spatial outputs stored (N, C, H, W); nncmp reads them as N x C*H*W")
def t_spatial():
    if torch is None:
        return SKIP
    a = np.load(os.path.join(STUDY, "models", "cnn", "act", "blocks.1.conv.npy"))
    m = MODELS["cnn"]
    with torch.no_grad():
        ref = m.blocks[1].conv(m.blocks[0](m.act(m.stem(X)))).numpy()
    assert a.shape == (300, 6, 8, 8) and np.allclose(a, ref, atol=1e-5)
    fc = np.load(os.path.join(STUDY, "models", "cnn", "act", "fc.npy"))
    assert fc.shape == (300, 3)
    chk = json.loads(nncmp("check", STUDY, "--json").stdout)
    L = {ly["name"]: ly for md in chk["models"] if md["name"] == "cnn" for ly in md["layers"]}
    assert L["blocks.1.conv"]["act"]["shape"] == [300, 384]
    assert L["blocks.1.conv"]["act"]["dims"] == [300, 6, 8, 8], L["blocks.1.conv"]["act"]
    assert L["fc"]["act"]["dims"] == [300, 3]
    txt = nncmp("check", STUDY).stdout
    assert "300 × 384" in txt and "(6×8×8)" in txt, txt
    t = nncmp("neurons", STUDY, "--model", "cnn", "--layer", "blocks.1.conv", "--top", "1").stdout
    assert "384 neurons (6×8×8: neuron = c·64 + y·8 + x)" in t.splitlines()[0], t
    # the flat view, value by value: neuron j of instance i is a[i].reshape(-1)[j], which is
    # a[i, c, y, x] for j = c·64 + y·8 + x (C order), as the line above says
    for i in (0, 137, 299):
        p = json.loads(nncmp("profile", STUDY, "--index", str(i), "--model", "cnn",
                             "--layer", "blocks.1.conv", "--json").stdout)
        got = np.zeros(384)
        for e in p["neurons"]:
            got[e["index"]] = e["value"]
        assert len(p["neurons"]) == 384
        assert np.allclose(got, a[i].reshape(-1), rtol=1e-6, atol=1e-6), i


def cam_reference(model, layer, x1):
    """Grad-CAM of one image, computed alone: autograd.grad of its own predicted logit, NumPy."""
    got = []
    h = layer.register_forward_hook(lambda m, i, o: got.append(o))
    try:
        out = model(x1[None])
        c = int(out[0].argmax())
        (g,) = torch.autograd.grad(out[0, c], got[0])
    finally:
        h.remove()
    A = got[0][0].detach().numpy().astype(np.float64)
    G = g[0].numpy().astype(np.float64)
    w = G.mean(axis=(1, 2))
    cam = np.maximum(np.tensordot(w, A, axes=1), 0)
    mx = cam.max()
    return (cam / mx if mx > 0 else np.zeros_like(cam)), c


@check("saliency: Grad-CAM (N, h, w) float16 equals a per-image autograd reference")
def t_saliency():
    if torch is None:
        return SKIP
    s = np.load(os.path.join(STUDY, "models", "cnn", "saliency", "layer4.npy"))
    assert s.dtype == np.float16 and s.shape == (300, 4, 4), (s.dtype, s.shape)
    m = MODELS["cnn"]
    worst = 0.0
    logits = np.load(os.path.join(STUDY, "models", "cnn", "logits.npy"))
    for i in list(range(0, 300, 7)) + [299]:
        ref, c = cam_reference(m, m.layer4, X[i])
        assert c == logits[i].argmax()
        d = np.abs(s[i].astype(np.float64) - ref)
        worst = max(worst, d.max())
        assert np.all(d <= 1e-3 + 1e-3 * np.abs(ref)), (i, d.max())
    assert np.all((s >= 0) & (s <= 1))
    assert np.sum(s.reshape(300, -1).max(1) == 1) > 250, "most maps reach 1"
    print("   worst |export - reference| = %.2g over 44 images" % worst, flush=True)
    # 0 where the maximum is 0 (no NaN): a bias-free conv + ReLU on black images
    z = nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))
    z.eval()
    cam, pred = nx.grad_cam(z, z[1], torch.zeros(4, 1, 8, 8))
    assert cam.shape == (4, 6, 6) and torch.all(cam == 0), cam
    # a layer without spatial dimensions is refused with a message
    try:
        nx.export_torch(os.path.join(TMP, "salbad"), models={"mlp": MODELS["mlp"]},
                        loader=LOADER, saliency={"mlp": "fc1"})
        raise AssertionError("saliency on a Linear layer was accepted")
    except ValueError as e:
        assert "Grad-CAM needs" in str(e), e
    try:
        nx.export_torch(os.path.join(TMP, "salbad2"), models={"mlp": MODELS["mlp"]},
                        loader=LOADER, saliency={"mlp": "nope"})
        raise AssertionError("an unknown saliency module was accepted")
    except ValueError as e:
        assert "nope" in str(e) and "fc1" in str(e), e


@check("samples: samples.jsonl with ids, texts, splits and PNG images nncmp reads")
def t_samples():
    if torch is None:
        return SKIP
    from PIL import Image
    with open(os.path.join(STUDY, "samples.jsonl"), encoding="utf-8") as f:
        recs = [json.loads(line) for line in f]
    assert len(recs) == 300
    for i, r in enumerate(recs):
        assert r == {"id": i, "text": TEXTS[i], "split": "test",
                     "image": "images/%06d.png" % i}, r
    for i in (0, 1, 150, 299):
        im = np.asarray(Image.open(os.path.join(STUDY, recs[i]["image"])))
        assert im.shape == (8, 8) and im.dtype == np.uint8
        assert np.array_equal(im, np.round(X[i, 0].numpy().astype(np.float64) * 255)), i
    chk = json.loads(nncmp("check", STUDY, "--json").stdout)
    assert chk["texts"] and chk["images"] and chk["splits"]
    inst = json.loads(nncmp("instances", STUDY, "--filter", 'text ~ "number 42"',
                            "--json").stdout)
    assert inst["count"] == 1 and inst["instances"][0]["id"] == "42", inst
    p = nncmp("preview", STUDY, "--index", "5", "--graphics", "blocks")
    assert p.stdout.strip(), "preview drew nothing"
    # a list of samples; RGB images outside [0, 1] are stretched min..max
    g = torch.Generator().manual_seed(3)
    xr = torch.randn(10, 3, 5, 4, generator=g) * 3
    yr = torch.arange(10) % 3
    ld = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xr, yr), batch_size=4)

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(60, 3)

        def forward(self, x):
            return self.fc(x.flatten(1))

    p2 = os.path.join(TMP, "rgb")
    nx.export_torch(p2, models={"t": Tiny()}, loader=ld,
                    samples=[{"id": "img-%d" % i} for i in range(10)], save_images=True)
    with open(os.path.join(p2, "samples.jsonl"), encoding="utf-8") as f:
        recs = [json.loads(line) for line in f]
    assert [r["id"] for r in recs] == ["img-%d" % i for i in range(10)]
    for i in (0, 9):
        im = np.asarray(Image.open(os.path.join(p2, recs[i]["image"])))
        a = xr[i].numpy().astype(np.float64).transpose(1, 2, 0)
        ref = np.round((a - a.min()) / (a.max() - a.min()) * 255)
        assert im.shape == (5, 4, 3) and np.array_equal(im, ref), i
    flat = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xr.flatten(1), yr),
                                       batch_size=4)
    try:
        nx.export_torch(os.path.join(TMP, "flatimg"), models={"t": Tiny()}, loader=flat,
                        save_images=True)
        raise AssertionError("save_images on (batch, 60) inputs was accepted")
    except ValueError as e:
        assert "tensor of images" in str(e), e
    try:
        nx.export_torch(os.path.join(TMP, "short"), models={"t": Tiny()}, loader=ld,
                        samples=[{"id": 1}] * 3)
        raise AssertionError("3 samples for 10 instances were accepted")
    except ValueError as e:
        assert "3 entries" in str(e), e


@check("nncmp arch: folds the repeated block, marks exported layers; fx, order and layers")
def t_arch():
    if torch is None:
        return SKIP
    a = json.loads(nncmp("arch", STUDY, "--model", "cnn", "--json").stdout)
    assert a["model"] == "cnn" and a["source"] == "fx"
    names = [ly["name"] for ly in a["layers"]]
    assert names[:2] == ["stem", "act"] and names[-1] == "fc" and len(names) == 16, names
    rep = [b for b in a["blocks"] if b["repeat"] > 1]
    assert len(rep) == 1 and rep[0]["repeat"] == 3, a["blocks"]
    assert [ly["op"] for ly in rep[0]["layers"]] == ["Conv2d", "BatchNorm2d", "ReLU"]
    assert [ly["name"] for ly in rep[0]["layers"]] == ["blocks.0.conv", "blocks.0.bn",
                                                       "blocks.0.relu"]
    assert sum(b["repeat"] * len(b["layers"]) for b in a["blocks"]) == 16
    L = {ly["name"]: ly for ly in a["layers"]}
    assert L["stem"]["activations"] and L["stem"]["weights"] and L["stem"]["act_cols"] == 384
    assert L["blocks.1.conv"]["activations"] and not L["blocks.0.conv"]["activations"]
    assert not L["act"]["weights"] and L["fc"]["shape"] == [3] and L["fc"]["params"] == 18
    assert L["layer4"]["shape"] == [5, 4, 4] and L["layer4"]["params"] == conv_params(6, 5, 3)
    txt = nncmp("arch", STUDY, "--model", "cnn").stdout
    assert "3 × [Conv2d 3×3 6" in txt and "BatchNorm2d" in txt, txt
    assert "stem: Conv2d 3×3 6 6×8×8 (60) [A W]" in txt, txt
    b = json.loads(nncmp("arch", STUDY, "--model", "branchy", "--json").stdout)
    assert b["source"] == "order" and [ly["op"] for ly in b["layers"]] == \
        ["Linear", "ReLU", "Linear"]
    c = json.loads(nncmp("arch", STUDY, "--model", "mlp", "--json").stdout)
    assert c["source"] == "layers" and [ly["name"] for ly in c["layers"]] == ["fc1"], c
    assert c["layers"][0]["op"] == "Linear" and c["layers"][0]["shape"] == [16]
    assert c["layers"][0]["params"] == 16 * 64, "weights only: no bias is known"
    p = nncmp("arch", STUDY, "--model", "nope", expect=2)
    assert "nope" in p.stderr and "cnn" in p.stderr


print("tmp %s" % TMP, file=sys.stderr)

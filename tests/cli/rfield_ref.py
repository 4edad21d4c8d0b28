#!/usr/bin/python3
"""nncmp patches' receptive fields against two oracles computed here.

Random small CNNs (Conv2d of any kernel, stride, padding, dilation and padding="same",
MaxPool2d and AvgPool2d with floor or ceil mode, ReLU, BatchNorm2d, and branches added back
together) are built in torch; their graph.json comes from tools/nncmp_export.py's model_graph,
as export_torch writes it. The oracles of which input pixels reach each output position:
  - index propagation in NumPy: each position's set of input pixels, carried through every
    layer by its own indexing rule (out[i] reads in[i*s - p + t*d], t < k);
  - for models without max pooling, autograd: the input pixels with a nonzero gradient of
    that output position, all weights set to 1 (every path then counts, none cancels).
A study is written whose layer activations are one-hot at every position (instance n has its
maximum at position n), with images of the input's size or twice it, and
`nncmp patches --top N --json` must give each position's box of the index oracle, clipped to
the input, as input_box and (scaled) box. Layers nncmp cannot follow (a Linear's reshape, an
Upsample, a functional pooling graph.json does not see) must fall back to "scaled".
Usage: rfield_ref.py NNCMP
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import warnings

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import nncmp_export  # noqa: E402

NNCMP = sys.argv[1]
rng = np.random.default_rng(1717)
torch.manual_seed(17)
warnings.filterwarnings("ignore", message="Using padding='same'")
failures = []


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


class Branch(torch.nn.Module):
    """a(x) + b(x): fx records both convolutions as the next module's inputs."""

    def __init__(self, a, b, after):
        super().__init__()
        self.a, self.b, self.after = a, b, after

    def forward(self, x):
        return self.after(self.a(x) + self.b(x))


def random_layer(c):
    kind = rng.choice(["conv", "conv", "conv", "same", "max", "avg", "relu", "bn"])
    if kind in ("conv", "same"):
        k = (int(rng.choice([1, 2, 3, 5])), int(rng.choice([1, 2, 3, 5])))
        d = (int(rng.integers(1, 4)), int(rng.integers(1, 3)))
        if kind == "same":
            return torch.nn.Conv2d(c, c, k, padding="same", dilation=d)
        s = (int(rng.integers(1, 4)), int(rng.integers(1, 3)))
        p = (int(rng.integers(0, k[0] // 2 + 1)), int(rng.integers(0, k[1] // 2 + 1)))
        return torch.nn.Conv2d(c, c, k, stride=s, padding=p, dilation=d)
    if kind in ("max", "avg"):
        k = (int(rng.integers(2, 4)), int(rng.integers(1, 4)))
        s = (int(rng.integers(1, 4)), int(rng.integers(1, 3)))
        p = (int(rng.integers(0, k[0] // 2 + 1)), int(rng.integers(0, k[1] // 2 + 1)))
        ceil = bool(rng.integers(0, 2))
        if kind == "max":
            d = (int(rng.integers(1, 3)), 1)
            return torch.nn.MaxPool2d(k, s, p, dilation=d, ceil_mode=ceil)
        return torch.nn.AvgPool2d(k, s, p, ceil_mode=ceil)
    if kind == "relu":
        return torch.nn.ReLU()
    return torch.nn.BatchNorm2d(c)


def random_model(c):
    layers = []
    for _ in range(int(rng.integers(1, 6))):
        if rng.random() < 0.15:
            k = int(rng.choice([3, 5]))
            layers.append(Branch(torch.nn.Conv2d(c, c, k, padding=k // 2),
                                 torch.nn.Conv2d(c, c, 1), torch.nn.ReLU()))
        else:
            layers.append(random_layer(c))
    return torch.nn.Sequential(*layers).eval()


# -- the index oracle: sets of input pixels as boolean arrays (out_h, out_w, in_h, in_w) --

def geometry(m):
    k = pair(m.kernel_size)
    s = pair(m.stride)
    d = pair(getattr(m, "dilation", 1))
    p = m.padding
    if p == "same":
        p = tuple(d[i] * (k[i] - 1) // 2 for i in range(2))
    elif p == "valid":
        p = (0, 0)
    return k, s, pair(p), d


def propagate(m, inf, out_hw):
    """The sets of the output positions of a kernel module m from those of its input."""
    k, s, p, d = geometry(m)
    ih, iw = inf.shape[:2]
    oh, ow = out_hw
    out = np.zeros((oh, ow) + inf.shape[2:], dtype=bool)
    for i in range(oh):
        for j in range(ow):
            for a in range(k[0]):
                y = i * s[0] - p[0] + a * d[0]
                if not 0 <= y < ih:
                    continue
                for b in range(k[1]):
                    x = j * s[1] - p[1] + b * d[1]
                    if 0 <= x < iw:
                        out[i, j] |= inf[y, x]
    return out


def index_oracle(model, x):
    """Per leaf module name: its output's pixel sets, running the model to get sizes."""
    h, w = x.shape[2:]
    inf = np.zeros((h, w, h, w), dtype=bool)
    for i in range(h):
        for j in range(w):
            inf[i, j, i, j] = True
    sets = {}

    def run(mod, name, inf, t):
        if isinstance(mod, torch.nn.Sequential):
            for cn, ch in mod.named_children():
                inf, t = run(ch, f"{name}.{cn}" if name else cn, inf, t)
            return inf, t
        if isinstance(mod, Branch):
            ia, ta = run(mod.a, f"{name}.a", inf, t)
            ib, tb = run(mod.b, f"{name}.b", inf, t)
            return run(mod.after, f"{name}.after", ia | ib, ta + tb)
        t2 = mod(t)
        if isinstance(mod, (torch.nn.Conv2d, torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
            inf = propagate(mod, inf, t2.shape[2:])
        sets[name] = inf
        return inf, t2

    with torch.no_grad():
        run(model, "", inf, x)
    return sets


def grad_oracle(model, x, name, y, xx):
    """Input pixels with a nonzero gradient of output (y, xx) of module name (weights 1)."""
    mods = dict(model.named_modules())
    out = {}
    h = mods[name].register_forward_hook(lambda m, i, o: out.__setitem__("t", o))
    inp = x.clone().requires_grad_(True)
    model(inp)
    h.remove()
    out["t"][0, :, y, xx].sum().backward()
    return (inp.grad[0].abs().sum(0) > 0).numpy()


def bbox(mask):
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def write_study(d, name, layer, oh, ow, graph, img_hw):
    """A study whose layer `layer` of model `name` is one-hot at position n for instance n."""
    n = oh * ow
    os.makedirs(f"{d}/models/{name}/act")
    np.save(f"{d}/labels.npy", np.zeros(n, dtype=np.int64))
    np.save(f"{d}/models/{name}/probs.npy", np.full((n, 2), 0.5, dtype=np.float32))
    act = np.zeros((n, 1, oh, ow), dtype=np.float32)
    for k in range(n):
        act[k, 0, k // ow, k % ow] = 1.0
    np.save(f"{d}/models/{name}/act/{layer}.npy", act)
    if graph is not None:
        with open(f"{d}/models/{name}/graph.json", "w") as f:
            json.dump(graph, f)
    if img_hw:
        os.makedirs(f"{d}/img")
        Image.new("L", (img_hw[1], img_hw[0])).save(f"{d}/img/0.png")
        with open(f"{d}/samples.jsonl", "w") as f:
            for k in range(n):
                f.write(json.dumps({"id": f"p{k}", "image": "img/0.png"}) + "\n")


def patches(d, name, layer, n):
    r = subprocess.run([NNCMP, "patches", d, "--model", name, "--layer", layer, "--channel",
                        "0", "--top", str(n), "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"patches exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def scale_box(b, in_hw, img_hw):
    """The box of the input's pixels on an image of img_hw: floor starts, ceil ends."""
    fl = lambda v, n, m: v * m // n
    ce = lambda v, n, m: -(-v * m // n)
    return [fl(b[0], in_hw[1], img_hw[1]), fl(b[1], in_hw[0], img_hw[0]),
            ce(b[2], in_hw[1], img_hw[1]), ce(b[3], in_hw[0], img_hw[0])]


tmp = tempfile.mkdtemp(prefix="nncmp-rfield-")
checked = trials = grads = spans = 0
try:
    while trials < 40:
        c = int(rng.integers(1, 3))
        h, w = int(rng.integers(5, 30)), int(rng.integers(5, 30))
        model = random_model(c)
        x = torch.ones(1, c, h, w)
        try:
            with torch.no_grad():
                model(x)
        except RuntimeError:
            continue  # the input is too small for these kernels
        graph = nncmp_export.model_graph(model, x, "m")
        sets = index_oracle(model, x)
        leaves = [e for e in graph["modules"] if e["leaf"]]
        if len({e["name"] for e in leaves}) != len(leaves) or not leaves:
            continue
        last = leaves[int(rng.integers(0, len(leaves)))]["name"]
        inf = sets[last]
        oh, ow = inf.shape[:2]
        if oh * ow > 400:
            continue
        trials += 1
        has_max = any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())
        if not has_max:
            # the gradient oracle agrees with the index oracle (weights 1, input 1)
            with torch.no_grad():
                for m in model.modules():
                    if isinstance(m, torch.nn.Conv2d):
                        m.weight.fill_(1.0)
                        m.bias.zero_()
            for (yy, xx) in [(0, 0), (oh - 1, ow - 1), (oh // 2, ow // 2)]:
                g = grad_oracle(model, x, last, yy, xx)
                if not np.array_equal(g, inf[yy, xx]):
                    failures.append(f"trial {trials}: oracles differ at {last} ({yy}, {xx})")
                grads += 1
        img = [(h, w), (2 * h, 3 * w), None][trials % 3]
        d = f"{tmp}/t{trials}"
        lname = last.replace(".", "_")
        for e in graph["modules"]:
            if e["name"] == last:
                e["name"] = lname
        write_study(d, "m", lname, oh, ow, graph, img)
        try:
            got = patches(d, "m", lname, oh * ow)
        except RuntimeError as ex:
            failures.append(f"trial {trials} ({model}): {ex}")
            continue
        if got["region_from"] != "receptive_field":
            failures.append(f"trial {trials}: scaled ({got['scaled_because']}) for {model}")
            continue
        if got["receptive_field"]["input"] != [h, w]:
            failures.append(f"trial {trials}: input {got['receptive_field']['input']}")
        for p in got["patches"]:
            if not inf[p["y"], p["x"]].any():
                continue  # every tap in the padding: no pixel reaches it
            want = bbox(inf[p["y"], p["x"]])
            if p["input_box"] != want:
                failures.append(f"trial {trials} {last} ({p['y']}, {p['x']}): input_box "
                                f"{p['input_box']}, oracle {want}; {model}")
                break
            # the recurrence's span, where it lies inside the input, is the oracle's box
            rf = got["receptive_field"]
            span = [rf["start"][1] + p["x"] * rf["jump"][1], rf["start"][0] + p["y"] * rf["jump"][0]]
            span += [span[0] + rf["size"][1], span[1] + rf["size"][0]]
            if span[0] >= 0 and span[1] >= 0 and span[2] <= w and span[3] <= h:
                if span != want:
                    failures.append(f"trial {trials} ({p['y']}, {p['x']}): span {span}, "
                                    f"oracle {want}; {model}")
                    break
                spans += 1
            if img and p["box"] != scale_box(want, (h, w), img):
                failures.append(f"trial {trials}: box {p['box']} on {img}, want "
                                f"{scale_box(want, (h, w), img)}")
                break
            if not img and p["box"] is not None:
                failures.append(f"trial {trials}: a box without an image")
                break
            checked += 1
        if len(got["patches"]) != oh * ow:
            failures.append(f"trial {trials}: {len(got['patches'])} patches of {oh * ow}")

    # what nncmp cannot follow falls back to the scaled cell, saying why
    class Hidden(torch.nn.Module):
        """A functional pooling between two modules: graph.json does not see it."""

        def __init__(self):
            super().__init__()
            self.c1 = torch.nn.Conv2d(1, 1, 3, padding=1)
            self.c2 = torch.nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x):
            return self.c2(torch.nn.functional.max_pool2d(self.c1(x), 2))

    cases = [
        (Hidden(), "c2", "c2's output is 6×6 in graph.json, but its 12×12 input and kernel"),
        (torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3), torch.nn.Upsample(scale_factor=2),
                             torch.nn.Conv2d(1, 1, 3)), "2", "1 (Upsample) is neither"),
        (torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3), torch.nn.InstanceNorm2d(1),
                             torch.nn.Conv2d(1, 1, 1)), "2", "1 (InstanceNorm2d) is neither"),
    ]
    for k, (model, layer, why) in enumerate(cases):
        x = torch.ones(1, 1, 12, 12)
        graph = nncmp_export.model_graph(model.eval(), x, "m")
        with torch.no_grad():
            out = dict(model.named_modules())[layer]
            hook = {}
            hd = out.register_forward_hook(lambda m, i, o: hook.__setitem__("t", o))
            model(x)
            hd.remove()
        oh, ow = hook["t"].shape[2:]
        d = f"{tmp}/fallback{k}"
        write_study(d, "m", layer, oh, ow, graph, (12, 12))
        got = patches(d, "m", layer, 3)
        if got["region_from"] != "scaled" or why not in (got["scaled_because"] or ""):
            failures.append(f"fallback {k}: {got['region_from']}, {got['scaled_because']}")
        elif got["receptive_field"] is not None or got["patches"][0]["input_box"] is not None:
            failures.append(f"fallback {k}: a receptive field given with the scaled cell")
        else:
            # the scaled cell: floor(x·w/W) .. max(floor((x+1)·w/W), x0+1)
            p = got["patches"][0]
            x0, y0 = p["x"] * 12 // ow, p["y"] * 12 // oh
            want = [x0, y0, max((p["x"] + 1) * 12 // ow, x0 + 1),
                    max((p["y"] + 1) * 12 // oh, y0 + 1)]
            if p["box"] != want:
                failures.append(f"fallback {k}: box {p['box']}, want {want}")
            checked += 1
    # no input_shape: scaled
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3)).eval()
    graph = nncmp_export.model_graph(model, torch.ones(1, 1, 9, 9), "m")
    del graph["input_shape"]
    write_study(f"{tmp}/noinput", "m", "0", 7, 7, graph, None)
    got = patches(f"{tmp}/noinput", "m", "0", 1)
    if got["scaled_because"] != "graph.json gives no (C, H, W) input_shape":
        failures.append(f"no input_shape: {got['region_from']}, {got['scaled_because']}")
finally:
    shutil.rmtree(tmp)

for f in failures[:20]:
    print("FAIL:", f)
print(f"rfield_ref: {trials} models, {checked} positions against the index oracle "
      f"({spans} of them inside the input, where the span of the recurrence is checked too), "
      f"{grads} against autograd; {len(failures)} failures")
sys.exit(1 if failures or checked < 500 or spans < 200 else 0)

#!/bin/sh
# tests/screen/cnnviews.sh NNCMP — screen tests of the architecture view (A): the real binary in
# a detached tmux session. What the view must show comes from `nncmp arch --json`, formatted
# again here in Python (name, type, kernel, a convolution's channels, shape, parameters, marks),
# never from constants; a copy of the digits study with a synthetic graph.json checks the folding
# of repeated blocks. Needs tmux and /usr/bin/python3.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "cnnviews: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "cnnviews: tmux is not installed" >&2; exit 2; }
PY=/usr/bin/python3

. tests/screen/lib.sh

# labels JSON: one line per layer as `nncmp arch` draws it ("conv2: Conv2d 3×3 16 16×8×8 (1168)
# [A(16) W]"), from the JSON on stdin, formatted independently of the C code.
labels() {
	$PY -c '
import json, sys
a = json.load(sys.stdin)
for l in a["layers"]:
    t = l["op"] + "".join((" " if i == 0 else "×") + str(k) for i, k in enumerate(l.get("kernel", [])))
    if l["op"].startswith("Conv") and l["shape"]:
        t += " %d" % l["shape"][0]
    t += " " + ("×".join(map(str, l["shape"])) or "?")
    if l["params"]:
        t += " (%d)" % l["params"]
    if l["activations"] or l["weights"]:
        want = 1
        for d in l["shape"]:
            want *= d
        m = []
        if l["activations"]:
            m.append("A(%d)" % l["act_cols"] if l["shape"] and want != l["act_cols"] else "A")
        if l["weights"]:
            m.append("W")
        t += " [" + " ".join(m) + "]"
    print(l["name"] + ": " + t)
'
}

echo "== digits, UTF-8, 160x40"
"$BIN" arch demo-data/digits --model cnn --json >"$TMP/arch.json"
start C.UTF-8 160 40 demo-data/digits
expect "the TUI is up" "Agreement per class"
keys A
expect "A opens the architecture view" "Architecture"
expect "the view names model A and the source" "model A: cnn, 6 layers, 18346 parameters (graph.json, fx)"
labels <"$TMP/arch.json" >"$TMP/labels"
while IFS= read -r l; do
	expect "the view draws '$l'" "$l"
done <"$TMP/labels"
expect_re "layers of one spatial size share stage 1" "^  1  conv1: [^→]* → conv2: "
# models A and B (cnn, cnn_early) are two snapshots: each layer with weights shows its relative
# change ||B - A|| / ||A||, computed here by NumPy, and the header names the largest
$PY - demo-data/digits "$TMP/labels" >"$TMP/change" <<'PY'
import sys
import numpy as np
d = sys.argv[1] + "/models/"
chg = {}
for n in ("conv1", "conv2", "fc1", "fc2"):
    a = np.load(d + "cnn/weights/" + n + ".npy").astype(np.float64)
    b = np.load(d + "cnn_early/weights/" + n + ".npy").astype(np.float64)
    chg[n] = np.linalg.norm(b - a) / np.linalg.norm(a)
top = max(chg, key=chg.get)
print("largest change %s %.3g;" % (top, chg[top]))
for l in open(sys.argv[2]).read().splitlines():
    n = l.split(":")[0]
    if n in chg:
        print("%s \u0394%.3g" % (l, chg[n]))
PY
expect "the view says whose weights it compares" "weights of A vs B (cnn vs cnn_early): "
while IFS= read -r l; do
	expect "the view shows '$l'" "$l"
done <"$TMP/change"
keys c
expect "c hides the change" "weights of A vs B (cnn vs cnn_early): hidden"
expect_not "no change is drawn once hidden" "Δ0."
keys c
expect "c shows it again" "$(head -1 "$TMP/change")"
# the first layer with activations, by the JSON; move the cursor onto it and press Enter
idx=$($PY -c 'import json,sys; a=json.load(open(sys.argv[1])); print([i for i,l in enumerate(a["layers"]) if l["activations"]][1])' "$TMP/arch.json")
name=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][int(sys.argv[2])]["name"])' "$TMP/arch.json" "$idx")
i=0
while [ "$i" -lt "$idx" ]; do keys j; i=$((i + 1)); done
expect "the cursor's layer is shown in full" "layer $((idx + 1))/6  $name:"
expect "Enter is offered on a layer with activations" "Enter: the neuron pane's layer"
keys Enter
expect_not "Enter closes the view" "model A: cnn"
expect "the neuron pane's layer is now cnn.$name" "Neurons cnn.$name"
keys A
expect "A opens again" "model A: cnn"
keys b
expect "b shows model B" "model B: cnn_early"
keys /
type_text "fc2"
keys Enter
expect "search moves the cursor to a layer by name" "layer 6/6  fc2:"
keys Enter
expect "Enter on a layer without activations says so" "fc2 has no activations in the study"
keys Escape
# a pair without a layer of one shape (mlp's fc1 is 32 × 64, cnn's 64 × 256): nothing to colour
keys : && type_text "models cnn mlp" && keys Enter
keys A
expect "A vs an mlp: no change to show, and why" "weights of A vs B (cnn vs mlp): none to compare"
expect_not "no change is drawn" "Δ0."
keys c
expect "c says why there is nothing to show" "models A and B have no layer with weights of the same shape"
keys Escape

echo "== digits at 100x30: the change line's short form keeps its scale and key"
start C.UTF-8 100 30 demo-data/digits
expect "the TUI opens" "899/899"
keys A
top=$(head -1 "$TMP/change" | sed 's/^largest change //; s/;$//')
expect_re "the short form names B and the largest change ($top)" "^ Δ vs cnn_early, largest $top  0  ≥.*c: hide$"
expect "the legend's short form" "[W] weights; no batch dimension"
keys Escape q
expect "q quits" "rc=0"

echo "== folded blocks: a copy of digits whose cnn has 3 × [Conv2d → ReLU]"
mkdir -p "$TMP/rep" && cp -r demo-data/digits/. "$TMP/rep/"
$PY -c '
import json, sys
mods = [{"id": 0, "name": "stem", "type": "Conv2d", "shape": [16, 8, 8], "params": 160, "leaf": True, "kernel": [3, 3], "inputs": [-1]}]
for r in range(3):
    mods.append({"id": len(mods), "name": "block.%d.conv" % r, "type": "Conv2d", "shape": [16, 8, 8], "params": 2320, "leaf": True, "kernel": [3, 3], "inputs": [len(mods) - 1]})
    mods.append({"id": len(mods), "name": "block.%d.relu" % r, "type": "ReLU", "shape": [16, 8, 8], "params": 0, "leaf": True, "inputs": [len(mods) - 1]})
mods.append({"id": len(mods), "name": "fc2", "type": "Linear", "shape": [10], "params": 10250, "leaf": True, "inputs": [len(mods) - 1]})
json.dump({"format": 1, "model": "cnn", "source": "order", "params": 17370, "modules": mods}, open(sys.argv[1], "w"))
' "$TMP/rep/models/cnn/graph.json"
"$BIN" arch "$TMP/rep" --model cnn --json >"$TMP/rep.json"
fold=$($PY -c '
import json, sys
a = json.load(open(sys.argv[1]))
b = [b for b in a["blocks"] if b["repeat"] > 1][0]
ls = b["layers"]
def lab(l):
    t = l["op"] + "".join((" " if i == 0 else "×") + str(k) for i, k in enumerate(l.get("kernel", [])))
    if l["op"].startswith("Conv"): t += " %d" % l["shape"][0]
    t += " " + "×".join(map(str, l["shape"]))
    if l["params"]: t += " (%d)" % l["params"]
    return t
print("%d × [" % b["repeat"] + " → ".join(lab(l) for l in ls) + "]")
' "$TMP/rep.json")
start C.UTF-8 200 40 "$TMP/rep"
expect "the TUI is up on the copy" "Agreement per class"
keys A
expect "the repeated block is folded as nncmp arch --json says: $fold" "$fold"
expect "the folded block names its first and last layer" "block.0.conv .. block.2.relu"
keys j j j
expect "the cursor walks into the second copy of the block" "layer 4/8  block.1.conv:"
keys q

finish cnnviews

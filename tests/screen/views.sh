#!/bin/sh
# tests/screen/views.sh NNCMP — screen tests of the views reached by keys (W M H P O D): the real
# binary in a detached tmux session, driven with send-keys, read with capture-pane. Expected
# numbers come from the CLI's --json output (nncmp matrix, weights, project, report, diff,
# instances) or from NumPy, never from constants. Runs from the top of the tree. Needs tmux and
# /usr/bin/python3 with NumPy.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "views: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "views: tmux is not installed" >&2; exit 2; }
PY=/usr/bin/python3
$PY -c 'import numpy' 2>/dev/null || { echo "views: $PY with NumPy is needed" >&2; exit 2; }

. tests/screen/lib.sh

# py SCRIPT [ARGS]: runs a Python oracle; stdin is passed through.
py() { $PY -c "$@"; }

# the layer the views work on: "MODEL LAYER" from the matrix view's first line
layer_of_screen() {
	screen | sed -n 's/^ \([A-Za-z0-9_.-]*\)\.\([A-Za-z0-9_-]*\): mean activation.*/\1 \2/p' | head -1
}

tm -f /dev/null new-session -d -s keep -x 80 -y 24 "sleep 100000"

echo "== digits, UTF-8, 160x45"
start C.UTF-8 160 45 demo-data/digits
expect "the TUI is up" "Agreement per class"

# --- subset x neuron matrix
keys M
expect "M opens the matrix view" "Subset x neuron matrix"
expect "the matrix is computed" "mean activation of each neuron"
set -- $(layer_of_screen)
M=${1:-cnn} L=${2:-conv2}
"$BIN" matrix demo-data/digits --model "$M" --layer "$L" --json >"$TMP/matrix.json"
re=$(py '
import json, sys
d = json.load(open(sys.argv[1]))
r = d["rows"][0]
cells = " +".join("%.2f" % v for v in r["means"][:6])
print("^ %s \\(%d\\) +%s" % (r["name"], r["n"], cells.replace(".", "\\.")))
' "$TMP/matrix.json")
expect_re "matrix row 0 shows the CLI's means ($M.$L)" "$re"
first=$(py '
import json, sys
d = json.load(open(sys.argv[1]))
print("#%d" % d["order"][0])
' "$TMP/matrix.json")
keys o
expect_re "o sorts the neurons by row 0: $first first" "^ class \(n\) +$first "
keys Enter
expect "Enter sorts the instances by that neuron" "sort: act($M.$L.${first#\#})"
expect "and closes the view" "Agreement per class"
keys : ; tm send-keys -t "$S" -l "sort index"; keys Enter
expect "back to index order" "sort: index"

# --- the outcome rows of the pair
keys M
expect "M again" "Subset x neuron matrix"
expect "computed again" "mean activation of each neuron"
keys r
n_both=$("$BIN" instances demo-data/digits --filter 'cnn == gt and cnn_early == gt' --json --top 1 | jq .count)
expect_re "r: rows by outcome, both right counts $n_both" "^ both right \($n_both\)"
keys Escape
expect "Esc closes the matrix" "Agreement per class"

# --- weights heatmap, the first instance's activations beside it
keys H
expect "H opens the weights view" "Layer weights"
# the grid fills the window below the view's title and its five lines of header (the fifth
# lists the layers with weights): 45 - 2 - 7 rows
"$BIN" weights demo-data/digits --model "$M" --layer "$L" --grid 36x144 --json >"$TMP/w.json"
line=$(py '
import json, sys, numpy as np
d = json.load(open(sys.argv[1]))
act = np.load(sys.argv[2]).astype(np.float64)
if act.ndim > 2:  # (N, C, H, W): the overlay is the mean of each output channel over H x W
    act = act.reshape(len(act), act.shape[1], -1).mean(axis=2)
s = d["scale"]
out = []
for v in d["grid"][0]:
    t = v / s if s > 0 else 0
    a = abs(t)
    b = 0 if a < 0.1 else 1 if a < 0.35 else 2 if a < 0.7 else 3
    out.append("\u00b7" if b == 0 else ".-=#"[b] if t < 0 else ".+*@"[b])
n = d["row_starts"][1] if len(d["row_starts"]) > 1 else len(act[0])
print("%5d %7.3f \u2502%s\u2502" % (0, act[0][:n].mean(), "".join(out)))
' "$TMP/w.json" "demo-data/digits/models/$M/act/$L.npy")
expect "weights row 0: the CLI's grid and NumPy's activation" "$line"
keys Escape

# --- projection
keys P
expect "P opens the projection" "Projection (PCA)"
"$BIN" project demo-data/digits --model "$M" --layer "$L" --json >"$TMP/p.json"
ex=$(py '
import json, sys
d = json.load(open(sys.argv[1]))
print("PC1 %.1f%% and PC2 %.1f%% of the variance" % (100 * d["explained"][0], 100 * d["explained"][1]))
' "$TMP/p.json")
expect "projection: explained variance from nncmp project" "$ex"
expect "projection: the selected instance is marked" "◆ #0"
keys c
expect "c colours by model A right or wrong" "A wrong"
keys Escape

# --- the model table
keys O
expect "O opens the model table" "Recall per class across the models"
"$BIN" report demo-data/digits --json >"$TMP/r.json"
py '
import json, sys
d = json.load(open(sys.argv[1]))
for m in d["models"]:
    print("%s +%.4f +%.4f" % (m["name"], m["accuracy"], m["macro_f1"]))
' "$TMP/r.json" >"$TMP/models.txt"
while read -r re; do expect_re "model row: $re" "$re"; done <"$TMP/models.txt"
spread=$(py '
import json, sys
d = json.load(open(sys.argv[1]))
ms = d["models"]
best = None
for c, name in enumerate(d["classes"]):
    rec = [m["per_class"][c]["recall"] for m in ms]
    lo, hi = min(rec), max(rec)
    if best is None or hi - lo > best[0]:
        best = (hi - lo, name, lo, hi, ms[rec.index(lo)]["name"], ms[rec.index(hi)]["name"])
print("%s +[0-9]+ +%.3f +%.3f +%s +%s +%.3f" % (best[1], best[2], best[3], best[4], best[5], best[0]))
' "$TMP/r.json")
expect_re "the class where models diverge most comes first: $spread" "^   $spread"
keys Enter
# the cursor starts on the most accurate model
top=$(py '
import json, sys
d = json.load(open(sys.argv[1]))
print(max(d["models"], key=lambda m: m["accuracy"])["name"])
' "$TMP/r.json")
expect "Enter makes the model under the cursor A" "A=$top"
keys x
keys Escape

# --- snapshot comparison of cnn and cnn_early (":models cnn cnn_early")
keys : ; tm send-keys -t "$S" -l "models cnn cnn_early"; keys Enter
expect "pair is cnn, cnn_early" "A=cnn B=cnn_early"
keys D
expect "D opens the snapshot comparison" "Snapshot comparison"
"$BIN" diff demo-data/digits --models cnn cnn_early --json >"$TMP/d.json"
py '
import json, sys
d = json.load(open(sys.argv[1]))
for l in d["layers"]:
    shape = "x".join(str(k) for k in l["shape"])
    lv = " +".join("%.2f%%" % (100.0 * v["count"] / l["n"]) for v in l["levels"])
    print("^ %s +%s +%.4g +%.4g +%.4g +%.4g +%s" % (l["name"], shape, l["l2"], l["norm_a"], l["relative"], l["max_abs_delta"], lv))
' "$TMP/d.json" >"$TMP/diff.txt"
while read -r re; do expect_re "snapshot row: ${re%% +*}" "$re"; done <"$TMP/diff.txt"
keys /
type_text "fc2"
keys Enter
expect "/ in the snapshot view moves to the layer fc2 (its detail below)" "fc2, 640 weights"
keys Escape
keys : ; tm send-keys -t "$S" -l "models cnn mlp"; keys Enter
expect "pair is cnn, mlp" "A=cnn B=mlp"
keys D
expect "snapshot of models without a common layer shape: a message" "no layer with weights of the same shape"
keys W
expect "words on a study without texts: a message" "the study has no texts"
keys q

echo "== fortunes, UTF-8, 160x45: frequent words"
start C.UTF-8 160 45 demo-data/fortunes
expect "the TUI is up" "Agreement per class"
keys 1
expect "only A right" "filter: bow == gt and cnn != gt"
keys W
expect "W opens the words view" "Frequent words"
N=$("$BIN" instances demo-data/fortunes --filter 'index >= 0' --json --top 1 | jq .count)
n_only_a=$("$BIN" instances demo-data/fortunes --filter 'bow == gt and cnn != gt' --json --top 1 | jq .count)
expect "the words are counted over the $n_only_a shown texts" "$n_only_a of $N texts shown"
keys s
expect "s shows the stop words" "words in at least 3 of them; sorted by lift"
"$BIN" instances demo-data/fortunes --filter 'bow == gt and cnn != gt' --json --top 0 >"$TMP/sel.json"
top=$(py '
import json, sys
sel = {x["index"] for x in json.load(open(sys.argv[1]))["instances"]}
texts = [json.loads(l).get("text") for l in open(sys.argv[2])]
def word_char(ch):
    o = ord(ch)
    if o < 0x80:
        return ch.isascii() and (ch.isalnum() or ch == "\x27")
    if o < 0xC0 or o in (0xD7, 0xF7, 0xFFFD):
        return False
    if 0x2000 <= o <= 0x2BFF or 0x3000 <= o <= 0x303F or 0xFE30 <= o <= 0xFE4F or 0xFF00 <= o <= 0xFF0F:
        return False
    return True
df_all, df_sel = {}, {}
for i, t in enumerate(texts):
    if t is None:
        continue
    words, cur = set(), ""
    for ch in t + " ":
        if word_char(ch):
            cur += ch.lower() if ch.isascii() else ch
        else:
            w = cur.strip("\x27")
            if w:
                words.add(w)
            cur = ""
    for w in words:
        df_all[w] = df_all.get(w, 0) + 1
        if i in sel:
            df_sel[w] = df_sel.get(w, 0) + 1
N, n = len(texts), len(sel)
rows = [((df_sel[w] / n) / (df_all[w] / N), df_sel[w], w) for w in df_sel if df_sel[w] >= 3]
rows.sort(key=lambda r: (-r[0], -r[1], r[2]))
l, k, w = rows[0]
print("%s %d %.1f%% %.1f%% %.2f" % (w, k, 100.0 * k / n, 100.0 * df_all[w] / N, l))
' "$TMP/sel.json" demo-data/fortunes/samples.jsonl)
set -- $top
expect_re "the first word by lift, from Python: $top" "^ $1 +$2 +$3 +$4 +$5 "
# the view draws what `nncmp words` prints: its first rows, in its order
"$BIN" words demo-data/fortunes --filter 'bow == gt and cnn != gt' --stop --top 6 --json >"$TMP/words.json"
py '
import json, re, sys
d = json.load(open(sys.argv[1]))
for w in d["words"]:
    print("^ %s +%d +%.1f%% +%.1f%% +%.2f " % (re.escape(w["word"]), w["in_subset"],
          100 * w["share_subset"], 100 * w["share_all"], w["lift"]))
' "$TMP/words.json" >"$TMP/words.txt"
k=0
while read -r re; do
	k=$((k + 1))
	screen | sed -n "$((k + 5))p" | grep -qE -- "$re" && ok "words row $k is the CLI's: $re" ||
		no "words row $k is not the CLI's ($re): $(screen | sed -n "$((k + 5))p")"
done <"$TMP/words.txt"
keys Enter
n=$("$BIN" instances demo-data/fortunes --filter "(bow == gt and cnn != gt) and text ~ \"$1\"" --json --top 1 | jq .count)
expect "Enter filters the texts with the word" "filter: (bow == gt and cnn != gt) and text ~ \"$1\""
expect "and the count matches the CLI" "$n/$N"
keys q

echo "== fortunes, UTF-8, 160x45: the labels overview and the recall spread draw the CLI's rows"
start C.UTF-8 160 45 demo-data/fortunes
expect "the TUI is up" "Agreement per class"
keys E
expect "E opens the overview" "Enter: review them"
"$BIN" overview demo-data/fortunes --model bow --json >"$TMP/ov.json"
py '
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["rows"]:
    cells = "".join(".*\u2192[^ ]+ +%d " % c["count"] for c in r["cells"])
    print("^ +%d %s%s" % (r["errors"], r["label"][:5], cells))
' "$TMP/ov.json" >"$TMP/ov.txt"
k=0
while read -r re; do
	k=$((k + 1))
	screen | sed -n "$((k + 3))p" | grep -qE -- "$re" && ok "overview row $k is the CLI's: $re" ||
		no "overview row $k is not the CLI's ($re): $(screen | sed -n "$((k + 3))p")"
done <"$TMP/ov.txt"
[ "$k" -gt 0 ] && ok "the overview has rows" || no "overview --json has no rows"
keys Escape
keys O
expect "O opens the model table" "Recall per class across the models"
"$BIN" report demo-data/fortunes --json >"$TMP/rs.json"
py '
import json, sys
d = json.load(open(sys.argv[1]))
for c in d["class_spread"]:
    print("^   %s +%d +%.3f +%.3f +%s +%s +%.3f " % (c["class"], c["support"], c["min_recall"],
          c["max_recall"], c["model_at_min"], c["model_at_max"], c["spread"]))
' "$TMP/rs.json" >"$TMP/rs.txt"
k=0
y0=$(screen | grep -n "model at min" | cut -d: -f1)
while read -r re; do
	k=$((k + 1))
	screen | sed -n "$((y0 + k))p" | grep -qE -- "$re" && ok "spread row $k is report's class_spread: $re" ||
		no "spread row $k is not report's class_spread ($re): $(screen | sed -n "$((y0 + k))p")"
done <"$TMP/rs.txt"
keys q

echo "== digits, ASCII (LANG=C), 80x24"
start C 80 24 demo-data/digits
expect "the TUI is up" "digits"
keys H
expect "H at 80x24" "Layer weights"
"$BIN" weights demo-data/digits --model "$M" --layer "$L" --grid 15x64 --json >"$TMP/w2.json"
line=$(py '
import json, sys
d = json.load(open(sys.argv[1]))
s = d["scale"]
out = []
for v in d["grid"][0]:
    t = v / s if s > 0 else 0
    a = abs(t)
    b = 0 if a < 0.1 else 1 if a < 0.35 else 2 if a < 0.7 else 3
    out.append(".-=#"[b] if t < 0 else ".+*@"[b])
print("|%s|" % "".join(out))
' "$TMP/w2.json")
expect "ASCII weights row 0 from the CLI's 15x64 grid" "$line"
keys Escape
keys P
expect "ASCII projection: legend" "@ #0  # 0"
keys Escape
keys O
expect "80x24 model table" "model at min"
keys Escape
keys D
expect "80x24 snapshot: the narrow table" "relative  % of weights with d in:"
keys Escape
expect "Esc: back to the panes" "filter: (all)"
keys q

echo "== Y: near-duplicates of the layer, for review"
start C.UTF-8 160 45 demo-data/digits
# the demo's layers by name: conv1 (N, 8, 8, 8), conv2 (pooled), fc1
expect "digits opens" "Neurons cnn.conv1"
keys L
expect "L: conv2" "Neurons cnn.conv2"
keys L
expect "L: fc1" "Neurons cnn.fc1"
want=$("$BIN" dups demo-data/digits --model cnn --layer fc1 --threshold 0.99 --json --top 1 |
	grep -o '"count": *[0-9]*' | grep -o '[0-9]*$')
keys Y
expect "Y: the pair count agrees with nncmp dups" "cnn.fc1: $want pairs with the same prediction"
keys d
expect "d: only pairs whose labels differ" "d: every pair"
first=$(screen | grep -m1 '^ \*' | awk '{print $3, $5}' | tr -d '#')
keys Enter
a=${first% *}
b=${first#* }
expect "Enter shows the pair in the table" "filter: index == $a or index == $b"
expect "two instances" "2/899"
keys q

finish views

#!/bin/sh
# tests/screen/many.sh NNCMP — a study of 30 models (tests/screen/gen_many.py: 2000 instances,
# 10 classes) opens in tmux and every key updates the screen: moving, swapping A and B, :models,
# the models view and its last row, a filter, a sort, the instances by label view. What the
# screens show is checked against NumPy (accuracies, counts). With 30 models the instance
# table shows A and B first and says how many model columns it leaves out, and the detail pane
# lists A and B first. No timing: each step waits for its text (lib.sh) up to its timeout.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "many: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "many: tmux is not installed" >&2; exit 2; }
. tests/screen/lib.sh
PY=/usr/bin/python3

ST=$TMP/many
$PY tests/screen/gen_many.py "$ST" || { echo "many: the generator failed" >&2; exit 2; }
# acc M: model M's accuracy as the panes print it; wrong M: how many it gets wrong
acc() {
	$PY -c 'import numpy as np, sys; y = np.load(sys.argv[1] + "/labels.npy"); p = np.load(sys.argv[1] + "/models/" + sys.argv[2] + "/probs.npy").argmax(1); print("%.4f" % (p == y).mean())' "$ST" "$1"
}
wrong() {
	$PY -c 'import numpy as np, sys; y = np.load(sys.argv[1] + "/labels.npy"); p = np.load(sys.argv[1] + "/models/" + sys.argv[2] + "/probs.npy").argmax(1); print(int((p != y).sum()))' "$ST" "$1"
}

start C.UTF-8 160 45 "$ST"
expect "the 30-model study opens" "2000/2000"
expect_re "model-00's accuracy (NumPy)" "model-00 +$(acc model-00)"
expect "the pair starts as the first two" "A=model-00 B=model-01"
keys j
expect "j moves the cursor" "Instance #1  s0001"
keys j j
expect "and again" "Instance #3  s0003"
keys x
expect "x swaps A and B" "A=model-01 B=model-00"
keys : && type_text "models model-17 model-29" && keys Enter
expect "a pair from the end of the list" "A=model-17 B=model-29"
expect_re "the models pane scrolls to A" "^ A model-17 +$(acc model-17)"
expect_re "the table shows A and B first, and how many columns it leaves out" \
	"truth +model-17 model-29 .* \+[0-9]+ "
expect_re "the detail pane lists A first" "^.{80,}model-17 class-"
keys O
expect "O opens the models view" "30 models over the 2000 shown instances"
expect_re "model-29's accuracy there (NumPy)" "B model-29 +$(acc model-29)"
keys G
expect_re "G reaches the last of 30 rows (the least accurate)" "model-00 +$(acc model-00) .*687"
keys Escape
expect_not "Esc closes it" "30 models over"
n=$(wrong model-29)
keys : && type_text "filter model-29 != gt" && keys Enter
expect "a filter on the 30th model (NumPy: $n wrong)" "$n/2000"
keys : && type_text "sort conf(model-29):asc" && keys Enter
expect "a sort by its confidence" "sort: conf(model-29):asc"
keys I
expect "the instances by label" "Instances by label"
expect_re "model A's wrong ones per class" "class-0: [0-9]+ right"
keys Escape
keys : && type_text "filter" && keys Enter
expect "back to every instance" "2000/2000"
keys q
expect "quits" "rc=0"

finish many

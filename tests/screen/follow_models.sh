#!/bin/sh
# tests/screen/follow_models.sh NNCMP — open views that are prepared from the model pair follow a
# change of the pair: `:models A B` typed in the calibration view (F) and in the architecture
# view (A), also the swapped pair (x, the panes' swap, is not a key of the views), show the new
# pair's numbers, each checked against the CLI's JSON.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "follow_models: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "follow_models: tmux is not installed" >&2; exit 2; }
. tests/screen/lib.sh
PY=/usr/bin/python3
ST=demo-data/digits

# ece M: model M's ECE as the calibration view prints it (%.4f), from `nncmp calibration --json`
ece() {
	"$BIN" calibration "$ST" --model "$1" --json |
		$PY -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["models"][0]["ece"])'
}
# change A B: "LAYER X.XX" (%.3g), the largest weight change of A vs B, from `nncmp arch --vs --json`
change() {
	"$BIN" arch "$ST" --model "$1" --vs "$2" --json | $PY -c '
import json, sys
d = json.load(sys.stdin)
l = max((l for l in d["layers"] if l.get("change") is not None), key=lambda l: l["change"])
print("%s %.3g" % (l["name"], l["change"]))'
}

echo "== the calibration view follows :models typed in it"
start C.UTF-8 160 45 "$ST"
expect "the TUI opens" "Agreement per class   A=cnn  B=cnn_early"
keys F
expect "F opens the calibration view" "Calibration of models A and B"
expect "it shows A cnn's ECE" "A cnn  ECE $(ece cnn) "
expect "and B cnn_early's" "B cnn_early  ECE $(ece cnn_early) "
keys :
type_text "models mlp cnn_early"
keys Enter
expect "after :models mlp cnn_early, A is mlp with its ECE" "A mlp  ECE $(ece mlp) "
expect "and B is cnn_early with its ECE" "B cnn_early  ECE $(ece cnn_early) "
expect_not "the old pair is gone" "A cnn  ECE"
expect "the view is still open" "Calibration of models A and B"
keys Escape
expect "the panes show the new pair" "Agreement per class   A=mlp  B=cnn_early"

echo "== the architecture view follows :models, the swapped pair too"
keys :
type_text "models cnn cnn_early"
keys Enter
expect "back to cnn vs cnn_early" "Agreement per class   A=cnn  B=cnn_early"
keys A
expect "A opens the architecture of cnn" "model A: cnn, "
expect "with its weight change vs cnn_early" \
	"weights of A vs B (cnn vs cnn_early): largest change $(change cnn cnn_early)"
keys :
type_text "models cnn_early cnn"
keys Enter
expect "after :models cnn_early cnn (the swap) it shows cnn_early" "model A: cnn_early, "
expect "and the change of cnn_early vs cnn" \
	"weights of A vs B (cnn_early vs cnn): largest change $(change cnn_early cnn)"
keys :
type_text "models cnn mlp"
keys Enter
expect "after :models cnn mlp, model A is cnn" "model A: cnn, "
c=$(change cnn mlp 2>/dev/null)
if [ -n "$c" ]; then
	expect "with the change vs mlp" "weights of A vs B (cnn vs mlp): largest change $c"
else
	expect_not "no weight change vs mlp (the CLI has none)" "(cnn vs cnn_early)"
fi
keys Escape
keys q
expect "nncmp exits with 0" "rc=0"

finish follow_models

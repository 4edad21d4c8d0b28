#!/bin/sh
# tests/screen/bylabel.sh NNCMP — the instances-by-label view (I): one row per true class with
# model A's right and wrong counts as NumPy counts them from labels.npy and probs.npy; the wrong
# ones marked with A's prediction; h/l and w move along a row and scroll it; Enter puts the
# table's cursor on the instance. On digits (half-block thumbnails), fortunes (texts) and
# classes15 (15 classes, more than a screen of rows).
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "bylabel: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "bylabel: tmux is not installed" >&2; exit 2; }
. tests/screen/lib.sh
PY=/usr/bin/python3

# oracle STUDY MODEL: "CLASS RIGHT WRONG" per class, then "FIRSTWRONG PRED" for class 0
# (the first instance of class 0 that MODEL gets wrong: its id, the predicted class, its index;
# no such line when MODEL gets all of class 0 right)
oracle() {
	$PY - "$1" "$2" <<'EOF'
import json, sys
import numpy as np
st, m = sys.argv[1], sys.argv[2]
y = np.load(st + "/labels.npy")
p = np.load(st + "/models/%s/probs.npy" % m).argmax(1)
names = open(st + "/classes.txt").read().split("\n")
ids = [json.loads(l)["id"] for l in open(st + "/samples.jsonl")]
for c in range(len(names) - (names[-1] == "")):
    sel = y == c
    print(names[c], int((p[sel] == c).sum()), int((p[sel] != c).sum()))
w = np.flatnonzero((y == 0) & (p != 0))
if len(w):  # a model may get every instance of class 0 right
    print("FIRST", ids[w[0]], names[p[w[0]]], w[0])
EOF
}

check_rows() { # STUDY MODEL: every class row shows the oracle's counts (those on the screen)
	if ! oracle "$1" "$2" >"$TMP/oracle"; then
		no "$1: the NumPy oracle failed"
		return
	fi
	wait_re ": [0-9]+ right" # the rows come from the worker, once the view's title is up
	shown=0
	while read -r c r w; do
		[ "$c" = FIRST ] && continue
		if screen | grep -qF "$c: $r right"; then
			if screen | grep -F "$c: $r right" | grep -qF "$w wrong"; then
				shown=$((shown + 1))
			else
				no "$1: class $c has $w wrong"
			fi
		fi
	done <"$TMP/oracle"
	if [ "$shown" -ge 2 ]; then ok "$1: $shown class rows show NumPy's counts"; else no "$1: class rows with NumPy's counts ($shown)"; fi
}

echo "== digits: thumbnails"
start C.UTF-8 160 45 "--graphics blocks demo-data/digits"
expect "the TUI opens" "899/899"
keys I
expect "I opens the view" "Instances by label"
check_rows demo-data/digits cnn
set -- $(grep FIRST "$TMP/oracle")
first=$2 pred=$3 index=$4
expect_re "a wrong one is marked with its prediction" "│→$pred "
keys w
expect "w: the cursor on the first wrong one" "$first: label 0, cnn predicts $pred"
keys Enter
expect_not "Enter closes the view" "Instances by label"
expect "the table's cursor is on it" "Instance #$index  $first"
keys I
keys l l l l l l l l
expect_re "l scrolls the row" "0: [0-9]+ right  3-9 of"
keys Escape q
expect "quits" "rc=0"

echo "== fortunes: texts"
start C.UTF-8 160 45 "demo-data/fortunes"
expect "the TUI opens" "920/920"
keys I
expect "I opens the view" "Instances by label"
check_rows demo-data/fortunes bow
set -- $(grep FIRST "$TMP/oracle")
first=$2 pred=$3
expect "a wrong one is marked with its prediction" "→$pred"
keys w
expect "w: the first wrong one" "$first: label computers, bow predicts $pred"
keys Escape q
expect "quits" "rc=0"

echo "== classes15: more rows than the screen"
start C.UTF-8 120 30 "tests/data/classes15"
keys I
expect "I opens the view" "Instances by label"
check_rows tests/data/classes15 good
keys G
expect_re "G: the last class row" "class-14: [0-9]+ right"
keys / && type_text "class-07" && keys Enter
expect_re "/ finds a class row" "class-07: [0-9]+ right"
keys Escape q
expect "quits" "rc=0"

finish bylabel

#!/bin/sh
# `nncmp classes`, `calibration`, `gate`, report's pairs, `similarity --cka` and the filter word
# `right`: values against NumPy/SciPy/scikit-learn (oracle.py), exit
# statuses and one-line errors.
# Usage: tests/stats/run.sh ./nncmp     (from the top of the tree)
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
DIGITS=demo-data/digits
pass=0
fail=0
. tests/cli_lib.sh

if /usr/bin/python3 tests/stats/oracle.py "$NNCMP" $DIGITS tests/data/classes15; then ok; else bad "oracle.py"; fi

expect 3 "worse: cnn_early accuracy" -- "$NNCMP" gate $DIGITS --base cnn --new cnn_early
expect 0 "not worse: cnn accuracy" -- "$NNCMP" gate $DIGITS --base cnn_early --new cnn
expect 0 "not worse" -- "$NNCMP" gate $DIGITS --base cnn --new cnn --metric macro_f1
expect 3 "paired bootstrap" -- "$NNCMP" gate $DIGITS --base cnn --new cnn_early --metric macro_f1
expect 2 "--new: no model 'nope'" -- "$NNCMP" gate $DIGITS --base cnn --new nope
expect 2 "--base: no model 'nope'" -- "$NNCMP" gate $DIGITS --base nope --new cnn
expect 2 "--base A and --new B" -- "$NNCMP" gate $DIGITS --base cnn
expect 2 "--alpha wants" -- "$NNCMP" gate $DIGITS --base cnn --new mlp --alpha 1.5
expect 2 "--metric wants" -- "$NNCMP" gate $DIGITS --base cnn --new mlp --metric f2
expect 2 "no model 'nope'" -- "$NNCMP" classes $DIGITS --model nope
expect 2 "no model 'nope'" -- "$NNCMP" calibration $DIGITS --model nope
expect 2 "only predictions" -- "$NNCMP" calibration $DIGITS --model knn
expect 2 "--bins wants" -- "$NNCMP" calibration $DIGITS --bins 0
expect 0 "closest pairs" -- "$NNCMP" classes $DIGITS --model cnn
expect 0 "ECE 0.0287" -- "$NNCMP" calibration $DIGITS --model cnn
# the same seed, the same bootstrap
a=$("$NNCMP" gate $DIGITS --base cnn --new mlp --metric macro_f1 --seed 9 --json)
b=$("$NNCMP" gate $DIGITS --base cnn --new mlp --metric macro_f1 --seed 9 --json)
[ "$a" = "$b" ] && ok || bad "gate --seed 9 is not reproducible"
# errors are one line
for args in "gate $DIGITS --base cnn --new nope" "classes /nonexistent" "calibration $DIGITS --model nope"; do
	n=$("$NNCMP" $args 2>&1 >/dev/null | wc -l)
	[ "$n" -eq 1 ] && ok || bad "$args: $n stderr lines"
done

echo "stats: $pass passed, $fail failed"
[ $fail -eq 0 ]

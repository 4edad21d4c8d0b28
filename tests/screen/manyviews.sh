#!/bin/sh
# tests/screen/manyviews.sh NNCMP — the views of many models (issue #18): the agreement matrix
# (A), calibration (C), class distances (K) and linear CKA (S), on demo-data/digits (4 models)
# and tests/data/classes15 (15 classes, 2 models), at 160x45 and 80x24. Each shows a number that
# must equal the CLI's --json for the same thing (report's pairs, calibration, classes,
# similarity); Enter in the agreement matrix makes the cell's models A and B; the filter word
# `right` and the instance table's right column agree with `nncmp instances`; the CKA view computes
# over the filtered instances (checked against NumPy). At 100x30 the class
# distances draw the 15 classes' names (class-00 ...) apart, not cut to "…".
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "manyviews: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "manyviews: tmux is not installed" >&2; exit 2; }
. tests/screen/lib.sh

D=demo-data/digits
C15=tests/data/classes15
# json CMD... -- PYEXPR: PYEXPR over the CLI's JSON (as d), printed
json() {
	expr=$1
	shift
	"$BIN" "$@" 2>/dev/null | /usr/bin/python3 -c "import json, sys; d = json.load(sys.stdin); print($expr)"
}
pair() { # pair STUDY A B FIELD FORMAT: the field of report --json's pair (A, B)
	json "format(next(p for p in d['pairs'] if (p['a'], p['b']) == ('$2', '$3'))['$4'], '$5')" \
		report "$1" --json
}

echo "== digits at 160x45: the agreement matrix"
start C.UTF-8 160 45 "$D"
expect "the TUI opens" "899/899"
keys T
expect "T opens the agreement matrix" "Agreement of every pair of models"
ag=$(pair $D cnn cnn_early agreement .4f)
expect "it opens on the pair (A, B), whose agreement is report's ($ag)" "A cnn, B cnn_early: agreement $ag"
k=$(pair $D cnn knn kappa .3f)
keys c
expect "c: Cohen's kappa" "Cohen's kappa between every pair"
expect_re "the cnn row's knn cell is report's kappa ($k)" "^ cnn +- +[0-9.]+ +$k "
keys c
mp=$(pair $D cnn_early knn mcnemar_p .4g)
keys j l
expect "McNemar p of cnn_early/knn is report's ($mp)" "A cnn_early, B knn: agreement $(pair $D cnn_early knn agreement .4f)  kappa $(pair $D cnn_early knn kappa .4f)  McNemar p $mp"
expect_re "a p below 0.05 is starred, one below 0.001 said so" "^ cnn_early +<\.001\* +- +<\.001\*"
keys Enter
expect "Enter makes them A and B" "A=cnn_early B=knn"
expect_not "and closes the view" "Agreement of every pair of models"

echo "== the filter word right and the table's right column"
expect "the instance table has a right column" " right "
want=$(count "right == 0")
keys :
type_text "filter right == 0"
keys Enter
expect "right == 0 shows the $want instances nncmp instances counts" "$want/899"
expect_re "the rows say 0 models right" "■ +9 +■ +9 +■ +9 +■ +9 +0 "
want=$(count "right >= 3")
keys :
type_text "filter right >= 3"
keys Enter
expect "right >= 3 shows $want" "$want/899"

keys :
type_text "filter gt == 8"
keys Enter
want=$(count "gt == 8")
expect "gt == 8 shows $want" "$want/899"
keys T
fa=$(json "format(next(p for p in d['pairs'] if (p['a'], p['b']) == ('cnn_early', 'knn'))['agreement'], '.4f')" report $D --filter "gt == 8" --json)
expect "the matrix follows the filter: $want instances" "over $want instances (the filter)"
expect "cnn_early/knn agreement is report --filter's ($fa)" "A cnn_early, B knn: agreement $fa"
keys q

echo "== calibration"
keys :
type_text "models cnn cnn_early"
keys Enter
expect "A and B back" "A=cnn B=cnn_early"
keys F
expect "F opens the calibration view" "Calibration of models A and B"
ece=$(json "format(next(m for m in d['models'] if m['name'] == 'cnn')['ece'], '.4f')" calibration $D --json)
expect "A's ECE is calibration's ($ece)" "A cnn  ECE $ece"
last=$(json "next(m for m in d['models'] if m['name'] == 'cnn')['bins'][-1]['count']" calibration $D --json)
ece2=$(json "format(next(m for m in d['models'] if m['name'] == 'cnn_early')['ece'], '.4f')" calibration $D --json)
expect "B's ECE ($ece2) beside it" "B cnn_early  ECE $ece2"
expect_re "the last bin holds calibration's $last" "^ 1\.000 +$last "
keys b
ece3=$(json "format(next(m for m in d['models'] if m['name'] == 'mlp')['ece'], '.4f')" calibration $D --json)
expect "b: the next model with confidence on the right (knn has none: mlp)" "B mlp  ECE $ece3"
keys q

echo "== class distances"
keys X
expect "X opens the class distances" "Distances between classes"
cl=$(json "'%.4f %s - %s' % (d['closest'][0]['distance'], d['closest'][0]['a'], d['closest'][0]['b'])" classes $D --model cnn --json)
expect "the closest pair is classes' ($cl)" "$cl"
ord=$(json "' '.join(d['classes'][i] for i in d['order'])" classes $D --model cnn --json)
expect_re "the matrix's columns in the core's order ($ord)" "^ +$(echo "$ord" | sed 's/ / +/g') "
expect "the layout is drawn" "2-D layout (classical MDS"
for m in cnn cnn_early knn mlp; do
	c1=$(json "'%.4f %s - %s' % (d['closest'][0]['distance'], d['closest'][0]['a'], d['closest'][0]['b'])" classes $D --model $m --json)
	expect_re "under the matrix, $m's closest pair ($c1)" "^ $m +$c1"
done
keys Enter
want=$(count "(gt == 1 and cnn == 8) or (gt == 8 and cnn == 1)")
expect "Enter on 1 - 8: the $want instances cnn gives to the other class" "$want/899"
expect_not "and closes the view" "Distances between classes"
keys X
expect "X again" "Distances between classes"
keys m
cl=$(json "'%.4f %s - %s' % (d['closest'][0]['distance'], d['closest'][0]['a'], d['closest'][0]['b'])" classes $D --model cnn_early --json)
expect "m: the next model's closest pair ($cl)" "$cl"
keys q

echo "== linear CKA"
keys :
type_text "filter"
keys Enter
expect "the filter left by Enter is cleared: CKA over every instance" "899/899"
keys U
expect "U opens the CKA view" "Linear CKA between layers"
cka=$(json "format(d['cka'], '.6f')" similarity $D --model cnn --layer fc1 --with mlp.fc1 --cka --json)
expect "the matrix is computed" "7 mlp.fc1"
keys j j l l l l l l
expect "CKA(cnn.fc1, mlp.fc1) is similarity's ($cka)" "CKA(cnn.fc1, mlp.fc1) = $cka"
wait_for "most correlated neurons of"
nrn=$(screen | sed -n 's/.*neuron \([0-9]*\) of cnn\.conv1: most correlated.*/\1/p' | head -1)
if [ -n "$nrn" ]; then
	top=$(json "'%6u  r %+.4f' % (d['matches'][0]['top'][0]['neuron'], d['matches'][0]['top'][0]['r'])" \
		similarity $D --model cnn --layer conv1 --with cnn_early.conv1 --neuron "$nrn" --abs --json)
	expect "neuron $nrn's best match in B's conv1 is similarity's ($top)" "$top"
else
	no "the neuron pane's neuron is named"
fi
keys r
expect "r: by r" "cnn_early.conv1, by r (r: by |r|)"
expect "no filter: over all instances" "linear CKA over all 899 instances"
keys q

echo "== linear CKA over the filtered instances, against NumPy"
keys :
type_text "filter gt == 3"
keys Enter
want=$(count "gt == 3")
expect "gt == 3 shows $want" "$want/899"
keys U
expect "U says the CKA is over the filter's $want instances" "linear CKA over $want filtered instances"
expect "the matrix is computed" "7 mlp.fc1"
keys j j l l l l l l
wait_for "CKA(cnn.fc1, mlp.fc1) = "
got=$(screen | sed -n 's/.*CKA(cnn\.fc1, mlp\.fc1) = \([0-9.]*\).*/\1/p' | head -1)
# linear CKA in float64 over the rows labelled 3 (Kornblith et al.): ||Yc'Xc||_F^2 / (||Xc'Xc||_F ||Yc'Yc||_F)
np_cka=$(/usr/bin/python3 -c "
import numpy as np
y = np.load('$D/labels.npy'); s = y == 3
x = np.load('$D/models/cnn/act/fc1.npy')[s].astype(np.float64); z = np.load('$D/models/mlp/act/fc1.npy')[s].astype(np.float64)
x -= x.mean(0); z -= z.mean(0)
print('%.6f' % (np.linalg.norm(z.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(z.T @ z))))")
if [ -n "$got" ] && /usr/bin/python3 -c "import sys; sys.exit(abs($got - $np_cka) > 2e-6)"; then
	ok "CKA(cnn.fc1, mlp.fc1) over gt == 3 is NumPy's ($got, NumPy $np_cka)"
else
	no "CKA(cnn.fc1, mlp.fc1) over gt == 3 is NumPy's (screen '$got', NumPy $np_cka)"
fi
all=$(json "format(d['cka'], '.6f')" similarity $D --model cnn --layer fc1 --with mlp.fc1 --cka --json)
if [ "$got" != "$all" ]; then ok "and not the CKA over all instances ($all)"; else no "the filter changed nothing ($all)"; fi
cli=$(json "format(d['cka'], '.6f')" similarity $D --model cnn --layer fc1 --with mlp.fc1 --cka --filter "gt == 3" --json)
expect "and similarity --filter's ($cli)" "CKA(cnn.fc1, mlp.fc1) = $cli"
wait_for "most correlated neurons of"
nrn=$(screen | sed -n 's/.*neuron \([0-9]*\) of cnn\.conv1: most correlated.*/\1/p' | head -1)
if [ -n "$nrn" ]; then
	top=$(json "'%6u  r %+.4f' % (d['matches'][0]['top'][0]['neuron'], d['matches'][0]['top'][0]['r'])" \
		similarity $D --model cnn --layer conv1 --with cnn_early.conv1 --neuron "$nrn" --abs --filter "gt == 3" --json)
	expect "neuron $nrn's best match over the filter is similarity --filter's ($top)" "$top"
else
	no "the neuron pane's neuron is named"
fi
# a new filter typed while the view is open: the view follows it
keys :
type_text "filter gt == 4"
keys Enter
want4=$(count "gt == 4")
expect "a :filter typed in U recomputes the CKA over the new filter's $want4 instances" \
	"linear CKA over $want4 filtered instances"
keys q
keys :
type_text "filter"
keys Enter
expect "the filter is cleared" "899/899"

echo "== digits at 80x24"
start C.UTF-8 80 24 "$D"
expect "the TUI opens" "899/899"
for v in "T:Agreement of every pair" "F:Calibration of models" "X:Distances between classes" "U:Linear CKA"; do
	keys "${v%%:*}"
	expect "${v%%:*} opens at 80x24" "${v#*:}"
	keys q
	expect_not "and closes" "${v#*:}"
done
keys T
k=$(pair $D cnn cnn_early agreement .3f)
expect_re "the matrix fits 80 columns (cnn/cnn_early $k)" "^ cnn +- +$k "
keys q q
expect "q quits" "rc=0"

echo "== classes15 (15 classes) at 160x45"
start C.UTF-8 160 45 "$C15"
expect "the TUI opens" "300/300"
keys T
ag=$(pair $C15 good poor agreement .4f)
expect "good/poor agreement is report's ($ag)" "A good, B poor: agreement $ag"
keys q X
cl=$(json "'%.4f %s - %s' % (d['closest'][0]['distance'], d['closest'][0]['a'], d['closest'][0]['b'])" classes $C15 --model good --json)
expect "the closest of 105 pairs is classes' ($cl)" "$cl"
ord=$(json "' '.join(d['classes'][i][-2:] for i in d['order'][:3])" classes $C15 --model good --json)
expect_re "15 columns in the core's order (first: $ord)" "^ +[^ ]*$(echo "$ord" | sed 's/ / +[^ ]*/g')"
keys q F
ece=$(json "format(next(m for m in d['models'] if m['name'] == 'good')['ece'], '.4f')" calibration $C15 --json)
expect "good's ECE ($ece)" "A good  ECE $ece"
keys q U
expect "U: one layer" "1 good.fc1"
expect "B has no activations: said" "model B (poor) has no layer activations"
keys q

echo "== classes15 at 100x30: the class names stay apart where the room is short"
start C.UTF-8 100 30 "$C15"
expect "the TUI opens" "300/300"
keys X
expect "X opens at 100x30" "Distances between classes"
expect "at 100 columns the header's keys are not cut" "m: next model   v: layout"
# the list beside the matrix has room for the part of the names after their shared "class-"
# (cut to their width they all read "class…" or "…"); 3 decimals there
short=$(json "'%.3f %s-%s' % (d['closest'][0]['distance'], d['closest'][0]['a'][len('class-'):], d['closest'][0]['b'][len('class-'):])" classes $C15 --model good --json)
expect_re "the closest pair in the list reads $short" " $short\$"
for m in good poor; do
	c1=$(json "'%.4f %s - %s' % (d['closest'][0]['distance'], d['closest'][0]['a'], d['closest'][0]['b'])" classes $C15 --model $m --json)
	expect_re "under the matrix, $m's closest pair by its full names ($c1)" "^ $m +$c1( |\$)"
done
if screen | grep -q '… - …\|…-…'; then no "no pair is drawn as … - …"; else ok "no pair is drawn as … - …"; fi
keys q q
expect "q quits" "rc=0"

echo "== classes15 at 80x24"
start C.UTF-8 80 24 "$C15"
expect "the TUI opens" "300/300"
keys X
expect "X opens at 80x24" "Distances between classes"
expect "the 15 x 15 matrix fills the width; it says where the rest is" "press v"
keys v
expect "v: the layout and the closest pairs" "closest pairs"
expect "the closest pair is classes' ($cl)" "$cl"
keys q q
expect "q quits" "rc=0"

echo "== the views' keys are listed by ? and rebound by [keys]"
mkdir -p "$TMP/config/nncmp"
printf '[keys]\nagreement.stat = T\ncalibration.left-model = L\n' >"$TMP/config/nncmp/config.ini"
start C.UTF-8 160 45 "$D"
expect "the TUI opens" "899/899"
keys T
expect "T opens the matrix" "agreement between every pair"
keys '?'
expect_re "? lists the matrix's own keys by their names" "T +agreement\.stat"
keys q
expect_not "the help closes" "agreement.stat"
keys c
sleep 0.5
if screen | grep -qF "agreement between every pair"; then ok "c (the old default) no longer changes the statistic"; else no "c changed the statistic"; fi
keys T
expect "T does" "Cohen's kappa between every pair"
keys q F
expect "F opens calibration" "A cnn  ECE"
keys L
expect "L: the next model with confidence on the left" "A cnn_early  ECE"
keys q q
expect "q quits" "rc=0"

finish manyviews

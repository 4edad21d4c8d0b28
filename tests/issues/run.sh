#!/bin/sh
# `nncmp issues` from the command line: help, one-line errors with exit 2, the JSON shape, the
# ranking against the NumPy oracle (tests/data/issues/, tools/make_issue_fixtures.py), --top
# within and beyond the flagged count, estimated_errors, --filter, knn, mix, and no raw escape
# sequences on the terminal.
# (Scores, flagged sets and the precision/recall table against the injected errors are checked
# in tests/unit/test_issues.c.)
# Usage: tests/issues/run.sh ./nncmp     (from the top of the tree)
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
DIGITS=demo-data/digits
FORTUNES=demo-data/fortunes
TMP=$(mktemp -d /tmp/nncmp-issues-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0

. tests/cli_lib.sh

# errors are one line on stderr, exit 2, nothing on stdout; NEEDLE in the line
one_line_error() {
	needle=$1
	shift
	out=$("$@" 2>"$TMP/err")
	st=$?
	lines=$(wc -l <"$TMP/err")
	if [ $st -ne 2 ] || [ "$lines" -ne 1 ] || [ -n "$out" ]; then
		bad "$* -> exit $st, $lines stderr lines, stdout '$out'"
	elif ! grep -qF -- "$needle" "$TMP/err"; then
		bad "$* -> error lacks '$needle': $(cat "$TMP/err")"
	else
		ok
	fi
}

# the indices of a JSON answer, comma-separated
indices() { grep -o '"index":[0-9]*' | sed 's/.*://' | paste -sd, -; }

expect 0 "usage: nncmp issues" -- "$NNCMP" issues --help
expect 2 "no study given" -- "$NNCMP" issues
expect 2 "one study expected" -- "$NNCMP" issues $DIGITS $DIGITS
one_line_error "unknown option '--nope'" "$NNCMP" issues $DIGITS --nope
one_line_error "unknown method 'cleanlab'" "$NNCMP" issues $DIGITS --method cleanlab
one_line_error "no model 'nosuch'" "$NNCMP" issues $DIGITS --model nosuch
one_line_error "model knn has only predictions" "$NNCMP" issues $DIGITS --model knn --method cl
one_line_error "--top wants a count" "$NNCMP" issues $DIGITS --top -1
one_line_error "--k wants" "$NNCMP" issues $DIGITS --method knn --k 0
one_line_error "no layer 'cnn.nosuch'" "$NNCMP" issues $DIGITS --method knn --layer cnn.nosuch
one_line_error "" "$NNCMP" issues /nonexistent/study
expect 2 "filter: unknown name" -- "$NNCMP" issues $DIGITS --filter 'cnnn != gt'
# a study without activations has no layer for knn
mkdir -p "$TMP/noact/models/cnn"
cp $DIGITS/labels.npy $DIGITS/classes.txt "$TMP/noact/"
cp $DIGITS/models/cnn/probs.npy "$TMP/noact/models/cnn/"
one_line_error "no layer has activations" "$NNCMP" issues "$TMP/noact" --method knn
expect 0 "method cl (confident learning)" -- "$NNCMP" issues "$TMP/noact" --method cl
# without layers the default mix is the mean ranking alone
a=$("$NNCMP" issues "$TMP/noact" --json --top 0 | indices)
b=$("$NNCMP" issues "$TMP/noact" --method mean --json --top 0 | indices)
[ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "mix without layers differs from mean"
expect 0 '"layers_mixed":0,"layers_dropped":0' -- "$NNCMP" issues "$TMP/noact" --json --top 1

# text: the header, then the table
# the count and layers of mix over all models, from the NumPy oracle
mixc=$(jq '[.cases[] | select(.method == "mix" and .model == null and .exclude == null and .labels == null)][0].expect' tests/data/issues/demo_digits.json)
mixn=$(echo "$mixc" | jq .count)
mixl=$(echo "$mixc" | jq .layers_mixed)
mixw=$(echo "$mixc" | jq .mix_weight)
mixfirst=$(echo "$mixc" | jq '.order[0]')
# each model's weight, in study order (the digits models with probabilities: cnn, cnn_early, mlp)
set -- $(echo "$mixc" | jq -r '.model_weights[]')
mixm=$(printf ' cnn %.2f cnn_early %.2f mlp %.2f' "$1" "$2" "$3")
expect 0 "method mix (models and neighbour labels, weighted by fit, $mixl layers, vote weight $(printf %.2f "$mixw"), model weights$mixm): $mixn of 899 instances flagged; the first 20" -- \
	"$NNCMP" issues $DIGITS
expect 0 "method cl (confident learning): 20 of 899 instances flagged" -- \
	"$NNCMP" issues $DIGITS --method cl
expect 0 "method cl (confident learning): 20 of 899 instances flagged; then the best 2 unflagged" -- \
	"$NNCMP" issues $DIGITS --method cl --top 22
expect 0 "rank   index  id" -- "$NNCMP" issues $DIGITS --top 3
expect 0 "  flagged" -- "$NNCMP" issues $DIGITS --top 3
expect 0 "method consensus (consensus of models, model knn)" -- \
	"$NNCMP" issues $DIGITS --method consensus --model knn

# JSON: the shape, and the order of the NumPy oracle (the first case of each file is cl over
# all models)
expect 0 '{"method":"cl","count":20,"estimated_errors":20,"issues":[{"index":480,"id":"digit-00957","label":"1","suggested":"0","score":' -- \
	"$NNCMP" issues $DIGITS --method cl --json --top 1
expect 0 '{"method":"mix","count":'$mixn',"estimated_errors":'$mixn',"layers_mixed":'$mixl',"layers_dropped":0,"layers_over_limit":0,"mix_weight":' -- \
	"$NNCMP" issues $DIGITS --json --top 1
# the vote's weight and the first suspect are the oracle's
got=$("$NNCMP" issues $DIGITS --json --top 1 | jq -r '"\(.mix_weight) \(.issues[0].index)"')
[ "$got" = "$(echo "$mixc" | jq -r '"\(.mix_weight) \(.order[0])"')" ] && ok ||
	bad "mix weight and first suspect $got differ from the oracle's"
for study in digits fortunes; do
	want=$(grep -o '"order":\[[0-9,]*\]' tests/data/issues/demo_$study.json | head -1 |
		sed 's/"order":\[//; s/\]//')
	got=$("$NNCMP" issues demo-data/$study --method cl --json --top 0 | indices)
	[ -n "$got" ] && [ "$got" = "$want" ] && ok || bad "$study: cl order differs from NumPy's"
done

# --top K beyond the flagged count, against the oracle value by value: the flagged entries
# first, then the rest in rank order, each with its flag, score, suggestion; count and
# estimated_errors (cl: the calibrated confident joint off the diagonal)
PY=/usr/bin/python3
for study in digits fortunes; do
	for m in cl mean mix margin consensus; do
		for k in 0 5 150 400; do
			"$NNCMP" issues demo-data/$study --method $m --json --top $k >"$TMP/top.json"
			if msg=$($PY tests/issues/check_top.py "$TMP/top.json" \
				tests/data/issues/demo_$study.json $m $k); then
				ok
			else
				bad "$study --method $m --top $k: $msg"
			fi
		done
	done
done

# --top: the first K; 0 = every flagged instance; K above the study's size: every instance
n=$("$NNCMP" issues $DIGITS --method margin --json --top 0 | indices | tr ',' '\n' | wc -l)
c=$("$NNCMP" issues $DIGITS --method margin --json --top 1 | sed 's/.*"count":\([0-9]*\),.*/\1/')
[ "$n" = "$c" ] && [ "$n" -gt 20 ] && ok || bad "--top 0 printed $n of $c"
n=$("$NNCMP" issues $DIGITS --method margin --json | indices | tr ',' '\n' | wc -l)
[ "$n" = 20 ] && ok || bad "the default --top printed $n, not 20"
n=$("$NNCMP" issues $DIGITS --method cl --json --top 5000 | indices | tr ',' '\n' | wc -l)
[ "$n" = 899 ] && ok || bad "--top 5000 printed $n of 899"
# the guard: a layer whose vote agrees with the given labels far more than the models do
expect 0 '"layers_mixed":1,"layers_dropped":1' -- \
	"$NNCMP" issues tests/data/issues/small --json --top 1
smallw=$(jq '[.cases[] | select(.method == "mix" and .model == null and .exclude == null and .labels == null)][0].expect.mix_weight' tests/data/issues/small.json)
set -- $(jq -r '[.cases[] | select(.method == "mix" and .model == null and .exclude == null and .labels == null)][0].expect.model_weights[]' tests/data/issues/small.json)
expect 0 "1 layer, vote weight $(printf %.2f "$smallw"), model weights a $(printf %.2f "$1") b $(printf %.2f "$2"), 1 left out by the guard" -- "$NNCMP" issues tests/data/issues/small --top 1

# --filter lists only matching flagged instances, counted
out=$("$NNCMP" issues $DIGITS --method iies --filter 'gt == 5' --json --top 0)
labels=$(printf '%s' "$out" | grep -o '"label":"[^"]*"' | sort -u)
[ "$labels" = '"label":"5"' ] && ok || bad "--filter 'gt == 5' listed labels $labels"
# beyond the flagged ones that match, the next matching instances follow, unflagged
out=$("$NNCMP" issues $DIGITS --method cl --filter 'gt == 5' --json --top 30)
labels=$(printf '%s' "$out" | grep -o '"label":"[^"]*"' | sort -u)
c=$(printf '%s' "$out" | sed 's/.*"count":\([0-9]*\),.*/\1/')
f=$(printf '%s' "$out" | grep -o '"flagged":true' | wc -l)
n=$(printf '%s' "$out" | indices | tr ',' '\n' | wc -l)
[ "$labels" = '"label":"5"' ] && [ "$n" = 30 ] && [ "$f" = "$c" ] && ok ||
	bad "--filter 'gt == 5' --top 30: labels $labels, $n entries, $f flagged of count $c"

# knn and consensus run on both demo studies
for m in knn consensus margin iies mean mix; do
	expect 0 "\"method\":\"$m\"" -- "$NNCMP" issues $DIGITS --method $m --json --top 2
	expect 0 "\"method\":\"$m\"" -- "$NNCMP" issues $FORTUNES --method $m --json --top 2
done
expect 0 '"method":"knn"' -- "$NNCMP" issues $DIGITS --method knn --layer mlp.fc1 --k 5 --json

# a neighbour search over the work limit (N² × neurons > 2.5e12): mix leaves the layer out and
# says so, knn refuses it (exit 2), neither reads it. The layer is a sparse file of zeros.
big=$TMP/big
mkdir -p "$big/models/m/act"
/usr/bin/python3 - "$big" <<'PY'
import sys, numpy as np
from numpy.lib import format as f
d, n, h = sys.argv[1], 100000, 256
np.save(d + "/labels.npy", (np.arange(n) % 2).astype(np.int32))
p = np.full((n, 2), 0.25, np.float32)
p[np.arange(n), np.arange(n) % 2] = 0.75
np.save(d + "/models/m/probs.npy", p)
with open(d + "/models/m/act/fc.npy", "wb") as fh:
    f.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (n, h)})
    fh.truncate(fh.tell() + n * h * 4)
PY
printf 'even\nodd\n' >"$big/classes.txt"
out=$("$NNCMP" issues "$big" --json --top 1)
[ "$(printf '%s' "$out" | jq -c '[.layers_mixed, .layers_over_limit, .method]')" = '[0,1,"mix"]' ] && ok ||
	bad "mix over the work limit: $out"
expect 0 "1 left out: N² × neurons over 2.5e+12 multiply-adds" -- "$NNCMP" issues "$big" --top 1
one_line_error "100000 instances × 256 neurons is refused" "$NNCMP" issues "$big" --method knn

# untrusted text never reaches the terminal raw
"$NNCMP" issues $FORTUNES --top 0 >"$TMP/out"
if grep -q "$(printf '\033')" "$TMP/out"; then bad "raw ESC in issues output"; else ok; fi

echo "issues: $pass passed, $fail failed"
[ $fail -eq 0 ]

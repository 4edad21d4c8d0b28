#!/bin/sh
# `nncmp issues` from the command line: help, one-line errors with exit 2, the JSON shape, the
# ranking against the NumPy oracle (tests/data/issues/, tools/make_issue_fixtures.py), --top,
# --filter, knn, and no raw escape sequences on the terminal.
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
expect 0 "method cl (confident learning)" -- "$NNCMP" issues "$TMP/noact"

# text: the header, then the table
expect 0 "method cl (confident learning): 18 of 899 instances flagged" -- "$NNCMP" issues $DIGITS
expect 0 "rank   index  id" -- "$NNCMP" issues $DIGITS --top 3
expect 0 "method consensus (consensus of models, model knn)" -- \
	"$NNCMP" issues $DIGITS --method consensus --model knn

# JSON: the shape, and the order of the NumPy oracle (the first case of each file is the
# default cl over all models)
expect 0 '{"method":"cl","count":18,"issues":[{"index":480,"id":"digit-00957","label":"1","suggested":"0","score":' -- \
	"$NNCMP" issues $DIGITS --json --top 1
for study in digits fortunes; do
	want=$(grep -o '"order":\[[0-9,]*\]' tests/data/issues/demo_$study.json | head -1 |
		sed 's/"order":\[//; s/\]//')
	got=$("$NNCMP" issues demo-data/$study --json --top 0 | indices)
	[ -n "$got" ] && [ "$got" = "$want" ] && ok || bad "$study: cl order differs from NumPy's"
done

# --top: the first K; 0 = every flagged instance
n=$("$NNCMP" issues $DIGITS --method margin --json --top 0 | indices | tr ',' '\n' | wc -l)
c=$("$NNCMP" issues $DIGITS --method margin --json --top 1 | sed 's/.*"count":\([0-9]*\).*/\1/')
[ "$n" = "$c" ] && [ "$n" -gt 20 ] && ok || bad "--top 0 printed $n of $c"
n=$("$NNCMP" issues $DIGITS --method margin --json | indices | tr ',' '\n' | wc -l)
[ "$n" = 20 ] && ok || bad "the default --top printed $n, not 20"

# --filter lists only matching flagged instances, counted
out=$("$NNCMP" issues $DIGITS --method iies --filter 'gt == 5' --json --top 0)
labels=$(printf '%s' "$out" | grep -o '"label":"[^"]*"' | sort -u)
[ "$labels" = '"label":"5"' ] && ok || bad "--filter 'gt == 5' listed labels $labels"

# knn and consensus run on both demo studies
for m in knn consensus margin iies; do
	expect 0 "\"method\":\"$m\"" -- "$NNCMP" issues $DIGITS --method $m --json --top 2
	expect 0 "\"method\":\"$m\"" -- "$NNCMP" issues $FORTUNES --method $m --json --top 2
done
expect 0 '"method":"knn"' -- "$NNCMP" issues $DIGITS --method knn --layer mlp.fc1 --k 5 --json

# untrusted text never reaches the terminal raw
"$NNCMP" issues $FORTUNES --top 0 >"$TMP/out"
if grep -q "$(printf '\033')" "$TMP/out"; then bad "raw ESC in issues output"; else ok; fi

echo "issues: $pass passed, $fail failed"
[ $fail -eq 0 ]

#!/bin/sh
# `nncmp words`, `nncmp overview` and `report --json`'s class_spread: values against NumPy
# (oracle.py, which runs nncmp with --no-journal, and applies a journal of its own on a copy),
# then exit statuses, one-line errors and the text output on studies not built for them.
# Usage: tests/core/run.sh ./nncmp     (from the top of the tree)
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
DIGITS=demo-data/digits
FORTUNES=demo-data/fortunes
C15=tests/data/classes15
pass=0
fail=0
. tests/cli_lib.sh

if /usr/bin/python3 tests/core/oracle.py "$NNCMP" $DIGITS $FORTUNES $C15; then ok; else bad "oracle.py"; fi

expect 2 "nncmp words: digits: the study has no texts" -- "$NNCMP" words $DIGITS
expect 2 "--min wants a count of at least 1" -- "$NNCMP" words $FORTUNES --min 0
expect 2 "--by wants lift or count" -- "$NNCMP" words $FORTUNES --by size
expect 2 "--top wants" -- "$NNCMP" words $FORTUNES --top x
expect 2 "filter: unknown name" -- "$NNCMP" words $FORTUNES --filter 'nosuch == 1'
expect 2 "no study given" -- "$NNCMP" words
expect 2 "one study expected" -- "$NNCMP" words $FORTUNES $FORTUNES
expect 0 "usage: nncmp words" -- "$NNCMP" words --help
expect 0 "920 of 920 instances; words in at least 3 of their texts, stop words hidden; by count" \
	-- "$NNCMP" words $FORTUNES --top 3
expect 0 "stardate" -- "$NNCMP" words $FORTUNES --filter 'gt == startrek' --by count --top 3
expect 0 "no word reaches the minimum support" -- "$NNCMP" words $FORTUNES --filter 'index < 0'
# texts with newlines and tabs (classes15): words across them, one line per word in the table
n=$("$NNCMP" words $C15 --min 1 | wc -l)
j=$("$NNCMP" words $C15 --min 1 --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["words"]))')
[ "$n" -eq $((j + 2)) ] && ok || bad "words classes15: $n text lines for $j words"
expect 2 "no model 'nope'" -- "$NNCMP" overview $DIGITS --model nope
expect 2 "unknown option '--bogus'" -- "$NNCMP" overview $DIGITS --bogus
expect 0 "usage: nncmp overview" -- "$NNCMP" overview --help
# the default model is the first one (the TUI's model A)
a=$("$NNCMP" overview $DIGITS --json)
b=$("$NNCMP" overview $DIGITS --model cnn --json)
[ "$a" = "$b" ] && ok || bad "overview without --model is not the first model's"
# a mostly wrong model: 218 of 300
expect 0 "poor: 218 of 300 instances misclassified" -- "$NNCMP" overview $C15 --model poor
# a model named like a keyword in another case could never be named in a filter: refused
TMP=$(mktemp -d)
cp -r $C15 "$TMP/s" && rm -f "$TMP/s/nncmp-journal.jsonl" && mv "$TMP/s/models/poor" "$TMP/s/models/And"
expect 2 "model name 'And' is reserved by the filter language" -- "$NNCMP" overview "$TMP/s"
rm -rf "$TMP"
# errors are one line
for args in "words $DIGITS" "overview $DIGITS --model nope" "overview /nonexistent" "words /nonexistent"; do
	n=$("$NNCMP" $args 2>&1 >/dev/null | wc -l)
	[ "$n" -eq 1 ] && ok || bad "$args: $n stderr lines"
done

echo "core: $pass passed, $fail failed"
[ $fail -eq 0 ]

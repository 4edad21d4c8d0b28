#!/bin/sh
# `nncmp report --html/--markdown`: one self-contained file, checked by tests/report/check_doc.py
# (Python's html.parser, PIL for the PNGs) against report --json, issues --json and a journal
# written here; atomic writes that refuse to overwrite without --force.
# Usage: tests/report/run.sh ./nncmp     (from the top of the tree)
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
export NNCMP
DIGITS=demo-data/digits
TMP=$(mktemp -d /tmp/nncmp-report-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
. tests/cli_lib.sh
PY=/usr/bin/python3

expect 0 "wrote $TMP/d.html (HTML, 24 images)" -- "$NNCMP" report $DIGITS --html "$TMP/d.html"
if $PY tests/report/check_doc.py "$TMP/d.html" $DIGITS; then ok; else bad "check_doc.py digits"; fi
# refuses to overwrite, says so in one line, leaves the file and no temporary behind
cp "$TMP/d.html" "$TMP/d.keep"
expect 2 "exists (--force replaces it)" -- "$NNCMP" report $DIGITS --html "$TMP/d.html" --filter 'gt == 1'
n=$("$NNCMP" report $DIGITS --html "$TMP/d.html" 2>&1 >/dev/null | wc -l)
[ "$n" -eq 1 ] && ok || bad "refusal: $n stderr lines"
cmp -s "$TMP/d.html" "$TMP/d.keep" && ok || bad "a refused report changed the file"
expect 0 "wrote" -- "$NNCMP" report $DIGITS --html "$TMP/d.html" --force --filter 'gt == 1'
grep -q '899 instances, 90 match the filter gt == 1' "$TMP/d.html" && ok || bad "--force did not replace"
[ "$(ls -A "$TMP" | grep -c '\.tmp$')" -eq 0 ] && ok || bad "temporary left: $(ls -A "$TMP")"
expect 2 "exclude each other" -- "$NNCMP" report $DIGITS --html "$TMP/x.html" --json
expect 2 "No such file or directory" -- "$NNCMP" report $DIGITS --html "$TMP/nodir/x.html"

# a filter's report: its figures are report --json --filter's, its suspects the filter's
# (`issues --filter`: scored over every instance, listed among the filter's)
expect 0 "wrote" -- "$NNCMP" report $DIGITS --html "$TMP/g3.html" --filter 'gt == 3'
if FILTER='gt == 3' $PY tests/report/check_doc.py "$TMP/g3.html" $DIGITS; then ok; else bad "check_doc.py digits --filter 'gt == 3'"; fi
# how many mix flags, and how many of them are labelled 3: from the NumPy oracle
# (tests/data/issues/demo_digits.json, tools/make_issue_fixtures.py)
flagged=$($PY -c '
import json, numpy as np
c = [c for c in json.load(open("tests/data/issues/demo_digits.json"))["cases"]
     if c["method"] == "mix" and c["model"] is None and c["exclude"] is None and c["labels"] is None][0]
y = np.load("'$DIGITS'/labels.npy")
print(c["expect"]["count"], int(sum(y[i] == 3 for i in c["expect"]["flagged"])))')
read -r n_flagged n_in3 <<EOF
$flagged
EOF
grep -q "Top suspects of the filter (label issues, method mix: $n_flagged flagged, $n_in3 of them in the filter)" "$TMP/g3.html" &&
	ok || bad "the suspects' heading does not say how many flagged are in the filter (oracle: $n_flagged, $n_in3)"

# Markdown: the same sections, PNG data: URIs, nothing from the network
expect 0 "Markdown, 24 images" -- "$NNCMP" report $DIGITS --markdown "$TMP/d.md"
for s in '## Models' '## Significance of each pair' '## Agreement per class' '## Confusion' \
	'## Top suspects' '## Triage decisions'; do
	grep -qF -- "$s" "$TMP/d.md" && ok || bad "d.md lacks '$s'"
done
[ "$(grep -o '](data:image/png;base64,[A-Za-z0-9+/=]*)' "$TMP/d.md" | wc -l)" -eq 24 ] && ok ||
	bad "d.md: not 24 PNG data: URIs"
grep -qiE 'https?:' "$TMP/d.md" && bad "d.md has a network reference" || ok

# texts: fortunes has no images, its texts are escaped
expect 0 "HTML, 0 images" -- "$NNCMP" report demo-data/fortunes --html "$TMP/f.html"
if $PY tests/report/check_doc.py "$TMP/f.html" demo-data/fortunes; then ok; else bad "check_doc.py fortunes"; fi

# a class name with markup in it, and a journal with one decision of each kind
S=$TMP/digits
cp -r $DIGITS "$S"
WEIRD='<b>&"three'
awk -v w="$WEIRD" 'NR == 4 { print w; next } { print }' $DIGITS/classes.txt >"$S/classes.txt"
T=2026-12-01T00:00:00Z
$PY - "$S" "$T" <<'PYEOF'
import json, sys
s, t = sys.argv[1], sys.argv[2]
classes = open(s + "/classes.txt").read().splitlines()
lines = [{"v": 1, "type": "header", "study": "digits", "n": 899, "n_classes": 10,
          "classes": classes, "created": t}]
for seq, (i, a, old, new) in enumerate([(406, "relabel", 5, 1), (182, "remove", 0, -1),
                                        (57, "keep", 0, 0)], 1):
    lines.append({"v": 1, "seq": seq, "time": t, "batch": seq, "size": 1, "index": i,
                  "action": a, "old": old, "new": new})
open(s + "/nncmp-journal.jsonl", "w").write("".join(json.dumps(l) + "\n" for l in lines))
PYEOF
expect 0 "wrote" -- "$NNCMP" report "$S" --html "$TMP/w.html"
if DECIDED="57:kept,182:removed,406:relabelled" $PY tests/report/check_doc.py "$TMP/w.html" "$S" "$WEIRD"; then
	ok
else
	bad "check_doc.py on the study with '$WEIRD' and a journal"
fi

echo "report: $pass passed, $fail failed"
[ $fail -eq 0 ]

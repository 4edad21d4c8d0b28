#!/bin/sh
# `nncmp dups` against the pairs NumPy found by brute force (tests/data/dups/expected.json,
# written by tools/make_dups_fixtures.py): every configuration through the CLI's JSON, the same
# pairs, most similar first, cosines to 1e-5; then usage and bad input (exit 2, one line).
# Usage: tests/dups/run.sh ./nncmp     (from the top of the tree; needs /usr/bin/python3)
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
DATA=tests/data/dups
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/nncmp-dups-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# the configurations of expected.json, one per line: index source any across threshold
"$PY" - "$DATA/expected.json" >"$TMP/configs" <<'EOF'
import json, sys
for i, c in enumerate(json.load(open(sys.argv[1]))["configs"]):
    print(i, c["source"], int(c["any_class"]), int(c["across_splits"]), c["threshold"])
EOF
while read -r i src any across thr; do
	set -- dups "$DATA" --threshold "$thr" --top 0 --json
	if [ "$src" = pixels ]; then set -- "$@" --pixels --size 8 --model m; else set -- "$@" --layer "$src"; fi
	[ "$any" = 1 ] && set -- "$@" --any-class
	[ "$across" = 1 ] && set -- "$@" --across-splits
	if ! "$NNCMP" "$@" >"$TMP/out.json" 2>"$TMP/err"; then
		bad "nncmp $* -> exit $?: $(head -1 "$TMP/err")"
		continue
	fi
	if msg=$("$PY" - "$DATA/expected.json" "$i" "$TMP/out.json" <<'EOF'
import json, os, sys
import numpy as np
lab = np.load(os.path.join(os.path.dirname(sys.argv[1]), "labels.npy"))
want = json.load(open(sys.argv[1]))["configs"][int(sys.argv[2])]
got = json.load(open(sys.argv[3]))
problems = []
if got["count"] != want["count"]:
    problems.append("count %d, want %d" % (got["count"], want["count"]))
for k in ("zero", "nonfinite", "no_split", "no_image"):
    if got["left_out"][k] != want[k]:
        problems.append("%s %d, want %d" % (k, got["left_out"][k], want[k]))
# the same pairs, most similar first (pairs that tie to rounding, exact copies, in any order)
gp = sorted((p["a"], p["b"]) for p in got["pairs"])
wp = sorted((p[0], p[1]) for p in want["pairs"])
cos = [p["cosine"] for p in got["pairs"]]
if gp != wp:
    problems.append("pairs %s, want %s" % (gp, wp))
elif any(b > a for a, b in zip(cos, cos[1:])):
    problems.append("not most similar first: %s" % cos)
else:
    order = {(p[0], p[1]): p for p in want["pairs"]}
    for p in got["pairs"]:
        w = order[(p["a"], p["b"])]
        if abs(p["cosine"] - w[2]) > 1e-5:
            problems.append("cosine of %s: %r, want %r" % ((w[0], w[1]), p["cosine"], w[2]))
        if p["id_a"] != "s%03d" % w[0] or p["id_b"] != "s%03d" % w[1]:
            problems.append("ids of %s: %s %s" % ((w[0], w[1]), p["id_a"], p["id_b"]))
        la, lb = "c%d" % lab[w[0]], "c%d" % lab[w[1]]
        if (p["label_a"], p["label_b"], p["labels_differ"]) != (la, lb, la != lb):
            problems.append("labels of %s" % ((w[0], w[1]),))
print("; ".join(problems)[:600])
sys.exit(1 if problems else 0)
EOF
	); then
		ok
	else
		bad "nncmp $*: $msg"
	fi
done <"$TMP/configs"

# text output: the header, the count and the mark of differing labels
out=$("$NNCMP" dups "$DATA" --layer fc --top 3 2>&1)
case $out in
*"near-duplicates in m.fc: cosine >= 0.995, same class predicted by m"*"19 pairs, the 3 most similar shown"*" *"*) ok ;;
*) bad "text output: $out" ;;
esac

# expect STATUS NEEDLE CMD...: exit status and NEEDLE in stdout+stderr
expect() {
	want=$1 needle=$2
	shift 2
	out=$("$@" 2>&1)
	got=$?
	if [ "$got" != "$want" ]; then
		bad "$* -> exit $got, want $want: $(printf '%s' "$out" | head -2)"
	elif ! printf '%s' "$out" | grep -qF -- "$needle"; then
		bad "$* -> output lacks '$needle': $(printf '%s' "$out" | head -2)"
	else
		ok
	fi
}
# errors: exit 2, one line on stderr, nothing on stdout
one_line_error() {
	out=$("$@" 2>"$TMP/err")
	st=$?
	lines=$(wc -l <"$TMP/err")
	if [ $st -ne 2 ] || [ "$lines" -ne 1 ] || [ -n "$out" ]; then
		bad "$* -> exit $st, $lines stderr lines, stdout '$out'"
	else
		ok
	fi
}
expect 0 "usage: nncmp dups" "$NNCMP" dups --help
expect 2 "--layer L or --pixels is required" "$NNCMP" dups "$DATA"
expect 2 "exclude each other" "$NNCMP" dups "$DATA" --layer fc --pixels
expect 2 "--threshold wants a cosine" "$NNCMP" dups "$DATA" --layer fc --threshold 1.5
expect 2 "--threshold wants a cosine" "$NNCMP" dups "$DATA" --layer fc --threshold nan
expect 2 "--top wants a count" "$NNCMP" dups "$DATA" --layer fc --top -1
expect 2 "--size goes with --pixels" "$NNCMP" dups "$DATA" --layer fc --size 8
expect 2 "no model of" "$NNCMP" dups "$DATA" --layer nosuch
expect 2 "no model 'x'" "$NNCMP" dups "$DATA" --layer fc --model x
expect 2 "no model 'x'" "$NNCMP" dups "$DATA" --pixels --model x
for args in "--layer fc --threshold 2" "--layer nosuch" "--pixels --model x" "--frobnicate"; do
	# shellcheck disable=SC2086
	one_line_error "$NNCMP" dups "$DATA" $args
done
one_line_error "$NNCMP" dups /nonexistent --layer fc

# a study without splits
mkdir -p "$TMP/nosplit/models/m/act"
cp "$DATA/labels.npy" "$TMP/nosplit/"
cp "$DATA/models/m/probs.npy" "$TMP/nosplit/models/m/"
cp "$DATA/models/m/act/fc.npy" "$TMP/nosplit/models/m/act/"
one_line_error "$NNCMP" dups "$TMP/nosplit" --layer fc --across-splits
expect 2 "no \"split\" in samples.jsonl" "$NNCMP" dups "$TMP/nosplit" --layer fc --across-splits
expect 2 "no \"image\" in samples.jsonl" "$NNCMP" dups "$TMP/nosplit" --pixels

# a layer of 0 columns: every vector is zero, so every instance is left out and no pair is kept
# (under ASan this once aborted in qsort(NULL, 0))
"$PY" -c 'import numpy as np, sys; np.save(sys.argv[1], np.zeros((len(np.load(sys.argv[2])), 0), np.float32))' \
	"$TMP/nosplit/models/m/act/empty.npy" "$DATA/labels.npy"
if "$NNCMP" dups "$TMP/nosplit" --layer empty --json >"$TMP/out.json" 2>"$TMP/err"; then
	got=$("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["count"], len(d["pairs"]), d["left_out"]["zero"])' "$TMP/out.json")
	want="0 0 $("$PY" -c 'import numpy as np, sys; print(len(np.load(sys.argv[1])))' "$DATA/labels.npy")"
	[ "$got" = "$want" ] && ok || bad "dups on a 0-column layer: count, pairs, zero = $got, want $want"
else
	bad "dups on a 0-column layer -> exit $?: $(head -3 "$TMP/err")"
fi

echo "dups: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

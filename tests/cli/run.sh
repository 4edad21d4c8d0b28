#!/bin/sh
# CLI tests: exit statuses, one-line errors naming the file, help, JSON shapes, sorting.
# Usage: tests/cli/run.sh ./nncmp     (from the top of the tree)
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
DIGITS=demo-data/digits
FORTUNES=demo-data/fortunes
TMP=$(mktemp -d /tmp/nncmp-cli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# the neuron statistics cache goes to the scratch directory, never to the user's
XDG_CACHE_HOME=$TMP/cache
export XDG_CACHE_HOME
unset NNCMP_CACHE
pass=0
fail=0

. tests/cli_lib.sh

# errors are one line on stderr and nothing on stdout
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

expect 0 "usage: nncmp" -- "$NNCMP" --help
expect 0 "nncmp 0." -- "$NNCMP" --version
expect 2 "usage: nncmp" -- "$NNCMP"
expect 2 "neither a subcommand nor a study" -- "$NNCMP" nosuchthing
expect 2 "unknown option '--frobnicate'" -- "$NNCMP" --frobnicate
for cmd in report instances check diff weights neurons profile matrix similarity project classes calibration gate words overview arch kernels patches; do
	# what a subcommand needs besides the study, so that the missing study is what it meets
	case $cmd in
	neurons | matrix | similarity | project) need="--model cnn --layer fc1" ;;
	profile) need="--model cnn --layer fc1 --index 0" ;;
	gate) need="--base cnn --new cnn" ;;
	arch) need="--model cnn" ;;
	kernels) need="--model cnn --layer conv1" ;;
	patches) need="--model cnn --layer conv2 --channel 0" ;;
	*) need= ;;
	esac
	expect 0 "usage: nncmp $cmd" -- "$NNCMP" $cmd --help
	expect 2 "no study given" -- "$NNCMP" $cmd
	expect 2 "unknown option '--nope'" -- "$NNCMP" $cmd $DIGITS --nope
	expect 2 "one study expected" -- "$NNCMP" $cmd $DIGITS $DIGITS
	one_line_error "$NNCMP" $cmd /nonexistent/study $need
done
expect 2 "--top wants a count" -- "$NNCMP" instances $DIGITS --top -3
expect 2 "--filter needs a value" -- "$NNCMP" instances $DIGITS --filter

# one option parser: every subcommand of `nncmp --help` takes --help and a study after "--",
# and says an unknown option, a missing value and a bad value in the same words, naming itself
cmds=$("$NNCMP" --help | sed -n 's/^       nncmp \([a-z][a-z]*\) .*/\1/p')
[ "$(printf '%s\n' $cmds | wc -l)" -ge 18 ] && ok || bad "nncmp --help lists $(printf '%s\n' $cmds | wc -l) subcommands: $cmds"
for cmd in $cmds; do
	expect 0 "usage: nncmp $cmd" -- "$NNCMP" $cmd --help
	out=$("$NNCMP" $cmd $DIGITS --nope 2>&1)
	[ "$out" = "nncmp $cmd: unknown option '--nope' (see 'nncmp $cmd --help')" ] && ok ||
		bad "$cmd --nope: '$out'"
	expect 2 "nncmp $cmd: no study given (see 'nncmp $cmd --help')" -- "$NNCMP" $cmd
	# README's Subcommands tables and the man page's synopsis name every subcommand
	grep -q "^| \`nncmp $cmd " README.md && ok || bad "README's Subcommands lack $cmd"
	grep -qx "\.B $cmd" doc/nncmp.1 && ok || bad "doc/nncmp.1's synopsis lacks $cmd"
done
# each usage of nncmp --help (wrapped lines joined) is README's, word for word (report has two rows)
"$NNCMP" --help | awk '
	function flush() { if (cur != "") print cur; cur = "" }
	/^       nncmp [a-z]/ { flush(); cur = $0; sub(/^ +/, "", cur); sub(/   .*$/, "", cur); next }
	/^ +\[/ && cur != "" { l = $0; sub(/^ +/, "", l); sub(/   .*$/, "", l); cur = cur " " l; next }
	{ flush() }' | grep -v '^nncmp report ' | sed 's/|/\\|/g' >"$TMP/usages"
[ "$(wc -l <"$TMP/usages")" -ge 17 ] && ok || bad "usages from nncmp --help: $(cat "$TMP/usages")"
while IFS= read -r u; do
	grep -qF "| \`$u\` |" README.md && ok || bad "README's Subcommands lack '$u' (nncmp --help)"
done <"$TMP/usages"
# the shell completions offer the same subcommands
bash_cmds=$(sed -n 's/^_nncmp_subcommands="\(.*\)"$/\1/p' completion/nncmp.bash | tr ' ' '\n' | sort)
[ "$bash_cmds" = "$(printf '%s\n' $cmds | sort)" ] && ok || bad "completion/nncmp.bash offers '$bash_cmds', nncmp --help lists '$cmds'"
for cmd in $cmds; do
	grep -q "^    '$cmd:" completion/_nncmp && ok || bad "completion/_nncmp lacks $cmd"
done
# and nothing in README's tables that --help does not list
for cmd in $(sed -n 's/^| `nncmp \([a-z][a-z]*\) .*/\1/p' README.md | sort -u); do
	printf '%s\n' $cmds | grep -qx "$cmd" && ok || bad "README lists $cmd, nncmp --help does not"
done
expect 2 "nncmp export: --out needs a value (see" -- "$NNCMP" export $DIGITS --out
expect 2 "nncmp preview: --graphics needs a value (see" -- "$NNCMP" preview $DIGITS --graphics
expect 2 "nncmp weights: --summary wants peak or mean, not 'x'" -- "$NNCMP" weights $DIGITS --model cnn --summary x
expect 2 "nncmp gate: --metric wants accuracy or macro_f1, not 'f2'" -- "$NNCMP" gate $DIGITS --base cnn --new mlp --metric f2
expect 2 "nncmp neurons: --bins wants" -- "$NNCMP" neurons $DIGITS --model cnn --layer fc1 --bins 1
expect 0 "899 instances" -- "$NNCMP" check -- $DIGITS
# matrix, similarity and project share one parser: each refuses the others' options by name
expect 2 "nncmp project: --cka belongs to 'nncmp similarity'" -- "$NNCMP" project $DIGITS --model cnn --layer fc1 --cka
expect 2 "nncmp matrix: --with belongs to 'nncmp similarity'" -- "$NNCMP" matrix $DIGITS --model cnn --layer fc1 --with fc2
expect 2 "nncmp similarity: --sort-row belongs to 'nncmp matrix'" -- "$NNCMP" similarity $DIGITS --model cnn --layer fc1 --sort-row x
expect 2 "nncmp project: one --filter at most" -- "$NNCMP" project $DIGITS --model cnn --layer fc1 --filter 'gt == 1' --filter 'gt == 2'
expect 0 "\"b\":\"mlp\"" -- "$NNCMP" diff $DIGITS --models cnn --json mlp

# the report, text and JSON; options may follow the study
expect 0 "899 instances, 10 classes" -- "$NNCMP" report $DIGITS
expect 0 "confusion matrix of cnn" -- "$NNCMP" report $DIGITS
expect 0 '"pairs":' -- "$NNCMP" report $DIGITS --json
expect 0 '"pairs":' -- "$NNCMP" report --json $FORTUNES
expect 0 "match 'cnn != gt'" -- "$NNCMP" report $DIGITS --filter 'cnn != gt'
expect 2 "filter: unknown name" -- "$NNCMP" report $DIGITS --filter 'cnnn != gt'
expect 0 "899 instances" -- "$NNCMP" $DIGITS

# instances: counts, JSON, sort order, caret under the error
expect 0 '"count":899' -- "$NNCMP" instances $DIGITS --json --top 1
n=$("$NNCMP" instances $DIGITS --filter 'cnn != gt' --json --top 0 | grep -o '"index":' | wc -l)
c=$("$NNCMP" instances $DIGITS --filter 'cnn != gt' --json --top 1 | sed 's/.*"count":\([0-9]*\).*/\1/')
[ "$n" = "$c" ] && [ "$n" -gt 0 ] && ok || bad "--top 0 printed $n of $c"
"$NNCMP" instances $DIGITS --sort 'conf(cnn)' --top 0 --json | tr '{' '\n' |
	sed -n 's/.*"cnn":\([0-9.e-]*\)[,}].*/\1/p' >"$TMP/conf"
sort -g -r "$TMP/conf" | cmp -s - "$TMP/conf" && [ -s "$TMP/conf" ] && ok || bad "--sort conf(cnn) is not descending"
"$NNCMP" instances $DIGITS --sort 'conf(cnn):asc' --top 0 --json | tr '{' '\n' |
	sed -n 's/.*"cnn":\([0-9.e-]*\)[,}].*/\1/p' >"$TMP/conf"
sort -g "$TMP/conf" | cmp -s - "$TMP/conf" && ok || bad "--sort conf(cnn):asc is not ascending"
expect 0 '"sort_value":' -- "$NNCMP" instances $DIGITS --sort 'act(cnn.fc1.27)' --json --top 2
expect 0 "sort key" -- "$NNCMP" instances $DIGITS --sort 'act(cnn.fc1.27)' --top 2
expect 2 "not a condition" -- "$NNCMP" instances $DIGITS --filter 'conf(cnn)'
expect 2 "a condition, not a value" -- "$NNCMP" instances $DIGITS --sort 'cnn == gt'
out=$("$NNCMP" instances $DIGITS --filter 'gt == 3 and cnnn == gt' 2>&1)
printf '%s\n' "$out" | tail -1 | grep -q '^ \{14\}\^$' && ok || bad "caret not under column 13: $out"
expect 0 "text" -- "$NNCMP" instances $FORTUNES --filter 'text ~ "unix"' --top 3

# escape sequences in data never reach the terminal raw
"$NNCMP" instances $FORTUNES --top 0 >"$TMP/out"
if grep -q "$(printf '\033')" "$TMP/out"; then bad "raw ESC in instances output"; else ok; fi

# broken studies: exit 2, one line naming the file
cp -r $DIGITS "$TMP/d"
head -c 2000 $DIGITS/models/cnn/probs.npy >"$TMP/d/models/cnn/probs.npy"
expect 2 "models/cnn/probs.npy: header promises" -- "$NNCMP" report "$TMP/d"
one_line_error "$NNCMP" report "$TMP/d"
cp $DIGITS/models/cnn/probs.npy "$TMP/d/models/cnn/probs.npy"
printf 'not a manifest line\n' >"$TMP/d/study.ini"
expect 2 "study.ini:1:" -- "$NNCMP" report "$TMP/d"
rm "$TMP/d/study.ini"
head -n 100 $DIGITS/samples.jsonl >"$TMP/d/samples.jsonl"
expect 2 "samples.jsonl: 100 lines, but" -- "$NNCMP" check "$TMP/d"
cp $DIGITS/samples.jsonl "$TMP/d/samples.jsonl"
expect 0 "ok" -- "$NNCMP" check "$TMP/d"
expect 0 '"layers":' -- "$NNCMP" check "$TMP/d" --json

# weights and snapshot comparison
expect 0 "cnn / fc2: weights (10, 64)" -- "$NNCMP" weights $DIGITS --model cnn --layer fc2
expect 0 '"grid":' -- "$NNCMP" weights $DIGITS --model cnn --layer fc1 --json
expect 2 "" -- "$NNCMP" weights $DIGITS --model nosuch --layer fc1
expect 0 "4 layers compared" -- "$NNCMP" diff $DIGITS --models cnn cnn_early
expect 0 '"layers":' -- "$NNCMP" diff $DIGITS --models cnn cnn_early --json
expect 0 "nothing to compare" -- "$NNCMP" diff $DIGITS --models cnn mlp
expect 2 "" -- "$NNCMP" diff $DIGITS --models cnn
# the demo's conv weights are (out, in, kh, kw): kernels lays them out, weights and diff read them
# as the matrix out x in*kh*kw (NumPy's reshape); every value from NumPy
"$NNCMP" kernels $DIGITS --model cnn --layer conv1 --json >"$TMP/k1.json" &&
	"$NNCMP" kernels $DIGITS --model cnn --layer conv2 --vs cnn_early --json >"$TMP/k2.json" &&
	"$NNCMP" weights $DIGITS --model cnn --layer conv2 --grid 16x72 --json >"$TMP/w2.json" &&
	"$NNCMP" diff $DIGITS --models cnn cnn_early --layer conv2 --json >"$TMP/d2.json" &&
	/usr/bin/python3 - "$DIGITS" "$TMP" <<'PY' && ok || bad "demo conv weights (kernels, weights, diff) against NumPy"
import json, sys
import numpy as np
d, t = sys.argv[1] + "/models/", sys.argv[2] + "/"
a1 = np.load(d + "cnn/weights/conv1.npy").astype(np.float64)
a2 = np.load(d + "cnn/weights/conv2.npy").astype(np.float64)
b2 = np.load(d + "cnn_early/weights/conv2.npy").astype(np.float64)
assert a1.shape == (8, 1, 3, 3) and a2.shape == (16, 8, 3, 3), (a1.shape, a2.shape)
k1 = json.load(open(t + "k1.json"))
assert k1["shape"] == [8, 1, 3, 3] and k1["values"] == "weights"
assert np.array_equal(np.array([k["tiles"] for k in k1["kernels"]]), a1)
k2 = json.load(open(t + "k2.json"))
assert k2["values"] == "b-a" and k2["shape"] == [16, 8, 3, 3]
assert np.allclose(np.array([k["tiles"] for k in k2["kernels"]]), b2 - a2, rtol=0, atol=1e-12)
w = json.load(open(t + "w2.json"))
g = np.array(w["grid"], dtype=np.float64)
assert np.array_equal(g, a2.reshape(16, -1)), "weights grid != reshape(16, 72)"
l = json.load(open(t + "d2.json"))["layers"][0]
x, y = a2.ravel(), b2.ravel()
assert abs(l["l2"] - np.linalg.norm(x - y)) < 1e-9 and abs(l["norm_a"] - np.linalg.norm(x)) < 1e-9
den = np.abs(x) + np.abs(y)
dd = np.where(den == 0, 0, 2 * np.abs(x - y) / np.where(den == 0, 1, den))
lev = np.searchsorted([0.1, 0.5, 1.0], dd, side="right")
counts = [v["count"] for v in l["levels"]]
assert counts == np.bincount(lev, minlength=4).tolist(), (counts, np.bincount(lev))
PY

# neuron statistics and ranking
expect 0 "cnn.fc1: 899 instances, 64 neurons" -- "$NNCMP" neurons $DIGITS --model cnn --layer fc1
expect 0 "ranked by mean, highest first" -- "$NNCMP" neurons $DIGITS --model cnn --layer fc1
expect 0 '"h":64,"bins":32,"range":[' -- "$NNCMP" neurons $DIGITS --model cnn --layer fc1 --json
n=$("$NNCMP" neurons $DIGITS --model cnn --layer fc1 --json --top 5 | grep -o '"hist":\[' | wc -l)
[ "$n" = 5 ] && ok || bad "neurons --json --top 5 printed $n neurons"
expect 0 '"cached":true' -- "$NNCMP" neurons $DIGITS --model cnn --layer fc1 --json
ls "$TMP/cache/nncmp/"*.nst >/dev/null 2>&1 && ok || bad "no cache entry in \$XDG_CACHE_HOME/nncmp"
expect 0 "ranked by |d|" -- "$NNCMP" neurons $DIGITS --model cnn --layer fc1 --filter 'cnn != gt'
expect 0 '"d":' -- "$NNCMP" neurons $DIGITS --model cnn --layer fc1 --filter 'cnn != gt' --json
expect 2 "--by d compares the --filter subset" -- "$NNCMP" neurons $DIGITS --model cnn --layer fc1 --by d
expect 2 "matches no instance" -- "$NNCMP" neurons $DIGITS --model cnn --layer fc1 --filter 'gt == 42'
one_line_error "$NNCMP" neurons $DIGITS --model cnn --layer fc1 --filter 'gt == 42'
expect 2 "filter: unknown name" -- "$NNCMP" neurons $DIGITS --model cnn --layer fc1 --filter 'cnnn != gt'
expect 2 "no model 'nosuch'" -- "$NNCMP" neurons $DIGITS --model nosuch --layer fc1
one_line_error "$NNCMP" neurons $DIGITS --model nosuch --layer fc1
expect 2 "no layer 'nosuch'" -- "$NNCMP" neurons $DIGITS --model cnn --layer nosuch
one_line_error "$NNCMP" neurons $DIGITS --model cnn --layer nosuch
expect 0 "bow.fc1: 920 instances" -- "$NNCMP" neurons $FORTUNES --model bow --layer fc1 --by std
expect 0 '"by":"dead"' -- "$NNCMP" neurons $FORTUNES --model cnn --layer conv --by dead --json

# an instance's activation profile
expect 0 "instance 5 (id digit-00010)" -- "$NNCMP" profile $DIGITS --model cnn --layer fc1 --index 5
expect 0 '"neurons":[{"index":' -- "$NNCMP" profile $DIGITS --model cnn --layer fc1 --index 5 --json
expect 2 "--index 899 is out of range" -- "$NNCMP" profile $DIGITS --model cnn --layer fc1 --index 899
one_line_error "$NNCMP" profile $DIGITS --model cnn --layer fc1 --index 899
one_line_error "$NNCMP" profile $DIGITS --model cnn --layer nosuch --index 0
expect 0 "most positive first" -- "$NNCMP" profile $FORTUNES --model bow --layer fc1 --index 0

# the subset x neuron matrix
expect 0 "mean activation per class" -- "$NNCMP" matrix $DIGITS --model cnn --layer fc1 --rows class
n=$("$NNCMP" matrix $DIGITS --model cnn --layer fc1 --rows class --json | grep -o '"means":' | wc -l)
[ "$n" = 10 ] && ok || bad "matrix --rows class --json has $n rows, want 10"
expect 0 "mean activation per filter" -- "$NNCMP" matrix $DIGITS --model cnn --layer fc1 --rows filter --filter 'cnn != gt'
expect 0 '"name":"rest"' -- "$NNCMP" matrix $DIGITS --model cnn --layer fc1 --rows filter --filter 'cnn != gt' --json
n=$("$NNCMP" matrix $DIGITS --model cnn --layer fc1 --filter 'gt == 3' --filter 'cnn == 3' --json | grep -o '"means":' | wc -l)
[ "$n" = 2 ] && ok || bad "matrix with two --filter rows has $n rows, want 2"
expect 2 "filter: unknown name" -- "$NNCMP" matrix $DIGITS --model cnn --layer fc1 --rows filter --filter 'cnnn != gt'
out=$("$NNCMP" matrix $DIGITS --model cnn --layer fc1 --filter 'gt == 3 and cnnn == gt' 2>&1)
printf '%s\n' "$out" | tail -1 | grep -q '^ \{14\}\^$' && ok || bad "matrix: caret not under column 13: $out"
expect 2 "--rows is 'class' or 'filter'" -- "$NNCMP" matrix $DIGITS --model cnn --layer fc1 --rows nope
one_line_error "$NNCMP" matrix $DIGITS --model nosuch --layer fc1
one_line_error "$NNCMP" matrix $DIGITS --model cnn --layer nosuch
expect 0 "class computers" -- "$NNCMP" matrix $FORTUNES --model cnn --layer conv --rows class

# neuron correspondence, CKA and projection
expect 0 "linear CKA: 0." -- "$NNCMP" similarity $DIGITS --model cnn --layer fc1 --with mlp.fc1 --cka
expect 0 '"cka":' -- "$NNCMP" similarity $DIGITS --model cnn --layer fc1 --with mlp.fc1 --cka --json
expect 0 "linear CKA: " -- "$NNCMP" similarity $FORTUNES --model bow --layer fc1 --with cnn.conv --cka
expect 2 "filter: unknown name" -- "$NNCMP" similarity $DIGITS --model cnn --layer fc1 --filter 'cnnn != gt'
one_line_error "$NNCMP" similarity $DIGITS --model cnn --layer fc1 --with nosuch.fc1
expect 0 '"points":[[' -- "$NNCMP" project $DIGITS --model cnn --layer fc1 --json
expect 0 "axis 1 explains" -- "$NNCMP" project $DIGITS --model cnn --layer fc1 --filter 'gt == 3'
expect 0 '"points":[[' -- "$NNCMP" project $FORTUNES --model bow --layer fc1 --json
one_line_error "$NNCMP" project $DIGITS --model cnn --layer nosuch

# class names that share a prefix: every confusion header and prediction cell stays distinct
CLASSES15=tests/data/classes15
DIGITN=$TMP/digit-n # the digits demo with classes digit-0 .. digit-9
mkdir -p "$DIGITN"
for f in "$PWD/$DIGITS"/*; do ln -s "$f" "$DIGITN/"; done
rm "$DIGITN/classes.txt"
sed 's/^/digit-/' "$DIGITS/classes.txt" >"$DIGITN/classes.txt"
# conf_heads STUDY MODEL: the header line of MODEL's confusion matrix in the text report
conf_heads() {
	"$NNCMP" report "$1" 2>/dev/null | sed -n "/^confusion matrix of $2 /{n;p;q}" |
		sed 's/^ *//; s/  */ /g'
}
heads=$(conf_heads "$DIGITN" cnn)
[ "$heads" = "0 1 2 3 4 5 6 7 8 9" ] && ok || bad "digit-N confusion headers: '$heads'"
heads=$(conf_heads $CLASSES15 good)
[ "$heads" = "00 01 02 03 04 05 06 07 08 09 10 11 12 13 14" ] && ok ||
	bad "classes15 confusion headers: '$heads'"
# headers distinct on fortunes too (cut, not stripped)
heads=$(conf_heads $FORTUNES bow)
n_distinct=$(printf '%s\n' $heads | sort -u | wc -l)
[ "$n_distinct" -eq 5 ] && ok || bad "fortunes confusion headers not distinct: '$heads'"
# a prediction cell: the distinguishing part of the name and the whole confidence
json=$("$NNCMP" instances $CLASSES15 --top 1 --json 2>/dev/null)
pred=$(printf '%s' "$json" | sed 's/.*"preds":{[^}]*"poor":"class-\([0-9]*\)".*/\1/')
conf=$(printf '%s' "$json" | sed 's/.*"conf":{[^}]*"poor":\([0-9.]*\).*/\1/')
conf=$(printf '%.2f' "$conf")
# (the cell has room for class-NN whole since confidences print whole: no need to cut)
expect 0 "*class-$pred $conf " -- "$NNCMP" instances $CLASSES15 --top 1
pred=$("$NNCMP" instances "$DIGITN" --filter 'cnn != gt' --top 1 --json 2>/dev/null |
	sed 's/.*"preds":{[^}]*"cnn":"digit-\([0-9]\)".*/\1/')
expect 0 " *digit-$pred " -- "$NNCMP" instances "$DIGITN" --filter 'cnn != gt' --top 1
# instances: each prediction's confidence whole and rounded to two decimals (not cut), checked
# against the probabilities read from the npy files (max p per row) without nncmp
for st in tests/data/classes15 $DIGITS; do
	"$NNCMP" instances $st --top 0 >"$TMP/inst.txt" 2>/dev/null
	if /usr/bin/python3 - "$st" "$TMP/inst.txt" <<'PY'; then ok; else bad "instances $st: confidences not rounded"; fi
import ast, os, struct, sys
st, out = sys.argv[1], sys.argv[2]
def npy(path):
    with open(path, "rb") as f:
        b = f.read()
    hl = struct.unpack("<H", b[8:10])[0] if b[6] == 1 else struct.unpack("<I", b[8:12])[0]
    off = 10 if b[6] == 1 else 12
    h = ast.literal_eval(b[off:off + hl].decode("latin1"))
    assert not h["fortran_order"]
    code = {"<f4": "f", "<f8": "d"}[h["descr"]]
    rows, cols = h["shape"]
    v = struct.unpack("<%d%s" % (rows * cols, code), b[off + hl:off + hl + rows * cols * struct.calcsize(code)])
    return [v[r * cols:(r + 1) * cols] for r in range(rows)]
lines = open(out, encoding="utf-8").read().split("\n")
head = next(k for k, l in enumerate(lines) if l.lstrip().startswith("index"))
names = lines[head].split()[3:]
names = names[:names.index("right")]
probs = {m: npy(os.path.join(st, "models", m, "probs.npy"))
         for m in names if os.path.exists(os.path.join(st, "models", m, "probs.npy"))}
assert probs, "no probs.npy"
seen = {"rounded up": 0, "checked": 0}
for l in lines[head + 1:]:
    t = l.split()
    if not t or not t[0].isdigit():
        continue
    i, rest = int(t[0]), t[3:]
    for m in names:
        if m not in probs:
            rest = rest[1:]
            continue
        want = "%.2f" % max(probs[m][i])
        if rest[1] != want:
            sys.exit("row %d model %s: shows %s, max p rounds to %s" % (i, m, rest[1], want))
        seen["checked"] += 1
        if "%.2f" % max(probs[m][i]) != ("%.3f" % max(probs[m][i]))[:4]:
            seen["rounded up"] += 1
        rest = rest[2:]
assert seen["checked"] > 100 and seen["rounded up"] > 0, seen
PY
done

# instances: a text on one line, each line break one mark, a tab a space, escapes as before
expect 0 'alpha bravo|charlie delta| echo foxtrot' -- env LC_ALL=C "$NNCMP" instances tests/data/classes15 --top 1
expect 0 'alpha bravo⏎charlie delta⏎ echo foxtrot' -- env LC_ALL=C.UTF-8 "$NNCMP" instances tests/data/classes15 --top 1
# many models: 10000 prediction-only models in a generated manifest (two pred files, named over
# and over). Past 16 models report compares only the pairs --pairs names; its table for a pair
# equals the one of a study of just those two models.
M=$TMP/many
mkdir -p "$M"
/usr/bin/python3 - "$M" <<'PYEOF'
import struct, sys
d = sys.argv[1]
def npy(name, vals):
    h = "{'descr': '<i8', 'fortran_order': False, 'shape': (%d,), }" % len(vals)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    open(d + "/" + name, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode()
                                     + struct.pack("<%dq" % len(vals), *vals))
npy("labels.npy", [0, 1, 2, 0, 1, 2, 0, 1])
npy("a.npy", [0, 1, 2, 0, 1, 2, 1, 0])
npy("b.npy", [0, 1, 1, 1, 1, 2, 0, 1])
with open(d + "/study.ini", "w") as f:
    f.write("[study]\nlabels = labels.npy\n")
    for i in range(10000):
        f.write("[model m%d]\npred = %s.npy\n" % (i, "ab"[i % 2]))
with open(d + "/two.ini", "w") as f:
    f.write("[study]\nlabels = labels.npy\n[model m0]\npred = a.npy\n[model m1]\npred = b.npy\n")
PYEOF
expect 0 "pairwise tables omitted for 49995000 of 49995000 pairs of models: name pairs with --pairs A:B,C:D" -- timeout 60 "$NNCMP" report "$M/study.ini"
out=$(timeout 60 "$NNCMP" report "$M/study.ini" --pairs m0:m1 --json | jq -c '[.pairs_omitted, [.pairs[] | del(.a, .b)], [.pairs[] | [.a, .b]]]')
want=$("$NNCMP" report "$M/two.ini" --json | jq -c '[49994999, [.pairs[] | del(.a, .b)], [.pairs[] | [.a, .b]]]')
[ -n "$want" ] && [ "$out" = "$want" ] && ok || bad "report --pairs m0:m1 of 10000 models: $out, want $want"
out=$(timeout 60 "$NNCMP" report "$M/study.ini" --pairs m3:m9998,m0:m1 | grep -E '^m[0-9]+ vs m[0-9]+ ' | awk '{print $1, $3, $4, $5, $6, $7}' | tr '\n' ';')
[ "$out" = "m3 m9998 4 2 2 0;m0 m1 4 2 2 0;" ] && ok || bad "report --pairs m3:m9998,m0:m1: $out"
expect 2 "--pairs: 'm0:nope' names no model 'nope'" -- "$NNCMP" report "$M/two.ini" --pairs m0:nope
expect 2 "--pairs: 'm0:m0' pairs a model with itself" -- "$NNCMP" report "$M/two.ini" --pairs m0:m0
expect 2 "--pairs: 'm0' is not MODEL:MODEL" -- "$NNCMP" report "$M/two.ini" --pairs m0
expect 2 "--pairs: 'm1:m0' is named twice" -- "$NNCMP" report "$M/two.ini" --pairs m0:m1,m1:m0
n=$("$NNCMP" report $DIGITS --json | jq '[(.pairs | length), .pairs_omitted] | tostring')
[ "$n" = '"[6,0]"' ] && ok || bad "report of 4 models: pairs and pairs_omitted $n, want [6,0]"

# names that are not UTF-8: a class name, a layer file name and the study directory's name with
# a byte 0xff, an id with a control character. JSON cannot hold the byte, so every JSON string
# shows it as the four characters \xff, as the text output does: for every subcommand the JSON is
# whole (no field dropped, exit 0) and its strings read as the text shows them.
FF=$(printf '\377')
U=$TMP/bad${FF}study
mkdir -p "$U/models/m/act" "$U/models/m/weights" "$U/models/m2/act" "$U/models/m2/weights"
/usr/bin/python3 - "$U" <<'PYEOF'
import struct, sys
d = sys.argv[1]
def npy(name, descr, shape, fmt, vals):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    open(d.encode("utf-8", "surrogateescape") + b"/" + name, "wb").write(
        b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + struct.pack("<%d%s" % (len(vals), fmt), *vals))
npy(b"labels.npy", "<i8", "(4,)", "q", [0, 1, 0, 1])
open(d.encode("utf-8", "surrogateescape") + b"/classes.txt", "wb").write(b"zero\xff\none\n")
open(d.encode("utf-8", "surrogateescape") + b"/samples.jsonl", "w").write(
    '{"id": "a\\u001bb"}\n{"id": "i1"}\n{"id": "i2"}\n{"id": "i3"}\n')
for m, p in (("m", [.9, .1, .3, .7, .4, .6, .2, .8]), ("m2", [.8, .2, .6, .4, .7, .3, .1, .9])):
    npy(b"models/%s/probs.npy" % m.encode(), "<f4", "(4, 2)", "f", p)
    npy(b"models/%s/act/fc\xff.npy" % m.encode(), "<f4", "(4, 3)", "f", [1, 0, 2, 0, 1, 1, 1, 2, 0, 2, 2, 1])
    npy(b"models/%s/weights/fc\xff.npy" % m.encode(), "<f4", "(3, 2)", "f", [.5, -.5, .25, 1, -1, 0] if m == "m" else [.5, -.4, .25, 1, -1, .1])
PYEOF
L=fc$FF
# utf8_case NAME JQ -- ARGS...: nncmp ARGS exits 0 with text and with --json; the strings JQ picks
# from the JSON (one per line, each holding \xff) each appear in the text output
utf8_case() {
	name=$1 filter=$2
	shift 3
	"$NNCMP" "$@" >"$TMP/u.txt" 2>"$TMP/u.err"
	st=$?
	if [ $st -ne 0 ]; then
		bad "$name (text) -> exit $st: $(head -2 "$TMP/u.err")"
		return
	fi
	"$NNCMP" "$@" --json >"$TMP/u.json" 2>"$TMP/u.err"
	st=$?
	if [ $st -ne 0 ]; then
		bad "$name --json -> exit $st: $(head -2 "$TMP/u.err")"
		return
	fi
	if ! jq -r "$filter" "$TMP/u.json" >"$TMP/u.want" 2>"$TMP/u.err" || [ ! -s "$TMP/u.want" ]; then
		bad "$name --json: nothing at '$filter': $(head -c 300 "$TMP/u.json")"
		return
	fi
	while IFS= read -r v; do
		case $v in
		*'\xff'*) ;;
		*) bad "$name --json: '$v' does not show the byte as \\xff"; return ;;
		esac
		if ! grep -qF -- "$v" "$TMP/u.txt"; then
			bad "$name: JSON string '$v' is not in the text output"
			return
		fi
	done <"$TMP/u.want"
	ok
}
utf8_case check '.study, .models[].layers[].name, .models[0].layers[0].act.path' -- check "$U"
n=$("$NNCMP" check "$U" --json | jq -c '[.classes, [.models[].layers[].name]]')
[ "$n" = '[["zero\\xff","one"],["fc\\xff","fc\\xff"]]' ] && ok || bad "check --json of a study with \\xff names: $n"
utf8_case report '.study, .classes[0]' -- report "$U"
n=$("$NNCMP" report "$U" --json | jq -c '[(.classes | length), (.models[0].confusion | length)]')
[ "$n" = '[2,2]' ] && ok || bad "report --json: $n class names and confusion rows, want [2,2]"
utf8_case instances '.instances[] | select(.label_id == 0) | .label' -- instances "$U"
n=$("$NNCMP" instances "$U" --json | jq -c '[.count, (.instances | length), [.instances[].id]]')
[ "$n" = '[4,4,["a\u001bb","i1","i2","i3"]]' ] && ok || bad "instances --json: $n"
utf8_case issues '.issues[] | select(.label | test("zero")) | .label' -- issues "$U" --method margin --model m
utf8_case neurons '.layer' -- neurons "$U" --model m --layer "$L"
utf8_case profile '.layer, .label' -- profile "$U" --model m --layer "$L" --index 0
utf8_case matrix '.layer, .rows[0].name' -- matrix "$U" --model m --layer "$L" --rows class
utf8_case similarity '.a.layer, .b.layer' -- similarity "$U" --model m --layer "$L" --with "m2.$L"
utf8_case project '.layer' -- project "$U" --model m --layer "$L"
utf8_case weights '.study, .layer' -- weights "$U" --model m --layer "$L"
utf8_case diff '.layers[0].name' -- diff "$U" --models m m2
utf8_case dups '.pairs[0].label_a' -- dups "$U" --layer "$L" --threshold 0 --any-class
utf8_case decisions '.journal' -- decisions "$U"

# arch (issue 17): the demo cnn's graph.json, parameters counted by hand: conv1 1·8·9+8 = 80,
# conv2 8·16·9+16 = 1168, fc1 256·64+64 = 16448, fc2 64·10+10 = 650; the shared dropout twice
n=$("$NNCMP" arch $DIGITS --model cnn --json | jq -c '[.source, .params, [.layers[] | [.name, .params]], [.blocks[].repeat]]')
[ "$n" = '["fx",18346,[["conv1",80],["conv2",1168],["drop",0],["fc1",16448],["drop",0],["fc2",650]],[1,1,1,1,1,1]]' ] && ok || bad "arch cnn --json: $n"
n=$("$NNCMP" arch $DIGITS --model mlp --json | jq -c '[.source, [.layers[] | [.name, .op, .shape, .params, .activations, .weights]]]')
[ "$n" = '["layers",[["fc1","Linear",[32],2048,true,true]]]' ] && ok || bad "arch mlp --json (no graph.json): $n"
# the demo's act/conv2.npy is conv2's pooled output, 16 values, not its 16×8×8: A(16) says so;
# act/conv1.npy is conv1's whole (N, 8, 8, 8) output: plain A; both have their (out, in, 3, 3) weights
expect 0 "conv1: Conv2d 3x3 8 8x8x8 (80) [A W] -> conv2: Conv2d 3x3 16 16x8x8 (1168) [A(16) W]" -- env LC_ALL=C "$NNCMP" arch $DIGITS --model cnn
expect 0 "conv2: Conv2d 3×3 16 16×8×8 (1168) [A(16) W]" -- env LC_ALL=C.UTF-8 "$NNCMP" arch $DIGITS --model cnn
expect 0 "fc1: Linear 64 (16448) [A W]" -- env LC_ALL=C.UTF-8 "$NNCMP" arch $DIGITS --model cnn
n=$("$NNCMP" arch $DIGITS --model cnn --json | jq -c '[.layers[] | .act_cols]')
want=$(/usr/bin/python3 -c 'import numpy as np, sys
d = sys.argv[1] + "/models/cnn/act/"
w = [int(np.prod(np.load(d + l + ".npy").shape[1:])) for l in ("conv1", "conv2", "fc1")]
print("[%d,%d,null,%d,null,null]" % tuple(w))' $DIGITS)
[ "$n" = "$want" ] && ok || bad "arch act_cols: $n"
expect 2 "--model is required" -- "$NNCMP" arch $DIGITS
expect 2 "no model 'nope' in digits (models: cnn cnn_early knn mlp)" -- "$NNCMP" arch $DIGITS --model nope
# arch --vs (issue 17): the relative weight change ||B - A||_F / ||A||_F of every layer, against
# NumPy's norms on the demo's two snapshots of the cnn (equal shapes: conv1 conv2 fc1 fc2)
"$NNCMP" arch $DIGITS --model cnn --vs cnn_early --json >"$TMP/archvs.json" &&
	LC_ALL=C.UTF-8 "$NNCMP" arch $DIGITS --model cnn --vs cnn_early >"$TMP/archvs.txt" &&
	/usr/bin/python3 - "$DIGITS" "$TMP" <<'PY' && ok || bad "arch --vs cnn_early against NumPy"
import json, sys
import numpy as np
d, t = sys.argv[1] + "/models/", sys.argv[2] + "/"
j = json.load(open(t + "archvs.json"))
assert j["model"] == "cnn" and j["vs"] == "cnn_early", j
want = {}
for n in ("conv1", "conv2", "fc1", "fc2"):
    a = np.load(d + "cnn/weights/" + n + ".npy").astype(np.float64)
    b = np.load(d + "cnn_early/weights/" + n + ".npy").astype(np.float64)
    assert a.shape == b.shape
    want[n] = np.linalg.norm(b - a) / np.linalg.norm(a)
got = {l["name"]: l["change"] for l in j["layers"]}
assert set(got) == {"conv1", "conv2", "drop", "fc1", "fc2"}, got
assert got["drop"] is None, got
for n, v in want.items():
    assert abs(got[n] - v) <= 1e-12 * v, (n, got[n], v)
top = max(want, key=want.get)
assert j["largest"]["name"] == top and abs(j["largest"]["change"] - want[top]) <= 1e-12, j["largest"]
txt = open(t + "archvs.txt").read()
for n, v in want.items():
    assert "%s: " % n in txt and "Δ %.3g" % v in txt, (n, v, txt)
assert "largest change: %s %.3g\n" % (top, want[top]) in txt, txt
assert "the weights of A = cnn vs B = cnn_early" in txt, txt
PY
# without --vs nothing changes: no "change", no "vs"
n=$("$NNCMP" arch $DIGITS --model cnn --json | jq -c '[has("vs"), has("largest"), ([.layers[] | has("change")] | any)]')
[ "$n" = '[false,false,false]' ] && ok || bad "arch without --vs: $n"
expect 0 "conv1: Conv2d 3x3 8 8x8x8 (80) [A W] d 0." -- env LC_ALL=C "$NNCMP" arch $DIGITS --model cnn --vs cnn_early
# another shape (mlp's fc1 is 32 x 64, cnn's 64 x 256): no number, and why
expect 0 "fc1: no change shown: different shape: (32, 64) in mlp, (64, 256) in cnn" -- "$NNCMP" arch $DIGITS --model mlp --vs cnn
expect 0 "largest change: none (no layer with weights comparable with cnn)" -- "$NNCMP" arch $DIGITS --model mlp --vs cnn
n=$("$NNCMP" arch $DIGITS --model mlp --vs cnn --json | jq -c '[.largest, .layers[0].change, .layers[0].change_why]')
[ "$n" = '[null,null,"different shape: (32, 64) in mlp, (64, 256) in cnn"]' ] && ok || bad "arch mlp --vs cnn --json: $n"
one_line_error "$NNCMP" arch $DIGITS --model cnn --vs nope
expect 2 "no model 'nope' in digits (models: cnn cnn_early knn mlp)" -- "$NNCMP" arch $DIGITS --model cnn --vs nope
# a tiny study: equal shapes, a layer B lacks, another shape, ||A|| = 0 ("new"), zero in both,
# a NaN and an infinity (left out of the norms and counted), and all-NaN
/usr/bin/python3 - "$TMP/archvs" <<'PY' || bad "making the arch --vs study"
import os, sys
import numpy as np
r = sys.argv[1]
rng = np.random.default_rng(17)
for m in ("a", "b"):
    os.makedirs(r + "/models/" + m + "/weights")
    np.save(r + "/models/" + m + "/pred.npy", np.array([0, 1, 1, 0], dtype=np.int64))
np.save(r + "/labels.npy", np.array([0, 1, 0, 1], dtype=np.int64))
w = lambda m, n, v: np.save(r + "/models/" + m + "/weights/" + n + ".npy", v)
same = rng.normal(size=(4, 3)).astype(np.float32)
w("a", "same", same); w("b", "same", (same + 0.1 * rng.normal(size=(4, 3))).astype(np.float32))
w("a", "gone", rng.normal(size=(3,)))
w("a", "shaped", rng.normal(size=(2, 3))); w("b", "shaped", rng.normal(size=(3, 2)))
w("a", "born", np.zeros(5)); w("b", "born", rng.normal(size=5))
w("a", "zero", np.zeros(2)); w("b", "zero", np.zeros(2))
x = rng.normal(size=6); x[1] = np.nan; y = rng.normal(size=6); y[4] = np.inf
w("a", "nan", x); w("b", "nan", y)
w("a", "allnan", np.full(3, np.nan)); w("b", "allnan", np.ones(3))
PY
"$NNCMP" arch "$TMP/archvs" --model a --vs b --json >"$TMP/archvs2.json" &&
	"$NNCMP" arch "$TMP/archvs" --model a --vs b >"$TMP/archvs2.txt" &&
	/usr/bin/python3 - "$TMP" <<'PY' && ok || bad "arch --vs on a study of odd layers"
import json, sys
import numpy as np
t = sys.argv[1] + "/"
r = t + "archvs/models/"
ld = lambda m, n: np.load(r + m + "/weights/" + n + ".npy").astype(np.float64)
L = {l["name"]: l for l in json.load(open(t + "archvs2.json"))["layers"]}
a, b = ld("a", "same"), ld("b", "same")
assert abs(L["same"]["change"] - np.linalg.norm(b - a) / np.linalg.norm(a)) < 1e-12, L["same"]
x, y = ld("a", "nan"), ld("b", "nan")
f = np.isfinite(x) & np.isfinite(y)
assert L["nan"]["nonfinite"] == 2 and abs(L["nan"]["change"] - np.linalg.norm(y[f] - x[f]) / np.linalg.norm(x[f])) < 1e-12, L["nan"]
why = {n: (L[n]["change"], L[n]["change_why"]) for n in ("gone", "shaped", "born", "zero", "allnan")}
assert why == {"gone": (None, "b has no layer of this name"),
               "shaped": (None, "different shape: (2, 3) in a, (3, 2) in b"),
               "born": (None, "new: ||A|| = 0"), "zero": (None, "all zero in both"),
               "allnan": (None, "no finite weight pair (NaN or infinite)")}, why
txt = open(t + "archvs2.txt").read()
for line in ("gone: no change shown: b has no layer of this name", "born: no change shown: new: ||A|| = 0",
             "shaped: no change shown: different shape: (2, 3) in a, (3, 2) in b",
             "nan: 2 NaN or infinite weight pairs left out of the change"):
    assert line + "\n" in txt, (line, txt)
big = max(("same", "nan"), key=lambda n: L[n]["change"])
assert "largest change: %s %.3g\n" % (big, L[big]["change"]) in txt, txt
PY
n=$("$NNCMP" check $DIGITS --json | jq -c '[.models[] | .graph]')
[ "$n" = '["fx","fx",null,null]' ] && ok || bad "check --json graph: $n"

# a study found in the current directory
(cd $DIGITS && "$NNCMP" >/dev/null 2>&1) && ok || bad "nncmp inside a study directory"

# "--" ends the options: a study named like an option opens; --color as ls and ripgrep take it
mkdir -p "$TMP/dash" && cp -r $DIGITS "$TMP/dash/-digits"
(cd "$TMP/dash" && "$NNCMP" -- -digits) | grep -q '^-digits .* 899 instances' && ok || bad "nncmp -- -digits"
expect 0 "digits" -- "$NNCMP" -- $DIGITS
(cd "$TMP/dash" && "$NNCMP" report -- -digits) | grep -q '899 instances' && ok || bad "nncmp report -- -digits"
expect 2 "--color wants auto, always or never, not 'sometimes'" -- "$NNCMP" --color=sometimes report $DIGITS
esc=$(printf '\033')
"$NNCMP" weights $DIGITS --model cnn --layer fc1 --color=always | grep -q "$esc\[" && ok || bad "--color=always: no colour when piped"
"$NNCMP" --color always weights $DIGITS --model cnn --layer fc1 | grep -q "$esc\[" && ok || bad "--color always (ripgrep's form)"
NO_COLOR=1 "$NNCMP" weights $DIGITS --model cnn --layer fc1 --color=always | grep -q "$esc\[" && ok || bad "--color=always over NO_COLOR"
"$NNCMP" weights $DIGITS --model cnn --layer fc1 --color=never | grep -q "$esc\[" && bad "--color=never wrote colour" || ok
"$NNCMP" weights $DIGITS --model cnn --layer fc1 --color=auto | grep -q "$esc\[" && bad "--color=auto, piped, wrote colour" || ok
# --filter on the study: the report over it when piped; --sort and --models need the TUI
expect 0 "53 match 'cnn != gt'" -- "$NNCMP" $DIGITS --filter 'cnn != gt'
expect 2 "--sort, --models and --view set up the TUI" -- "$NNCMP" $DIGITS --sort 'conf(cnn)'
expect 2 "--sort, --models and --view set up the TUI" -- "$NNCMP" $DIGITS --view errors
expect 0 "digits" -- "$NNCMP" --filter 'cnn != gt' $DIGITS

# the caches create their directory with its parents (mkdir_p): the derived-data cache made only
# the last level, so it was never written under a cache home that did not exist yet
XDG_CACHE_HOME=$TMP/fresh/home/cache "$NNCMP" report $DIGITS >/dev/null 2>&1
ls "$TMP"/fresh/home/cache/nncmp/*.ndv >/dev/null 2>&1 && ok || bad "no derived-data cache under a new XDG_CACHE_HOME"

# text tables line up in display columns (wcwidth, as in the TUI) with CJK class names, ids and
# texts: the oracle is Python's East Asian Width table (tests/cli/cjk_align.py)
CJK=tests/data/cjk
for what in report instances; do
	if LC_ALL=C.UTF-8 "$NNCMP" $what $CJK --no-journal 2>/dev/null | python3 tests/cli/cjk_align.py $what >"$TMP/align"; then
		ok
	else
		bad "$what on $CJK misaligned: $(head -3 "$TMP/align")"
	fi
done

# the caches never create a home that does not exist (HOME=/nonexistent, as root could)
nohome=$(mktemp -d /tmp/nncmp-nohome-XXXXXX) && rmdir "$nohome"
if env -u XDG_CACHE_HOME HOME="$nohome" "$NNCMP" report demo-data/digits >/dev/null 2>&1 &&
	env -u XDG_CACHE_HOME HOME="$nohome" "$NNCMP" neurons demo-data/digits --model cnn --layer fc1 \
		>/dev/null 2>&1 && [ ! -e "$nohome" ]; then
	ok
else
	bad "a cache under HOME=$nohome, which did not exist"
	rm -rf "$nohome"
fi

# saliency on the demo's Grad-CAM maps (cnn, cnn_early): the maps as stored, L1 and SSIM of one
# instance and the mean over a filter, against NumPy and scikit-image
for i in 3 123 898; do
	"$NNCMP" saliency $DIGITS --index $i --json >"$TMP/sal_i.json" &&
		"$NNCMP" saliency $DIGITS --filter 'gt == 3' --json >"$TMP/sal_f.json" &&
		msg=$(/usr/bin/python3 tests/cli/saliency_demo.py $DIGITS "$TMP/sal_i.json" \
			"$TMP/sal_f.json" $i) && ok || bad "saliency demo --index $i: $msg"
done

# patches' receptive fields: random torch CNNs against a NumPy index oracle and autograd
# (tests/cli/rfield_ref.py), then the demo: conv1 is a 3×3 convolution, padding 1, on the 8×8
# input, so the maximum at (y, x) maps to pixels x-1..x+1, y-1..y+1 clipped to the image
msg=$(/usr/bin/python3 tests/cli/rfield_ref.py "$NNCMP" 2>&1) && ok || bad "rfield_ref.py: $msg"
"$NNCMP" patches $DIGITS --model cnn --layer conv1 --channel 2 --top 40 --json >"$TMP/rf.json" 2>&1
if msg=$(/usr/bin/python3 - "$TMP/rf.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["region_from"] == "receptive_field" and j["scaled_because"] is None, j["region_from"]
assert j["receptive_field"] == {"size": [3, 3], "jump": [1, 1], "start": [-1, -1], "input": [8, 8]}, j["receptive_field"]
assert len(j["patches"]) == 40
edge = 0
for p in j["patches"]:
    x, y = p["x"], p["y"]
    want = [max(0, x - 1), max(0, y - 1), min(8, x + 2), min(8, y + 2)]
    assert p["image_size"] == [8, 8] and p["box"] == want and p["input_box"] == want, (p, want)
    assert p["box_frac"] == [v / 8 for v in want], p
    edge += want[2] - want[0] < 3 or want[3] - want[1] < 3
assert edge > 0, "no maximum at the border: the clipping is not tested"
PY
); then ok; else bad "patches demo receptive field: $msg"; fi
expect 0 "region: the receptive field, 3 x 3 pixels of the 8 x 8 input" -- \
	"$NNCMP" patches $DIGITS --model cnn --layer conv1 --channel 2 --top 3
# a study without graph.json: the cell scaled, and why
RS=$TMP/rfscaled
cp -r $DIGITS "$RS"
rm "$RS/models/cnn/graph.json"
expect 0 "region: the cell scaled to the image (no receptive field: no graph.json)" -- \
	"$NNCMP" patches "$RS" --model cnn --layer conv1 --channel 2 --top 3
"$NNCMP" patches "$RS" --model cnn --layer conv1 --channel 2 --top 3 --json 2>&1 |
	grep -q '"region_from":"scaled","receptive_field":null,"scaled_because":"no graph.json"' && ok ||
	bad "patches without graph.json: not scaled"
# a malformed graph.json is one line naming it, exit 2
printf '{"source": "fx", "modules": [' >"$RS/models/cnn/graph.json"
expect 2 "models/cnn/graph.json: line 1:" -- "$NNCMP" patches "$RS" --model cnn --layer conv1 --channel 2
printf '{"source": "fx", "modules": [{"name": "c", "type": "Conv2d", "shape": [1, 2, 2], "params": 1, "kernel": [3, 3], "stride": [1]}]}' >"$RS/models/cnn/graph.json"
expect 2 "modules[0] (c): stride must be 2 positive integers, as many as the kernel's" -- \
	"$NNCMP" patches "$RS" --model cnn --layer conv1 --channel 2
rm -rf "$RS"

# OpenBLAS's pool: it is loaded on the first product (linalg.c), not for a report; without
# OPENBLAS_NUM_THREADS the loading thread runs on one CPU while it loads, which sizes the pool to
# one (no thread starts then), and gets every CPU back after; with the variable set, the pool is
# the user's. Needs strace and two CPUs.
if command -v strace >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	trace() {
		cmd=$1
		shift
		# shellcheck disable=SC2086 # the words of cmd
		env "$@" strace -f -e trace=clone,clone3,sched_getaffinity,sched_setaffinity \
			"$NNCMP" $cmd 2>&1 >/dev/null | grep -v '^+++\|^---' | sed 's/^\[pid *[0-9]*\] //'
	}
	# the CPUs before the narrowing (one CPU), whether a thread started until they were given
	# back, and whether they were: "ALL THREAD RESTORED"
	window() {
		awk '/^sched_getaffinity\(0, [0-9]+, \[/ { if (!st) { g = $0; sub(/.*\[/, "", g); sub(/\].*/, "", g) } }
		/^sched_setaffinity\(0, [0-9]+, \[[0-9]+\]\)/ { if (!st) { st = 1; all = g; next } }
		st == 1 && /CLONE_THREAD/ { th = 1 }
		st == 1 && /^sched_setaffinity/ { l = $0; sub(/.*\[/, "", l); sub(/\].*/, "", l); if (l == all) st = 2 }
		END { printf "[%s] %d %d\n", all, th, st == 2 }'
	}
	prod="similarity $DIGITS --model cnn --layer fc1"
	t=$(trace "$prod" -u OPENBLAS_NUM_THREADS -u GOTO_NUM_THREADS -u OMP_NUM_THREADS)
	w=$(printf '%s\n' "$t" | window)
	case $w in
	"[] "*) bad "a product did not narrow the CPUs while OpenBLAS loaded: $t" ;;
	*" 1 "*) bad "a thread started while OpenBLAS loaded, OPENBLAS_NUM_THREADS unset ($w): $t" ;;
	*" 0") bad "the CPUs were not given back after OpenBLAS loaded ($w): $t" ;;
	*) ok ;;
	esac
	t=$(trace "$prod" OPENBLAS_NUM_THREADS=2)
	printf '%s\n' "$t" | grep -q CLONE_THREAD && ! printf '%s\n' "$t" | grep -q sched_setaffinity &&
		ok || bad "OPENBLAS_NUM_THREADS=2: the user's pool of two did not start: $t"
	t=$(trace "report $DIGITS" -u OPENBLAS_NUM_THREADS -u GOTO_NUM_THREADS -u OMP_NUM_THREADS)
	printf '%s\n' "$t" | grep -q sched_setaffinity &&
		bad "report narrowed the CPUs (OpenBLAS loaded for it?): $t" || ok
fi

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]

#!/bin/bash
# tests/saliency/run.sh — `nncmp saliency` on small synthetic studies whose float16 maps NumPy
# writes here: every map value, L1 and SSIM of --index, and the means of --filter, against the
# NumPy reference (saliency_ref.py, checked against scikit-image); bad maps give exit 2 and one
# line naming the file.
# Usage: tests/saliency/run.sh ./nncmp
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d /tmp/nncmp-saliency-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export NNCMP_CACHE=0
pass=0
fail=0
. "$HERE/../cli_lib.sh"

# A study of 12 instances, 3 classes: models a and b with (12, 9, 10) maps, c with (12, 9, 10)
# maps of which instance 3 is all zeros, s with (12, 5, 6) maps (too small for SSIM), and m
# without maps.
/usr/bin/python3 - "$TMP/st" <<'PY' || { echo "FAIL: cannot build the study"; exit 1; }
import os, sys
import numpy as np
root = sys.argv[1]
rng = np.random.default_rng(5)
n = 12
os.makedirs(root)
np.save(os.path.join(root, "labels.npy"), (np.arange(n) % 3).astype(np.int64))
def model(name, shape=None, zero=None):
    d = os.path.join(root, "models", name)
    os.makedirs(d)
    p = rng.random((n, 3)); p /= p.sum(1, keepdims=True)
    np.save(os.path.join(d, "probs.npy"), p.astype(np.float32))
    if shape:
        os.makedirs(os.path.join(d, "saliency"))
        m = (rng.random((n,) + shape) * 3).astype(np.float16)
        if zero is not None:
            m[zero] = 0
        np.save(os.path.join(d, "saliency", "layer4.npy"), m)
model("a", (9, 10)); model("b", (9, 10)); model("c", (9, 10), zero=3)
model("m"); model("s", (5, 6))
PY

# check.py JSON... : compares nncmp's output (files) with the reference
cat > "$TMP/check.py" <<'PY'
import json, math, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import saliency_ref as ref
root, mode = sys.argv[2], sys.argv[3]
maps = {m: np.load("%s/models/%s/saliency/layer4.npy" % (root, m)) for m in "abcs"}
labels = np.load(root + "/labels.npy")
def close(x, y, what):
    if y is None or (isinstance(y, float) and math.isnan(y)):
        if x is not None:
            sys.exit("%s: %r, want null" % (what, x))
    elif x is None or abs(x - y) > 1e-9:
        sys.exit("%s: %r, want %r" % (what, x, y))
def pairs_ref(i):
    out = {}
    names = ["a", "b", "c", "s"]
    for ia, a in enumerate(names):
        for b in names[ia + 1:]:
            if maps[a].shape != maps[b].shape:
                continue
            na, nb = ref.normalise(maps[a][i]), ref.normalise(maps[b][i])
            out[(a, b)] = (ref.l1(na, nb), ref.ssim(na, nb))
    return out
for path in sys.argv[4:]:
    j = json.load(open(path))
    if mode == "index":
        i = j["index"]
        names = [m["name"] for m in j["models"]]
        if names != ["a", "b", "c", "s"]:
            sys.exit("models %r" % names)
        for m in j["models"]:
            want = maps[m["name"]][i].astype(np.float64)
            if m["layer"] != "layer4" or m["shape"] != list(want.shape):
                sys.exit("model %s: layer %r shape %r" % (m["name"], m["layer"], m["shape"]))
            if not np.array_equal(np.array(m["map"], dtype=np.float64), want):
                sys.exit("model %s: map of instance %d differs from the file" % (m["name"], i))
        want = pairs_ref(i)
    else:
        sel = np.nonzero(labels == 1)[0] if mode == "filter" else np.arange(len(labels))
        if j["n"] != len(sel):
            sys.exit("n %r, want %d" % (j["n"], len(sel)))
        acc = {}
        for i in sel:
            for k, (l, s) in pairs_ref(i).items():
                acc.setdefault(k, []).append((l, s))
        want = {k: (float(np.mean([v[0] for v in vs])), float(np.mean([v[1] for v in vs])))
                for k, vs in acc.items()}
    got = {(p["a"], p["b"]): p for p in j["similarity"]}
    if set(got) != set(want):
        sys.exit("pairs %r, want %r" % (sorted(got), sorted(want)))
    for k, (l, s) in want.items():
        close(got[k]["l1"], l, "%s %r l1" % (path, k))
        close(got[k]["ssim"], s, "%s %r ssim" % (path, k))
PY

# the NumPy reference itself against scikit-image's structural_similarity (to 1e-12)
if out=$(/usr/bin/python3 "$HERE/saliency_ref.py" skimage 2>&1); then ok; else
	bad "saliency_ref.py against scikit-image: $out"; fi

files=
for i in 0 3 7 11; do
	if "$NNCMP" saliency "$TMP/st" --index $i --json >"$TMP/i$i.json" 2>"$TMP/err"; then
		ok
	else
		bad "saliency --index $i --json: exit $?: $(head -2 "$TMP/err")"
	fi
	files="$files $TMP/i$i.json"
done
# shellcheck disable=SC2086
if out=$(/usr/bin/python3 "$TMP/check.py" "$HERE" "$TMP/st" index $files 2>&1); then ok; else
	bad "saliency --index JSON against NumPy: $out"; fi

"$NNCMP" saliency "$TMP/st" --filter 'gt == 1' --json >"$TMP/f.json" 2>"$TMP/err" || bad "--filter: $(cat "$TMP/err")"
"$NNCMP" saliency "$TMP/st" --filter 'gt >= 0' --json >"$TMP/all.json" 2>"$TMP/err" || bad "--filter all: $(cat "$TMP/err")"
if out=$(/usr/bin/python3 "$TMP/check.py" "$HERE" "$TMP/st" filter "$TMP/f.json" 2>&1); then ok; else
	bad "saliency --filter JSON against NumPy: $out"; fi
if out=$(/usr/bin/python3 "$TMP/check.py" "$HERE" "$TMP/st" all "$TMP/all.json" 2>&1); then ok; else
	bad "saliency --filter all JSON against NumPy: $out"; fi

# Text: the grids and the pair table; the zero map of c at instance 3 is all dots.
expect 0 "a.layer4: 9 x 10 map" -- "$NNCMP" saliency "$TMP/st" --index 3
expect 0 "c.layer4: 9 x 10 map, max 0" -- "$NNCMP" saliency "$TMP/st" --index 3
out=$(LC_ALL=C "$NNCMP" saliency "$TMP/st" --index 3 --color never 2>&1)
if printf '%s\n' "$out" | sed -n '/^c.layer4/,/^$/p' | grep -q '^|\.\.\.\.\.\.\.\.\.\.|$'; then ok; else
	bad "text: c's zero map is not a grid of dots: $(printf '%s' "$out" | head -30)"; fi
expect 0 "mean over the matching instances" -- "$NNCMP" saliency "$TMP/st" --filter 'gt == 1'
expect 0 "model  model        l1      ssim" -- "$NNCMP" saliency "$TMP/st" --filter 'gt == 1'

# Usage and input errors.
expect 2 "give one of --index and --filter" -- "$NNCMP" saliency "$TMP/st"
expect 2 "give one of --index and --filter" -- "$NNCMP" saliency "$TMP/st" --index 1 --filter 'gt >= 0'
expect 2 "out of range" -- "$NNCMP" saliency "$TMP/st" --index 12
expect 2 "filter:" -- "$NNCMP" saliency "$TMP/st" --filter 'nosuch >'
expect 0 "usage: nncmp saliency" -- "$NNCMP" saliency --help
/usr/bin/python3 - "$TMP" <<'PY'
import os, shutil, sys
import numpy as np
t = sys.argv[1]
def variant(name, arr):
    d = os.path.join(t, name)
    shutil.copytree(os.path.join(t, "st"), d)
    np.save(os.path.join(d, "models", "a", "saliency", "layer4.npy"), arr)
variant("rows", np.zeros((11, 9, 10), np.float16))
variant("dims", np.zeros((12, 90), np.float16))
variant("int", np.zeros((12, 9, 10), np.int32))
variant("empty", np.zeros((12, 0, 10), np.float16))
shutil.copytree(os.path.join(t, "st"), os.path.join(t, "none"))
for m in "abcs":
    shutil.rmtree(os.path.join(t, "none", "models", m, "saliency"))
PY
for v in "rows:11 rows, but" "dims:2-dimensional, expected (N, h, w)" "int:integer dtype" "empty:empty"; do
	d=${v%%:*} msg=${v#*:}
	out=$("$NNCMP" saliency "$TMP/$d" --index 0 2>&1 >/dev/null)
	rc=$?
	if [ $rc = 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
		printf '%s' "$out" | grep -qF "models/a/saliency/layer4.npy: $msg"; then ok; else
		bad "bad map $d: exit $rc, $out"; fi
done
expect 2 "has saliency maps" -- "$NNCMP" saliency "$TMP/none" --index 0
# other commands still open a study with maps, and one without the directory is unchanged
expect 0 "" -- "$NNCMP" report "$TMP/st" --json

echo "saliency: $pass passed, $fail failed"
[ "$fail" = 0 ]

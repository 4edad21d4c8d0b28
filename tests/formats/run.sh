#!/bin/sh
# The same study (demo-data/digits) stored in every format study.ini reads — npy, npz stored
# and deflated, HDF5 contiguous and chunked+gzip, CSV/TSV, mixed shards, paths through ${VAR},
# ~ and a line longer than inih's — written by NumPy and h5py (tests/formats/gen.py): report
# --json and neurons --json must be byte-identical to the npy study's, check must say how each
# matrix is held, and the CSV float32 cache must be reused while the file is unchanged and
# rebuilt when it changes.
# Usage: tests/formats/run.sh ./nncmp     (from the top of the tree)
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
TMP=$(mktemp -d /tmp/nncmp-formats-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
. tests/cli_lib.sh
PY=/usr/bin/python3

export HOME="$TMP" XDG_CACHE_HOME="$TMP/cache"
unset NNCMP_CACHE
$PY tests/formats/gen.py demo-data/digits "$TMP/s" >/dev/null || { echo "FAIL: gen.py"; exit 1; }
NNCMP_FMT_DEEP=$(cd "$TMP"/s/expand-data/*/*/*/*/*/* && pwd)
export NNCMP_FMT_DEEP

"$NNCMP" report --json "$TMP/s/npy" >"$TMP/base.json" 2>&1 && ok || bad "report npy"
"$NNCMP" report --json demo-data/digits | cmp -s - "$TMP/base.json" && ok ||
	bad "the npy copy does not report as demo-data/digits"
# neuron statistics: a float16 and a float32 layer, with and without a filter (no neuron cache)
neurons() {
	NNCMP_CACHE=0 "$NNCMP" neurons "$1" --model cnn --layer conv2 --filter 'gt == 3' --json &&
		NNCMP_CACHE=0 "$NNCMP" neurons "$1" --model cnn_early --layer fc1 --json &&
		NNCMP_CACHE=0 "$NNCMP" instances "$1" --filter 'act(cnn.fc1.7) > 0.5' \
			--sort 'act(cnn_early.conv2.3)' --top 0 --json
}
neurons "$TMP/s/npy" >"$TMP/base.neurons" 2>&1 && ok || bad "neurons npy"
for v in npz npzz h5 h5z csv shards expand conv-npz/digits conv-h5/digits conv-csv/digits; do
	o=$TMP/$(echo "$v" | tr / _)
	"$NNCMP" report --json "$TMP/s/$v" >"$o.json" 2>&1
	cmp -s "$TMP/base.json" "$o.json" && ok || bad "report $v differs: $(head -c 200 "$o.json")"
	neurons "$TMP/s/$v" >"$o.neurons" 2>&1
	cmp -s "$TMP/base.neurons" "$o.neurons" && ok ||
		bad "neurons $v differ: $(head -c 200 "$o.neurons")"
done
grep -q '"neurons":\[{' "$TMP/base.neurons" && grep -q '"count":416,' "$TMP/base.neurons" && ok ||
	bad "neurons/instances printed nothing: $(head -c 200 "$TMP/base.neurons")"

# NaN and infinities in a chunked HDF5 layer and in a matrix of an npy and an HDF5 shard (the
# same values split at row 500): 2 NaN and 2 infinities each, as NumPy counts them
$PY - "$TMP/s" <<'PYEOF'
import sys, numpy as np, h5py
d = sys.argv[1]
a = np.load(d + "/npy/cnn_act_fc1.npy").astype(np.float64)
a[3, 5] = a[800, 0] = np.nan
a[10, 1] = np.inf; a[11, 2] = -np.inf; a[12, 3] = 1e300  # 1e300: finite in float64
with h5py.File(d + "/npy/nan.h5", "w") as f:
    f.create_dataset("a", data=a, chunks=(50, 64), compression="gzip")
    f.create_dataset("b", data=a[500:], chunks=(50, 64), compression="gzip")
np.save(d + "/npy/nan_head.npy", a[:500])
ini = open(d + "/npy/study.ini").read()
ini = ini.replace("act.fc1 = cnn_act_fc1.npy", "act.fc1 = nan.h5:/a", 1)
ini = ini.replace("act.fc1 = cnn_early_act_fc1.npy", "act.fc1 = nan_head.npy, nan.h5:/b", 1)
open(d + "/npy/nan.ini", "w").write(ini)
assert (np.isnan(a).sum(), np.isinf(a).sum()) == (2, 2)
PYEOF
"$NNCMP" check --json "$TMP/s/npy/nan.ini" >"$TMP/nan.json" 2>&1
got=$($PY -c '
import json, sys
m = {x["name"]: x for x in json.load(open(sys.argv[1]))["models"]}
f = lambda n: [l["act"] for l in m[n]["layers"] if l["name"] == "fc1"][0]
a, b = f("cnn"), f("cnn_early")
print(a["nan"], a["inf"], b["nan"], b["inf"], a["storage"])' "$TMP/nan.json" 2>&1)
[ "$got" = "2 2 2 2 read in row blocks through libhdf5" ] && ok || bad "check's NaN/Inf counts of HDF5 sources: $got"

# how each matrix is held
expect 0 "probs $TMP/s/npzz/cnn.npz:probs  (decompressed once into memory)" -- "$NNCMP" check "$TMP/s/npzz"
out=$("$NNCMP" check "$TMP/s/npz")
case $out in *"(decompressed"* | *"(read in"*) bad "stored npz members not mapped: $out" ;; *) ok ;; esac
expect 0 "study.h5:/cnn/act/fc1  (read in row blocks through libhdf5)" -- "$NNCMP" check "$TMP/s/h5z"
out=$("$NNCMP" check "$TMP/s/h5")
case $out in *"(read in"*) bad "contiguous HDF5 datasets not mapped: $out" ;; *) ok ;; esac
expect 0 "cnn.csv  (converted once into a mapped float32 cache)" -- "$NNCMP" check "$TMP/s/csv"
expect 0 '"storage":"decompressed once into memory"' -- "$NNCMP" check --json "$TMP/s/npzz"

# the CSV cache: one file per CSV, reused, rebuilt when the CSV changes
n=$(ls "$TMP/cache/nncmp" | grep -c '\.csvf$')
[ "$n" -eq 6 ] && ok || bad "expected 6 CSV caches (csv and conv-csv: cnn, cnn_early, mlp), found $n"
# a re-parse writes a new file (a new inode, renamed over the old); a hit marks its file as used
# (mtime now, for the cache's size cap): the csv study's three, not conv-csv's
touch -d '2001-01-01' "$TMP/cache/nncmp"/*.csvf
inodes=$(ls -i "$TMP/cache/nncmp"/*.csvf)
"$NNCMP" report --json "$TMP/s/csv" | cmp -s - "$TMP/base.json" && ok || bad "report csv (cached)"
[ "$(ls -i "$TMP/cache/nncmp"/*.csvf)" = "$inodes" ] && ok || bad "an unchanged CSV was parsed again"
used=$(find "$TMP/cache/nncmp" -name '*.csvf' -newermt '2002-01-01' | wc -l)
[ "$used" -eq 3 ] && ok || bad "CSV cache hits marked $used files as used, not 3"
# a changed CSV: the first probability row of cnn becomes class 9 with certainty
$PY - "$TMP/s/csv/cnn.csv" <<'PYEOF'
import sys
p = sys.argv[1]
lines = open(p).read().split("\n")
lines[1] = ",".join(["0.0"] * 9 + ["1.0"])
open(p, "w").write("\n".join(lines))
PYEOF
pred0() {
	"$NNCMP" instances "$1" --filter 'index == 0' --json |
		$PY -c 'import json,sys; print(json.load(sys.stdin)["instances"][0]["preds"]["cnn"])' 2>&1
}
want=$(pred0 "$TMP/s/npy")
got=$(pred0 "$TMP/s/csv")
[ "$want" != 9 ] && [ "$got" = 9 ] && ok || bad "changed CSV not re-read: npy pred $want, csv pred $got"
n=$(ls "$TMP/cache/nncmp" | grep -c '\.csvf$')
[ "$n" -eq 7 ] && ok || bad "expected a seventh CSV cache, found $n"
# no cache directory: parsed into a temporary file, same answer
NNCMP_CACHE=0 "$NNCMP" report --json "$TMP/s/csv" >"$TMP/nc.json" 2>&1
"$NNCMP" report --json "$TMP/s/csv" | cmp -s - "$TMP/nc.json" && ok || bad "NNCMP_CACHE=0 csv differs"

# a CSV header names the classes of a study without classes.txt; with one, they must agree
$PY - "$TMP/hdr" <<'PYEOF'
import os, sys, numpy as np
root = sys.argv[1]
y = np.array([0, 1, 2, 1, 0, 2], dtype=np.int64)
p = np.array([[.7, .2, .1], [.1, .8, .1], [.2, .2, .6], [.5, .4, .1], [.6, .3, .1], [.1, .1, .8]])
def study(name, heads, classes=None, extra=None):
    d = os.path.join(root, name, "pets")
    for m in list(heads) + ["b"]:
        os.makedirs(os.path.join(d, "models", m))
    np.save(os.path.join(d, "labels.npy"), y)
    if classes:
        open(os.path.join(d, "classes.txt"), "w").write("".join(c + "\n" for c in classes))
    for m, head in heads.items():
        f = os.path.join(d, "models", m, "probs.csv")
        open(f, "w").write(",".join(head) + "\n" + "".join(",".join("%g" % v for v in r) + "\n" for r in p))
    np.save(os.path.join(d, "models", "b", "probs.npy"), p[:, ::-1].astype(np.float32))
    if extra:
        extra(d)
pets = ["cat", "dog", "bird"]
study("adopt", {"a": pets})
study("given", {"a": pets}, classes=pets)
study("differ", {"a": pets}, classes=["cat", "dog", "fish"])
study("two", {"a": pets, "c": ["cat", "cow", "bird"]})
study("dup", {"a": ["cat", "cat", "bird"]})
study("both", {"a": pets}, extra=lambda d: np.save(os.path.join(d, "models", "a", "probs.npy"), p.astype(np.float32)))
PYEOF
H=$TMP/hdr
"$NNCMP" report --json "$H/adopt/pets" >"$TMP/adopt.json" 2>&1
got=$($PY -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["classes"]))' "$TMP/adopt.json" 2>&1)
[ "$got" = "cat,dog,bird" ] && ok || bad "the CSV header's class names were not adopted: $got"
"$NNCMP" report --json "$H/given/pets" | cmp -s - "$TMP/adopt.json" && ok ||
	bad "a header equal to classes.txt reports otherwise than the adopted header"
expect 2 "models/a/probs.csv: header column 3 is 'bird', but class 2 in $H/differ/pets/classes.txt is 'fish'" -- \
	"$NNCMP" report "$H/differ/pets"
expect 2 "models/c/probs.csv: header column 2 is 'cow', but class 1 in $H/two/pets/models/a/probs.csv is 'dog'" -- \
	"$NNCMP" report "$H/two/pets"
expect 2 "models/a/probs.csv: header columns 1 and 2 are both 'cat'" -- "$NNCMP" report "$H/dup/pets"
# the convention takes probs.npy before probs.csv and says so
expect 0 "$H/both/pets/models/a/probs.csv: ignored, $H/both/pets/models/a/probs.npy is used" -- \
	"$NNCMP" check "$H/both/pets"

# an undefined variable is one clear line
expect 2 "environment variable \${NNCMP_FMT_DEEP} is not set" -- \
	env -u NNCMP_FMT_DEEP "$NNCMP" check "$TMP/s/expand"

# graph = PATH and saliency.LAYER = PATH: the demo's graph.json and Grad-CAM maps copied to other
# places (one through ~, one through ${VAR}) and named by a manifest give the same arch and
# saliency output as the demo read by convention; a manifest without those keys has no maps
D=$(pwd)/demo-data/digits
G=$TMP/gsal
mkdir -p "$G/study" "$TMP/graphs" "$G/maps/early"
cp -r "$D/images" "$G/study/images" # samples.jsonl's images are relative to the study
cp "$D/models/cnn/graph.json" "$TMP/graphs/cnn.json"
cp "$D/models/cnn_early/graph.json" "$G/maps/early/g.json"
cp "$D/models/cnn/saliency/conv2.npy" "$G/maps/cnn-gradcam.npy"
cp "$D/models/cnn_early/saliency/conv2.npy" "$G/maps/early/conv2.npy"
export NNCMP_FMT_MAPS=$G/maps
gs_ini() { # gs_ini EXTRA_CNN EXTRA_EARLY: the demo's files by absolute path, and the extra lines
	printf '[study]\nlabels = %s/labels.npy\nclasses = %s/classes.txt\nsamples = %s/samples.jsonl\n' "$D" "$D" "$D"
	printf '[model cnn]\nprobs = %s/models/cnn/probs.npy\n' "$D"
	for l in conv1 conv2 fc1; do printf 'act.%s = %s/models/cnn/act/%s.npy\n' $l "$D" $l; done
	for l in $(cd "$D/models/cnn/weights" && ls | sed 's/\.npy$//'); do printf 'weights.%s = %s/models/cnn/weights/%s.npy\n' $l "$D" $l; done
	printf '%b' "$1"
	printf '[model cnn_early]\nprobs = %s/models/cnn_early/probs.npy\n' "$D"
	for l in conv1 conv2 fc1; do printf 'act.%s = %s/models/cnn_early/act/%s.npy\n' $l "$D" $l; done
	for l in $(cd "$D/models/cnn_early/weights" && ls | sed 's/\.npy$//'); do printf 'weights.%s = %s/models/cnn_early/weights/%s.npy\n' $l "$D" $l; done
	printf '%b' "$2"
	printf '[model knn]\npred = %s/models/knn/pred.npy\n' "$D"
	printf '[model mlp]\nlogits = %s/models/mlp/logits.npy\n' "$D"
	for l in $(cd "$D/models/mlp/act" && ls | sed 's/\.npy$//'); do printf 'act.%s = %s/models/mlp/act/%s.npy\n' $l "$D" $l; done
	for l in $(cd "$D/models/mlp/weights" && ls | sed 's/\.npy$//'); do printf 'weights.%s = %s/models/mlp/weights/%s.npy\n' $l "$D" $l; done
}
gs_ini 'graph = ~/graphs/cnn.json\nsaliency.conv2 = ../maps/cnn-gradcam.npy\n' \
	'graph = ${NNCMP_FMT_MAPS}/early/g.json\nsaliency.conv2 = ${NNCMP_FMT_MAPS}/early/conv2.npy\n' >"$G/study/study.ini"
for m in cnn cnn_early; do
	"$NNCMP" arch "$D" --model $m --json >"$TMP/arch-$m.demo" 2>&1
	"$NNCMP" arch "$G/study" --model $m --json >"$TMP/arch-$m.ini" 2>&1
	grep -q '"source":"fx"' "$TMP/arch-$m.demo" && cmp -s "$TMP/arch-$m.demo" "$TMP/arch-$m.ini" && ok ||
		bad "arch $m from graph = differs: $(head -c 200 "$TMP/arch-$m.ini")"
done
"$NNCMP" saliency "$D" --index 0 --json >"$TMP/sal.demo" 2>&1
"$NNCMP" saliency "$G/study" --index 0 --json >"$TMP/sal.ini" 2>&1
grep -q '"layer":"conv2"' "$TMP/sal.demo" && cmp -s "$TMP/sal.demo" "$TMP/sal.ini" && ok ||
	bad "saliency from saliency.conv2 = differs: $(head -c 200 "$TMP/sal.ini")"
"$NNCMP" patches "$D" --model cnn --layer conv1 --channel 2 --json >"$TMP/patches.demo" 2>&1
"$NNCMP" patches "$G/study" --model cnn --layer conv1 --channel 2 --json >"$TMP/patches.ini" 2>&1
grep -q '"region_from":"receptive_field"' "$TMP/patches.demo" && cmp -s "$TMP/patches.demo" "$TMP/patches.ini" && ok ||
	bad "patches with graph = differs: $(head -c 200 "$TMP/patches.ini")"
# without the keys (the manifest's directory has no models/): no graph, no maps
gs_ini '' '' >"$G/study/study.ini"
"$NNCMP" arch "$G/study" --model cnn --json 2>&1 | grep -q '"source":"layers"' && ok ||
	bad "a manifest without graph = found a graph.json"
expect 2 "has saliency maps (models/NAME/saliency/LAYER.npy, or saliency.LAYER in study.ini)" -- "$NNCMP" saliency "$G/study" --index 0
# a second saliency.LAYER is warned about, the first given used
gs_ini 'saliency.conv2 = ../maps/cnn-gradcam.npy\nsaliency.conv1 = ../maps/early/conv2.npy\n' '' >"$G/study/study.ini"
expect 0 "$G/study/../maps/early/conv2.npy: ignored, $G/study/../maps/cnn-gradcam.npy is model cnn's saliency" -- \
	"$NNCMP" check "$G/study"

echo "formats: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# tests/cli/lazylibs.sh NNCMP — libhdf5 and libzip are loaded only when a study needs them, and
# OpenBLAS and LAPACKE only for a product (include/nncmp/dynlib.h, linalg.h): the binary has
# none of them as DT_NEEDED, the dynamic loader does not load them for --version or for the
# report of a study of npy files, loads libhdf5 and libzip for a study with .h5 and .npz files,
# which then reads exactly as the same arrays written as .npy do (report and neuron statistics,
# a chunked HDF5 layer read in blocks by its forked child), and OpenBLAS and LAPACKE for a
# correspondence or a PCA. The oracles: readelf, the loader's own LD_DEBUG=files trace, the npy
# study, and NumPy's accuracies. With NNCMP_ABSENT=build/tests/nncmp-absent (a build whose
# sonames do not exist: make unit), a study that needs libhdf5 or libzip exits 2 with one line
# naming the file and the library, a product with one line naming OpenBLAS, and an npy study's
# report still works. Runs from the top of the tree; needs /usr/bin/python3 with h5py.
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
[ -x "$NNCMP" ] || { echo "lazylibs: no binary $NNCMP" >&2; exit 2; }
TMP=$(mktemp -d /tmp/nncmp-lazylibs-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
XDG_CACHE_HOME=$TMP/cache
export XDG_CACHE_HOME
pass=0
fail=0
. tests/cli_lib.sh

needed=$(readelf -d "$NNCMP" | grep NEEDED)
if [ -z "$needed" ]; then
	bad "readelf -d lists no NEEDED library at all"
elif printf '%s\n' "$needed" | grep -Ei 'hdf5|libzip'; then
	bad "the binary links libhdf5 or libzip (DT_NEEDED above)"
else
	ok
fi

# loaded: the libraries the loader opened while NNCMP ran with "$@" (LD_DEBUG=files)
loaded() {
	LD_DEBUG=files LD_DEBUG_OUTPUT=$TMP/ld "$NNCMP" "$@" >/dev/null 2>&1
	cat "$TMP"/ld.* 2>/dev/null | sed -n 's/.*file=\([^ ]*\).*/\1/p' | sort -u
	rm -f "$TMP"/ld.*
}
libs=$(loaded --version)
if [ -z "$libs" ]; then
	bad "LD_DEBUG=files traced nothing for --version"
elif printf '%s\n' "$libs" | grep -Ei 'hdf5|libzip|curl|krb5|openblas|lapack|gfortran'; then
	bad "--version loads libhdf5, libzip, OpenBLAS, LAPACKE or their dependencies (above)"
else
	ok
fi
if printf '%s\n' "$needed" | grep -Ei 'openblas|lapack|blas'; then
	bad "the binary links OpenBLAS or LAPACKE (DT_NEEDED above)"
else
	ok
fi

# the same arrays as .npy (study npy/s) and as .h5 / .npz (study lib/s)
/usr/bin/python3 - "$TMP" <<'PY' || { echo "lazylibs: python failed" >&2; exit 2; }
import json, os, sys
import numpy as np, h5py
t = sys.argv[1]
rng = np.random.default_rng(20)
n, k, h = 300, 4, 24
labels = rng.integers(0, k, n)
probs = []
for m in range(4):
    p = rng.random((n, k)).astype(np.float32) + np.eye(k, dtype=np.float32)[labels] * (m + 1) * 0.3
    probs.append(p / p.sum(1, keepdims=True))
act = (rng.standard_normal((n, h)) * 2).astype(np.float32)
for kind in ("npy", "lib"):
    d = f"{t}/{kind}/s"
    for m in "abcd":
        os.makedirs(f"{d}/models/{m}")
    os.makedirs(f"{d}/models/a/act")
    np.save(f"{d}/labels.npy", labels)
    if kind == "npy":
        for m, p in zip("abcd", probs):
            np.save(f"{d}/models/{m}/probs.npy", p)
        np.save(f"{d}/models/a/act/fc.npy", act)
        continue
    with h5py.File(f"{d}/models/a/probs.h5", "w") as f:  # chunked, deflated: read in blocks
        f.create_dataset("probs", data=probs[0], chunks=(32, k), compression="gzip")
    with h5py.File(f"{d}/models/b/probs.h5", "w") as f:  # contiguous: mapped
        f.create_dataset("probs", data=probs[1])
    np.savez_compressed(f"{d}/models/c/probs.npz", probs=probs[2])  # inflated
    np.savez(f"{d}/models/d/probs.npz", probs=probs[3])  # stored: mapped
    with h5py.File(f"{d}/models/a/act/fc.h5", "w") as f:
        f.create_dataset("fc", data=act, chunks=(16, h), compression="gzip")
acc = {m: float((p.argmax(1) == labels).mean()) for m, p in zip("abcd", probs)}
json.dump(acc, open(f"{t}/acc.json", "w"))
PY

libs=$(loaded --no-journal report "$TMP/npy/s" --json)
if printf '%s\n' "$libs" | grep -Ei 'hdf5|libzip|openblas|lapack'; then
	bad "report of a study of npy files loads libhdf5, libzip, OpenBLAS or LAPACKE (above)"
else
	ok
fi
# a product (the correspondence, a PCA) loads OpenBLAS and LAPACKE, and the two agree: a layer's
# correspondence with itself is CKA 1 and every neuron's best match r = 1
for cmd in "similarity $TMP/npy/s --model a --layer fc --cka" "project $TMP/npy/s --model a --layer fc"; do
	# shellcheck disable=SC2086 # the words of cmd
	libs=$(loaded --no-journal $cmd)
	for want in openblas lapacke; do
		if printf '%s\n' "$libs" | grep -qi "$want"; then ok; else
			bad "$cmd does not load $want"
		fi
	done
done
expect 0 "linear CKA: 1.0000" -- "$NNCMP" --no-journal similarity "$TMP/npy/s" --model a --layer fc --cka
libs=$(loaded --no-journal report "$TMP/lib/s" --json)
for want in hdf5 libzip; do
	if printf '%s\n' "$libs" | grep -qi "$want"; then ok; else
		bad "a study with .h5 and .npz files does not load $want"
	fi
done

"$NNCMP" --no-journal report "$TMP/npy/s" --json >"$TMP/npy.json" 2>"$TMP/err" ||
	bad "report of the npy study failed: $(head -2 "$TMP/err")"
"$NNCMP" --no-journal report "$TMP/lib/s" --json >"$TMP/lib.json" 2>"$TMP/err" ||
	bad "report of the h5/npz study failed: $(head -2 "$TMP/err")"
if [ -s "$TMP/npy.json" ] && cmp -s "$TMP/npy.json" "$TMP/lib.json"; then ok; else
	bad "report --json differs between the npy and the h5/npz study"
fi
/usr/bin/python3 - "$TMP" <<'PY' && ok || bad "accuracies of the h5/npz study differ from NumPy's"
import json, sys
t = sys.argv[1]
want = json.load(open(f"{t}/acc.json"))
got = {m["name"]: m["accuracy"] for m in json.load(open(f"{t}/lib.json"))["models"]}
bad = [m for m in want if abs(got.get(m, -1) - want[m]) > 1e-12]
if bad or len(got) != 4:
    print("lazylibs: want", want, "got", got)
    sys.exit(1)
PY
for s in npy lib; do
	NNCMP_CACHE=0 NNCMP_H5_VERIFY_MB=0 "$NNCMP" --no-journal neurons "$TMP/$s/s" --model a \
		--layer fc --json >"$TMP/neurons-$s.json" 2>"$TMP/err" ||
		bad "neurons of the $s study failed: $(head -2 "$TMP/err")"
done
if [ -s "$TMP/neurons-npy.json" ] && cmp -s "$TMP/neurons-npy.json" "$TMP/neurons-lib.json"; then
	ok
else
	bad "neurons --json of the chunked HDF5 layer differs from the npy layer's"
fi

if [ -n "${NNCMP_ABSENT:-}" ]; then
	cp -r "$TMP/lib/s" "$TMP/h5only"
	rm -rf "$TMP/h5only/models/c" "$TMP/h5only/models/d"
	expect 2 "models/a/probs.h5: libhdf5 (libnncmp-absent-hdf5.so.0) could not be loaded" -- \
		"$NNCMP_ABSENT" --no-journal report "$TMP/h5only"
	n=$("$NNCMP_ABSENT" --no-journal report "$TMP/h5only" 2>&1 | wc -l)
	[ "$n" = 1 ] && ok || bad "the load failure takes $n lines, want 1"
	rm -rf "$TMP/lib/s/models/a" "$TMP/lib/s/models/b"
	expect 2 "models/c/probs.npz: libzip (libnncmp-absent-zip.so.0) could not be loaded" -- \
		"$NNCMP_ABSENT" --no-journal report "$TMP/lib/s"
	expect 0 "4 models" -- "$NNCMP_ABSENT" --no-journal report "$TMP/npy/s"
	expect 2 "linear algebra: libopenblas (libnncmp-absent-blas.so.0) could not be loaded" -- \
		"$NNCMP_ABSENT" --no-journal similarity "$TMP/npy/s" --model a --layer fc --cka
	n=$("$NNCMP_ABSENT" --no-journal project "$TMP/npy/s" --model a --layer fc 2>&1 | wc -l)
	[ "$n" = 1 ] && ok || bad "the OpenBLAS load failure takes $n lines, want 1"
fi

echo "lazylibs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

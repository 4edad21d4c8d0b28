#!/bin/sh
# tests/screen/h5_damaged.sh NNCMP — a chunked HDF5 activation layer with a chunk destroyed after
# h5py wrote it, over the size the open reads whole (NNCMP_H5_VERIFY_MB=0): the neurons pane says
# which file and dataset could not be read instead of showing statistics of NaN rows. Runs from
# the top of the tree; needs tmux and /usr/bin/python3 with h5py.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "h5_damaged: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "h5_damaged: tmux is not installed" >&2; exit 2; }
PY=/usr/bin/python3

. tests/screen/lib.sh

ST=$TMP/dmg
$PY - "$ST" <<'PYEOF' || { echo "h5_damaged: python failed" >&2; exit 2; }
import os, sys, numpy as np, h5py
d = sys.argv[1]
os.makedirs(d + "/models/m/act")
rng = np.random.default_rng(0)
n = 200
np.save(d + "/labels.npy", (np.arange(n) % 2).astype(np.int64))
open(d + "/classes.txt", "w").write("a\nb\n")
p = rng.random((n, 2)).astype(np.float32)
np.save(d + "/models/m/probs.npy", p / p.sum(1, keepdims=True))
f = d + "/models/m/act/fc.h5"
with h5py.File(f, "w") as h:
    h.create_dataset("fc", data=rng.standard_normal((n, 8)).astype(np.float32), chunks=(50, 8),
                     compression="gzip")
    c = h["fc"].id.get_chunk_info(2)
raw = bytearray(open(f, "rb").read())
raw[c.byte_offset:c.byte_offset + c.size] = b"\xff" * c.size
open(f, "wb").write(raw)
PYEOF
# the limit travels through a wrapper: start() gives nncmp a clean environment
REAL=$BIN
printf '#!/bin/sh\nNNCMP_H5_VERIFY_MB=0 NNCMP_CACHE=0 exec "%s" "$@"\n' "$REAL" >"$TMP/nncmp-noverify"
chmod +x "$TMP/nncmp-noverify"
BIN=$TMP/nncmp-noverify

echo "== a damaged chunk in the neuron pass, 200x40"
start C.UTF-8 200 40 "$ST"
expect "the TUI is up" "Instances"
expect "the neurons pane names the file (its one dataset) and the row" "act/fc.h5: row 100 cannot be read (a damaged"
expect_not "no statistics over the NaN rows" "dead%"
keys q
wait_prompt
BIN=$REAL
finish h5_damaged

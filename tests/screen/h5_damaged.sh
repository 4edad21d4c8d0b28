#!/bin/sh
# tests/screen/h5_damaged.sh NNCMP — a chunked HDF5 activation layer with a chunk destroyed after
# h5py wrote it, over the size the open reads whole (NNCMP_H5_VERIFY_MB=0): the neurons pane says
# which file and dataset could not be read instead of showing statistics of NaN rows, and a filter
# or a sort over act() of that layer, or a :row of the matrix view, is not applied (the status
# line says which file and row), while one over an intact layer of the same model is. Runs from
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
ok = rng.standard_normal((n, 4)).astype(np.float32)
np.save(d + "/models/m/act/ok.npy", ok)
open(d + "/ok_pos", "w").write("%d\n" % (ok[:, 0] > 0).sum())  # the oracle of the good filter
PYEOF
# the limit travels through a wrapper: start() gives nncmp a clean environment
REAL=$BIN
printf '#!/bin/sh\nNNCMP_H5_VERIFY_MB=0 NNCMP_CACHE=0 exec "%s" "$@"\n' "$REAL" >"$TMP/nncmp-noverify"
chmod +x "$TMP/nncmp-noverify"
BIN=$TMP/nncmp-noverify

echo "== a damaged chunk under a filter, a sort and the neuron pass, 200x40"
start C.UTF-8 200 40 "$ST"
expect "the TUI is up" "Instances"
keys :
type_text "filter act(m.fc.0) > 0"
keys Enter
expect "a filter over the damaged layer names the file and the row" \
	"filter not applied: $ST/models/m/act/fc.h5: row 100 cannot be read (a damaged chunk)"
expect "the filter is not applied" "filter: (all)"
expect "every instance stays" "200/200"
keys :
type_text "sort act(m.fc.1)"
keys Enter
expect "a sort over the damaged layer names the file and the row" \
	"sort not applied: $ST/models/m/act/fc.h5: row 100 cannot be read (a damaged chunk)"
expect "the sort is not applied" "sort: index"
keys :
type_text "filter act(m.ok.0) > 0"
keys Enter
expect "a filter over an intact layer applies" "filter: act(m.ok.0) > 0"
expect "with NumPy's count" "$(cat "$ST/ok_pos")/200"
keys :
type_text "sort act(m.ok.1)"
keys Enter
expect "a sort over an intact layer applies" "sort: act(m.ok.1)"
# a :row of the matrix view over the damaged layer is refused, naming the file and the row (it
# was a subset silently short of the unreadable rows); one over the intact layer has NumPy's count
keys :
type_text "row pos = act(m.fc.0) > 0"
keys Enter
keys :
type_text "view matrix"
keys Enter
expect "a :row over the damaged layer names the file and the row" \
	"row pos: $ST/models/m/act/fc.h5: row 100 cannot be read"
keys :
type_text "row -pos"
keys Enter
keys :
type_text "row pos = act(m.ok.0) > 0"
keys Enter
keys :
type_text "view matrix"
keys Enter
expect "a :row over an intact layer has NumPy's count" "pos ($(cat "$ST/ok_pos"))"
keys Escape
expect_not "Esc closes the matrix view" "Subset x neuron matrix"
# the neurons pane on the damaged layer (it shows the last layer, ok, first)
keys :
type_text "layer m.fc"
keys Enter
expect "the neurons pane names the file (its one dataset) and the row" "act/fc.h5: row 100 cannot be read (a damaged"
expect_not "no statistics over the NaN rows" "dead%"
keys q
wait_prompt
BIN=$REAL
finish h5_damaged

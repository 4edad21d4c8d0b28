#!/bin/sh
# tests/screen/plurals.sh NNCMP — the TUI's views count in the right number: a study of one
# model over one instance says "1 model over the 1 shown instance", never "1 models", and the
# matrix view "1 instance shown". The real binary in a detached tmux session (tests/screen/lib.sh).
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "plurals: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "plurals: tmux is not installed" >&2; exit 2; }
. tests/screen/lib.sh

ST=$TMP/one
/usr/bin/python3 - "$ST" <<'PY' || { echo "plurals: could not write the study" >&2; exit 2; }
import os, sys
import numpy as np
d = sys.argv[1]
os.makedirs(d + "/models/m/act")
np.save(d + "/labels.npy", np.array([0], np.int64))
with open(d + "/classes.txt", "w") as f:
    f.write("a\nb\n")
np.save(d + "/models/m/probs.npy", np.array([[0.75, 0.25]], np.float32))
np.save(d + "/models/m/act/fc.npy", np.array([[0.5, 1.5, 2.0]], np.float32))
PY

echo "== one model, one instance, 120x35"
start C.UTF-8 120 35 "$ST"
expect "the TUI is up" "Instances"
keys O
expect "the models view counts one model and one instance" "1 model over the 1 shown instance;"
expect_not "no '1 models'" "1 models"
keys Escape
keys M
expect "the matrix view counts one instance" "; 1 instance shown"
keys Escape
keys q
wait_prompt
finish plurals

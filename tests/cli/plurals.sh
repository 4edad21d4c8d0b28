#!/bin/sh
# tests/cli/plurals.sh NNCMP — counts in the CLI's text take the right number ("1 instance, 1
# class, 2 models", never "1 models"): every subcommand on a study of one instance, one class,
# two models and a layer of one neuron, its output searched for "1 NOUNs".
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
TMP=$(mktemp -d /tmp/nncmp-plurals-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
XDG_CACHE_HOME=$TMP/cache
export XDG_CACHE_HOME
pass=0
fail=0
. tests/cli_lib.sh

S=$TMP/one
/usr/bin/python3 - "$S" <<'PY' || bad "could not write the study"
import os, sys
import numpy as np
d = sys.argv[1]
for sub in ("models/m/act", "models/m/weights", "models/m2/weights"):
    os.makedirs(os.path.join(d, sub))
np.save(d + "/labels.npy", np.array([0], np.int64))
with open(d + "/classes.txt", "w") as f:
    f.write("only\n")
for m in ("m", "m2"):
    np.save(d + "/models/%s/probs.npy" % m, np.array([[1.0]], np.float32))
np.save(d + "/models/m/act/fc.npy", np.array([[0.5]], np.float32))
np.save(d + "/models/m/weights/fc.npy", np.array([[0.5]], np.float32))
np.save(d + "/models/m2/weights/fc.npy", np.array([[0.25]], np.float32))
PY

nouns='instances|classes|models|neurons|values|weights|pairs|layers|labels|decisions|shards|rows|columns|matches|bins'
for c in "report $S" "report $S --filter gt==only" "check $S" "instances $S" \
	"neurons $S --model m --layer fc" "profile $S --index 0 --model m --layer fc" \
	"matrix $S --model m --layer fc" "calibration $S" "classes $S" \
	"project $S --model m --layer fc" "similarity $S --model m --layer fc" \
	"diff $S --models m m2" "weights $S --model m --layer fc" "issues $S" \
	"preview $S --index 3" "dups $S --model m --layer fc" "decisions $S" \
	"export $S --out $TMP/out.csv --force"; do
	# shellcheck disable=SC2086
	out=$("$NNCMP" $c 2>&1)
	wrong=$(printf '%s\n' "$out" | grep -oE "(^|[^0-9.])1 ($nouns)\b" | head -1)
	if [ -n "$wrong" ]; then bad "nncmp $c says '$wrong'"; else ok; fi
done
expect 0 "one — 1 instance, 1 class, 2 models" -- "$NNCMP" report "$S"
expect 0 "one: 1 instance, 1 class" -- "$NNCMP" check "$S"
expect 0 "1 of 1 instance matches" -- "$NNCMP" instances "$S"
expect 0 "3 of 899 instances match" -- "$NNCMP" instances demo-data/digits --filter 'cnn != gt and mlp == gt'
expect 0 "m.fc: 1 instance, 1 neuron" -- "$NNCMP" neurons "$S" --model m --layer fc
expect 0 "m.fc: 1 neuron, most positive first" -- "$NNCMP" profile "$S" --index 0 --model m --layer fc
expect 0 "1 neuron, 1 instance" -- "$NNCMP" matrix "$S" --model m --layer fc
expect 0 "(1 value)" -- "$NNCMP" weights "$S" --model m --layer fc
expect 0 "(1, 1), f4 vs f4, 1 weight:" -- "$NNCMP" diff "$S" --models m m2
expect 0 "15 bins, 1 instance;" -- "$NNCMP" calibration "$S"
expect 2 "the study has 1 instance " -- "$NNCMP" preview "$S" --index 3
expect 0 "1 label (0 relabelled" -- "$NNCMP" export "$S" --out "$TMP/o2.csv"
expect 0 "digits — 899 instances, 10 classes, 4 models" -- "$NNCMP" report demo-data/digits

# the messages that refuse a study count right too: a binary model's one column of scores
B=$TMP/bin
/usr/bin/python3 - "$B" <<'PY' || bad "could not write the one-column study"
import os, sys
import numpy as np
d = sys.argv[1]
os.makedirs(d + "/models/m/act")
np.save(d + "/labels.npy", np.array([0, 1, 1], np.int64))
with open(d + "/classes.txt", "w") as f:
    f.write("a\nb\n")
np.save(d + "/models/m/probs.npy", np.ones((3, 1), np.float32))
PY
expect 2 "models/m/probs.npy: 1 column, but $B/classes.txt names 2 classes" -- "$NNCMP" check "$B"
/usr/bin/python3 -c "import numpy as np; np.save('$B/models/m/probs.npy', np.full((3, 2), 0.5, np.float32)); np.save('$B/models/m/act/fc.npy', np.ones((1, 4), np.float32))"
expect 2 "models/m/act/fc.npy: 1 row, but $B/labels.npy has 3" -- "$NNCMP" check "$B"

echo "plurals: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/bash
# The bad-input suite: malformed studies, each built here byte by byte. Every one must give exit
# status 2 and exactly one line on stderr that names the file and the problem, or be accepted
# (exit 0) where the README says so; never a crash, a hang or output on stdout before the error.
# Usage: tests/badinput/run.sh ./nncmp
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
ROOT=$(mktemp -d /tmp/nncmp-bad-XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
export NNCMP_CACHE=0
pass=0
fail=0
n=0

# npy FILE DESCR SHAPE HEXBYTES: a version 1.0 npy file (header padded to 64 as NumPy does)
npy() {
	local dict="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
	local dlen # in bytes: DESCR may hold printf escapes (\000)
	dlen=$(printf '%b' "$dict" | wc -c)
	local total=$((10 + dlen + 1))
	local pad=$(((64 - total % 64) % 64))
	local hlen=$((dlen + pad + 1))
	mkdir -p "$(dirname "$1")"
	{
		printf '\223NUMPY\001\000'
		printf "\\$(printf %03o $((hlen & 255)))\\$(printf %03o $((hlen >> 8)))"
		printf '%b' "$dict"
		printf '%*s' $pad ''
		printf '\n'
		printf "$4"
	} >"$1"
}

# little-endian bytes of common values
I0='\x00\x00\x00\x00\x00\x00\x00\x00'
I1='\x01\x00\x00\x00\x00\x00\x00\x00'
I5='\x05\x00\x00\x00\x00\x00\x00\x00'
IM1='\xff\xff\xff\xff\xff\xff\xff\xff'
F0='\x00\x00\x00\x00'
F1='\x00\x00\x80\x3f'
FH='\x00\x00\x00\x3f'   # 0.5
FQ='\x00\x00\x80\x3e'   # 0.25
F3Q='\x00\x00\x40\x3f'  # 0.75
FNAN='\x00\x00\xc0\x7f'
FINF='\x00\x00\x80\x7f'
FNEG='\x00\x00\x00\xbf' # -0.5

# good STUDY: N = 2 instances, classes a and b, model m (probs), an activation layer
good() {
	rm -rf "$1"
	mkdir -p "$1/models/m/act"
	npy "$1/labels.npy" '<i8' '(2,)' "$I0$I1"
	printf 'a\nb\n' >"$1/classes.txt"
	npy "$1/models/m/probs.npy" '<f4' '(2, 2)' "$F3Q$FQ$FQ$F3Q"
	npy "$1/models/m/act/fc.npy" '<f4' '(2, 3)' "$F1$F0$FNAN$FH$FINF$F1"
	printf '{"id": "x"}\n{"id": "y", "text": "hi"}\n' >"$1/samples.jsonl"
}

# bad NAME NEEDLE: the study in $S must be refused with one stderr line holding NEEDLE
bad() {
	n=$((n + 1))
	local out err st
	out=$(timeout 20 "$NNCMP" check "$S" 2>"$ROOT/err")
	st=$?
	err=$(cat "$ROOT/err")
	local lines
	lines=$(printf '%s' "$err" | grep -c '')
	if [ $st -ne 2 ]; then
		fail=$((fail + 1))
		echo "FAIL [$1]: exit $st (want 2): $(printf '%s' "$err" | head -2)"
	elif [ "$lines" -ne 1 ] || [ -n "$out" ]; then
		fail=$((fail + 1))
		echo "FAIL [$1]: $lines stderr lines, stdout '$out'"
	elif ! printf '%s' "$err" | grep -qF -- "$2"; then
		fail=$((fail + 1))
		echo "FAIL [$1]: '$err' lacks '$2'"
	else
		pass=$((pass + 1))
	fi
}

# accepted NAME [NEEDLE]: the study must open (exit 0); NEEDLE, if given, in stderr (a warning)
accepted() {
	n=$((n + 1))
	local st
	timeout 20 "$NNCMP" check "$S" >/dev/null 2>"$ROOT/err"
	st=$?
	if [ $st -ne 0 ]; then
		fail=$((fail + 1))
		echo "FAIL [$1]: exit $st (want 0): $(head -2 "$ROOT/err")"
	elif [ -n "${2:-}" ] && ! grep -qF -- "$2" "$ROOT/err"; then
		fail=$((fail + 1))
		echo "FAIL [$1]: no warning '$2'"
	else
		pass=$((pass + 1))
	fi
}

S=$ROOT/s

good "$S"; accepted "the good study itself"
rm -rf "$S"; mkdir -p "$S"; bad "empty directory" "not a study"
rm -rf "$S"; bad "no such study" "No such file or directory"
good "$S"; head -c 70 "$S/labels.npy" >"$S/x" && mv "$S/x" "$S/labels.npy"; bad "truncated labels header" "labels.npy: truncated npy header"
good "$S"; head -c 135 "$S/labels.npy" >"$S/x" && mv "$S/x" "$S/labels.npy"; bad "truncated labels data" "labels.npy: header promises 16 data bytes"
good "$S"; printf 'PK\003\004not an npy file at all, but a zip' >"$S/labels.npy"; bad "wrong magic" "labels.npy: not an npy file"
good "$S"; npy "$S/labels.npy" '<i8' '(3,)' "$I0$I1"; bad "header claims more rows" "labels.npy: header promises 24 data bytes"
good "$S"; npy "$S/labels.npy" '<i8' '(1000000000000,)' "$I0$I1"; bad "header claims terabytes" "labels.npy: header promises 8000000000000 data bytes"
good "$S"; npy "$S/labels.npy" '<i8' '(99999999999999999999999999,)' "$I0"; bad "shape beyond size_t" "labels.npy: malformed npy header (shape)"
good "$S"; npy "$S/labels.npy" '<c8' '(2,)' "$I0$I1"; bad "complex dtype" "unsupported dtype '<c8'"
good "$S"; npy "$S/labels.npy" '<U4' '(2,)' "$I0$I1$I0$I1"; bad "string dtype" "unsupported dtype '<U4'"
good "$S"; npy "$S/labels.npy" '<i8\000junk' '(2,)' "$I0$I1"; bad "NUL inside the descr" "labels.npy: malformed npy header (descr)"
good "$S"; npy "$S/models/m/probs.npy" '<f4\000junk' '(2, 2)' "$F3Q$FQ$FQ$F3Q"; bad "NUL inside the probs descr" "probs.npy: malformed npy header (descr)"
good "$S"; npy "$S/labels.npy" '<f4' '(2,)' "$F0$FNAN"; bad "NaN label" "labels.npy: row 1 holds nan"
good "$S"; npy "$S/labels.npy" '<i8' '(2,)' "$I0$IM1"; bad "negative label" "labels.npy: row 1 holds -1"
good "$S"; npy "$S/labels.npy" '<i8' '(2,)' "$I0$I5"; bad "label out of range" "labels.npy: row 1 holds class 5, but there are 2 classes"
good "$S"; npy "$S/labels.npy" '<i8' '(1, 2)' "$I0$I1"; bad "labels as a matrix" "labels.npy: shape (1, 2)"
good "$S"; npy "$S/labels.npy" '<i8' '(0,)' ""; bad "no instances" "labels.npy: no instances"
good "$S"; npy "$S/models/m/probs.npy" '<f4' '(1, 2)' "$F3Q$FQ"; bad "probs row count" "probs.npy: 1 row, but"
good "$S"; npy "$S/models/m/probs.npy" '<f4' '(2, 1)' "$F1$F1"; bad "probs column count" "probs.npy: 1 column, but"
good "$S"; npy "$S/models/m/probs.npy" '<f4' '(2, 2)' "$F3Q$FQ$FNAN$F3Q"; bad "NaN probability" "probs.npy: row 1: NaN"
good "$S"; npy "$S/models/m/probs.npy" '<f4' '(2, 2)' "$FINF$FQ$FQ$F3Q"; bad "infinite probability" "probs.npy: row 0: infinite value"
good "$S"; npy "$S/models/m/probs.npy" '<f4' '(2, 2)' "$F3Q$F3Q$FQ$F3Q"; bad "probabilities not summing to 1" "probs.npy: row 0: row does not sum to 1"
good "$S"; npy "$S/models/m/probs.npy" '<f4' '(2, 2)' "$FNEG$F1$FQ$F3Q"; bad "negative probability" "probs.npy: row 0: negative probability"
good "$S"; npy "$S/models/m/probs.npy" '<i8' '(2, 2)' "$I0$I1$I1$I0"; bad "integer probabilities" "probs.npy: integer dtype, expected float"
good "$S"; npy "$S/models/m/probs.npy" '<f4' '(4,)' "$F3Q$FQ$FQ$F3Q"; bad "1-D probabilities" "probs.npy: 1-dimensional"
good "$S"; rm "$S/models/m/probs.npy"; npy "$S/models/m/logits.npy" '<f4' '(2, 2)' "$F1$FNAN$F0$F0"; bad "NaN logit" "logits.npy: row 0: NaN"
good "$S"; rm "$S/models/m/probs.npy"; npy "$S/models/m/logits.npy" '<f4' '(2, 0)' ""; bad "0 columns of logits" "logits.npy: 0 columns"
good "$S"; rm "$S/classes.txt" "$S/models/m/probs.npy"; npy "$S/labels.npy" '<i8' '(2,)' "$I0\x40\x42\x0f\x00\x00\x00\x00\x00"; npy "$S/models/m/pred.npy" '<i8' '(2,)' "$I0$I1"; bad "class id 1000000" "at most 5000 classes"
good "$S"; rm "$S/models/m/probs.npy"; npy "$S/models/m/pred.npy" '<i8' '(2,)' "$I0$I5"; bad "prediction out of range" "pred.npy: row 1 holds class 5"
good "$S"; rm "$S/models/m/probs.npy"; npy "$S/models/m/pred.npy" '<i8' '(2,)' "$IM1$I0"; bad "negative prediction" "pred.npy: row 0 holds -1"
good "$S"; rm -rf "$S/models"; bad "no models directory" "no models"
good "$S"; rm -rf "$S/models/m"; bad "empty models directory" "no models"
good "$S"; mkdir -p "$S/models/z"; bad "model without outputs" "models/z: no probs, logits or pred file (.npy, .npz, .h5, .hdf5"
good "$S"; mv "$S/models/m" "$S/models/not"; bad "reserved model name" "model name 'not' is reserved"
good "$S"; mv "$S/models/m" "$S/models/9lives"; bad "model name starting with a digit" "must start with a letter"
good "$S"; cp -r "$S/models/m" "$S/models/m2"; printf '[study]\nlabels = labels.npy\n[model m]\nprobs = models/m/probs.npy\n[model m2]\nprobs = models/m2/probs.npy\n[model m]\npred = x.npy\n' >"$S/study.ini"; bad "duplicate model names" "model 'm' is defined twice"
good "$S"; printf '[study]\nlabels = labels.npy\nlabel = x\n' >"$S/study.ini"; bad "manifest unknown key" "study.ini:3: unknown key 'label'"
L43=$(printf 'm%.0s' $(seq 43)) # "[model NAME]" with the longest NAME inih keeps whole (49 characters)
good "$S"; printf '[study]\nlabels = labels.npy\n[model %s]\nprobs = models/m/probs.npy\n' "$L43" >"$S/study.ini"; accepted "a 43-character model name"
good "$S"; printf '[study]\nlabels = labels.npy\n[model %sa]\nprobs = models/m/probs.npy\n[model %sb]\nact.fc = models/m/act/fc.npy\n' "$L43" "$L43" >"$S/study.ini"; bad "model names past inih's section limit" "study.ini:3: section name longer than 49 characters"
good "$S"; printf '[study]\nlabels = labels.npy\n[model m]\nprobs = models/m/probs.npy\n[model m]\nact.fc = models/m/act/fc.npy\n' >"$S/study.ini"; bad "one model's section twice in a row" "study.ini:5: model 'm' is defined twice (first at line 3)"
good "$S"; printf '[study]\nlabels = labels.npy\n[model m]\nprobs = models/m/probs.npy\n[study]\nclasses = classes.txt\n' >"$S/study.ini"; bad "[study] twice" "study.ini:5: section [study] is given twice (first at line 1)"
good "$S"; printf '[study]\nlabels = labels.npy\n[model m]\nprobs = models/m/probs.npy,\n  ; [model m] in a comment\n [model m]\n' >"$S/study.ini"; bad "an indented header is a continuation line, as inih reads it" "s/[model m]: No such file"
good "$S"; printf '[study]\nclasses = classes.txt\n[model m]\nprobs = models/m/probs.npy\n' >"$S/study.ini"; bad "manifest without labels" "does not name 'labels'"
good "$S"; printf '[study]\nlabels = labels.npy\n[model m]\nprobs = elsewhere/probs.npy\n' >"$S/study.ini"; bad "manifest names a missing file" "elsewhere/probs.npy: No such file or directory"
good "$S"; printf '\377\376garbage\000\n' >"$S/study.ini"; bad "binary manifest" "study.ini"
good "$S"; rm "$S/models/m/probs.npy"; mkdir "$S/models/m/probs.npy"; bad "directory where a file should be" "probs.npy: is a directory"
good "$S"; rm "$S/labels.npy"; ln -s labels.npy "$S/labels.npy"; bad "symlink loop" "labels.npy: Too many levels of symbolic links"
good "$S"; rm "$S/classes.txt"; mkfifo "$S/classes.txt"; bad "FIFO instead of a file" "classes.txt: not a regular file"
# issue 14: no reader may wait on a FIFO or a device (each run under timeout: a hang fails)
good "$S"; rm "$S/samples.jsonl"; mkfifo "$S/samples.jsonl"; bad "FIFO samples.jsonl" "samples.jsonl: not a regular file"
good "$S"; rm "$S/labels.npy"; mkfifo "$S/labels.csv"; bad "FIFO labels.csv" "labels.csv: not a regular file"
good "$S"; mkfifo "$S/study.ini"; bad "FIFO study.ini" "study.ini: not a regular file"
good "$S"; rm "$S/models/m/probs.npy"; mkfifo "$S/models/m/probs.npy"; bad "FIFO probs.npy" "probs.npy: not a regular file"
if mknod "$ROOT/zero" c 1 5 2>/dev/null; then
	good "$S"; rm "$S/classes.txt"; mknod "$S/classes.txt" c 1 5; bad "/dev/zero as classes.txt" "classes.txt: not a regular file"
	good "$S"; rm "$S/samples.jsonl"; mknod "$S/samples.jsonl" c 1 5; bad "/dev/zero as samples.jsonl" "samples.jsonl: not a regular file"
	good "$S"; mknod "$S/study.ini" c 1 5; bad "/dev/zero as study.ini" "study.ini: not a regular file"
	good "$S"; rm "$S/labels.npy"; mknod "$S/labels.npy" c 1 5; bad "/dev/zero as labels.npy" "labels.npy: not a regular file"
	rm -f "$ROOT/zero"
else
	echo "(skipped: device nodes need root)"
fi
# issue 17: models/NAME/graph.json (export_torch graph=True), read by check and arch
gj() { printf '%s' "$1" >"$S/models/m/graph.json"; }
GM='{"name": "fc", "type": "Linear", "shape": [3], "params": 12'
good "$S"; gj "{\"source\": \"fx\", \"modules\": [$GM, \"inputs\": [-1]}]}"; accepted "a good graph.json"
good "$S"; gj '{"source": "fx", "modules": ['; bad "truncated graph.json" "graph.json: line 1:"
good "$S"; gj ''; bad "empty graph.json" "graph.json"
good "$S"; gj '[]'; bad "graph.json not an object" "graph.json: expected a JSON object"
good "$S"; gj '{"source": "jit", "modules": []}'; bad "graph.json unknown source" "graph.json: source must be"
good "$S"; gj '{"source": "fx", "modules": {}}'; bad "graph.json modules not an array" "graph.json: modules must be an array"
good "$S"; gj "{\"source\": \"fx\", \"modules\": [$GM, \"inputs\": [0]}]}"; bad "graph.json input to itself" "graph.json: modules[0] (fc): input 0 is not"
good "$S"; gj "{\"source\": \"fx\", \"modules\": [$GM, \"inputs\": [99999999999999999999]}]}"; bad "graph.json huge input id" "graph.json"
good "$S"; gj '{"source": "fx", "modules": [{"name": "fc", "type": "Linear", "shape": [-3], "params": 1}]}'; bad "graph.json negative shape" "graph.json: modules[0] (fc): shape must be"
good "$S"; gj '{"source": "fx", "modules": [{"name": "fc", "type": "Linear", "shape": [3], "params": "many"}]}'; bad "graph.json params not a number" "params must be a non-negative integer"
good "$S"; gj "{\"source\": \"fx\", \"modules\": [$GM, \"name\": \"x\"}]}"; bad "graph.json duplicate key" "graph.json: line 1: duplicate object key"
good "$S"; gj '{"source": "fx", "modules": [{"name": "\u001b[2J", "type": "L", "shape": [1], "params": -1}]}'; bad "graph.json escape in a name" "params must be"
n=$((n + 1)); if "$NNCMP" check "$S" 2>&1 | grep -q "$(printf '\033')"; then fail=$((fail + 1)); echo "FAIL [raw ESC from graph.json in an error]"; else pass=$((pass + 1)); fi
good "$S"; gj "$(head -c 3000 /dev/zero | tr '\0' '[')"; bad "graph.json nested 3000 deep" "graph.json"
good "$S"; mkfifo "$S/models/m/graph.json"; bad "FIFO graph.json" "graph.json: not a regular file"
good "$S"; mkdir -p "$S/models/m/graph.json"; bad "directory as graph.json" "graph.json: is a directory"
n=$((n + 1))
good "$S"; gj '{"source": "fx", "modules": [{"name": "fc", "type": "Linear", "shape": [3], "params": "x"}]}'
err=$(timeout 20 "$NNCMP" arch "$S" --model m 2>&1 >/dev/null); st=$?
if [ $st -eq 2 ] && [ "$(printf '%s\n' "$err" | grep -c '')" -eq 1 ] && printf '%s' "$err" | grep -qF "graph.json: modules[0] (fc): params must be"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL [arch on a bad graph.json]: exit $st: $err"; fi
# study.ini's graph = PATH and saliency.LAYER = PATH: the same checks as the directory's files
mi() { printf '[study]\nlabels = labels.npy\n[model m]\nprobs = models/m/probs.npy\n%b' "$1" >"$S/study.ini"; }
good "$S"; mkdir -p "$S/g"; printf '{"source": "fx", "modules": [%s, "inputs": [-1]}]}' "$GM" >"$S/g/fc.json"; mi 'graph = g/fc.json\n'; accepted "graph = an existing graph.json"
good "$S"; mi 'graph = g/none.json\n'; bad "graph = a missing file" "g/none.json: No such file or directory"
good "$S"; mkdir -p "$S/g"; printf '{"source": "fx", "modules": [' >"$S/g/bad.json"; mi 'graph = g/bad.json\n'; bad "graph = a truncated graph.json" "g/bad.json: line 1:"
good "$S"; mkdir -p "$S/g"; printf '[]' >"$S/g/bad.json"; mi 'graph = g/bad.json\n'; bad "graph = a graph.json not an object" "g/bad.json: expected a JSON object"
good "$S"; mkdir -p "$S/g/dir.json"; mi 'graph = g/dir.json\n'; bad "graph = a directory" "g/dir.json: is a directory"
good "$S"; mi 'graph = ${NNCMP_NO_SUCH_VAR}/g.json\n'; bad "graph = an unset variable" "study.ini:5: 'graph': environment variable \${NNCMP_NO_SUCH_VAR} is not set"
good "$S"; mi 'graph = \n'; bad "graph = nothing" "study.ini:5: 'graph' is empty"
good "$S"; mkdir -p "$S/g"; : >"$S/g/a.json"; mi 'graph = g/a.json\ngraph = g/a.json\n'; bad "graph twice" "study.ini:6: 'graph' is given twice"
good "$S"; npy "$S/sal.npy" '<f4' '(2, 1, 2)' "$F1$F0$FH$FQ"; mi 'saliency.fc = sal.npy\n'; accepted "saliency.fc = (2, 1, 2) maps"
good "$S"; mi 'saliency.fc = maps/none.npy\n'; bad "saliency.LAYER = a missing file" "maps/none.npy: No such file or directory"
good "$S"; npy "$S/sal.npy" '<f4' '(2, 2)' "$F1$F0$FH$FQ"; mi 'saliency.fc = sal.npy\n'; bad "saliency.LAYER = 2-D" "sal.npy: 2-dimensional, expected (N, h, w) saliency maps"
good "$S"; npy "$S/sal.npy" '<f4' '(1, 2, 2)' "$F1$F0$FH$FQ"; mi 'saliency.fc = sal.npy\n'; bad "saliency.LAYER = too few rows" "sal.npy: 1 row, but"
good "$S"; npy "$S/sal.npy" '<i8' '(2, 1, 1)' "$I0$I1"; mi 'saliency.fc = sal.npy\n'; bad "saliency.LAYER = integer maps" "sal.npy: integer dtype, expected float saliency maps"
good "$S"; printf 'junk' >"$S/sal.npy"; mi 'saliency.fc = sal.npy\n'; bad "saliency.LAYER = not an npy file" "sal.npy"
good "$S"; mi 'saliency. = sal.npy\n'; bad "saliency. without a layer" "study.ini:5: 'saliency.' names no layer"
good "$S"; npy "$S/sal.npy" '<f4' '(2, 1, 2)' "$F1$F0$FH$FQ"; mi 'saliency.fc = sal.npy\nsaliency.fc = sal.npy\n'; bad "saliency.LAYER twice" "study.ini:6: 'saliency.fc' is given twice"
good "$S"; npy "$S/sal.npy" '<f4' '(2, 1, 2)' "$F1$F0$FH$FQ"; mi 'saliency.fc = sal.npy\nsaliency.fd = sal.npy\n'; accepted "a second saliency.LAYER is warned about" "sal.npy: ignored, $S/sal.npy is model m's saliency"
good "$S"; mi 'graphs = g.json\n'; bad "an unknown model key lists graph and saliency" "graph, saliency.LAYER)"
# a study file that is a symbolic link to a regular file is the user's choice: it is read
good "$S"; mv "$S/classes.txt" "$ROOT/classes.real"; ln -s "$ROOT/classes.real" "$S/classes.txt"; accepted "classes.txt as a symbolic link"
# an image that is a FIFO: preview refuses it at once
n=$((n + 1))
good "$S"; mkdir -p "$S/images"; mkfifo "$S/images/x.png"; printf '{"id": "x", "image": "images/x.png"}\n{"id": "y"}\n' >"$S/samples.jsonl"
err=$(timeout 20 "$NNCMP" preview "$S" --index 0 --graphics blocks 2>&1 >/dev/null)
st=$?
if [ $st -eq 2 ] && printf '%s' "$err" | grep -qF "x.png: not a regular file"; then pass=$((pass + 1)); else
	fail=$((fail + 1)); echo "FAIL [FIFO image]: exit $st: $err"; fi
good "$S"; printf 'a\nb\na\n' >"$S/classes.txt"; npy "$S/models/m/probs.npy" '<f4' '(2, 3)' "$F1$F0$F0$F0$F1$F0"; bad "duplicate class" "classes.txt:3: class 'a' is listed twice"
good "$S"; : >"$S/classes.txt"; bad "empty classes.txt" "classes.txt: no class names"
good "$S"; awk 'BEGIN { for (i = 0; i < 300000; i++) print "c" i }' >"$S/classes.txt"; bad "300k class names, refused before the duplicate check" "classes.txt: 300000 classes; at most 5000 are supported"
good "$S"; awk 'BEGIN { for (i = 0; i < 4999; i++) print "c" i; print "c4321" }' >"$S/classes.txt"; bad "a duplicate among 5000 names" "classes.txt:5000: class 'c4321' is listed twice"
good "$S"; printf 'a\000x\nb\n' >"$S/classes.txt"; bad "NUL in a class name" "classes.txt:1: NUL byte"
good "$S"; printf '{}\n' >"$S/samples.jsonl"; bad "samples: too few lines" "samples.jsonl: 1 lines, but"
good "$S"; printf '{}\n{"id": \n' >"$S/samples.jsonl"; bad "samples: invalid JSON" "samples.jsonl:2:"
good "$S"; printf '{}\n{"text": "caf\351"}\n' >"$S/samples.jsonl"; bad "samples: not UTF-8" "samples.jsonl:2:"
good "$S"; printf '{}\n{"image": "../../../etc/passwd"}\n' >"$S/samples.jsonl"; bad "image path escaping the study" "leaves the study directory"
good "$S"; { printf '{}\n{"text": "'; head -c 10000000 /dev/zero | tr '\0' 'x'; printf '"}\n'; } >"$S/samples.jsonl"; accepted "a 10 MB line"
good "$S"; { printf '{}\n{"text": "'; head -c 10000000 /dev/zero | tr '\0' 'x'; printf '\n'; } >"$S/samples.jsonl"; bad "an unterminated 10 MB line" "samples.jsonl:2:"
good "$S"; npy "$S/models/m/act/fc.npy" '<f4' '(1, 3)' "$F1$F0$F0"; bad "activation rows" "act/fc.npy: 1 row, but"
good "$S"; npy "$S/models/m/act/fc.npy" '<f4' '()' "$F1"; bad "scalar activation" "act/fc.npy: a scalar"
good "$S"; npy "$S/labels.npy" '<i8' '(1,)' "$I0"; npy "$S/models/m/probs.npy" '<f4' '(1, 2)' "$F3Q$FQ"; npy "$S/models/m/act/fc.npy" '<f4' '(1, 3)' "$F1$F0$F0"; printf '{}\n' >"$S/samples.jsonl"; accepted "N = 1"
# saliency maps (models/NAME/saliency/LAYER.npy): (N, h, w) float, checked at open
H1='\x00\x3c' # float16 1.0
good "$S"; npy "$S/models/m/saliency/l4.npy" '<f2' '(2, 1, 2)' "$H1$H1$H1$H1"; accepted "saliency maps"
good "$S"; npy "$S/models/m/saliency/l4.npy" '<f2' '(2, 1, 2)' "$H1$H1$H1$H1"; npy "$S/models/m/saliency/z.npy" '<f2' '(2, 1, 1)' "$H1$H1"; accepted "two saliency files" "z.npy: ignored"
good "$S"; npy "$S/models/m/saliency/l4.npy" '<f2' '(1, 1, 2)' "$H1$H1"; bad "saliency rows" "saliency/l4.npy: 1 row, but"
good "$S"; npy "$S/models/m/saliency/l4.npy" '<f2' '(2, 2)' "$H1$H1$H1$H1"; bad "saliency 2-D" "saliency/l4.npy: 2-dimensional, expected (N, h, w)"
good "$S"; npy "$S/models/m/saliency/l4.npy" '<i8' '(2, 1, 1)' "$I0$I1"; bad "integer saliency" "saliency/l4.npy: integer dtype"
good "$S"; npy "$S/models/m/saliency/l4.npy" '<f2' '(2, 0, 3)' ""; bad "empty saliency" "saliency/l4.npy: empty 0 x 3 maps"
good "$S"; npy "$S/models/m/saliency/l4.npy" '<f2' '(2, 1, 2)' "$H1$H1"; bad "truncated saliency" "saliency/l4.npy: header promises"
good "$S"; npy "$S/labels.npy" '<i8' '(2,)' "$I0$I0"; printf 'only\n' >"$S/classes.txt"; npy "$S/models/m/probs.npy" '<f4' '(2, 1)' "$F1$F1"; accepted "one class"
good "$S"; rm "$S/labels.npy"; printf 'label\nb\na\n' >"$S/labels.csv"; rm "$S/classes.txt"; accepted "labels.csv names without classes.txt" "classes are the 2 label names in sorted order"
good "$S"; rm "$S/labels.npy"; printf 'label\n"a\n' >"$S/labels.csv"; bad "malformed labels.csv" "labels.csv: malformed CSV"
good "$S"; rm "$S/labels.npy"; printf 'label\n0\n1\000\n' >"$S/labels.csv"; bad "NUL in a labels.csv cell" "labels.csv: row 3: NUL byte in a cell"
good "$S"; rm "$S/labels.npy"; printf '\357\273\277label\nb\na\n' >"$S/labels.csv"; rm "$S/classes.txt"; accepted "a BOM before the labels.csv header" "classes are the 2 label names in sorted order"
n=$((n + 1))
if [ "$("$NNCMP" instances "$S" --json 2>/dev/null | jq -c '[.instances[] | [.label, .label_id]]')" = '[["b",1],["a",0]]' ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL [labels after a BOM]: $("$NNCMP" instances "$S" --json 2>&1 | head -c 300)"; fi
good "$S"; rm "$S/labels.npy"; printf '\357\273\277label,id\n1,x\n0,y\n' >"$S/labels.csv"; accepted "a BOM before a two-column labels.csv header"
good "$S"; printf 'x\033]52;c;aGk=\007\nb\033[2J\n' >"$S/classes.txt"; accepted "escape sequences in class names"
n=$((n + 1))
if "$NNCMP" report "$S" 2>&1 | grep -q "$(printf '\033')"; then fail=$((fail + 1)); echo "FAIL [raw ESC in the report]"; else pass=$((pass + 1)); fi
good "$S"; E=$(printf 'e\033]0;owned\007'); mv "$S/models/m" "$S/models/$E"; bad "escape sequence in a model name" "may hold only letters"
n=$((n + 1))
if "$NNCMP" check "$S" 2>&1 | grep -q "$(printf '\033')"; then fail=$((fail + 1)); echo "FAIL [raw ESC in an error]"; else pass=$((pass + 1)); fi

# ---- npz, HDF5 and CSV sources, sharded labels and samples, manifest paths (study.ini) ----
PY=/usr/bin/python3
# ini STUDY PROBS_SPEC [EXTRA_MODEL_LINES]: a manifest for the good study with model m's probs
ini() {
	printf '[study]\nlabels = labels.npy\nclasses = classes.txt\n[model m]\nprobs = %s\n%s' "$2" "${3:-}" >"$1/study.ini"
}
# pyw STUDY CODE: runs Python with numpy as np, h5py, and d the study directory
pyw() {
	$PY -c "import sys, numpy as np, h5py; d = sys.argv[1]; $2" "$1" || echo "FAIL: python for $1"
}
P='np.array([[0.75, 0.25], [0.25, 0.75]], dtype=np.float32)'
good "$S"; pyw "$S" "np.savez(d + '/m.npz', probs=$P)"; ini "$S" m.npz:probs; accepted "a stored npz member"
good "$S"; pyw "$S" "np.savez_compressed(d + '/m.npz', probs=$P)"; ini "$S" m.npz; accepted "a bare npz of one array"
good "$S"; pyw "$S" "np.savez_compressed(d + '/m.npz', probs=$P)"; head -c 150 "$S/m.npz" >"$S/x" && mv "$S/x" "$S/m.npz"; ini "$S" m.npz:probs; bad "truncated npz" "m.npz: not a readable npz (zip) archive"
good "$S"; : >"$S/m.npz"; ini "$S" m.npz:probs; bad "empty npz" "m.npz: empty file, expected an npz archive"
good "$S"; printf 'not a zip at all' >"$S/m.npz"; ini "$S" m.npz:probs; bad "npz that is no zip" "m.npz: not a readable npz (zip) archive"
good "$S"; pyw "$S" "np.savez(d + '/m.npz', probs=$P)"; ini "$S" m.npz:prob; bad "npz member missing" "m.npz: no array 'prob' in the archive (it holds: probs)"
good "$S"; pyw "$S" "np.savez(d + '/m.npz', probs=$P)"; ini "$S" m.npz:; bad "npz member name empty" "m.npz:: no array name after ':'"
good "$S"; pyw "$S" "np.savez(d + '/m.npz', a=$P, b=$P)"; ini "$S" m.npz; bad "bare npz of two arrays" "m.npz: holds 2 arrays, name one as"
good "$S"; pyw "$S" "np.savez(d + '/m.npz', probs=$P.astype(np.complex64))"; ini "$S" m.npz:probs; bad "npz member of a bad dtype" "m.npz:probs: unsupported dtype '<c8'"
good "$S"; pyw "$S" "import zipfile; zipfile.ZipFile(d + '/m.npz', 'w').writestr('probs.npy', b'hello')"; ini "$S" m.npz:probs; bad "npz member that is no npy" "m.npz:probs: not an npy file (bad magic)"
good "$S"; pyw "$S" "
with h5py.File(d + '/m.h5', 'w') as f: f.create_dataset('p', data=$P, chunks=(1, 2), compression='gzip')"; ini "$S" m.h5; accepted "a bare HDF5 file of one chunked dataset"
good "$S"; pyw "$S" "
with h5py.File(d + '/m.h5', 'w') as f: f['/g/probs'] = $P"; ini "$S" m.h5:/g/prob; bad "HDF5 dataset missing" "m.h5: no dataset '/g/prob' in the file (datasets: /g/probs)"
good "$S"; pyw "$S" "
with h5py.File(d + '/m.h5', 'w') as f: f['a'] = $P; f['b'] = $P"; ini "$S" m.h5; bad "bare HDF5 file of two datasets" "m.h5: holds 2 datasets, name one as $S/m.h5:/PATH (/a, /b)"
good "$S"; pyw "$S" "
with h5py.File(d + '/m.h5', 'w') as f: f['p'] = np.array([[b'ab', b'cd'], [b'ef', b'gh']])"; ini "$S" m.h5:/p; bad "HDF5 string dataset" "m.h5:/p: unsupported HDF5 type"
good "$S"; pyw "$S" "
with h5py.File(d + '/m.h5', 'w') as f: f['p'] = np.zeros(2, dtype=[('a', 'f4'), ('b', 'f4')])"; ini "$S" m.h5:/p; bad "HDF5 compound dataset" "m.h5:/p: unsupported HDF5 type"
good "$S"; pyw "$S" "
with h5py.File(d + '/m.h5', 'w') as f: f['p'] = $P"; head -c 1000 "$S/m.h5" >"$S/x" && mv "$S/x" "$S/m.h5"; ini "$S" m.h5:/p; bad "truncated HDF5 file" "m.h5: not a readable HDF5 file"
good "$S"; printf 'plain text' >"$S/m.h5"; ini "$S" m.h5:/p; bad "HDF5 file that is none" "m.h5: not a readable HDF5 file"
good "$S"; mkdir "$S/m.h5"; ini "$S" m.h5:/p; bad "HDF5 path is a directory" "m.h5: is a directory"
good "$S"; pyw "$S" "
with h5py.File(d + '/m.h5', 'w') as f: f['p'] = np.array([[1, 0], [0, 1]], dtype='>f2')"; ini "$S" m.h5:/p; accepted "a big-endian float16 HDF5 dataset"
good "$S"; pyw "$S" "
with h5py.File(d + '/m.h5', 'w') as f: f['p'] = $P.astype(np.float64)"; ini "$S" "m.h5:/p" "act.fc = m.h5:/p
"; accepted "an HDF5 dataset used twice"
good "$S"; pyw "$S" "
with h5py.File(d + '/m.h5', 'w') as f:
    f.create_dataset('p', data=$P, chunks=(1, 2), compression='gzip'); c = f['p'].id.get_chunk_info(1)
raw = bytearray(open(d + '/m.h5', 'rb').read()); raw[c.byte_offset:c.byte_offset + c.size] = b'\\xff' * c.size
open(d + '/m.h5', 'wb').write(raw)"; ini "$S" m.h5:/p; bad "damaged HDF5 chunk" "m.h5:/p: row 1 cannot be read (a damaged chunk)"
# the same when the chunks are left to the reads (a dataset over NNCMP_H5_VERIFY_MB): at the open
# for probabilities, in the pass for an activation layer
cp "$S/m.h5" "$ROOT/damaged.h5"
(export NNCMP_H5_VERIFY_MB=0; pass=0 fail=0; bad "damaged HDF5 chunk, not verified" "m.h5:/p: row 1 cannot be read (a damaged chunk)"; exit $fail) && pass=$((pass + 1)) || fail=$((fail + 1)); n=$((n + 1))
good "$S"; cp "$ROOT/damaged.h5" "$S/m.h5"; ini "$S" models/m/probs.npy "act.fc = m.h5:/p
"
n=$((n + 1))
out=$(NNCMP_H5_VERIFY_MB=0 timeout 20 "$NNCMP" neurons "$S" --model m --layer fc 2>"$ROOT/err")
st=$?
if [ $st -eq 2 ] && [ -z "$out" ] && [ "$(grep -c '' "$ROOT/err")" -eq 1 ] &&
	grep -qF "m.h5:/p: row 1 cannot be read (a damaged chunk)" "$ROOT/err"; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
	echo "FAIL [damaged HDF5 chunk in a neuron pass]: exit $st, stdout '$out', stderr '$(cat "$ROOT/err")'"
fi
# every other computation over the layer says so too, instead of leaving the NaN rows out
for c in "instances --sort act(m.fc.0)" "instances --filter act(m.fc.0)>0" "similarity --model m --layer fc" \
	"project --model m --layer fc" "dups --model m --layer fc" "matrix --model m --layer fc"; do
	n=$((n + 1))
	# shellcheck disable=SC2086 # c is a command and its arguments
	out=$(NNCMP_H5_VERIFY_MB=0 timeout 20 "$NNCMP" ${c%% *} "$S" ${c#* } 2>"$ROOT/err")
	st=$?
	if [ $st -eq 2 ] && [ -z "$out" ] && [ "$(grep -c '' "$ROOT/err")" -eq 1 ] &&
		grep -qF "m.h5:/p: row 1 cannot be read (a damaged chunk)" "$ROOT/err"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL [damaged HDF5 chunk under $c]: exit $st, stdout '$out', stderr '$(cat "$ROOT/err")'"
	fi
done
# a bigger layer (4096 x 4 x 8 x 8 float32, 4 MiB in chunks of 256 rows, gzip) with its last
# chunk destroyed, over a verify size of 1 MiB: the open reads none of it, every computation over
# the layer is an error naming the dataset and the first row it could not read, in the process
# or its reading child; the probabilities of the same file's intact dataset are read as usual
rm -rf "$S"; mkdir -p "$S"; pyw "$S" "
n = 4096; rng = np.random.default_rng(1)
np.save(d + '/labels.npy', (np.arange(n) % 2).astype(np.int64)); open(d + '/classes.txt', 'w').write('a\nb\n')
p = rng.random((n, 2)).astype(np.float32); p /= p.sum(1, keepdims=True)
with h5py.File(d + '/big.h5', 'w') as f:
    f.create_dataset('probs', data=p, chunks=(256, 2), compression='gzip')
    f.create_dataset('act', data=rng.standard_normal((n, 4, 8, 8)).astype(np.float32), chunks=(256, 4, 8, 8), compression='gzip')
    c = f['act'].id.get_chunk_info(15)
assert c.chunk_offset == (3840, 0, 0, 0), c
raw = bytearray(open(d + '/big.h5', 'rb').read()); raw[c.byte_offset + c.size // 2:c.byte_offset + c.size] = b'\\x00' * (c.size - c.size // 2)
open(d + '/big.h5', 'wb').write(raw)"
ini "$S" big.h5:/probs "act.fc = big.h5:/act
"
for c in "check" "neurons --model m --layer fc" "instances --sort act(m.fc.0)" "instances --sort act(m.fc.255):asc" \
	"instances --filter act(m.fc.3)>0" "matrix --model m --layer fc" "matrix --model m --layer fc --rows filter --filter act(m.fc.0)>0" \
	"patches --model m --layer fc --channel 0" "patches --model m --layer fc --channel 3 --json" \
	"similarity --model m --layer fc" "project --model m --layer fc" "dups --model m --layer fc"; do
	n=$((n + 1))
	# shellcheck disable=SC2086 # c is a command and its arguments
	args=${c#"${c%% *}"}
	out=$(NNCMP_H5_VERIFY_MB=1 timeout 60 "$NNCMP" ${c%% *} "$S" $args 2>"$ROOT/err")
	st=$?
	if [ $st -eq 2 ] && [ -z "$out" ] && [ "$(grep -c '' "$ROOT/err")" -eq 1 ] &&
		grep -qF "big.h5:/act: row 3840 cannot be read (a damaged chunk)" "$ROOT/err"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL [damaged chunk past the verify size under $c]: exit $st, stdout '$(printf '%s' "$out" | head -c 200)', stderr '$(cat "$ROOT/err")'"
	fi
done
# the intact rows alone are fine: a filter that reads no act() passes, and the whole file is
# refused at the open when the verify size covers the layer
n=$((n + 1))
if NNCMP_H5_VERIFY_MB=1 timeout 60 "$NNCMP" instances "$S" --filter 'conf(m) > 0.9' --top 1 >/dev/null 2>"$ROOT/err"; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
	echo "FAIL [damaged chunk past the verify size, a filter without act()]: $(cat "$ROOT/err")"
fi
(export NNCMP_H5_VERIFY_MB=8; pass=0 fail=0; bad "damaged chunk inside the verify size" "big.h5:/act: row 3840 cannot be read (a damaged chunk)"; exit $fail) && pass=$((pass + 1)) || fail=$((fail + 1)); n=$((n + 1))
# files that crash libhdf5 1.10 (a NULL read in H5F__accum_read, found by fuzz_h5) or claim a chunk
# past the end of the file: opened in the forked check only
H5BAD=$(cd "$(dirname "$0")/h5" && pwd)
for k in 1 2 3; do
	good "$S"; cp "$H5BAD/accum_read_$k.h5" "$S/m.h5"; ini "$S" m.h5:/p
	bad "HDF5 file crashing libhdf5 ($k)" "m.h5:/p: libhdf5 crashed reading the file (Segmentation fault), not a valid file"
done
# and one whose forged chunk index made H5Dread copy past a heap buffer (H5D__select_read)
good "$S"; cp "$H5BAD/select_read_overflow.h5" "$S/m.h5"; ini "$S" m.h5:/g/probs
bad "HDF5 forged chunk index" "m.h5:/g/probs: a chunk of 19 bytes at offset 5348024557507551 lies past the end of the file (5125 bytes)"
good "$S"; cp "$H5BAD/chunk_past_end.h5" "$S/m.h5"; ini "$S" m.h5:/g/probs
bad "HDF5 chunk past the end of the file" "m.h5:/g/probs: a chunk of 4278193152 bytes at offset 5048 lies past the end of the file (5334 bytes)"
good "$S"; printf 'a,b\n0.75,0.25\n0.25,0.75\n' >"$S/m.csv"; ini "$S" m.csv; accepted "a CSV with a header"
good "$S"; printf '0.75\t0.25\n0.25\t 0.75\n' >"$S/m.tsv"; ini "$S" m.tsv; accepted "a TSV without a header"
good "$S"; printf 'a,b\n0.75,0.25\n0.25\n' >"$S/m.csv"; ini "$S" m.csv; bad "CSV ragged rows" "m.csv: row 3 has 1 fields, expected 2"
good "$S"; printf 'a,c\n0.75,0.25\n0.25,0.75\n' >"$S/m.csv"; ini "$S" m.csv; bad "CSV header mismatch" "m.csv: header column 2 is 'c', but class 1 in"
good "$S"; printf 'a,b,c\n0.75,0.25,0\n0.25,0.75,0\n' >"$S/m.csv"; ini "$S" m.csv; bad "CSV header of 3 for 2 classes" "m.csv: the header names 3 columns, but"
good "$S"; printf '0.75,0.25\nnan,0.75\n' >"$S/m.csv"; ini "$S" m.csv; bad "CSV NaN text" "m.csv: row 2, field 1: 'nan' is not a finite number"
good "$S"; printf '0.75,0.25\n1e999,0.75\n' >"$S/m.csv"; ini "$S" m.csv; bad "CSV overflow" "m.csv: row 2, field 1: '1e999' is not a finite number"
good "$S"; printf '0.75,0.25\n,0.75\n' >"$S/m.csv"; ini "$S" m.csv; bad "CSV empty field" "m.csv: row 2, field 1: '' is not a finite number"
good "$S"; printf '0.75,0.25\n"0.25,0.75\n' >"$S/m.csv"; ini "$S" m.csv; bad "CSV unterminated quote" "m.csv: row 2: "
good "$S"; printf '0.75,0.25\n0.2\0005,0.75\n' >"$S/m.csv"; ini "$S" m.csv; bad "CSV NUL byte" "m.csv: row 2, field 1: NUL byte"
good "$S"; printf 'a,b\n' >"$S/m.csv"; ini "$S" m.csv; bad "CSV header only" "m.csv: a header but no data rows"
good "$S"; : >"$S/m.csv"; ini "$S" m.csv; bad "empty CSV" "m.csv: empty file, expected a CSV file"
good "$S"; printf '0.75,0.25\n0.25,0.75\n0.5,0.5\n' >"$S/m.csv"; ini "$S" m.csv; bad "CSV of 3 rows for 2 labels" "m.csv: 3 rows, but"
good "$S"; npy "$S/y0.npy" '<i8' '(1,)' "$I0"; npy "$S/y1.npy" '<i8' '(1,)' "$I1"; printf '[study]\nlabels = y0.npy, y1.npy\n[model m]\nprobs = models/m/probs.npy\n' >"$S/study.ini"; accepted "sharded labels"
good "$S"; npy "$S/y0.npy" '<i8' '(1,)' "$I0"; npy "$S/y1.npy" '<f4' '(1,)' "$F1"; printf '[study]\nlabels = y0.npy, y1.npy\n[model m]\nprobs = models/m/probs.npy\n' >"$S/study.ini"; bad "labels shards of two dtypes" "y1.npy: dtype f4, but the first shard"
good "$S"; printf '{}\n' >"$S/s0.jsonl"; printf '{}\n{}\n' >"$S/s1.jsonl"; printf '[study]\nlabels = labels.npy\nsamples = s0.jsonl, s1.jsonl\n[model m]\nprobs = models/m/probs.npy\n' >"$S/study.ini"; bad "samples shards of too many lines" "s1.jsonl: more than the 2 lines labels have"
good "$S"; printf '[study]\nlabels = ${NNCMP_NO_SUCH_VAR}/labels.npy\n[model m]\nprobs = models/m/probs.npy\n' >"$S/study.ini"; bad "undefined variable in a path" "study.ini:2: 'labels': environment variable \${NNCMP_NO_SUCH_VAR} is not set"
good "$S"; printf '[study]\nlabels = ${HOME/labels.npy\n[model m]\nprobs = models/m/probs.npy\n' >"$S/study.ini"; bad "unclosed \${ in a path" "study.ini:2: 'labels': '\${' without a closing '}'"
good "$S"; printf '[study]\nlabels = ~/labels.npy\n[model m]\nprobs = models/m/probs.npy\n' >"$S/study.ini"; (unset HOME; pass=0 fail=0; bad "~ without HOME" "study.ini:2: 'labels': '~' needs \$HOME"; exit $fail) && pass=$((pass + 1)) || fail=$((fail + 1)); n=$((n + 1))
good "$S"; printf '[study]\nlabels = ~/labels.npy\n[model m]\nprobs = ${NNCMP_BAD_DIR}/models/m/probs.npy\n' >"$S/study.ini"; (export HOME=$S NNCMP_BAD_DIR=$S; pass=0 fail=0; accepted "~ and \${VAR} in paths"; exit $fail) && pass=$((pass + 1)) || fail=$((fail + 1)); n=$((n + 1))
LONG=$S/$(printf 'd%.0s' $(seq 120))/$(printf 'e%.0s' $(seq 120))/$(printf 'f%.0s' $(seq 120))
good "$S"; mkdir -p "$LONG"; cp "$S/models/m/probs.npy" "$LONG/p.npy"; printf '[study]\nlabels = labels.npy\n; %s\n[model m]\nprobs = %s/p.npy ; a comment\n' "$LONG" "$LONG" >"$S/study.ini"; accepted "a 400-character path and comment line"
good "$S"; printf '[study]\nlabels = labels.npy\n[model m]\nprobs = %s/nope.npy\n' "$LONG" >"$S/study.ini"; bad "a missing file on a long line is named whole" "$LONG/nope.npy: No such file"
good "$S"; printf '[study]\nlabels = labels.npy\n[model m]\n%s = x\n' "$(printf 'k%.0s' $(seq 250))" >"$S/study.ini"; bad "a key longer than inih's line" "study.ini:4: line longer than 199 characters"

echo "bad input: $pass passed, $fail failed ($n studies)"
[ $fail -eq 0 ]

#!/bin/sh
# tests/cli/formats.sh NNCMP — `nncmp instances --format jsonl|csv|tsv` against `--json`: every
# row and every value, read back with Python's csv and json modules, on a study whose texts hold
# commas, quotes, line breaks, tabs, an escape character and a byte that is not UTF-8, and on a
# copy of digits with a journal (the given/status columns) and a sort key.
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
TMP=$(mktemp -d /tmp/nncmp-formats-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
XDG_CACHE_HOME=$TMP/cache
export XDG_CACHE_HOME
pass=0
fail=0
. tests/cli_lib.sh

# a study with awkward texts and ids
/usr/bin/python3 - "$TMP/texts" <<'PY' || bad "could not write the texts study"
import json, os, sys
import numpy as np
d = sys.argv[1]
os.makedirs(d + "/models/m1")
os.makedirs(d + "/models/m-2")
texts = ['plain', 'a, comma', 'say "hi"', 'two\nlines', 'tab\there', 'crlf\r\nend',
         'esc \x1b[31m red', '"", ,\t\n"', 'ünïcödé ★', '', 'x' * 300, 'last']
n = len(texts)
np.save(d + "/labels.npy", np.array([i % 3 for i in range(n)], np.int64))
with open(d + "/classes.txt", "wb") as f:  # a byte that is not UTF-8: written as \xff
    f.write(b'neg\npos, maybe\n"q"\xff\n')
rng = np.random.default_rng(3)
p = rng.random((n, 3)) + 0.05
np.save(d + "/models/m1/probs.npy", (p / p.sum(1, keepdims=True)).astype(np.float32))
np.save(d + "/models/m-2/pred.npy", np.array([(i * 7) % 3 for i in range(n)], np.int64))
with open(d + "/samples.jsonl", "wb") as f:
    for i, t in enumerate(texts):
        rec = {"id": "id,%d" % i if i % 2 else i, "split": "te\tst" if i == 3 else "test"}
        if t:
            rec["text"] = t
        f.write(json.dumps(rec, ensure_ascii=False).encode() + b"\n")
PY

# digits with a journal: relabel 57 and 79, remove 182
cp -r demo-data/digits "$TMP/digits"
rm -f "$TMP/digits"/nncmp-journal.jsonl*
T=2026-11-22T10:00:00Z
{
	printf '{"v":1,"type":"header","study":"digits","n":899,"n_classes":10,'
	printf '"classes":["0","1","2","3","4","5","6","7","8","9"],"created":"%s"}\n' $T
	printf '{"v":1,"seq":1,"time":"%s","batch":1,"size":2,"index":57,"id":"digit-00105",' $T
	printf '"action":"relabel","old":0,"new":9}\n'
	printf '{"v":1,"seq":2,"time":"%s","batch":1,"size":2,"index":79,"id":"digit-00142",' $T
	printf '"action":"relabel","old":8,"new":2}\n'
	printf '{"v":1,"seq":3,"time":"%s","batch":2,"size":1,"index":182,' $T
	printf '"action":"remove","old":0,"new":-1}\n'
} >"$TMP/digits/nncmp-journal.jsonl"

# compare STUDY ARGS...: every format against --json with the same arguments
compare() {
	st=$1
	shift
	"$NNCMP" instances "$st" "$@" --json >"$TMP/j" 2>/dev/null || { bad "--json $*"; return; }
	for f in jsonl csv tsv; do
		"$NNCMP" instances "$st" "$@" --format $f >"$TMP/o.$f" 2>"$TMP/e.$f" ||
			{ bad "--format $f $*: $(cat "$TMP/e.$f")"; return; }
	done
	if /usr/bin/python3 - "$TMP" "$*" <<'PY'; then ok; else bad "instances $st $*: formats differ"; fi
import csv, json, sys
tmp, what = sys.argv[1], sys.argv[2]
with open(tmp + "/j", "rb") as f:
    inst = json.loads(f.read())["instances"]
assert inst, "no instances"
with open(tmp + "/o.jsonl", "rb") as f:
    raw = f.read()
assert all(b < 0x80 for b in raw), "jsonl is not ASCII"
lines = raw.decode().split("\n")
assert lines[-1] == "" and len(lines) == len(inst) + 1, (len(lines), len(inst))
assert [json.loads(l) for l in lines[:-1]] == inst, "jsonl differs from --json"

def flat(o):  # what pandas.json_normalize makes of an instance object
    out = {}
    for k, v in o.items():
        if isinstance(v, dict):
            for m, x in v.items():
                out[k + "." + m] = x
        else:
            out[k] = v
    return out

def shown(v):  # the CSV's form of a JSON string: control characters as \uXXXX
    return "".join(c if c in "\t\n\r" or not (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f)
                   else "\\u%04x" % ord(c) for c in v)

for fmt, sep in (("csv", ","), ("tsv", "\t")):
    with open(tmp + "/o." + fmt, encoding="utf-8", newline="") as f:
        text = f.read()
    assert "\x1b" not in text, fmt + ": a raw escape character"
    rows = list(csv.reader(text.splitlines(keepends=True), delimiter=sep, strict=True))
    head, body = rows[0], rows[1:]
    assert len(body) == len(inst), (fmt, len(body), len(inst))
    cols = set()
    for o in inst:
        cols |= set(flat(o))
    assert sorted(head) == sorted(cols), (fmt, head, sorted(cols))
    assert head[:4] == ["index", "id", "label", "label_id"], head
    checked = 0
    for r, o in zip(body, inst):
        assert len(r) == len(head), (fmt, r)
        fo = flat(o)
        for name, cell in zip(head, r):
            v = fo.get(name)
            if v is None:
                assert cell == "", (fmt, name, cell)
            elif isinstance(v, bool) or isinstance(v, str):
                assert cell == shown(v), (fmt, name, cell, v)
            elif isinstance(v, int):
                assert cell == str(v), (fmt, name, cell, v)
            else:
                assert float(cell) == v, (fmt, name, cell, v)
            checked += 1
    print("   %s: %d rows, %d values equal to --json (%s)" % (fmt, len(body), checked, what))
PY
}

compare "$TMP/texts" --top 0
compare "$TMP/texts" --top 0 --sort 'conf(m1)'
compare demo-data/fortunes --top 0 --filter 'bow != gt'
compare "$TMP/digits" --top 0 --sort 'margin(cnn):asc'

# the awkward cells themselves, as a spreadsheet reads them
out=$("$NNCMP" instances "$TMP/texts" --format csv --top 0)
printf '%s\n' "$out" | grep -qF '"say ""hi"""' && ok || bad "csv: quotes not doubled"
printf '%s\n' "$out" | grep -qF 'esc \u001b[31m red' && ok || bad "csv: ESC not escaped"
printf '%s\n' "$out" | grep -qF '"""q""\xff"' && ok || bad "csv: invalid byte not \\xff"
printf '%s\n' "$out" | head -1 | grep -qF 'index,id,label,label_id,preds.m-2,preds.m1,conf.m1,correct,issue,split,text' &&
	ok || bad "csv header: $(printf '%s\n' "$out" | head -1)"
expect 0 "index	id	label" -- "$NNCMP" instances "$TMP/texts" --format tsv
expect 2 "--format wants text, json, jsonl, csv or tsv, not 'xml'" -- "$NNCMP" instances "$TMP/texts" --format xml
expect 2 "--format needs a value" -- "$NNCMP" instances "$TMP/texts" --format
expect 0 "12 of 12 instances match" -- "$NNCMP" instances "$TMP/texts" --format text
# the given/status columns of a journal
"$NNCMP" instances "$TMP/digits" --format csv --filter decided 2>/dev/null >"$TMP/dec.csv"
grep -q '^57,digit-00105,9,9,0,0,relabelled,' "$TMP/dec.csv" && ok || bad "csv: relabelled row: $(grep '^57,' "$TMP/dec.csv")"
grep -q '^182,.*,removed,' "$TMP/dec.csv" && ok || bad "csv: removed row"

echo "formats: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# The triage journal from the command line: `nncmp export` and `nncmp decisions` on a copy of
# demo-data/digits whose journal this script writes by hand (the documented format), with
# relabels, a bulk batch, a remove, an undo, keep, skip and a torn last line. The exported npy is
# checked with NumPy against labels.npy changed by the decisions (the oracle), never against
# nncmp's own output.
# Usage: tests/journal/run.sh ./nncmp     (from the top of the tree)
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
PY=${PYTHON:-/usr/bin/python3}
TMP=$(mktemp -d /tmp/nncmp-journal-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
XDG_STATE_HOME=$TMP/state
XDG_CACHE_HOME=$TMP/cache
export XDG_STATE_HOME XDG_CACHE_HOME
pass=0
fail=0
. tests/cli_lib.sh

# check NAME PYTHON-CODE: runs the code (NumPy at hand as np), which must print "ok"
check() {
	name=$1
	res=$("$PY" -c "import numpy as np, json, csv, sys
$2" 2>&1)
	if [ "$res" = ok ]; then ok; else bad "$name: $res"; fi
}

S=$TMP/digits
mkdir -p "$S/models"
cp demo-data/digits/labels.npy demo-data/digits/classes.txt demo-data/digits/samples.jsonl "$S/"
cp -r demo-data/digits/models/knn "$S/models/"
J=$S/nncmp-journal.jsonl

# ---- no journal yet: everything undecided, nothing written into the study ----
expect 0 "0 relabelled, 0 kept, 0 removed, 0 skipped" -- "$NNCMP" decisions "$S"
[ ! -e "$J" ] && ok || bad "decisions created a journal"
expect 0 "0 decisions" -- "$NNCMP" export "$S" --out "$TMP/empty.npy"
check "no decisions: the given labels" "
a = np.load('$TMP/empty.npy'); l = np.load('$S/labels.npy')
print('ok' if a.dtype == np.int64 and (a == l).all() else 'differ')"

# ---- a journal: labels[0] = 0, [1] = 1, [57] = 0, [79] = 8, [182] = 0, [406] = 5 ----
T=2026-11-22T10:00:00Z
{
	printf '{"v":1,"type":"header","study":"digits","n":899,"n_classes":10,'
	printf '"classes":["0","1","2","3","4","5","6","7","8","9"],"created":"%s"}\n' $T
	# batch 1: a bulk relabel of two marked samples
	printf '{"v":1,"seq":1,"time":"%s","batch":1,"size":2,"index":57,"id":"digit-00105",' $T
	printf '"action":"relabel","old":0,"new":9}\n'
	printf '{"v":1,"seq":2,"time":"%s","batch":1,"size":2,"index":79,"id":"digit-00142",' $T
	printf '"action":"relabel","old":8,"new":2}\n'
	printf '{"v":1,"seq":3,"time":"%s","batch":2,"size":1,"index":182,' $T
	printf '"action":"remove","old":0,"new":-1}\n'
	printf '{"v":1,"seq":4,"time":"%s","batch":3,"size":1,"index":406,' $T
	printf '"action":"relabel","old":5,"new":1}\n'
	printf '{"v":1,"seq":5,"time":"%s","action":"undo","undo_batch":3}\n' $T
	printf '{"v":1,"seq":6,"time":"%s","batch":4,"size":1,"index":0,' $T
	printf '"action":"keep","old":0,"new":0}\n'
	printf '{"v":1,"seq":7,"time":"%s","batch":5,"size":1,"index":1,' $T
	printf '"action":"skip","old":1,"new":1}\n'
	# the crash: a decision cut off in the middle of its line
	printf '{"v":1,"seq":8,"time":"%s","batch":6,"size":1,"index":406,"act' $T
} >"$J"
cp "$J" "$TMP/journal.before"

expect 0 "2 relabelled, 1 kept, 1 removed, 1 skipped; 4 batches to undo" -- \
	"$NNCMP" decisions "$S"
expect 0 "nncmp-journal.jsonl:9: the last line has no newline" -- "$NNCMP" decisions "$S"
"$NNCMP" decisions "$S" --all --json >"$TMP/dec.json" 2>/dev/null
check "decisions --json" "
d = json.load(open('$TMP/dec.json'))
got = [(x['index'], x['action'], x['undone']) for x in d['decisions']]
want = [(57, 'relabel', False), (79, 'relabel', False), (182, 'remove', False),
        (406, 'relabel', True), (0, 'keep', False), (1, 'skip', False)]
print('ok' if got == want and d['undoable'] == 4 and d['counts']['remove'] == 1 else got)"

# decided instances leave the ranking; a skipped one (1) stays in it, as in the review queue
# (a copy with a model that has probabilities, which the ranking needs; knn has predictions only)
mkdir -p "$TMP/ranked" && cp -r "$S" "$TMP/ranked/" && cp -r demo-data/digits/models/cnn "$TMP/ranked/digits/models/"
"$NNCMP" issues "$TMP/ranked/digits" --top 899 --json >"$TMP/iss.json" 2>/dev/null
check "issues leaves out the decided, keeps the skipped" "
got = {x['index'] for x in json.load(open('$TMP/iss.json'))['issues']}
gone = {0, 57, 79, 182} & got
print('ok' if 1 in got and 406 in got and not gone and len(got) == 899 - 4 else (sorted(gone), 1 in got, len(got)))"

mkdir "$TMP/out"
expect 0 "899 labels (2 relabelled, 1 kept, 1 removed, 1 skipped)" -- \
	"$NNCMP" export "$S" --out "$TMP/out/labels.npy"
check "npy export matches the decisions" "
a = np.load('$TMP/out/labels.npy')
want = np.load('$S/labels.npy').astype(np.int64)
want[57] = 9; want[79] = 2; want[182] = -1      # 406's relabel was undone
print('ok' if a.dtype == np.int64 and a.shape == (899,) and (a == want).all()
      else 'differ at %s' % np.nonzero(a != want)[0][:10])"
check "decisions table" "
rows = list(csv.DictReader(open('$TMP/out/labels.decisions.csv')))
got = [(r['index'], r['id'], r['old'], r['new'], r['action']) for r in rows]
want = [('57', 'digit-00105', '0', '9', 'relabel'), ('79', 'digit-00142', '8', '2', 'relabel'),
        ('182', 'digit-00367', '0', '-1', 'remove'), ('0', 'digit-00000', '0', '0', 'keep'),
        ('1', 'digit-00001', '1', '1', 'skip')]
print('ok' if got == want and all(r['time'] == '$T' for r in rows) else got)"
cmp -s "$J" "$TMP/journal.before" && ok || bad "a read-only export changed the journal"
mode=$(umask 022 && "$NNCMP" export "$S" --out "$TMP/out/mode.npy" >/dev/null 2>&1 &&
	stat -c %a "$TMP/out/mode.npy")
[ "$mode" = 644 ] && ok || bad "export under umask 022 made mode $mode"
ls -A "$TMP/out" | grep -q '^\.' && bad "temporary left in the output directory" || ok

# csv and jsonl
expect 0 "" -- "$NNCMP" export "$S" --out "$TMP/out/table.csv"
check "csv export" "
rows = list(csv.DictReader(open('$TMP/out/table.csv')))
l = np.load('$S/labels.npy')
r = {int(x['index']): x for x in rows}
print('ok' if len(rows) == 899 and r[182]['label'] == '-1' and r[182]['class'] == ''
      and r[182]['status'] == 'removed' and r[57]['label'] == '9' and r[57]['class'] == '9'
      and r[57]['status'] == 'relabelled' and r[57]['id'] == 'digit-00105'
      and r[1]['status'] == 'skipped' and r[0]['status'] == 'kept'
      and r[406]['status'] == 'undecided'
      and all(int(x['label']) == l[int(x['index'])] for x in rows
              if x['status'] in ('undecided', 'kept', 'skipped'))
      else 'bad rows')"
expect 0 "labels.decisions.jsonl: 5 decisions" -- "$NNCMP" export "$S" --out "$TMP/out/labels.jsonl"
check "jsonl export" "
rows = [json.loads(x) for x in open('$TMP/out/labels.jsonl')]
dec = [json.loads(x) for x in open('$TMP/out/labels.decisions.jsonl')]
print('ok' if len(rows) == 899 and rows[182]['label'] == -1 and rows[182]['class'] is None
      and rows[79]['label'] == 2 and rows[79]['given'] == 8 and len(dec) == 5 else 'bad')"
expect 0 "" -- "$NNCMP" export "$S" --out "$TMP/out/plain" --format npy
[ -f "$TMP/out/plain.decisions.csv" ] && ok || bad "--format npy: no plain.decisions.csv"

# overwriting needs --force
expect 2 "exists (--force replaces it)" -- "$NNCMP" export "$S" --out "$TMP/out/labels.npy"
expect 0 "" -- "$NNCMP" export "$S" --out "$TMP/out/labels.npy" --force

# a writer holding the journal does not block readers
flock -x "$J" sleep 3 &
fl=$!
sleep 0.3
expect 0 "in use by another nncmp" -- "$NNCMP" export "$S" --out "$TMP/out/busy.npy"
kill $fl 2>/dev/null
wait $fl 2>/dev/null

# issue 14: a FIFO or a device where the journal or its pid file should be never blocks (each
# under timeout, so that a hang fails here instead of hanging the suite)
cp "$J" "$TMP/journal.keep"
rm "$J"
mkfifo "$J"
expect 2 "nncmp-journal.jsonl: not a regular file" -- timeout 10 "$NNCMP" decisions "$S"
expect 2 "nncmp-journal.jsonl: not a regular file" -- \
	timeout 10 "$NNCMP" export "$S" --out "$TMP/out/fifo.npy"
[ ! -e "$TMP/out/fifo.npy" ] && ok || bad "exported past a FIFO journal"
rm "$J"
if mknod "$J" c 1 5 2>/dev/null; then # /dev/zero: endless NUL bytes
	expect 2 "nncmp-journal.jsonl: not a regular file" -- timeout 10 "$NNCMP" decisions "$S"
	rm "$J"
else
	echo "(skipped: a device node as the journal needs root)"
fi
cp "$TMP/journal.keep" "$J"
mkfifo "$J.lock"
flock -x "$J" sleep 3 &
fl=$!
sleep 0.3
expect 0 "in use by another nncmp (pid unknown)" -- \
	timeout 10 "$NNCMP" export "$S" --out "$TMP/out/lockfifo.npy"
kill $fl 2>/dev/null
wait $fl 2>/dev/null
rm -f "$J.lock" "$TMP/out/lockfifo.npy" "$TMP/out/lockfifo.decisions.csv"
cmp -s "$J" "$TMP/journal.keep" && ok || bad "the journal changed"

# issue 14: --force replaces regular files only, never a symbolic link or a device node
printf 'precious\n' >"$TMP/precious"
ln -s "$TMP/precious" "$TMP/out/link.npy"
expect 2 "link.npy: a symbolic link: refusing to replace it" -- \
	"$NNCMP" export "$S" --out "$TMP/out/link.npy" --force
[ -L "$TMP/out/link.npy" ] && [ "$(cat "$TMP/precious")" = precious ] && ok ||
	bad "--force replaced a symbolic link or its target"
[ ! -e "$TMP/out/link.decisions.csv" ] && ok || bad "a decisions table was left after a refusal"
ln -s "$TMP/precious" "$TMP/out/side.decisions.csv"
expect 2 "side.decisions.csv: a symbolic link: refusing to replace it" -- \
	"$NNCMP" export "$S" --out "$TMP/out/side.npy" --force
[ -L "$TMP/out/side.decisions.csv" ] && [ ! -e "$TMP/out/side.npy" ] && ok ||
	bad "--force replaced the decisions table's symbolic link, or wrote the labels"
if mknod "$TMP/out/null.npy" c 1 3 2>/dev/null; then
	expect 2 "null.npy: not a regular file: refusing to replace it" -- \
		"$NNCMP" export "$S" --out "$TMP/out/null.npy" --force
	[ -c "$TMP/out/null.npy" ] && ok || bad "--force replaced a device node"
	rm -f "$TMP/out/null.npy"
else
	echo "(skipped: a device node as --out needs root)"
fi
mkfifo "$TMP/out/fifo.csv"
expect 2 "fifo.csv: not a regular file: refusing to replace it" -- \
	timeout 10 "$NNCMP" export "$S" --out "$TMP/out/fifo.csv" --force
[ -p "$TMP/out/fifo.csv" ] && ok || bad "--force replaced a FIFO"
rm -f "$TMP/out/fifo.csv" "$TMP/out/link.npy" "$TMP/out/side.decisions.csv"
ls -A "$TMP/out" | grep -q '^\.' && bad "temporary left after a refused export" || ok

# usage and output errors: exit 2, one line, nothing left behind
expect 2 "--out PATH is required" -- "$NNCMP" export "$S"
expect 2 "unknown format 'xls'" -- "$NNCMP" export "$S" --out "$TMP/x.npy" --format xls
expect 2 "give --format" -- "$NNCMP" export "$S" --out "$TMP/noext"
expect 2 "no/such/dir/l.npy" -- "$NNCMP" export "$S" --out "$TMP/no/such/dir/l.npy"
mkdir "$TMP/out/isdir.npy"
expect 2 "isdir.npy" -- "$NNCMP" export "$S" --out "$TMP/out/isdir.npy" --force
ls -A "$TMP/out" | grep -q '^\.' && bad "temporary left after a failed export" || ok

# a journal from another study, garbage in the middle, a bad index: refused, never applied
F=$TMP/fortunes
mkdir -p "$F/models"
cp demo-data/fortunes/labels.npy demo-data/fortunes/classes.txt "$F/"
cp -r demo-data/fortunes/models/nb "$F/models/"
cp "$J" "$F/nncmp-journal.jsonl"
expect 2 "refusing to apply it" -- "$NNCMP" export "$F" --out "$TMP/f.npy"
[ ! -e "$TMP/f.npy" ] && ok || bad "exported from a mismatched journal"
sed '3s/.*/garbage/' "$TMP/journal.before" >"$J"
expect 2 "nncmp-journal.jsonl:3: invalid JSON" -- "$NNCMP" export "$S" --out "$TMP/g.npy"
sed '4s/"index":182/"index":899/' "$TMP/journal.before" >"$J"
expect 2 "nncmp-journal.jsonl:4: \"index\" 899 out of range 0..898" -- \
	"$NNCMP" decisions "$S"
lines=$("$NNCMP" decisions "$S" 2>&1 >/dev/null | wc -l)
[ "$lines" -eq 1 ] && ok || bad "error is $lines lines"

echo "journal: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

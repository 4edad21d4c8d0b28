#!/bin/sh
# tests/screen/busy_review.sh NNCMP — review decisions made while the worker's jobs run (issue #13:
# nothing the user decided is ever lost). The derivation, the counts, the filters and the
# searches are slowed down with the test-only NNCMP_TEST_DELAY_MS (worker.h), so every decision
# below is made while a job is in flight: after the queue opens (each decision re-queues the
# filter's selection), after a :filter and after a :models typed in the queue. Every kind of
# decision is made (accept, keep, a class key, remove, skip, undo, bulk on marks), then a quit,
# then a later session killed with SIGKILL while a job runs. The test writes down what it chose
# (from the screen and `nncmp issues --json`) and checks it value by value against the journal
# file (read by an oracle of its own in Python) and `nncmp instances --filter decided --json`;
# a reopened queue's counts must add up to the same. Works on a copy of demo-data/digits.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "busy_review: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "busy_review: tmux is not installed" >&2; exit 2; }
. tests/screen/lib.sh

REAL=$BIN
# the sessions start with a clean environment (lib.sh's start): the delay goes in a wrapper
DELAY=2000
printf '#!/bin/sh\nNNCMP_TEST_DELAY_MS=%s exec "%s" "$@"\n' "$DELAY" "$REAL" >"$TMP/nncmp-slow"
chmod +x "$TMP/nncmp-slow"

ST=$TMP/digits
cp -r demo-data/digits "$ST"
rm -f "$ST"/nncmp-journal.jsonl*
J=$ST/nncmp-journal.jsonl
EXP=$TMP/expected # the live decisions the test made: "BATCH INDEX ACTION NEW", in order
UNDONE=$TMP/undone
SKIPPED=$TMP/skipped
: >"$EXP"
: >"$UNDONE"
: >"$SKIPPED"
nb=0 # batches written so far (the journal numbers them from 1, undone ones included)

# live: the number of live decisions in the journal, from the CLI
live() { "$REAL" decisions "$ST" --json 2>/dev/null | grep -o '"seq"' | wc -l; }
# current: the queue's sample on the screen, "K/N  #I" -> I
current() { screen | grep -o '^ [0-9]*/[0-9]*  #[0-9]*' | head -1 | sed 's/.*#//'; }
pos() { screen | grep -o '^ [0-9]*/[0-9]*  #' | head -1 | sed 's/^ \([0-9]*\)\/.*/\1/'; }
# job: the worker's job on the status line ("filtering 899 instances"), or nothing
JOBS='(deriving the predictions|counting [0-9]+ instances|filtering [0-9]+ instances)'
job() { screen | grep '│' | grep -oE "$JOBS" | tail -1; }
# busy WHAT: a job is in flight right now (checked just before a key that decides). A capture
# can catch the status line half redrawn, so it is looked at a few times within half a second.
busy() {
	for _ in 1 2 3 4 5; do
		w=$(job)
		[ -n "$w" ] && { ok "$1, while $w"; return; }
		sleep 0.1
	done
	no "$1: no job in flight"
}
# given I / sugg I: the label in the files, and the suggestion in $TMP/issues.json (class ids)
given() { /usr/bin/python3 -c 'import sys, numpy as np
print(int(np.load(sys.argv[1])[int(sys.argv[2])]))' "$ST/labels.npy" "$1"; }
sugg() {
	/usr/bin/python3 -c 'import json, sys
cl = [l.rstrip("\n") for l in open(sys.argv[2])]
print(next(cl.index(x["suggested"]) for x in json.load(open(sys.argv[1]))["issues"]
           if x["index"] == int(sys.argv[3])))' "$TMP/issues.json" "$ST/classes.txt" "$1"
}
# the suggestions as the queue has them: the CLI's, on the journal as it is when the queue opens
snapshot() { "$REAL" issues "$ST" --top 0 --json >"$TMP/issues.json" 2>/dev/null; }
# note INDEX ACTION NEW...: one batch the test decided (pairs of INDEX ACTION NEW)
note() {
	nb=$((nb + 1))
	while [ $# -ge 3 ]; do
		echo "$nb $1 $2 $3" >>"$EXP"
		shift 3
	done
}
# undone: the newest live batch leaves the expected list
undone() {
	last=$(tail -1 "$EXP" | cut -d' ' -f1)
	grep "^$last " "$EXP" >>"$UNDONE"
	grep -v "^$last " "$EXP" >"$EXP.new"
	mv "$EXP.new" "$EXP"
}
# accept_req I: what accepting I's suggestion writes ("relabel S" or "keep G")
accept_req() {
	g=$(given "$1")
	s=$(sugg "$1")
	if [ "$s" = "$g" ]; then echo "$1 keep $g"; else echo "$1 relabel $s"; fi
}
# accept NAME I: a on I (the cursor's), its message checked, the decision noted
accept() {
	req=$(accept_req "$2")
	keys a
	case $req in
	*relabel*) expect "$1" "#$2 relabelled to $(sugg "$2") (saved; u undoes)" ;;
	*) expect "$1 (the suggestion is the label: kept)" "#$2 kept (saved; u undoes)" ;;
	esac
	# shellcheck disable=SC2086
	note $req
}
# mark: m on the cursor's sample, once the cursor has moved on
mark() {
	was=$(current)
	keys m
	wait_gone "#$was  id" || no "m did not move on from #$was"
}
# counts: "decided N = R relabelled + X removed + K kept" from the expected list
counts() {
	awk '{n++; if ($3 == "relabel") r++; else if ($3 == "remove") x++; else k++}
	END {printf "decided %d = %d relabelled + %d removed + %d kept\n", n, r, x, k}' "$EXP"
}

echo "== the derivation delayed: keys answer, the queue opens once the counts are in"
BIN=$TMP/nncmp-slow
start C.UTF-8 160 45 "$ST"
expect "the first frame, the derivation on the worker" "deriving the predictions"
keys R
expect "R answers at once: refused in words" "not ready: the models' predictions are still being derived"
busy "R was answered"
[ ! -e "$J" ] && ok "a refused R writes nothing" || no "a journal appeared: $(cat "$J")"
expect "then the counts run (delayed) on the worker" "counting 899 instances"
keys R
expect "R opens the queue while the counts are delayed" "Review queue"
expect "the queue waits for the counts, and says so" "computing … (after counting 899 instances)"
expect_re "the queue lands" " 1/[0-9]+  #[0-9]+"
expect "its counts start at 0" "decided 0 = 0 relabelled + 0 removed + 0 kept"
snapshot
at=$(current)
cli_first=$(grep -o '"index": *[0-9]*' "$TMP/issues.json" | head -1 | grep -o '[0-9]*$')
[ "$at" = "$cli_first" ] && ok "the queue starts with the CLI's first suspect (#$at)" ||
	no "screen shows #$at, nncmp issues ranks #$cli_first first"
expect "the screen suggests the CLI's suggestion" "suggested $(sugg "$at")   score"

echo "== decisions of every kind while the filter's selection is re-queued"
accept "a: accepted" "$at"
expect_re "the decision re-queues the filter's selection: the status shows it" "│ filtering 899 instances"
busy "before j"
p=$(pos)
keys j
expect "j moves the cursor while the job runs (keys do not block)" " $((p + 1))/"
busy "j was answered"
keys k
expect "k moves back" " $p/"
at=$(current)
keys s # on to the next undecided one
expect_not "s moves on" "#$at  id"
echo "$at" >>"$SKIPPED"
at=$(current)
busy "before c"
keys c
expect "c: kept" "#$at kept (saved; u undoes)"
note "$at" keep "$(given "$at")"
at=$(current)
busy "before x"
keys x
expect "x: removed" "#$at removed (saved; u undoes)"
note "$at" remove -1
at=$(current)
c=$((($(given "$at") + 3) % 10))
busy "before the class key $c"
keys "$c"
expect "$c: relabelled to the class of the key" "#$at relabelled to $c (saved; u undoes)"
note "$at" relabel "$c"
at=$(current)
busy "before s"
keys s
expect_not "s moves on" "#$at  id"
echo "$at" >>"$SKIPPED"
busy "before u"
keys u
expect "u undoes the class key's relabel" "undid 1 decision"
undone
[ "$(live)" = 3 ] && ok "3 live decisions in the journal after the undo" || no "journal: $(live) live after u"
at=$(current)
c=$((($(given "$at") + 5) % 10))
busy "before the class key $c"
keys "$c"
expect "the undone sample relabelled again, to another class" "#$at relabelled to $c (saved; u undoes)"
note "$at" relabel "$c"
i1=$(current)
mark
i2=$(current)
busy "before m m x"
mark
expect "two samples marked" "2 marked"
keys x
expect "a bulk remove asks first" "2 samples: 2 removed?  Enter confirms, Esc cancels"
[ "$(live)" = 4 ] && ok "nothing is written before Enter" || no "journal: $(live) live before Enter"
busy "before Enter"
keys Enter
expect "bulk remove of 2" "2 samples: 2 removed (saved; u undoes all 2)"
note "$i1" remove -1 "$i2" remove -1
[ "$(live)" = 6 ] && ok "6 live decisions" || no "journal: $(live) live, wanted 6"

echo "== a :filter typed in the queue: a decision while its selection runs"
type_text ":filter cnn != gt"
keys Enter
expect_re "the filter runs on the worker" "│ filtering 899 instances"
expect "the queue stays open" "Review queue"
at=$(current)
busy "before a after :filter"
accept "a: accepted during the filter" "$at"
[ "$(live)" = 7 ] && ok "the decision is in the journal at once" || no "journal: $(live) live, wanted 7"
busy "the filter is still on the worker"
# the decision re-applies the filter over the new labels: the one the user typed, not the old one
expect "the filter the user typed lands (a decision did not replace it)" "│ filter: cnn != gt"

echo "== a :models typed in the queue: a bulk accept while the counts for the pair run"
type_text ":models knn mlp"
keys Enter
expect "the pair changes" "A=knn B=mlp"
i1=$(current)
mark
i2=$(current)
mark
expect "two samples marked" "2 marked"
busy "before the bulk accept"
keys a
r1=$(accept_req "$i1")
r2=$(accept_req "$i2")
case "$r1 $r2" in
*keep*) expect_re "a bulk accept asks first" "2 samples: .*Enter confirms, Esc cancels" ;;
*) expect "a bulk accept asks first, naming each sample's own suggestion" \
	"2 samples: 2 relabelled to their own suggestions (#$i1 $(given "$i1")→$(sugg "$i1"), #$i2 $(given "$i2")→$(sugg "$i2"))?" ;;
esac
keys Enter
expect "the batch is saved" "(saved; u undoes all 2)"
# shellcheck disable=SC2086
note $r1 $r2
busy "after the batch"
# while the job still reads the study the batch is saved, not applied: the status counts it
# among the saved ones at once (it used to show the decisions applied so far, 7)
st=$(screen | grep -o '│ [0-9]* decisions [a-z ,0-9]*│' | tail -1)
case $st in
"│ 9 decisions saved, "[0-8]" applied │" | "│ 9 decisions applied │") ok "the status counts the 9 saved decisions while a job runs ($st)" ;;
*) no "the status counts the 9 saved decisions while a job runs (it shows '$st')" ;;
esac
[ "$(live)" = 9 ] && ok "9 live decisions" || no "journal: $(live) live, wanted 9"
expect "the queue's counts add up" "$(counts)"
# the panes catch up once the worker is free: every saved decision is applied, none is lost
expect "once the jobs end the status counts every saved decision" "│ 9 decisions applied │"
keys Escape
expect_not "Esc leaves the queue" "Review queue"
wrong=$("$REAL" instances "$ST" --filter 'cnn != gt' --json --top 1 2>/dev/null |
	grep -o '"count": *[0-9]*' | grep -o '[0-9]*$')
expect_re "the filter is still on, over the corrected labels (as the CLI counts it)" "│ filter: cnn != gt +│ $wrong/899 │ BS back │"
keys BSpace
expect_re "and BS goes back to the filter before it" "│ filter: \(all\) +│ 899/899 │"
keys q
expect "quit" "rc=0"

# check: the journal holds exactly the expected decisions (an oracle of its own over the file)
check() {
	/usr/bin/python3 - "$J" "$EXP" "$UNDONE" "$SKIPPED" <<'PY'
import json, sys
jpath, epath, upath, spath = sys.argv[1:5]
rows = lambda p: [tuple(int(v) if v.lstrip("-").isdigit() else v for v in l.split()) for l in open(p) if l.strip()]
exp, und = rows(epath), rows(upath)
skipped = {int(l) for l in open(spath) if l.strip()}
lines = [json.loads(l) for l in open(jpath) if l.strip()]
assert lines[0].get("type") == "header", lines[0]
lines = lines[1:]
undo = [l["undo_batch"] for l in lines if l.get("action") == "undo"]
assert len(undo) == len(set(undo)), undo
decs = [l for l in lines if l.get("action") != "undo"]
seqs = [l["seq"] for l in lines]
assert seqs == list(range(1, len(seqs) + 1)), seqs
got = [(l["batch"], l["index"], l["action"], l["new"]) for l in decs if l["batch"] not in undo]
gone = [(l["batch"], l["index"], l["action"], l["new"]) for l in decs if l["batch"] in undo]
assert got == exp, ("live", got, exp)
assert gone == und, ("undone", gone, und)
assert not any(l["action"] == "skip" for l in decs)
for l in decs:
    n = sum(1 for m in decs if m["batch"] == l["batch"])
    assert l["size"] == n, l
# a skipped sample the test did not decide afterwards has no live decision
for i in skipped - {r[1] for r in exp}:
    assert all(l["index"] != i for l in decs if l["batch"] not in undo), ("skip written", i)
print("journal: %d live, %d undone, %d skipped" % (len(got), len(gone), len(skipped)))
PY
}
check && ok "the journal holds exactly the decisions made, undone ones gone, skips absent" ||
	no "the journal does not hold the decisions the test made"

echo "== a later session killed with SIGKILL while a job runs"
start C.UTF-8 160 45 "$ST"
expect "reopened (delayed)" "deriving the predictions"
expect "the counts run" "counting 899 instances"
keys R
expect_re "the queue lands" " 1/[0-9]+  #[0-9]+"
expect "the reopened queue's counts are the decisions made" "$(counts)"
snapshot
at=$(current)
accept "a: accepted" "$at"
i1=$(current)
mark
i2=$(current)
mark
c=7
busy "before the class key on marks"
keys "$c"
expect_re "a class key on marks asks first" "2 samples: .*Enter confirms, Esc cancels"
keys Enter
expect "the batch is saved" "(saved; u undoes all 2)"
r1="$i1 relabel $c" r2="$i2 relabel $c"
[ "$(given "$i1")" = $c ] && r1="$i1 keep $c"
[ "$(given "$i2")" = $c ] && r2="$i2 keep $c"
# shellcheck disable=SC2086
note $r1 $r2
busy "before SIGKILL"
pid=$(pgrep -f "$REAL $ST" | head -1)
if [ -n "$pid" ]; then
	kill -KILL "$pid"
	expect "nncmp killed" "rc=137"
else
	no "could not find nncmp's pid"
fi
check && ok "after SIGKILL the journal holds exactly the decisions made" ||
	no "after SIGKILL the journal does not hold the decisions made"

echo "== the CLI and a reopened queue agree with the record"
"$REAL" instances "$ST" --filter decided --top 0 --json >"$TMP/decided.json" 2>/dev/null
/usr/bin/python3 - "$EXP" "$TMP/decided.json" "$ST/labels.npy" <<'PY' && ok "instances --filter decided: exactly the decided samples, each with its status and label" || no "instances --filter decided does not match the decisions made"
import json, sys
import numpy as np
epath, dpath, lpath = sys.argv[1:4]
given = np.load(lpath).astype(int)
names = {"relabel": "relabelled", "keep": "kept", "remove": "removed"}
want = {}
for l in open(epath):
    b, i, a, new = l.split()
    want[int(i)] = (names[a], int(new) if a == "relabel" else int(given[int(i)]))
d = json.load(open(dpath))
got = {x["index"]: (x["status"], x["label_id"]) for x in d["instances"]}
assert d["count"] == len(want), (d["count"], len(want))
assert got == want, (got, want)
for x in d["instances"]:
    assert x["given_id"] == given[x["index"]], x
PY
n=$(wc -l <"$EXP")
BIN=$REAL
start C.UTF-8 160 45 "$ST"
expect "reopened" "Models"
expect "the status counts the decisions" "│ $n decisions applied │"
keys R
expect "the queue's counts are the decisions made ($(counts))" "$(counts)"
keys Escape
keys q
expect "quit" "rc=0"
finish busy_review

#!/bin/sh
# tests/screen/triage.sh NNCMP — the triage journey in the TUI: review suspects (accept, keep,
# relabel with the picker, remove, undo, a bulk decision on marked samples), kill nncmp with
# SIGKILL in the middle, reopen, find every confirmed decision, and check that the export (from
# the TUI and from the CLI) matches the journal. Works on a copy of demo-data/digits.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "triage: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "triage: tmux is not installed" >&2; exit 2; }
. tests/screen/lib.sh

ST=$TMP/digits
cp -r demo-data/digits "$ST"
rm -f "$ST"/nncmp-journal.jsonl*
J=$ST/nncmp-journal.jsonl

# live DECISIONS: the number of live decisions in the journal, from the CLI
live() { "$BIN" decisions "$ST" --json 2>/dev/null | grep -o '"seq"' | wc -l; }
# queue_pos: "K/N  #I" of the review screen -> I
current() { screen | grep -o '^ [0-9]*/[0-9]*  #[0-9]*' | head -1 | sed 's/.*#//'; }

echo "== looking at the review queue without deciding leaves no journal"
start C.UTF-8 160 45 "$ST"
expect "the TUI opens" "Models"
keys R
expect "R opens the review queue" "Review queue"
[ -e "$J" ] && ok "the journal is taken (locked) while the queue is open" || no "no journal while reviewing"
keys Escape
expect_not "Esc leaves the queue" "Review queue"
keys q
expect "quit" "rc=0"
[ ! -e "$J" ] && ok "no decision: no journal left in the study" || no "a header-only journal was left: $(cat "$J")"

echo "== review queue on a copy of digits"
start C.UTF-8 160 45 "$ST"
expect "the TUI opens" "Models"
[ ! -e "$J" ] && ok "opening the study writes nothing into it" || no "a journal appeared on open"
keys R
expect "R opens the review queue" "Review queue"
expect_re "the queue is ranked" " 1/[0-9]+  #[0-9]+"
expect_re "the queue counts the flagged suspects" "flagged, [0-9]+ left  \|  decided 0 = 0 relabelled \+ 0 removed \+ 0 kept"
est=$("$BIN" issues "$ST" --json 2>/dev/null | grep -o '"estimated_errors": *[0-9]*' | grep -o '[0-9]*$')
expect "before any decision the estimate is the method's own (as nncmp issues says)" "errors left ~$est ("
first=$(current)
[ -n "$first" ] && ok "a suspect is shown (#$first)" || no "no suspect on the screen"
# the suspect the CLI ranks first is the one on the screen
cli_first=$("$BIN" issues "$ST" --top 1 --json | grep -o '"index": *[0-9]*' | head -1 | grep -o '[0-9]*$')
[ "$first" = "$cli_first" ] && ok "the queue starts with the CLI's first suspect" ||
	no "screen shows #$first, nncmp issues ranks #$cli_first first"

keys a
expect "a: accepted, saved" "relabelled to"
[ "$(live)" = 1 ] && ok "the journal holds 1 decision" || no "journal: $(live) decisions after a"
second=$(current)
keys c
expect "c: kept" "#$second kept (saved"
third=$(current)
keys x
expect "x: removed" "#$third removed (saved"
keys u
expect "u: undone" "undid 1 decision"
[ "$(live)" = 2 ] && ok "undo leaves 2 live decisions" || no "journal: $(live) live after undo"
# relabel with the type-to-search picker
now=$(current)
keys r
expect "r opens the class picker" "relabel to:"
type_text 7
keys Enter
expect "picker: relabelled to 7" "#$now relabelled to 7"
# bulk: mark two, remove both in one batch, after a confirmation
keys m m
expect "two samples marked" "2 marked"
keys x
expect "a bulk decision asks first" "2 samples: 2 removed?  Enter confirms, Esc cancels"
[ "$(live)" = 3 ] && ok "nothing is written before Enter" || no "journal: $(live) live before Enter"
keys Enter
expect "bulk remove of 2" "2 samples: 2 removed (saved; u undoes all 2)"
[ "$(live)" = 5 ] && ok "5 live decisions" || no "journal: $(live) live decisions, wanted 5"
# skip is not a decision: it moves on and writes nothing
before=$(current)
keys s
expect_not "s moves on" "#$before  id"
[ "$(live)" = 5 ] && ok "skip writes nothing to the journal" || no "journal: $(live) live after skip"
expect "the counts add up (skip not counted)" "decided 5 = 2 relabelled + 2 removed + 1 kept"

echo "== SIGKILL in the middle, then reopen"
pid=$(pgrep -f "$BIN $ST" | head -1)
if [ -n "$pid" ]; then
	kill -KILL "$pid"
	expect "nncmp killed" "rc=137"
else
	no "could not find nncmp's pid"
fi
[ "$(live)" = 5 ] && ok "after SIGKILL the journal still holds 5 decisions" || no "after SIGKILL: $(live)"
start C.UTF-8 160 45 "$ST"
expect "reopened" "Models"
keys R
expect "the queue remembers every decision, and they add up" "decided 5 = 2 relabelled + 2 removed + 1 kept"
expect "the estimate's basis is the decisions so far" "(4 of 5 decisions so far were errors)"
resume=$(current)
status=$("$BIN" decisions "$ST" --json 2>/dev/null | grep -o "\"index\":$resume," | head -1)
[ -z "$status" ] && ok "it resumes on an undecided suspect (#$resume)" || no "resumed on decided #$resume"

echo "== export matches the journal"
keys Escape
type_text ":export $TMP/tui.csv"
keys Enter
expect ":export says what it wrote" "wrote $TMP/tui.csv"
keys q
expect "quit" "rc=0"
"$BIN" export "$ST" --out "$TMP/cli.csv" >/dev/null 2>&1 && ok "nncmp export runs" || no "nncmp export failed"
cmp -s "$TMP/tui.csv" "$TMP/cli.csv" && ok "TUI and CLI exports are identical" || no "the exports differ"
# every live decision of the journal is in the export, and nothing else changed
/usr/bin/python3 - "$J" "$TMP/cli.csv" "$ST/labels.npy" <<'PY' && ok "the export applies exactly the journal's decisions" || no "the export does not match the journal"
import csv, json, sys
import numpy as np
jpath, cpath, lpath = sys.argv[1:4]
labels = np.load(lpath).astype(int).tolist()
status = ["undecided"] * len(labels)
lines = [json.loads(l) for l in open(jpath) if l.strip()]
undone = {l["undo_batch"] for l in lines if l.get("action") == "undo"}
names = {"relabel": "relabelled", "keep": "kept", "remove": "removed", "skip": "skipped"}
for l in lines:
    if l.get("type") == "header" or l.get("action") == "undo" or l["batch"] in undone:
        continue
    i = l["index"]
    status[i] = names[l["action"]]
    if l["action"] == "relabel":
        labels[i] = l["new"]
rows = list(csv.DictReader(open(cpath)))
assert len(rows) == len(labels), (len(rows), len(labels))
for r in rows:
    i = int(r["index"])
    assert r["status"] == status[i], (i, r["status"], status[i])
    if status[i] != "removed":
        assert int(r["label"]) == labels[i], (i, r["label"], labels[i])
assert sum(s != "undecided" for s in status) == 5, status.count("undecided")
PY

echo "== bulk accept: each marked sample gets its own suggestion"
ST2=$TMP/digits2
cp -r demo-data/digits "$ST2"
rm -f "$ST2"/nncmp-journal.jsonl*
J2=$ST2/nncmp-journal.jsonl
"$BIN" issues "$ST2" --top 0 --json >"$TMP/issues.json" 2>/dev/null
# k: the first queue position whose suggestion differs from the next one's
k=$(/usr/bin/python3 -c 'import json,sys
l=json.load(open(sys.argv[1]))["issues"]
print(next(i for i in range(len(l)-2) if l[i]["suggested"]!=l[i+1]["suggested"]))' "$TMP/issues.json")
start C.UTF-8 160 45 "$ST2"
expect "the TUI opens on a second copy" "Models"
keys R
expect "the review queue" "Review queue"
expect_re "the queue is ranked" " 1/[0-9]+  #[0-9]+"
i=0
while [ "$i" -lt "$k" ]; do keys j; i=$((i + 1)); done
keys m m
expect "two samples with different suggestions marked" "2 marked"
keys a
expect "accept on marks asks first, naming the changes" "2 samples: 2 relabelled to their own suggestions (#"
keys Enter
expect "the batch is saved" "(saved; u undoes all 2)"
live2() { "$BIN" decisions "$ST2" --json 2>/dev/null | grep -o '"seq"' | wc -l; }
/usr/bin/python3 - "$J2" "$TMP/issues.json" "$ST2/classes.txt" "$k" <<'PY' && ok "every journal line's new is that sample's own suggestion; the cursor's sample is untouched" || no "the bulk accept wrote labels the user did not choose"
import json, sys
jpath, ipath, cpath, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
classes = [l.rstrip("\n") for l in open(cpath)]
issues = json.load(open(ipath))["issues"]
lines = [json.loads(l) for l in open(jpath) if l.strip()][1:]
assert len(lines) == 2, lines
want = {issues[k]["index"]: issues[k]["suggested"], issues[k + 1]["index"]: issues[k + 1]["suggested"]}
assert {l["index"] for l in lines} == set(want), (lines, want)
for l in lines:
    assert l["action"] == "relabel" and l["batch"] == 1 and l["size"] == 2, l
    assert l["new"] == classes.index(want[l["index"]]), (l, want)
    assert l["new_class"] == want[l["index"]], (l, want)
    assert l["old"] == classes.index(issues[[x["index"] for x in issues].index(l["index"])]["label"]), l
assert issues[k + 2]["index"] not in {l["index"] for l in lines}
PY
keys u
expect "u undoes the whole batch" "undid 2 decisions"
[ "$(live2)" = 0 ] && ok "no live decision after the undo" || no "journal: $(live2) live after undo"
keys M
keys a
expect_re "accept on every flagged sample asks first" "[0-9]+ samples: .*Enter confirms, Esc cancels"
keys Escape
expect "Esc cancels it" "cancelled: nothing changed"
[ "$(live2)" = 0 ] && ok "a cancelled batch writes nothing" || no "journal: $(live2) live after Esc"
expect "the queue is still open after Esc" "Review queue"
keys M
# a class key on marks relabels each to that class; one that has it already is kept
read -r i0 l0 i1 l1 <<EOF2
$(/usr/bin/python3 -c 'import json,sys
l=json.load(open(sys.argv[1]))["issues"]
print(l[0]["index"], l[0]["label"], l[1]["index"], l[1]["label"])' "$TMP/issues.json")
EOF2
keys g
keys m m
keys "$l0"
if [ "$l0" != "$l1" ]; then
	expect "a class key on marks says what each gets" "2 samples: 1 relabelled to $l0, 1 kept?"
else
	expect "a class key on marks says what each gets" "2 samples: 2 kept?"
fi
keys Enter
expect "saved" "(saved; u undoes all 2)"
/usr/bin/python3 - "$J2" "$i0" "$l0" "$i1" "$l1" <<'PY' && ok "the journal holds exactly those two decisions" || no "the class key on marks wrote something else"
import json, sys
j, i0, l0, i1, l1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
lines = [json.loads(l) for l in open(j) if l.strip()][1:]
last = [l for l in lines if l.get("action") != "undo"][-2:]
got = {l["index"]: (l["action"], l["old"], l["new"]) for l in last}
want = {i0: ("keep", l0, l0), i1: ("relabel", l1, l0) if l1 != l0 else ("keep", l1, l1)}
assert got == want, (got, want)
assert last[0]["batch"] == last[1]["batch"] and last[0]["size"] == 2
PY
keys u
expect "one u undoes both" "undid 2 decisions"

echo "== decisions are used everywhere: filters, report, instances"
keys g
keys a
expect "accept" "(saved; u undoes)"
keys c
expect "keep" "kept (saved"
keys s
keys x
expect "remove" "removed (saved"
expect "the status line counts the decisions applied" "3 decisions applied"
keys Escape
type_text ":filter decided"
keys Enter
expect "the filter word decided selects the three" "Instances 3/899"
expect "the metrics leave the removed sample out" "over 2 shown (1 removed)"
expect_re "the table shows the relabel as given->new" " [0-9]→[0-9] "
expect "the table marks the removed sample" "✕"
keys q
expect "quit" "rc=0"
[ "$(live2)" = 3 ] && ok "3 live decisions (skip wrote none)" || no "journal: $(live2) live, wanted 3"
"$BIN" instances "$ST2" --filter decided --top 0 --json >"$TMP/decided.json" 2>"$TMP/decided.err"
grep -q "3 decisions applied from" "$TMP/decided.err" && ok "the CLI says it applied the journal" || no "no journal line on stderr: $(cat "$TMP/decided.err")"
"$BIN" report "$ST2" --json >"$TMP/rep.json" 2>/dev/null
"$BIN" report "$ST2" --no-journal --json >"$TMP/rep0.json" 2>/dev/null
/usr/bin/python3 - "$J2" "$TMP/decided.json" "$TMP/rep.json" "$TMP/rep0.json" "$ST2" <<'PY' && ok "instances --filter decided is the journal; report with and without --no-journal differ exactly by it" || no "the CLI does not agree with the journal"
import json, sys
import numpy as np
jpath, dpath, rpath, r0path, st = sys.argv[1:6]
given = np.load(st + "/labels.npy").astype(int)
labels = given.copy()
status = {}
names = {"relabel": "relabelled", "keep": "kept", "remove": "removed"}
lines = [json.loads(l) for l in open(jpath) if l.strip()][1:]
undone = {l["undo_batch"] for l in lines if l.get("action") == "undo"}
for l in lines:
    if l.get("action") == "undo" or l["batch"] in undone:
        continue
    status[l["index"]] = names[l["action"]]
    if l["action"] == "relabel":
        labels[l["index"]] = l["new"]
d = json.load(open(dpath))
got = {x["index"]: x["status"] for x in d["instances"]}
assert got == status, (got, status)
for x in d["instances"]:
    assert x["label_id"] == labels[x["index"]] and x["given_id"] == given[x["index"]], x
keep = np.array([status.get(i) != "removed" for i in range(len(given))])
assert (~keep).sum() == 1
pred = np.load(st + "/models/cnn/probs.npy").argmax(axis=1)
def confusion(y, p):
    m = np.zeros((10, 10), int)
    np.add.at(m, (y, p), 1)
    return m.tolist()
rep, rep0 = json.load(open(rpath)), json.load(open(r0path))
cnn = next(m for m in rep["models"] if m["name"] == "cnn")
cnn0 = next(m for m in rep0["models"] if m["name"] == "cnn")
assert cnn["confusion"] == confusion(labels[keep], pred[keep]), "journal confusion"
assert cnn0["confusion"] == confusion(given, pred), "file confusion"
assert cnn["correct"] == int((labels[keep] == pred[keep]).sum())
assert rep["decisions_applied"] == 3 and rep["removed"] == 1, rep["decisions_applied"]
assert rep0["decisions_applied"] == 0 and rep0["removed"] == 0
PY

echo "== a narrow terminal keeps the estimate"
start C.UTF-8 80 24 "$ST2"
expect "the TUI opens at 80x24" "Agreement"
keys R
expect_re "the counts add up at 80 columns" "decided 3 = [0-9] relabelled \+ 1 removed \+ [0-9] kept"
expect "the estimate has a row of its own" "decisions so far were errors)"
keys Escape
keys q
expect "quit" "rc=0"

finish triage

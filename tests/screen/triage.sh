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

echo "== review queue on a copy of digits"
start C.UTF-8 160 45 "$ST"
expect "the TUI opens" "Models"
[ ! -e "$J" ] && ok "opening the study writes nothing into it" || no "a journal appeared on open"
keys R
expect "R opens the review queue" "Review queue"
expect "the queue counts the flagged suspects" "flagged, 0 decided"
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
expect "c: kept" "#$second keep (saved"
third=$(current)
keys x
expect "x: removed" "#$third remove (saved"
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
# bulk: mark two, remove both in one batch
keys m m
expect "two samples marked" "2 marked"
keys x
expect "bulk remove of 2" "2 samples remove (saved"
[ "$(live)" = 5 ] && ok "5 live decisions" || no "journal: $(live) live decisions, wanted 5"

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
expect "the queue remembers every decision" "decided so far: 4 relabelled or removed, 1 kept"
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

finish triage

#!/bin/sh
# tests/screen/review_trust.sh NNCMP — the review queue on a study it was not shaped for: 12
# classes whose names share a long prefix (very-long-shared-prefix-class-name-00 ..), at 80x24.
# The given and the suggested class, and each model's top classes, must read apart (cut to one
# width they all read very-long-shared-prefix-class…, so `a` would accept blind). And `c`
# ("keep given") on a sample relabelled before must write the given label back, its status
# "kept", never "kept" with the other label. What must show comes from the CLI and the study's
# own files. Runs from the top of the tree; needs tmux and /usr/bin/python3.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "review_trust: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "review_trust: tmux is not installed" >&2; exit 2; }
PY=/usr/bin/python3
[ -x $PY ] || { echo "review_trust: $PY is needed" >&2; exit 2; }

. tests/screen/lib.sh

ST=$TMP/long
$PY - "$ST" <<'EOF' || exit 2
import json, os, sys
import numpy as np
d = sys.argv[1]
os.makedirs(d + "/models/mdl")
os.makedirs(d + "/models/other")
rng = np.random.default_rng(7)
n, c = 48, 12
labels = rng.integers(0, c, n).astype(np.int64)
p = rng.dirichlet(np.ones(c) * 0.5, n)
for i in range(n):  # right a third of the time, else confidently another class
    p[i, labels[i] if i % 3 == 0 else (labels[i] + 1 + i % (c - 1)) % c] += 2.0
np.save(d + "/labels.npy", labels)
np.save(d + "/models/mdl/probs.npy", (p / p.sum(1, keepdims=True)).astype(np.float32))
q = rng.dirichlet(np.ones(c), n)
np.save(d + "/models/other/probs.npy", q.astype(np.float32))
with open(d + "/classes.txt", "w") as f:
    f.write("".join("very-long-shared-prefix-class-name-%02d\n" % k for k in range(c)))
with open(d + "/samples.jsonl", "w") as f:
    for i in range(n):
        f.write(json.dumps({"id": "s%d" % i, "text": "sample %d" % i}) + "\n")
EOF
J=$ST/nncmp-journal.jsonl

# the first suspect, from the CLI: index, given label, suggestion, the model's argmax
"$BIN" issues "$ST" --top 1 --json >"$TMP/iss.json" 2>/dev/null
set -- $($PY - "$TMP/iss.json" "$ST" <<'EOF'
import json, sys
import numpy as np
e = json.load(open(sys.argv[1]))["issues"][0]
names = open(sys.argv[2] + "/classes.txt").read().split()
p = np.load(sys.argv[2] + "/models/mdl/probs.npy")
print(e["index"], names.index(e["label"]), names.index(e["suggested"]), int(p[e["index"]].argmax()))
EOF
)
first=$1 given=$2 sugg=$3 top=$4

echo "== the agreement rows and the confusion cell line name the classes apart"
start C.UTF-8 160 45 "$ST"
expect "the TUI opens" "Agreement per class"
expect "the confusion cell line (cursor on 00, 00)" "truth 00 → pred 00:"
screen >"$TMP/scr"
$PY - "$TMP/scr" <<'EOF'
import re, sys
scr = open(sys.argv[1]).read().splitlines()
k = next(i for i, l in enumerate(scr) if re.search(r"class\s+both", l))
rows = []
for l in scr[k + 2 : k + 14]:  # the class rows the pane has room for
    if "McNemar" in l:
        break
    rows.append(l[2:16].strip())
ok = len(rows) >= 5 and all(("%02d" % c) in r for c, r in enumerate(rows))
print(("ok  " if ok else "FAIL") + " agreement rows: %r" % rows)
sys.exit(0 if ok else 1)
EOF
[ $? = 0 ] && ok "agreement rows read apart" || no "agreement rows read apart"
keys q
expect "quit" "rc=0"

echo "== 80x24: the review names the classes apart"
start C.UTF-8 80 24 "$ST"
expect "the TUI opens" "Instances"
keys R
expect "R opens the review queue" "Review queue"
expect "the CLI's first suspect is shown" "#$first  id s$first"
screen >"$TMP/scr"
$PY - "$TMP/scr" "$given" "$sugg" "$top" <<'EOF'
import re, sys
scr = open(sys.argv[1]).read().splitlines()
g, s, top = (int(x) for x in sys.argv[2:5])
line = next((l for l in scr if l.startswith(" given ")), "")
m = re.match(r" given (.+?)   suggested (.+?)(   score|\s*$)", line)
ok = m and ("%02d" % g) in m.group(1) and ("%02d" % s) in m.group(2)
print(("ok  " if ok else "FAIL") + " the given and suggested classes read apart: " + repr(line))
row = next((l for l in scr if re.search(r"\bmdl\s", l)), "")
m2 = re.search(r"\bmdl\s+(\S+)\s+0\.\d\d", row)
ok2 = m2 and ("%02d" % top) in m2.group(1)
print(("ok  " if ok2 else "FAIL") + " the model's top class reads apart: " + repr(row))
sys.exit(0 if ok and ok2 else 1)
EOF
[ $? = 0 ] && ok "class names on the review screen" || no "class names on the review screen"
keys r
expect "r opens the class picker" "relabel to: _"
# the picker's first ten classes, each with its own name (cut to the box they all read alike)
screen >"$TMP/pick"
$PY - "$TMP/pick" <<'EOF'
import re, sys
rows = [re.search(r" {1,2}(\d{1,2}) (\S+)\s*$", l) for l in open(sys.argv[1]).read().splitlines()]
shown = {int(m.group(1)): m.group(2) for m in rows if m}
names = [shown.get(k) for k in range(10)]
ok = all(n is not None and ("%02d" % k) in n for k, n in enumerate(names))
print(("ok  " if ok else "FAIL") + " picker: " + repr(names))
sys.exit(0 if ok else 1)
EOF
[ $? = 0 ] && ok "the picker names the classes apart" || no "the picker names the classes apart"
keys Escape

echo "== c on a sample relabelled before keeps its given label"
other=$(((given + 1) % 10))
[ "$other" = "$sugg" ] && other=$(((given + 2) % 10))
keys "$other"
expect "a digit relabels" "#$first relabelled to"
keys k
expect "k goes back to it" "decided: relabelled"
keys c
expect "the header counts it kept" "decided 1 = 0 relabelled + 0 removed + 1 kept"
keys Escape q
expect "quit" "rc=0"
"$BIN" export "$ST" --out "$TMP/out.jsonl" >/dev/null 2>&1
"$BIN" instances "$ST" --filter decided --json >"$TMP/dec.json" 2>/dev/null
$PY - "$J" "$TMP/out.jsonl" "$TMP/dec.json" "$ST" "$first" <<'EOF'
import json, sys
import numpy as np
jl, out, dec, st, i = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
given = int(np.load(st + "/labels.npy")[i])
last = [json.loads(l) for l in open(jl)][-1]
bad = []
if last["index"] != i or last["new"] != given:
    bad.append("journal's last decision %r, wanted new %d" % (last, given))
e = [json.loads(l) for l in open(out)][i]
if e["label"] != given or e["status"] != "kept":
    bad.append("export %r, wanted label %d kept" % (e, given))
d = json.load(open(dec))["instances"]
if len(d) != 1 or d[0]["label_id"] != given or d[0]["status"] != "kept":
    bad.append("instances --filter decided %r" % d)
for b in bad:
    print("     " + b)
sys.exit(1 if bad else 0)
EOF
[ $? = 0 ] && ok "journal, export and instances hold the given label, kept" ||
	no "the given label was not written back"

echo "== a journal the study refuses: R says why"
cp -r "$ST" "$TMP/changed"
$PY -c "
import numpy as np, sys
d = sys.argv[1]
l = np.load(d + '/labels.npy')
l[$first] = (l[$first] + 1) % 12
np.save(d + '/labels.npy', l)" "$TMP/changed"
start C.UTF-8 160 45 "$TMP/changed"
expect "the TUI opens" "Instances"
keys R
expect_re "R names the journal's problem" "one at a time: .*nncmp-journal.jsonl:2: instance $first had label"
cmp -s "$J" "$TMP/changed/nncmp-journal.jsonl" && ok "the refused journal is left as it was" ||
	no "the refused journal was changed"
keys q
expect "quit" "rc=0"

echo "== 80x24: the labels overview (E) and its cell's queue name the classes apart"
start C.UTF-8 80 24 "$ST"
expect "the TUI opens" "Instances"
keys E
expect "E opens the overview" "Label errors overview"
expect_re "its cell line names both classes" "given [0-9]{2}, predicted [0-9]{2}: [0-9]+ sample"
keys Enter
expect_re "the cell's queue says which cell" "mix \\(given [0-9]{2}, predicted [0-9]{2}\\)"
keys Escape q
expect "quit" "rc=0"

echo "== keys typed before the queue is ready: M a marks all, then asks (nothing lost, nothing unasked)"
BIG=$TMP/big # large enough that ranking takes a moment
$PY - "$BIG" <<'EOF' || exit 2
import os, sys
import numpy as np
d = sys.argv[1]
os.makedirs(d + "/models/m")
rng = np.random.default_rng(3)
n, c = 200000, 12
labels = rng.integers(0, c, n).astype(np.int64)
p = rng.random((n, c)).astype(np.float32)
wrong = rng.random(n) < 0.1  # a tenth confidently another class
p[np.arange(n), np.where(wrong, (labels + 1) % c, labels)] += 1.5
np.save(d + "/labels.npy", labels)
np.save(d + "/models/m/probs.npy", p / p.sum(1, keepdims=True))
EOF
start C.UTF-8 100 30 "$BIG"
expect "the TUI opens" "Instances"
keys R M a
expect "M and a both applied, in order" "Enter confirms, Esc cancels"
[ ! -s "$BIG/nncmp-journal.jsonl" ] || [ "$(wc -l <"$BIG/nncmp-journal.jsonl")" = 1 ] &&
	ok "nothing decided before Enter" || no "a decision was written unasked: $(tail -1 "$BIG/nncmp-journal.jsonl")"
keys Escape
expect "Esc cancels" "cancelled: nothing changed"
keys Escape q
expect "quit" "rc=0"

# hold: a stand-in for another nncmp, in the background ($holder): the journal's exclusive flock
# and its pid in .lock, until $TMP/held is removed
hold() {
	$PY -c "
import fcntl, os, sys, time
f = open(sys.argv[1], 'r+')
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[1] + '.lock', 'w').write('%d' % os.getpid())
open(sys.argv[2], 'w').close()
while os.path.exists(sys.argv[2]):
    time.sleep(0.05)
os.unlink(sys.argv[1] + '.lock')
" "$J" "$TMP/held" &
	holder=$!
	i=0
	while [ ! -e "$TMP/held" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}

echo "== another writer holds the journal, then lets go: the next decision is taken"
hold
start C.UTF-8 160 45 "$ST"
expect "the TUI opens" "Instances"
keys R
expect "R says another holds the journal" "in use by another nncmp (pid $holder)"
keys x
expect "a decision is refused meanwhile" "triage is read-only: "
rm -f "$TMP/held"
wait $holder
keys x
expect_re "once let go, the next decision is saved" "#[0-9]+ removed \\(saved"
keys Escape q
expect "quit" "rc=0"
[ "$(grep -c '"action":"remove"' "$J")" = 1 ] && ok "the journal holds that decision" ||
	no "the journal does not hold the decision: $(tail -1 "$J")"

echo "== the queue closed and opened again while its ranking waits to read a journal another holds"
# each R reopens the journal another nncmp holds (read-only again); the first R's ranking sleeps
# (NNCMP_TEST_REVIEW_DELAY_MS) until after the second R, then reads the journal it was given,
# which must still be there (under ASan a use after free ends the TUI), and the second queue opens
hold
printf '#!/bin/sh\nNNCMP_TEST_REVIEW_DELAY_MS=2000 exec "%s" "$@"\n' "$BIN" >"$TMP/nncmp-review-slow"
chmod +x "$TMP/nncmp-review-slow"
keep_bin=$BIN
BIN=$TMP/nncmp-review-slow
start C.UTF-8 160 45 "$ST"
expect "the TUI opens" "Instances"
keys R
sleep 0.5
keys Escape R
expect "the second R says another holds the journal" "in use by another nncmp (pid $holder)"
sleep 4 # both rankings have read their journals
expect "the second queue is shown" "flagged"
rm -f "$TMP/held"
wait $holder
keys Escape q
expect "quit after both rankings" "rc=0"
BIN=$keep_bin

echo "== a second TUI opens the review while the first writes: its panes take the first's decisions"
# second NAME W H: another TUI on the study in its own session, beside the current one
second() {
	settle "$1"
	tm kill-session -t "$1" 2>/dev/null
	tm -f /dev/null new-session -d -s "$1" -x "$2" -y "$3" \
		"env -i PATH=\"$PATH\" HOME=\"$TMP\" XDG_CONFIG_HOME=\"$TMP/config\" NNCMP_RESTORE=0 TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 $BIN $ST 2>>$TMP/stderr"
}
before=$("$BIN" instances "$ST" --filter decided --top 0 --json 2>/dev/null | grep -o '"count": *[0-9]*' | grep -o '[0-9]*$')
start C.UTF-8 160 45 "$ST"
reader=$S
expect "the reader opens" "Instances"
second writer 160 45
S=writer
expect "the writer opens" "Instances"
keys R
expect "the writer takes the journal" "Review queue"
keys a
expect_re "the writer's decision is saved" "saved; u undoes"
S=$reader
keys R
expect "the reader's review is read-only" "in use by another nncmp"
now=$((before + 1))
expect_re "the reader's status counts the writer's decision" "$now decisions? applied"
keys Escape
keys :
type_text "filter decided"
keys Enter
expect "the reader's panes hold it too" "Instances $now/48"
S=writer
keys Escape q
wait_gone "Review queue" >/dev/null
S=$reader
keys q
expect "the reader quits" "rc=0"

echo "== 80x24: a long batch summary still shows the keys that answer it"
lines=$(wc -l <"$J")
start C.UTF-8 80 24 "$ST"
expect "the TUI opens" "Instances"
keys R
expect "R opens the review queue" "Review queue"
expect_re "the queue is ready" " 1/[0-9]+  #"
keys M
expect "M marks every undecided sample" "marked: the next decision applies to each of them"
keys a
expect "the summary is cut, the keys show" "…?  Enter confirms, Esc cancels"
keys Escape
expect "Esc cancels" "cancelled: nothing changed"
keys Escape q
expect "quit" "rc=0"
[ "$(wc -l <"$J")" = "$lines" ] && ok "nothing written" || no "the cancelled batch was written"

echo "== a journal torn by a crash mid-write: the first screen says so, as the CLI does"
printf '{"seq":999,"batch":999,"act' >>"$J"
"$BIN" report "$ST" >/dev/null 2>"$TMP/torn.err"
grep -q "an interrupted write" "$TMP/torn.err" && ok "the CLI warns on stderr" ||
	no "the CLI does not warn: $(cat "$TMP/torn.err")"
start C.UTF-8 160 45 "$ST"
expect "the TUI's first screen warns too" "(an interrupted write)"
keys q
expect "quit" "rc=0"

finish review_trust

#!/bin/sh
# tests/screen/numbers.sh NNCMP — screen tests of what the panes print as numbers and text:
# texts laid out at their line breaks with tabs expanded (detail pane, review queue), a line
# break as one mark in the instance table, the sort key's values as a column, and McNemar's p
# with the bootstrap interval beside kappa. Expected values come from the study's files (read
# with Python) or from the CLI's --json, never from constants. Runs from the top of the tree.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "numbers: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "numbers: tmux is not installed" >&2; exit 2; }
PY=/usr/bin/python3
. tests/screen/lib.sh
# a copy: the review queue takes the study's journal for writing, which must not land in the tree
mkdir -p "$TMP/c15" && cp -r tests/data/classes15/. "$TMP/c15/" && rm -f "$TMP/c15/nncmp-journal.jsonl"
C15=$TMP/c15

# text_of ID: the raw text of classes15's sample ID, as JSON (so newlines and tabs survive)
text_of() {
	$PY -c 'import json, sys
for l in open(sys.argv[1] + "/samples.jsonl"):
    d = json.loads(l)
    if d["id"] == sys.argv[2]:
        print(json.dumps(d["text"]))' "$C15" "$1"
}

# laid_out JSONTEXT: the screen shows the text's lines one under the other at one column, each
# line's tabs expanded to multiples of 8 (Python's str.expandtabs), and no escaped \n or \t
laid_out() {
	screen >"$TMP/screen.txt"
	$PY - "$1" "$TMP/screen.txt" <<'PY'
import json, sys
want = [l.expandtabs(8).rstrip() for l in json.loads(sys.argv[1]).split("\n")]
rows = open(sys.argv[2], encoding="utf-8").read().split("\n")
for y, row in enumerate(rows):
    x = row.find(want[0])
    while x >= 0:
        got = [r[x:x + len(w)].rstrip() for r, w in zip(rows[y:], want)]
        # and nothing of the text goes on after each line
        after = [r[x + len(w):x + len(w) + 2].strip() for r, w in zip(rows[y:], want)]
        if got == want and not any(after):
            sys.exit(0)
        x = row.find(want[0], x + 1)
sys.exit("lines %r not laid out on the screen" % want)
PY
}

# significance A B [REPORT ARGS]: the agreement pane's McNemar p and B - A interval are report's
# for that pair (negated when A comes after B in report's list), at the digits shown
significance() {
	a=$1 b=$2
	shift 2
	"$BIN" report "$@" --json >"$TMP/report.json" 2>/dev/null
	wait_re 'acc B.A [-+][0-9.]+, 95% CI \[[-+]' >/dev/null
	screen >"$TMP/screen.txt"
	$PY - "$a" "$b" "$TMP/report.json" "$TMP/screen.txt" <<'PY'
import json, re, sys
a, b = sys.argv[1], sys.argv[2]
rep = json.load(open(sys.argv[3]))
pair = next(p for p in rep["pairs"] if {p["a"], p["b"]} == {a, b})
sign = 1 if pair["a"] == a else -1  # report's pair is (a, b) in model order: acc b - acc a
lo, hi = pair["acc_diff_ci"]
if sign < 0:
    lo, hi = -hi, -lo
want = "McNemar p %s  acc B\u2212A %+.4f, 95%% CI [%+.4f, %+.4f]" % (
    "%.3g" % pair["mcnemar_p"], sign * pair["acc_diff"], lo, hi)
if want not in open(sys.argv[4], encoding="utf-8").read():
    sys.exit("wanted %r" % want)
PY
}

# key_column KEY [FILTER]: the instance table has a column headed KEY (less :asc) whose values, row by row,
# are the sort values `nncmp instances --sort KEY --json` gives (as %.4g), in its order
key_column() {
	# the heading in the table's header row (the sort may still be on the worker)
	i=0
	while [ $i -lt $((TIMEOUT * 10)) ]; do
		screen >"$TMP/screen.txt"
		grep ' index id ' "$TMP/screen.txt" | grep -qF " ${1%:*} " && break
		sleep 0.1
		i=$((i + 1))
	done
	if [ -n "${2:-}" ]; then
		"$BIN" instances $C15 --sort "$1" --filter "$2" --json --top 0 >"$TMP/inst.json"
	else
		"$BIN" instances $C15 --sort "$1" --json --top 0 >"$TMP/inst.json"
	fi
	# the screen is read again until it matches (or the time is up): a capture can catch tmux
	# between the header's update and the rows' on a loaded machine
	i=0
	while ! key_rows "$1" 2>"$TMP/key.err"; do
		i=$((i + 1))
		[ $i -ge $((TIMEOUT * 5)) ] && { cat "$TMP/key.err" >&2; return 1; }
		sleep 0.2
		screen >"$TMP/screen.txt"
	done
}

# key_rows KEY: the check of key_column on the screen in $TMP/screen.txt
key_rows() {
	$PY - "$1" "$TMP/inst.json" "$TMP/screen.txt" <<'PY'
import json, sys
key = sys.argv[1].rsplit(":", 1)[0] if sys.argv[1].endswith((":asc", ":desc")) else sys.argv[1]
want = [(d["index"], "-" if d["sort_value"] is None else "%.4g" % d["sort_value"])
        for d in json.load(open(sys.argv[2]))["instances"]]
rows = open(sys.argv[3], encoding="utf-8").read().split("\n")
y = next(k for k, r in enumerate(rows) if " index id " in r and (" " + key + " ") in r)
end = rows[y].index(" " + key + " ") + 1 + len(key)
got = []
for r in rows[y + 1:]:
    t = r[:end].split()
    if len(t) < 2 or not t[0].isdigit():
        break
    got.append((int(t[0]), t[-1]))
if len(got) < 8:
    sys.exit("only %d rows under %s" % (len(got), key))
if got != want[:len(got)]:
    sys.exit("screen %r, CLI %r" % (got[:5], want[:5]))
PY
}

echo "== classes15, UTF-8, 160x45"
start C.UTF-8 160 45 $C15
expect "the TUI is up" "Agreement per class"
expect "the detail pane shows instance 0" "Instance #0 "
T0=$(text_of t000)
if laid_out "$T0"; then ok "detail pane: the text starts a row at each line break, tabs to the next multiple of 8"; else no "detail pane: text not laid out at its line breaks"; fi
if screen | grep -qF '\n'; then no "an escaped backslash-n on the screen"; else ok "no escaped backslash-n on the screen"; fi
if screen | grep -qF '\t'; then no "an escaped backslash-t on the screen"; else ok "no escaped backslash-t on the screen"; fi
# the table: a line break is one mark, blanks one space
row=$($PY -c 'import json, re, sys
t = json.loads(sys.argv[1])
print(re.sub(" +", " ", t.replace("\t", " ").replace("\n", "\u23ce"))[:30])' "$T0")
expect "instance table: a line break shows as one ⏎" "$row"

if significance good poor $C15; then ok "agreement pane: McNemar p and the bootstrap interval are report's"; else no "agreement pane: significance differs from report --json"; fi
keys x
expect "x swaps the pair" "A=poor  B=good"
if significance poor good $C15; then ok "swapped: the interval of B-A is the negation of report's"; else no "swapped: significance differs from report --json"; fi
keys x

# the review queue draws its sample through the same layout
keys R
expect "R opens the review queue" "Review queue"
wait_re 'id t[0-9]+' >/dev/null
id=$(screen | grep -oE 'id t[0-9]+' | head -1 | cut -c4-)
TQ=$(text_of "$id")
case $TQ in *'\n'*) ;; *) no "the first suspect's text ($id) has no line break to test" ;; esac
if laid_out "$TQ"; then ok "review queue: $id's text laid out at its line breaks, tabs expanded"; else no "review queue: $id's text not laid out"; fi
keys Escape

echo "== classes15, ASCII (LANG=C), 100x30"
start C 100 30 $C15
expect "the TUI is up (ASCII)" "Agreement per class"
row=$($PY -c 'import json, re, sys
t = json.loads(sys.argv[1])
print(re.sub(" +", " ", t.replace("\t", " ").replace("\n", "|"))[:24])' "$T0")
expect "instance table in ASCII: a line break shows as |" "$row"
# a key the table shows already gets no second column: issue (shown at this width), a model
keys :
type_text "sort issue"
keys Enter
expect "sorted by issue" "sort: issue"
n=$(screen | grep ' index id ' | grep -o 'issue' | wc -l)
[ "$n" -eq 1 ] && ok ":sort issue: the issue column, not a second one" || no ":sort issue: $n issue columns"
keys :
type_text "sort poor"
keys Enter
expect "sorted by a model's prediction" "sort: poor"
n=$(screen | grep ' index id ' | grep -o 'poor' | wc -l)
[ "$n" -eq 1 ] && ok ":sort poor: the prediction column, not a second one" || no ":sort poor: $n poor columns"

echo "== classes15, 120x35: the sort key's values as a column"
start C.UTF-8 120 35 $C15
expect "the TUI is up (sort keys)" "Agreement per class"
if screen | grep -q ' index id .*act(\| index id .*sort key'; then no "a key column before any sort"; else ok "sorted by index: no key column"; fi
for key in 'act(good.fc1.3)' 'margin(poor):asc' 'p(good,class-03)' 'conf(poor)' 'correct'; do
	keys :
	type_text "sort $key"
	keys Enter
	if key_column "$key"; then ok ":sort $key shows its values in a column headed ${key%:asc}, as the CLI's"; else no ":sort $key: no column of the CLI's values"; fi
done
# the neuron pane's Enter sorts by that neuron: its activations show, under a filter too
keys 1
expect "only A right" "filter: good == gt and poor != gt"
keys Tab
expect "Tab focuses the neurons" "Neurons good.fc1"
wait_for "by |d|: filter vs rest" >/dev/null
keys Enter
wait_re 'sort: act\(good\.fc1\.[0-9]+\)' >/dev/null
key=$(screen | grep -oE 'sort: act\(good\.fc1\.[0-9]+\)' | head -1 | cut -c7-)
if [ -n "$key" ] && key_column "$key" 'good == gt and poor != gt'; then ok "Enter on a neuron: its activation ($key) is a column, as the CLI's"; else no "Enter on a neuron: no activation column ($key)"; fi

echo "== digits, UTF-8, 120x35: a later pair, swapped, under a filter"
start C.UTF-8 120 35 demo-data/digits
expect "the TUI is up (digits)" "Agreement per class"
keys :
type_text "models mlp cnn"
keys Enter
expect "the pair is mlp and cnn" "A=mlp  B=cnn"
keys :
type_text "filter gt == 3 or gt == 5"
keys Enter
expect "the filter is applied" "filter: gt == 3 or gt == 5"
if significance mlp cnn demo-data/digits --filter 'gt == 3 or gt == 5'; then ok "digits mlp/cnn under a filter: McNemar p and interval are report's"; else no "digits: significance differs from report --json"; fi

finish numbers

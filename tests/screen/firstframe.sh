#!/bin/sh
# tests/screen/firstframe.sh NNCMP — the first screen comes before the study's derivation ends
# (issue #20): the instance table and the study's size first, the panes that need derived data
# "computing…" until it lands, keys that need it refused in words, a ':' command kept until it
# lands; then the agreement counts of a
# new filter computed on the worker, the old ones dimmed until the new ones land. The
# derivation and the counting are slowed down with the test-only NNCMP_TEST_DELAY_MS (worker.h),
# through a wrapper script, since the sessions start with a clean environment (lib.sh's start).
# Expected counts come from `nncmp instances --json`; NNCMP_TRACE's log is checked too.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "firstframe: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "firstframe: tmux is not installed" >&2; exit 2; }
. tests/screen/lib.sh

REAL=$BIN
# slow DELAY_MS FILE: a wrapper running nncmp with its jobs delayed and traced
slow() {
	printf '#!/bin/sh\nNNCMP_TEST_DELAY_MS=%s NNCMP_TRACE="%s" exec "%s" "$@"\n' \
		"$1" "$TMP/trace" "$REAL" >"$2"
	chmod +x "$2"
}
slow 2500 "$TMP/nncmp-slow"
slow 300 "$TMP/nncmp-300"
# cnt FILTER: how many instances of the digits study match, from the CLI
cnt() {
	"$REAL" instances demo-data/digits --filter "$1" --json --top 1 |
		grep -o '"count": *[0-9]*' | grep -o '[0-9]*$'
}

# look: the agreement row of "all": its counts and how they are drawn, "COUNTS | fg=F dim=D bold=B"
# (F the 256-colour foreground or "default"), read from capture-pane -e through the SGR codes
look() {
	tm capture-pane -p -e -t "$S" | /usr/bin/python3 -c '
import re, sys
fg, dim, bold = "default", 0, 0
for line in sys.stdin.read().split("\n"):
    text, attrs = "", []
    for part in re.split(r"(\x1b\[[0-9;]*m)", line):
        if part.startswith("\x1b["):
            codes = part[2:-1].split(";") if part[2:-1] else ["0"]
            k = 0
            while k < len(codes):
                c = codes[k]
                if c == "0": fg, dim, bold = "default", 0, 0
                elif c == "1": bold = 1
                elif c == "2": dim = 1
                elif c == "22": dim = bold = 0
                elif c == "39": fg = "default"
                elif c == "38" and k + 2 < len(codes): fg = codes[k + 2]; k += 2
                elif c == "48" and k + 2 < len(codes): k += 2
                elif 30 <= int(c) <= 37 or 90 <= int(c) <= 97: fg = c
                k += 1
        else:
            for ch in part:
                text += ch
                attrs.append((fg, dim, bold))
    m = re.search(r" all +([0-9]+) +([0-9]+) +([0-9]+) +([0-9]+)", text)
    if m:
        f, d, b = attrs[m.start(1)]
        print("%s %s %s %s | fg=%s dim=%d bold=%d" % (m.groups() + (f, d, b)))
        break
'
}

echo "== digits, derivation slowed to 2.5 s, 160x45"
BIN=$TMP/nncmp-slow
start C.UTF-8 160 45 demo-data/digits
total=$(cnt 'index >= 0')
expect "the first frame shows the study's size" "$total/$total"
expect "the first frame shows the instance table" "index id"
expect "the instance table lists the first instance" "digit-00000"
expect "the panes that need derived data say computing" "computing…"
expect "the status line says what the worker does" "deriving the predictions"
if screen | grep -q "only A  only B"; then
	no "no agreement counts before the derivation lands"
else
	ok "no agreement counts before the derivation lands"
fi
keys 1
expect "a key that needs derived data says so" "not ready: the models' predictions are still being derived"
keys j
expect_not "moving works meanwhile (and clears the message)" "not ready"
right=$(cnt 'cnn == gt')
expect "then the models pane fills in (cnn right, from the CLI)" "A cnn"
expect_re "with the count the CLI gives" " A cnn +[0-9.]+ +[0-9.]+ +$right "
expect "the agreement pane fills in" "only A  only B"
expect_not "no pane says computing any more" "computing…"
both=$(cnt 'cnn == gt and cnn_early == gt')
onlya=$(cnt 'cnn == gt and cnn_early != gt')
expect_re "the agreement counts are the CLI's" "all +$both +$onlya "
if grep -q '^first-frame .* ready=0$' "$TMP/trace" && grep -q '^derived ' "$TMP/trace"; then
	ok "NNCMP_TRACE: a first frame before the derivation, then the derivation"
else
	no "NNCMP_TRACE: a first frame before the derivation ($(cat "$TMP/trace"))"
fi
ff=$(sed -n 's/^first-frame wall_ms=\([0-9]*\).*/\1/p' "$TMP/trace")
dv=$(sed -n 's/^derived wall_ms=\([0-9]*\).*/\1/p' "$TMP/trace")
if [ -n "$ff" ] && [ -n "$dv" ] && [ "$ff" -lt "$dv" ] && [ "$dv" -ge 2500 ]; then
	ok "the first frame ($ff ms) came before the derivation landed ($dv ms)"
else
	no "the first frame ($ff ms) came before the derivation landed ($dv ms)"
fi

echo "== a filter: the old counts dimmed until the new ones land"
expect "the bootstrap interval is in" "95% CI ["
before=$(look)
keys 1
sleep 0.5
during=$(look)
case $before in
"$both $onlya "*"| fg=default dim=0"*) ok "before the filter the counts are drawn plain ($before)" ;;
*) no "before the filter the counts are drawn plain ($before)" ;;
esac
case $during in
"$both $onlya "*) ok "while the filter is applied the old counts stay ($during)" ;;
*) no "while the filter is applied the old counts stay ($during)" ;;
esac
# the theme's dim role in 256 colours is grey 244; elsewhere it may be the dim attribute
case $during in
*"fg=244 "* | *"dim=1"*) ok "and they are dimmed" ;;
*) no "and they are dimmed (before: $before; during: $during)" ;;
esac
expect "the status line says the filter is being applied" "filtering 899 instances"
n1=$(cnt 'cnn == gt and cnn_early != gt')
expect_re "then the new counts land: only A right" "all +0 +$n1 +0 +0 "
expect "and the filter with them" "$n1/$total"
after=$(look)
case $after in
"0 $n1 0 0 | fg=default dim=0"*) ok "the new counts are drawn plain ($after)" ;;
*) no "the new counts are drawn plain ($after)" ;;
esac
echo "== a search of the instance table on the worker"
keys /
type_text "digit-00131"
keys Enter
expect "the status line says it searches" "searching $n1 instances"
expect "then the cursor is on the match" "Instance #74  digit-00131"
keys /
type_text "no-such-thing"
keys Enter
expect "a search that finds nothing says so" "not found in this pane: no-such-thing"
if grep -qE '^key 1 ui_ms=[0-9.]+ ui_cpu_ms=[0-9.]+$' "$TMP/trace"; then
	ok "NNCMP_TRACE logs the key's UI time"
else
	no "NNCMP_TRACE logs the key's UI time ($(cat "$TMP/trace"))"
fi
keys q
wait_prompt
expect "the TUI quit cleanly" "rc=0"

echo "== a saved view over derived data opens once its numbers are in"
cp -r demo-data/digits "$TMP/dg"
mkdir -p "$TMP/dg/.nncmp"
printf '[wrong]\nfilter = cnn != gt\nview = models\n' >"$TMP/dg/.nncmp/views.ini"
wrong=$(cnt 'cnn != gt')
start C.UTF-8 160 45 "$TMP/dg --view wrong"
expect "the first frame comes first" "computing…"
expect "then the models view, over the saved filter" "4 models over the $wrong shown instances"
expect_not "it was not refused meanwhile" "still being computed"
keys Escape
keys q
wait_prompt

echo "== quitting while the derivation runs"
start C.UTF-8 100 30 demo-data/digits
expect "computing" "computing…"
keys q
wait_prompt
expect "q quits before the derivation lands" "rc=0"

echo "== a ':' command typed before the derivation lands runs when it does"
BIN=$TMP/nncmp-slow
start C.UTF-8 160 45 demo-data/digits
expect "the status line says what the worker does" "deriving the predictions"
keys :
type_text "filter cnn != gt"
keys Enter
expect "it is kept, in words" ":filter cnn != gt runs when the predictions are derived"
if screen | grep -q "filter: cnn != gt"; then
	no "it waits for the derivation"
else
	ok "it waits for the derivation"
fi
wrong=$(cnt 'cnn != gt')
expect "then it runs: the filter and its count, as the CLI gives it" "Instances $wrong/$total"
expect "the status line names the filter" "filter: cnn != gt"
keys q
expect "q quits" "rc=0"
start C.UTF-8 160 45 demo-data/digits
expect "again, while it derives" "deriving the predictions"
keys :
type_text "q"
keys Enter
expect ":q quits before the derivation lands" "rc=0"
if grep -q '^derived' "$TMP/trace"; then
	no ":q did not wait for the derivation ($(cat "$TMP/trace"))"
else
	ok ":q did not wait for the derivation"
fi

echo "== bad probabilities found once the screen is up: one line, exit 2"
ST=$TMP/badprob
/usr/bin/python3 - "$ST" <<'PY' || { echo "firstframe: could not write the study" >&2; exit 2; }
import os, sys
import numpy as np
d = sys.argv[1]
os.makedirs(d + "/models/m")
np.save(d + "/labels.npy", np.array([0, 1, 1], np.int64))
np.save(d + "/models/m/probs.npy", np.array([[0.5, 0.5], [0.2, 0.8], [np.nan, 1]], np.float32))
PY
: >"$TMP/stderr"
BIN=$TMP/nncmp-300
start C.UTF-8 100 30 "$ST"
expect "the TUI gives up with status 2" "rc=2"
if grep -q '^first-frame .* ready=0$' "$TMP/trace" && ! grep -q '^derived' "$TMP/trace"; then
	ok "after its first frame, without a derivation"
else
	no "after its first frame, without a derivation ($(cat "$TMP/trace"))"
fi
if [ "$(grep -c '' "$TMP/stderr")" -eq 1 ] && grep -q "^nncmp: .*probs.npy: row 2: " "$TMP/stderr"; then
	ok "one line on stderr naming the file and the row"
else
	no "one line on stderr naming the file and the row: $(cat "$TMP/stderr")"
fi
: >"$TMP/stderr"
finish firstframe

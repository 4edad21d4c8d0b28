#!/bin/sh
# tests/screen/keys.sh NNCMP — keys as data: config.ini's [keys] rebinds a review key
# (review.accept) and a key every view shares (view.down) through a temporary XDG_CONFIG_HOME;
# the new keys work, the old defaults no longer do, and ? lists the new bindings. Then a config
# with an unknown action, an unknown mode and a key taken from another action: the TUI still
# opens, says all of it on one line, and the taken key has moved. Works on a copy of digits.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "keys: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "keys: tmux is not installed" >&2; exit 2; }
. tests/screen/lib.sh

ST=$TMP/digits
cp -r demo-data/digits "$ST"
rm -f "$ST"/nncmp-journal.jsonl*
mkdir -p "$TMP/config/nncmp"

# the live decisions of the journal, from the CLI: "INDEX ACTION LABEL" per line
decisions() {
	"$BIN" decisions "$ST" --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for d in json.load(sys.stdin)["decisions"]:
    print(d["index"], d["action"], d.get("new", "-"))'
}
# the review's "K/N  #I": the position K and the instance I
pos() { screen | grep -o '^ [0-9]*/[0-9]*  #[0-9]*' | head -1 | sed 's|/.*||; s| ||g'; }
current() { screen | grep -o '^ [0-9]*/[0-9]*  #[0-9]*' | head -1 | sed 's/.*#//'; }

echo "== review.accept = A, view.down = J"
printf '[keys]\nreview.accept = A\nview.down = J\n' >"$TMP/config/nncmp/config.ini"
start C.UTF-8 160 45 "$ST"
expect "the TUI opens" "899/899"
expect_not "a valid config gives no message" "config.ini"
keys R
expect "R opens the review queue" "Review queue"
expect_re "the queue is ranked" " 1/[0-9]+  #[0-9]+"
expect "the key hints follow the table" "A accept suggestion"
inst=$(current) # (not i: lib.sh's loops use it)
sugg=$(screen | grep -o 'suggested [^ ]*' | head -1 | sed 's/suggested //')
keys a
sleep 0.5
[ -z "$(decisions)" ] && ok "a (the old default) decides nothing" || no "a decided: $(decisions)"
[ "$(current)" = "$inst" ] && ok "a leaves the cursor on #$inst" || no "a moved to #$(current)"
keys A
expect "A accepts the suggestion" "(saved; u undoes)"
# the journal holds exactly that decision: instance i, relabelled to the suggestion shown
cls=$(grep -n . "$ST/classes.txt" | sed -n "/:$sugg\$/s/:.*//p")
want="$inst relabel $((cls - 1))"
got=$(decisions)
[ "$got" = "$want" ] && ok "the journal: #$inst relabelled to $sugg" || no "journal '$got', wanted '$want'"
at=$(pos)
keys j
sleep 0.5
[ "$(pos)" = "$at" ] && ok "j (the old default) no longer moves" || no "j moved from $at to $(pos)"
keys J
expect_re "J moves down" " $((at + 1))/[0-9]+  #"
keys '?'
expect "? lists the review's rebinding" "A                review.accept"
expect "? lists the view's rebinding" "J                view.down"
keys q
expect "q closes the help" "Review queue"
keys Escape
expect "Esc closes the review" "Agreement per class"
keys j
sleep 0.3
expect "the panes keep their own j" "Instance #1 "
keys q
expect "q quits" "rc=0"

echo "== / searches inside a view; ? lists the view's own keys"
rm -f "$TMP/config/nncmp/config.ini"
start C.UTF-8 160 45 "$ST"
expect "the TUI opens" "A=cnn B=cnn_early"
keys O
expect "O opens the models view" "Esc: close"
keys '?'
expect "? in a view lists its own keys" "models.sort-next"
expect "? in a view lists the keys every view shares" "view.search"
keys q
keys /
type_text "knn"
keys Enter
sleep 0.3
keys Enter
expect "/ found knn in the view: Enter makes it A" "A=knn"
keys q
expect "q quits" "rc=0"

echo "== unknown action and mode, a key taken from another action"
printf '[keys]\nbogus-action = z\ndown = j n\nnosuch.down = x\nreview.accept = Q\n' \
	>"$TMP/config/nncmp/config.ini"
start C.UTF-8 220 45 "$ST"
expect "the TUI still opens" "899/899"
last=$(screen | grep -v '^ *$' | tail -1)
case $last in
*"config.ini line 2: [keys] no action called 'bogus-action' in panes"*"line 3: [keys] panes.down: n taken from search-next"*"line 4: [keys] no mode called 'nosuch'"*)
	ok "every problem on the one message line" ;;
*) no "message line: $last" ;;
esac
n=$(screen | grep -c 'config.ini')
[ "$n" = 1 ] && ok "the report is one line" || no "the report spans $n lines"
keys n
expect "n now moves down (the binding applied)" "Instance #1 "
keys '?'
expect_re "search-next has no key left" "\(none\) +search-next"
keys q
keys q
expect "q quits" "rc=0"

echo "== :view NAME opens any view by name, Tab completes the name"
rm -f "$TMP/config/nncmp/config.ini"
start C.UTF-8 160 45 "$ST"
expect "the TUI opens" "A=cnn B=cnn_early"
keys :
type_text "view snap"
keys Tab
expect ":view Tab completes the view's name" ":view snapshot"
keys Enter
expect ":view snapshot opens the snapshot view" "Snapshot comparison"
keys Escape
keys :
type_text "view nosuch"
keys Enter
expect ":view of an unknown name says so" "no view called 'nosuch'"
keys q
expect "q quits" "rc=0"

finish keys

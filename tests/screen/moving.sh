#!/bin/sh
# tests/screen/moving.sh NNCMP — screen tests of moving around (issue #16): Esc closes and nothing
# more, Backspace goes back; the weights view for every layer with weights; paging, help, the
# mouse; the command line's keys and history; options that open the TUI in a state; copying.
# Runs from the top of the tree. Needs tmux.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "screen: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "screen: tmux is not installed" >&2; exit 2; }

. tests/screen/lib.sh

C15=tests/data/classes15
# n STUDY FILTER: how many instances match, from the CLI
n() { "$BIN" instances "$1" --filter "$2" --json --top 1 | grep -o '"count": *[0-9]*' | grep -o '[0-9]*$'; }

echo "== Esc closes a message and nothing more; Backspace goes back"
start C.UTF-8 160 45 demo-data/fortunes
total=$(n demo-data/fortunes 'index >= 0')
expect "opens" "$total/$total"
expect_not "no back step yet: the status line names none" "BS back"
keys 1
only_a=$(n demo-data/fortunes 'bow == gt and cnn != gt')
expect "1: only A" "$only_a/$total"
expect "a back step exists: the status line says BS" "BS back"
keys :
type_text "sort bogus"
keys Enter
expect "a bad sort key says so" "sort: "
keys Escape
expect_not "Esc dismisses the error" "unknown"
sleep 0.3
expect "Esc keeps the filter" "$only_a/$total"
keys BSpace
expect "Backspace goes back to all" "$total/$total"
expect_not "the back step is used up" "BS back"
keys q

echo "== E, Enter, Esc, Esc: the filter the user came from"
mkdir -p "$TMP/c15" && cp -r $C15/. "$TMP/c15/"
start C.UTF-8 160 45 "$TMP/c15"
total=$(n $C15 'index >= 0')
keys w
both=$(n $C15 'good != gt and poor != gt')
expect "w: both wrong" "$both/$total"
keys E
expect "E: the overview" "Label errors overview"
keys Enter
expect "Enter: a review of the cell" "Review queue"
keys Escape
expect "Esc closes the review" "Agreement per class"
keys Escape
sleep 0.3
expect "a second Esc leaves the filter alone" "filter: good != gt and poor != gt"
expect "and its count" "$both/$total"
keys q
finish moving

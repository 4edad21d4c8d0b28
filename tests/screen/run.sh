#!/bin/sh
# tests/screen/run.sh NNCMP — screen tests of the TUI: the real binary in a detached tmux session of
# fixed size and TERM, driven with send-keys and read with capture-pane, checked against what a
# user must see. Expected counts come from `nncmp instances --json`, never from constants.
# Runs from the top of the tree (demo-data/ must be there). Needs tmux.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "screen: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "screen: tmux is not installed" >&2; exit 2; }

. tests/screen/lib.sh

echo "== UTF-8, 160x45, demo-data/digits"
start C.UTF-8 160 45 demo-data/digits
total=$(count 'index >= 0')
expect "status shows shown/total" "$total/$total"
for m in cnn cnn_early knn mlp; do expect "models summary lists $m" " $m "; done
expect "agreement table header" "only A  only B"
expect "agreement pane title" "Agreement per class   A=cnn  B=cnn_early"
expect "confusion matrix of A" "Confusion A: cnn"
expect "instance table header" "index id"
expect "help hint on the last line" "? help"

# bytes written for one navigation keystroke in the instance table (once the background work
# that the start queued is done, so that only the keystroke's redraw is counted)
expect "the neuron pane's first ranking arrives" "by std: all instances"
tm pipe-pane -t "$S" -o "cat > $TMP/bytes"
sleep 0.3
keys j
sleep 0.5
tm pipe-pane -t "$S"
b=$(wc -c <"$TMP/bytes")
echo "     (one 'j' in the instance table wrote $b bytes)"
# the instance table's cursor row, and the detail pane now showing the next instance
if [ "$b" -gt 0 ] && [ "$b" -lt 4096 ]; then ok "a navigation key writes few bytes ($b)"; else no "navigation wrote $b bytes"; fi


# DeepCompare's glyph: each prediction in its class's hue on the truth's hue (the README's
# palette: class c has hue number c mod 8 of 214 117 36 227 25 166 175 247). Instance 2's truth
# and cnn's prediction come from the CLI.
hue() { set -- $(($1 % 8)); echo "214 117 36 227 25 166 175 247" | cut -d' ' -f$(($1 + 1)); }
row=$("$BIN" instances demo-data/digits --filter 'index == 2' --json |
	/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)["instances"][0]; print(d["id"], d["label"], d["preds"]["cnn"])')
set -- $row
want="38;5;$(hue "$3")m.*48;5;$(hue "$2")m"
if tm capture-pane -e -p -t "$S" | grep -F " $1 " | grep -q "$want"; then
	ok "cnn's prediction ($3) is drawn in its hue on the truth's ($2)"
else
	no "instance 2's cnn cell is not $want"
fi

# agreement control: only A right
n=$(count 'cnn == gt and cnn_early != gt')
keys 1
expect "only-A key shows its filter" "filter: cnn == gt and cnn_early != gt"
expect "only-A key shows the smaller count" "$n/$total"
keys 2
n=$(count 'cnn != gt and cnn_early == gt')
expect "only-B key" "$n/$total"
keys w
n=$(count 'cnn != gt and cnn_early != gt')
expect "both-wrong key" "$n/$total"
keys ']'
n=$(count 'gt == 0 and cnn != gt and cnn_early != gt')
expect "] picks class 0 and keeps the outcome" "filter: gt == 0 and cnn != gt and cnn_early != gt"
expect "count for class 0, both wrong" "$n/$total"
keys a
n=$(count 'gt == 0')
expect "a: every outcome of class 0" "$n/$total"
keys '['
expect "[ back to all classes" "filter: (all)"

# confusion view cycles A, B, B-A
keys c
expect "c shows B" "Confusion B: cnn_early"
keys c
expect "c shows B-A" "Confusion B−A: cnn_early − cnn"
keys c
expect "c back to A" "Confusion A: cnn"

# open a confusion cell: focus the matrix (the pane before the instances)
keys BTab
keys j j j l l l l l l l l
expect "cursor cell explained" "truth 3 → pred 8"
n=$(count 'gt == 3 and cnn == 8')
keys Enter
expect "Enter opens the cell's filter" "filter: gt == 3 and cnn == 8"
expect "cell count" "$n/$total"
expect "a back step exists: the status line names its key" "BS back"
# Esc closes things and nothing more (issue #16): the filter stays; Backspace goes back
keys Escape
sleep 0.3
expect "Esc keeps the cell's filter" "filter: gt == 3 and cnn == 8"
keys BSpace
expect "Backspace goes back to the previous filter" "filter: (all)"
expect "Backspace restores the count" "$total/$total"

# command line
keys :
expect "command line opens" ":"
type_text "filter cnn != gt"
keys Enter
n=$(count 'cnn != gt')
expect ":filter applies" "filter: cnn != gt"
expect ":filter count" "$n/$total"
keys : 
type_text "filter gt == 3 and cnnn == gt"
keys Enter
expect "bad filter: the compiler's message" "unknown name 'cnnn'"
expect "bad filter: the column" "column 13"
expect "bad filter keeps the old filter" "filter: cnn != gt"
keys : Up
expect "history recalls the last command" ":filter gt == 3 and cnnn == gt"
keys Escape
keys :
type_text "sort conf(cnn)"
keys Enter
expect ":sort shows its key" "sort: conf(cnn)"
keys :
type_text "models mlp knn"
keys Enter
expect ":models changes the pair" "A=mlp  B=knn"
keys :
type_text "theme monochrome"
keys Enter
expect ":theme loads a theme" "theme monochrome"
expect "monochrome: right and wrong by shape" "✓ right"
keys :
type_text "theme nosuchtheme"
keys Enter
expect "unknown theme is reported" "theme 'nosuchtheme' not found"

# help from the action table
keys '?'
expect "help lists actions" "agree-only-a"
expect "help lists keys" "focus-next"
expect "help lists commands" ":models A B"
keys q
expect "q closes help, not nncmp" "filter: cnn != gt"

# zoom
keys z
expect_not "z zooms the focused pane" "Confusion A:"
keys z
expect "z again restores the split" "Confusion A:"

# resize
tm resize-window -t "$S" -x 60 -y 20
expect "60x20: instances still shown" "Instances"
expect "60x20: count still shown" "/$total"
tm resize-window -t "$S" -x 30 -y 8
expect "30x8: too small" "terminal too small"
tm resize-window -t "$S" -x 80 -y 24
expect "80x24: back" "Instances"
expect_not "80x24: the too-small message is gone" "terminal too small"
tm resize-window -t "$S" -x 160 -y 45

# Ctrl-Z and fg restore the screen
keys C-z
expect "Ctrl-Z returns to the shell" "prompt$"
keys "fg" Enter
expect "fg restores the screen" "Agreement per class"

keys q
# the shell already ran `echo rc=` when the job stopped; after fg, q must bring the prompt back
if wait_gone "Agreement per class" && wait_prompt; then
	ok "q quits to the shell prompt"
else
	no "q quits to the shell prompt"
fi
if [ "$(tm display -p -t "$S" '#{alternate_on}')" = 0 ]; then ok "alternate screen left"; else no "still in the alternate screen"; fi

echo "== the neuron pane: rank for a filter, pick a neuron, instances sorted by it"
start C.UTF-8 160 45 demo-data/digits
expect "neuron pane over all instances" "by std: all instances"
keys 1
expect "the ranking follows the filter" "by |d|: filter vs rest"
keys Tab
# the demo's first layer by name is conv1 (N, 8, 8, 8), then conv2 (pooled), then fc1
expect "Tab focuses the neurons" "Neurons cnn.conv1"
# the neuron on the first row, and the instance the CLI puts first when sorting by it
j=$(screen | grep -A1 ' neuron      d ' | tail -1 | awk '{print $(NF-5)}')
keys Enter
expect "Enter sorts the instances by the neuron" "sort: act(cnn.conv1.$j)"
want=$("$BIN" instances demo-data/digits --filter 'cnn == gt and cnn_early != gt' \
	--sort "act(cnn.conv1.$j)" --json --top 1 | grep -o '"index": *[0-9]*' | head -1 | grep -o '[0-9]*$')
first=$(screen | grep -A1 ' index id ' | sed -n 2p | awk '{print $1}')
[ -n "$want" ] && [ "$first" = "$want" ] && ok "first row is the CLI's top instance (#$want)" ||
	no "first row #$first, the CLI says #$want"
expect "the detail pane follows" "Instance #$want "
keys L
expect "L: the next layer" "Neurons cnn.conv2"
keys q

echo "== images without sixel: half-blocks, and a placeholder for a missing file"
# tmux has no sixel here, so the probe falls back to half-blocks; --graphics blocks says so anyway
start C.UTF-8 160 45 "demo-data/digits --graphics blocks"
expect "the detail pane shows instance 0" "Instance #0 "
# the digit's 8x8 pixels as four rows of upper half blocks beside the probability bars
n=$(screen | grep -c '▀▀▀▀▀▀▀▀')
[ "$n" -ge 4 ] && ok "half-block image in the detail pane ($n rows)" || no "no half-block image ($n rows)"
keys v
expect "v: the full-screen preview" "Image preview"
n=$(screen | grep -c '▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀')
[ "$n" -ge 8 ] && ok "the preview enlarges the digit ($n rows)" || no "preview too small ($n rows)"
keys Escape t
expect "t: the thumbnail grid" "Thumbnails of the shown instances"
expect "thumbnails have captions: id, truth, A and B right" "…00001 1 AB"
keys q q
# a copy of the study whose first image is gone: a box with the reason, never a crash
cp -r demo-data/digits "$TMP/noimg"
rm -f "$TMP/noimg/images/00000.png" "$TMP/noimg"/nncmp-journal.jsonl*
start C.UTF-8 160 45 "$TMP/noimg --graphics blocks"
expect "missing image: placeholder with the reason" "no such file"
keys j
expect "the next instance shows its image again" "Instance #1 "
n=$(screen | grep -c '▀▀▀▀▀▀▀▀')
[ "$n" -ge 4 ] && ok "the image after the placeholder" || no "no image after the placeholder"
keys q
# the first image a symbolic link to a file outside the study: refused with the reason
cp demo-data/digits/images/00001.png "$TMP/outside.png"
ln -s "$TMP/outside.png" "$TMP/noimg/images/00000.png"
start C.UTF-8 160 45 "$TMP/noimg --graphics blocks"
expect "a link out of the study: placeholder with the reason" "outside the study"
keys q

echo "== ASCII (LANG=C), 120x35, demo-data/digits"
start C 120 35 "demo-data/digits --theme light"
expect "ASCII: count" "$total/$total"
keys :
type_text "theme"
keys Enter
expect "--theme is honoured" "theme: light"
expect "ASCII: agreement header" "both ok"
expect "ASCII: separators" " | "
if screen | grep -q '■\|│\|✓'; then no "ASCII: no UTF-8 glyphs"; else ok "ASCII: no UTF-8 glyphs"; fi
keys 1
n=$(count 'cnn == gt and cnn_early != gt')
expect "ASCII: only-A key" "$n/$total"
keys q
expect "ASCII: q quits" "rc=0"

echo "== fortunes, 80x24, signals"
start C.UTF-8 80 24 demo-data/fortunes
expect "fortunes opens" "fortunes"
expect "fortunes: model bow" "A=bow"
expect "fortunes: the text column" "text"
keys Tab
expect "Tab shows the neuron pane at 80x24" "Neurons bow."
keys Tab
expect "Tab: the detail pane" "Instance #0"
keys Tab
expect "Tab: the models summary" "Models"
pid=$(pgrep -P "$(tm display -p -t "$S" '#{pane_pid}')" | head -1)
if [ -n "$pid" ]; then
	kill -TERM "$pid"
	expect "SIGTERM: nncmp stops" "rc=143"
	if [ "$(tm display -p -t "$S" '#{alternate_on}')" = 0 ]; then ok "SIGTERM: terminal restored"; else no "SIGTERM left the alternate screen on"; fi
else
	no "could not find nncmp's pid"
fi

echo "== config.ini rebinds keys and picks a theme; Ctrl-C"
mkdir -p "$TMP/config/nncmp"
printf '[keys]\nconfusion = v\nquit = Q\n[ui]\ntheme = monochrome\n' >"$TMP/config/nncmp/config.ini"
start C.UTF-8 100 30 "" demo-data/digits
expect "nncmp alone in a study directory opens it" "/$total"
expect "config: theme from [ui]" "✓ right"
keys v
expect "config: v cycles the confusion view" "Confusion B: cnn_early"
keys c
sleep 0.3
expect_not "config: c is no longer bound" "Confusion B−A"
keys '?'
expect "config: help shows the new key" "Q                quit"
keys Escape
expect "opens at 100x30" "/$total"
keys C-c
expect "Ctrl-C: nncmp stops with 130" "rc=130"
if [ "$(tm display -p -t "$S" '#{alternate_on}')" = 0 ]; then ok "Ctrl-C: terminal restored"; else no "Ctrl-C left the alternate screen on"; fi

echo "== SIGHUP"
start C.UTF-8 80 24 demo-data/digits
expect "opens at 80x24" "/$total"
pid=$(pgrep -P "$(tm display -p -t "$S" '#{pane_pid}')" | head -1)
if [ -n "$pid" ]; then
	kill -HUP "$pid"
	expect "SIGHUP: nncmp stops" "rc=129"
	if [ "$(tm display -p -t "$S" '#{alternate_on}')" = 0 ]; then ok "SIGHUP: terminal restored"; else no "SIGHUP left the alternate screen on"; fi
else
	no "could not find nncmp's pid"
fi

echo "== a layer of 0 columns, and a search (both once failed under ASan)"
Z=$TMP/zero
mkdir -p "$Z/models/cnn/act"
cp demo-data/digits/labels.npy demo-data/digits/classes.txt "$Z/"
cp demo-data/digits/models/cnn/probs.npy "$Z/models/cnn/"
/usr/bin/python3 - "$Z/models/cnn/act/empty.npy" <<'PY'
import sys
d = "{'descr': '<f4', 'fortran_order': False, 'shape': (899, 0), }"
d += " " * ((64 - (10 + len(d) + 1) % 64) % 64) + "\n"
open(sys.argv[1], "wb").write(b"\x93NUMPY\x01\x00" + len(d).to_bytes(2, "little") + d.encode())
PY
rm -f "$TMP/config/nncmp/config.ini" # the default keys again
start C.UTF-8 120 40 "$Z"
expect "the study with an empty layer opens" "/899"
keys :
type_text "layer cnn.empty"
keys Enter
expect ":layer picks the empty layer" "Neurons cnn.empty"
keys Y
expect "Y on 0 columns: no pairs, every instance left out" "cnn.empty: 0 pairs"
keys Escape
sleep 0.3 # an Esc right before '/' would read as Alt-/
keys /
type_text "7"
keys Enter
expect "/: the search moves to the next match" "Instance #7"
keys q
expect "quits after a search" "rc=0"

echo "== not a terminal: the report, as before"
if "$BIN" demo-data/digits </dev/null | grep -q 'pair (A vs B)'; then ok "piped: prints the report"; else no "piped: no report"; fi

finish screen

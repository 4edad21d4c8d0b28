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
expect "the overview is computed" "Enter: review them"
keys Enter
expect "Enter: a review of the cell" "Review queue"
keys Escape
expect "Esc closes the review" "Agreement per class"
keys Escape
sleep 0.3
expect "a second Esc leaves the filter alone" "filter: good != gt and poor != gt"
expect "and its count" "$both/$total"
keys q

echo "== H: every layer with weights, also when activations are saved for another layer"
# a real study: act/fc1.npy for one layer, weights/fc2.npy for another
mkdir -p "$TMP/real" && cp -r $C15/. "$TMP/real/" && rm "$TMP/real/models/good/weights/fc1.npy"
start C.UTF-8 160 45 "$TMP/real"
expect "opens" "/300"
keys H
expect "H shows the layer that has weights" "good.fc2 weights (15 x 16)"
expect "H says why not the neuron pane's layer" "the neuron pane's layer good.fc1 has no weights (models/good/weights/fc1.npy); showing good.fc2"
keys Escape
keys :
type_text "layer good.fc2"
keys Enter
expect ":layer accepts a weights-only layer" "good.fc2 has weights only: H shows them"
keys q
# the same as a manifest: the hint names the manifest's key
cat >"$TMP/real/study.ini" <<'INI'
[study]
labels = labels.npy
classes = classes.txt
samples = samples.jsonl
[model good]
probs = models/good/probs.npy
act.fc1 = models/good/act/fc1.npy
weights.fc2 = models/good/weights/fc2.npy
[model poor]
probs = models/poor/probs.npy
INI
start C.UTF-8 160 45 "$TMP/real/study.ini"
expect "the manifest opens" "/300"
keys H
expect "manifest: H shows fc2" "good.fc2 weights (15 x 16)"
expect "manifest: the hint names the key" "has no weights (weights.fc1 = ... in [model good] of study.ini)"
keys q
# both layers with weights: L in the view steps through them
start C.UTF-8 160 45 $C15
keys H
expect "H: the neuron pane's layer when it has weights" "good.fc1 weights (16 x 8)"
expect "H lists the layers with weights" "layers with weights: [good.fc1] good.fc2   L: next"
keys L
expect "L: the next layer with weights" "good.fc2 weights (15 x 16)"
keys Escape
keys :
type_text "layer good.fc2"
keys Enter H
expect ":layer M.L then H shows that layer" "good.fc2 weights (15 x 16)"
keys q

echo "== nncmp STUDY --filter --sort --models: the TUI in that state"
start C.UTF-8 160 45 "demo-data/digits --filter 'mlp != gt' --sort 'conf(mlp)' --models mlp knn"
total=$(n demo-data/digits 'index >= 0')
m=$(n demo-data/digits 'mlp != gt')
expect "--filter: the TUI opens with it" "filter: mlp != gt"
expect "--filter: its count" "$m/$total"
expect "--sort: the key" "sort: conf(mlp)"
expect "--models: the pair" "A=mlp  B=knn"
expect "the command line's filter is a back step" "BS back"
keys q
start C.UTF-8 160 45 "demo-data/digits --filter 'cnnn == gt'"
expect "a bad --filter: said on stderr, the TUI does not start" "rc=2"
grep -q "unknown name 'cnnn'" "$TMP/stderr" && ok "a bad --filter names the problem" || no "stderr: $(cat "$TMP/stderr")"
start C.UTF-8 160 45 "-- demo-data/digits"
expect "nncmp -- STUDY opens the TUI" "$total/$total"
keys q
# --color=never: no colour escapes at all; --color=always over NO_COLOR
start C.UTF-8 160 45 "--color=never demo-data/digits"
expect "--color=never opens" "$total/$total"
if tm capture-pane -e -p -t "$S" | grep -q '38;5;\|48;5;\|\[3[0-7]m\|\[4[0-7]m'; then no "--color=never drew colours"; else ok "--color=never draws no colour"; fi
keys q
start C.UTF-8 160 45 "--color=always demo-data/digits" "."
expect "--color=always opens" "$total/$total"
if tm capture-pane -e -p -t "$S" | grep -q '38;5;\|48;5;'; then ok "--color=always draws colour"; else no "--color=always drew none"; fi
keys q

echo "== the command line: C-w, C-k, and a history kept across runs"
start C.UTF-8 160 45 demo-data/digits
expect "opens" "/899"
keys :
type_text "filter cnn != gt and mlp"
keys C-w
type_text "knn != gt"
keys Enter
expect "C-w deleted the last word" "filter: cnn != gt and knn != gt"
keys :
type_text "sort conf(cnn) bogus tail"
keys Left Left Left Left Left Left Left Left Left Left Left C-k Enter
expect "C-k deleted to the end of the line" "sort: conf(cnn)"
keys q
hist=$TMP/.local/state/nncmp/history
[ -f "$hist" ] && ok "the history is in ~/.local/state/nncmp/history" || no "no $hist"
[ "$(tail -1 "$hist")" = "sort conf(cnn)" ] && ok "its last line is the last command" || no "history: $(cat "$hist")"
[ -z "$(find "$hist".* 2>/dev/null)" ] && ok "no temporary file left" || no "left: $(ls "$hist".*)"
start C.UTF-8 160 45 demo-data/digits
expect "opens again" "/899"
keys : Up
expect "Up recalls the last run's last command" ":sort conf(cnn)"
keys Up
expect "Up again the one before" ":filter cnn != gt and knn != gt"
keys Escape q
# $XDG_STATE_HOME, when set, is where the history goes
printf '#!/bin/sh\nXDG_STATE_HOME=%s/xdg-state exec %s "$@"\n' "$TMP" "$BIN" >"$TMP/with-xdg"
chmod +x "$TMP/with-xdg"
REAL_BIN=$BIN
BIN=$TMP/with-xdg
start C.UTF-8 160 45 demo-data/digits
BIN=$REAL_BIN
expect "opens with XDG_STATE_HOME set" "/899"
keys :
type_text "filter index < 7"
keys Enter q
wait_prompt
[ "$(cat "$TMP/xdg-state/nncmp/history" 2>/dev/null)" = "filter index < 7" ] && ok "the history is in \$XDG_STATE_HOME/nncmp/history" || no "no history under XDG_STATE_HOME"
# bounded: 150 commands leave the last 100
i=0; while [ $i -lt 150 ]; do echo "filter index >= $i"; i=$((i + 1)); done >"$hist"
start C.UTF-8 160 45 demo-data/digits
expect "opens with a long history" "/899"
keys :
type_text "filter index < 5"
keys Enter q
wait_prompt
[ "$(wc -l <"$hist")" -eq 100 ] && ok "the history keeps 100 lines" || no "history has $(wc -l <"$hist") lines"
[ "$(head -1 "$hist")" = "filter index >= 51" ] && ok "the oldest go first" || no "first line: $(head -1 "$hist")"
# a FIFO where the history should be: no hang, no replacing it
rm -f "$hist" && mkfifo "$hist"
start C.UTF-8 160 45 demo-data/digits
expect "a FIFO as history: nncmp opens anyway" "/899"
expect "and says why the history is not kept" "history: "
keys :
type_text "filter index < 5"
keys Enter
expect "commands still work" "filter: index < 5"
keys q
expect "and it quits" "rc=0"
[ -p "$hist" ] && ok "the FIFO is left as it was" || no "the FIFO was replaced"

echo "== y and :copy: OSC 52, the data base64-encoded"
# tmux takes an application's OSC 52 into a paste buffer when set-clipboard is on: that buffer
# is what a terminal's clipboard would get
tm set -s set-clipboard on
start C.UTF-8 160 45 $C15
expect "opens" "/300"
tm pipe-pane -t "$S" -o "cat > $TMP/osc"
sleep 0.3
keys y
expect "y says what it copied" "copied the id of #0 to the clipboard (OSC 52): t000"
[ "$(tm show-buffer 2>/dev/null)" = "t000" ] && ok "the clipboard holds the id" || no "buffer: '$(tm show-buffer 2>&1)'"
want=$(/usr/bin/python3 -c 'import json; print(json.loads(open("tests/data/classes15/samples.jsonl").readline())["text"], end="")')
keys :
type_text "copy text"
keys Enter
expect ":copy text says so" "copied the text of #0"
tm show-buffer >"$TMP/buf" 2>/dev/null
if [ "$(cat "$TMP/buf")" = "$want" ]; then ok ":copy text: the exact text, newlines and tabs included"; else no ":copy text: '$(cat "$TMP/buf")', wanted '$want'"; fi
tm pipe-pane -t "$S"
b64=$(printf '%s' "$want" | base64 -w0)
grep -qF "]52;c;$b64" "$TMP/osc" && ok "the text went as base64 in nncmp's own OSC 52" || no "no OSC 52 with the text's base64"
# none of the text's own bytes (its tab) reached the terminal raw
tab=$(printf '\t')
case $want in *"$tab"*) ;; *) no "fixture text has no tab" ;; esac
grep -q "$tab" "$TMP/osc" && no "a raw tab from the data reached the terminal" || ok "no raw data byte reached the terminal"
keys :
type_text "copy bogus"
keys Enter
expect ":copy names the fields" "nothing called 'bogus' to copy"
keys :
type_text "copy good"
keys Enter
good0=$("$BIN" instances $C15 --filter 'index == 0' --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"][0]["preds"]["good"])')
expect ":copy MODEL: its prediction" "copied the good of #0"
[ "$(tm show-buffer)" = "$good0" ] && ok ":copy good holds the class" || no "buffer '$(tm show-buffer)', wanted '$good0'"
keys q
# inside tmux ($TMUX set) the sequence also goes through the passthrough wrapper
printf '#!/bin/sh\nTMUX=/tmp/fake,1,0 exec %s "$@"\n' "$BIN" >"$TMP/in-tmux"
chmod +x "$TMP/in-tmux"
REAL_BIN=$BIN
BIN=$TMP/in-tmux
start C.UTF-8 160 45 demo-data/digits
BIN=$REAL_BIN
expect "opens with TMUX set" "/899"
tm pipe-pane -t "$S" -o "cat > $TMP/osc2"
sleep 0.3
keys y
expect "inside tmux, y says it used the passthrough" "also through tmux's passthrough"
tm pipe-pane -t "$S"
b64=$(printf 'digit-00000' | base64 -w0)
esc=$(printf '\033')
grep -qF "${esc}Ptmux;${esc}${esc}]52;c;$b64" "$TMP/osc2" && ok "the wrapped OSC 52 (ESC doubled)" || no "no passthrough-wrapped OSC 52: $(od -c "$TMP/osc2" | head -5)"
keys q

echo "== the mouse: a click selects a pane and a row, the wheel scrolls, a cell opens"
start C.UTF-8 160 45 demo-data/digits
total=$(n demo-data/digits 'index >= 0')
expect "opens" "$total/$total"
[ "$(tm display -p -t "$S" '#{mouse_any_flag}')" = 1 ] && ok "nncmp asks the terminal for mouse reports" || no "mouse reporting is off"
# click: ESC [ < 0 ; X ; Y M (1-based), as a terminal sends it in SGR mode
click() { tm send-keys -t "$S" -l "$(printf '\033[<0;%d;%dM\033[<0;%d;%dm' "$1" "$2" "$1" "$2")"; }
wheel() { tm send-keys -t "$S" -l "$(printf '\033[<%d;%d;%dM' "$1" "$2" "$3")"; }
# where a string is on the screen: "X Y", 1-based, by characters (python, for UTF-8)
where() { screen | /usr/bin/python3 -c '
import sys
want, skip = sys.argv[1], int(sys.argv[2])
for y, line in enumerate(sys.stdin.read().split("\n")):
    x = line.find(want, skip)
    if x >= 0:
        print(x + 1, y + 1); break' "$1" "${2:-0}"; }
# the instance table's row of digit-00004: a click selects it (the detail pane follows)
set -- $(where "digit-00004")
click "$1" "$2"
expect "a click on a row selects it" "Instance #3  digit-00004"
# the agreement pane's row of class 3: the pane gets the focus and the row the cursor
row3=$(screen | grep -n '^  3  ' | head -1 | cut -d: -f1)
click 4 "$row3"
sleep 0.3
keys Enter
n3=$(n demo-data/digits 'gt == 3')
expect "the clicked class row is the one Enter opens" "filter: gt == 3"
expect "its count" "$n3/$total"
keys BSpace
expect "back to all" "filter: (all)"
# the wheel over the instance table scrolls it
set -- $(where "0 digit-00000 ")
wheel 65 "$1" "$2"
expect "the wheel scrolls the table down" "Instance #3  digit-00004"
wheel 64 "$1" "$2"
expect "and up" "Instance #0  digit-00000"
# over the detail pane (no list) the wheel moves nothing
set -- $(where "Instance #0  digit-00000")
wheel 65 "$1" "$2"
sleep 0.3
expect "the wheel over the detail pane leaves the table" "Instance #0  digit-00000"
# a click on confusion cell truth 3, pred 8 opens it: find the matrix's header and row 3
hdr=$(screen | grep -n 'truth↓' | head -1 | cut -d: -f1)
col=$(screen | sed -n "${hdr}p" | /usr/bin/python3 -c 'import sys; l=sys.stdin.read(); t=l.index("truth"); print(l.index(" 8", t) + 2)')
click "$col" $((hdr + 4))
n38=$(n demo-data/digits 'gt == 3 and cnn == 8')
expect "a click on a confusion cell opens it" "filter: gt == 3 and cnn == 8"
expect "with its count" "│ $n38/$total"
keys BSpace
# the help scrolls with the wheel
keys '?'
expect "help opens" "nncmp help"
wheel 65 10 10
wheel 65 10 10
expect_not "the wheel scrolls the help" "this help (any of q"
keys q
keys q
expect "quits" "rc=0"
[ "$(tm display -p -t "$S" '#{mouse_any_flag}')" = 0 ] && ok "mouse reporting is off again after quitting" || no "mouse reporting left on"
# [ui] mouse = false: nncmp never asks for mouse reports
mkdir -p "$TMP/config/nncmp"
printf '[ui]\nmouse = false\n' >"$TMP/config/nncmp/config.ini"
start C.UTF-8 160 45 demo-data/digits
expect "opens with mouse = false" "$total/$total"
[ "$(tm display -p -t "$S" '#{mouse_any_flag}')" = 0 ] && ok "[ui] mouse = false: no mouse reporting" || no "mouse reporting is on"
keys q
rm "$TMP/config/nncmp/config.ini"

echo "== paging like less; G in help"
start C.UTF-8 160 45 demo-data/digits
expect "opens" "/$total"
top() { screen | grep -o 'Instance #[0-9]*' | head -1; }
first=$(top)
keys Space
sleep 0.3
after=$(top)
[ "$after" != "$first" ] && ok "Space pages down ($first -> $after)" || no "Space did not move"
keys C-f
sleep 0.3
after2=$(top)
[ "$after2" != "$after" ] && ok "C-f pages down ($after -> $after2)" || no "C-f did not move"
keys C-b
expect "C-b pages back" "$after"
keys '?'
expect "help opens" "nncmp help"
expect_not "the help's last line is below the screen" "cmdline.history-next"
keys G
expect "G in help reaches the bottom" "cmdline.history-next"
keys g
expect "g back to the top" "this help (any of q"
keys Space
expect_not "Space pages the help" "this help (any of q"
keys q q
finish moving

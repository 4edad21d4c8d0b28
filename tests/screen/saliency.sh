#!/bin/sh
# tests/screen/saliency.sh NNCMP — screen tests of the explanation-map overlay (S: the detail
# pane, the preview with models A and B side by side, the review queue) and of a channel's
# patches (C in the neuron pane, Enter on a channel), in half-blocks in tmux. The study is the
# digits demo with NumPy-made 4-D activations and saliency maps (saliency_study.py); the patches'
# instances and order come from `nncmp patches --json`. Without graph.json the outline is the
# scaled cell; on the demo itself (conv1) it is the receptive field, in the columns nncmp
# patches gives.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "saliency: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "saliency: tmux is not installed" >&2; exit 2; }
PY=/usr/bin/python3
$PY -c 'import numpy, skimage' 2>/dev/null || {
	echo "saliency: $PY with NumPy and scikit-image is needed" >&2
	exit 2
}

. tests/screen/lib.sh

$PY tests/screen/saliency_study.py demo-data/digits "$TMP/sal" || { echo "saliency: no study" >&2; exit 2; }
ST=$TMP/sal

# the screen with colours, for telling images apart
colours() { tm capture-pane -e -p -t "$S" 2>/dev/null; }

echo "== overlay on the detail pane"
start C.UTF-8 160 45 "$ST --graphics blocks"
expect "the TUI is up" "Agreement per class"
expect "the detail shows instance 0" "Instance #0"
sleep 0.5
colours >"$TMP/plain"
keys S
expect "S says which models and layers" "saliency overlay on: A cnn.pool, B cnn_early.pool"
# the detail's image is 16 columns wide: the label is the model and the layer
if wait_for "A cnn.pool" && screen | cut -c100- | grep -q "^ *A cnn.pool *$"; then
	ok "the detail names A's map under the image"
else
	no "the detail names A's map under the image"
fi
sleep 0.5
colours >"$TMP/over"
if cmp -s "$TMP/plain" "$TMP/over"; then no "the overlay changes the image's colours"; else ok "the overlay changes the image's colours"; fi
keys S
expect "S again turns it off" "saliency overlay off"
expect_not "the label goes" "Grad-CAM A"
sleep 0.5
colours >"$TMP/plain2"
# the status line says off now; the picture is the plain one again
head -40 "$TMP/plain" >"$TMP/a"
head -40 "$TMP/plain2" >"$TMP/b"
if cmp -s "$TMP/a" "$TMP/b"; then
	ok "off restores the plain image"
else
	no "off restores the plain image"
fi

echo "== preview: A and B side by side"
keys v
expect "v opens the preview" "Image preview"
expect_not "no overlay while it is off" "Grad-CAM"
keys S
expect_re "A's and B's maps side by side" "Grad-CAM A cnn.pool 4x4 .*Grad-CAM B cnn_early.pool 4x4"
keys j
expect "the next instance keeps the overlay" "#1  (2 of"
expect_re "both maps for it" "Grad-CAM A cnn.pool .*Grad-CAM B cnn_early.pool"
keys Escape
expect_not "Esc closes the preview" "Image preview"

echo "== review queue"
keys R
expect "R opens the review" "accept suggestion"
expect "the review's image has A's map (the overlay is still on)" "Grad-CAM A cnn.pool"
keys S
expect_not "S in the review turns it off" "Grad-CAM A cnn.pool"
keys Escape
expect_not "Esc closes the review" "accept suggestion"

echo "== ? lists the keys"
keys '?'
expect "? opens the help" "focus-next"
# page down through the help until the panes' saliency action shows
n=0
while [ $n -lt 20 ] && ! screen | grep -qF "explanation map (Grad-CAM)"; do
	keys NPage
	sleep 0.2
	n=$((n + 1))
done
expect "help lists the saliency key" "explanation map (Grad-CAM)"
keys q

echo "== patches of a channel"
keys Tab
expect "Tab focuses the neurons" "Neurons cnn.pool"
keys C
expect "C shows the channels" "Channels cnn.pool"
expect "ranked as channels" "  chan "
sleep 0.5
CH=$(screen | sed -n 's/.*  chan .*//; /Channels cnn.pool/,$ { s/^.\{95\} *\([0-9]\) .*/\1/p }' | head -1)
[ -n "$CH" ] || CH=x
echo "     (channel $CH)"
keys Enter
expect "Enter opens the patches" "Patches of a channel"
expect "of that channel" "cnn.pool channel $CH: the 10 instances"
expect "without graph.json the outline is the scaled cell, and says so" \
	"outlined: the cell of the maximum scaled to the image (no receptive field: no graph.json)"
sleep 0.5
"$BIN" patches "$ST" --model cnn --layer pool --channel "$CH" --top 10 --json >"$TMP/p.json" 2>"$TMP/p.err" || cat "$TMP/p.json"
want=$($PY -c '
import json, sys
print(" ".join(str(p["index"]) for p in json.load(open(sys.argv[1]))["patches"]))' "$TMP/p.json")
got=$(screen | grep -o '[0-9]*\. #[0-9]*' | sed 's/.*#//' | tr '\n' ' ' | sed 's/ $//')
if [ -n "$want" ] && [ "$got" = "$want" ]; then
	ok "the grid's instances are nncmp patches' in its order ($got)"
else
	no "the grid's instances are nncmp patches' (want '$want', got '$got')"
fi
vals=$($PY -c '
import json, sys
print(" ".join("%.3g" % p["value"] for p in json.load(open(sys.argv[1]))["patches"]))' "$TMP/p.json")
gotv=$(screen | grep -o '[0-9]*\. #[0-9]* [-0-9.e+]*' | awk '{print $3}' | tr '\n' ' ' | sed 's/ $//')
if [ "$gotv" = "$vals" ]; then ok "the captions' maxima are nncmp patches'"; else no "captions (want '$vals', got '$gotv')"; fi
# the outline: the patch images differ from the same images without it (the preview of the first)
third=$(echo "$want" | awk '{print $3}')
keys j j Enter
expect_not "Enter closes the grid" "Patches of a channel"
expect "Enter goes to the third patch's instance" "Instance #$third "

keys q
wait_for "rc=" && ok "q quits" || no "q quits"
expect "exit status 0" "rc=0"

echo "== patches with receptive fields (the demo's graph.json: conv1 is 3x3, padding 1)"
start C.UTF-8 160 45 "demo-data/digits --graphics blocks"
expect "the demo is up" "Agreement per class"
n=0
while [ $n -lt 8 ] && ! screen | grep -qF "Channels cnn.conv1"; do
	keys Tab C
	sleep 0.4
	n=$((n + 1))
done
expect "C shows conv1's channels" "Channels cnn.conv1"
# channel 2 tops the demo's ranking by std; put the cursor on it
CH=$(screen | sed -n '/Channels cnn.conv1/,$ { s/^.\{95\} *\([0-9]\) .*/\1/p }' | head -1)
keys Enter
expect "Enter opens the patches" "cnn.conv1 channel $CH: the 10 instances"
expect "the outline is the receptive field" \
	"outlined: the receptive field of the maximum, 3×3 pixels of the 8×8 input, clipped"
sleep 0.5
# the first picture's top cell row (pixel rows 0-1): red where the field is, from nncmp patches
"$BIN" patches demo-data/digits --model cnn --layer conv1 --channel "$CH" --top 1 --json >"$TMP/rf.json"
want=$($PY -c '
import json, sys
p = json.load(open(sys.argv[1]))["patches"][0]
x0, y0, x1, y1 = p["box"]
print("".join("R" if x0 <= x < x1 and y0 < 2 else "." for x in range(8)))' "$TMP/rf.json")
# each half-block cell of the picture: red when its colours are the outline's (index 88..160 red)
got=$(tm capture-pane -e -p -t "$S" | sed -n 4p | $PY -c '
import re, sys
line = sys.stdin.read()
cells, fg, bg = [], None, None
for m in re.finditer(r"\x1b\[([0-9;]*)m|(.)", line):
    if m.group(1) is not None:
        ps = m.group(1).split(";")
        if ps[:2] == ["38", "5"]: fg = int(ps[2])
        if ps[:2] == ["48", "5"]: bg = int(ps[2])
        continue
    if m.group(2) == "\u2580":
        cells.append((fg, bg))
    elif cells:
        break
red = {88, 124, 131, 160, 196, 167, 203, 52, 94, 130}
print("".join("R" if f in red or b in red else "." for f, b in cells[:8]))')
if [ -n "$want" ] && [ "$got" = "$want" ]; then
	ok "the first picture's outline covers the receptive field's columns ($got)"
else
	no "the outline's columns (want '$want', got '$got')"
fi
keys Escape
expect_not "Esc closes the grid" "Patches of a channel"
keys q
wait_for "rc=" && ok "q quits" || no "q quits"
finish saliency

#!/bin/sh
# tests/screen/kernels.sh NNCMP — screen tests of the kernel map (K): the real binary in a
# detached tmux session (half-blocks: tmux draws no sixel). The layer is picked in the
# architecture view (A, Enter); the cursor moves, the map zooms and pans, Enter shows a kernel's
# numbers and b steps to B − A and the change levels. Every number, glyph and count on the
# screen is computed here with NumPy from the npy files, never taken from nncmp. Also the
# tests/data/kernels study (a layer B lacks, and one of another shape) and a screen without
# colour (glyphs). Needs tmux and /usr/bin/python3 with numpy.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "kernels: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "kernels: tmux is not installed" >&2; exit 2; }
PY=/usr/bin/python3

. tests/screen/lib.sh

D=demo-data/digits/models

# numbers A [B] KERNEL: the lines the numbers panel shows for output kernel KERNEL, one per
# tile row ("%8.4f" per weight, one space apart; with B, B − A and "[level]"), as NumPy computes
# them from the npy files.
numbers() {
	$PY - "$@" <<'PY'
import sys
import numpy as np
a = np.load(sys.argv[1]).astype(np.float64)
b = np.load(sys.argv[2]).astype(np.float64) if len(sys.argv) > 3 else None
o = int(sys.argv[-1])
for c in range(a.shape[1]):
    for y in range(a.shape[2]):
        if b is None:
            print(" ".join("%8.4f" % v for v in a[o, c, y]))
        else:
            x, z = a[o, c, y], b[o, c, y]
            den = np.abs(x) + np.abs(z)
            d = np.where(den == 0, 0.0, 2 * np.abs(x - z) / np.where(den == 0, 1, den))
            lv = np.searchsorted([0.1, 0.5, 1.0], d, side="right")
            print(" ".join("%8.4f[%d]" % (v, l) for v, l in zip(z - x, lv)))
PY
}

# expect_lines NAME FILE: every line of FILE is on the screen.
expect_lines() {
	n=0
	while IFS= read -r l; do
		wait_for "$l" || { no "$1: '$l'"; return; }
		n=$((n + 1))
	done <"$2"
	[ "$n" -gt 0 ] && ok "$1 ($n lines)" || no "$1: nothing to compare"
}

echo "== digits, UTF-8, 160x45: A picks conv2, K draws its kernels"
"$BIN" arch demo-data/digits --model cnn --json >"$TMP/arch.json"
idx=$($PY -c 'import json,sys; print([l["name"] for l in json.load(open(sys.argv[1]))["layers"]].index("conv2"))' "$TMP/arch.json")
start C.UTF-8 160 45 demo-data/digits
expect "the TUI is up" "Agreement per class"
keys A
expect "A opens the architecture view" "Architecture"
i=0
while [ "$i" -lt "$idx" ]; do keys j; i=$((i + 1)); done
expect "the cursor is on conv2" "conv2: Conv2d"
keys Enter
expect "Enter makes conv2 the neuron pane's layer" "Neurons cnn.conv2"
keys K
shape=$($PY -c 'import numpy as np,sys; print(" x ".join(map(str, np.load(sys.argv[1]).shape)))' $D/cnn/weights/conv2.npy)
expect "K opens the kernel map" "Kernel map"
expect "K shows the neuron pane's layer ($shape)" "cnn.conv2 kernels ($shape) f4"
expect "the weights of model A" "the weights of cnn"
scale=$($PY -c 'import numpy as np,sys; print("%.4g" % np.percentile(np.abs(np.load(sys.argv[1]).astype(np.float64)), 99))' $D/cnn/weights/conv2.npy)
expect "the colour scale is the 99th percentile of |w| ($scale)" "scale $scale (99th percentile of |w|)"
expect "every kernel and channel fits at the first zoom" "shown: kernels 0-15 of 16, channels 0-7 of 8   zoom 2"
# half-blocks: a row of the map is 16 tiles of 3 weights x 2 columns, one column apart
want=$((16 * (3 * 2 + 1) - 1))
got=$(screen | grep '^in 0 ' | head -1 | sed 's/^in 0 //' | grep -o '▀' | wc -l)
[ "$got" -eq "$want" ] && ok "the first map row is $want half-block cells" || no "the first map row has $got half-blocks, not $want"

keys l l l j j
expect "h/l j/k move the cursor" "cursor: output kernel 3, input channel 2"
keys +
# zoom 3: a tile and its gap are 3 x 3 + 1 = 10 columns; the map has 160 - 5 (labels) - 1
expect "+ zooms in: $(((160 - 6 + 1) / 10)) kernels fit" "shown: kernels 0-$(((160 - 6 + 1) / 10 - 1)) of 16, channels 0-"
expect "the zoom is 3" "zoom 3 (+ -)"
nc=$(screen | sed -n 's/.*channels 0-\([0-9]*\) of 8.*/\1/p' | head -1)
nc=$((${nc:-0} + 1))
keys l l l l l l l l l l l l
expect "l past the edge pans the map" "cursor: output kernel 15, input channel 2   shown: kernels 1-15 of 16"
keys PPage
expect "PgUp moves up a screen of channels (to the first)" "cursor: output kernel 15, input channel 0"
keys NPage
expect "PgDn moves down a screen of channels ($nc)" "cursor: output kernel 15, input channel $nc "
keys - g h h h h h h h h h h h h j j
expect "- zooms out again, g to the first channel" "cursor: output kernel 3, input channel 2   shown: kernels 0-15 of 16, channels 0-7 of 8   zoom 2"

keys Enter
expect "Enter shows kernel 3's numbers" "output kernel 3 of cnn.conv2: the weights of cnn"
numbers $D/cnn/weights/conv2.npy 3 >"$TMP/n3"
expect_lines "kernel 3's numbers are conv2.npy's (NumPy)" "$TMP/n3"
keys l
expect "l steps to kernel 4 in the numbers" "output kernel 4 of cnn.conv2"
numbers $D/cnn/weights/conv2.npy 4 >"$TMP/n4"
expect_lines "kernel 4's numbers" "$TMP/n4"
keys Escape
expect "Esc goes back to the map" "Enter: the kernel's numbers"
expect "and keeps the view open" "Kernel map"

keys b
expect "b: B - A" "B - A (cnn_early - cnn)"
bscale=$($PY -c 'import numpy as np,sys; a=np.load(sys.argv[1]).astype(np.float64); b=np.load(sys.argv[2]).astype(np.float64); print("%.4g" % np.percentile(np.abs(b-a), 99))' $D/cnn/weights/conv2.npy $D/cnn_early/weights/conv2.npy)
expect "B - A has its own scale ($bscale)" "scale $bscale (99th percentile of |b - a|)"
keys Enter
numbers $D/cnn/weights/conv2.npy $D/cnn_early/weights/conv2.npy 4 >"$TMP/d4"
expect_lines "kernel 4's B - A and change levels (NumPy)" "$TMP/d4"
keys Enter
keys b
counts=$($PY -c '
import numpy as np, sys
a = np.load(sys.argv[1]).astype(np.float64).ravel(); b = np.load(sys.argv[2]).astype(np.float64).ravel()
den = np.abs(a) + np.abs(b)
d = np.where(den == 0, 0.0, 2 * np.abs(a - b) / np.where(den == 0, 1, den))
c = np.bincount(np.searchsorted([0.1, 0.5, 1.0], d, side="right"), minlength=4)
print("0 [0, .1) %d, 1 [.1, .5) %d, 2 [.5, 1) %d, 3 [1, 2] %d" % tuple(c))' $D/cnn/weights/conv2.npy $D/cnn_early/weights/conv2.npy)
expect "b again: the change levels, counted as NumPy counts them" "$counts"
keys b
expect "b again: back to the weights of A" "the weights of cnn"
keys L
expect "L: the next layer with kernels" "cnn_early.conv1 kernels (8 x 1 x 3 x 3)"
keys '?'
expect "? lists the view's keys" "kernels.zoom-in"
expect "? lists the numbers key" "kernels.enter"
keys q
keys q
expect_not "q closes the view" "Kernel map"
keys q
wait_prompt || no "nncmp quit"

echo "== digits without colour (NO_COLOR): glyphs, checked against NumPy"
tm kill-session -t "$S" 2>/dev/null
S=t$((${S#t} + 1))
tm -f /dev/null new-session -d -s "$S" -x 160 -y 45 \
	"env -i PATH=\"$PATH\" HOME=\"$TMP\" XDG_CONFIG_HOME=\"$TMP/config\" NNCMP_RESTORE=0 NO_COLOR=1 TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 $BIN demo-data/digits 2>>$TMP/stderr"
expect "the TUI is up" "Agreement per class"
keys K
expect "K on the first layer: conv1" "cnn.conv1 kernels (8 x 1 x 3 x 3)"
expect "the glyph legend, without colour" "# = -  below -0.7 -0.35 -0.1 x scale"
z=$(screen | grep -o 'zoom [0-9]*' | head -1 | cut -d' ' -f2)
$PY - $D/cnn/weights/conv1.npy "${z:-1}" >"$TMP/g1" <<'PY'
import sys
import numpy as np
w = np.load(sys.argv[1]).astype(np.float64)
z = int(sys.argv[2])
s = np.percentile(np.abs(w), 99)
s = s if s > 0 else np.abs(w).max()
def g(v):
    t = v / s
    a = abs(t)
    b = 0 if a < 0.1 else 1 if a < 0.35 else 2 if a < 0.7 else 3
    return "\u00b7" if b == 0 else (".-=#"[b] if t < 0 else ".+*@"[b])
for y in range(w.shape[2]):
    print(" ".join("".join(g(v) * z for v in w[o, 0, y]) for o in range(w.shape[0])))
PY
expect_lines "conv1's glyphs at zoom $z are NumPy's bands of w / scale" "$TMP/g1"
keys q q

echo "== tests/data/kernels: B's layer of another shape, a layer only B has"
start C.UTF-8 120 30 tests/data/kernels/study
expect "the TUI is up" "Agreement per class"
keys K
expect "K: a.conv" "a.conv kernels (3 x 2 x 2 x 3)"
keys Enter
numbers tests/data/kernels/study/models/a/weights/conv.npy 0 >"$TMP/k0"
expect_lines "a.conv kernel 0 (NumPy)" "$TMP/k0"
keys Enter b Enter
numbers tests/data/kernels/study/models/a/weights/conv.npy tests/data/kernels/study/models/b/weights/conv.npy 0 >"$TMP/kd0"
expect_lines "b.conv - a.conv, kernel 0, with levels (NumPy)" "$TMP/kd0"
keys Escape L
expect "L: b.conv" "b.conv kernels (3 x 2 x 2 x 3)"
keys L
expect "L: b.conv_other" "b.conv_other kernels (3 x 1 x 2 x 3)"
expect "the view says why there is no B - A" "no B - A: a has no kernels for conv_other"
keys b
expect "b says so on the message line" "no B - A: a has no kernels for conv_other"
keys q q

echo "== digits at 80x24"
start C.UTF-8 80 24 demo-data/digits
expect "the TUI is up" "digits"
keys K
expect "K on a small screen" "cnn.conv1 kernels"
keys L
expect "L: conv2" "cnn.conv2 kernels"
keys + + + l l l l l l l l l l
expect_re "zoomed in, the map pans to kernel 10" "cursor: output kernel 10, input channel 0   shown: kernels [1-9]"
keys q q

echo "== the CNN path on the demo: A picks conv1, K its kernels, C its channels, Enter a channel's patches, S the overlay"
start C.UTF-8 160 45 demo-data/digits
expect "the TUI is up" "Agreement per class"
keys A
expect "A: the architecture, conv1 first" "1  conv1: Conv2d 3×3 8 8×8×8 (80) [A W]"
keys Enter
expect "Enter makes conv1 the neuron pane's layer" "Neurons cnn.conv1"
keys K
expect "K draws conv1's kernels" "cnn.conv1 kernels (8 x 1 x 3 x 3)"
keys q
keys Tab
expect "Tab focuses the neurons" "Neurons cnn.conv1"
keys C
expect "C ranks conv1's channels" "Channels cnn.conv1"
expect "ranked as channels" "  chan "
sleep 0.5
# the top channel by std (the pane's order), as nncmp neurons --channels --by std ranks them
ch=$("$BIN" neurons demo-data/digits --model cnn --layer conv1 --channels --by std --json |
	$PY -c 'import json,sys; j=json.load(sys.stdin); print(j["neurons"][0]["index"])' 2>/dev/null)
keys Enter
expect "Enter opens the patches of the channel under the cursor (the top one)" "cnn.conv1 channel ${ch:-?}: the 10 instances"
expect "outlined: conv1's receptive field" "outlined: the receptive field of the maximum, 3×3 pixels of the 8×8 input"
keys q
keys S
expect "S overlays the Grad-CAM maps of A and B" "saliency overlay on: A cnn.conv2, B cnn_early.conv2"
keys q q

finish kernels

#!/bin/sh
# Image previews checked from outside: `nncmp preview` writes sixel, ImageMagick (Debian's
# imagemagick package) decodes it, and the pixels are compared with the source image scaled by
# PIL; the half-block output is parsed back into pixels and compared the same way; kitty and
# iTerm2 images go through termimg.py, a decoder of our own; the TUI's choice of protocol is
# checked on fake terminals (fake_term.py) and inside tmux (tmux_kitty.py).
# Usage: tests/images/run.sh ./nncmp     (from the top of the tree)
set -u
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$(pwd)/$NNCMP ;; esac
PY=/usr/bin/python3
DIGITS=demo-data/digits
TMP=$(mktemp -d /tmp/nncmp-images-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# ImageMagick's convert from a Debian package (a stand-in earlier on PATH may not read sixel)
CONVERT=
for c in /usr/bin/convert /usr/bin/convert-im6.q16 /usr/bin/magick $(command -v convert); do
	if [ -x "$c" ] && dpkg -S "$(readlink -f "$c")" >/dev/null 2>&1; then
		CONVERT=$c
		break
	fi
done
if [ -z "$CONVERT" ]; then
	echo "FAIL: no ImageMagick from a Debian package (apt-get install imagemagick)"
	exit 1
fi

# compare.py MODE FILE SOURCE K|WxH TOL: checks FILE (a PNG decoded by ImageMagick, or the text
# of `preview --graphics blocks`) against SOURCE scaled to K times its size (nearest neighbour)
# or to WxH (box filter). Prints one line and exits 1 on a mismatch.
cat >"$TMP/compare.py" <<'PYEOF'
import re, sys
import numpy as np
from PIL import Image

mode, got_path, src_path, scale, tol = sys.argv[1:6]
tol = float(tol)
src = Image.open(src_path).convert("RGB")
if "x" in scale:
    w, h = map(int, scale.split("x"))
    want = np.asarray(src.resize((w, h), Image.BOX)).astype(int)
else:
    k = int(scale)
    want = np.asarray(src.resize((src.width * k, src.height * k), Image.NEAREST)).astype(int)

LEVELS = [0, 95, 135, 175, 215, 255]
def xterm(i):
    if i >= 232:
        return [8 + 10 * (i - 232)] * 3
    i -= 16
    return [LEVELS[i // 36], LEVELS[i // 6 % 6], LEVELS[i % 6]]

def colour(params):
    if params[0] == 2:
        return params[1:4]
    return xterm(params[1])

if mode == "sixel":
    got = np.asarray(Image.open(got_path).convert("RGB")).astype(int)
elif mode == "shades":
    # one ASCII shade per cell for the mean of its two pixels (Rec. 601 luma)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", open(got_path, encoding="ascii").read()).splitlines()
    h2 = (want.shape[0] + 1) // 2
    if len(lines) != h2 or any(len(l) != want.shape[1] for l in lines):
        print("shades: %d lines, want %d of %d" % (len(lines), h2, want.shape[1])); sys.exit(1)
    pad = np.concatenate([want, want[-1:]]) if want.shape[0] % 2 else want
    m = (pad[0::2] + pad[1::2] + 1) // 2
    luma = (299 * m[..., 0] + 587 * m[..., 1] + 114 * m[..., 2]) // 1000
    expect = np.array(list(" .:-=+*#%@"))[luma * 10 // 256]
    gotc = np.array([list(l) for l in lines])
    bad = int((gotc != expect).sum())
    print("shades: %d of %d cells differ" % (bad, gotc.size))
    sys.exit(1 if bad else 0)
else:
    # blocks: each cell is ESC[38;..m ESC[48;..m U+2580 (fg upper pixel, bg lower pixel)
    rows = []
    for line in open(got_path, encoding="utf-8").read().splitlines():
        up, lo = [], []
        for fg, bg in re.findall(r"\x1b\[38;([0-9;]+)m\x1b\[(?:48;([0-9;]+)|49)m\u2580", line):
            up.append(colour([int(v) for v in fg.split(";")]))
            lo.append(colour([int(v) for v in bg.split(";")]) if bg else None)
        rows.append(up)
        if lo and lo[0] is not None:
            rows.append(lo)
    got = np.array(rows, dtype=int)
if got.shape != want.shape:
    print("%s: size %s, want %s" % (mode, got.shape, want.shape)); sys.exit(1)
diff = np.abs(got - want)
print("%s: %dx%d, max |diff| %d, mean %.2f" % (mode, got.shape[1], got.shape[0], diff.max(), diff.mean()))
if "x" in scale:
    # after quantization to 256 colours: as close as PIL's own median cut gets (with slack)
    ref = Image.fromarray(want.astype(np.uint8), "RGB").quantize(
        256, method=Image.MEDIANCUT, dither=Image.Dither.NONE).convert("RGB")
    ref_diff = np.abs(np.asarray(ref).astype(int) - want)
    print("  PIL median cut to 256 colours: max %d, mean %.2f; 99th percentile ours %.0f, PIL %.0f"
          % (ref_diff.max(), ref_diff.mean(), np.percentile(diff, 99), np.percentile(ref_diff, 99)))
    sys.exit(0 if diff.mean() <= max(tol, 1.5 * ref_diff.mean())
             and np.percentile(diff, 99) <= max(8 * tol, 1.5 * np.percentile(ref_diff, 99)) else 1)
sys.exit(0 if diff.max() <= tol else 1)
PYEOF

compare() {
	if out=$($PY "$TMP/compare.py" "$@" 2>&1); then ok; else bad "compare $*: $out"; fi
	if [ -n "${VERBOSE:-}" ]; then echo "$out"; fi
}

# sixel of the 8x8 digits: enlarged exactly (sixel colours are whole percents: within 2 levels)
for case in "0 64 8" "7 80 10" "123 200 25" "898 8 1"; do
	set -- $case
	if "$NNCMP" preview "$DIGITS" --index "$1" --graphics sixel --width "$2" >"$TMP/d.six" &&
		"$CONVERT" "$TMP/d.six" "$TMP/d.png"; then
		img=$(sed -n "$(($1 + 1))p" "$DIGITS/samples.jsonl" | sed 's/.*"image": "\([^"]*\)".*/\1/')
		compare sixel "$TMP/d.png" "$DIGITS/$img" "$3" 2
	else
		bad "preview --index $1 --graphics sixel --width $2 | convert"
	fi
done
# the payload stays small: a 200 px digit is a few KB
size=$(wc -c <"$TMP/d.six")
[ "$size" -lt 65536 ] && ok || bad "a 8-pixel digit's sixel is $size bytes"

# half-blocks: 24-bit colour exactly, the 256-colour palette within its step, ASCII shades
img=$(sed -n 1p "$DIGITS/samples.jsonl" | sed 's/.*"image": "\([^"]*\)".*/\1/')
COLORTERM=truecolor LC_ALL=C.UTF-8 "$NNCMP" preview "$DIGITS" --index 0 --graphics blocks \
	--width 128 >"$TMP/b.txt" && compare blocks "$TMP/b.txt" "$DIGITS/$img" 2 0 ||
	bad "preview --graphics blocks (truecolor)"
COLORTERM= LC_ALL=C.UTF-8 "$NNCMP" preview "$DIGITS" --index 0 --graphics blocks \
	--width 64 >"$TMP/b256.txt" && compare blocks "$TMP/b256.txt" "$DIGITS/$img" 1 9 ||
	bad "preview --graphics blocks (256 colours)"
LC_ALL=C "$NNCMP" preview "$DIGITS" --index 0 --graphics blocks --width 64 >"$TMP/a.txt" &&
	compare shades "$TMP/a.txt" "$DIGITS/$img" 1 0 || bad "preview --graphics blocks (ASCII)"

# kitty's graphics protocol and iTerm2's inline images (a PNG in each) round-trip through our
# own decoder (termimg.py): the image lies at the top left of a transparent canvas of whole cells
# (10 x 20 pixels when the terminal does not say, as here), its pixels unresampled. RGB must be
# exact, alpha 255 over the image and 0 over the padding.
cat >"$TMP/roundtrip.py" <<'PYEOF'
import json, sys
import numpy as np
from PIL import Image
png, keys_json, src_path, scale, cols, rows = sys.argv[1:7]
keys = json.loads(keys_json)
src = Image.open(src_path).convert("RGB")
if "x" in scale:
    w, h = map(int, scale.split("x"))
    want, tol = np.asarray(src.resize((w, h), Image.BOX)).astype(int), 4
else:
    k = int(scale)
    want, tol = np.asarray(src.resize((src.width * k, src.height * k), Image.NEAREST)).astype(int), 0
got = np.asarray(Image.open(png).convert("RGBA")).astype(int)
h, w = want.shape[:2]
errs = []
if got.shape[:2] != (int(rows) * 20, int(cols) * 10):
    errs.append("canvas %s, want %d x %d cells of 10 x 20" % (got.shape[:2], int(cols), int(rows)))
if keys.get("c", keys.get("width")) != cols or keys.get("r", keys.get("height")) != rows:
    errs.append("cells %s" % keys)
if not errs:
    area = got[:h, :w]
    d = np.abs(area[..., :3] - want)
    a = area[..., 3]
    pad = np.concatenate([got[h:, :, 3].ravel(), got[:h, w:, 3].ravel()])
    if d.max() > tol:
        errs.append("RGB differs by %d (tolerance %d)" % (d.max(), tol))
    if a.min() != 255:
        errs.append("alpha min %d, %.2f %% not opaque" % (a.min(), 100 * (a != 255).mean()))
    if pad.size and pad.max() != 0:
        errs.append("padding not transparent")
print("; ".join(errs) or "%dx%d in %sx%s cells, max |diff| %d" % (w, h, cols, rows, d.max()))
sys.exit(1 if errs else 0)
PYEOF
roundtrip() { # roundtrip kitty|iterm STUDY INDEX WIDTH SCALE COLS ROWS
	if ! "$NNCMP" preview "$2" --index "$3" --graphics "$1" --width "$4" >"$TMP/t.$1" </dev/null; then
		bad "preview --graphics $1 --index $3"
		return
	fi
	if ! keys=$($PY tests/images/termimg.py "$1" "$TMP/t.$1" "$TMP/t.png"); then
		bad "$1 output does not decode"
		return
	fi
	src=$(sed -n "$(($3 + 1))p" "$2/samples.jsonl" | sed 's/.*"image": "\([^"]*\)".*/\1/')
	if out=$($PY "$TMP/roundtrip.py" "$TMP/t.png" "$keys" "$2/$src" "$5" "$6" "$7" 2>&1); then
		ok
	else
		bad "$1 round trip of $2 #$3: $out"
	fi
	if [ -n "${VERBOSE:-}" ]; then echo "$1 #$3: $out"; fi
}
for proto in kitty iterm; do
	roundtrip $proto "$DIGITS" 0 64 8 7 4
	roundtrip $proto "$DIGITS" 123 200 25 20 10
done
# the TUI on a pseudo-terminal that answers the probe as kitty, WezTerm, iTerm2, xterm -ti vt340,
# VTE (no sixel) or tmux would: the protocol it draws with, and kitty's image decoded
for profile in kitty wezterm iterm2 xterm-vt340 vte tmux-kitty; do
	if out=$(timeout 60 $PY tests/images/fake_term.py "$NNCMP" "$DIGITS" $profile 2>&1); then
		ok
	else
		bad "fake terminal $profile: $(printf '%s\n' "$out" | grep -v '^ok' | head -5)"
	fi
	if [ -n "${VERBOSE:-}" ]; then printf '%s\n' "$out"; fi
done

# the kernel map (K) as sixel on a fake xterm -ti vt340: each weight's square decoded by
# ImageMagick and checked against the npy files
if out=$(timeout 60 $PY tests/images/kernels_sixel.py "$NNCMP" "$DIGITS" "$CONVERT" 2>&1); then
	ok
else
	bad "kernel map as sixel: $(printf '%s\n' "$out" | grep -v '^ok' | head -5)"
fi
if [ -n "${VERBOSE:-}" ]; then printf '%s\n' "$out"; fi

# --graphics kitty inside tmux 3.3: through tmux's passthrough when allowed, dropped when not
for pt in on off; do
	if out=$(timeout 30 $PY tests/images/tmux_kitty.py "$NNCMP" "$DIGITS" $pt 2>&1); then
		ok
	else
		bad "tmux, allow-passthrough $pt: $out"
	fi
done

# a study of our own: a large colour picture, a missing file, a corrupt one
S=$TMP/study
mkdir -p "$S/img" "$S/models/m"
$PY - "$S" <<'PYEOF'
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
np.save(d + "/labels.npy", np.array([0, 1, 0, 1], dtype=np.int64))
np.save(d + "/models/m/probs.npy", np.array([[.9, .1], [.2, .8], [.6, .4], [.3, .7]]))
yy, xx = np.mgrid[0:300, 0:600]
pic = np.stack([xx * 255 // 599, yy * 255 // 299, ((xx // 40 + yy // 40) % 2) * 200], -1)
Image.fromarray(pic.astype(np.uint8), "RGB").save(d + "/img/big.png")
open(d + "/img/corrupt.png", "wb").write(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
with open(d + "/samples.jsonl", "w") as f:
    for name in ["img/big.png", "img/missing.png", "img/corrupt.png", ""]:
        f.write('{"image": "%s"}\n' % name if name else "{}\n")
PYEOF
if "$NNCMP" preview "$S" --index 0 --graphics sixel --width 200 >"$TMP/big.six" &&
	"$CONVERT" "$TMP/big.six" "$TMP/big.png"; then
	compare sixel "$TMP/big.png" "$S/img/big.png" 200x100 4
else
	bad "preview of a 600x300 picture"
fi
# reduced by averaging (image_fit), then carried unresampled: within the sixel test's tolerance
roundtrip kitty "$S" 0 200 200x100 20 5
roundtrip iterm "$S" 0 200 200x100 20 5
# kitty's chunks (a PNG of noise needs several): each at most 4096 base64
# characters, the transmission keeps the cursor and asks for no reply, f=100 (PNG), an empty m=0
# command ends it
N=$TMP/noise # one instance whose image is noise, so that its PNG needs several chunks
mkdir -p "$N/models/m"
$PY - "$N" <<'PYEOF'
import sys
import numpy as np
from PIL import Image
d = sys.argv[1]
np.save(d + "/labels.npy", np.array([0], dtype=np.int64))
np.save(d + "/models/m/probs.npy", np.array([[.5, .5]]))
px = np.random.default_rng(3).integers(0, 256, (120, 160, 3), dtype=np.uint8)
Image.fromarray(px, "RGB").save(d + "/noise.png")
open(d + "/samples.jsonl", "w").write('{"image": "noise.png"}\n')
PYEOF
roundtrip kitty "$N" 0 160 1 16 6
roundtrip iterm "$N" 0 160 1 16 6
"$NNCMP" preview "$N" --index 0 --graphics kitty --width 160 >"$TMP/k.out" </dev/null
$PY - "$TMP/k.out" <<'PYEOF' && ok || bad "kitty chunking"
import re, sys
d = open(sys.argv[1], "rb").read()
chunks = re.findall(rb"\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\", d)
first = dict(kv.split(b"=") for kv in chunks[0][0].split(b","))
assert first[b"C"] == b"1" and first[b"q"] == b"2" and first[b"f"] == b"100", first
assert chunks[-1] == (b"m=0", b"") and all(c[0].endswith(b"m=1") for c in chunks[:-1]), chunks[-1]
assert len(chunks) > 3 and all(len(p or b"") <= 4096 for _, p in chunks), [len(p) for _, p in chunks]
PYEOF


# expect STATUS NEEDLE CMD...: the exit status and a one-line message holding NEEDLE
expect() {
	want=$1 needle=$2
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	got=$?
	if [ "$got" != "$want" ]; then
		bad "$* -> exit $got, want $want: $out"
	elif ! printf '%s' "$out" | grep -qF -- "$needle"; then
		bad "$* -> '$out' lacks '$needle'"
	elif [ "$(printf '%s\n' "$out" | wc -l)" != 1 ]; then
		bad "$* -> more than one line: $out"
	else
		ok
	fi
}
expect 2 "img/missing.png: no such file" "$NNCMP" preview "$S" --index 1 --graphics sixel
expect 2 "img/corrupt.png: not an image" "$NNCMP" preview "$S" --index 2 --graphics blocks
expect 2 "instance 3: no image" "$NNCMP" preview "$S" --index 3
expect 2 "no images" "$NNCMP" preview demo-data/fortunes --index 0 --graphics blocks
expect 2 "899 instances" "$NNCMP" preview "$DIGITS" --index 899 --graphics blocks
expect 2 "--graphics" "$NNCMP" preview "$DIGITS" --index 0 --graphics kitten
expect 2 "--index" "$NNCMP" preview "$DIGITS"
expect 2 "--width" "$NNCMP" preview "$DIGITS" --index 0 --width 0

# symbolic links: a linked file or a linked directory inside the study that points outside it is
# refused (preview, and dups --pixels leaves it out); a link to a file inside the study is allowed
L=$TMP/linked
mkdir -p "$L/models/m" "$L/img" "$TMP/outside"
cp "$S/labels.npy" "$L/"
cp "$S/models/m/probs.npy" "$L/models/m/"
cp "$S/img/big.png" "$L/img/"
cp "$S/img/big.png" "$TMP/outside/secret.png"
ln -s "$TMP/outside/secret.png" "$L/img/out.png"
ln -s "$TMP/outside" "$L/img/dir"
ln -s big.png "$L/img/in.png"
printf '{"image": "img/big.png"}\n{"image": "img/out.png"}\n{"image": "img/dir/secret.png"}\n{"image": "img/in.png"}\n' >"$L/samples.jsonl"
expect 2 "img/out.png: image path leads outside the study directory" "$NNCMP" preview "$L" --index 1 --graphics blocks
expect 2 "img/dir/secret.png: image path leads outside the study directory" "$NNCMP" preview "$L" --index 2 --graphics blocks
if "$NNCMP" preview "$L" --index 3 --graphics blocks --width 40 >"$TMP/in.txt" 2>"$TMP/err" &&
	"$NNCMP" preview "$L" --index 0 --graphics blocks --width 40 >"$TMP/big.txt" && cmp -s "$TMP/in.txt" "$TMP/big.txt"; then
	ok
else
	bad "a link to a file inside the study: $(head -1 "$TMP/err")"
fi
got=$("$NNCMP" dups "$L" --pixels --size 8 --model m --threshold 0.5 --any-class --json 2>&1 |
	"$PY" -c 'import json, sys; d = json.load(sys.stdin); print(d["left_out"]["no_image"], sorted((p["a"], p["b"]) for p in d["pairs"]))' 2>&1)
[ "$got" = "2 [(0, 3)]" ] && ok || bad "dups --pixels through links: no_image and pairs = $got, want 2 [(0, 3)]"

# images whose header declares 30000 x 30000 pixels are refused before decoding: a valid PNG
# (1-bit grey, 30000 rows of zeros: about 100 KB), and the headers of a GIF, a BMP and a JPEG
H=$TMP/huge
mkdir -p "$H/models/m" "$H/img"
cp "$S/labels.npy" "$H/"
cp "$S/models/m/probs.npy" "$H/models/m/"
"$PY" - "$H/img" <<'PYEOF'
import struct, sys, zlib
d = sys.argv[1]
def chunk(t, b):
    return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))
z = zlib.compressobj(9)
row = b"\0" * (1 + 30000 // 8)
idat = b"".join(z.compress(row) for _ in range(30000)) + z.flush()
open(d + "/huge.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 1, 0, 0, 0, 0))
                                  + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
open(d + "/huge.gif", "wb").write(b"GIF89a" + struct.pack("<HH", 30000, 30000) + b"\0" * 64)
open(d + "/huge.bmp", "wb").write(b"BM" + struct.pack("<IHHIIiiHH", 0, 0, 0, 54, 40, 30000, -30000, 1, 24) + b"\0" * 64)
open(d + "/huge.jpg", "wb").write(b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0" + b"\0" * 9
                                  + b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 30000, 30000, 1) + b"\1\x11\0" + b"\0" * 64)
with open(d + "/../samples.jsonl", "w") as f:
    for e in ["png", "gif", "bmp", "jpg"]:
        f.write('{"image": "img/huge.%s"}\n' % e)
PYEOF
k=0
for e in png gif bmp jpg; do
	expect 2 "img/huge.$e: image too large (30000 x 30000 pixels" timeout 5 "$NNCMP" preview "$H" --index $k --graphics blocks
	k=$((k + 1))
done
# an 8x8 PNG of 131 bytes whose zlib stream is cut short (found by fuzz_image): libsixel's
# decoder spun on it for minutes; it is refused at once
"$PY" -c 'import sys; open(sys.argv[1], "wb").write(bytes.fromhex(sys.argv[2]))' "$H/img/cut.png" \
	89504e470d0a1a0a0000000d4948445200000008000000080800000000e164e1570000004a49444154789c05c1011180201000c11bc60044a08134d0084620828d8c4014318136f04d70eea2bdeeafa235b7dc9d18cf59626c89a8851912b1c007897c11238377e96d55f458b202f7abd22105e482cbfb0000000049454e44ae426082
printf '{"image": "img/cut.png"}\n{}\n{}\n{}\n' >"$H/samples.jsonl"
expect 2 "img/cut.png: a PNG whose image data is truncated or corrupt" timeout 5 "$NNCMP" preview "$H" --index 0 --graphics blocks
# piped without --graphics: blocks, never a terminal query
out=$("$NNCMP" preview "$DIGITS" --index 0 </dev/null | head -c 20 | od -c | head -1)
case $out in *"033   ["*) ok ;; *) bad "default mode when piped: $out" ;; esac

# layering (issue #15): the CLI and the shared graphics module (src/gfx) never reach into the
# TUI, and src/gfx has no curses, so `nncmp preview` and the tests can link it alone
if grep -nE '#include +[<"](\.\./tui/|n?curses)' src/cli/*.c src/gfx/*.c include/nncmp/*.h; then
	bad "src/cli, src/gfx or include/nncmp include the TUI or curses (above)"
else
	ok
fi

echo "images: $pass passed, $fail failed"
[ "$fail" = 0 ]

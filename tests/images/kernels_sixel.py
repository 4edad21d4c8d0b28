#!/usr/bin/python3
"""kernels_sixel.py — the kernel map (K) drawn as sixel, decoded from outside: runs the nncmp TUI
on a pseudo-terminal that answers its probe as xterm -ti vt340 does (sixel, cells of 10 x 20
pixels), opens K on the digits' cnn.conv2 (L from conv1), decodes the picture's sixel with
ImageMagick and checks each weight's square against the npy file (NumPy): the layout (a column
of tiles per output kernel, a tile per input channel, one unit of gap, a unit a cell wide and
half a cell high), red where w < -0.25 scale, green where w > 0.25 scale (the colour grows
from grey with |w|), grey where |w| < 0.02 scale, black gaps;
then the same for B - A (b) against cnn_early.conv2 - cnn.conv2.

Usage: kernels_sixel.py NNCMP STUDY CONVERT
Prints one line per check and exits 1 on a failure.
"""
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time

import numpy as np
from PIL import Image

nncmp, study, convert = sys.argv[1:4]
fails = 0
CW, CH = 10, 20


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += 0 if ok else 1


env = {k: v for k, v in os.environ.items()
       if k not in ("TMUX", "TERM_PROGRAM", "LC_TERMINAL", "COLORTERM", "NNCMP_TMUX_PASSTHROUGH")}
env.update({"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "NNCMP_PROBE_TIMEOUT_MS": "5000", "NNCMP_RESTORE": "0",
            "XDG_CONFIG_HOME": "/nonexistent", "HOME": "/nonexistent"})
pid, fd = pty.fork()
if pid == 0:
    os.execve(nncmp, [nncmp, study], env)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 160, 160 * CW, 45 * CH))
out = b""


def read_until(pred, secs):
    global out
    end = time.time() + secs
    while time.time() < end:
        if pred(out):
            return True
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                out += os.read(fd, 1 << 20)
            except OSError:
                break
    return pred(out)


SIX = re.compile(rb"\x1bP[0-9;]*q.*?\x1b\\", re.S)


def next_sixel(mark, secs=10):
    """The largest complete sixel written after out[mark:] once output settles."""
    read_until(lambda o: SIX.search(o, mark) is not None, secs)
    read_until(lambda o: False, 1.0)
    found = [m.group(0) for m in SIX.finditer(out, mark)]
    return max(found, key=len) if found else None


def decode(six):
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "k.six"), "wb").write(six)
        subprocess.run([convert, "sixel:" + os.path.join(d, "k.six"), os.path.join(d, "k.png")],
                       check=True)
        return np.asarray(Image.open(os.path.join(d, "k.png")).convert("RGB")).astype(int)


def check_map(what, img, v, scale):
    """img against v (out, in, kh, kw) at the zoom its width gives."""
    out_, in_, kh, kw = v.shape
    units = img.shape[1] // CW
    z = ((units + 1) // out_ - 1) // kw
    check(z >= 1 and (out_ * (kw * z + 1) - 1) * CW == img.shape[1],
          "%s: %d px wide = %d kernels of %d x %d weights at zoom %d" % (what, img.shape[1], out_,
                                                                        kh, kw, z))
    if z < 1:
        return
    tw, th = kw * z + 1, kh * z + 1
    bad = []
    n = 0
    for o in range(out_):
        for c in range(in_):
            for y in range(kh):
                for x in range(kw):
                    ux, uy = o * tw + x * z, c * th + y * z
                    px, py = ux * CW + z * CW // 2, uy * CH // 2 + z * CH // 4
                    if py >= img.shape[0]:
                        continue
                    r, g, b = img[py, px]
                    t = v[o, c, y, x] / scale
                    n += 1
                    if t < -0.25 and not r > g + 20:
                        bad.append(("red", o, c, y, x, t, (r, g, b)))
                    elif t > 0.25 and not g > r + 20:
                        bad.append(("green", o, c, y, x, t, (r, g, b)))
                    elif abs(t) < 0.02 and not (abs(r - g) < 16 and abs(g - b) < 16):
                        bad.append(("grey", o, c, y, x, t, (r, g, b)))
    check(not bad and n > 0, "%s: %d weights, each square's colour says its sign (%s)"
          % (what, n, bad[:3]))
    gaps = [img[(c * th + y * z) * CH // 2 + CH // 4, (o * tw + kw * z) * CW + CW // 2]
            for o in range(out_ - 1) for c in range(in_) for y in range(kh)
            if (c * th + y * z) * CH // 2 + CH // 4 < img.shape[0]]
    check(len(gaps) > 0 and all(max(p) < 12 for p in gaps),
          "%s: the gaps between kernels are black (%d sampled)" % (what, len(gaps)))


check(read_until(lambda o: b"\x1b[c" in o, 5), "the probe ends with DA1")
os.write(fd, b"\x1bP>|XTerm(379)\x1b\\\x1b[6;20;10t\x1b[?63;1;2;4;6;9;15;22c")
check(read_until(lambda o: b"Agreement per class" in o, 10), "the TUI is up")
time.sleep(0.5)
read_until(lambda o: False, 0.5)
os.write(fd, b"K")
check(read_until(lambda o: b"cnn.conv1 kernels" in o, 10), "K opens the kernel map on conv1")
time.sleep(0.5)
read_until(lambda o: False, 0.5)
mark = len(out)
os.write(fd, b"L")
# (curses rewrites only the characters that change: the picture's width says conv2 is shown)
six = next_sixel(mark)
check(six is not None, "conv2's map is written as sixel")
a = np.load(os.path.join(study, "models/cnn/weights/conv2.npy")).astype(np.float64)
b = np.load(os.path.join(study, "models/cnn_early/weights/conv2.npy")).astype(np.float64)
if six:
    check_map("weights", decode(six), a, np.percentile(np.abs(a), 99))
mark = len(out)
os.write(fd, b"b")
check(read_until(lambda o: b"B - A (cnn_early - cnn)" in o[mark:], 10), "b: B - A")
six = next_sixel(mark)
check(six is not None, "B - A is written as sixel")
if six:
    check_map("B - A", decode(six), b - a, np.percentile(np.abs(b - a), 99))
os.write(fd, b"qq")
deadline = time.time() + 5
status = None
while time.time() < deadline:
    read_until(lambda o: False, 0.1)
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = st
        break
check(status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
      "q q quits cleanly")
if status is None:
    os.kill(pid, 9)
sys.exit(1 if fails else 0)

#!/usr/bin/python3
"""fake_term.py — runs the nncmp TUI on a pseudo-terminal that answers its probe as a given
terminal would, and checks which image protocol the TUI then draws with.

Usage: fake_term.py NNCMP STUDY PROFILE
PROFILE is kitty, wezterm, iterm2, xterm-vt340, vte or tmux-kitty (replies as in
tests/unit/test_termgfx.c, written from the terminals' documentation). The TUI must ask the
questions this module expects (kitty's query and XTVERSION; ReportCellSize only where the
environment names iTerm2), draw instance 0's image in the profile's protocol, and, for kitty,
delete the old image before the next one (j) and decode to the digit's pixels (termimg.py's
decoder, NumPy/PIL oracle). Prints one line per check and exits 1 on a failure.
"""
import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

nncmp, study, profile = sys.argv[1:4]
KITTY_OK = b"\x1b_Gi=31;OK\x1b\\"
PROFILES = {
    # name: (environment, reply to kitty's query, rest of the replies before DA1, DA1, want)
    # (TERM=xterm-kitty needs Debian's kitty-terminfo, not installed by the tests)
    "kitty": ({"TERM": "xterm-256color"}, KITTY_OK, b"\x1bP>|kitty(0.26.5)\x1b\\\x1b[6;20;10t",
              b"\x1b[?62;c", "kitty"),
    "wezterm": ({"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, KITTY_OK,
                b"\x1bP>|WezTerm 20230712\x1b\\\x1b[6;20;10t", b"\x1b[?65;4;6;18;22c", "kitty"),
    "iterm2": ({"TERM": "xterm-256color", "LC_TERMINAL": "iTerm2"}, b"",
               b"\x1bP>|iTerm2 3.5.0\x1b\\\x1b]1337;ReportCellSize=10.0;5.0;2.0\x1b\\",
               b"\x1b[?62;4c", "iterm"),
    "xterm-vt340": ({"TERM": "xterm"}, b"", b"\x1bP>|XTerm(379)\x1b\\\x1b[6;20;10t",
                    b"\x1b[?63;1;2;4;6;9;15;22c", "sixel"),
    "vte": ({"TERM": "xterm-256color"}, b"", b"\x1bP>|VTE(7600)\x1b\\", b"\x1b[?65;1;9c",
            "blocks"),
    # a kitty reply reaching a program inside tmux is not trusted: tmux would drop the images
    "tmux-kitty": ({"TERM": "tmux-256color", "TMUX": "/tmp/fake,1,0", "TERM_PROGRAM": "tmux"},
                   KITTY_OK, b"\x1bP>|tmux 3.3a\x1b\\", b"\x1b[?1;2c", "blocks"),
}
env_extra, kitty_reply, replies, da1, want = PROFILES[profile]
fails = 0


def check(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + profile + ": " + what)
    fails += 0 if ok else 1


env = {k: v for k, v in os.environ.items()
       if k not in ("TMUX", "TERM_PROGRAM", "LC_TERMINAL", "COLORTERM", "NNCMP_TMUX_PASSTHROUGH")}
env.update(env_extra)
env.update({"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "NNCMP_PROBE_TIMEOUT_MS": "5000",
            "XDG_CONFIG_HOME": "/nonexistent", "HOME": "/nonexistent"})
pid, fd = pty.fork()
if pid == 0:
    os.execve(nncmp, [nncmp, study], env)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 160, 0, 0))

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
                out += os.read(fd, 65536)
            except OSError:
                break
    return pred(out)


check(read_until(lambda o: b"\x1b[c" in o, 5), "the probe ends with DA1")
queries = out
check(b"\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\" in queries, "kitty's graphics query is sent")
check(b"\x1b[>0q" in queries, "XTVERSION is asked")
asked_iterm = b"\x1b]1337;ReportCellSize\x07" in queries
check(asked_iterm == (profile == "iterm2"), "ReportCellSize asked only where iTerm2 is named")
check(queries.index(b"\x1b_Gi=31") < queries.index(b"\x1b[c"), "kitty's query goes before DA1")
# the answers, in the order of the questions; DA1 last
os.write(fd, kitty_reply + replies + da1)
mark = len(out)

pats = {"kitty": rb"\x1b_Ga=T,", "iterm": rb"\x1b\]1337;File=", "sixel": rb"\x1bP[0-9;]*q"}
if want == "blocks":
    got = read_until(lambda o: "▀".encode() in o[mark:], 8)
    time.sleep(0.5)
    read_until(lambda o: False, 0.3)
    check(got, "half-blocks drawn")
    for k, p in pats.items():
        check(not re.search(p, out[mark:]), "no %s escapes" % k)
else:
    got = read_until(lambda o: re.search(pats[want], o[mark:]) is not None, 8)
    check(got, "instance 0 drawn as %s" % want)
    for k, p in pats.items():
        if k != want:
            check(not re.search(p, out[mark:]), "no %s escapes" % k)
    if want == "kitty" and got:
        import termimg
        read_until(lambda o: re.search(rb"\x1b_Gm=0\x1b\\", o[mark:]) is not None, 5)
        start = re.search(pats[want], out[mark:]).start() + mark
        end = out.index(b"\x1b_Gm=0\x1b\\", start) + len(b"\x1b_Gm=0\x1b\\")
        img, keys = termimg.kitty(out[start:end])
        a = np.asarray(img).astype(int)
        opaque = a[..., 3] > 0
        h, w = opaque.any(1).sum(), opaque.any(0).sum()
        import json
        first = json.loads(open(os.path.join(study, "samples.jsonl")).readline())
        src = Image.open(os.path.join(study, first["image"])).convert("RGB")
        k = w // src.width
        wantpx = np.asarray(src.resize((src.width * k, src.height * k), Image.NEAREST)).astype(int)
        ok = k >= 1 and (h, w) == wantpx.shape[:2] and (a[:h, :w, :3] == wantpx).all()
        check(ok, "the kitty image is instance 0's digit enlarged %dx (%dx%d in %sx%s cells)"
              % (k, w, h, keys.get("c"), keys.get("r")))
        # the next instance: the old image is deleted where it lay before the new one comes
        mark2 = len(out)
        os.write(fd, b"j")
        got2 = read_until(lambda o: re.search(pats[want], o[mark2:]) is not None, 5)
        seg = out[mark2:]
        dele = re.search(rb"\x1b_Ga=d,d=P,x=\d+,y=\d+,q=2\x1b\\", seg)
        check(got2 and dele is not None and dele.start() < re.search(pats[want], seg).start(),
              "j: the old kitty image is deleted, then the next drawn")
mark3 = len(out)
os.write(fd, b"q")
deadline = time.time() + 5
status = None
while time.time() < deadline:
    read_until(lambda o: False, 0.1)
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = st
        break
check(status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "q quits cleanly")
if want == "kitty":
    # kitty keeps images apart from the text: they are deleted before the screen is given back
    seg = out[mark3:]
    check(b"\x1b_Ga=d,d=P," in seg and seg.find(b"\x1b_Ga=d,d=P,") < max(seg.rfind(b"\x1b[?1049l"), 0),
          "q: the kitty image is deleted before the alternate screen is left")
if status is None:
    os.kill(pid, 9)
sys.exit(1 if fails else 0)

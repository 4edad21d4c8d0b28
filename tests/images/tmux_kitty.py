#!/usr/bin/python3
"""tmux_kitty.py — `nncmp --graphics kitty` inside tmux, with tmux's own output read from a
pseudo-terminal (the "outer terminal"): with `allow-passthrough on` (and nncmp's passthrough
opted in) the kitty image reaches the outer terminal unwrapped, the delete command first; with
it off tmux drops the image and nothing of it reaches the terminal.

Usage: tmux_kitty.py NNCMP STUDY on|off. Prints one line; exits 1 when the result differs.
"""
import fcntl
import os
import pty
import select
import struct
import sys
import tempfile
import termios
import time

nncmp, study, mode = sys.argv[1:4]
tmp = tempfile.mkdtemp(prefix="nncmp-tmuxk-")
conf = os.path.join(tmp, "tmux.conf")
with open(conf, "w") as f:
    f.write("set -g allow-passthrough %s\nset -g status off\n" % mode)
sock = "nncmp-tmuxk-%d" % os.getpid()
pid, fd = pty.fork()
if pid == 0:
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TERM_PROGRAM")}
    env.update(TERM="xterm-256color", LANG="C.UTF-8", NNCMP_TMUX_PASSTHROUGH="1",
               HOME=tmp, XDG_CONFIG_HOME=tmp, TMUX_TMPDIR=tmp)
    os.execvpe("tmux", ["tmux", "-L", sock, "-f", conf, "new-session",
                        "%s %s --graphics kitty" % (nncmp, study)], env)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 160, 0, 0))
out = b""
end = time.time() + (8 if mode == "on" else 4)
while time.time() < end and b"\x1b_Gm=0\x1b\\" not in out:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            out += os.read(fd, 65536)
        except OSError:
            break
os.write(fd, b"q")
time.sleep(0.5)
os.system("TMUX_TMPDIR=%s tmux -L %s kill-server 2>/dev/null" % (tmp, sock))
os.system("rm -rf " + tmp)
drawn = b"\x1b_Ga=T," in out and b"\x1b_Gm=0\x1b\\" in out
deleted_first = drawn and 0 <= out.find(b"\x1b_Ga=d,d=P,") < out.find(b"\x1b_Ga=T,")
if mode == "on":
    ok = drawn and deleted_first and b"\x1bPtmux;" not in out
    print("passthrough on: image %s" % ("reaches the terminal" if ok else "MISSING"))
else:
    ok = b"\x1b_G" not in out
    print("passthrough off: %s" % ("tmux drops the image" if ok else "kitty escapes leaked"))
sys.exit(0 if ok else 1)

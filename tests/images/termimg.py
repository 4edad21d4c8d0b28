#!/usr/bin/python3
"""termimg.py — decodes the terminal image protocols nncmp writes, independently of nncmp:
kitty's graphics protocol (APC ESC _ G key=value,...;base64 ESC \\, chunks joined while
m=1, formats f=24 RGB, f=32 RGBA, f=100 PNG, o=z zlib) and iTerm2's inline images (OSC
ESC ] 1337 ; File=key=value;... : base64 BEL or ESC \\, any format PIL reads).

Usage: termimg.py kitty|iterm FILE OUT.png
Writes the decoded pixels as an RGBA PNG and prints the control keys as JSON on stdout
(kitty: the first command's keys; iterm: the File= arguments). Exits 1 on anything malformed.
"""
import base64
import io
import json
import re
import sys
import zlib

from PIL import Image


def fail(msg):
    print("termimg: " + msg, file=sys.stderr)
    sys.exit(1)


def kitty(data):
    cmds = re.findall(rb"\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\", data)
    if not cmds:
        fail("no kitty graphics command")
    rest = re.sub(rb"\x1b_G[^\x1b]*\x1b\\", b"", data)
    if b"\x1b" in rest:
        fail("stray escape outside the commands: %r" % rest[:40])
    first = None
    payload = b""
    more = False
    for ctrl, b64 in cmds:
        keys = {}
        for kv in ctrl.split(b","):
            k, sep, v = kv.partition(b"=")
            if not sep or len(k) != 1:
                fail("bad key %r" % kv)
            keys[k.decode()] = v.decode()
        if first is None:
            first = keys
        elif not more:
            fail("a command after the image ended")
        if b64:
            if len(b64) % 4 and keys.get("m", "0") == "1":
                fail("a chunk that is not a multiple of 4 base64 characters")
            payload += base64.b64decode(b64, validate=True)
        more = keys.get("m", "0") == "1"
    if more:
        fail("the last chunk says m=1")
    if first.get("a") != "T":
        fail("not a transmit-and-display command: a=%s" % first.get("a"))
    if first.get("o") == "z":
        payload = zlib.decompress(payload)
    f = first.get("f", "32")
    if f == "100":
        img = Image.open(io.BytesIO(payload)).convert("RGBA")
    else:
        w, h = int(first["s"]), int(first["v"])
        mode = {"24": "RGB", "32": "RGBA"}.get(f) or fail("unknown format f=%s" % f)
        if len(payload) != w * h * len(mode):
            fail("%d bytes for %dx%d %s" % (len(payload), w, h, mode))
        img = Image.frombytes(mode, (w, h), payload).convert("RGBA")
    return img, first


def iterm(data):
    m = re.fullmatch(rb"\x1b\]1337;File=([^:\x07\x1b]*):([A-Za-z0-9+/=]*)(?:\x07|\x1b\\)\s*", data)
    if not m:
        fail("not one iTerm2 File= sequence")
    args = {}
    for kv in m.group(1).split(b";"):
        k, sep, v = kv.partition(b"=")
        if not sep:
            fail("bad argument %r" % kv)
        args[k.decode()] = v.decode()
    if args.get("inline") != "1":
        fail("inline=1 missing")
    img = Image.open(io.BytesIO(base64.b64decode(m.group(2), validate=True)))
    return img.convert("RGBA"), args


def main():
    kind, path, out = sys.argv[1:4]
    data = open(path, "rb").read()
    if kind == "kitty":
        # what follows the image (newlines for the prompt) is not part of it
        data = data.rstrip(b"\n")
        img, keys = kitty(data)
    else:
        img, keys = iterm(data)
    img.save(out)
    keys["width_px"], keys["height_px"] = img.size
    print(json.dumps(keys))


if __name__ == "__main__":
    main()

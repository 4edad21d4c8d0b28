#!/usr/bin/python3
"""Makes the image fixtures of tests/unit/test_image.c, and their oracles decoded by PIL.

Each NAME.EXT has NAME.EXT.rgb beside it: the pixels as PIL sees them, 8-bit RGB row-major,
after a 8-byte header (width, height as little-endian uint32); alpha is dropped, as
libsixel's loader drops it.
Run from anywhere: /usr/bin/python3 tests/data/images/make.py
"""
import os
import struct

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)


def oracle(name, rgb):
    h, w, _ = rgb.shape
    with open(os.path.join(HERE, name + ".rgb"), "wb") as f:
        f.write(struct.pack("<II", w, h))
        f.write(rgb.astype(np.uint8).tobytes())


def save(name, im, **kw):
    im.save(os.path.join(HERE, name), **kw)
    back = Image.open(os.path.join(HERE, name))
    # libsixel's PNG loader (stb_image) drops the alpha channel: the colours stay as stored
    oracle(name, np.asarray(back.convert("RGB")))


save("grey.png", Image.fromarray(rng.integers(0, 256, (3, 5), dtype=np.uint8), "L"))
save("rgb.png", Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8), "RGB"))
pal = Image.fromarray(rng.integers(0, 4, (4, 6), dtype=np.uint8), "P")
pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 200, 10] + [0] * (252 * 3))
save("pal.png", pal)
rgba = rng.integers(0, 256, (4, 4, 4), dtype=np.uint8)
rgba[0, 0, 3] = 0
rgba[0, 1, 3] = 255
save("rgba.png", Image.fromarray(rgba, "RGBA"))
save("bw.png", Image.fromarray(rng.integers(0, 2, (6, 9), dtype=np.uint8) * 255, "L").convert("1"))
# a smooth photo-like picture: JPEG decoders agree on it within a few levels
y, x = np.mgrid[0:12, 0:16]
photo = np.stack([x * 15, y * 20, (x + y) * 8], axis=-1).astype(np.uint8)
save("photo.jpg", Image.fromarray(photo, "RGB"), quality=95)
# a GIF with two frames: the first is the image
f1 = Image.fromarray(np.full((3, 3), 1, np.uint8), "P")
f1.putpalette([0, 0, 0, 200, 100, 50] + [0] * (254 * 3))
f2 = Image.fromarray(np.full((3, 3), 0, np.uint8), "P")
f2.putpalette([0, 0, 0, 200, 100, 50] + [0] * (254 * 3))
f1.save(os.path.join(HERE, "anim.gif"), save_all=True, append_images=[f2], duration=100)
oracle("anim.gif", np.asarray(Image.open(os.path.join(HERE, "anim.gif")).convert("RGB")))
# scaling oracles: a 8x8 digit enlarged 5x (nearest), a 600x300 picture reduced 3x (box)
digit = Image.open(os.path.join(HERE, "..", "..", "..", "demo-data", "digits", "images", "00000.png"))
save("digit.png", digit)
oracle("digit.png.x5", np.asarray(digit.convert("RGB").resize((40, 40), Image.NEAREST)))
yy, xx = np.mgrid[0:300, 0:600]
wide = np.stack([(xx * 7 + yy) % 256, (yy * 3) % 256, (xx ^ yy) % 256], -1).astype(np.uint8)
Image.fromarray(wide, "RGB").save(os.path.join(HERE, "wide.png"))  # no oracle: 540 KB
oracle("wide.png.box200", np.asarray(Image.fromarray(wide, "RGB").resize((200, 100), Image.BOX)))
# files that are not images
png = open(os.path.join(HERE, "rgb.png"), "rb").read()
open(os.path.join(HERE, "truncated.png"), "wb").write(png[: len(png) // 2])
open(os.path.join(HERE, "text.png"), "w").write("this is not an image\n")
open(os.path.join(HERE, "empty.png"), "wb").close()

#!/usr/bin/python3
"""tests/report/check_doc.py FILE.html STUDY [CLASS_NAME] — checks `nncmp report --html`'s file with
Python's own html.parser: every table present, every image a data: URI that decodes as a PNG,
no network reference, untrusted text escaped (CLASS_NAME, when given, must come back verbatim as
text and never as markup), and the figures against report --json and the journal's decisions
given in DECIDED (env, "index:status,..."). With FILTER (env) set, the file is the report of that
filter (`report --html --filter`, or the TUI's :export-report): its figures are report --json
--filter's and its suspects those `issues --filter` lists."""
import base64
import html.parser
import io
import json
import os
import re
import subprocess
import sys

from PIL import Image

path, study = sys.argv[1], sys.argv[2]
weird = sys.argv[3] if len(sys.argv) > 3 else None
nncmp = os.environ["NNCMP"]
flt = os.environ.get("FILTER") or None
fargs = ["--filter", flt] if flt else []
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)


class Doc(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables = {}  # id -> rows of cell texts
        self.table = None
        self.row = None
        self.cell = None
        self.imgs = []
        self.tags = set()
        self.texts = []
        self.styles = []
        self.depth = {}
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag not in ("meta", "img"):
            self.depth[tag] = self.depth.get(tag, 0) + 1
        for k, v in attrs:
            if v and re.search(r"(?i)\b(https?|ftp):", v):
                fail(f"<{tag} {k}> holds a network reference: {v[:80]}")
            if k in ("href", "src") and tag != "img":
                fail(f"<{tag}> references {v[:80]}")
        if tag == "style":
            self.in_style = True
        if tag == "table":
            self.table = a.get("id")
            self.tables[self.table] = []
        elif tag == "tr" and self.table is not None:
            self.row = []
            self.tables[self.table].append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
            self.row.append(self.cell)
        elif tag == "img":
            self.imgs.append(a.get("src", ""))
            if self.cell is not None:
                self.cell.append("<img>")

    def handle_endtag(self, tag):
        self.depth[tag] = self.depth.get(tag, 0) - 1
        if self.depth[tag] < 0:
            fail(f"</{tag}> without its start tag")
        if tag == "style":
            self.in_style = False
        if tag == "table":
            self.table = None
        elif tag == "tr":
            self.row = None
        elif tag in ("td", "th"):
            self.cell = None

    def handle_data(self, data):
        if self.in_style:
            self.styles.append(data)
            return
        self.texts.append(data)
        if self.cell is not None:
            self.cell.append(data)


raw = open(path, encoding="utf-8").read()
doc = Doc()
doc.feed(raw)
doc.close()
for tag, d in doc.depth.items():
    if d:
        fail(f"<{tag}> opened {d} more times than closed")

# a URL inside a sample's text is data, shown as text; markup and styles must reference nothing
NET = r"(?i)(https?|ftp):|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\("
if re.search(NET, "".join(doc.styles)):
    fail("the style sheet references something outside the file")
if re.search(NET, re.sub(r">[^<]*<", "><", raw)):
    fail("markup outside the texts holds a network reference")
if re.search(r"(?i)<(link|script|iframe|object|embed|base)\b", raw):
    fail("the file loads something (link, script, iframe ...)")
allowed = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "div", "table", "tr",
           "th", "td", "img"}
if doc.tags - allowed:
    fail(f"unexpected tags {doc.tags - allowed} (unescaped text?)")

rep = json.loads(subprocess.run([nncmp, "report", study, "--json"] + fargs, capture_output=True,
                                text=True, check=True).stdout)
if flt and f"match the filter {html.escape(flt, quote=False)}" not in raw:
    fail(f"the file does not name the filter {flt!r}")
models = [m["name"] for m in rep["models"]]
npairs = len(rep["pairs"])
want = ["models-table", "pairs-table", "suspects-table", "decisions-counts"]
want += [f"agreement-{k}" for k in range(npairs)] + [f"confusion-{m}" for m in range(len(models))]
for t in want:
    if t not in doc.tables:
        fail(f"table {t} missing")

def cells(row):
    return ["".join(c).strip() for c in row]

# every table's figures against report --json
rows = [cells(r) for r in doc.tables.get("models-table", [])[1:]]
for r, m in zip(rows, rep["models"]):
    if r[0] != m["name"] or abs(float(r[2]) - m["accuracy"]) > 5e-5:
        fail(f"models table row {r} vs {m['name']} {m['accuracy']}")
if len(rows) != len(models):
    fail(f"models table has {len(rows)} rows")
for k, pr in enumerate(rep["pairs"]):
    r = cells(doc.tables["pairs-table"][1 + k])
    if r[:6] != [pr["a"], pr["b"], str(pr["both_correct"]), str(pr["only_a"]), str(pr["only_b"]),
                 str(pr["both_wrong"])]:
        fail(f"pairs row {r[:6]} vs {pr}")
    if (pr["mcnemar_p"] < 0.05) != (r[11] == "yes"):
        fail(f"pair {pr['a']} {pr['b']}: significance {r[11]} for p {pr['mcnemar_p']}")
    for y, g in enumerate(pr["per_class"]):
        ar = cells(doc.tables[f"agreement-{k}"][1 + y])
        if ar[0] != rep["classes"][y] or ar[1:] != [str(g["both_correct"]), str(g["only_a"]),
                                                    str(g["only_b"]), str(g["both_wrong"])]:
            fail(f"agreement-{k} row {y}: {ar}")
for m, mo in enumerate(rep["models"]):
    t = doc.tables[f"confusion-{m}"]
    if cells(t[0])[1:] != rep["classes"]:
        fail(f"confusion-{m} heads {cells(t[0])}")
    for y, row in enumerate(mo["confusion"]):
        if cells(t[1 + y])[1:] != [str(v) for v in row]:
            fail(f"confusion-{m} row {y}")

# suspects: the default ranking of `nncmp issues`
iss = json.loads(subprocess.run([nncmp, "issues", study, "--json", "--top", "24"] + fargs,
                                capture_output=True, text=True, check=True).stdout)
srows = [cells(r) for r in doc.tables["suspects-table"][1:]]
if [int(r[1]) for r in srows] != [e["index"] for e in iss["issues"]]:
    fail(f"suspects {[r[1] for r in srows]} are not issues' {[e['index'] for e in iss['issues']]}")
has_images = os.path.exists(os.path.join(study, "images"))
if has_images and len(doc.imgs) != len(srows):
    fail(f"{len(doc.imgs)} images for {len(srows)} suspects")
for src in doc.imgs:
    pre = "data:image/png;base64,"
    if not src.startswith(pre):
        fail(f"image src {src[:40]} is not a PNG data: URI")
        continue
    data = base64.b64decode(src[len(pre):], validate=True)
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("image is not a PNG")
    im = Image.open(io.BytesIO(data))
    im.load()
    if im.format != "PNG" or max(im.size) > 96 or min(im.size) < 1:
        fail(f"image {im.format} {im.size}")

if weird is not None:
    if weird not in "".join(doc.texts):
        fail(f"class name {weird!r} does not come back as text")
    esc = weird.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    if esc not in raw:
        fail(f"class name not escaped as {esc!r}")
    if weird in raw:
        fail("class name appears unescaped")

decided = os.environ.get("DECIDED", "")
counts = {cells(r)[0]: int(cells(r)[1]) for r in doc.tables["decisions-counts"][1:]}
if decided:
    want_rows = [d.split(":") for d in decided.split(",")]
    got = [(r[0], r[4]) for r in (cells(x) for x in doc.tables.get("decisions-table", [])[1:])]
    if got != [(i, st) for i, st in want_rows]:
        fail(f"decided instances {got}, want {want_rows}")
    for st in ("relabelled", "removed", "kept"):
        n = sum(1 for _, s in want_rows if s == st)
        if counts.get(st) != n:
            fail(f"count of {st}: {counts.get(st)}, want {n}")
elif "decisions-table" in doc.tables or counts.get("undecided") != rep["total"]:
    fail(f"decisions without a journal: {counts}")

print(f"{path}: {len(doc.tables)} tables, {len(doc.imgs)} images")
sys.exit(1 if failures else 0)

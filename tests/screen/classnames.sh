#!/bin/sh
# tests/screen/classnames.sh NNCMP — class names that share a prefix (tests/data/classes15:
# class-00 .. class-14; a copy of the digits demo with classes digit-0 .. digit-9) read apart on
# every screen: the instance table's predictions, the thumbnail captions, the label errors
# overview and the projection's letters; and a wrong prediction never draws as a solid patch,
# even when its class shares the truth's hue. What the screen must show comes from the CLI's
# --json. Runs from the top of the tree; needs tmux and /usr/bin/python3.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "classnames: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "classnames: tmux is not installed" >&2; exit 2; }
PY=/usr/bin/python3
[ -x $PY ] || { echo "classnames: $PY is needed" >&2; exit 2; }

. tests/screen/lib.sh

C15=$PWD/tests/data/classes15
DN=$TMP/digit-n # the digits demo, its classes renamed digit-0 .. digit-9
mkdir -p "$DN"
for f in "$PWD"/demo-data/digits/*; do ln -s "$f" "$DN/"; done
rm "$DN/classes.txt"
sed 's/^/digit-/' demo-data/digits/classes.txt >"$DN/classes.txt"
"$BIN" instances "$C15" --top 0 --json >"$TMP/c15.json" 2>/dev/null
"$BIN" instances "$DN" --top 0 --json >"$TMP/dn.json" 2>/dev/null

# The checks read the screen with its colours (capture-pane -e) and the CLI's JSON.
cat >"$TMP/check.py" <<'EOF'
import json, re, sys

def cells(line):
    """The characters of one captured line with their colours: [(char, fg, bg)]."""
    out, fg, bg, k = [], None, None, 0
    while k < len(line):
        m = re.match(r"\x1b\[([0-9;:]*)m", line[k:])
        if m:
            p = [int(x) if x else 0 for x in re.split("[;:]", m.group(1))]
            j = 0
            while j < len(p):
                v = p[j]
                if v == 0:
                    fg = bg = None
                elif v in (38, 48) and j + 1 < len(p) and p[j + 1] == 5:
                    if v == 38:
                        fg = p[j + 2]
                    else:
                        bg = p[j + 2]
                    j += 2
                elif v in (38, 48) and j + 1 < len(p) and p[j + 1] == 2:
                    c = tuple(p[j + 2 : j + 5])
                    if v == 38:
                        fg = c
                    else:
                        bg = c
                    j += 4
                elif v == 39:
                    fg = None
                elif v == 49:
                    bg = None
                elif 30 <= v <= 37 or 90 <= v <= 97:
                    fg = v
                elif 40 <= v <= 47 or 100 <= v <= 107:
                    bg = v
                j += 1
            k += m.end()
            continue
        m = re.match(r"\x1b[^a-zA-Z]*[a-zA-Z]", line[k:])
        if m:
            k += m.end()
            continue
        out.append((line[k], fg, bg))
        k += 1
    return out

def screen(path):
    return [cells(l.rstrip("\n")) for l in open(path, encoding="utf-8")]

def text(row):
    return "".join(c for c, _, _ in row)

def short(name):
    return re.sub(r"^(class|digit)-", "", name)

def names(cell, full):
    """True when a cell's text can stand for the full class name: the name, its distinguishing
    part, or a cut of the name that keeps its start and end."""
    if cell in (full, short(full)):
        return True
    if "\u2026" in cell:
        head, tail = cell.split("\u2026", 1)
        return full.startswith(head) and full.endswith(tail)
    return False

def table(scr, data, models):
    """The instance table: a wrong prediction names its class by its distinguishing part,
    a right one names nothing; a wrong one's square differs from its background."""
    heads = [i for i, r in enumerate(scr) if re.match(r"\s+index id\s+truth", text(r))]
    if not heads:
        return "no instance table header"
    h = text(scr[heads[0]])
    xs = [h.index(" %s " % m) + 1 if " %s " % m in h else h.index(" %s" % m) + 1
          for m in models]
    width = len(h.rstrip())
    by_index = {d["index"]: d for d in data["instances"]}
    seen, wrong = 0, 0
    for r in scr[heads[0] + 1 :]:
        t = text(r)
        m = re.match(r"\s+(\d+) (\S+) ", t)
        d = by_index.get(int(m.group(1))) if m else None
        if not d or d["id"] != m.group(2):
            break
        for k, name in enumerate(models):
            x = xs[k]
            end = xs[k + 1] - 1 if k + 1 < len(xs) else x + 8
            if end > width:
                continue
            cell = t[x:end].strip()
            if not cell.startswith("\u25a0"):
                return "row %s, %s: no square in '%s'" % (d["index"], name, cell)
            got = cell[1:].strip()
            pred = d["preds"][name]
            _, fg, bg = r[x]
            if (pred != d["label"]) == (fg == bg):
                return "row %s, %s: %s %s prediction has square %s on %s" % (
                    d["index"], name, "wrong" if pred != d["label"] else "right", pred, fg, bg)
            want = "" if pred == d["label"] else short(pred)
            if got != want:
                return "row %s, %s: '%s', want '%s' (%s)" % (d["index"], name, got, want, pred)
            seen += 1
            wrong += pred != d["label"]
    if seen == 0 or wrong == 0:
        return "no prediction cell checked (%d, %d wrong)" % (seen, wrong)
    return "ok %d cells, %d wrong" % (seen, wrong)

def captions(scr, data, a, b, per_row):
    """The first grid row's captions: id, truth abbreviated, and both A/B letters."""
    rows = [text(r) for r in scr]
    caps = [r for r in rows if re.search(r" [Aa][Bb]( |$)", r)]
    if not caps:
        return "no caption with A/B letters: " + " | ".join(rows[2:9])
    got = re.findall(r"(\S+) (\S+) ([Aa])([Bb])(?= |$)", caps[0])
    if len(got) != per_row:
        return "%d captions with A/B letters in '%s', want %d" % (len(got), caps[0], per_row)
    for (idt, truth, la, lb), d in zip(got, data["instances"]):
        want = (short(d["label"]), "A" if d["preds"][a] == d["label"] else "a",
                "B" if d["preds"][b] == d["label"] else "b")
        if (truth, la, lb) != want or not d["id"].endswith(idt.lstrip("\u2026")):
            return "caption '%s %s %s%s', want %s for %s" % (idt, truth, la, lb, want, d["id"])
    return "ok %d captions" % len(got)

def overview(scr, data, model):
    """The label errors overview: each cell is predicted name, count; cells line up."""
    counts = {}
    for d in data["instances"]:
        if d["preds"][model] != d["label"]:
            key = (d["label"], d["preds"][model])
            counts[key] = counts.get(key, 0) + 1
    classes = sorted({l for l, _ in counts} | {p for _, p in counts})
    ends, nrows = None, 0
    for r in scr:
        t = text(r)
        m = re.match(r"\s+(\d+) (\S+)\s+\u2192", t)
        if not m:
            continue
        given = [l for l in classes if names(m.group(2), l)]
        if len(given) != 1:
            return "row label '%s' stands for %s" % (m.group(2), given)
        given = given[0]
        found = list(re.finditer(r"\u2192(\S+) +(\d+)", t))
        cols = [(c.start(), c.end()) for c in found]
        if ends is not None and cols[: len(ends)] != ends[: len(cols)]:
            return "row %s: cells at %s, others at %s" % (given, cols, ends)
        for c in found:
            pred = [p for p in classes if names(c.group(1), p)]
            if len(pred) != 1 or (given, pred[0]) not in counts:
                return "cell '%s' of %s stands for %s" % (c.group(0), given, pred)
            if counts[(given, pred[0])] != int(c.group(2)):
                return "cell %s of %s: %s, want %d" % (
                    pred[0], given, c.group(2), counts[(given, pred[0])])
        if ends is None or len(cols) > len(ends):
            ends = cols
        nrows += 1
    if nrows < 3:
        return "only %d overview rows" % nrows
    return "ok %d rows" % nrows

def letters(scr, classes, rule):
    """The projection's label mode: legend letter per class by the rule, scatter uses them."""
    rows = [text(r) for r in scr]
    legend = [i for i, r in enumerate(rows) if re.search(r"(^| )\S (class|digit)-\d+ ", r + " ")]
    if not legend:
        return "no legend"
    pairs = re.findall(r"(\S) ((?:class|digit)-\d+)", " ".join(rows[i] for i in legend))
    got = {name: ch for ch, name in pairs}
    for k, name in enumerate(classes):
        want = short(name) if rule == "char" else "0123456789abcdefghij"[k]
        if name in got and got[name] != want:
            return "legend: %s %s, want %s" % (got[name], name, want)
    if len(got) != len(classes):
        return "the legend names %d classes of %d" % (len(got), len(classes))
    if len(set(got.values())) != len(got):
        return "legend letters repeat: %s" % sorted(got.items())
    plot = rows[3 : legend[0]]
    used = set("".join(plot).replace(" ", "")) - {"\u25c6"}
    if not used or not used <= set(got.values()):
        return "scatter letters %s not in the legend %s" % (sorted(used), sorted(got.values()))
    return "ok %d letters" % len(got)

what, path = sys.argv[1], sys.argv[2]
scr = screen(path)
if what == "table":
    print(table(scr, json.load(open(sys.argv[3])), sys.argv[4:]))
elif what == "captions":
    print(captions(scr, json.load(open(sys.argv[3])), sys.argv[4], sys.argv[5], int(sys.argv[6])))
elif what == "overview":
    print(overview(scr, json.load(open(sys.argv[3])), sys.argv[4]))
elif what == "letters":
    print(letters(scr, [l.strip() for l in open(sys.argv[3])], sys.argv[4]))
EOF

# check NAME KIND ARGS...: runs the checker on the screen as it is now
check() {
	name=$1 kind=$2
	shift 2
	sleep 0.3 # the screen has settled after the last expect
	tm capture-pane -e -p -t "$S" >"$TMP/screen"
	got=$($PY "$TMP/check.py" "$kind" "$TMP/screen" "$@" 2>&1 | tail -1)
	case $got in
	ok*) ok "$name ($got)" ;;
	*) no "$name: $got" ;;
	esac
}

for size in "160 45" "100 30" "80 24"; do
	set -- $size
	echo "== classes15, UTF-8, ${1}x$2"
	start C.UTF-8 "$1" "$2" "--graphics none $C15"
	expect "the TUI is up" "Instances 300/300"
	[ "$1" -lt 120 ] && keys Tab Tab # the instance table, in front
	expect "the instance table shows" "index id"
	check "predictions read apart, wrong ones never a solid patch" table "$TMP/c15.json" good poor
	[ "$1" -ge 160 ] && expect "the title's legend shows the shared-hue square" "■ same hue, wrong"
done

# the samples whose wrong prediction shares the truth's hue (classes 8 apart)
shared=$($PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
ix = [r["index"] for r in d["instances"] for p in r["preds"].values()
      if p != r["label"] and int(p[-2:]) % 8 == r["label_id"] % 8]
print(" or ".join("index == %d" % i for i in sorted(set(ix))[:12]))
' "$TMP/c15.json")
echo "== classes15, wrong predictions on a shared hue"
start C.UTF-8 160 45 "--graphics none $C15"
expect "the TUI is up" "Instances 300/300"
keys :
type_text "filter $shared"
keys Enter
expect "the filter applies" "Instances 12/300"
check "a wrong prediction on a shared hue is marked" table "$TMP/c15.json" good poor

echo "== classes15, label errors overview"
keys x E
expect "E opens the overview" "misclassified by poor"
check "overview cells: distinct names, aligned columns" overview "$TMP/c15.json" poor
keys Escape

echo "== classes15, projection letters"
keys P
expect "P opens the projection" "PCA of"
keys t
expect "t: class letters" "t: dots"
check "class numbers as letters, the same in the scatter" letters "$C15/classes.txt" number

echo "== fortunes, label errors overview"
"$BIN" instances demo-data/fortunes --top 0 --json >"$TMP/fortunes.json" 2>/dev/null
start C.UTF-8 160 45 "--graphics none demo-data/fortunes"
expect "the TUI is up" "Instances 920/920"
keys E
expect "E opens the overview" "misclassified by bow"
check "fortunes overview: counts of 1 to 3 digits line up" overview "$TMP/fortunes.json" bow

for size in "160 45" "80 24"; do
	set -- $size
	echo "== digit-N, UTF-8, ${1}x$2"
	start C.UTF-8 "$1" "$2" "--graphics blocks $DN"
	expect "the TUI is up" "Instances 899/899"
	[ "$1" -lt 120 ] && keys Tab Tab
	check "digit-N predictions read apart" table "$TMP/dn.json" cnn cnn_early
	keys t
	expect "t opens the thumbnails" "of 899 shown"
	check "captions keep the truth and the A/B letters" captions "$TMP/dn.json" cnn cnn_early \
		$((($1 - 1) / 14))
	keys Escape
	keys E
	expect "E opens the overview" "misclassified by cnn"
	check "digit-N overview cells" overview "$TMP/dn.json" cnn
	keys Escape
done
keys P
expect "P opens the projection" "PCA of"
keys t
expect "t: class letters" "t: dots"
check "digit-N letters are the digits, the same in the scatter" letters "$DN/classes.txt" char

finish classnames

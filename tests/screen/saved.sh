#!/bin/sh
# tests/screen/saved.sh NNCMP — views that last, on a copy of digits: :row rows in the matrix
# view show the numbers of `nncmp matrix --rows filter --json`, o sorts the neurons by a row
# as --sort-row does, x and :row -NAME remove rows; :save writes .nncmp/views.ini (read back
# value by value), Tab completes :open, :open restores filter, sort, pair, rows and the open
# view; quitting and reopening restores the last view (NNCMP_RESTORE=1), --view NAME opens with
# one and an unknown name is one line and exit 2; bad values in views.ini are named on one line
# and ignored; :export-report writes the HTML report of the filter, the same file as
# `nncmp report --html --filter`, self-contained (tests/report/check_doc.py).
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "saved: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "saved: tmux is not installed" >&2; exit 2; }
. tests/screen/lib.sh

ST=$TMP/digits
cp -r demo-data/digits "$ST"
rm -rf "$ST"/nncmp-journal.jsonl* "$ST/.nncmp"
PY=/usr/bin/python3

# cells J0 J1 J2 of each row of the CLI's matrix, "%.2f" as the view prints them, one row a line
cli_cells() {
	"$BIN" matrix "$ST" --model cnn --layer conv2 --rows filter --filter 'gt == 3' \
		--filter 'cnn != gt' --json | $PY -c '
import json, sys
d = json.load(sys.stdin)
for r in d["rows"]:
    print(r["n"], " ".join("%.2f" % v for v in r["means"][:3]))'
}

echo "== :row rows in the matrix view"
start C.UTF-8 160 45 "$ST"
expect "the TUI opens" "899/899"
keys : && type_text "filter cnn != gt" && keys Enter
expect "the filter applies" "53/899"
keys : && type_text "sort conf(cnn):asc" && keys Enter
expect "the sort applies" "sort: conf(cnn):asc"
keys : && type_text "models mlp cnn" && keys Enter
expect "the pair applies" "A=mlp B=cnn"
keys : && type_text "layer cnn.conv2" && keys Enter
expect "the layer applies" "Neurons cnn.conv2"
keys : && type_text "row gt == 3" && keys Enter
expect "an unnamed row is named row1" "row row1 = gt == 3"
keys : && type_text "row wrong = cnn != gt" && keys Enter
expect "a named row" "row wrong = cnn != gt"
keys : && type_text "row bad = nosuch > 1" && keys Enter
expect "a row that does not compile is refused" "unknown"
keys M
expect "M opens the matrix on the rows" "over your rows"
n1=$(cli_cells | sed -n 1p) n2=$(cli_cells | sed -n 2p)
set -- $n1
expect_re "row1 shows the CLI's cells ($n1)" "row1 \($1\) +$2 +$3 +$4"
set -- $n2
expect_re "wrong shows the CLI's cells ($n2)" "wrong \($1\) +$2 +$3 +$4"
expect_not "the refused row is not there" "bad ("
# o on the second row: the neurons in --sort-row's order
order=$("$BIN" matrix "$ST" --model cnn --layer conv2 --rows filter --filter 'gt == 3' \
	--filter 'cnn != gt' --sort-row 'cnn != gt' --json |
	$PY -c 'import json,sys; print(" ".join("#%d" % j for j in json.load(sys.stdin)["order"][:4]))')
keys j o
set -- $order
expect_re "o sorts the neurons as --sort-row ($order)" "row \(n\) +$1 +$2 +$3 +$4"
keys o
expect_re "o again: neuron order" "row \(n\) +#0 +#1 +#2 +#3"

echo "== :save, the file, :open"
keys : && type_text "save errs" && keys Enter
expect "saved" "saved view errs in"
f=$ST/.nncmp/views.ini
if $PY - "$f" <<'EOF'; then ok "views.ini holds every value"; else no "views.ini holds every value"; fi
import configparser, sys
c = configparser.ConfigParser(strict=False, interpolation=None)
text = open(sys.argv[1]).read()
c.read_string(text)
v = c["errs"]
want = {"filter": "cnn != gt", "sort": "conf(cnn):asc", "models": "mlp cnn",
        "layer": "cnn.conv2", "focus": "instances", "view": "matrix"}
for k, w in want.items():
    assert v[k] == w, (k, v[k], w)
rows = [l for l in text.splitlines() if l.startswith("row = ")]
assert rows == ["row = row1 = gt == 3", "row = wrong = cnn != gt"], rows
EOF
keys x
expect "x removes the row under the cursor" "row wrong removed"
keys Escape
keys : && type_text "row -row1" && keys Enter
expect "row -NAME removes a row" "row row1 removed"
keys : && type_text "filter" && keys Enter
expect "back to every instance" "899/899"
keys : && type_text "models cnn knn" && keys Enter
expect "another pair" "A=cnn B=knn"
keys : && type_text "open e" && keys Tab
expect "Tab completes the saved name" ":open errs"
keys Enter
expect "the view opens again" "over your rows"
expect "with its filter" "53/899"
expect "its sort" "sort: conf(cnn):asc"
expect "its pair" "A=mlp B=cnn"
set -- $n2
expect_re "and its rows" "wrong \($1\) +$2"
keys : && type_text "open nosuch" && keys Enter
expect "an unknown view is named" "no saved view nosuch (saved: errs)"

echo "== :export-report"
keys Escape
keys : && type_text "export-report $TMP/r.html" && keys Enter
expect "the report is written" "wrote $TMP/r.html"
if grep -q "53 match the filter cnn != gt" "$TMP/r.html"; then
	ok "the report names the filter's 53 instances"
else
	no "the report names the filter's 53 instances"
fi
"$BIN" report "$ST" --filter 'cnn != gt' --html "$TMP/cli.html" >/dev/null
if cmp -s "$TMP/r.html" "$TMP/cli.html"; then ok "the same file as nncmp report --html"; else no "the same file as nncmp report --html"; fi
# self-contained (no network reference, every image a PNG data: URI) and the filter's figures
if NNCMP=$BIN FILTER='cnn != gt' $PY tests/report/check_doc.py "$TMP/r.html" "$ST" >"$TMP/check.out"; then
	ok "the file is self-contained, with report --filter's figures and issues --filter's suspects"
else
	no "check_doc.py on the :export-report file: $(grep FAIL "$TMP/check.out" | head -3)"
fi
keys : && type_text "export-report $TMP/r.html" && keys Enter
expect "an existing file is not replaced" "export-report! replaces it"
keys : && type_text "filter gt == 1" && keys Enter
expect "a filter" "filter: gt == 1"
keys : && type_text "q" && keys Enter
expect "quits" "rc=0"

echo "== the last view at the next start"
NNCMP_RESTORE=1 start C.UTF-8 160 45 "$ST"
expect "the last session's filter" "filter: gt == 1"
expect "the last session's pair" "A=mlp B=cnn"
expect "says so" "the view of the last session"
keys q
expect "quits" "rc=0"
start C.UTF-8 160 45 "$ST"
expect "NNCMP_RESTORE=0 starts afresh" "899/899"
keys q
expect "quits" "rc=0"

echo "== --view"
start C.UTF-8 160 45 "--view errs $ST"
expect "--view opens the saved view" "over your rows"
expect "with its filter" "53/899"
keys Escape q
expect "quits" "rc=0"
start C.UTF-8 160 45 "--view nosuch $ST"
expect "an unknown --view: exit 2" "rc=2"
if [ "$(grep -c 'view nosuch: no such view' "$TMP/stderr")" = 1 ] &&
	[ "$(grep -c . "$TMP/stderr")" = 1 ]; then
	ok "in one line on stderr"
else
	no "in one line on stderr ($(cat "$TMP/stderr"))"
fi

echo "== bad values are named and ignored"
printf '\n[bad]\nmodels = cnn nosuch\nfilter = gt == 2\ncolour = red\nlayer = x.y\n' >>"$f"
start C.UTF-8 160 45 "$ST"
expect "views.ini's unknown key is named" "unknown key 'colour'"
keys : && type_text "open bad" && keys Enter
expect "the bad parts are named on one line" "view bad, ignored: models:"
expect_re "the good parts apply" "filter: gt == 2"
expect "the pair is left alone" "A=cnn B=cnn_early"
keys q
expect "quits" "rc=0"

finish saved

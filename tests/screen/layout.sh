#!/bin/sh
# tests/screen/layout.sh NNCMP — the panes of a column get at least their minimum (title, header,
# one row) whatever their share: config.ini's [layout] gives the models and detail panes, which
# sit above another pane in their column, a share of 0 (they got no row) or 100 (the pane below
# got none), at 160x45 and 120x35 (the wide layout) and 80x24 (the medium one, which stacks the
# focused pane over the instances and does not use shares: there every pane must still show).
# Also: a [layout] line naming no pane or no percent is said on the message line.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "layout: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "layout: tmux is not installed" >&2; exit 2; }
. tests/screen/lib.sh
ST=demo-data/digits
mkdir -p "$TMP/config/nncmp"
CFG=$TMP/config/nncmp/config.ini

# below TITLE NEXT: the line under the one holding TITLE holds NEXT (the pane's header row)
below() {
	screen | awk -v t="$1" -v n="$2" 'f { exit !(index($0, n) > 0) } index($0, t) { f = 1 }
		END { if (!f) exit 1 }'
}
# pane NAME TITLE HEADER ROW: the pane's title, its header under it and a row of its list show
# (the header and the row waited for too: the neuron pane's come when its statistics land, later
# on a loaded machine than its title)
pane() {
	if wait_for "$2" && wait_for "$3" && wait_for "$4" && below "$2" "$3"; then
		ok "$1: title, header and a row"
	else
		no "$1: title '$2', then '$3', and '$4'"
	fi
}
# every_pane: the six panes of the wide layout, each with its minimum
every_pane() {
	pane "$1 models" "Models " "model          accuracy" " A cnn "
	pane "$1 agreement" "Agreement per class" "class  both" "all       673"
	pane "$1 confusion" "Confusion A: cnn" "truth" "truth 0 "
	pane "$1 instances" "Instances 899/899" "index id" "digit-00000"
	pane "$1 detail" "Instance #0" "truth 0" "truth 0"
	pane "$1 neurons" "Neurons cnn.conv1" "neuron    std" "0."
}

for share in 0 100; do
	printf '[layout]\nmodels = %s\ndetail = %s\n' "$share" "$share" >"$CFG"
	for size in "160 45" "120 35"; do
		set -- $size
		echo "== [layout] models = detail = $share at ${1}x$2"
		start C.UTF-8 "$1" "$2" "$ST"
		expect "the TUI opens" "Agreement per class   A=cnn  B=cnn_early"
		every_pane "share $share ${1}x$2:"
		keys q
		expect "nncmp exits with 0" "rc=0"
	done
	echo "== [layout] models = detail = $share at 80x24"
	start C.UTF-8 80 24 "$ST"
	expect "the TUI opens" "Instances 899/899"
	# Tab from the instances: neurons, detail, models, agreement, confusion, each over the list
	keys Tab
	pane "80x24 neurons" "Neurons cnn.conv1" "neuron    std" "0."
	keys Tab
	pane "80x24 detail" "Instance #0" "truth 0" "truth 0"
	keys Tab
	pane "80x24 models" "Models " "model          accuracy" " A cnn "
	keys Tab
	pane "80x24 agreement" "Agreement per class" "class  both" "all       673"
	keys Tab
	pane "80x24 confusion" "Confusion A: cnn" "truth" "truth 0 "
	expect "80x24: the instances under it" "Instances 899/899"
	keys q
	expect "nncmp exits with 0" "rc=0"
done

echo "== a [layout] line that names no pane or no percent"
printf '[layout]\nbogus = 5\ndetail = 150\nmodels = x\n' >"$CFG"
start C.UTF-8 160 45 "$ST"
expect "an unknown pane is said with its line" "line 2: [layout] no pane called 'bogus'"
expect "a percent over 100 is said" "line 3: [layout] detail: '150' is not a percent from 0 to 100"
expect "a word is said" "line 4: [layout] models: 'x' is not a"
every_pane "bad lines leave the defaults:"
keys q
expect "nncmp exits with 0" "rc=0"

finish layout

#!/bin/sh
# tools/measure_bytes.sh [NNCMP] — bytes the TUI writes to the terminal per keystroke, as the
# README quotes them: nncmp in a detached tmux session (TERM=xterm-256color, UTF-8) on each demo
# study, its output stream read with tmux pipe-pane. For each key, everything written from the
# keystroke until the screen has been quiet for 1.5 s is counted (so an agreement key's count
# includes the redraw when the worker's neuron ranking arrives). Prints one line per key; the
# README's figures are the ranges over these.
set -u
cd "$(dirname "$0")/.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "measure_bytes: no binary $BIN" >&2; exit 2; }
command -v tmux >/dev/null || { echo "measure_bytes: tmux is not installed" >&2; exit 2; }
. tests/screen/lib.sh

# settle FILE: waits until FILE has not grown for 1.5 s (at most 20 s)
settle() {
	last=-1 still=0 i=0
	while [ $still -lt 15 ] && [ $i -lt 200 ]; do
		n=$(wc -c <"$1")
		if [ "$n" = "$last" ]; then still=$((still + 1)); else still=0; fi
		last=$n
		sleep 0.1
		i=$((i + 1))
	done
}

# measure LABEL KEY: the bytes written for one press of KEY
measure() {
	: >"$TMP/bytes"
	tm pipe-pane -t "$S" -o "cat >> $TMP/bytes"
	sleep 0.2
	keys "$2"
	sleep 0.2
	settle "$TMP/bytes"
	tm pipe-pane -t "$S"
	echo "$study ${W}x$H $1 '$2': $(wc -c <"$TMP/bytes") bytes"
}

for run in "demo-data/digits 160 45" "demo-data/fortunes 160 45" "demo-data/digits 120 35"; do
	set -- $run
	study=$1 W=$2 H=$3
	start C.UTF-8 "$W" "$H" "$study"
	wait_for "by std: all instances" || { echo "no neuron ranking on $study" >&2; continue; }
	sleep 1
	for k in 1 2 3 4 5 6; do measure navigation j; done
	measure navigation k
	for k in 1 2 w d a; do measure agreement "$k"; done
	keys q
	wait_prompt
done

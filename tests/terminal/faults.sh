#!/bin/bash
# tests/terminal/faults.sh NNCMP — the TUI when the world changes under it (issue 14), each in a
# detached tmux session on a copy of demo-data/digits:
#   1. a FIFO as the journal, as the theme and as config.ini: the TUI opens, says so, q quits;
#   2. a mapped activation file truncated in place while the TUI is open: the layer's statistics
#      say "... changed on disk while open; reopen the study", so does the detail pane, a read
#      on the UI thread without a guard of its own leaves cleanly (exit 2, the same message),
#      the terminal is restored (alternate screen left, the cursor shown), the journal intact;
#   3. a fatal signal (SIGSEGV, SIGABRT) still restores the terminal; Ctrl-\ (SIGQUIT) quits as
#      Ctrl-C does;
#   4. the journal deleted under the TUI: the next decision is refused on screen, not lost;
#   5. a read-only study with a journal: every refused decision says why (root only: a
#      read-only bind mount in a private mount namespace; skipped elsewhere).
# Runs from the top of the tree. Prints "faults: N passed, M failed" and exits non-zero on a
# failure.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "faults: no binary $BIN" >&2; exit 2; }
for t in tmux timeout; do
	command -v $t >/dev/null || { echo "faults: $t is not installed" >&2; exit 2; }
done
SCREEN_TIMEOUT=${SCREEN_TIMEOUT:-10}
. tests/screen/lib.sh
export NNCMP_CACHE=0

alt_off() { [ "$(tm display -p -t "$S" '#{alternate_on}')" = 0 ]; }
cursor_on() { [ "$(tm display -p -t "$S" '#{cursor_flag}')" = 1 ]; }
# restored NAME: the alternate screen left and the cursor visible again
restored() {
	alt_off && ok "$1: alternate screen left" || no "$1: still in the alternate screen"
	cursor_on && ok "$1: cursor shown" || no "$1: the cursor is still hidden"
}
# nncmp's pid: the child of the pane's shell (not by name: the binary may be a copy under another name)
nn_pid() {
	local i=0 p
	while [ $i -lt 50 ]; do
		p=$(pgrep -P "$(tm display -p -t "$S" '#{pane_pid}')" | head -1)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# fresh NAME: a copy of the digits study at $TMP/NAME
fresh() {
	rm -rf "${TMP:?}/$1"
	cp -r demo-data/digits "$TMP/$1"
	rm -f "$TMP/$1"/nncmp-journal.jsonl*
}
decisions() { "$BIN" decisions "$1" --all --json 2>/dev/null; }
# start_cmd W H CMD: a fresh shell in a detached session of W x H, then CMD typed into it
start_cmd() {
	tm kill-session -t "$S" 2>/dev/null
	S=t$((${S#t} + 1))
	tm -f /dev/null new-session -d -s "$S" -x "$1" -y "$2" \
		"env -i PATH=\"$PATH\" HOME=\"$TMP\" XDG_CONFIG_HOME=\"$TMP/config\" NNCMP_RESTORE=0 TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 PS1='prompt\$ ' sh -i"
	tm set-option -t "$S" status off >/dev/null
	wait_for 'prompt$' || { no "shell prompt at start"; return 1; }
	keys "clear; cd $TMP && $3 2>>$TMP/stderr; echo rc=\$?" Enter
}

echo "== FIFOs where nncmp reads"
fresh fifo
mkfifo "$TMP/fifo/nncmp-journal.jsonl"
start C.UTF-8 200 50 fifo "$TMP"
expect "FIFO journal: the TUI opens" "899/899"
expect "FIFO journal: says why" "nncmp-journal.jsonl: not a regular file"
keys q
expect "FIFO journal: q quits" "rc=0"
restored "FIFO journal"
rm "$TMP/fifo/nncmp-journal.jsonl"
mkfifo "$TMP/theme.ini"
start C.UTF-8 200 50 "--theme $TMP/theme.ini fifo" "$TMP"
expect "FIFO theme: the TUI opens" "899/899"
expect "FIFO theme: says why" "theme.ini: not a regular file; using the default theme"
keys q
expect "FIFO theme: q quits" "rc=0"
mkdir -p "$TMP/config/nncmp"
mkfifo "$TMP/config/nncmp/config.ini"
start C.UTF-8 200 50 fifo "$TMP"
expect "FIFO config.ini: the TUI opens" "899/899"
expect "FIFO config.ini: says why" "config.ini: not a regular file"
keys q
expect "FIFO config.ini: q quits" "rc=0"
rm -f "$TMP/config/nncmp/config.ini"

echo "== a mapped file truncated under the TUI"
fresh trunc
# (no leak check: leaving through the UI loop's guard drops what the interrupted frame held)
start_cmd 220 50 "ASAN_OPTIONS=detect_leaks=0 $BIN trunc"
expect "opens" "899/899"
keys R
expect "the review queue" "Review queue"
expect_re "the first suspect" ' 1/[0-9]+  #[0-9]+'
keys a
expect "a decision, saved" "relabelled to"
keys Escape
expect_not "back from the review" "Review queue"
decisions "$TMP/trunc" >"$TMP/trunc.before"
grep -q '"seq"' "$TMP/trunc.before" && ok "the journal holds the decision" ||
	no "no decision in the journal"
# the layer the neuron pane opens next, cut to its first 200 bytes in place (the demo: conv1, then conv2)
truncate -s 200 "$TMP/trunc/models/cnn/act/conv2.npy"
keys L
expect "the next layer's statistics say what happened" \
	"trunc/models/cnn/act/conv2.npy changed on disk while open; reopen the study"
nn_pid >/dev/null && ok "still running after the worker's fault" || no "nncmp died"
# the last instance's activation profile, past the truncated end, in the detail pane
n_said() { screen | grep -c "conv2.npy changed on disk while open; reopen the study"; }
[ "$(n_said)" = 1 ] && ok "said once, by the neuron pane" || no "said $(n_said) times before G"
keys G
i=0
while [ "$(n_said)" -lt 2 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(n_said)" = 2 ] && ok "the detail pane says so too, instead of the profile" ||
	no "said $(n_said) times after G"
sleep 0.5
nn_pid >/dev/null && ok "still running after the detail pane's read" || no "nncmp died at G"
# the weights view reads the instance's activations on the UI thread without a guard of its
# own: the loop's guard takes it, and nncmp leaves cleanly
keys H
expect "a fault on the UI thread: exit 2" "rc=2"
grep -qF "trunc/models/cnn/act/conv2.npy changed on disk while open; reopen the study" \
	"$TMP/stderr" && ok "the same message on stderr" || no "stderr: $(tail -2 "$TMP/stderr")"
restored "truncated file"
cp demo-data/digits/models/cnn/act/conv2.npy "$TMP/trunc/models/cnn/act/" # the study opens again
decisions "$TMP/trunc" >"$TMP/trunc.after"
cmp -s "$TMP/trunc.before" "$TMP/trunc.after" && ok "the journal is intact" ||
	no "the journal changed: $(diff "$TMP/trunc.before" "$TMP/trunc.after" | head -5)"

echo "== fatal signals restore the terminal"
fresh sig
for sg in SEGV:139 ABRT:134; do
	sig=${sg%:*} code=${sg#*:}
	# (a sanitizer's own SEGV report would replace the default action this checks)
	start_cmd 160 45 "ASAN_OPTIONS=handle_segv=0:handle_abort=0:detect_leaks=0 $BIN sig"
	expect "SIG$sig: opens" "899/899"
	if pid=$(nn_pid); then
		kill -"$sig" "$pid"
		expect "SIG$sig: dies of it ($code)" "rc=$code"
		restored "SIG$sig"
	else
		no "SIG$sig: no pid for nncmp"
	fi
done
start C.UTF-8 160 45 sig "$TMP"
expect "Ctrl-\\: opens" "899/899"
keys 'C-\'
expect "Ctrl-\\ (SIGQUIT): quits (131)" "rc=131"
restored "Ctrl-\\"
grep -q "core dumped" <(screen) && no "Ctrl-\\: a core dump" || ok "Ctrl-\\: no core dump"

echo "== the journal deleted under the TUI"
fresh gone
start C.UTF-8 200 50 gone "$TMP"
expect "opens" "899/899"
keys R
expect "the review queue" "Review queue"
expect_re "the first suspect" ' 1/[0-9]+  #[0-9]+'
keys a
expect "the first decision, saved" "relabelled to"
rm "$TMP/gone/nncmp-journal.jsonl"
keys a
expect "the next one is refused, on screen" "deleted while open; this decision is not saved"
keys Escape
keys q
expect "q quits" "rc=0"

echo "== a read-only study with a journal"
fresh ro
{
	printf '{"v":1,"type":"header","study":"digits","n":899,"n_classes":10,'
	printf '"classes":["0","1","2","3","4","5","6","7","8","9"],"created":"2026-11-22T10:00:00Z"}\n'
} >"$TMP/ro/nncmp-journal.jsonl"
if [ "$(id -u)" = 0 ] && unshare -m sh -c "mount --bind -o ro '$TMP/ro' '$TMP/ro' &&
	! touch '$TMP/ro/x' 2>/dev/null" 2>/dev/null; then
	start_cmd 220 50 "unshare -m sh -c 'mount --bind -o ro ro ro && exec $BIN ro'"
	expect "read-only: opens" "899/899"
	keys R
	expect "read-only: the review says why" "cannot write the journal (Read-only file system)"
	keys a
	expect "read-only: a decision says why" "triage is read-only: ro/nncmp-journal.jsonl: cannot write"
	expect_not "read-only: not blamed on another nncmp" "another nncmp"
	keys Escape
	keys q
	expect "read-only: q quits" "rc=0"
else
	echo "     (skipped: a read-only bind mount needs root and unshare)"
fi

finish faults

# tests/screen/lib.sh — what the screen test scripts share (sourced, not run): a private tmux
# server, polling the screen for a string, pass/fail counting, and starting nncmp in a fresh
# shell. The sourcing script sets BIN (an absolute path) and runs from the top of the tree.
SOCK=nncmp-screen-$$
TIMEOUT=${SCREEN_TIMEOUT:-15}
TMP=$(mktemp -d)
pass=0
fail=0
tm() { tmux -L "$SOCK" "$@"; }
# settle SESSION: waits (at most 5 s) while an nncmp still runs in the session's pane, so that no
# session is killed under an nncmp that is quitting: in an ASan build LeakSanitizer's exit check
# runs then, and the hangup's SIGCONT cancels the stop its tracer waits for, which left processes
# spinning at full CPU for good after CI runs. One the test left running is killed after the wait
# (a quit by signal skips the check).
settle() {
	j=0
	while [ $j -lt 50 ] && tm list-panes -t "$1" -F '#{pane_current_command}' 2>/dev/null |
		grep -qx nncmp; do
		sleep 0.1
		j=$((j + 1))
	done
}
cleanup() {
	for s in $(tm list-sessions -F '#{session_name}' 2>/dev/null); do settle "$s"; done
	tm kill-server 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

S=t0 # the current session
screen() { tm capture-pane -p -t "$S" 2>/dev/null; }

# wait_for STRING: polls the screen until STRING shows (fixed string), up to TIMEOUT seconds.
wait_for() {
	i=0
	while [ $i -lt $((TIMEOUT * 10)) ]; do
		screen | grep -qF -- "$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# wait_gone STRING: polls until STRING is no longer on the screen.
wait_gone() {
	i=0
	while [ $i -lt $((TIMEOUT * 10)) ]; do
		screen | grep -qF -- "$1" || return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# wait_prompt: polls until the shell's prompt is the last line on the screen.
wait_prompt() {
	i=0
	while [ $i -lt $((TIMEOUT * 10)) ]; do
		screen | grep -v '^$' | tail -1 | grep -q '^prompt\$ *$' && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

ok() { pass=$((pass + 1)); echo "ok   $1"; }
no() {
	fail=$((fail + 1))
	echo "FAIL $1"
	screen | sed 's/^/     | /'
}

# wait_re REGEX: the same for an extended regular expression.
wait_re() {
	i=0
	while [ $i -lt $((TIMEOUT * 10)) ]; do
		screen | grep -qE -- "$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# expect NAME STRING: the screen shows STRING (waiting for it).
expect() { if wait_for "$2"; then ok "$1"; else no "$1 (wanted '$2')"; fi; }
# expect_not NAME STRING: STRING is gone from the screen.
expect_re() { if wait_re "$2"; then ok "$1"; else no "$1 (wanted /$2/)"; fi; }
expect_not() { if wait_gone "$2"; then ok "$1"; else no "$1 (did not want '$2')"; fi; }

keys() { tm send-keys -t "$S" "$@"; }
# type TEXT: literal keys
type_text() { tm send-keys -t "$S" -l -- "$1"; }

# count FILTER: how many instances of the digits study match, from the CLI.
count() {
	"$BIN" instances demo-data/digits --filter "$1" --json --top 1 |
		grep -o '"count": *[0-9]*' | grep -o '[0-9]*$'
}

# start LANG W H ARGS [DIR]: a fresh shell in a detached session, then nncmp ARGS run in DIR.
start() {
	settle "$S"
	tm kill-session -t "$S" 2>/dev/null
	S=t$((${S#t} + 1))
	tm -f /dev/null new-session -d -s "$S" -x "$2" -y "$3" \
		"env -i PATH=\"$PATH\" HOME=\"$TMP\" XDG_CONFIG_HOME=\"$TMP/config\" NNCMP_RESTORE=${NNCMP_RESTORE:-0} TERM=xterm-256color LANG=$1 LC_ALL=$1 PS1='prompt\$ ' sh -i"
	tm set-option -t "$S" status off >/dev/null
	wait_for 'prompt$' || { no "shell prompt at start"; return 1; }
	keys "clear; cd ${5:-.} && $BIN $4 2>>$TMP/stderr; echo rc=\$?" Enter
}

# a session that lives as long as the test, so that closing one run never stops the server
tm -f /dev/null new-session -d -s keep -x 80 -y 24 "sleep 100000"

# finish: the summary line and the exit status.
finish() {
	if grep -q 'runtime error\|Sanitizer' "$TMP/stderr" 2>/dev/null; then
		no "sanitizer reports on stderr"
		sed 's/^/     ! /' "$TMP/stderr" | head -40
	else
		ok "no sanitizer report on stderr"
	fi
	echo "$1: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

#!/bin/bash
# tests/terminal/run.sh NNCMP — terminal safety of the TUI and the CLI (issue 7):
#   1. escapes: a study whose class names, sample ids and texts carry OSC 52, a title change, a
#      screen clear, DCS, C1 controls and bidi overrides; the raw byte stream the TUI writes to its
#      pty (tmux pipe-pane, and util-linux script) must hold none of them, while the screen shows
#      them as visible escapes; the CLI's output neither; a model directory named with an escape
#      is refused with a clean message;
#   2. terminals: TERM xterm, xterm-256color, screen-256color, tmux-256color, vt100, linux, LANG=C,
#      TERM=dumb and TERM unset (a clear refusal, exit 2), sizes from 20x5 to 400x120, a resize
#      storm;
#   3. signals: SIGHUP and SIGTERM restore the terminal; a terminal closed under it with SIGHUP
#      blocked, or not its controlling one, makes it quit; Ctrl-Z then fg redraws the screen.
# Runs from the top of the tree (demo-data/ must be there). Needs tmux and script (util-linux).
# Prints "terminal: N passed, M failed" and exits non-zero on a failure.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${1:-./nncmp}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "terminal: no binary $BIN" >&2; exit 2; }
for t in tmux script timeout; do
	command -v $t >/dev/null || { echo "terminal: $t is not installed" >&2; exit 2; }
done

SOCK=nncmp-term-$$
TIMEOUT=${TERMINAL_TIMEOUT:-6} # seconds to wait for one screen state
TMP=$(mktemp -d)
pass=0
fail=0
tm() { timeout 10 tmux -L "$SOCK" "$@"; }
cleanup() {
	tmux -L "$SOCK" kill-server 2>/dev/null
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
	rm -rf "$TMP" 2>/dev/null || { sleep 0.5; rm -rf "$TMP"; }
}
trap cleanup EXIT INT TERM

S=t0
screen() { tm capture-pane -p -t "$S" 2>/dev/null; }
# poll (fixed strings) until $1 shows / is gone, up to TIMEOUT seconds
wait_for() {
	local i=0
	while [ $i -lt $((TIMEOUT * 20)) ]; do
		screen | grep -qF -- "$1" && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}
wait_gone() {
	local i=0
	while [ $i -lt $((TIMEOUT * 20)) ]; do
		screen | grep -qF -- "$1" || return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}
ok() { pass=$((pass + 1)); echo "ok   $1"; }
no() {
	fail=$((fail + 1))
	echo "FAIL $1"
	screen | grep -v '^$' | head -20 | sed 's/^/     | /'
}
expect() { if wait_for "$2"; then ok "$1"; else no "$1 (wanted '$2')"; fi; }
expect_not() { if wait_gone "$2"; then ok "$1"; else no "$1 (did not want '$2')"; fi; }
keys() { tm send-keys -t "$S" "$@"; }
type_text() { tm send-keys -t "$S" -l -- "$1"; }
alt_off() { [ "$(tm display -p -t "$S" '#{alternate_on}')" = 0 ]; }
# nncmp's pid: the child of the pane's shell
nn_pid() {
	local i=0 p
	while [ $i -lt 50 ]; do
		# (not by name: the binary may be a copy under another name)
		p=$(pgrep -P "$(tm display -p -t "$S" '#{pane_pid}')" | head -1)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# start TERMVAL LANG W H CMD: a fresh shell (sh -i; TERMVAL "-" leaves TERM unset) in a detached
# session of W x H, then CMD typed into it. Each session's shell gets its own TERM.
start() {
	tm kill-session -t "$S" 2>/dev/null
	S=t$((${S#t} + 1))
	local termenv="TERM=$1"
	[ "$1" = - ] && termenv=
	tm -f /dev/null new-session -d -s "$S" -x "$3" -y "$4" \
		"env -i PATH=\"$PATH\" HOME=\"$TMP\" XDG_CONFIG_HOME=\"$TMP/config\" NNCMP_RESTORE=0 $termenv LANG=$2 LC_ALL=$2 PS1='prompt\$ ' sh -i"
	tm set-option -t "$S" status off >/dev/null
	wait_for 'prompt$' || { no "shell prompt at start"; return 1; }
	[ -n "$5" ] && keys "clear; $5" Enter
	return 0
}

tm -f /dev/null new-session -d -s keep -x 80 -y 24 "sleep 100000"

# ---- the hostile study: digits' labels and models, hostile classes.txt and samples.jsonl ----
H=$TMP/hostile
mkdir -p "$H/models"
cp demo-data/digits/labels.npy "$H/"
for m in cnn cnn_early knn mlp; do
	mkdir -p "$H/models/$m"
	cp demo-data/digits/models/$m/*.npy "$H/models/$m/"
done
# raw bytes for classes.txt (one line each)
printf '%b\n' \
	'zero\033]52;c;aGk=\007' \
	'one\033]0;owned\007' \
	'two\033[2J' \
	'three\033Pq#0;2;0;0;0\033\\' \
	'four\302\23331m' \
	'five\302\2350;c1owned\302\234' \
	'six\342\200\256evil' \
	'seven\342\201\246iso' \
	'eight\033[?1049lX' \
	'nine' >"$H/classes.txt"
# samples.jsonl: JSON escapes for controls (raw ones are not JSON), raw UTF-8 for C1 and bidi
P=('\u001b]52;c;aGk=\u0007' '\u001b]0;owned\u0007' '\u001b[2J' '\u001bPq#0;2;0;0;0\u001b\\'
	$'\xc2\x9b31m' $'\xc2\x9d0;c1owned\xc2\x9c' $'\xe2\x80\xae' $'\xe2\x81\xa6')
{
	for ((i = 0; i < 899; i++)); do
		p=${P[i % 8]}
		printf '{"id": "s%d%s", "text": "t%d %s text %s", "split": "test"}\n' "$i" "$p" "$i" "$p" "$p"
	done
} >"$H/samples.jsonl"

# the bytes that must never reach a terminal
NEEDLES=($'\e]52' $'\e]0;owned' $'\eP' $'\xc2\x9b' $'\xc2\x9d' $'\xe2\x80\xae' $'\xe2\x81\xa6'
	$'\e[?1049lX')
NAMES=("OSC 52" "OSC 0 title" "DCS" "U+009B" "U+009D" "U+202E" "U+2066" "the class name's ?1049l")
# raw_clean NAME FILE: FILE holds none of the needles (and, with a third argument, no ESC at all)
raw_clean() {
	local k bad=""
	for k in "${!NEEDLES[@]}"; do
		grep -aqF -- "${NEEDLES[k]}" "$2" && bad="$bad ${NAMES[k]};"
	done
	if [ $# -gt 2 ] && grep -aq $'\e' "$2"; then bad="$bad raw ESC;"; fi
	if [ -z "$bad" ]; then ok "$1"; else no "$1: raw bytes found:$bad"; fi
}

echo "== escapes: the study loads"
# control: the needles are really in the study (else the checks below prove nothing)
n=0
for k in "${!NEEDLES[@]}"; do grep -aqF -- "${NEEDLES[k]}" "$H/classes.txt" && n=$((n + 1)); done
[ $n -eq ${#NEEDLES[@]} ] && ok "control: classes.txt carries all ${#NEEDLES[@]} raw sequences" ||
	no "control: classes.txt carries only $n of ${#NEEDLES[@]} sequences"
if timeout 20 "$BIN" check "$H" >"$TMP/check.out" 2>&1; then ok "hostile study passes nncmp check"; else
	no "hostile study refused by nncmp check: $(head -c 300 "$TMP/check.out" | cat -v)"; fi

echo "== escapes: CLI"
timeout 20 "$BIN" instances "$H" --top 0 >"$TMP/inst.out" 2>"$TMP/inst.err"
rc=$?
[ $rc -eq 0 ] && [ "$(wc -l <"$TMP/inst.out")" -gt 899 ] && ok "instances --top 0 runs (rc $rc)" || no "instances --top 0: rc $rc"
raw_clean "instances: no raw escapes on stdout" "$TMP/inst.out" noesc
raw_clean "instances: no raw escapes on stderr" "$TMP/inst.err" noesc
grep -qF '\e]52' "$TMP/inst.out" && ok "instances shows \\e]52 as text" || no "instances lacks visible \\e]52"
grep -qF '\u202e' "$TMP/inst.out" && ok "instances shows \\u202e as text" || no "instances lacks visible \\u202e"
timeout 30 "$BIN" report "$H" >"$TMP/report.out" 2>"$TMP/report.err"
rc=$?
[ $rc -eq 0 ] && ok "report runs" || no "report: rc $rc"
raw_clean "report: no raw escapes on stdout" "$TMP/report.out" noesc
raw_clean "report: no raw escapes on stderr" "$TMP/report.err" noesc
# --json is ASCII only: C0 controls, C1 controls and bidi characters all as \uXXXX escapes
timeout 20 "$BIN" instances "$H" --top 0 --json >"$TMP/inst.json" 2>&1
grep -aq $'\e' "$TMP/inst.json" && no "instances --json: a raw ESC" || ok "instances --json: no raw ESC"
raw_clean "instances --json: no raw C1 or bidi bytes" "$TMP/inst.json" noesc
grep -qiF '\u202e' "$TMP/inst.json" && ok "instances --json escapes U+202E" || no "instances --json: no \u202e escape"

echo "== escapes: a model directory named with an escape is refused"
B=$TMP/badmodel
mkdir -p "$B/models"
cp demo-data/digits/labels.npy demo-data/digits/classes.txt "$B/"
mkdir -p "$B/models/cnn" "$B/models/"$'x\e]0;owned\a'
cp demo-data/digits/models/cnn/probs.npy "$B/models/cnn/"
cp demo-data/digits/models/cnn/probs.npy "$B/models/"$'x\e]0;owned\a'/
for cmd in report check; do
	timeout 20 "$BIN" $cmd "$B" >"$TMP/bad.out" 2>"$TMP/bad.err"
	rc=$?
	[ $rc -eq 2 ] && ok "$cmd refuses the model name (exit 2)" || no "$cmd on the bad model name: exit $rc"
	[ "$(wc -l <"$TMP/bad.err")" -ge 1 ] && ok "$cmd: a message on stderr" || no "$cmd: no message on stderr"
	raw_clean "$cmd: the refusal has no raw ESC" "$TMP/bad.err" noesc
	raw_clean "$cmd: stdout has no raw ESC" "$TMP/bad.out" noesc
done
# the TUI's path, in a pty
timeout 20 script -q -e -c "stty cols 160 rows 45; TERM=xterm-256color LANG=C.UTF-8 $BIN $B" "$TMP/bad.tty" </dev/null >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && ok "TUI refuses the model name (exit 2)" || no "TUI on the bad model name: exit $rc"
raw_clean "TUI refusal: no raw escapes in the pty" "$TMP/bad.tty" noesc

echo "== escapes: the TUI in tmux, raw output stream (pipe-pane)"
start xterm-256color C.UTF-8 160 45 ""
tm pipe-pane -t "$S" -o "cat >> $TMP/raw.tmux"
keys "clear; $BIN $H 2>>$TMP/stderr; echo rc=\$?" Enter
expect "hostile study opens" "899/899"
expect "confusion: the full class name, visible" 'truth zero\e]52;c;aGk=\x07 → pred'
expect "class names: visible \\e]52" 'zero\e]52;c'
expect "class names: visible \\e]0;owned" 'one\e]0;own'
expect "class names: visible \\e[2J" 'two\e[2J'
expect "class names: visible DCS" 'three\ePq#0'
expect "class names: visible U+009B" 'four\u009b3'
expect "class names: visible U+009D" 'five\u009d0'
expect "class names: visible U+202E" 'six\u202eev'
expect "class names: visible U+2066" 'seven\u2066'
expect "ids: visible escapes" 's0\e]52'
expect "texts: visible escapes" 't0 \e]52'
keys j j
keys :
type_text "filter gt == 1"
keys Enter
expect ":filter on a hostile class" "filter: gt == 1"
keys Tab
keys z
keys G
keys z
keys '?'
expect "help opens" "focus-next"
keys q
expect "help closes" "899"
keys :
type_text "sort id"
keys Enter
keys j
keys q
expect "q quits" "rc=0"
sleep 0.2
tm pipe-pane -t "$S"
[ "$(wc -c <"$TMP/raw.tmux")" -gt 5000 ] && ok "raw stream captured ($(wc -c <"$TMP/raw.tmux") bytes)" || no "raw stream too short"
raw_clean "TUI raw stream (tmux): none of the escapes" "$TMP/raw.tmux"

echo "== escapes: the TUI under script(1), raw typescript"
(sleep 1.2; printf 'jj'; sleep 0.3; printf ':filter gt == 5\r'; sleep 0.3; printf '?'; sleep 0.3; printf 'q'; sleep 0.3; printf 'q'; sleep 1) |
	TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 XDG_STATE_HOME=$TMP/state timeout 20 script -q -e \
		-c "stty cols 160 rows 45; $BIN $H" "$TMP/raw.script" >/dev/null 2>&1
rc=$?
[ $rc -eq 0 ] && ok "script: the TUI ran and quit with q (exit 0)" || no "script: exit $rc"
grep -aqF '899/899' "$TMP/raw.script" && ok "script: the status line was drawn" || no "script: no status line in the typescript"
grep -aqF 'zero\e]52' "$TMP/raw.script" && ok "script: visible \\e]52 in the stream" || no "script: no visible \\e]52"
raw_clean "TUI raw stream (script): none of the escapes" "$TMP/raw.script"

(sleep 1.2; printf 'jjq'; sleep 1) |
	TERM=xterm LANG=C LC_ALL=C XDG_STATE_HOME=$TMP/state timeout 20 script -q -e \
		-c "stty cols 120 rows 35; $BIN $H" "$TMP/raw.c" >/dev/null 2>&1
rc=$?
[ $rc -eq 0 ] && ok "script, LANG=C: the TUI ran and quit (exit 0)" || no "script, LANG=C: exit $rc"
# (the confusion matrix's row name, cut after the escape: the agreement table's row for six is
# below its significance line at 120x35)
grep -aqF 'six\u202e' "$TMP/raw.c" && ok "script, LANG=C: visible \\u202e" || no "script, LANG=C: no visible \\u202e"
raw_clean "TUI raw stream (script, LANG=C): none of the escapes" "$TMP/raw.c"

echo "== terminals: TERM and LANG matrix, 100x30, demo-data/digits"
for tl in xterm:C.UTF-8 xterm-256color:C.UTF-8 screen-256color:C.UTF-8 tmux-256color:C.UTF-8 \
	vt100:C.UTF-8 linux:C.UTF-8 xterm-256color:C vt100:C xterm-direct:C.UTF-8; do
	t=${tl%%:*} l=${tl#*:}
	start "$t" "$l" 100 30 "$BIN demo-data/digits 2>>$TMP/stderr; echo rc=\$?" || continue
	if wait_for "899/899"; then ok "$t $l: opens"; else no "$t $l: opens"; continue; fi
	before=$(tm capture-pane -e -p -t "$S")
	keys j
	i=0
	while [ $i -lt 100 ] && [ "$(tm capture-pane -e -p -t "$S")" = "$before" ]; do sleep 0.05; i=$((i + 1)); done
	[ $i -lt 100 ] && ok "$t $l: j moves the cursor" || no "$t $l: j changed nothing"
	keys q
	expect "$t $l: q quits with 0" "rc=0"
	alt_off && ok "$t $l: alternate screen off" || no "$t $l: still in the alternate screen"
done
for t in dumb -; do
	name="TERM=$t"
	[ "$t" = - ] && name="TERM unset"
	start "$t" C.UTF-8 100 30 "$BIN demo-data/digits; echo rc=\$?" || continue # message on screen
	expect "$name: refused with exit 2" "rc=2"
	expect "$name: a clear message" "TUI cannot run"
done
# and piped, with TERM=dumb, the report as before
TERM=dumb timeout 20 "$BIN" demo-data/digits </dev/null | grep -q 'pair (A vs B)' &&
	ok "TERM=dumb piped: the report" || no "TERM=dumb piped: no report"

echo "== colours: #rrggbb themes and NO_COLOR"
infocmp xterm-direct >/dev/null 2>&1 && ok "xterm-direct terminfo present" ||
	no "no terminfo for xterm-direct (Debian: apt-get install ncurses-term)"
# the status line in #ff8700 on #005f87: xterm's 256-colour chart has them as 208 and 24
printf '[colors]\nstatus = #ff8700, #005f87\n' >"$TMP/truecolor.ini"
status_sgr() { tm capture-pane -e -p -t "$S" | grep -a 'filter:' | head -1; }
all_sgr() { tm capture-pane -e -p -t "$S" | grep -ao $'\e\\[[0-9;:]*m' | sort -u | tr -d '\033' | tr '\n' ' '; }
for tw in "xterm-direct:38;2;255;135;0:48;2;0;95;135" "xterm-256color:38;5;208:48;5;24"; do
	t=${tw%%:*} rest=${tw#*:}
	fg=${rest%%:*} bg=${rest#*:}
	start "$t" C.UTF-8 120 35 "$BIN --theme $TMP/truecolor.ini demo-data/digits 2>>$TMP/stderr; echo rc=\$?" || continue
	expect "$t #rrggbb: opens" "899/899"
	line=$(status_sgr)
	case $line in *$'\e['"$fg"m*) ok "$t: #ff8700 drawn as $fg" ;; *) no "$t: #ff8700 not drawn as $fg" ;; esac
	case $line in *$'\e['"$bg"m*) ok "$t: #005f87 drawn as $bg" ;; *) no "$t: #005f87 not drawn as $bg" ;; esac
	keys q
	expect "$t #rrggbb: q quits with 0" "rc=0"
done
# 8 colours: the nearest basic colours, never an extended one, and no refusal
start xterm C.UTF-8 120 35 "$BIN --theme $TMP/truecolor.ini demo-data/digits 2>>$TMP/stderr; echo rc=\$?"
expect "xterm (8 colours) #rrggbb: opens" "899/899"
sgr=$(all_sgr)
case $sgr in *"38;"* | *"48;"*) no "xterm (8 colours): extended colours sent: $sgr" ;;
*) ok "xterm (8 colours): only basic colours" ;; esac
case $(status_sgr) in *$'\e[3'[0-7]m*$'\e[4'[0-7]m* | *$'\e[4'[0-7]m*$'\e[3'[0-7]m*)
	ok "xterm (8 colours): the status line in basic colours" ;;
*) no "xterm (8 colours): the status line has no basic colour pair" ;; esac
keys q
expect "xterm (8 colours): q quits with 0" "rc=0"
# a malformed #rrggbb: a one-line message naming the theme, line and value; the default theme
printf '[colors]\nheader = #12345, default\n' >"$TMP/badhex.ini"
start xterm-256color C.UTF-8 160 35 "$BIN --theme $TMP/badhex.ini demo-data/digits 2>>$TMP/stderr; echo rc=\$?"
expect "bad #rrggbb: a message" "line 2: header: '#12345' is not a colour"
keys q
expect "bad #rrggbb: q quits with 0" "rc=0"
# NO_COLOR set and not empty: attributes only (reverse status line); --theme brings colours back
for nc in "1::none" "yes:light:none" "1:--theme default:colour" ":--theme default:colour" "::colour"; do
	val=${nc%%:*} rest=${nc#*:}
	arg=${rest%%:*} want=${rest#*:}
	envs="NO_COLOR=$val"
	case $arg in --*) ;; ?*) envs="$envs NNCMP_THEME=$arg" arg= ;; esac
	name="$envs $arg"
	start xterm-256color C.UTF-8 120 35 "env $envs $BIN $arg demo-data/digits 2>>$TMP/stderr; echo rc=\$?" || continue
	expect "$name: opens" "899/899"
	sgr=$(all_sgr)
	if [ "$want" = none ]; then
		if echo "$sgr" | grep -Eq '[[;](3[0-8]|4[0-8]|9[0-7]|10[0-7])[;m]'; then
			no "$name: colours sent: $sgr"
		else ok "$name: no colour"; fi
		case $(status_sgr) in *$'\e[7m'* | *$'\e[0;7m'*) ok "$name: status line reversed" ;;
		*) no "$name: status line not reversed" ;; esac
	else
		case $sgr in *"38;5;"*) ok "$name: colours" ;; *) no "$name: no colours: $sgr" ;; esac
	fi
	keys q
	expect "$name: q quits with 0" "rc=0"
done

echo "== terminals: sizes"
for wh in 20x5 40x12 80x24 200x60 400x120; do
	w=${wh%x*} h=${wh#*x}
	start xterm-256color C.UTF-8 "$w" "$h" "$BIN demo-data/digits 2>>$TMP/stderr; echo rc=\$?" || continue
	if [ "$wh" = 20x5 ]; then
		expect "$wh: too small" "too small"
	else
		expect "$wh: status line" "899/899"
		expect "$wh: instances" "Instances"
	fi
	keys q
	expect "$wh: q quits with 0" "rc=0"
	alt_off && ok "$wh: alternate screen off" || no "$wh: still in the alternate screen"
done

echo "== terminals: resize storm"
start xterm-256color C.UTF-8 160 45 "$BIN demo-data/digits 2>>$TMP/stderr; echo rc=\$?"
expect "storm: opens" "899/899"
seed=${TERMINAL_SEED:-$$}
RANDOM=$seed
echo "     (sizes from seed $seed; TERMINAL_SEED=$seed repeats them)"
for ((k = 0; k < 30; k++)); do
	tm resize-window -t "$S" -x $((10 + RANDOM % 291)) -y $((4 + RANDOM % 87))
	[ $((k % 3)) = 0 ] && keys j
done
tm resize-window -t "$S" -x 120 -y 40
expect "storm: redrawn at 120x40" "899/899"
nn_pid >/dev/null && ok "storm: nncmp still running" || no "storm: nncmp died"
keys q
expect "storm: q quits with 0" "rc=0"
alt_off && ok "storm: back at the shell, alternate screen off" || no "storm: still in the alternate screen"

echo "== signals"
for sg in HUP:129 TERM:143; do
	sig=${sg%:*} code=${sg#*:}
	start xterm-256color C.UTF-8 100 30 "$BIN demo-data/digits 2>>$TMP/stderr; echo rc=\$?"
	expect "SIG$sig: opens" "899/899"
	if pid=$(nn_pid); then
		kill -"$sig" "$pid"
		expect "SIG$sig: exits ($code)" "rc=$code"
		alt_off && ok "SIG$sig: alternate screen off" || no "SIG$sig left the alternate screen on"
	else
		no "SIG$sig: no pid for nncmp"
	fi
done
# The terminal closed under a TUI that gets no SIGHUP: the signal blocked by whatever launched it,
# or the pty not its controlling terminal (a new session). Reads from the dead pty then fail at
# once; nncmp must quit, not spin on them (it once ran on at 50% CPU for over an hour).
cat >"$TMP/launch.py" <<'PY'
import os, signal, sys
mode, pidfile, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
if mode == "blocked":
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGHUP])
    open(pidfile, "w").write(str(os.getpid()))
    os.execv(argv[0], argv)
pid = os.fork()
if pid == 0:
    os.setsid()
    os.execv(argv[0], argv)
open(pidfile, "w").write(str(pid))
os.waitpid(pid, 0)
PY
for mode in blocked nosession; do
	G=$SOCK-gone
	rm -f "$TMP/gone.pid"
	timeout 10 tmux -L "$G" -f /dev/null new-session -d -x 100 -y 30 \
		"env -i PATH=\"$PATH\" HOME=\"$TMP\" XDG_CONFIG_HOME=\"$TMP/config\" NNCMP_RESTORE=0 TERM=xterm-256color LANG=C.UTF-8 python3 $TMP/launch.py $mode $TMP/gone.pid $BIN demo-data/digits 2>>$TMP/stderr"
	i=0
	until timeout 10 tmux -L "$G" capture-pane -p 2>/dev/null | grep -qF 899/899; do
		i=$((i + 1))
		[ $i -lt $((TIMEOUT * 20)) ] || break
		sleep 0.05
	done
	gpid=$(cat "$TMP/gone.pid" 2>/dev/null)
	timeout 10 tmux -L "$G" kill-server 2>/dev/null
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$G"
	if [ -z "$gpid" ]; then
		no "terminal gone ($mode): nncmp did not start"
		continue
	fi
	i=0
	while kill -0 "$gpid" 2>/dev/null && [ $i -lt $((TIMEOUT * 20)) ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if kill -0 "$gpid" 2>/dev/null; then
		no "terminal gone ($mode): nncmp still running ($(ps -o pcpu= -p "$gpid")% CPU)"
		kill -9 "$gpid" 2>/dev/null
	else
		ok "terminal gone ($mode): nncmp quit"
	fi
done
# Ctrl-Z and fg in an interactive bash
tm kill-session -t "$S" 2>/dev/null
S=t$((${S#t} + 1))
tm -f /dev/null new-session -d -s "$S" -x 100 -y 30 \
	"env -i PATH=\"$PATH\" HOME=\"$TMP\" TERM=xterm-256color LANG=C.UTF-8 PS1='bash\$ ' bash --norc --noprofile -i"
tm set-option -t "$S" status off >/dev/null
wait_for 'bash$' || no "bash prompt"
keys "clear; $BIN demo-data/digits 2>>$TMP/stderr; echo rc=\$?" Enter
expect "Ctrl-Z: opens" "899/899"
keys C-z
expect "Ctrl-Z: stopped, back at bash" "Stopped"
alt_off && ok "Ctrl-Z: alternate screen off while stopped" || no "Ctrl-Z: alternate screen still on"
keys "clear; fg" Enter
expect "fg: the status line is redrawn" "899/899"
expect "fg: the panes are redrawn" "Instances"
keys j q
# bash printed rc= when the job stopped; after fg, $? is the job's status
if wait_gone "Instances" && wait_for 'bash$'; then ok "fg: q quits to bash"; else no "fg: q quits to bash"; fi
keys "echo rc=\$?" Enter
expect "fg: nncmp exited with 0" "rc=0"
alt_off && ok "fg: alternate screen off at the end" || no "fg: alternate screen still on"

# what nncmp wrote to stderr (the tmux runs, the CLI runs, the script typescripts): sanitizer
# reports land there
touch "$TMP/stderr"
if grep -aq 'runtime error\|Sanitizer' "$TMP/stderr" "$TMP"/*.err "$TMP"/raw.* "$TMP"/*.tty; then
	no "sanitizer reports on stderr"
	grep -ah -A5 'runtime error\|Sanitizer' "$TMP/stderr" "$TMP"/*.err "$TMP"/raw.* "$TMP"/*.tty |
		sed 's/^/     ! /' | head -40
else
	ok "no sanitizer report on stderr"
fi

echo "terminal: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

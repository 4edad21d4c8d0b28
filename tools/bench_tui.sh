#!/bin/bash
# tools/bench_tui.sh STUDY [NNCMP] [REPS] — the TUI's figures of issue #20, from NNCMP_TRACE
# (src/tui/trace.h): the real binary in a detached tmux session of 160x45 on its own socket.
#   - time to the first frame (from tui_run's start: the study opened, the screen drawn), and to
#     the first frame with every pane filled in (the selection's metrics landed), for the study
#     reopened (the derived-data cache warm) and cold (NNCMP_CACHE=0); best of REPS runs;
#   - the UI thread's time per key, from reading it to the frame drawn after it (wall and the UI
#     thread's CPU time), for the agreement keys and a few moves, then opening the review queue
#     (R: the journal taken for writing), two decisions in it (c, the first of the session and
#     another), an undo, and closing it, against one frame (1/60 s);
#     the wall time includes waiting for the CPU on a shared machine, the CPU time does not.
# A benchmark prints figures; it fails (exit 1) only when the TUI could not be run.
# Usage: tools/bench_tui.sh bench-data ./nncmp 3   (tools/bench.sh calls it)
set -euo pipefail
cd "$(dirname "$0")/.."
STUDY=${1:?usage: tools/bench_tui.sh STUDY [NNCMP] [REPS]}
NNCMP=${2:-./nncmp}
REPS=${3:-3}
case $NNCMP in /*) ;; *) NNCMP=$PWD/$NNCMP ;; esac
command -v tmux >/dev/null || { echo "bench_tui.sh: tmux is not installed" >&2; exit 1; }
[ -x "$NNCMP" ] || { echo "bench_tui.sh: no binary $NNCMP" >&2; exit 1; }

TMP=$(mktemp -d)
# the study as symbolic links in $TMP, so that the journal the decisions write is $TMP's (the
# caches key on the files the links name, so the derived-data cache is the study's own)
mkdir "$TMP/study"
cp -rs "$(realpath "$STUDY")"/. "$TMP/study/"
rm -f "$TMP/study/nncmp-journal.jsonl" "$TMP/study/nncmp-journal.jsonl.lock"
SOCK=nncmp-bench-tui-$$
tm() { tmux -L "$SOCK" "$@"; }
trap 'tm kill-server 2>/dev/null; rm -rf "$TMP"' EXIT
tm -f /dev/null new-session -d -s keep -x 80 -y 24 "sleep 100000"

# one RUN CACHE KEYS...: opens the study (NNCMP_CACHE=CACHE), waits for the panes to fill in,
# presses KEYS (each waits for its counts to land, at most 10 s), quits; the trace in $TMP/RUN
one() {
	local run=$1 cache=$2
	shift 2
	local tr=$TMP/$run
	tm new-session -d -s "$run" -x 160 -y 45 \
		"env XDG_CACHE_HOME='$TMP/cache' NNCMP_CACHE=$cache NNCMP_RESTORE=0 NNCMP_TRACE='$tr' \
		 TERM=xterm-256color '$NNCMP' '$TMP/study'"
	local i=0
	until grep -q '^metrics' "$tr" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 1200 ] || { echo "bench_tui.sh: the panes never filled in ($tr)" >&2; return 1; }
		sleep 0.05
	done
	local k n
	for k in "$@"; do
		n=$(grep -c '^metrics' "$tr")
		local nj
		nj=$(grep -c '^job' "$tr")
		tm send-keys -t "$run" "$k"
		i=0
		case $k in [a12wdbx\]\[]) # an agreement key: its counts land on the worker
			while [ "$(grep -c '^metrics' "$tr")" -le "$n" ] && [ $i -lt 200 ]; do
				sleep 0.05
				i=$((i + 1))
			done ;;
		R) # the review queue: its ranking lands on the worker (decisions wait for it)
			while [ "$(grep -c '^job' "$tr")" -le "$nj" ] && [ $i -lt 200 ]; do
				sleep 0.05
				i=$((i + 1))
			done ;;
		esac
		sleep 0.2
	done
	tm send-keys -t "$run" q
	i=0
	while tm has-session -t "$run" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
}

# The page cache holds the probabilities on both sides, as for the rest of the bench.
cat "$STUDY"/labels.npy "$STUDY"/models/*/probs.npy >/dev/null
one fill 1 # writes the derived-data cache
for r in $(seq "$REPS"); do
	one "warm$r" 1
	one "cold$r" 0
done
one keys 1 a 1 2 w d b ']' ']' '[' x a j G g Tab Tab c R j c c u Escape

/usr/bin/python3 - "$TMP" "$REPS" "$STUDY" <<'PYEOF'
import os, re, sys
tmp, reps, study = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def trace(name):
    """The trace's records: [(kind, label, {field: float})]."""
    out = []
    for line in open(os.path.join(tmp, name)):
        words = line.split()
        fields = {k: float(v) for k, v in (w.split("=") for w in words[1:] if "=" in w)}
        label = next((w for w in words[1:] if "=" not in w), "")
        out.append((words[0], label, fields))
    return out


def moments(name):
    t = trace(name)
    first = next(f["wall_ms"] for k, _, f in t if k == "first-frame")
    filled = next(f["wall_ms"] for k, _, f in t if k == "metrics")
    derived = next((f["wall_ms"] for k, _, f in t if k == "derived"), None)
    return first, derived, filled


FRAME = 1000 / 60
print()
print(f"nncmp TUI (tools/bench_tui.sh, NNCMP_TRACE) — {study}, 160x45, best of {reps}")
print(f"{'':<40}{'first frame':<14}{'derived':<12}{'panes filled':<14}")
for kind, label in (("warm", "reopened (derived-data cache)"), ("cold", "cold (NNCMP_CACHE=0)")):
    runs = [moments(f"{kind}{r}") for r in range(1, reps + 1)]
    best = min(runs, key=lambda m: m[0])
    fmt = lambda v: "-" if v is None else f"{v / 1000:.3f} s"
    print(f"{label:<40}{fmt(min(m[0] for m in runs)):<14}"
          f"{fmt(min((m[1] for m in runs if m[1] is not None), default=None)):<12}"
          f"{fmt(min(m[2] for m in runs)):<14}")
    if kind == "warm":
        ff = min(m[0] for m in runs)
        print(f"{'':<40}target: first screen of a reopened study within 0.5 s: "
              f"{'met' if ff <= 500 else 'NOT MET'}")
keys = [(l, f) for k, l, f in trace("keys") if k == "key"]
jobs = [f for k, _, f in trace("keys") if k == "job"]
print(f"{'key':<8}{'UI wall':>10}{'UI CPU':>10}")
for label, f in keys:
    print(f"{label:<8}{f['ui_ms']:>8.2f}ms{f['ui_cpu_ms']:>8.2f}ms")
worst_cpu = max(f["ui_cpu_ms"] for _, f in keys)
worst_wall = max(f["ui_ms"] for _, f in keys)
worst_job = max((f["ui_cpu_ms"] for f in jobs), default=0.0)
print(f"worst key: {worst_cpu:.2f} ms of UI CPU, {worst_wall:.2f} ms wall; worst landing of a job "
      f"(new counts drawn): {worst_job:.2f} ms of UI CPU; one frame is {FRAME:.1f} ms: "
      f"{'met' if worst_cpu <= FRAME and worst_job <= FRAME else 'NOT MET'} (CPU)")
PYEOF

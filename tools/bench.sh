#!/bin/bash
# Times `nncmp report` against a NumPy/scikit-learn reference (tools/bench_ref.py) on a synthetic
# study (tools/bench_gen.py, cached), checks that both computed the same numbers, prints a table.
#
# Usage: tools/bench.sh            (from anywhere; `make bench` builds ./nncmp first)
# Environment:
#   NNCMP_BENCH_DIR      where the study goes (default bench-data, gitignored)
#   NNCMP_BENCH_N        instances (default 1000000)
#   NNCMP_BENCH_CLASSES  classes   (default 100)
#   NNCMP_BENCH_MODELS   models    (default 3)
#   NNCMP_BENCH_REPS     timed runs per side, best is reported (default 3)
#   NNCMP                the binary (default ./nncmp)
# Exit status: 0 on success, 1 when something failed or the two sides disagree (MISMATCH lines).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3 # Debian's, which has numpy/scikit-learn/scipy (tools/deps.sh bench)
DIR=${NNCMP_BENCH_DIR:-bench-data}
N=${NNCMP_BENCH_N:-1000000}
CLASSES=${NNCMP_BENCH_CLASSES:-100}
MODELS=${NNCMP_BENCH_MODELS:-3}
REPS=${NNCMP_BENCH_REPS:-3}
NNCMP=${NNCMP:-./nncmp}

die() { echo "bench.sh: $*" >&2; exit 1; }

[ -x "$PY" ] || die "$PY not found (install python3-numpy python3-sklearn: tools/deps.sh bench)"
[ -x "$NNCMP" ] || die "$NNCMP not found or not executable: build it first ('make', or use 'make bench')"

"$PY" tools/bench_gen.py "$DIR" --n "$N" --classes "$CLASSES" --models "$MODELS" ||
	die "generating the study in $DIR failed"

# Both sides read the study from the page cache, not the disk.
cat "$DIR"/labels.npy "$DIR"/classes.txt "$DIR"/models/*/probs.npy >/dev/null

"$PY" - "$NNCMP" "$DIR" "$REPS" <<'PYEOF'
import json, os, platform, subprocess, sys, tempfile, time

nncmp, study, reps = sys.argv[1], sys.argv[2], max(1, int(sys.argv[3]))
probs = sorted(os.path.join(study, "models", m, "probs.npy") for m in os.listdir(os.path.join(study, "models")))


def die(msg):
    print(f"bench.sh: {msg}", file=sys.stderr)
    sys.exit(1)


def run(argv, stdout=subprocess.DEVNULL, sample_mem=False):
    """Runs argv; returns (seconds, peak RSS KiB from getrusage, peak anonymous RSS KiB or None)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout)
    anon = None
    if sample_mem:
        anon = 0
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    for line in f:
                        if line.startswith("RssAnon:"):
                            anon = max(anon, int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.002)
    else:
        _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        die(f"{' '.join(argv)} failed (exit status {p.returncode})")
    return dt, ru.ru_maxrss, anon


def best_of(argv, **kw):
    return min(run(argv, **kw)[0] for _ in range(reps))


# --- nncmp: one run for its numbers, then the timed runs, then one run sampling memory
with tempfile.TemporaryFile("w+") as out:
    run([nncmp, "report", study, "--json"], stdout=out)
    out.seek(0)
    try:
        ours = json.load(out)
    except ValueError as e:
        die(f"'{nncmp} report {study} --json' did not print valid JSON: {e}")
print(f"bench.sh: timing {nncmp} report ({reps} runs) ...", file=sys.stderr)
t_nncmp = best_of([nncmp, "report", study, "--json"])
_, rss_kib, anon_kib = run([nncmp, "report", study, "--json"], sample_mem=True)

# --- memory-bandwidth floor: one plain sequential read() of the probability files, warm cache
read_cmd = ["sh", "-c", 'for f; do dd if="$f" of=/dev/null bs=1M status=none; done', "sh"] + probs
t_read = best_of(read_cmd)
prob_bytes = sum(os.path.getsize(f) for f in probs)

# --- the reference (times itself, best of reps, excluding interpreter start-up and imports)
print(f"bench.sh: running the NumPy/scikit-learn reference ({reps} runs; this takes a while) ...",
      file=sys.stderr)
ref_out = subprocess.run(["/usr/bin/python3", "tools/bench_ref.py", study, "--json", "--reps", str(reps)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
if ref_out.returncode != 0:
    die("tools/bench_ref.py failed")
ref = json.loads(ref_out.stdout)
t_ref = ref["seconds"]

# --- same numbers?
mismatches = []


def close(x, y):
    return abs(x - y) <= max(1e-12, 1e-9 * max(abs(x), abs(y)))


def check(what, mine, theirs, exact=False):
    if mine is None:
        mismatches.append(f"MISMATCH {what}: missing from nncmp's JSON (reference {theirs!r})")
    elif not isinstance(mine, (int, float)) or isinstance(mine, bool):
        mismatches.append(f"MISMATCH {what}: nncmp {mine!r} is not a number (reference {theirs!r})")
    elif (mine != theirs) if exact else not close(float(mine), float(theirs)):
        mismatches.append(f"MISMATCH {what}: nncmp {mine!r} reference {theirs!r}")


models = {m.get("name"): m for m in ours.get("models", [])}
for rm in ref["models"]:
    m = models.get(rm["name"])
    if m is None:
        mismatches.append(f"MISMATCH model {rm['name']}: missing from nncmp's JSON")
        continue
    for key in ("accuracy", "macro_f1", "ece"):
        check(f"model {rm['name']} {key}", m.get(key), rm[key])
    # checked too when nncmp reports them
    for k, v in rm["top_k"].items():
        if isinstance(m.get("top_k"), dict) and k in m["top_k"]:
            check(f"model {rm['name']} top_k[{k}]", m["top_k"][k], v)
if len(models) != len(ref["models"]):
    mismatches.append(f"MISMATCH number of models: nncmp {len(models)} reference {len(ref['models'])}")

pairs = {(p.get("a"), p.get("b")): p for p in ours.get("pairs", [])}
for rp in ref["pairs"]:
    p = pairs.get((rp["a"], rp["b"]))
    if p is None:
        mismatches.append(f"MISMATCH pair {rp['a']}/{rp['b']}: missing from nncmp's JSON")
        continue
    for key in ("kappa", "mcnemar_p"):
        check(f"pair {rp['a']}/{rp['b']} {key}", p.get(key), rp[key])
    for key in ("both_correct", "only_a", "only_b", "both_wrong"):
        if key in p:
            check(f"pair {rp['a']}/{rp['b']} {key}", p[key], rp[key], exact=True)
    for key in ("agreement", "acc_diff"):
        if key in p:
            check(f"pair {rp['a']}/{rp['b']} {key}", p[key], rp[key])
if "n_correct" in ours and ours["n_correct"] != ref["n_correct"]:
    mismatches.append(f"MISMATCH n_correct: nncmp {ours['n_correct']} reference {ref['n_correct']}")

# --- table
cpu = platform.machine()
try:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
except OSError:
    pass
n_inst = ours.get("n", 0)
n_cls = len(ours.get("classes", [])) or "?"


def secs(t):
    return f"{t:.3f} s" if t < 1 else f"{t:.2f} s" if t < 10 else f"{t:.1f} s"


def ratio(a, b):
    r = b / a if a > 0 else float("inf")
    if r >= 1:
        return f"{r:.1f}× faster" if r < 10 else f"{r:.0f}× faster"
    return f"{1 / r:.1f}× slower"


print(f"nncmp bench — {n_inst:,} instances × {n_cls} classes × {len(ref['models'])} models "
      f"(machine: {os.cpu_count()} cores, {cpu})")
print(f"{'task':<28}{'nncmp':<11}{'reference':<14}ratio")
print(f"{'report (all metrics)':<28}{secs(t_nncmp):<11}{secs(t_ref):<14}{ratio(t_nncmp, t_ref)}")
print(f"{'sequential read of probs':<28}{secs(t_read):<11}{'':<14}"
      f"({prob_bytes / 2**20:,.0f} MiB at {prob_bytes / t_read / 2**30:.1f} GiB/s)")
anon = f", {anon_kib / 1024:,.0f} MiB of it anonymous (sampled)" if anon_kib else ""
print(f"peak RSS of nncmp report: {rss_kib / 1024:,.0f} MiB (includes mapped file pages){anon}")
print()
print(f"best of {reps} runs each; nncmp includes process start-up, the reference excludes interpreter "
      "start-up and imports")
print("reference time by part (best run):")
for name, t in sorted(ref["parts"].items(), key=lambda kv: -kv[1]):
    if t >= 0.005 * t_ref:
        print(f"  {name:<34}{secs(t):>9}  {100 * t / t_ref:4.0f}%")

if mismatches:
    print()
    for line in mismatches:
        print(line)
    sys.exit(1)
print()
print(f"numbers agree: accuracy, macro_f1, ece for {len(ref['models'])} models; kappa, mcnemar_p for "
      f"{len(ref['pairs'])} pairs (and top_k / counts / agreement / acc_diff where nncmp reports them)")
PYEOF

#!/bin/bash
# The scale table of the README: nncmp's commands on synthetic studies of several sizes
# (tools/bench_gen.py, 100 classes, 3 models), each timed against one plain sequential read of
# the bytes it needs, with its peak heap.
#
# Usage: tools/bench_scale.sh N [N ...]     e.g. tools/bench_scale.sh 100000 1000000 4000000
#        (`make bench SCALE="100000 1000000 4000000 8000000"` builds ./nncmp first)
# Per size N the study is NNCMP_BENCH_DIR/scale-N (default bench-data/scale-N, generated once and
# kept). Studies up to NNCMP_SCALE_LAYER_MAX instances (default 4,000,000) get a 512-neuron float32
# layer per model and the neuron ranking is timed too; bigger ones are probabilities only
# (report and issues).
#
# Rows, each best of NNCMP_BENCH_REPS runs (default 3), page cache warm:
#   read labels+probs      dd of labels.npy and every probs.npy: the floor of report and issues
#   report, reopened       `report --json` with the derived-data cache filled by an earlier run
#   report, no cache       the same with NNCMP_CACHE=0
#   issues (default)       `issues --json --top 20` (mix with layers, mean without), caches warm
#   issues cl              `issues --method cl --json --top 20`
#   check                  `check` against dd of every .npy of the study (with layers, and when the
#                          study fits in 60% of the memory)
#   read probs+layer       dd of every probs.npy and a's fc.npy: the floor of a first ranking
#   first ranking          `neurons --model a --layer fc --filter 'a != gt'` with an empty neuron
#                          cache (a temporary XDG_CACHE_HOME whose derived-data cache an earlier
#                          run filled; its neuron cache entries removed before each run)
#   first ranking, cold    the same with every cache empty (a fresh XDG_CACHE_HOME per run: the
#                          probabilities are derived, and both caches written)
# Peak heap is the peak RssAnon of the process (sampled every 2 ms: anonymous memory, not the
# mapped file pages), also per instance.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
[ $# -ge 1 ] || { echo "usage: tools/bench_scale.sh N [N ...]" >&2; exit 2; }
[ -x ./nncmp ] || { echo "bench_scale.sh: ./nncmp not found: run make first" >&2; exit 1; }
BASE=${NNCMP_BENCH_DIR:-bench-data}
LAYER_MAX=${NNCMP_SCALE_LAYER_MAX:-4000000}
for n in "$@"; do
	case $n in '' | *[!0-9]*) echo "bench_scale.sh: '$n' is not a number of instances" >&2; exit 2 ;; esac
	h=512
	[ "$n" -le "$LAYER_MAX" ] || h=0
	"$PY" tools/bench_gen.py "$BASE/scale-$n" --n "$n" --classes 100 --models 3 --h "$h" >&2 ||
		{ echo "bench_scale.sh: generating $BASE/scale-$n failed" >&2; exit 1; }
done

"$PY" - "$BASE" "${NNCMP_BENCH_REPS:-3}" "$@" <<'PYEOF'
import glob, json, os, platform, shutil, subprocess, sys, tempfile, time

base, reps, sizes = sys.argv[1], max(1, int(sys.argv[2])), [int(n) for n in sys.argv[3:]]
nncmp = "./nncmp"


def run(argv, env=None):
    """(seconds, peak RssAnon KiB) of one run; exits on failure."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         env=dict(os.environ, **(env or {})))
    anon = 0
    while True:
        pid, status, _ = os.wait4(p.pid, os.WNOHANG)
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
    dt = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        print(f"bench_scale.sh: {' '.join(argv)} failed", file=sys.stderr)
        sys.exit(1)
    return dt, anon


def best(argv, env=None, fresh_cache=False, drop_nst=None):
    times, heaps = [], []
    for _ in range(reps):
        e = dict(env or {})
        tmp = None
        if drop_nst:
            e["XDG_CACHE_HOME"] = drop_nst
            for f in glob.glob(os.path.join(drop_nst, "nncmp", "*.nst")):
                os.remove(f)
        if fresh_cache:
            tmp = tempfile.mkdtemp(prefix="nncmp-scale-")
            e["XDG_CACHE_HOME"] = tmp
        t, a = run(argv, e)
        if tmp:
            shutil.rmtree(tmp)
        times.append(t)
        heaps.append(a)
    return min(times), max(heaps)


def dd(paths):
    argv = ["sh", "-c", 'for f; do dd if="$f" of=/dev/null bs=1M status=none; done', "sh"] + paths
    return best(argv)[0]


def warm(paths):
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.read(1 << 20):
                pass


rows = []  # (n, task, seconds, heap KiB, floor seconds, floor name)
for n in sizes:
    study = os.path.join(base, f"scale-{n}")
    probs = sorted(glob.glob(os.path.join(study, "models", "*", "probs.npy")))
    labels = os.path.join(study, "labels.npy")
    layer = os.path.join(study, "models", "a", "act", "fc.npy")
    has_layer = os.path.exists(layer)
    print(f"bench_scale.sh: {n:,} instances ...", file=sys.stderr)
    warm([labels] + probs)
    t_lp = dd([labels] + probs)
    # the derived-data cache is filled by this first run (a source modified in the last 2 s is
    # not cached: a freshly generated study waits that long)
    newest = max(os.path.getmtime(f) for f in probs + [labels])
    if time.time() - newest < 3:
        time.sleep(3 - (time.time() - newest))
    run([nncmp, "report", study, "--json"])
    rows.append((n, "read labels + probs (floor)", t_lp, None, None, None))
    t, a = best([nncmp, "report", study, "--json"])
    rows.append((n, "report, reopened", t, a, t_lp, "labels+probs"))
    t, a = best([nncmp, "report", study, "--json"], env={"NNCMP_CACHE": "0"})
    rows.append((n, "report, no cache", t, a, t_lp, "labels+probs"))
    t, a = best([nncmp, "issues", study, "--json", "--top", "20"])
    rows.append((n, "issues (default method)", t, a, t_lp, "labels+probs"))
    t, a = best([nncmp, "issues", study, "--method", "cl", "--json", "--top", "20"])
    rows.append((n, "issues --method cl", t, a, t_lp, "labels+probs"))
    every = sorted(glob.glob(os.path.join(study, "**", "*.npy"), recursive=True))
    # check reads the layers in full; the probabilities of a reopened study come from the derived
    # cache, so without layers there is nothing to compare (and a study bigger than 60% of the
    # memory would be read from the disk)
    if has_layer and sum(os.path.getsize(f) for f in every) < 0.6 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"):
        warm(every)
        t_all = dd(every)
        t, a = best([nncmp, "check", study])
        rows.append((n, "check", t, a, t_all, "every matrix"))
    if has_layer:
        warm(probs + [layer])
        t_pl = dd(probs + [layer])
        rank = [nncmp, "neurons", study, "--model", "a", "--layer", "fc", "--filter", "a != gt",
                "--json"]
        keep = tempfile.mkdtemp(prefix="nncmp-scale-")
        run([nncmp, "report", study, "--json"], {"XDG_CACHE_HOME": keep})  # the derived cache
        t, a = best(rank, drop_nst=keep)
        shutil.rmtree(keep)
        rows.append((n, "first neuron ranking", t, a, t_pl, "probs+layer"))
        t, a = best(rank, fresh_cache=True)
        rows.append((n, "first neuron ranking, cold", t, a, t_pl, "probs+layer"))

cpu = platform.machine()
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
with_layer = [r[0] for r in rows if r[1] == "first neuron ranking"]
print(f"nncmp scale table: 100 classes, 3 models, float32"
      + (f"; a 512-neuron layer per model up to {max(with_layer):,} instances" if with_layer else "")
      + f" (machine: {os.cpu_count()} cores, {cpu}; best of {reps})")
print()
print("| instances | task | wall | peak heap | heap / instance | vs one read of |")
print("| ---: | --- | ---: | ---: | ---: | --- |")
for n, task, t, a, floor, fname in rows:
    heap = "" if a is None else f"{a / 1024:,.0f} MiB"
    per = "" if a is None else f"{a * 1024 / n:.0f} B"
    ratio = "" if floor is None else f"{t / floor:.2f}× {fname}"
    print(f"| {n:,} | {task} | {t:.3f} s | {heap} | {per} | {ratio} |")
PYEOF

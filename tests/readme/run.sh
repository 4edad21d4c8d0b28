#!/bin/sh
# tests/readme/run.sh NNCMP — the README tells the truth about what it shows:
#  - every command in its shell code blocks (indented `$ ` lines and make lines, ```sh blocks)
#    and every inline `nncmp ... demo-data/...` command runs on the demo studies with the exit
#    status the README gives it (0 unless it says otherwise); the output a `$ ` line shows is
#    what the command prints, line for line, but for the lines it elides ("...", "(...)");
#  - commands that cannot run here are skipped by name, and listed (make targets, which the
#    Makefile's own targets test, and install lines needing root);
#  - the man page's key list names every action of the TUI's table (src/tui/actions.c).
# Runs from the top of the tree. The exporter's Python snippets are run by tests/export.
set -u
cd "$(dirname "$0")/../.." || exit 2
NNCMP=${1:-./nncmp}
case $NNCMP in /*) ;; *) NNCMP=$PWD/$NNCMP ;; esac
[ -x "$NNCMP" ] || { echo "readme: no binary $NNCMP" >&2; exit 2; }
TMP=$(mktemp -d /tmp/nncmp-readme-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
XDG_CACHE_HOME=$TMP/cache XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
export XDG_CACHE_HOME XDG_STATE_HOME XDG_CONFIG_HOME
unset NO_COLOR NNCMP_THEME
exec /usr/bin/python3 - "$NNCMP" "$TMP" <<'PY'
import os, re, subprocess, sys

nncmp, tmp = sys.argv[1], sys.argv[2]
readme = open("README.md", encoding="utf-8").read()
lines = readme.split("\n")
passed = failed = 0
skipped = []


def ok(what):
    global passed
    passed += 1
    print("ok   " + what)


def bad(what):
    global failed
    failed += 1
    print("FAIL " + what)


# Commands the README says exit non-zero, and why.
DOCUMENTED = {
    # "prints `worse: ...` and exits 3" (Subcommands, gate)
    "nncmp gate demo-data/digits --base cnn --new cnn_early": 3,
}
# Not run here: make targets (make test runs the tests they stand for; make demo opens the TUI,
# which the screen tests drive) and install lines (tests/install installs into a DESTDIR).
SKIP = re.compile(r"^(sudo )?make( |$)")


# `nncmp` is the binary under test, on PATH as an installed one would be; `./nncmp` too
bindir = os.path.join(tmp, "bin")
os.makedirs(bindir)
os.symlink(nncmp, os.path.join(bindir, "nncmp"))
env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])


def run(cmd, cwd="."):
    c = re.sub(r"(^|[;&|(] *)\./nncmp ", r"\1nncmp ", cmd, flags=re.M)
    return subprocess.run(["sh", "-c", c], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=env)


# 1. indented blocks: `$ CMD` lines with their output, and bare command lines
blocks, cur, start = [], None, 0
for n, l in enumerate(lines):
    if l.startswith("    ") and (cur is not None or (n and not lines[n - 1].strip())):
        if cur is None:
            cur, start = [], n + 1
        cur.append(l[4:])
    elif cur is not None and not l.strip():
        cur.append("")
    elif cur is not None:
        blocks.append((start, cur))
        cur = None
shell_blocks = 0
for start, b in blocks:
    body = [l for l in b]
    if any(l.startswith("$ ") for l in body):
        shell_blocks += 1
        k = 0
        while k < len(body):
            if not body[k].startswith("$ "):
                k += 1
                continue
            cmd = body[k][2:]
            shown = []
            k += 1
            while k < len(body) and not body[k].startswith("$ "):
                shown.append(body[k])
                k += 1
            while shown and not shown[-1].strip():
                shown.pop()
            p = run(cmd)
            want = DOCUMENTED.get(cmd, 0)
            if p.returncode != want:
                bad("README line %d: %s: exit %d, want %d: %s"
                    % (start, cmd, p.returncode, want, p.stderr.strip()[:300]))
                continue
            got = [l.rstrip() for l in p.stdout.split("\n")]
            missing = [l for l in shown
                       if l.strip() and l.strip() != "..." and not l.startswith("(")
                       and l.rstrip() not in got]
            if missing:
                bad("README line %d: %s: %d shown line(s) not in its output, first: %r"
                    % (start, cmd, len(missing), missing[0]))
            else:
                ok("README line %d: %s (exit %d, %d shown lines match)"
                   % (start, cmd, want, sum(1 for l in shown if l.strip())))
    elif any(SKIP.match(l) for l in body):
        shell_blocks += 1
        for l in body:
            if SKIP.match(l):
                skipped.append("README line %d: %s" % (start, re.sub(r"\s+#.*", "", l).strip()))

# 2. ```sh blocks: the CI gate script, on a study.ini naming digits' cnn as production and
#    cnn_early (one epoch: significantly worse) as candidate, then the other way round
sh_blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
for code in sh_blocks:
    shell_blocks += 1
    if "nncmp gate build/study" not in code:
        bad("a ```sh block this test does not know how to run: %r" % code[:80])
        continue
    for prod, cand, status, says in (("cnn", "cnn_early", 1, "significantly worse"),
                                     ("cnn_early", "cnn", 0, "gate passed")):
        d = os.path.join(tmp, "ci-%s" % prod, "build", "study")
        os.makedirs(d)
        top = os.path.abspath("demo-data/digits")
        with open(os.path.join(d, "study.ini"), "w") as f:
            f.write("[study]\nlabels = %s/labels.npy\nclasses = %s/classes.txt\n"
                    "[model production]\nprobs = %s/models/%s/probs.npy\n"
                    "[model candidate]\nprobs = %s/models/%s/probs.npy\n"
                    % (top, top, top, prod, top, cand))
        p = run(code, cwd=os.path.join(tmp, "ci-%s" % prod))
        if p.returncode == status and says in p.stdout:
            ok("the CI gate script: production %s, candidate %s: exit %d, '%s'"
               % (prod, cand, status, says))
        else:
            bad("the CI gate script (%s vs %s): exit %d, stdout %r, stderr %r"
                % (prod, cand, p.returncode, p.stdout[-200:], p.stderr[-300:]))

# 3. inline commands on the demo studies
for cmd in sorted(set(re.findall(r"`((?:\./)?nncmp [^`]*demo-data/[^`]*)`", readme))):
    if cmd in ("nncmp STUDY",):
        continue
    p = run(cmd)
    want = DOCUMENTED.get(cmd, 0)
    if p.returncode == want:
        ok("inline: %s (exit %d)" % (cmd, want))
    else:
        bad("inline: %s: exit %d, want %d: %s" % (cmd, p.returncode, want, p.stderr[:300]))
gate = "nncmp gate demo-data/digits --base cnn --new cnn_early"
m = re.search(r"`%s` prints `(.*?)` and exits 3" % re.escape(gate), readme, re.S)
if m:
    said = re.sub(r"\s+", " ", m.group(1))
    p = run(gate)
    if said in p.stdout.replace("\n", " "):
        ok("inline: the gate line the README quotes is what it prints")
    else:
        bad("inline: gate prints %r, the README says %r" % (p.stdout.strip(), said))

if shell_blocks < 6:
    bad("found only %d shell code blocks in README.md: the parser is lost" % shell_blocks)

# 4. the man page's key list names every action of the panes' table (keys.h: one table a mode)
src = open("src/tui/actions.c", encoding="utf-8").read()
table = src[src.index("panes_acts[] = {"):]
table = table[:table.index("\n};")]
names = re.findall(r'\{\s*"([a-z][a-z-]*)",\s*"', table)
man = open("doc/nncmp.1", encoding="utf-8").read()
lost = [a for a in names if "(\\fI%s\\fR)" % a.replace("-", "\\-") not in man]
if len(names) < 30:
    bad("read only %d actions from src/tui/actions.c" % len(names))
elif lost:
    bad("the man page's key list lacks %s" % ", ".join(lost))
else:
    ok("the man page's key list names all %d actions" % len(names))

# 5. the dependency lists are tools/deps.sh's (build: the README's list and gcc make pkg-config)
deps = open("tools/deps.sh", encoding="utf-8").read()
build = set(re.search(r'^build="([^"]*)"', deps, re.M).group(1).split())
test = set(re.search(r'^test\) want="\$build ([^"]*)"', deps, re.M).group(1).split())
m = re.search(r"Build dependencies \(Debian packages, found with pkg-config\): `([^`]*)`[^`]*?; "
              r"for\s+the tests also `([^`]*)`", readme)
if not m:
    bad("README: the dependency lists are not where this test looks")
else:
    rb, rt = set(m.group(1).split()), set(m.group(2).split())
    if rb | {"gcc", "make", "pkg-config"} != build:
        bad("README's build list %s, tools/deps.sh's %s" % (sorted(rb), sorted(build)))
    elif rt != test:
        bad("README's test list differs from tools/deps.sh: only README %s, only deps.sh %s"
            % (sorted(rt - test), sorted(test - rt)))
    else:
        ok("README's dependency lists are tools/deps.sh's (%d build, %d test)"
           % (len(rb), len(rt)))
# the commands the test scripts call come from a listed package
for tool, pkg in (("jq", "jq"), ("tmux", "tmux"), ("convert", "imagemagick"), ("man", "man-db")):
    used = subprocess.run(["sh", "-c", "grep -lw '%s' tests/*/*.sh" % tool],
                          capture_output=True, text=True).stdout.split()
    if used and pkg not in test | build:
        bad("%s (used by %s) needs %s, which tools/deps.sh test lacks" % (tool, used[0], pkg))
    elif used:
        ok("%s, used by the tests, is in the test set (%s)" % (tool, pkg))

print("skipped (not run here, by design):")
for s in skipped:
    print("     " + s)
print("readme: %d passed, %d failed, %d skipped" % (passed, failed, len(skipped)))
sys.exit(1 if failed else 0)
PY

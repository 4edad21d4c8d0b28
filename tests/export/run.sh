#!/bin/bash
# Tests of tools/nncmp_export.py.  Run from the repo top: NNCMP=./nncmp tests/export/run.sh
# Uses Debian's python3 (numpy; python3-torch for the PyTorch part, else SKIP).
NNCMP=${NNCMP:-./nncmp}
PY=${PYTHON:-/usr/bin/python3}
export NNCMP
out=$(mktemp)
trap 'rm -f "$out" "$out.err"' EXIT
status=0
: >"$out.err"
for t in tests/export/test_*.py; do
	"$PY" "$t" 2>>"$out.err" | tee -a "$out"
	[ "${PIPESTATUS[0]}" -ne 0 ] && status=1
done
pass=$(grep -c '^ok ' "$out")
fail=$(grep -c '^FAIL ' "$out")
skip=$(grep -c '^SKIP ' "$out")
tmps=$(sed -n 's/^tmp //p' "$out.err")
if [ "$fail" -gt 0 ] || [ "$status" -ne 0 ]; then
    cat "$out.err" >&2
    [ "$status" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
fi
rm -f "$out.err"
for tmp in $tmps; do [ -d "$tmp" ] && rm -rf "$tmp"; done
echo "export: $pass passed, $fail failed${skip:+, $skip skipped}" | sed 's/, 0 skipped//'
[ "$fail" -eq 0 ]

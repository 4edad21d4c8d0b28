#!/bin/bash
# Tests of tools/nncmp_export.py.  Run from the repo top: NNCMP=./nncmp tests/export/run.sh
# Uses Debian's python3 (numpy; python3-torch for the PyTorch part, else SKIP).
NNCMP=${NNCMP:-./nncmp}
PY=${PYTHON:-/usr/bin/python3}
export NNCMP
out=$(mktemp)
trap 'rm -f "$out" "$out.err"' EXIT
"$PY" tests/export/test_export.py 2>"$out.err" | tee "$out"
status=${PIPESTATUS[0]}
pass=$(grep -c '^ok ' "$out")
fail=$(grep -c '^FAIL ' "$out")
skip=$(grep -c '^SKIP ' "$out")
tmp=$(sed -n 's/^tmp //p' "$out.err")
if [ "$fail" -gt 0 ] || [ "$status" -ne 0 ]; then
    cat "$out.err" >&2
    [ "$status" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
fi
rm -f "$out.err"
[ -n "$tmp" ] && [ -d "$tmp" ] && rm -rf "$tmp"
echo "export: $pass passed, $fail failed${skip:+, $skip skipped}" | sed 's/, 0 skipped//'
[ "$fail" -eq 0 ]

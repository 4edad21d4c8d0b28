#!/bin/sh
# tests/cli/usage.sh — nncmp --help and each subcommand's --help name the same options.
# nncmp --help is generated from main.c's subcommand table; each subcommand's own usage text
# lives in its file: this catches the two drifting apart (an option added to one only).
set -eu
NNCMP=${1:-./nncmp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$NNCMP" --help >"$tmp/top"
# the subcommands, in the order the top-level usage lists them
subs=$(sed -n 's/^ *\(usage: \)\{0,1\}nncmp \([a-z][a-z-]*\) .*/\2/p' "$tmp/top" | awk '!seen[$0]++')
[ -n "$subs" ] || { echo "usage.sh: no subcommands found in nncmp --help" >&2; exit 1; }
fail=0 n=0
for s in $subs; do
	# the subcommand's block of the top-level text: its lines up to the next "nncmp " line
	awk -v s="$s" '
		/^ *(usage: )?nncmp / { on = ($0 ~ ("nncmp " s "( |$)")) }
		on' "$tmp/top" | grep -o -- '--[a-z][a-z0-9-]*' | sort -u >"$tmp/a"
	"$NNCMP" "$s" --help >"$tmp/h" 2>&1 || { echo "FAIL: nncmp $s --help exits non-zero"; fail=1; continue; }
	# the usage lines: up to the first blank line
	awk 'NF == 0 { exit } { print }' "$tmp/h" | grep -o -- '--[a-z][a-z0-9-]*' | grep -vx -- '--help' |
		sort -u >"$tmp/b"
	grep -vx -- '--help' "$tmp/a" >"$tmp/a2" || true
	if ! cmp -s "$tmp/a2" "$tmp/b"; then
		echo "FAIL: nncmp --help and nncmp $s --help differ in options:"
		diff "$tmp/a2" "$tmp/b" | sed -n 's/^</  only in nncmp --help:/p; s/^>/  only in nncmp '"$s"' --help:/p'
		fail=1
	fi
	n=$((n + 1))
done
[ "$n" -ge 10 ] || { echo "FAIL: only $n subcommands checked"; fail=1; }
[ $fail = 0 ] && echo "usage: $n subcommands, the same options in both usage texts"
exit $fail

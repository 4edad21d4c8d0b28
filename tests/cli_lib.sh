# tests/cli_lib.sh — what the CLI test scripts (tests/cli, tests/issues, tests/journal) share,
# sourced: pass/fail counting and `expect`. The sourcing script sets pass=0 fail=0.

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect STATUS NEEDLE -- CMD...: exit status STATUS and NEEDLE in stdout+stderr (NEEDLE may be "")
expect() {
	want=$1 needle=$2
	shift 3
	out=$("$@" 2>&1)
	got=$?
	if [ "$got" != "$want" ]; then
		bad "$* -> exit $got, want $want: $(printf '%s' "$out" | head -3)"
	elif [ -n "$needle" ] && ! printf '%s' "$out" | grep -qF -- "$needle"; then
		bad "$* -> output lacks '$needle': $(printf '%s' "$out" | head -3)"
	else
		ok
	fi
}

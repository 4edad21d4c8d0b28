#!/bin/sh
# Install tests: `make install DESTDIR=... PREFIX=/usr` puts every file in place, the man page
# renders, the installed binary runs, the bash (and, when zsh is there, zsh) completion works,
# and `make uninstall` takes every file away again. Needs no root: everything goes to a scratch
# DESTDIR.
# Usage: tests/install/run.sh     (from anywhere; it runs make at the top of the tree)
set -u
cd "$(dirname "$0")/../.." || exit 1
TMP=$(mktemp -d /tmp/nncmp-install-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
DEST=$TMP/root
PREFIX=/usr
MAKE=${MAKE:-make}
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# check DESCRIPTION COMMAND...: the command succeeds
check() {
	what=$1
	shift
	if "$@"; then ok; else bad "$what"; fi
}

if $MAKE install DESTDIR="$DEST" PREFIX=$PREFIX >"$TMP/install.log" 2>&1; then
	ok
else
	bad "make install DESTDIR=$DEST PREFIX=$PREFIX:"
	tail -20 "$TMP/install.log"
fi

U=$DEST$PREFIX
BIN=$U/bin/nncmp
MAN=$U/share/man/man1/nncmp.1
BASHC=$U/share/bash-completion/completions/nncmp
ZSHC=$U/share/zsh/site-functions/_nncmp

# every file in place
check "$BIN is not an executable" test -x "$BIN"
for f in "$MAN" "$BASHC" "$ZSHC"; do
	check "$f is missing" test -s "$f"
done
check "$MAN differs from doc/nncmp.1" cmp -s doc/nncmp.1 "$MAN"
check "$BASHC differs from completion/nncmp.bash" cmp -s completion/nncmp.bash "$BASHC"
check "$ZSHC differs from completion/_nncmp" cmp -s completion/_nncmp "$ZSHC"
for t in themes/*.ini; do
	[ -f "$t" ] || continue
	check "theme ${t##*/} not installed in $U/share/nncmp/themes" \
		cmp -s "$t" "$U/share/nncmp/themes/${t##*/}"
done
if [ -f tools/nncmp_export.py ]; then
	check "tools/nncmp_export.py not installed as $U/share/nncmp/nncmp_export.py" \
		cmp -s tools/nncmp_export.py "$U/share/nncmp/nncmp_export.py"
fi

# the man page renders, without warnings
out=$(MANPAGER=cat MANWIDTH=80 man -l "$MAN" 2>"$TMP/man.err")
if [ -n "$out" ] && printf '%s\n' "$out" | grep -q SYNOPSIS; then
	ok
else
	bad "man -l $MAN: empty or without SYNOPSIS: $(head -3 "$TMP/man.err")"
fi
if [ -s "$TMP/man.err" ]; then bad "man -l $MAN warns: $(head -3 "$TMP/man.err")"; else ok; fi
if command -v groff >/dev/null 2>&1; then
	warn=$(groff -man -t -Tutf8 -ww -z "$MAN" 2>&1)
	if [ -z "$warn" ]; then ok; else bad "groff -ww warns: $(printf '%s' "$warn" | head -3)"; fi
fi

# the installed binary runs
v=$("$BIN" --version 2>&1)
case $v in "nncmp "[0-9]*) ok ;; *) bad "$BIN --version printed '$v'" ;; esac

# bash completion: source it and call the function as bash would
# complete WORDS...: prints the completions of the last word, sorted, on one line
cat >"$TMP/complete.bash" <<'EOS'
source "$1" || exit 1
shift
complete -p nncmp >/dev/null || { echo "no 'complete -F _nncmp nncmp'"; exit 1; }
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
_nncmp nncmp "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//'
EOS
# expect_completion WANT WORDS...
expect_completion() {
	want=$1
	shift
	got=$(bash "$TMP/complete.bash" "$BASHC" "$@" 2>&1)
	if [ "$got" = "$want" ]; then ok; else bad "bash completion of '$*': got '$got', want '$want'"; fi
}
if command -v bash >/dev/null 2>&1; then
	expect_completion "neurons" nncmp ne
	expect_completion "check" nncmp ch
	expect_completion "arch" nncmp ar
	expect_completion "saliency" nncmp sal
	expect_completion "-- --color= --filter --help --index --json --no-journal" nncmp saliency demo-data/digits --
	expect_completion "-- --color= --help --json --model --no-journal" nncmp arch demo-data/digits --
	expect_completion "cnn cnn_early knn mlp" nncmp neurons demo-data/digits --model ""
	expect_completion "conv1 conv2 fc1 fc2" nncmp neurons demo-data/digits --model cnn --layer ""
	expect_completion "fc1" nncmp neurons demo-data/digits --model mlp --layer ""
	expect_completion "" nncmp neurons demo-data/digits --model knn --layer ""
	expect_completion "cnn cnn_early knn mlp" nncmp diff demo-data/digits --models cnn ""
	expect_completion "mlp.fc1" nncmp similarity demo-data/digits --model cnn --layer fc1 \
		--with mlp.
	expect_completion "--bins --by" nncmp neurons demo-data/digits --b
	expect_completion "d dead" nncmp neurons demo-data/digits --by d
	expect_completion "kernels" nncmp ke
	expect_completion "patches" nncmp pa
	expect_completion "-- --channel --color= --help --json --layer --model --no-journal --top" \
		nncmp patches demo-data/digits --
	expect_completion "--vs" nncmp kernels demo-data/digits --v
	expect_completion "cnn cnn_early knn mlp" nncmp kernels demo-data/digits --model cnn --vs ""
	expect_completion "--channels" nncmp neurons demo-data/digits --chan
	expect_completion "demo-data/digits" nncmp report demo-data/dig
	expect_completion "a b" nncmp neurons tests/data/safetensors/study --model ""
	expect_completion "fc1 fc2 fc3" nncmp neurons tests/data/safetensors/study/study.ini \
		--model a --layer ""
	expect_completion "colorblind default light monochrome" nncmp demo-data/digits --theme ""
	expect_completion "issues" nncmp iss
	expect_completion "decisions" nncmp dec
	expect_completion "dups" nncmp du
	expect_completion "export" nncmp exp
	expect_completion "preview" nncmp pre
	expect_completion "cl consensus iies knn margin mean mix" nncmp issues demo-data/digits --method ""
	expect_completion "cnn.conv1 cnn.conv2 cnn.fc1 cnn.fc2" nncmp issues demo-data/digits --model cnn \
		--layer ""
	expect_completion "--k" nncmp issues demo-data/digits --k
	expect_completion "--across-splits --any-class" nncmp dups demo-data/digits --a
	expect_completion "fc1" nncmp dups demo-data/digits --model mlp --layer ""
	expect_completion "csv jsonl npy" nncmp export demo-data/digits --format ""
	expect_completion "--all" nncmp decisions demo-data/digits --a
	expect_completion "blocks iterm kitty sixel" nncmp preview demo-data/digits --graphics ""
	expect_completion "blocks iterm kitty none sixel" nncmp demo-data/digits --graphics ""
	expect_completion "classes" nncmp cla
	expect_completion "calibration" nncmp cal
	expect_completion "gate" nncmp ga
	expect_completion "cnn cnn_early knn mlp" nncmp gate demo-data/digits --base cnn --new ""
	expect_completion "accuracy macro_f1" nncmp gate demo-data/digits --metric ""
	expect_completion "--help --html" nncmp report demo-data/digits --h
	expect_completion "words" nncmp wo
	expect_completion "overview" nncmp ov
	expect_completion "count lift" nncmp words demo-data/fortunes --by ""
	expect_completion "d dead" nncmp neurons demo-data/digits --by d
	expect_completion "kernels" nncmp ke
	expect_completion "patches" nncmp pa
	expect_completion "-- --channel --color= --help --json --layer --model --no-journal --top" \
		nncmp patches demo-data/digits --
	expect_completion "--vs" nncmp kernels demo-data/digits --v
	expect_completion "cnn cnn_early knn mlp" nncmp kernels demo-data/digits --model cnn --vs ""
	expect_completion "--channels" nncmp neurons demo-data/digits --chan
	expect_completion "--min" nncmp words demo-data/fortunes --mi
	expect_completion "bow cnn nb" nncmp overview demo-data/fortunes --model ""
else
	echo "skip: bash not installed"
fi

# zsh completion: a syntax check
if command -v zsh >/dev/null 2>&1; then
	if zsh -n "$ZSHC" 2>"$TMP/zsh.err"; then ok; else bad "zsh -n $ZSHC: $(head -3 "$TMP/zsh.err")"; fi
else
	echo "skip: zsh not installed"
fi

# uninstall leaves no files
if $MAKE uninstall DESTDIR="$DEST" PREFIX=$PREFIX >"$TMP/uninstall.log" 2>&1; then
	ok
else
	bad "make uninstall DESTDIR=$DEST PREFIX=$PREFIX:"
	tail -20 "$TMP/uninstall.log"
fi
left=$(find "$DEST" ! -type d 2>/dev/null)
if [ -z "$left" ]; then ok; else bad "make uninstall left: $(printf '%s' "$left" | head -5 | tr '\n' ' ')"; fi
if [ -d "$U/share/nncmp" ]; then bad "make uninstall left the directory $U/share/nncmp"; else ok; fi

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

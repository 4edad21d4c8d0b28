#!/bin/sh
# Makes sure the Debian packages a make target needs are installed.
# Usage: tools/deps.sh build|test|bench|bench-triage|demo-data
# As root it installs what is missing with apt-get; otherwise it prints the exact command and fails.
set -eu

build="gcc make pkg-config libncurses-dev libsixel-dev libopenblas-dev liblapacke-dev libinih-dev libjansson-dev libcsv-dev libpng-dev zlib1g-dev libzip-dev libhdf5-dev libxxhash-dev"
case "${1:-build}" in
build) want="$build" ;;
test) want="$build libcmocka-dev ncurses-term tmux python3-numpy python3-scipy python3-torch python3-torchvision man-db groff-base imagemagick python3-pil jq python3-h5py python3-skimage" ;;
bench) want="$build python3-numpy python3-sklearn" ;;
bench-triage) want="$build python3-numpy python3-scipy python3-sklearn fortunes" ;;
demo-data) want="python3-numpy python3-scipy python3-sklearn python3-torch python3-pil fortunes" ;;
terminals) want="xvfb xterm x11-apps imagemagick kitty" ;; # looking at images in real terminals
*) echo "deps.sh: unknown set '$1' (build, test, bench, bench-triage, demo-data, terminals)" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "Installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# The package lists of a fresh machine may be empty or stale.
	apt-get update -qq || true
	apt-get install -y -qq --no-install-recommends $missing
else
	echo "Missing Debian packages:$missing" >&2
	echo "Install them with:  sudo apt-get install$missing" >&2
	exit 1
fi

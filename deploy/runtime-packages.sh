#!/bin/sh
# Prints the Debian packages that hold the shared libraries the given programs link: the
# runtime image installs exactly these (new libraries need no edit here).
set -eu
ldd "$@" | awk '$3 ~ /^\// { print $3 }' | sort -u | while read -r lib; do
  dpkg -S "$lib" 2>/dev/null || dpkg -S "$(realpath "$lib")" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null ||
    { echo "runtime-packages: no package holds $lib" >&2; exit 1; }
done | cut -d: -f1 | sort -u

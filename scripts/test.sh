#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs every test: a short libFuzzer
# run of every fuzz target (clang, ASan + UBSan), then ctest (unit and integration).
# This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build_dir=${MAILSTEAD_BUILD_DIR:-build}
# Release at -O2 (no debug info: a third less compile time on 2 cores; GCC 12's -O3 gives
# false -Wrestrict warnings in <string>), warnings as errors, and a
# compiler cache whose entries do not depend on where the checkout is: the image's build
# stage (deploy/Dockerfile) compiles the same files with the same flags under /src and
# finds them all in this cache (tests/deploy/test_compose.py hands it over).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
# ccache keys on the locale variables too: the image's build stage sets these same ones.
export LANG=C.UTF-8
unset LC_ALL LC_CTYPE LC_MESSAGES
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DMAILSTEAD_WERROR=ON
cmake --build "$build_dir"

# Fuzz smoke: each target for a few seconds from the committed seeds (longer runs:
# see docs/development.md). A crash fails the run.
fuzz_dir="$build_dir-fuzz"
CC=clang CXX=clang++ cmake -S . -B "$fuzz_dir" -G Ninja -DMAILSTEAD_FUZZ=ON >/dev/null
cmake --build "$fuzz_dir"
for target in tests/fuzz/corpus/*; do
  name=$(basename "$target")
  work=$(mktemp -d)
  cp "$target"/* "$work"/
  echo "fuzz: $name"
  "$fuzz_dir/bin/fuzz-$name" -max_total_time="${FUZZ_SECONDS:-15}" -max_len=4096 "$work" >"$work.log" 2>&1 ||
    { tail -50 "$work.log"; exit 1; }
  tail -1 "$work.log"
  rm -rf "$work" "$work.log"
done

# Every tool was installed above: a test that finds one missing fails instead of skipping.
export MAILSTEAD_NO_SKIP=1
(cd "$build_dir" && ctest --output-on-failure --timeout 600 -j2)

# The docker compose deployment with a real engine (tests/deploy/test_compose.py): builds the
# images (docker's layer cache and the image's compiler cache make a rerun cheap), starts
# dockerd when it is not running, and drives every service through its published ports.
start=$(date +%s)
MAILSTEAD_IMAGE_CCACHE=$(ccache -k cache_dir) python3 tests/deploy/test_compose.py
echo "deploy test: $(( $(date +%s) - start )) s"

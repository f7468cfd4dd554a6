#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs every test under ctest.
# This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build_dir=${MAILSTEAD_BUILD_DIR:-build}
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAILSTEAD_WERROR=$werror
cmake --build "$build_dir"
cd "$build_dir"
ctest --output-on-failure --timeout 600 -j2

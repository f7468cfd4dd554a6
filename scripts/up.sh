#!/usr/bin/env bash
# Installs what Mailstead needs, builds it, and starts the whole suite on its embedded
# default (data in ./var, unprivileged ports; `--standard-ports` for 25/587/465/993/4190).
# This is the README's first command. Extra arguments go to `mailstead up`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build_dir=${MAILSTEAD_BUILD_DIR:-build}
# The flags of scripts/test.sh, so one build directory serves both commands.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null
cmake --build "$build_dir"
exec "$build_dir/bin/mailstead" up "$@"

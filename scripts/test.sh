#!/usr/bin/env bash
# The README's test command: install, build, run every test (ctest prints the summary).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build && ctest --output-on-failure -j"$(nproc)"

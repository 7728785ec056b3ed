#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite through ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh"
# The lock annotations, checked by clang (skipped when clang++ is missing).
"$ROOT/scripts/check-thread-safety.sh"
BUILD_DIR="${FLOPWISE_BUILD_DIR:-$ROOT/build}"
cd "$BUILD_DIR"
ctest --output-on-failure --parallel "${FLOPWISE_TEST_JOBS:-$(nproc)}" "$@"

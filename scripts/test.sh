#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite through ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install-deps.sh"
"$ROOT/scripts/build.sh"
# The lock annotations, checked by clang (skipped when clang++ is missing).
"$ROOT/scripts/check-thread-safety.sh"
BUILD_DIR="${FLOPWISE_BUILD_DIR:-$ROOT/build}"
(cd "$BUILD_DIR" && ctest --output-on-failure --parallel "${FLOPWISE_TEST_JOBS:-$(nproc)}" "$@")
# A short run of every fuzz target on top of the replays ctest ran
# (docs/building.md, "Fuzzing"): FLOPWISE_FUZZ_SECONDS each, 0 skips it; a
# run of a subset of the tests (ctest arguments given) skips it too.
FUZZ_SECONDS="${FLOPWISE_FUZZ_SECONDS:-10}"
if [[ $# -eq 0 && "$FUZZ_SECONDS" != 0 ]]; then
  "$ROOT/scripts/fuzz.sh" "$FUZZ_SECONDS"
fi

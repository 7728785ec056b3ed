#!/usr/bin/env bash
# Configures (once) and builds flopwise in Release into build/ (or $FLOPWISE_BUILD_DIR).
# Reruns are incremental. Extra arguments go to the configure step.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${FLOPWISE_BUILD_DIR:-$ROOT/build}"
GENERATOR=()
command -v ninja >/dev/null && GENERATOR=(-G Ninja)
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  WERROR=OFF
  [[ "${CI:-}" == "true" ]] && WERROR=ON
  cmake -S "$ROOT" -B "$BUILD_DIR" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DFLOPWISE_WERROR="$WERROR" "$@"
fi
cmake --build "$BUILD_DIR" --parallel "${FLOPWISE_JOBS:-$(nproc)}"

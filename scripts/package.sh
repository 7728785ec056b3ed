#!/usr/bin/env bash
# Builds the Debian package (flopwise_VERSION_ARCH.deb) from a built tree:
#   scripts/package.sh [BUILD_DIR [OUT_DIR]]
# BUILD_DIR defaults to build/ (or $FLOPWISE_BUILD_DIR), OUT_DIR to
# BUILD_DIR/package. Prints the package's path on the last line of stdout.
# What the package holds and does: cmake/FlopwiseInstall.cmake and
# docs/operations.md, "Installing".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$(realpath "${1:-${FLOPWISE_BUILD_DIR:-$ROOT/build}}")"
OUT_DIR="$(realpath -m "${2:-$BUILD_DIR/package}")"
if [[ ! -f "$BUILD_DIR/CPackConfig.cmake" ]]; then
  echo "package.sh: $BUILD_DIR is not a configured build tree (run scripts/build.sh first)" >&2
  exit 1
fi
if grep -q '^FLOPWISE_NATIVE:BOOL=ON' "$BUILD_DIR/CMakeCache.txt"; then
  echo "package.sh: warning: built with FLOPWISE_NATIVE=ON, so the package runs only on CPUs" \
    "with this machine's vector units; for other machines configure with -DFLOPWISE_NATIVE=OFF" >&2
fi
# The programs must be current: cpack installs whatever the tree holds.
cmake --build "$BUILD_DIR" --parallel "${FLOPWISE_JOBS:-$(nproc)}" \
  --target flopwise flopwise-coordinator flopwise-worker flopwise-train
mkdir -p "$OUT_DIR"
(cd "$BUILD_DIR" && cpack -G DEB --config "$BUILD_DIR/CPackConfig.cmake" -B "$OUT_DIR" >&2)
rm -rf "$OUT_DIR/_CPack_Packages"
package=$(ls -t "$OUT_DIR"/flopwise_*.deb | head -n 1)
echo "$package"

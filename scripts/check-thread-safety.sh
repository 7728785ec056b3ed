#!/usr/bin/env bash
# Checks the lock annotations (ABSL_GUARDED_BY, ABSL_EXCLUSIVE_LOCKS_REQUIRED,
# ...) with clang's -Wthread-safety analysis, as errors. Configures (once) a
# clang build in build-clang/ (or $FLOPWISE_CLANG_BUILD_DIR) and compiles only
# the sources that use the annotations, directly or through their own header,
# not the whole tree. Does nothing when clang++ is not installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${FLOPWISE_CLANG_BUILD_DIR:-$ROOT/build-clang}"
if ! command -v clang++ >/dev/null || ! command -v ninja >/dev/null; then
  echo "check-thread-safety: clang++ or ninja not found, skipped"
  exit 0
fi
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  LAUNCHER=()
  if command -v ccache >/dev/null; then
    LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DFLOPWISE_CUDA=OFF \
    -DFLOPWISE_THREAD_SAFETY=ON -DFLOPWISE_WERROR=ON "${LAUNCHER[@]}" >/dev/null
fi

# The annotated sources: every .cc that uses the annotations or absl::Mutex
# itself or through its header of the same name, and every .cc that includes
# an annotated header of its folder that has no .cc of its own (a private
# header such as db/store_impl.h, whose templates are instantiated there).
cd "$ROOT"
pattern='ABSL_(GUARDED_BY|PT_GUARDED_BY|EXCLUSIVE_LOCKS_REQUIRED|LOCKS_EXCLUDED)|absl::Mutex'
shared_headers=()
while IFS= read -r header; do
  [[ -f "${header%.h}.cc" ]] || shared_headers+=("$header")
done < <(git ls-files '*.h' | xargs grep -lE "$pattern")
sources=()
while IFS= read -r source; do
  header="${source%.cc}.h"
  annotated=false
  if grep -qE "$pattern" "$source" || { [[ -f "$header" ]] && grep -qE "$pattern" "$header"; }; then
    annotated=true
  fi
  for shared in "${shared_headers[@]}"; do
    if [[ "$(dirname "$shared")" == "$(dirname "$source")" ]] &&
      grep -qF "#include \"$shared\"" "$source"; then
      annotated=true
    fi
  done
  if $annotated; then sources+=("$source"); fi
done < <(git ls-files '*.cc')

# Their object files: <folder>/CMakeFiles/<target>.dir/<name>.cc.o in Ninja's list.
mapfile -t all_objects < <(ninja -C "$BUILD_DIR" -t targets all | sed -n 's/^\(.*\.cc\.o\): .*/\1/p')
objects=()
for source in "${sources[@]}"; do
  dir="$(dirname "$source")"
  name="$(basename "$source")"
  for object in "${all_objects[@]}"; do
    if [[ "$object" == "$dir/CMakeFiles/"*".dir/$name.o" ]]; then objects+=("$object"); fi
  done
done
if [[ ${#objects[@]} -eq 0 ]]; then
  echo "check-thread-safety: no annotated sources found" >&2
  exit 1
fi
echo "check-thread-safety: compiling ${#objects[@]} annotated sources with clang"
ninja -C "$BUILD_DIR" -j "${FLOPWISE_JOBS:-$(nproc)}" "${objects[@]}"

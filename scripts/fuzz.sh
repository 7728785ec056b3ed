#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (AddressSanitizer and
# UndefinedBehaviorSanitizer) in build-fuzz/ (or $FLOPWISE_FUZZ_BUILD_DIR) and
# runs each for SECONDS (default 10). Usage: scripts/fuzz.sh [SECONDS [TARGET...]]
# Each target starts from its seeds in tests/fuzz/corpus/<name>/ (and the
# inputs of tests/fuzz/cases/<name>/) and grows a corpus of its own in
# build-fuzz/corpus/<name>/; a crashing input is written to build-fuzz/crashes/
# and the script stops with the target's status.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${FLOPWISE_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_EACH="${1:-10}"
shift || true
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then
  TARGETS=(sweep_spec safetensors token_stream records tokenizer)
fi
if ! command -v clang++ >/dev/null || ! command -v ninja >/dev/null; then
  echo "fuzz: clang++ or ninja not found" >&2
  exit 1
fi
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  LAUNCHER=()
  if command -v ccache >/dev/null; then
    LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DFLOPWISE_CUDA=OFF \
    -DFLOPWISE_FUZZ=ON "${LAUNCHER[@]}" >/dev/null
fi
ninja -C "$BUILD_DIR" -j "${FLOPWISE_JOBS:-$(nproc)}" "${TARGETS[@]/#/fuzz_}"

mkdir -p "$BUILD_DIR/crashes" "$BUILD_DIR/logs"
for target in "${TARGETS[@]}"; do
  corpus="$BUILD_DIR/corpus/$target"
  log="$BUILD_DIR/logs/$target.log"
  mkdir -p "$corpus"
  # The inputs that once crashed it (tests/fuzz_cases replays them) seed it too.
  cases=""
  [[ -d "$ROOT/tests/fuzz/cases/$target" ]] && cases="$ROOT/tests/fuzz/cases/$target"
  status=0
  "$BUILD_DIR/bin/fuzz_$target" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
    -max_len=65536 -artifact_prefix="$BUILD_DIR/crashes/$target-" \
    "$corpus" "$ROOT/tests/fuzz/corpus/$target" $cases >"$log" 2>&1 || status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  if [[ $status -ne 0 ]]; then
    tail -n 40 "$log"
    echo "fuzz: $target FAILED after ${SECONDS_EACH}s (log: $log)" >&2
    exit "$status"
  fi
  echo "fuzz: $target ${SECONDS_EACH}s ${execs:-?} execs, no crash"
done

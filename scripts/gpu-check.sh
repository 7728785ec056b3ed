#!/usr/bin/env bash
# The first thing to run on a machine with an NVIDIA GPU (docs/kernels.md,
# "The CUDA backend"): builds flopwise with the CUDA backend (incrementally in
# build/ or $FLOPWISE_BUILD_DIR, only the targets below), runs the CUDA tests
# (ctest -L cuda), compares `flopwise-train check` on the GPU with the CPU,
# times a short training run of each architecture on the GPU, and prints a
# summary. Meant to finish within 8 minutes on one H100. Exits 0 exactly when
# the build, the tests and the check comparison passed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${FLOPWISE_BUILD_DIR:-$ROOT/build}"
JOBS="${FLOPWISE_JOBS:-$(nproc)}"
WORK="$(mktemp -d /tmp/flopwise-gpu-check.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export PATH="$PATH:/usr/local/cuda/bin"
SUMMARY=()
FAILED=0
note() { SUMMARY+=("$1"); echo "gpu-check: $1"; }
fail() { note "FAIL $1"; FAILED=1; }

if ! GPU="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1)"; then
  echo "gpu-check: no NVIDIA GPU visible (nvidia-smi: $GPU)" >&2
  exit 1
fi
note "GPU: ${GPU//$'\n'/; }"
command -v python3 >/dev/null || { echo "gpu-check: python3 is required" >&2; exit 1; }

# ---- Build -------------------------------------------------------------------
start=$SECONDS
GENERATOR=()
[[ ! -f "$BUILD_DIR/CMakeCache.txt" ]] && command -v ninja >/dev/null && GENERATOR=(-G Ninja)
# flopwise-train and every test target of tests/cuda/CMakeLists.txt.
TARGETS=(flopwise-train cuda_device_test cuda_backend_test cuda_model_test cuda_device_flag_test
  cuda_mixers_test cuda_nccl_communicator_test)
if cmake -S "$ROOT" -B "$BUILD_DIR" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DFLOPWISE_CUDA=ON >"$WORK/configure.log" 2>&1 &&
  cmake --build "$BUILD_DIR" --parallel "$JOBS" --target "${TARGETS[@]}" >"$WORK/build.log" 2>&1; then
  note "build: ok in $((SECONDS - start)) s"
else
  tail -n 40 "$WORK/configure.log" "$WORK/build.log" 2>/dev/null
  fail "build (see the log above)"
  printf '%s\n' "" "gpu-check summary:" "${SUMMARY[@]}"
  exit 1
fi
TRAIN="$BUILD_DIR/bin/flopwise-train"

# ---- CUDA tests --------------------------------------------------------------
start=$SECONDS
if (cd "$BUILD_DIR" && ctest -L cuda --output-on-failure --timeout 300) >"$WORK/ctest.log" 2>&1; then
  note "ctest -L cuda: $(grep -E 'tests passed' "$WORK/ctest.log") in $((SECONDS - start)) s"
else
  cat "$WORK/ctest.log"
  fail "ctest -L cuda: $(grep -E 'tests passed|tests failed' "$WORK/ctest.log")"
fi
# On one GPU only MakeCudaBackend.WithoutADeviceSaysWhy and the NCCL tests
# that need two GPUs should skip.
skipped="$(grep -E '\(Skipped\)$' "$WORK/ctest.log" | sed -E 's/^[[:space:]]*[0-9]+ - ([^ ]+).*/\1/' | tr '\n' ' ')"
[[ -n "$skipped" ]] && note "ctest -L cuda skipped: $skipped"

# ---- Data --------------------------------------------------------------------
VOCAB=32000 CONTEXT=2048 BATCH_TOKENS=16384 STEPS=12
python3 - "$WORK" "$VOCAB" <<'PY'
import random, struct, sys
work, vocab = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
with open(f"{work}/tokens.u16", "wb") as f:
    f.write(struct.pack("<%dH" % 2_000_000, *(rng.randrange(vocab) for _ in range(2_000_000))))
with open(f"{work}/check.u32", "wb") as f:  # check: batch 2 × (context 128 + 1)
    f.write(struct.pack("<%dI" % 258, *(rng.randrange(vocab) for _ in range(258))))
PY

# ---- Training throughput, then check on the GPU against the CPU ----------------
for arch in llama tnl hgrn2 cos2; do
  out="$WORK/run-$arch"
  "$TRAIN" --arch "$arch" --preset 70M --vocab "$VOCAB" --context "$CONTEXT" \
    --batch-tokens "$BATCH_TOKENS" --total-tokens $((BATCH_TOKENS * STEPS)) --log-every-steps 4 \
    --no-validation --data "$WORK/tokens.u16" --out "$out" --device cuda >"$WORK/$arch.jsonl" \
    2>"$WORK/$arch.err"
  code=$?
  rate="$(python3 -c '
import json, sys
rates = [e["tokens_per_s"] for e in map(json.loads, open(sys.argv[1])) if e.get("event") == "progress"]
print(f"{rates[-1]:.0f}" if rates else "n/a")' "$WORK/$arch.jsonl" 2>/dev/null)"
  if [[ $code != 0 ]]; then
    tail -n 5 "$WORK/$arch.err"
    fail "train $arch 70M context $CONTEXT on cuda: exit $code"
    continue
  fi
  note "train $arch 70M context $CONTEXT, $BATCH_TOKENS tokens/step, fp32: $rate tokens/s (last 4 steps)"
  weights="$(ls -d "$out"/step-*/ | tail -n 1)model.safetensors"
  losses=()
  for device in cpu cuda; do
    losses+=("$("$TRAIN" check --weights "$weights" --tokens "$WORK/check.u32" --batch 2 \
      --context 128 --device "$device" 2>&1 | tail -n 1)")
  done
  if python3 -c '
import sys
cpu, gpu = (float(s.split()[1]) for s in sys.argv[1:3])
sys.exit(0 if abs(gpu - cpu) <= 1e-5 * abs(cpu) else 1)' "${losses[@]}" 2>/dev/null; then
    note "check $arch: cpu ${losses[0]#loss }, cuda ${losses[1]#loss } (within 1e-5)"
  else
    fail "check $arch: cpu '${losses[0]}', cuda '${losses[1]}' (must agree to 1e-5)"
  fi
done

printf '%s\n' "" "gpu-check summary:" "${SUMMARY[@]}"
exit $FAILED

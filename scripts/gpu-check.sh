#!/usr/bin/env bash
# The first thing to run on a machine with an NVIDIA GPU (docs/kernels.md,
# "The CUDA backend"): builds flopwise with the CUDA backend (incrementally in
# build/ or $FLOPWISE_BUILD_DIR, only the targets below), runs the CUDA tests
# (ctest -L cuda, the bf16 ones included), times a short training run of each
# architecture on the GPU in fp32 and in bf16 (tokens/s and MFU), compares
# `flopwise-train check` on the GPU in both precisions with the CPU, and
# prints a summary. Meant to finish within 8 minutes on one H100. Exits 0
# exactly when the build, the tests and the check comparisons passed.
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
  cuda_mixers_test cuda_nccl_communicator_test cuda_bf16_test cuda_bf16_model_test
  cuda_precision_flag_test)
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

# ---- Training throughput in fp32 and bf16, then check on the GPU against the CPU ----
# MFU: tokens/s × the start event's flops_per_token (the paper's training FLOPs
# per token, non-embedding) against the card's dense bf16 tensor-core peak
# (FLOPWISE_PEAK_TFLOPS overrides; the fp32 runs are held against it too).
PEAK_TFLOPS="${FLOPWISE_PEAK_TFLOPS:-}"
if [[ -z "$PEAK_TFLOPS" ]]; then
  case "$GPU" in
    *H100*PCIe*) PEAK_TFLOPS=756 ;;
    *H100* | *H200* | *GH200*) PEAK_TFLOPS=989 ;;
    *A100*) PEAK_TFLOPS=312 ;;
  esac
fi
for arch in llama tnl hgrn2 cos2; do
  for precision in fp32 bf16; do
    out="$WORK/run-$arch-$precision"
    "$TRAIN" --arch "$arch" --preset 70M --vocab "$VOCAB" --context "$CONTEXT" \
      --batch-tokens "$BATCH_TOKENS" --total-tokens $((BATCH_TOKENS * STEPS)) --log-every-steps 4 \
      --no-validation --data "$WORK/tokens.u16" --out "$out" --device cuda \
      --precision "$precision" >"$WORK/$arch-$precision.jsonl" 2>"$WORK/$arch-$precision.err"
    code=$?
    if [[ $code != 0 ]]; then
      tail -n 5 "$WORK/$arch-$precision.err"
      fail "train $arch 70M context $CONTEXT on cuda in $precision: exit $code"
      continue
    fi
    rate="$(python3 -c '
import json, sys
events = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
rates = [e["tokens_per_s"] for e in events if e.get("event") == "progress"]
flops = [e["flops_per_token"] for e in events if e.get("event") == "start"]
peak = float(sys.argv[2]) * 1e12 if sys.argv[2] else 0
if not rates:
    print("n/a tokens/s")
elif peak and flops:
    print(f"{rates[-1]:.0f} tokens/s, MFU {100 * rates[-1] * flops[0] / peak:.1f}% of {sys.argv[2]} TFLOPS bf16 peak")
else:
    print(f"{rates[-1]:.0f} tokens/s (MFU: unknown peak, set FLOPWISE_PEAK_TFLOPS)")' \
      "$WORK/$arch-$precision.jsonl" "$PEAK_TFLOPS" 2>/dev/null)"
    note "train $arch 70M context $CONTEXT, $BATCH_TOKENS tokens/step, $precision: $rate (last 4 steps)"
  done
  [[ -d "$WORK/run-$arch-fp32" ]] || continue
  weights="$(ls -d "$WORK/run-$arch-fp32"/step-*/ | tail -n 1)model.safetensors"
  losses=()
  for setting in "cpu fp32" "cuda fp32" "cuda bf16"; do
    read -r device precision <<<"$setting"
    losses+=("$("$TRAIN" check --weights "$weights" --tokens "$WORK/check.u32" --batch 2 \
      --context 128 --device "$device" --precision "$precision" 2>&1 | tail -n 1)")
  done
  # fp32 within 1e-5 of the CPU, bf16 within 1% (docs/kernels.md, "Mixed precision").
  if python3 -c '
import sys
cpu, fp32, bf16 = (float(s.split()[1]) for s in sys.argv[1:4])
sys.exit(0 if abs(fp32 - cpu) <= 1e-5 * abs(cpu) and abs(bf16 - cpu) <= 1e-2 * abs(cpu) else 1)' \
    "${losses[@]}" 2>/dev/null; then
    note "check $arch: cpu ${losses[0]#loss }, cuda fp32 ${losses[1]#loss } (within 1e-5), cuda bf16 ${losses[2]#loss } (within 1e-2)"
  else
    fail "check $arch: cpu '${losses[0]}', cuda fp32 '${losses[1]}' (must agree to 1e-5), cuda bf16 '${losses[2]}' (to 1e-2)"
  fi
done

printf '%s\n' "" "gpu-check summary:" "${SUMMARY[@]}"
exit $FAILED

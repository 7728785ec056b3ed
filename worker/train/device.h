// The compute device of a run or check and its precision:
// `--device cpu|cuda[:N]`, `--precision fp32|bf16` (docs/training.md).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/backend.h"

namespace flopwise::train {

// The CUDA device index `device` names ("cuda" is 0), std::nullopt for
// "cpu"; InvalidArgument naming --device for anything else.
absl::StatusOr<std::optional<int>> ParseDevice(const std::string& device);

// OK when `device` is "cpu", "cuda" or "cuda:N" (N ≥ 0); InvalidArgument
// naming --device otherwise.
absl::Status ValidateDevice(const std::string& device);

// OK when `precision` is "fp32", or "bf16" on a CUDA `device` (bf16 GEMMs
// with fp32 weights, optimizer state, reductions and loss; docs/kernels.md,
// "Mixed precision"). InvalidArgument naming --precision otherwise: the CPU
// backend computes in fp32 only.
absl::Status ValidatePrecision(const std::string& precision, const std::string& device);

// The backend of `device` in `precision`: the CPU backend with `threads`
// threads (0: all), or the CUDA backend on device N (cuda = cuda:0) in
// deterministic mode, so that a resumed run repeats the steps it would have
// taken. Errors name the flag: InvalidArgument for a malformed name, a device
// the machine does not have or a precision the device lacks,
// FailedPrecondition when the binary or the machine has no CUDA.
absl::StatusOr<std::unique_ptr<kernels::Backend>> MakeDeviceBackend(const std::string& device,
                                                                    const std::string& precision,
                                                                    int threads);

}  // namespace flopwise::train

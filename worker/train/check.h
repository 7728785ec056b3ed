// `flopwise-train check` (docs/model-contract.md §12): the loss, and optionally
// every parameter gradient, of given weights on given tokens, in fp32 (or
// with --precision bf16 on a GPU, its GEMMs in bf16). The
// cross-implementation parity test of the CPU trainer.
#pragma once

#include <cstdio>
#include <string>

#include "absl/status/statusor.h"

namespace flopwise::train {

struct CheckOptions {
  std::string weights;  // model.safetensors with arch/config metadata
  std::string tokens;   // raw little-endian uint32, batch × (context + 1) ids
  int batch = 0;
  int context = 0;
  std::string grads;  // optional: write ∂(mean loss)/∂θ here
  int threads = 0;
  std::string device = "cpu";      // cpu, cuda or cuda:N (worker/train/device.h)
  std::string precision = "fp32";  // fp32, or bf16 on a CUDA device
};

// Returns the mean cross-entropy (nats) over batch × context targets and
// writes the gradient file when requested. InvalidArgument/NotFound name the
// file or flag at fault; a weight that is NaN or infinite, or a loss that is
// (no gradient file is written then), is InvalidArgument too.
// ResourceExhausted: the model does not fit the device's memory; errors of
// MakeDeviceBackend name --device or --precision.
absl::StatusOr<double> RunCheck(const CheckOptions& options);

}  // namespace flopwise::train

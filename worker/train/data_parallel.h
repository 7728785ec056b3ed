// flopwise-train as one rank of a data-parallel run (docs/distributed.md):
// the communicator the options ask for, the settings every rank must share,
// and the weights' checksum compared across ranks at every checkpoint.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "comm/communicator.h"
#include "kernels/backend.h"
#include "models/config.h"
#include "worker/train/options.h"

namespace flopwise::train {

// The settings that must be equal on every rank, by flag name: the model,
// context, data, batch, schedule, optimizer, seed and checkpoint interval.
// Not threads, --out or validation (rank 0's alone).
std::vector<std::pair<std::string, std::string>> SharedRunSettings(
    const TrainOptions& options, const models::ModelConfig& config);

// World size 1: the single-process communicator. Otherwise opens
// --rendezvous and meets the other ranks, comparing SharedRunSettings: over
// NCCL on the --device's GPU for a CUDA device, else over Gloo on
// --rank-address or --rank-interface (127.0.0.1 without either); errors name
// the flag or the rank at fault.
absl::StatusOr<std::unique_ptr<comm::Communicator>> OpenCommunicator(
    const TrainOptions& options, const models::ModelConfig& config);

// A 64-bit hash of the bytes of host data[0, count).
uint64_t WeightsChecksum(const float* data, int64_t count);
// The same hash of `backend`'s memory params[0, count) (read in chunks).
uint64_t WeightsChecksum(kernels::Backend& backend, const float* params, int64_t count);

// All-gathers every rank's WeightsChecksum of `backend`'s `params` and
// compares them with rank 0's; DataLoss naming the ranks that differ and
// `step` when any does.
absl::Status CheckWeightsMatch(comm::Communicator& communicator, kernels::Backend& backend,
                               const float* params, int64_t count, int64_t step);

}  // namespace flopwise::train

// The inputs of the coordinator's fits: a sweep's effective checkpoints as
// fitting records, and the identity of a record set under given options (the
// key of the `fits` cache).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "db/store.h"
#include "fitting/fit.h"
#include "server/run_plan.h"

namespace flopwise::server {

struct FitInputs {
  std::vector<fitting::CheckpointRecord> records;  // by run, then step
  std::vector<std::string> warnings;               // rows left out, and why
};

// Reads the effective checkpoints (one per run and step) of `sweep_id`'s runs
// of the architectures `archs` (every architecture when empty), each made a
// record by fitting::RecordFromCheckpoint with the non-embedding parameters
// and the settings (context, shape, vocabulary, model flags, grids) of its
// run plan; the checkpoints that rule leaves out (tokens, flops or
// loss not positive and finite) are counted in a warning.
// NotFound for an unknown sweep; FailedPrecondition naming the sweep when no
// usable checkpoint remains, or naming the architecture when one in `archs`
// has none.
absl::StatusOr<FitInputs> ReadFitInputs(db::Store& store, int64_t sweep_id,
                                        std::span<const std::string> archs);

// What grouping and the side studies read of a run besides its size: the
// plan's context, layers, d_model, vocab, non-default model flags
// ("name=value,..." in the flags table's order) and grids. InvalidArgument
// when the plan's model is not a valid shape.
absl::StatusOr<fitting::RunSettings> RunSettingsOf(const RunPlan& plan);

// Hex SHA-256 over every record (exact values, validation loss and group
// label included, in order), every option (the metric and the envelope
// included) and `method`: equal inputs give equal hashes whichever sweep they come from; a
// new or superseded checkpoint changes it.
std::string FitInputsHash(std::span<const fitting::CheckpointRecord> records,
                          const fitting::FitOptions& options, std::string_view method);

}  // namespace flopwise::server

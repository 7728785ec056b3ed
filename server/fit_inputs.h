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

namespace flopwise::server {

struct FitInputs {
  std::vector<fitting::CheckpointRecord> records;  // by run, then step
  std::vector<std::string> warnings;               // rows left out, and why
};

// Reads the effective checkpoints (one per run and step) of `sweep_id`'s runs
// of the architectures `archs` (every architecture when empty). A record is
// arch, run = the run's name, n_params = its non-embedding parameters (paper
// formula, models/accounting.h, as stored with the run), tokens and flops as
// the trainer reported them, and the loss. Rows whose tokens, flops or loss
// is not positive and finite (a step-0 checkpoint, a diverged loss) are left
// out with a warning.
// NotFound for an unknown sweep; FailedPrecondition naming the sweep when no
// usable checkpoint remains, or naming the architecture when one in `archs`
// has none.
absl::StatusOr<FitInputs> ReadFitInputs(db::Store& store, int64_t sweep_id,
                                        std::span<const std::string> archs);

// Hex SHA-256 over every record (exact values, in order), every option and
// `method`: equal inputs give equal hashes whichever sweep they come from; a
// new or superseded checkpoint changes it.
std::string FitInputsHash(std::span<const fitting::CheckpointRecord> records,
                          const fitting::FitOptions& options, std::string_view method);

}  // namespace flopwise::server

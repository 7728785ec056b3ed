// A sweep's effective checkpoints fetched from the coordinator as fitting
// records (what `flopwise plot --sweep` draws locally).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "client/user_connection.h"
#include "fitting/fit.h"

namespace flopwise::client {

struct SweepRecords {
  std::vector<fitting::CheckpointRecord> records;
  int left_out = 0;  // checkpoints fitting::RecordFromCheckpoint leaves out
};

// Each effective checkpoint made a record by fitting::RecordFromCheckpoint,
// the rule of the coordinator's own fits (arch, run name, the run's
// non-embedding parameters, tokens, flops, loss). NotFound for an unknown
// sweep; FailedPrecondition when the sweep has no usable checkpoint.
absl::StatusOr<SweepRecords> FetchSweepRecords(const UserConnection& connection, int64_t sweep_id);

}  // namespace flopwise::client

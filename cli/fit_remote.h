// `flopwise fit`, `optimal` and `plot` with --sweep ID: the coordinator fits
// the sweep's effective checkpoints (FitScalingLaw, QueryOptimal; cached
// there) and the CLI prints the same table or JSON as the offline mode. plot
// fetches the checkpoints and draws locally.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/fit_flags.h"
#include "cli/service_connection.h"
#include "fitting/fit.h"

namespace flopwise::cli {

// Prints the coordinator's report (stdout) and warnings about the inputs
// (stderr); with flags.budget set, the recommendations too. Returns the exit code.
int RunRemoteFit(const char* command, const FitFlags& flags);

struct SweepRecords {
  std::vector<fitting::CheckpointRecord> records;
  int left_out = 0;  // rows whose tokens, flops or loss is not positive and finite
};

// The sweep's effective checkpoints as records, built like the coordinator
// builds its fits' inputs (arch, run name, the run's non-embedding parameters,
// tokens, flops, loss). FailedPrecondition when the sweep has no usable checkpoint.
absl::StatusOr<SweepRecords> FetchSweepRecords(const ServiceConnection& connection,
                                               int64_t sweep_id);

}  // namespace flopwise::cli

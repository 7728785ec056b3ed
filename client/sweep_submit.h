// Submitting and cancelling sweeps (`flopwise submit`, `flopwise cancel`): the
// calls, and the text the CLI prints for their answers.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "client/user_connection.h"

namespace flopwise::client {

// Sends the spec file at `spec_path` to the coordinator, which checks and
// expands it (and with `dry_run` stores nothing), with this process's working
// directory as the base of the spec's relative paths (as sbatch does; docs/api.md,
// "Paths"). NotFound naming the file when it cannot be read; the
// coordinator's error (InvalidArgument naming the spec field; FailedPrecondition
// when a run is larger than every registered worker and not
// `allow_unplaceable`) otherwise.
absl::StatusOr<::flopwise::v1::SubmitSweepResponse> SubmitSweepFile(
    const UserConnection& connection, const std::string& spec_path, bool dry_run,
    bool allow_unplaceable = false);

// Cancels the sweep's pending and running runs. NotFound for an unknown sweep.
absl::StatusOr<::flopwise::v1::CancelSweepResponse> CancelSweep(const UserConnection& connection,
                                                                int64_t sweep_id);

// "submitted sweep 3 (name): 4 runs, 1.20P FLOPs"; for a dry run a line that
// says nothing was stored, then one row per run (index, name, arch,
// non-embedding parameters, tokens, FLOPs, memory estimate). Then a
// "warning: " line per run no registered worker could ever hold.
std::string SubmitText(const ::flopwise::v1::SubmitSweepResponse& response, bool dry_run);

// "cancelled sweep 3: 2 runs stopped or dequeued".
std::string CancelText(int64_t sweep_id, const ::flopwise::v1::CancelSweepResponse& response);

}  // namespace flopwise::client

// Retrying failed runs (`flopwise retry`): the call, the run list it takes and
// the text the CLI prints for its answer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/user_connection.h"

namespace flopwise::client {

// Puts the sweep's failed and diverged runs (`run_ids`, or all of them when
// empty) back to pending with a fresh attempt budget; the coordinator reopens
// the sweep if it had completed. NotFound for an unknown sweep or run;
// FailedPrecondition for a cancelled sweep or a run that did not fail.
absl::StatusOr<::flopwise::v1::RetryRunsResponse> RetryRuns(const UserConnection& connection,
                                                            int64_t sweep_id,
                                                            std::span<const int64_t> run_ids);

// "3,4" -> {3, 4}; InvalidArgument "--runs: ..." naming the item that is not
// a run id.
absl::StatusOr<std::vector<int64_t>> ParseRunIds(const std::string& text);

// "retried 2 runs of sweep 3 (the sweep is active again)", then one line per
// run: id, name, state and attempts used of the new budget; or "sweep 3: no
// failed or diverged run to retry".
std::string RetryText(const ::flopwise::v1::RetryRunsResponse& response);

}  // namespace flopwise::client

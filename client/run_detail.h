// One run in detail (`flopwise run`): its settings, progress and every
// attempt with its worker, outcome and reason, as GetRun answers.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "client/user_connection.h"

namespace flopwise::client {

// The run with its attempt history. NotFound for an unknown run id.
absl::StatusOr<::flopwise::v1::Run> GetRun(const UserConnection& connection, int64_t run_id);

// A header line (id, name, sweep, state, attempts), a line of its shape and
// progress, for a pending run why it waits ("pending: no worker registered",
// the coordinator's pending_reason), then one line per attempt: number,
// worker, outcome, how long it lasted (until `now_ms` while active), the step
// it resumed from and why it ended, each followed by a line with its trainer
// log as host:path when the worker reported one.
std::string RunDetailText(const ::flopwise::v1::Run& run, int64_t now_ms);

}  // namespace flopwise::client

// The documents `--json` prints for the service commands (`status`, `runs`,
// `run`, `workers`, `submit`, `cancel`, `drain`, `retry`): one JSON object
// each, made of the coordinator's messages in the protobuf JSON mapping
// (field names as in proto/flopwise/v1/*.proto, enums by name, 64-bit
// integers as strings) with every field present, defaults included
// (docs/operations.md "--json").
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "client/sweep_status.h"
#include "flopwise/v1/user_service.pb.h"

namespace flopwise::client {

// {"sweeps": [Sweep...]}
std::string SweepsJson(std::span<const ::flopwise::v1::Sweep> sweeps);
// {"sweeps": [Sweep...], "runs": [RunUpdate...]} (runs by id)
std::string SweepViewJson(const SweepView& view);
// {"runs": [Run...]}
std::string RunsJson(std::span<const ::flopwise::v1::Run> runs);
// {"run": Run} (with its attempt history)
std::string RunJson(const ::flopwise::v1::Run& run);
// {"workers": [Worker...]}
std::string WorkersJson(std::span<const ::flopwise::v1::Worker> workers);
// The SubmitSweepResponse's fields and "dry_run" (sweep_id "0": nothing stored).
std::string SubmitJson(const ::flopwise::v1::SubmitSweepResponse& response, bool dry_run);
// {"sweep_id": "3", "runs_cancelled": 2}
std::string CancelJson(int64_t sweep_id, const ::flopwise::v1::CancelSweepResponse& response);
// {"worker": Worker}
std::string DrainJson(const ::flopwise::v1::Worker& worker);
// The RetryRunsResponse's fields: {"sweep_id": "3", "runs": [Run...], "sweep_reopened": true}
std::string RetryJson(const ::flopwise::v1::RetryRunsResponse& response);

}  // namespace flopwise::client

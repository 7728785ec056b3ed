// What every `flopwise export` format reads first: the sweeps to export and
// each sweep's runs (their names, architectures and sizes label the rows).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "flopwise/v1/user_service.grpc.pb.h"

namespace flopwise::client {

// {sweep_id} when it is not 0, else every sweep, finished ones included.
absl::StatusOr<std::vector<int64_t>> ExportedSweepIds(
    ::flopwise::v1::UserService::StubInterface& stub, const std::string& token, int64_t sweep_id,
    int64_t timeout_ms);

// The sweep's runs by run id.
absl::StatusOr<std::map<int64_t, ::flopwise::v1::Run>> RunsOfSweep(
    ::flopwise::v1::UserService::StubInterface& stub, const std::string& token, int64_t sweep_id,
    int64_t timeout_ms);

}  // namespace flopwise::client

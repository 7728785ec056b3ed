// grpc::Status <-> absl::Status, and the one-line rendering of an error that
// the CLI and the daemons print.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace flopwise::client {

// Same code and message.
absl::Status FromGrpc(const grpc::Status& status);

// "CODE: message" on one line (newlines of multi-problem messages become "; ").
std::string OneLine(const absl::Status& status);

}  // namespace flopwise::client

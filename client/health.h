// gRPC health checking (grpc.health.v1.Health/Check) of a coordinator: what
// `flopwise health` and the Kubernetes probes ask. The call needs no token.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "client/channel.h"

namespace flopwise::client {

// The serving status of `service` ("" for the server as a whole): "SERVING",
// "NOT_SERVING", "UNKNOWN" or "SERVICE_UNKNOWN". An error when the call fails
// (UNAVAILABLE when the coordinator cannot be reached, NOT_FOUND for a service
// it does not know), with the coordinator's address in the message.
absl::StatusOr<std::string> CheckHealth(const ConnectOptions& options, const std::string& service);

}  // namespace flopwise::client

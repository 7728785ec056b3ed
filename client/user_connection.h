// A connection to the coordinator's UserService: the stub, the bearer token
// and the per-call deadline, as the CLI's service commands and the client
// library's calls use them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/channel.h"
#include "flopwise/v1/user_service.grpc.pb.h"

namespace flopwise::client {

struct UserConnection {
  std::unique_ptr<::flopwise::v1::UserService::Stub> stub;
  std::string token;
  int64_t timeout_ms = 0;
  // Adds the bearer token and the call deadline (now + timeout_ms).
  void Prepare(grpc::ClientContext* context) const;
};

// Resolves `flags` (ResolveConnectOptions) and makes the stub; errors name
// the flag that is missing or the file that cannot be read.
absl::StatusOr<UserConnection> ConnectUser(const ConnectFlags& flags);

}  // namespace flopwise::client

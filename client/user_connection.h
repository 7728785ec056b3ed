// A connection to the coordinator's UserService: the stub, the bearer token
// and the per-call deadline, as the CLI's service commands and the client
// library's calls use them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/channel.h"
#include "client/errors.h"
#include "flopwise/v1/user_service.grpc.pb.h"

namespace flopwise::client {

struct UserConnection {
  std::unique_ptr<::flopwise::v1::UserService::Stub> stub;
  std::string token;
  int64_t timeout_ms = 0;
  // Adds the bearer token and the call deadline (now + timeout_ms).
  void Prepare(grpc::ClientContext* context) const;
};

// One unary call of the UserService with the connection's token and deadline,
// e.g. Call(connection, &v1::UserService::Stub::CancelSweep, request). The
// coordinator's error comes back as an absl::Status with the same code.
template <typename Request, typename Response>
absl::StatusOr<Response> Call(const UserConnection& connection,
                              grpc::Status (::flopwise::v1::UserService::Stub::*method)(
                                  grpc::ClientContext*, const Request&, Response*),
                              const Request& request) {
  grpc::ClientContext context;
  connection.Prepare(&context);
  Response response;
  absl::Status status = FromGrpc(((*connection.stub).*method)(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

// Resolves `flags` (ResolveConnectOptions) and makes the stub; errors name
// the flag that is missing or the file that cannot be read.
absl::StatusOr<UserConnection> ConnectUser(const ConnectFlags& flags);

}  // namespace flopwise::client

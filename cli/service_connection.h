// The coordinator connection of the CLI's service commands: the options every
// such sub-command takes (--coordinator, --token-file, --tls, --tls-ca,
// --timeout-ms; env FLOPWISE_COORDINATOR / FLOPWISE_TOKEN_FILE) and the stub.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/channel.h"
#include "flopwise/v1/user_service.grpc.pb.h"

namespace flopwise::cli {

struct ServiceConnection {
  std::unique_ptr<::flopwise::v1::UserService::Stub> stub;
  std::string token;
  int64_t timeout_ms = 0;
  // A context with the bearer token and the call deadline.
  void Prepare(grpc::ClientContext* context) const;
};

// Adds the connection options to `command`, stored in `flags`.
void AddConnectionOptions(CLI::App* command, client::ConnectFlags* flags);

absl::StatusOr<ServiceConnection> Connect(const client::ConnectFlags& flags);

// Prints "flopwise COMMAND: CODE: message" on one line to stderr; returns 1.
int ReportError(const char* command, const absl::Status& status);

}  // namespace flopwise::cli

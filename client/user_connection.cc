#include "client/user_connection.h"

namespace flopwise::client {

void UserConnection::Prepare(grpc::ClientContext* context) const {
  PrepareContext(context, token, timeout_ms);
}

absl::StatusOr<UserConnection> ConnectUser(const ConnectFlags& flags) {
  absl::StatusOr<ConnectOptions> options = ResolveConnectOptions(flags);
  if (!options.ok()) return options.status();
  UserConnection connection;
  connection.stub = ::flopwise::v1::UserService::NewStub(MakeChannel(*options));
  connection.token = options->token;
  connection.timeout_ms = options->timeout_ms;
  return connection;
}

}  // namespace flopwise::client

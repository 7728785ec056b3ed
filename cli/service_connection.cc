#include "cli/service_connection.h"

#include <cstdio>

#include "client/errors.h"

namespace flopwise::cli {

void ServiceConnection::Prepare(grpc::ClientContext* context) const {
  client::PrepareContext(context, token, timeout_ms);
}

void AddConnectionOptions(CLI::App* command, client::ConnectFlags* flags) {
  command->add_option("--coordinator", flags->coordinator,
                      "Coordinator HOST:PORT (env FLOPWISE_COORDINATOR)");
  command->add_option("--token-file", flags->token_file,
                      "File with the client token (env FLOPWISE_TOKEN_FILE)");
  command->add_flag("--tls", flags->tls, std::string("Connect with TLS"));
  command->add_option("--tls-ca", flags->tls_ca_file,
                      "PEM file of the CA of the coordinator's certificate (env FLOPWISE_TLS_CA)");
  command->add_option("--timeout-ms", flags->timeout_ms, "Deadline of each call")
      ->capture_default_str();
}

absl::StatusOr<ServiceConnection> Connect(const client::ConnectFlags& flags) {
  absl::StatusOr<client::ConnectOptions> options = client::ResolveConnectOptions(flags);
  if (!options.ok()) return options.status();
  ServiceConnection connection;
  connection.stub = ::flopwise::v1::UserService::NewStub(client::MakeChannel(*options));
  connection.token = options->token;
  connection.timeout_ms = options->timeout_ms;
  return connection;
}

int ReportError(const char* command, const absl::Status& status) {
  std::fprintf(stderr, "flopwise %s: %s\n", command, client::OneLine(status).c_str());
  return 1;
}

}  // namespace flopwise::cli

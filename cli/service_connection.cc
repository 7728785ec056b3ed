#include "cli/service_connection.h"

#include <cstdio>

#include "client/errors.h"
#include "client/exit_codes.h"

namespace flopwise::cli {

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

void AddJsonFlag(CLI::App* command, bool* json) {
  command->add_flag("--json", *json,
                    std::string("Print one JSON document (protobuf JSON of the API's messages)"));
}

int ReportError(const char* command, const absl::Status& status) {
  std::fprintf(stderr, "flopwise %s: %s\n", command, client::OneLine(status).c_str());
  return client::ExitCodeFor(status);
}

}  // namespace flopwise::cli

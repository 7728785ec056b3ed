// The coordinator options every service sub-command takes (--coordinator,
// --token-file, --tls, --tls-ca, --timeout-ms; env FLOPWISE_COORDINATOR /
// FLOPWISE_TOKEN_FILE) and how such a command prints an error. The
// connection itself is client::UserConnection (client/user_connection.h).
#pragma once

#include <CLI/CLI.hpp>

#include "absl/status/status.h"
#include "client/channel.h"

namespace flopwise::cli {

// Adds the connection options to `command`, stored in `flags`.
void AddConnectionOptions(CLI::App* command, client::ConnectFlags* flags);

// Adds `--json`: print one JSON document (client/json_output.h) instead of
// the text.
void AddJsonFlag(CLI::App* command, bool* json);

// Prints "flopwise COMMAND: CODE: message" on one line to stderr; returns the
// exit code of that error (client::ExitCodeFor).
int ReportError(const char* command, const absl::Status& status);

}  // namespace flopwise::cli

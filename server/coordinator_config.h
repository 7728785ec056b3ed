// flopwise-coordinator's settings: command-line flags, an optional YAML config
// file whose keys are the long flag names with '_' for '-' (flags override
// it), and the token files.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/coordinator_server.h"

namespace flopwise::server {

struct CoordinatorFlags {
  std::string listen = "127.0.0.1:7450";
  std::string db;
  std::string checkpoint_root;  // empty: "checkpoints" beside the database
  std::string client_token_file;
  std::string worker_token_file;
  std::string tls_cert;
  std::string tls_key;
  double lease_seconds = 60;
  double heartbeat_seconds = 0;      // 0: lease_seconds / 6
  double restart_grace_seconds = 0;  // 0: lease_seconds
  int64_t max_receive_bytes = 16 << 20;
  std::string log_level = "info";
};

// Sets every field named in the YAML file at `path` unless its flag name (e.g.
// "lease-seconds") is in `set_on_command_line`. InvalidArgument names the file
// and key for an unknown key or a bad value; NotFound when the file is missing.
absl::Status ApplyConfigFile(const std::string& path,
                             const std::set<std::string>& set_on_command_line,
                             CoordinatorFlags* flags);

// The token in the file: its first line without surrounding whitespace.
// NotFound / InvalidArgument name the option and the path.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path, std::string_view option);

// Reads the token files and converts durations; the result still goes through
// ValidateOptions() when the server starts.
absl::StatusOr<CoordinatorOptions> ToCoordinatorOptions(const CoordinatorFlags& flags);

}  // namespace flopwise::server

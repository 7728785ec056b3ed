// flopwise-coordinator's settings: command-line flags, an optional YAML config
// file whose keys are the long flag names (base/yaml_config.h; flags override
// it), and the token files.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/coordinator_server.h"
#include "server/limits.h"

namespace flopwise::server {

struct CoordinatorFlags {
  std::string listen = "127.0.0.1:7450";
  std::string metrics_listen;  // empty: no /metrics
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
  int max_submits_per_minute = kDefaultMaxSubmitsPerMinute;
  int64_t max_runs_per_sweep = kMaxRunsPerSweep;
  int64_t max_pending_runs = static_cast<int64_t>(kDefaultMaxPendingRuns);
  std::string log_level = "info";
  std::string log_format = "text";  // or "json" (base/logging.h)
};

// Adds the coordinator's flags, bound to `flags`, and `--config FILE.yaml` to
// `app`; app.parse() throws CLI11's errors (an unknown key or a bad value in
// the file included).
void AddCoordinatorFlags(CLI::App& app, CoordinatorFlags* flags);

// Reads the token files (base/token_file.h) and converts durations; the result still goes through
// ValidateOptions() when the server starts.
absl::StatusOr<CoordinatorOptions> ToCoordinatorOptions(const CoordinatorFlags& flags);

}  // namespace flopwise::server

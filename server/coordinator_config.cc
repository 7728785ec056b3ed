#include "server/coordinator_config.h"

#include <cmath>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "base/token_file.h"
#include "base/yaml_config.h"

namespace flopwise::server {

void AddCoordinatorFlags(CLI::App& app, CoordinatorFlags* flags) {
  UseYamlConfig(app);
  app.add_option("--listen", flags->listen, "HOST:PORT to serve gRPC on")->capture_default_str();
  app.add_option(
      "--metrics-listen", flags->metrics_listen,
      "HOST:PORT to serve /metrics on over HTTP, behind the client token (default: off)");
  app.add_option("--db", flags->db, "SQLite database file (created when absent)");
  app.add_option("--checkpoint-root", flags->checkpoint_root,
                 "directory of run checkpoints (default: checkpoints/ beside the database)");
  app.add_option("--client-token-file", flags->client_token_file, "file holding the client token");
  app.add_option("--worker-token-file", flags->worker_token_file, "file holding the worker token");
  app.add_option("--tls-cert", flags->tls_cert, "PEM certificate chain (serve TLS)");
  app.add_option("--tls-key", flags->tls_key, "PEM private key (serve TLS)");
  app.add_option("--lease-seconds", flags->lease_seconds, "lease duration")->capture_default_str();
  app.add_option("--heartbeat-seconds", flags->heartbeat_seconds,
                 "heartbeat interval told to workers (default: lease / 6)");
  app.add_option("--restart-grace-seconds", flags->restart_grace_seconds,
                 "minimum life of leases recovered at start (default: one lease)");
  app.add_option("--max-receive-bytes", flags->max_receive_bytes, "largest accepted request")
      ->capture_default_str();
  app.add_option("--max-submits-per-minute", flags->max_submits_per_minute,
                 "sweeps each client address may submit per minute (0: no limit)")
      ->capture_default_str();
  app.add_option("--max-runs-per-sweep", flags->max_runs_per_sweep, "runs one sweep may expand to")
      ->capture_default_str();
  app.add_option("--max-pending-runs", flags->max_pending_runs,
                 "runs pending over all sweeps (0: no limit)")
      ->capture_default_str();
  app.add_option("--log-level", flags->log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
  app.add_option("--log-format", flags->log_format,
                 "text, or json: one JSON object per line (time, level, logger, message)")
      ->capture_default_str();
}

absl::StatusOr<CoordinatorOptions> ToCoordinatorOptions(const CoordinatorFlags& flags) {
  CoordinatorOptions options;
  options.listen = flags.listen;
  options.metrics_listen = flags.metrics_listen;
  options.db_path = flags.db;
  options.checkpoint_root = flags.checkpoint_root;
  ASSIGN_OR_RETURN(options.client_token,
                   ReadTokenFile(flags.client_token_file, "client-token-file"));
  ASSIGN_OR_RETURN(options.worker_token,
                   ReadTokenFile(flags.worker_token_file, "worker-token-file"));
  options.tls_cert_path = flags.tls_cert;
  options.tls_key_path = flags.tls_key;
  if (flags.max_receive_bytes > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError("max-receive-bytes: at most 1 GiB");
  }
  options.max_receive_bytes = static_cast<int>(flags.max_receive_bytes);
  options.submit_limits.max_submits_per_minute = flags.max_submits_per_minute;
  // Checked by ValidateOptions(); a negative count wraps to one above the range.
  options.submit_limits.max_runs_per_sweep = static_cast<size_t>(flags.max_runs_per_sweep);
  if (flags.max_pending_runs < 0) {
    return absl::InvalidArgumentError("max-pending-runs: must be >= 0 (0: no limit)");
  }
  options.scheduler.max_pending_runs = static_cast<size_t>(flags.max_pending_runs);
  if (!(flags.lease_seconds > 0))
    return absl::InvalidArgumentError("lease-seconds: must be positive");
  options.scheduler.lease_duration_ms = std::llround(flags.lease_seconds * 1000);
  options.scheduler.heartbeat_interval_ms = flags.heartbeat_seconds > 0
                                                ? std::llround(flags.heartbeat_seconds * 1000)
                                                : options.scheduler.lease_duration_ms / 6;
  options.scheduler.restart_grace_ms = flags.restart_grace_seconds > 0
                                           ? std::llround(flags.restart_grace_seconds * 1000)
                                           : options.scheduler.lease_duration_ms;
  return options;
}

}  // namespace flopwise::server

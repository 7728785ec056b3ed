#include "server/coordinator_config.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <string_view>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "base/token_file.h"
#include "base/yaml_config.h"

namespace flopwise::server {
namespace {

// Whether `listen` (HOST:PORT, [IPV6]:PORT or unix:PATH) is reachable from
// this machine only. A malformed address counts as not loopback; the server
// names its error when it starts.
bool IsLoopback(std::string_view listen) {
  if (listen.starts_with("unix:")) return true;
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host = listen.substr(0, colon);
  if (host == "localhost") return true;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    in6_addr address;
    const std::string ipv6(host.substr(1, host.size() - 2));
    return ::inet_pton(AF_INET6, ipv6.c_str(), &address) == 1 && IN6_IS_ADDR_LOOPBACK(&address);
  }
  in_addr address;
  return ::inet_pton(AF_INET, std::string(host).c_str(), &address) == 1 &&
         (ntohl(address.s_addr) >> 24) == 127;
}

// Tokens travel in every call's metadata (and the metrics port's
// Authorization header): in clear text unless TLS is on. `flag` names the
// address: "listen" or "metrics-listen".
absl::Status CheckTransportSecurity(const CoordinatorFlags& flags, std::string_view flag,
                                    const std::string& listen) {
  if (listen.empty() || !flags.tls_cert.empty() || IsLoopback(listen)) return absl::OkStatus();
  if (!flags.allow_insecure) {
    return absl::FailedPreconditionError(
        Cat(flag, ": ", listen,
            " is not a loopback address and TLS is off, so tokens would cross the network in "
            "clear text; set --tls-cert and --tls-key, listen on 127.0.0.1, or pass "
            "--allow-insecure"));
  }
  spdlog::warn(
      "{}: {} is not a loopback address and TLS is off (--allow-insecure): every token "
      "and sweep crosses the network in clear text",
      flag, listen);
  return absl::OkStatus();
}

}  // namespace

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
  app.add_flag("--allow-insecure", flags->allow_insecure,
               "serve without TLS on a non-loopback address (tokens cross the network in clear)");
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
  RETURN_IF_ERROR(CheckTransportSecurity(flags, "listen", flags.listen));
  RETURN_IF_ERROR(CheckTransportSecurity(flags, "metrics-listen", flags.metrics_listen));
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

// flopwise-coordinator: the daemon (docs/api.md). Thin over CoordinatorServer.
#include <grpc/support/log.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <set>
#include <thread>

#include "base/logging.h"
#include "server/coordinator_config.h"
#include "server/coordinator_server.h"

namespace {

volatile std::sig_atomic_t g_stop_requested = 0;
extern "C" void OnSignal(int) { g_stop_requested = 1; }

// gRPC's own log lines go to spdlog at debug level, so that an error such as
// a port in use reads as one line of ours.
void LogGrpc(gpr_log_func_args* args) {
  spdlog::debug("grpc: {}:{}: {}", args->file, args->line, args->message);
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "flopwise-coordinator: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using flopwise::server::CoordinatorFlags;
  CLI::App app{"flopwise-coordinator: schedules sweep runs onto workers and stores their metrics"};
  CoordinatorFlags flags;
  std::string config_path;
  app.add_option("--config", config_path, "YAML file of these settings (keys: flag names with _)");
  app.add_option("--listen", flags.listen, "HOST:PORT to serve gRPC on")->capture_default_str();
  app.add_option("--db", flags.db, "SQLite database file (created when absent)");
  app.add_option("--checkpoint-root", flags.checkpoint_root,
                 "directory of run checkpoints (default: checkpoints/ beside the database)");
  app.add_option("--client-token-file", flags.client_token_file, "file holding the client token");
  app.add_option("--worker-token-file", flags.worker_token_file, "file holding the worker token");
  app.add_option("--tls-cert", flags.tls_cert, "PEM certificate chain (serve TLS)");
  app.add_option("--tls-key", flags.tls_key, "PEM private key (serve TLS)");
  app.add_option("--lease-seconds", flags.lease_seconds, "lease duration")->capture_default_str();
  app.add_option("--heartbeat-seconds", flags.heartbeat_seconds,
                 "heartbeat interval told to workers (default: lease / 6)");
  app.add_option("--restart-grace-seconds", flags.restart_grace_seconds,
                 "minimum life of leases recovered at start (default: one lease)");
  app.add_option("--max-receive-bytes", flags.max_receive_bytes, "largest accepted request")
      ->capture_default_str();
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!config_path.empty()) {
    std::set<std::string> on_command_line;
    for (const CLI::Option* option : app.get_options()) {
      if (option->count() > 0) on_command_line.insert(option->get_name().substr(2));
    }
    absl::Status status = flopwise::server::ApplyConfigFile(config_path, on_command_line, &flags);
    if (!status.ok()) return Fail(std::string(status.message()));
  }
  if (absl::Status status = flopwise::InitLogging("coordinator", flags.log_level); !status.ok()) {
    return Fail(std::string(status.message()));
  }
  gpr_set_log_function(LogGrpc);
  if (flags.db.empty()) return Fail("--db: required");
  auto options = flopwise::server::ToCoordinatorOptions(flags);
  if (!options.ok()) return Fail(std::string(options.status().message()));
  auto server = flopwise::server::CoordinatorServer::Start(*options);
  if (!server.ok()) return Fail(std::string(server.status().message()));

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop_requested) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  spdlog::info("signal received, stopping");
  (*server)->Stop();
  return 0;
}

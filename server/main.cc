// flopwise-coordinator: the daemon (docs/api.md). Thin over CoordinatorServer.
#include <grpc/support/log.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
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
  flopwise::server::AddCoordinatorFlags(app, &flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (absl::Status status = flopwise::InitLogging("coordinator", flags.log_level, flags.log_format);
      !status.ok()) {
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

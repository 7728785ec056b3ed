// flopwise-worker: the daemon on each training machine (docs/operations.md).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "base/logging.h"
#include "base/yaml_config.h"
#include "client/channel.h"
#include "comm/local_endpoint.h"
#include "kernels/device_info.h"
#include "worker/daemon/coordinator_link.h"
#include "worker/daemon/worker.h"

namespace {

namespace fs = std::filesystem;

int Fail(const std::string& message) {
  std::fprintf(stderr, "flopwise-worker: %s\n", message.c_str());
  return 1;
}

// flopwise-train in the same directory as this program.
std::string DefaultTrainerPath() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "flopwise-train";
  return (self.parent_path() / "flopwise-train").string();
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals in every thread (gRPC starts its own); one thread
  // waits for them below. Children get a clean mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{"flopwise-worker: leases runs from the coordinator and trains them"};
  flopwise::UseYamlConfig(app);
  flopwise::client::ConnectFlags connect;
  flopwise::workerd::WorkerOptions options;
  std::string log_level = "info";
  std::string log_format = "text";
  int cpu_cores = 0;
  double memory_gib = 0;
  double stop_timeout_s = 120;
  double backoff_max_s = 10;
  app.add_option("--coordinator", connect.coordinator,
                 "Coordinator HOST:PORT (env FLOPWISE_COORDINATOR)");
  app.add_option("--token-file", connect.token_file,
                 "File with the worker token (env FLOPWISE_TOKEN_FILE)");
  app.add_flag("--tls", connect.tls,
               std::string("Connect with TLS (system roots unless --tls-ca)"));
  app.add_option("--tls-ca", connect.tls_ca_file,
                 "PEM file of the CA that signed the coordinator's certificate");
  app.add_option("--rpc-timeout-ms", connect.timeout_ms, "Deadline of each call to the coordinator")
      ->capture_default_str();
  app.add_option("--work-dir", options.work_dir,
                 "Directory for the worker id, trainer logs and default checkpoints")
      ->required();
  app.add_option("--trainer", options.trainer_path,
                 "Trainer program (default: flopwise-train beside this program)");
  app.add_option("--checkpoint-root", options.checkpoint_root,
                 "Overrides the coordinator's checkpoint root");
  app.add_option("--max-runs", options.max_runs, "Concurrent runs (0: one per GPU, 1 without GPUs)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--threads-per-run", options.threads_per_run,
                 "Trainer threads per run (0: cores / max runs)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--cpu-cores", cpu_cores, "Cores to offer (0: those this process may use)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--memory-gib", memory_gib, "Host memory to offer in GiB (0: physical memory)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--hostname", options.hostname,
                 "Name reported to the coordinator (default: hostname)");
  app.add_option("--rank-address", options.rank_connection.rank_address,
                 "IP address of this host that the data-parallel ranks it starts listen on "
                 "(default 127.0.0.1: every rank of a run on this host)");
  app.add_option("--rank-interface", options.rank_connection.rank_interface,
                 "Network interface (e.g. eth0) whose address the ranks listen on, instead of "
                 "--rank-address");
  app.add_option("--stop-timeout-s", stop_timeout_s,
                 "On SIGTERM, seconds the trainers get to checkpoint before SIGKILL")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--retry-max-s", backoff_max_s, "Longest wait between retries of a failed call")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->capture_default_str();
  app.add_option("--log-format", log_format,
                 "text, or json: one JSON object per line (time, level, logger, message)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (absl::Status s = flopwise::InitLogging("flopwise-worker", log_level, log_format); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  absl::StatusOr<flopwise::client::ConnectOptions> resolved =
      flopwise::client::ResolveConnectOptions(connect);
  if (!resolved.ok()) return Fail(std::string(resolved.status().message()));
  if (options.trainer_path.empty()) options.trainer_path = DefaultTrainerPath();
  if (access(options.trainer_path.c_str(), X_OK) != 0) {
    return Fail("--trainer " + options.trainer_path + ": not an executable file");
  }
  // Checked here so that a wrong one stops the worker, not every run it leases.
  if (absl::Status s = flopwise::comm::CheckRankEndpointFlags(
          options.rank_connection.rank_address, options.rank_connection.rank_interface);
      !s.ok()) {
    return Fail(std::string(s.message()));
  }
  options.host = flopwise::kernels::QueryHostInfo();
  if (cpu_cores > 0) options.host.cpu_cores = cpu_cores;
  if (memory_gib > 0) options.host.memory_bytes = static_cast<int64_t>(memory_gib * (1LL << 30));
  options.rank_connection.coordinator = resolved->coordinator;
  options.rank_connection.token = resolved->token;
  options.rank_connection.tls = resolved->tls;
  std::string ca_file = connect.tls_ca_file;
  if (const char* env = std::getenv(flopwise::client::kTlsCaEnv); ca_file.empty() && env) {
    ca_file = env;
  }
  if (!ca_file.empty()) options.rank_connection.tls_ca_file = fs::absolute(ca_file).string();
  options.stop_timeout_ms = static_cast<int64_t>(stop_timeout_s * 1000);
  options.backoff.max_ms = static_cast<int64_t>(backoff_max_s * 1000);
  options.backoff.initial_ms =
      std::min<int64_t>(options.backoff.initial_ms, options.backoff.max_ms);

  std::unique_ptr<flopwise::workerd::CoordinatorLink> link =
      flopwise::workerd::NewGrpcCoordinatorLink(flopwise::client::MakeChannel(*resolved),
                                                resolved->token, resolved->timeout_ms);
  flopwise::workerd::Worker worker(options, link.get());
  std::thread([&worker, stop_signals] {
    int received = 0;
    sigwait(&stop_signals, &received);
    worker.RequestStop();
  }).detach();
  absl::Status status = worker.Run();
  if (!status.ok()) return Fail(std::string(status.message()));
  return 0;
}

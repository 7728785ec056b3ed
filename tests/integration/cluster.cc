#include "tests/integration/cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "client/channel.h"
#include "gtest/gtest.h"
#include "tests/integration/test_network.h"

namespace flopwise::testing {

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t length = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string SweepSpec(const std::string& name, const std::string& archs, const std::string& sizes,
                      int steps, int checkpoint_steps) {
  std::ostringstream spec;
  spec << "name: " << name << "\n"
       << "max_attempts: 5\n"
       << "seed: 1\n"
       << "vocab: 256\n"
       << "data:\n  path: /nonexistent/not-read-by-the-stand-in\n"
       << "architectures: [" << archs << "]\n"
       << "sizes: [" << sizes << "]\n"
       << "contexts: [64]\n"
       << "batch_tokens: 256\n"
       << "tokens: " << steps * 256 << "\n"
       << "checkpoint:\n  every_tokens: " << checkpoint_steps * 256 << "\n"
       << "log_every_steps: 1\n"
       << "optimizer:\n  lr: 1e-3\n"
       << "resources:\n  cpu_cores: 1\n";
  return spec.str();
}

Cluster::Cluster(double lease_seconds, double heartbeat_seconds,
                 const std::string& coordinator_host)
    : coordinator_host_(coordinator_host),
      port_(FreeLoopbackPort()),
      lease_seconds_(lease_seconds),
      heartbeat_seconds_(heartbeat_seconds) {
  std::ofstream(dir_.Sub("client.token")) << kClientToken << "\n";
  std::ofstream(dir_.Sub("worker.token")) << kWorkerToken << "\n";
  // Owner-only, as docs/operations.md asks: no permission warning in the logs.
  for (const char* name : {"client.token", "worker.token"}) {
    std::filesystem::permissions(
        dir_.Sub(name), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  client::ConnectOptions options;
  options.coordinator = address();
  users_ = v1::UserService::NewStub(client::MakeChannel(options));
}

Cluster::~Cluster() {
  workers_.clear();  // SIGKILL + reap
  coordinator_.reset();
}

void Cluster::Prepare(grpc::ClientContext* context) const {
  // A minute: the checks' reads must not fail on a loaded machine (a 600-s
  // chaos run once lost a page of metrics to a 10-s deadline at load 150).
  client::PrepareContext(context, kClientToken, 60'000);
}

bool Cluster::StartCoordinator() {
  workerd::SpawnOptions options;
  options.argv = {BinPath("flopwise-coordinator"),
                  "--listen",
                  address(),
                  "--db",
                  dir_.Sub("coordinator.db"),
                  "--checkpoint-root",
                  dir_.Sub("checkpoints"),
                  "--client-token-file",
                  dir_.Sub("client.token"),
                  "--worker-token-file",
                  dir_.Sub("worker.token"),
                  "--lease-seconds",
                  std::to_string(lease_seconds_),
                  "--heartbeat-seconds",
                  std::to_string(heartbeat_seconds_),
                  "--log-level",
                  "info"};
  if (coordinator_host_.rfind("127.", 0) != 0) options.argv.emplace_back("--allow-insecure");
  options.capture_stdout = false;
  options.parent_death_signal = SIGKILL;  // no daemon outlives a crashed test
  options.stderr_path = dir_.Sub("coordinator.log");
  auto child = workerd::ChildProcess::Spawn(options);
  if (!child.ok()) {
    ADD_FAILURE() << child.status();
    return false;
  }
  coordinator_ = *std::move(child);
  auto answered = [this] {
    if (coordinator_->TryWait().has_value()) return true;
    // A fresh channel per try: no reconnect backoff carried over.
    client::ConnectOptions options;
    options.coordinator = address();
    auto stub = v1::UserService::NewStub(client::MakeChannel(options));
    grpc::ClientContext context;
    Prepare(&context);
    v1::ListWorkersResponse response;
    if (!stub->ListWorkers(&context, v1::ListWorkersRequest(), &response).ok()) return false;
    users_ = std::move(stub);
    return true;
  };
  return WaitFor(answered, 20) && !coordinator_->TryWait().has_value();
}

void Cluster::KillCoordinator() {
  coordinator_->Signal(SIGKILL);
  coordinator_->Wait();
}

void Cluster::StartWorker(const std::string& name,
                          std::vector<std::pair<std::string, std::string>> env,
                          const std::string& trainer) {
  WorkerLaunch launch;
  launch.env = std::move(env);
  launch.trainer = trainer;
  LaunchWorker(name, launch);
}

void Cluster::LaunchWorker(const std::string& name, const WorkerLaunch& launch) {
  workerd::SpawnOptions options;
  // `ip netns exec` execs the worker in the namespace: the child is the worker.
  if (!launch.netns.empty()) options.argv = {IpProgram(), "netns", "exec", launch.netns};
  options.argv.insert(options.argv.end(),
                      {BinPath("flopwise-worker"),
                       "--coordinator",
                       address(),
                       "--token-file",
                       dir_.Sub("worker.token"),
                       "--work-dir",
                       dir_.Sub(name),
                       "--trainer",
                       launch.trainer.empty() ? BinPath("flopwise-fake-train") : launch.trainer,
                       "--hostname",
                       name,
                       "--max-runs",
                       "2",
                       "--threads-per-run",
                       "1",
                       "--cpu-cores",
                       "2",
                       "--retry-max-s",
                       "0.5",
                       "--log-level",
                       "debug"});
  options.argv.insert(options.argv.end(), launch.args.begin(), launch.args.end());
  options.env = launch.env;
  options.capture_stdout = false;
  options.parent_death_signal = SIGKILL;  // no daemon outlives a crashed test
  options.stderr_path = dir_.Sub(name + ".log");
  auto child = workerd::ChildProcess::Spawn(options);
  ASSERT_TRUE(child.ok()) << child.status();
  workers_[name] = *std::move(child);
}

void Cluster::KillWorker(const std::string& name) {
  workers_.at(name)->Signal(SIGKILL);
  workers_.at(name)->Wait();
}

void Cluster::StopWorker(const std::string& name) {
  workers_.at(name)->Signal(SIGTERM);
  workers_.at(name)->Wait();
}

int64_t Cluster::Submit(const std::string& spec_yaml) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::SubmitSweepRequest request;
  request.set_spec_yaml(spec_yaml);
  v1::SubmitSweepResponse response;
  grpc::Status status = users_->SubmitSweep(&context, request, &response);
  if (!status.ok()) {
    ADD_FAILURE() << "SubmitSweep: " << status.error_message();
    return 0;
  }
  return response.sweep_id();
}

bool Cluster::WaitSweepFinished(int64_t sweep_id, double timeout_s) {
  return WaitFor(
      [&] {
        grpc::ClientContext context;
        Prepare(&context);
        v1::GetSweepRequest request;
        request.set_sweep_id(sweep_id);
        v1::GetSweepResponse response;
        if (!users_->GetSweep(&context, request, &response).ok()) return false;
        return response.sweep().state() != v1::SWEEP_STATE_ACTIVE;
      },
      timeout_s);
}

std::vector<v1::Run> Cluster::Runs(int64_t sweep_id) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::ListRunsRequest request;
  request.set_sweep_id(sweep_id);
  v1::ListRunsResponse response;
  grpc::Status status = users_->ListRuns(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return {response.runs().begin(), response.runs().end()};
}

v1::Run Cluster::GetRun(int64_t run_id) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::GetRunRequest request;
  request.set_run_id(run_id);
  v1::GetRunResponse response;
  users_->GetRun(&context, request, &response);
  return response.run();
}

std::vector<v1::MetricRow> Cluster::Metrics(int64_t sweep_id, bool include_superseded) {
  std::vector<v1::MetricRow> rows;
  std::string page;
  do {
    grpc::ClientContext context;
    Prepare(&context);
    v1::GetMetricsRequest request;
    request.set_sweep_id(sweep_id);
    request.set_include_superseded(include_superseded);
    request.set_page_token(page);
    v1::GetMetricsResponse response;
    grpc::Status status = users_->GetMetrics(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) break;
    rows.insert(rows.end(), response.rows().begin(), response.rows().end());
    page = response.next_page_token();
  } while (!page.empty());
  return rows;
}

std::vector<v1::CheckpointRow> Cluster::Checkpoints(int64_t sweep_id, bool include_superseded) {
  grpc::ClientContext context;
  Prepare(&context);
  v1::GetCheckpointsRequest request;
  request.set_sweep_id(sweep_id);
  request.set_include_superseded(include_superseded);
  v1::GetCheckpointsResponse response;
  grpc::Status status = users_->GetCheckpoints(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return {response.checkpoints().begin(), response.checkpoints().end()};
}

void ExpectCompleteMetrics(Cluster& cluster, int64_t sweep_id, int total_steps) {
  std::map<int64_t, std::multiset<int64_t>> steps_by_run;
  for (const v1::MetricRow& row : cluster.Metrics(sweep_id, /*include_superseded=*/false)) {
    EXPECT_FALSE(row.superseded());
    steps_by_run[row.run_id()].insert(row.point().step());
  }
  for (const v1::Run& run : cluster.Runs(sweep_id)) {
    const auto& steps = steps_by_run[run.run_id()];
    EXPECT_EQ(steps.size(), static_cast<size_t>(total_steps)) << run.name();
    for (int64_t step = 1; step <= total_steps; ++step) {
      EXPECT_EQ(steps.count(step), 1u) << run.name() << " step " << step;
    }
  }
  std::set<std::tuple<int64_t, int, int64_t>> keys;
  for (const v1::MetricRow& row : cluster.Metrics(sweep_id, /*include_superseded=*/true)) {
    EXPECT_TRUE(keys.insert({row.run_id(), row.attempt(), row.point().seq()}).second)
        << "duplicate row: run " << row.run_id() << " attempt " << row.attempt() << " seq "
        << row.point().seq();
  }
  // Every effective checkpoint names a directory that is there to resume from.
  for (const v1::CheckpointRow& row : cluster.Checkpoints(sweep_id, /*include_superseded=*/false)) {
    const std::string& path = row.checkpoint().path();
    EXPECT_FALSE(path.empty()) << "run " << row.run_id() << " step " << row.checkpoint().step();
    EXPECT_TRUE(std::filesystem::is_directory(path)) << path;
  }
}

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string Cluster::CoordinatorLog() const { return ReadFile(dir_.Sub("coordinator.log")); }

std::string Cluster::WorkerLog(const std::string& name) const {
  return ReadFile(dir_.Sub(name + ".log"));
}

}  // namespace flopwise::testing

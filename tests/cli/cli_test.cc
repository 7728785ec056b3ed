// The `flopwise` program run as a user runs it, against a coordinator on a
// loopback port (temporary SQLite file): exit codes (docs/operations.md),
// --version, suggestions for a mistyped command, the --json documents, and
// how `status --watch` ends.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "client/exit_codes.h"
#include "flopwise/v1/user_service.grpc.pb.h"
#include "flopwise/v1/worker_service.grpc.pb.h"
#include "server/coordinator_server.h"
#include "tests/integration/test_paths.h"

extern char** environ;

namespace flopwise::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kClientToken[] = "client-token-of-the-cli-test";
constexpr char kWorkerToken[] = "worker-token-of-the-cli-test";

// Two runs (llama and tnl, cpu-1), one attempt each.
constexpr char kSpec[] =
    "name: cli\nvocab: 256\ndata: {path: data/tiny}\narchitectures: [llama, tnl]\n"
    "sizes: [cpu-1]\ncontexts: [64]\ntokens: 4096\nbatch_tokens: 1024\n"
    "checkpoint: {every_tokens: 1024}\nmax_attempts: 1\n";

// A loopback port that was free a moment ago (nothing listens on it).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// A started `flopwise` process whose stdout and stderr go to files.
class Program {
 public:
  Program(const std::string& dir, const std::vector<std::string>& args)
      : out_(dir + "/out-" + std::to_string(++count_)), err_(out_ + ".err") {
    std::vector<std::string> argv = {BinPath("flopwise")};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> pointers;
    for (std::string& arg : argv) pointers.push_back(arg.data());
    pointers.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_EQ(posix_spawn(&pid_, pointers[0], &actions, nullptr, pointers.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  // The exit code (-1 when it did not exit normally).
  int Wait() {
    int status = 0;
    EXPECT_EQ(waitpid(pid_, &status, 0), pid_);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string out() const { return Read(out_); }
  std::string err() const { return Read(err_); }

 private:
  static std::string Read(const std::string& path) {
    std::ostringstream text;
    text << std::ifstream(path).rdbuf();
    return text.str();
  }
  static inline int count_ = 0;
  std::string out_, err_;
  pid_t pid_ = -1;
};

struct Result {
  int code;
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    std::ofstream(dir_.Sub("client.token")) << kClientToken;
    fs::permissions(dir_.Sub("client.token"), fs::perms::owner_read | fs::perms::owner_write);
    StartServer();
  }

  // (Re)starts the coordinator with `limits` and `clock`.
  void StartServer(const server::SubmitLimits& limits = {},
                   server::Clock clock = server::SystemNowMs) {
    server_.reset();
    server::CoordinatorOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = dir_.Sub("coordinator.db");
    options.client_token = kClientToken;
    options.worker_token = kWorkerToken;
    options.submit_limits = limits;
    auto server = server::CoordinatorServer::Start(options, std::move(clock));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    address_ = "127.0.0.1:" + std::to_string(server_->port());
  }

  // The connection flags of a service command.
  std::vector<std::string> Connect() const {
    return {"--coordinator", address_, "--token-file", dir_.Sub("client.token")};
  }

  // Runs `flopwise args...` (with the connection flags when `connect`).
  Result Run(std::vector<std::string> args, bool connect = true) {
    if (connect) {
      for (const std::string& flag : Connect()) args.push_back(flag);
    }
    Program program(dir_.path(), args);
    const int code = program.Wait();
    return {code, program.out(), program.err()};
  }

  std::string SpecFile(const std::string& text) {
    std::ofstream(dir_.Sub("sweep.yaml")) << text;
    return dir_.Sub("sweep.yaml");
  }

  // Submits kSpec through the CLI; the sweep id.
  int64_t Submit() {
    const Result submitted = Run({"submit", SpecFile(kSpec), "--json"});
    EXPECT_EQ(submitted.code, 0) << submitted.err;
    return std::stoll(Json::parse(submitted.out).at("sweep_id").get<std::string>());
  }

  // A worker takes every pending run, says where its log is and fails it
  // (the first diverges).
  void FailEveryRun() {
    auto stub = v1::WorkerService::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    auto context = [] {
      auto c = std::make_unique<grpc::ClientContext>();
      c->AddMetadata("authorization", std::string("Bearer ") + kWorkerToken);
      return c;
    };
    v1::RegisterRequest reg;
    reg.set_hostname("cli-test");
    reg.set_cpu_cores(4);
    reg.set_memory_bytes(int64_t{8} << 30);
    v1::RegisterResponse registered;
    ASSERT_TRUE(stub->Register(context().get(), reg, &registered).ok());
    for (int i = 0;; ++i) {
      v1::AcquireRunRequest acquire;
      acquire.set_worker_id(registered.worker_id());
      acquire.set_free_cpu_cores(4);
      acquire.set_free_memory_bytes(int64_t{8} << 30);
      v1::AcquireRunResponse lease;
      ASSERT_TRUE(stub->AcquireRun(context().get(), acquire, &lease).ok());
      if (!lease.has_lease()) break;
      v1::ReportLogPathRequest log;
      log.set_lease_id(lease.lease().lease_id());
      log.set_attempt(lease.lease().attempt());
      log.set_log_path("/work/logs/run-" + std::to_string(lease.lease().run_id()) + ".attempt-" +
                       std::to_string(lease.lease().attempt()) + ".log");
      v1::ReportLogPathResponse logged;
      ASSERT_TRUE(stub->ReportLogPath(context().get(), log, &logged).ok());
      v1::FailRunRequest fail;
      fail.set_lease_id(lease.lease().lease_id());
      fail.set_attempt(lease.lease().attempt());
      fail.set_reason("exit code 1: test");
      fail.set_diverged(i == 0);
      v1::FailRunResponse failed;
      ASSERT_TRUE(stub->FailRun(context().get(), fail, &failed).ok());
    }
  }

  TempDir dir_;
  std::unique_ptr<server::CoordinatorServer> server_;
  std::string address_;
};

TEST_F(CliTest, VersionIsTheProjects) {
  const Result result = Run({"--version"}, false);
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, std::string("flopwise ") + FLOPWISE_VERSION + "\n");
}

TEST_F(CliTest, SubmitOverTheClientsLimitSaysWhenToRetryAndExitsFive) {
  // A stopped clock: the client's budget does not refill during the test.
  StartServer(server::SubmitLimits{.max_submits_per_minute = 1},
              [] { return int64_t{1'700'000'000'000}; });
  Submit();
  const Result refused = Run({"submit", SpecFile(kSpec)});
  EXPECT_EQ(refused.code, client::kExitRetryLater) << refused.err;
  EXPECT_NE(refused.err.find("RESOURCE_EXHAUSTED: client 127.0.0.1 has submitted 1 sweeps within "
                             "a minute, the coordinator's limit (--max-submits-per-minute 1): "
                             "retry in 60 s"),
            std::string::npos)
      << refused.err;
}

TEST_F(CliTest, MistypedCommandGetsASuggestion) {
  const Result typo = Run({"stauts"}, false);
  EXPECT_EQ(typo.code, client::kExitUsage);
  EXPECT_NE(typo.err.find("unknown command 'stauts'; did you mean 'status'?"), std::string::npos)
      << typo.err;
  const Result unknown = Run({"frobnicate", "--all"}, false);
  EXPECT_EQ(unknown.code, client::kExitUsage);
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos) << unknown.err;
  EXPECT_EQ(unknown.err.find("did you mean"), std::string::npos) << unknown.err;
}

TEST_F(CliTest, UsageErrorsExitWithTheUsageCode) {
  EXPECT_EQ(Run({"runs", "--no-such-flag"}).code, client::kExitUsage);
  EXPECT_EQ(Run({"cancel"}).code, client::kExitUsage);  // the sweep id is required
  EXPECT_EQ(Run({"fit", "--budget", "x"}, false).code, client::kExitUsage);
  const Result state = Run({"runs", "--state", "sleeping"});
  EXPECT_EQ(state.code, client::kExitUsage);
  EXPECT_NE(state.err.find("--state"), std::string::npos) << state.err;
  // The coordinator's INVALID_ARGUMENT for a bad spec is a usage error too.
  std::string bad = kSpec;
  bad.replace(bad.find("tokens: 4096"), 12, "tokens: -5");
  EXPECT_EQ(Run({"submit", SpecFile(bad)}).code, client::kExitUsage);
  EXPECT_EQ(Run({"--help"}, false).code, client::kExitOk);
}

TEST_F(CliTest, ErrorsExitWithTheirOwnCodes) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"status", "99"}, {"runs", "--sweep", "99"}, {"cancel", "99"}}) {
    const Result missing = Run(args);
    EXPECT_EQ(missing.code, client::kExitFailed) << args[0];
    EXPECT_NE(missing.err.find("NOT_FOUND"), std::string::npos) << missing.err;
  }
  const Result no_file = Run({"submit", dir_.Sub("missing.yaml")});
  EXPECT_EQ(no_file.code, client::kExitFailed) << no_file.err;
  // A port nothing listens on: the coordinator cannot be reached.
  const Result unreachable =
      Run({"status", "--coordinator", "127.0.0.1:" + std::to_string(FreePort()), "--token-file",
           dir_.Sub("client.token"), "--timeout-ms", "2000"},
          false);
  EXPECT_EQ(unreachable.code, client::kExitNoCoordinator) << unreachable.err;
}

TEST_F(CliTest, HealthSaysServingWithoutATokenAndExitsNonZeroOtherwise) {
  const Result serving = Run({"health", "--coordinator", address_}, false);
  EXPECT_EQ(serving.code, client::kExitOk) << serving.err;
  EXPECT_EQ(serving.out, "SERVING\n");
  const Result service =
      Run({"health", "--coordinator", address_, "--service", "flopwise.v1.WorkerService"}, false);
  EXPECT_EQ(service.code, client::kExitOk) << service.err;
  const Result unknown =
      Run({"health", "--coordinator", address_, "--service", "flopwise.v1.NoSuchService"}, false);
  EXPECT_EQ(unknown.code, client::kExitFailed) << unknown.err;
  EXPECT_NE(unknown.err.find("flopwise health: NOT_FOUND: " + address_ + ": "), std::string::npos)
      << unknown.err;
  const Result unreachable =
      Run({"health", "--coordinator", "127.0.0.1:" + std::to_string(FreePort()), "--timeout-ms",
           "2000"},
          false);
  EXPECT_EQ(unreachable.code, client::kExitNoCoordinator) << unreachable.err;
  EXPECT_EQ(Run({"health", "--coordinator", address_, "--token-file", "x"}, false).code,
            client::kExitUsage);
}

TEST_F(CliTest, JsonOfSubmitStatusRunsWorkersAndCancel) {
  const Result dry = Run({"submit", SpecFile(kSpec), "--dry-run", "--json"});
  ASSERT_EQ(dry.code, 0) << dry.err;
  const Json plan = Json::parse(dry.out);
  EXPECT_TRUE(plan.at("dry_run").get<bool>());
  EXPECT_EQ(plan.at("sweep_id"), "0");
  EXPECT_EQ(plan.at("runs").size(), 2u);

  const int64_t sweep_id = Submit();
  const std::string id = std::to_string(sweep_id);
  const Result all = Run({"status", "--json"});
  ASSERT_EQ(all.code, 0) << all.err;
  const Json sweeps = Json::parse(all.out);
  ASSERT_EQ(sweeps.at("sweeps").size(), 1u);
  EXPECT_EQ(sweeps["sweeps"][0].at("sweep_id"), id);
  EXPECT_EQ(sweeps["sweeps"][0].at("state"), "SWEEP_STATE_ACTIVE");
  EXPECT_EQ(sweeps["sweeps"][0].at("runs_finished"), 0);

  const Result one = Run({"status", id, "--json"});
  ASSERT_EQ(one.code, 0) << one.err;
  const Json view = Json::parse(one.out);
  EXPECT_EQ(view.at("sweeps").size(), 1u);
  ASSERT_EQ(view.at("runs").size(), 2u);
  EXPECT_EQ(view["runs"][0].at("state"), "RUN_STATE_PENDING");
  EXPECT_EQ(view["runs"][0].at("loss"), 0);  // every field is present

  const Result runs = Run({"runs", "--sweep", id, "--json"});
  ASSERT_EQ(runs.code, 0) << runs.err;
  EXPECT_EQ(Json::parse(runs.out).at("runs").size(), 2u);

  const Result workers = Run({"workers", "--json"});
  ASSERT_EQ(workers.code, 0) << workers.err;
  EXPECT_TRUE(Json::parse(workers.out).at("workers").empty());

  // --sweep names a sweep in every command; status and cancel also take it
  // as their positional argument.
  const Result by_flag = Run({"status", "--sweep", id, "--json"});
  ASSERT_EQ(by_flag.code, 0) << by_flag.err;
  const Json flagged = Json::parse(by_flag.out);
  EXPECT_EQ(flagged.at("sweeps").at(0).at("sweep_id"), id);
  EXPECT_EQ(flagged.at("runs").size(), 2u);

  const Result cancel = Run({"cancel", "--sweep", id, "--json"});
  ASSERT_EQ(cancel.code, 0) << cancel.err;
  const Json cancelled = Json::parse(cancel.out);
  EXPECT_EQ(cancelled.at("sweep_id"), id);
  EXPECT_EQ(cancelled.at("runs_cancelled"), 2);
}

TEST_F(CliTest, WatchOfASweepWhoseRunsFailedSaysSoAndExitsNonZero) {
  const int64_t sweep_id = Submit();
  FailEveryRun();
  const Result watch = Run({"status", std::to_string(sweep_id), "--watch"});
  EXPECT_EQ(watch.code, client::kExitSweepFailed) << watch.out << watch.err;
  EXPECT_NE(watch.out.find("completed with 2 failed"), std::string::npos) << watch.out;
  EXPECT_NE(watch.out.find("diverged"), std::string::npos) << watch.out;
  // Each run's attempts say which worker had it and why it ended.
  const Result run = Run({"run", "1"});
  ASSERT_EQ(run.code, client::kExitOk) << run.err;
  EXPECT_NE(run.out.find("attempts 1/1"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("cli-test"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("exit code 1: test"), std::string::npos) << run.out;
  // ... and where its trainer's log is, as host:path.
  EXPECT_NE(run.out.find("log cli-test:/work/logs/run-1.attempt-1.log"), std::string::npos)
      << run.out;
  const Result json = Run({"run", "2", "--json"});
  ASSERT_EQ(json.code, client::kExitOk) << json.err;
  const Json history = Json::parse(json.out).at("run").at("attempt_history");
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].at("outcome"), "ATTEMPT_OUTCOME_FAILED");
  EXPECT_EQ(history[0].at("log_path"), "/work/logs/run-2.attempt-1.log");
  EXPECT_EQ(history[0].at("worker_hostname"), "cli-test");
  EXPECT_EQ(Run({"run", "99"}).code, client::kExitFailed);
  // A snapshot reports the same and is not an error.
  const Result snapshot = Run({"status", std::to_string(sweep_id)});
  EXPECT_EQ(snapshot.code, client::kExitOk) << snapshot.err;
  EXPECT_NE(snapshot.out.find("completed with 2 failed"), std::string::npos) << snapshot.out;
}

TEST_F(CliTest, PendingRunsShowNoLoss) {
  const int64_t sweep_id = Submit();
  const Result status = Run({"status", std::to_string(sweep_id)});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_EQ(status.out.find("0.0000"), std::string::npos) << status.out;
  const Result runs = Run({"runs", "--sweep", std::to_string(sweep_id)});
  ASSERT_EQ(runs.code, 0) << runs.err;
  EXPECT_EQ(runs.out.find("0.0000"), std::string::npos) << runs.out;
}

TEST_F(CliTest, WatchExitsNonZeroWhenTheCoordinatorStopsMidSweep) {
  const int64_t sweep_id = Submit();
  std::vector<std::string> args = {"status", std::to_string(sweep_id), "--watch"};
  for (const std::string& flag : Connect()) args.push_back(flag);
  Program watch(dir_.path(), args);
  // The runs' table is on screen: the watch follows the stream.
  ASSERT_TRUE(WaitFor([&] { return watch.out().find("pending") != std::string::npos; }, 60));
  server_.reset();  // the coordinator stops; its streams end with OK
  EXPECT_EQ(watch.Wait(), client::kExitNoCoordinator) << watch.out() << watch.err();
  EXPECT_NE(watch.err().find("still active"), std::string::npos) << watch.err();
}

TEST_F(CliTest, RetryPutsFailedAndDivergedRunsBackToPending) {
  const int64_t sweep_id = Submit();
  FailEveryRun();  // run 1 diverged, run 2 failed: the sweep completed
  const std::string id = std::to_string(sweep_id);
  const Result bad = Run({"retry", id, "--runs", "1,x"});
  EXPECT_EQ(bad.code, client::kExitUsage);
  EXPECT_NE(bad.err.find("--runs: \"x\""), std::string::npos) << bad.err;

  const Result one = Run({"retry", id, "--runs", "1"});
  ASSERT_EQ(one.code, client::kExitOk) << one.err;
  EXPECT_NE(one.out.find("retried 1 run of sweep " + id + " (the sweep is active again)"),
            std::string::npos)
      << one.out;
  EXPECT_NE(one.out.find("run 1 "), std::string::npos) << one.out;
  EXPECT_NE(one.out.find(": pending, attempts 1/2"), std::string::npos) << one.out;

  const Result rest = Run({"retry", "--sweep", id, "--json"});
  ASSERT_EQ(rest.code, client::kExitOk) << rest.err;
  const Json retried = Json::parse(rest.out);
  EXPECT_EQ(retried.at("sweep_id"), id);
  EXPECT_FALSE(retried.at("sweep_reopened").get<bool>());  // active since the first retry
  ASSERT_EQ(retried.at("runs").size(), 1u);
  EXPECT_EQ(retried["runs"][0].at("run_id"), "2");
  EXPECT_EQ(retried["runs"][0].at("state"), "RUN_STATE_PENDING");

  const Result none = Run({"retry", id});
  ASSERT_EQ(none.code, client::kExitOk) << none.err;
  EXPECT_NE(none.out.find("no failed or diverged run to retry"), std::string::npos) << none.out;
  const Result pending = Run({"retry", id, "--runs", "1"});
  EXPECT_EQ(pending.code, client::kExitFailed);
  EXPECT_NE(pending.err.find("FAILED_PRECONDITION"), std::string::npos) << pending.err;
  const Result missing = Run({"retry", "99"});
  EXPECT_EQ(missing.code, client::kExitFailed);
  EXPECT_NE(missing.err.find("NOT_FOUND"), std::string::npos) << missing.err;
}

TEST_F(CliTest, PendingRunsSayWhyAndSubmitWarnsOfRunsNoWorkerCouldHold) {
  const int64_t sweep_id = Submit();
  const Result run = Run({"run", "1"});
  ASSERT_EQ(run.code, client::kExitOk) << run.err;
  EXPECT_NE(run.out.find("\npending: no worker registered\n"), std::string::npos) << run.out;
  const Result runs = Run({"runs", "--sweep", std::to_string(sweep_id)});
  ASSERT_EQ(runs.code, client::kExitOk) << runs.err;
  EXPECT_NE(runs.out.find("pending: no worker registered"), std::string::npos) << runs.out;
  const Result json = Run({"run", "2", "--json"});
  ASSERT_EQ(json.code, client::kExitOk) << json.err;
  EXPECT_EQ(Json::parse(json.out).at("run").at("pending_reason"), "no worker registered");

  FailEveryRun();  // registers a worker with 4 cores and 8 GiB
  std::string huge = kSpec;
  huge += "resources: {memory: 64GiB}\n";
  const Result refused = Run({"submit", SpecFile(huge)});
  EXPECT_EQ(refused.code, client::kExitFailed) << refused.err;
  EXPECT_NE(refused.err.find("runs no registered worker could ever hold"), std::string::npos)
      << refused.err;
  const Result submitted = Run({"submit", SpecFile(huge), "--allow-unplaceable"});
  ASSERT_EQ(submitted.code, client::kExitOk) << submitted.err;
  EXPECT_NE(submitted.out.find("\nwarning: "), std::string::npos) << submitted.out;
  EXPECT_NE(submitted.out.find("the largest registered worker has 4 cores / 8.0 GiB"),
            std::string::npos)
      << submitted.out;
  const Result dry = Run({"submit", SpecFile(huge), "--dry-run", "--json"});
  ASSERT_EQ(dry.code, client::kExitOk) << dry.err;
  EXPECT_EQ(Json::parse(dry.out).at("warnings").size(), 2u);
}

// `export --format tensorboard` writes into the --output folder and refuses
// the flags it does not take, naming each.
TEST_F(CliTest, TensorBoardExportNeedsAFolderAndNamesTheFlagsItRefuses) {
  const std::string sweep = std::to_string(Submit());
  const std::string logs = dir_.Sub("tb");
  const Result exported = Run({"export", "--format", "tensorboard", "--sweep", sweep, "-o", logs});
  EXPECT_EQ(exported.code, client::kExitOk) << exported.err;
  EXPECT_NE(exported.err.find("exported 0 events of 0 runs to " + logs), std::string::npos)
      << exported.err;
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"export", "--format", "tensorboard"}, "--output"},
      {{"export", "--format", "tensorboard", "-o", logs, "--what", "evals"}, "--what"},
      {{"export", "--format", "tensorboard", "-o", logs, "--include-superseded"},
       "--include-superseded"},
      {{"export", "--format", "parquet"}, "--format"}};
  for (const auto& [args, flag] : refused) {
    const Result result = Run(args);
    EXPECT_EQ(result.code, client::kExitUsage) << flag << ": " << result.err;
    EXPECT_NE(result.err.find(flag), std::string::npos) << result.err;
  }
}

}  // namespace
}  // namespace flopwise::testing

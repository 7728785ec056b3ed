// The client library's calls against a real coordinator on a loopback port
// (temporary SQLite file): sweeps and runs as `flopwise status` and `runs`
// read them, a sweep's records as `plot --sweep` fetches them, and the calls
// of `submit`, `cancel`, `workers` and `drain`.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/export.h"
#include "client/sweep_records.h"
#include "client/sweep_status.h"
#include "client/sweep_submit.h"
#include "client/workers.h"
#include "flopwise/v1/worker_service.grpc.pb.h"
#include "server/coordinator_server.h"

namespace flopwise::client {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::flopwise::v1;

constexpr char kClientToken[] = "client-secret";
constexpr char kWorkerToken[] = "worker-secret";

// Two pending runs (llama and tnl, cpu-1); nothing trains them.
constexpr char kSpec[] =
    "name: calls\nvocab: 256\ndata: {path: /data/tiny}\narchitectures: [llama, tnl]\n"
    "sizes: [cpu-1]\ncontexts: [64]\ntokens: 4096\nbatch_tokens: 1024\n"
    "checkpoint: {every_tokens: 1024}\n";

class ClientCallsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    dir_ = fs::temp_directory_path() /
           ("flopwise-client-calls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    server::CoordinatorOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = (dir_ / "coordinator.db").string();
    options.client_token = kClientToken;
    options.worker_token = kWorkerToken;
    auto server = server::CoordinatorServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    connection_.stub = v1::UserService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
    connection_.token = kClientToken;
    connection_.timeout_ms = 20'000;
  }
  void TearDown() override {
    connection_.stub.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  int64_t Submit() {
    grpc::ClientContext context;
    connection_.Prepare(&context);
    v1::SubmitSweepRequest request;
    request.set_spec_yaml(kSpec);
    v1::SubmitSweepResponse response;
    const grpc::Status status = connection_.stub->SubmitSweep(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.sweep_id();
  }

  // `text` as a file in the test's directory; its path.
  std::string WriteFile(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  // Registers a worker as a worker daemon does; its id.
  std::string RegisterWorker(const std::string& hostname) {
    auto stub = v1::WorkerService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    PrepareContext(&context, kWorkerToken, 20'000);
    v1::RegisterRequest request;
    request.set_hostname(hostname);
    request.set_cpu_cores(4);
    request.set_memory_bytes(int64_t{8} << 30);
    v1::RegisterResponse response;
    const grpc::Status status = stub->Register(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.worker_id();
  }

  fs::path dir_;
  std::unique_ptr<server::CoordinatorServer> server_;
  UserConnection connection_;
};

TEST_F(ClientCallsTest, SweepSnapshotHasTheCoordinatorsSummaryAndEveryRun) {
  const int64_t sweep_id = Submit();
  int changes = 0;
  auto view =
      WatchSweep(connection_, sweep_id, /*follow=*/false, [&](const SweepView&) { ++changes; });
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(changes, 0);  // a snapshot is not followed
  ASSERT_EQ(view->sweeps.size(), 1u);
  const v1::Sweep& sweep = view->sweeps[0];
  EXPECT_EQ(sweep.name(), "calls");
  EXPECT_EQ(sweep.state(), v1::SWEEP_STATE_ACTIVE);
  EXPECT_EQ(sweep.runs_total(), 2);
  EXPECT_EQ(sweep.runs_finished(), 0);
  EXPECT_EQ(sweep.runs_by_state().at("RUN_STATE_PENDING"), 2);
  ASSERT_EQ(view->runs.size(), 2u);
  for (const auto& [id, run] : view->runs) EXPECT_EQ(run.state(), v1::RUN_STATE_PENDING);

  EXPECT_EQ(WatchSweep(connection_, sweep_id + 1, false, [](const SweepView&) {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ClientCallsTest, ListsSweepsAndRunsByState) {
  const int64_t sweep_id = Submit();
  auto sweeps = ListSweeps(connection_, /*include_finished=*/false);
  ASSERT_TRUE(sweeps.ok()) << sweeps.status();
  ASSERT_EQ(sweeps->size(), 1u);
  EXPECT_EQ((*sweeps)[0].sweep_id(), sweep_id);
  const v1::RunState pending[] = {v1::RUN_STATE_PENDING};
  const v1::RunState running[] = {v1::RUN_STATE_RUNNING};
  auto all = ListRuns(connection_, sweep_id, {});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 2u);
  EXPECT_EQ(ListRuns(connection_, sweep_id, pending)->size(), 2u);
  EXPECT_TRUE(ListRuns(connection_, sweep_id, running)->empty());
  EXPECT_EQ(ListRuns(connection_, sweep_id + 1, {}).status().code(), absl::StatusCode::kNotFound);
}

// Sweeps whose specs hold 6 MiB together: one response would pass gRPC's
// default 4 MiB limit on a received message, so the listings arrive in pages.
TEST_F(ClientCallsTest, ListingsLargerThanOneMessageArriveInPages) {
  const std::string padding = "# " + std::string(300 << 10, 'x') + "\n";
  std::vector<int64_t> ids;
  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext context;
    connection_.Prepare(&context);
    v1::SubmitSweepRequest request;
    request.set_spec_yaml(padding + kSpec);
    v1::SubmitSweepResponse response;
    const grpc::Status status = connection_.stub->SubmitSweep(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ids.push_back(response.sweep_id());
  }
  auto sweeps = ListSweeps(connection_, /*include_finished=*/true);
  ASSERT_TRUE(sweeps.ok()) << sweeps.status();
  std::vector<int64_t> listed;
  for (const v1::Sweep& sweep : *sweeps) {
    listed.push_back(sweep.sweep_id());
    EXPECT_EQ(sweep.spec_yaml(), padding + kSpec);
  }
  EXPECT_EQ(listed, ids);
  auto runs = ListRuns(connection_, 0, {});
  ASSERT_TRUE(runs.ok()) << runs.status();
  EXPECT_EQ(runs->size(), 40u);
  std::ostringstream csv;
  auto exported = Export(*connection_.stub, connection_.token,
                         ExportOptions{.format = "csv", .what = "checkpoints"}, csv);
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_EQ(*exported, 0);
  EXPECT_EQ(csv.str().rfind("sweep,run,", 0), 0u) << csv.str();
}

TEST_F(ClientCallsTest, WatchingActiveSweepsWithNoneEndsAtOnce) {
  auto view = WatchActiveSweeps(connection_, [](const SweepView&) {});
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_TRUE(view->sweeps.empty());
}

TEST_F(ClientCallsTest, FollowingASweepWhoseCoordinatorStopsIsAnError) {
  const int64_t sweep_id = Submit();
  std::atomic<bool> following = false;
  absl::Status watched;
  std::thread watch([&] {
    watched = WatchSweep(connection_, sweep_id, /*follow=*/true, [&](const SweepView&) {
                following = true;
              }).status();
  });
  while (!following) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server_.reset();  // its streams end with OK while both runs are pending
  watch.join();
  EXPECT_EQ(watched.code(), absl::StatusCode::kUnavailable) << watched;
  EXPECT_NE(watched.message().find("2 of 2 runs were still active"), std::string::npos) << watched;
}

TEST_F(ClientCallsTest, SweepRecordsNeedASweepWithCheckpoints) {
  const int64_t sweep_id = Submit();
  EXPECT_EQ(FetchSweepRecords(connection_, sweep_id).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(FetchSweepRecords(connection_, sweep_id + 1).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ClientCallsTest, DryRunExpandsASpecFileAndStoresNothing) {
  auto response = SubmitSweepFile(connection_, WriteFile("sweep.yaml", kSpec), /*dry_run=*/true);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->sweep_id(), 0);
  ASSERT_EQ(response->runs_size(), 2);
  const std::string text = SubmitText(*response, /*dry_run=*/true);
  EXPECT_EQ(text.rfind("sweep calls: 2 runs (dry run, nothing stored)", 0), 0u) << text;
  EXPECT_NE(text.find(response->runs(0).name()), std::string::npos) << text;
  EXPECT_NE(text.find(" tnl "), std::string::npos) << text;
  EXPECT_TRUE(ListSweeps(connection_, /*include_finished=*/true)->empty());
}

// Like sbatch, `flopwise submit` sends its working directory, against which
// the coordinator resolves the spec's relative paths.
TEST_F(ClientCallsTest, RelativePathsOfASpecFileResolveAgainstTheWorkingDirectory) {
  std::string spec = kSpec;
  const std::string absolute = "data: {path: /data/tiny}";
  spec.replace(spec.find(absolute), absolute.size(), "data: {path: data/tiny}");
  auto response = SubmitSweepFile(connection_, WriteFile("relative.yaml", spec), /*dry_run=*/true);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_GT(response->runs_size(), 0);
  EXPECT_EQ(response->runs(0).config().data_path(), (fs::current_path() / "data/tiny").string());
}

TEST_F(ClientCallsTest, SubmitsASpecFileAndCancelsTheSweep) {
  auto submitted = SubmitSweepFile(connection_, WriteFile("sweep.yaml", kSpec), false);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  const int64_t sweep_id = submitted->sweep_id();
  ASSERT_GT(sweep_id, 0);
  EXPECT_EQ(SubmitText(*submitted, false)
                .rfind("submitted sweep " + std::to_string(sweep_id) + " (calls): 2 runs, ", 0),
            0u);
  EXPECT_EQ(ListSweeps(connection_, false)->size(), 1u);

  auto cancelled = CancelSweep(connection_, sweep_id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->runs_cancelled(), 2);
  EXPECT_EQ(CancelText(sweep_id, *cancelled),
            "cancelled sweep " + std::to_string(sweep_id) + ": 2 runs stopped or dequeued\n");
  EXPECT_EQ(GetSweep(connection_, sweep_id)->state(), v1::SWEEP_STATE_CANCELLED);
  EXPECT_EQ(CancelSweep(connection_, sweep_id + 1).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientCallsTest, SubmitNamesAMissingFileAndTheBadField) {
  const std::string missing = (dir_ / "missing.yaml").string();
  const absl::Status not_found = SubmitSweepFile(connection_, missing, false).status();
  EXPECT_EQ(not_found.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(not_found.message().find(missing), std::string::npos) << not_found;

  std::string bad = kSpec;
  bad.replace(bad.find("tokens: 4096"), 12, "tokens: -5");
  const absl::Status invalid =
      SubmitSweepFile(connection_, WriteFile("bad.yaml", bad), false).status();
  EXPECT_EQ(invalid.code(), absl::StatusCode::kInvalidArgument) << invalid;
  EXPECT_NE(invalid.message().find("tokens"), std::string::npos) << invalid;
}

TEST_F(ClientCallsTest, ListsWorkersAndDrainsOne) {
  auto none = ListWorkers(connection_);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  const std::string worker_id = RegisterWorker("host-a");
  auto workers = ListWorkers(connection_);
  ASSERT_TRUE(workers.ok()) << workers.status();
  ASSERT_EQ(workers->size(), 1u);
  EXPECT_EQ((*workers)[0].worker_id(), worker_id);
  EXPECT_FALSE((*workers)[0].draining());

  auto drained = SetDraining(connection_, worker_id, true);
  ASSERT_TRUE(drained.ok()) << drained.status();
  EXPECT_TRUE(drained->draining());
  EXPECT_EQ(DrainText(*drained),
            "worker " + worker_id + ": draining, takes no new runs (0 runs still running)\n");
  const std::string table =
      WorkerTable(*ListWorkers(connection_), drained->last_heartbeat_ms() + 3'000);
  EXPECT_NE(table.find(worker_id), std::string::npos) << table;
  EXPECT_NE(table.find(" host-a "), std::string::npos) << table;
  EXPECT_NE(table.find(" draining "), std::string::npos) << table;
  EXPECT_NE(table.find("3s ago"), std::string::npos) << table;

  auto undone = SetDraining(connection_, worker_id, false);
  ASSERT_TRUE(undone.ok()) << undone.status();
  EXPECT_FALSE(undone->draining());
  EXPECT_EQ(SetDraining(connection_, "no-such-worker", true).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace flopwise::client

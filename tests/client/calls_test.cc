// The client library's calls against a real coordinator on a loopback port
// (temporary SQLite file): sweeps and runs as `flopwise status` and `runs`
// read them, and a sweep's records as `plot --sweep` fetches them.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "client/sweep_records.h"
#include "client/sweep_status.h"
#include "server/coordinator_server.h"

namespace flopwise::client {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::flopwise::v1;

constexpr char kClientToken[] = "client-secret";

// Two pending runs (llama and tnl, cpu-1); nothing trains them.
constexpr char kSpec[] =
    "name: calls\nvocab: 256\ndata: {path: data/tiny}\narchitectures: [llama, tnl]\n"
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
    options.worker_token = "worker-secret";
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
}

TEST_F(ClientCallsTest, WatchingActiveSweepsWithNoneEndsAtOnce) {
  auto view = WatchActiveSweeps(connection_, [](const SweepView&) {});
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_TRUE(view->sweeps.empty());
}

TEST_F(ClientCallsTest, SweepRecordsNeedASweepWithCheckpoints) {
  const int64_t sweep_id = Submit();
  EXPECT_EQ(FetchSweepRecords(connection_, sweep_id).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(FetchSweepRecords(connection_, sweep_id + 1).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace flopwise::client

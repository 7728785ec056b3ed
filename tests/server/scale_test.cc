// The coordinator at scale, over real gRPC on a loopback port with a temporary
// SQLite file and an injected clock: every list call pages (each row once, in
// the call's order, whatever the page size), and SubmitSweep is bounded per
// client, per sweep and by the runs pending (docs/operations.md, "Limits").
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "flopwise/v1/user_service.grpc.pb.h"
#include "flopwise/v1/worker_service.grpc.pb.h"
#include "server/coordinator_server.h"

namespace flopwise::server {
namespace {

namespace fs = std::filesystem;

constexpr char kClientToken[] = "client-secret";
constexpr char kWorkerToken[] = "worker-secret";

// Two runs (llama and tnl, cpu-1) of 4 steps each, at `priority`.
std::string TwoRunSpec(int priority) {
  return "name: scale\npriority: " + std::to_string(priority) +
         "\nvocab: 256\ndata: {path: /data/tiny}\narchitectures: [llama, tnl]\n"
         "sizes: [cpu-1]\ncontexts: [64]\ntokens: 4096\nbatch_tokens: 1024\n"
         "checkpoint: {every_tokens: 1024}\n";
}

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return context;
}

// Every page of a list call made with `page_size`: the pages' responses.
template <typename Request, typename Response>
std::vector<Response> AllPages(
    Request request, int page_size,
    const std::function<grpc::Status(grpc::ClientContext*, const Request&, Response*)>& call) {
  request.set_page_size(page_size);
  std::vector<Response> pages;
  for (int i = 0; i < 1000; ++i) {
    Response response;
    const grpc::Status status = call(Ctx(kClientToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) break;
    EXPECT_LE(response.ByteSizeLong(), size_t{4} << 20);
    pages.push_back(response);
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  return pages;
}

class ScaleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    dir_ = fs::temp_directory_path() /
           ("flopwise-scale-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    user_.reset();
    worker_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  // Starts the coordinator with `limits` and `max_pending_runs`.
  void StartServer(const SubmitLimits& limits = {},
                   size_t max_pending_runs = kDefaultMaxPendingRuns) {
    CoordinatorOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = (dir_ / "coordinator.db").string();
    options.client_token = kClientToken;
    options.worker_token = kWorkerToken;
    options.reap_interval_ms = 3'600'000;
    options.submit_limits = limits;
    options.scheduler.max_pending_runs = max_pending_runs;
    auto server = CoordinatorServer::Start(options, [this] { return now_ms_.load(); });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                       grpc::InsecureChannelCredentials());
    user_ = v1::UserService::NewStub(channel);
    worker_ = v1::WorkerService::NewStub(channel);
  }

  grpc::Status Submit(const std::string& spec, v1::SubmitSweepResponse* response,
                      bool dry_run = false) {
    v1::SubmitSweepRequest request;
    request.set_spec_yaml(spec);
    request.set_dry_run(dry_run);
    return user_->SubmitSweep(Ctx(kClientToken).get(), request, response);
  }

  v1::SubmitSweepResponse SubmitOk(const std::string& spec) {
    v1::SubmitSweepResponse response;
    const grpc::Status status = Submit(spec, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::string Register(const std::string& hostname) {
    v1::RegisterRequest request;
    request.set_hostname(hostname);
    request.set_cpu_cores(4);
    request.set_memory_bytes(int64_t{16} << 30);
    v1::RegisterResponse response;
    const grpc::Status status = worker_->Register(Ctx(kWorkerToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.worker_id();
  }

  v1::Lease Acquire(const std::string& worker_id) {
    v1::AcquireRunRequest request;
    request.set_worker_id(worker_id);
    request.set_free_cpu_cores(4);
    request.set_free_memory_bytes(int64_t{16} << 30);
    v1::AcquireRunResponse response;
    const grpc::Status status = worker_->AcquireRun(Ctx(kWorkerToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.lease();
  }

  // Reports steps 1..4 of the lease: a metric row and a checkpoint each.
  void ReportFourSteps(const v1::Lease& lease) {
    v1::ReportMetricsRequest metrics;
    metrics.set_lease_id(lease.lease_id());
    metrics.set_attempt(lease.attempt());
    for (int64_t step = 1; step <= 4; ++step) {
      v1::MetricPoint* point = metrics.add_rows();
      point->set_seq(step - 1);
      point->set_step(step);
      point->set_tokens(step * 1024);
      point->set_loss(5.0 - 0.1 * static_cast<double>(step));
      v1::ReportCheckpointRequest checkpoint;
      checkpoint.set_lease_id(lease.lease_id());
      checkpoint.set_attempt(lease.attempt());
      v1::CheckpointPoint* c = checkpoint.mutable_checkpoint();
      c->set_seq(step - 1);
      c->set_step(step);
      c->set_tokens(step * 1024);
      c->set_path("/runs/run-" + std::to_string(lease.run_id()) + "/step-" + std::to_string(step));
      c->set_sha256(std::string(64, 'a'));
      v1::ReportCheckpointResponse reported;
      const grpc::Status status =
          worker_->ReportCheckpoint(Ctx(kWorkerToken).get(), checkpoint, &reported);
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
    v1::ReportMetricsResponse reported;
    const grpc::Status status = worker_->ReportMetrics(Ctx(kWorkerToken).get(), metrics, &reported);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  template <typename Request, typename Response>
  std::function<grpc::Status(grpc::ClientContext*, const Request&, Response*)> Rpc(grpc::Status (
      v1::UserService::Stub::*method)(grpc::ClientContext*, const Request&, Response*)) {
    return
        [this, method](grpc::ClientContext* context, const Request& request, Response* response) {
          return ((*user_).*method)(context, request, response);
        };
  }

  fs::path dir_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::unique_ptr<CoordinatorServer> server_;
  std::unique_ptr<v1::UserService::Stub> user_;
  std::unique_ptr<v1::WorkerService::Stub> worker_;
};

TEST_F(ScaleTest, SweepsAndRunsArePagedEachRowOnceInOrder) {
  StartServer();
  std::vector<int64_t> sweep_ids;
  std::vector<std::tuple<int, int64_t>> run_order;  // (-priority, run id)
  for (int i = 0; i < 7; ++i) {
    const v1::SubmitSweepResponse submitted = SubmitOk(TwoRunSpec(i % 3));
    sweep_ids.push_back(submitted.sweep_id());
    for (const v1::Run& run : submitted.runs()) run_order.emplace_back(-(i % 3), run.run_id());
  }
  std::sort(run_order.begin(), run_order.end());
  v1::CancelSweepResponse cancelled;
  for (const int64_t id : {sweep_ids[1], sweep_ids[4]}) {
    v1::CancelSweepRequest cancel;
    cancel.set_sweep_id(id);
    ASSERT_TRUE(user_->CancelSweep(Ctx(kClientToken).get(), cancel, &cancelled).ok());
  }

  auto sweep_ids_of = [&](const v1::ListSweepsRequest& request, int page_size) {
    std::vector<int64_t> ids;
    for (const auto& page : AllPages(request, page_size, Rpc(&v1::UserService::Stub::ListSweeps))) {
      EXPECT_EQ(page.last_sweep_id(), sweep_ids.back());
      for (const v1::Sweep& sweep : page.sweeps()) ids.push_back(sweep.sweep_id());
    }
    return ids;
  };
  v1::ListSweepsRequest every;
  every.set_include_finished(true);
  for (int page_size : {1, 3, 7, 0}) EXPECT_EQ(sweep_ids_of(every, page_size), sweep_ids);
  EXPECT_EQ(AllPages(every, 3, Rpc(&v1::UserService::Stub::ListSweeps)).size(), 3u);
  v1::ListSweepsRequest active;
  EXPECT_EQ(sweep_ids_of(active, 2), (std::vector<int64_t>{sweep_ids[0], sweep_ids[2], sweep_ids[3],
                                                           sweep_ids[5], sweep_ids[6]}));
  active.set_after_sweep_id(sweep_ids[3]);  // also the finished ones submitted after it
  EXPECT_EQ(sweep_ids_of(active, 2),
            (std::vector<int64_t>{sweep_ids[0], sweep_ids[2], sweep_ids[3], sweep_ids[4],
                                  sweep_ids[5], sweep_ids[6]}));

  auto run_ids_of = [&](const v1::ListRunsRequest& request, int page_size) {
    std::vector<int64_t> ids;
    for (const auto& page : AllPages(request, page_size, Rpc(&v1::UserService::Stub::ListRuns))) {
      for (const v1::Run& run : page.runs()) ids.push_back(run.run_id());
    }
    return ids;
  };
  std::vector<int64_t> expected_runs;
  for (const auto& [priority, run_id] : run_order) expected_runs.push_back(run_id);
  for (int page_size : {1, 3, 5, 0}) EXPECT_EQ(run_ids_of({}, page_size), expected_runs);
  v1::ListRunsRequest two_states;
  two_states.add_states(v1::RUN_STATE_CANCELLED);
  two_states.add_states(v1::RUN_STATE_PENDING);
  EXPECT_EQ(run_ids_of(two_states, 4), expected_runs);
  v1::ListRunsRequest cancelled_runs;
  cancelled_runs.add_states(v1::RUN_STATE_CANCELLED);
  EXPECT_EQ(run_ids_of(cancelled_runs, 1).size(), 4u);
  v1::ListRunsRequest one_sweep;
  one_sweep.set_sweep_id(sweep_ids[2]);
  EXPECT_EQ(run_ids_of(one_sweep, 1).size(), 2u);
}

TEST_F(ScaleTest, WorkersArePaged) {
  StartServer();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Register("host-" + std::to_string(i)));
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> listed;
  for (const auto& page :
       AllPages(v1::ListWorkersRequest(), 2, Rpc(&v1::UserService::Stub::ListWorkers))) {
    for (const v1::Worker& worker : page.workers()) listed.push_back(worker.worker_id());
  }
  EXPECT_EQ(listed, ids);
}

TEST_F(ScaleTest, MetricsAndCheckpointsArePagedByRunThenStep) {
  StartServer();
  const v1::SubmitSweepResponse sweep = SubmitOk(TwoRunSpec(0));
  const std::string worker = Register("w");
  for (int i = 0; i < 2; ++i) ReportFourSteps(Acquire(worker));
  std::vector<std::pair<int64_t, int64_t>> expected;  // (run, step)
  for (const v1::Run& run : sweep.runs()) {
    for (int64_t step = 1; step <= 4; ++step) expected.emplace_back(run.run_id(), step);
  }
  std::sort(expected.begin(), expected.end());
  for (const bool include_superseded : {false, true}) {
    for (int page_size : {1, 3, 0}) {
      v1::GetMetricsRequest metrics;
      metrics.set_sweep_id(sweep.sweep_id());
      metrics.set_include_superseded(include_superseded);
      std::vector<std::pair<int64_t, int64_t>> rows;
      for (const auto& page :
           AllPages(metrics, page_size, Rpc(&v1::UserService::Stub::GetMetrics))) {
        for (const v1::MetricRow& row : page.rows())
          rows.emplace_back(row.run_id(), row.point().step());
      }
      EXPECT_EQ(rows, expected) << "metrics, page size " << page_size;
      v1::GetCheckpointsRequest checkpoints;
      checkpoints.set_sweep_id(sweep.sweep_id());
      checkpoints.set_include_superseded(include_superseded);
      rows.clear();
      for (const auto& page :
           AllPages(checkpoints, page_size, Rpc(&v1::UserService::Stub::GetCheckpoints))) {
        for (const v1::CheckpointRow& row : page.checkpoints()) {
          rows.emplace_back(row.run_id(), row.checkpoint().step());
        }
      }
      EXPECT_EQ(rows, expected) << "checkpoints, page size " << page_size;
    }
  }
}

TEST_F(ScaleTest, BadPageArgumentsNameTheField) {
  StartServer();
  SubmitOk(TwoRunSpec(0));
  SubmitOk(TwoRunSpec(0));
  v1::ListRunsRequest request;
  v1::ListRunsResponse response;
  request.set_page_size(-1);
  grpc::Status status = user_->ListRuns(Ctx(kClientToken).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("page_size: ", 0), 0u) << status.error_message();
  request.set_page_size(100'001);
  EXPECT_EQ(user_->ListRuns(Ctx(kClientToken).get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // A ListSweeps token (one part) is no ListRuns token (two).
  v1::ListSweepsRequest sweeps;
  sweeps.set_page_size(1);
  v1::ListSweepsResponse listed;
  ASSERT_TRUE(user_->ListSweeps(Ctx(kClientToken).get(), sweeps, &listed).ok());
  ASSERT_FALSE(listed.next_page_token().empty());
  for (const std::string& token : {std::string("garbage"), std::string("[1, \"x\"]"),
                                   std::string("[1]"), listed.next_page_token()}) {
    request.set_page_size(0);
    request.set_page_token(token);
    status = user_->ListRuns(Ctx(kClientToken).get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << token;
    EXPECT_EQ(status.error_message().rfind("page_token: ", 0), 0u) << status.error_message();
  }
}

TEST_F(ScaleTest, SubmitsOverTheClientsLimitAreRefusedUntilItRefills) {
  StartServer(SubmitLimits{.max_submits_per_minute = 2});
  v1::SubmitSweepResponse response;
  ASSERT_TRUE(Submit(TwoRunSpec(0), &response).ok());
  ASSERT_TRUE(Submit(TwoRunSpec(0), &response).ok());
  grpc::Status status = Submit(TwoRunSpec(0), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("(--max-submits-per-minute 2): retry in 30 s"),
            std::string::npos)
      << status.error_message();
  EXPECT_TRUE(Submit(TwoRunSpec(0), &response, /*dry_run=*/true).ok()) << "dry runs store nothing";
  now_ms_ += 30'000;  // one submission refilled
  EXPECT_TRUE(Submit(TwoRunSpec(0), &response).ok());
  EXPECT_EQ(Submit(TwoRunSpec(0), &response).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  v1::ListSweepsResponse sweeps;
  ASSERT_TRUE(user_->ListSweeps(Ctx(kClientToken).get(), {}, &sweeps).ok());
  EXPECT_EQ(sweeps.sweeps_size(), 3);
}

TEST_F(ScaleTest, PendingRunsAndRunsPerSweepAreBounded) {
  StartServer(SubmitLimits{.max_runs_per_sweep = 2}, /*max_pending_runs=*/3);
  v1::SubmitSweepResponse response;
  ASSERT_TRUE(Submit(TwoRunSpec(0), &response).ok());
  grpc::Status status = Submit(TwoRunSpec(0), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("2 runs are pending and the sweep adds 2"),
            std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("at most 3 (--max-pending-runs)"), std::string::npos)
      << status.error_message();
  Acquire(Register("w"));  // one run leaves the queue
  EXPECT_TRUE(Submit(TwoRunSpec(0), &response).ok());

  const std::string three_runs =
      "name: big\nvocab: 256\ndata: {path: /data/tiny}\narchitectures: [llama, tnl, hgrn2]\n"
      "sizes: [cpu-1]\ncontexts: [64]\ntokens: 4096\nbatch_tokens: 1024\n";
  status = Submit(three_runs, &response, /*dry_run=*/true);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("spec: expands to 3 runs; the coordinator takes at most 2"),
            std::string::npos)
      << status.error_message();
}

// Ten clients flooding SubmitSweep (the probe that once stored 14,597 sweeps
// in 30 s and pushed readers past their deadlines): the default limit admits
// 60 a minute from one address and refuses the rest before any parsing, so
// the store holds exactly 60 and every read made meanwhile is answered
// within its deadline (a generous 10 s: the point is that none times out).
TEST_F(ScaleTest, ASubmitFloodIsBoundedAndReadsStayAnswered) {
  StartServer();
  constexpr int kClients = 10, kSubmitsEach = 40, kReads = 40;
  std::atomic<int> admitted = 0, refused = 0, other = 0;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < kSubmitsEach; ++i) {
        v1::SubmitSweepResponse response;
        const grpc::StatusCode code = Submit(TwoRunSpec(0), &response).error_code();
        if (code == grpc::StatusCode::OK) {
          ++admitted;
        } else if (code == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  std::vector<grpc::StatusCode> read_codes;
  for (int i = 0; i < kReads; ++i) {
    auto context = Ctx(kClientToken);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListSweepsRequest request;
    request.set_page_size(50);
    v1::ListSweepsResponse response;
    read_codes.push_back(user_->ListSweeps(context.get(), request, &response).error_code());
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(std::count(read_codes.begin(), read_codes.end(), grpc::StatusCode::OK), kReads);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(admitted.load(), 60);
  EXPECT_EQ(refused.load(), kClients * kSubmitsEach - 60);
  size_t stored = 0;
  for (const auto& page :
       AllPages(v1::ListSweepsRequest(), 50, Rpc(&v1::UserService::Stub::ListSweeps))) {
    stored += page.sweeps_size();
  }
  EXPECT_EQ(stored, 60u);
}

}  // namespace
}  // namespace flopwise::server

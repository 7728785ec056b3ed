// The coordinator end to end over real gRPC on an ephemeral loopback port,
// with a temporary SQLite file and an injected clock for lease deadlines.
#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flopwise/v1/user_service.grpc.pb.h"
#include "flopwise/v1/worker_service.grpc.pb.h"
#include "server/coordinator_server.h"

namespace flopwise::server {
namespace {

namespace fs = std::filesystem;

constexpr char kClientToken[] = "client-secret";
constexpr char kWorkerToken[] = "worker-secret";
constexpr int64_t kLeaseMs = 10'000;
constexpr int64_t kGraceMs = 5'000;

// A one-run sweep (llama cpu-1, 32 steps of 1024 tokens) with the given
// priority, attempts and memory.
std::string OneRunSpec(const std::string& name, int priority, int max_attempts,
                       const std::string& memory = "") {
  std::string spec = "name: " + name + "\npriority: " + std::to_string(priority) +
                     "\nmax_attempts: " + std::to_string(max_attempts) +
                     "\nvocab: 256\ndata: {path: /data/tiny}\narchitectures: [llama]\n"
                     "sizes: [cpu-1]\ncontexts: [64]\ntokens: 32768\nbatch_tokens: 1024\n"
                     "checkpoint: {every_tokens: 1024}\n";
  if (!memory.empty()) spec += "resources: {memory: " + memory + "}\n";
  return spec;
}

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    dir_ = fs::temp_directory_path() /
           ("flopwise-coordinator-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    StartServer();
  }
  void TearDown() override {
    user_.reset();
    worker_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  void StartServer(int max_receive_bytes = 1 << 20) {
    CoordinatorOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = (dir_ / "coordinator.db").string();
    options.client_token = kClientToken;
    options.worker_token = kWorkerToken;
    options.max_receive_bytes = max_receive_bytes;
    options.reap_interval_ms = 3'600'000;  // the tests reap explicitly
    options.scheduler.lease_duration_ms = kLeaseMs;
    options.scheduler.heartbeat_interval_ms = 1'000;
    options.scheduler.restart_grace_ms = kGraceMs;
    auto server = CoordinatorServer::Start(options, [this] { return now_ms_.load(); });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                       grpc::InsecureChannelCredentials());
    user_ = v1::UserService::NewStub(channel);
    worker_ = v1::WorkerService::NewStub(channel);
  }

  void RestartServer() {
    user_.reset();
    worker_.reset();
    server_.reset();
    StartServer();
  }

  // A client context carrying `token` (none when empty) and a deadline.
  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return context;
  }

  v1::SubmitSweepResponse Submit(const std::string& spec) {
    v1::SubmitSweepRequest request;
    request.set_spec_yaml(spec);
    v1::SubmitSweepResponse response;
    grpc::Status status = user_->SubmitSweep(Ctx(kClientToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::string Register(const std::string& hostname) {
    v1::RegisterRequest request;
    request.set_hostname(hostname);
    request.set_cpu_cores(4);
    request.set_memory_bytes(int64_t{16} << 30);
    v1::RegisterResponse response;
    grpc::Status status = worker_->Register(Ctx(kWorkerToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.lease_duration_ms(), kLeaseMs);
    EXPECT_FALSE(response.checkpoint_root().empty());
    return response.worker_id();
  }

  v1::AcquireRunResponse Acquire(const std::string& worker_id,
                                 int64_t free_memory_bytes = int64_t{16} << 30) {
    v1::AcquireRunRequest request;
    request.set_worker_id(worker_id);
    request.set_free_cpu_cores(4);
    request.set_free_memory_bytes(free_memory_bytes);
    v1::AcquireRunResponse response;
    grpc::Status status = worker_->AcquireRun(Ctx(kWorkerToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::Run GetRun(int64_t run_id) {
    v1::GetRunRequest request;
    request.set_run_id(run_id);
    v1::GetRunResponse response;
    grpc::Status status = user_->GetRun(Ctx(kClientToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.run();
  }

  // One heartbeat from `worker_id` carrying `lease`.
  v1::HeartbeatResponse Heartbeat(const std::string& worker_id, const v1::Lease& lease) {
    v1::HeartbeatRequest request;
    request.set_worker_id(worker_id);
    v1::LeaseProgress* progress = request.add_leases();
    progress->set_lease_id(lease.lease_id());
    progress->set_attempt(lease.attempt());
    v1::HeartbeatResponse response;
    grpc::Status status = worker_->Heartbeat(Ctx(kWorkerToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status ReportMetrics(const v1::Lease& lease, int attempt, std::vector<int64_t> steps,
                             int64_t first_seq, std::optional<int64_t> resumed_from_step,
                             v1::ReportMetricsResponse* response) {
    v1::ReportMetricsRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(attempt);
    if (resumed_from_step) request.set_resumed_from_step(*resumed_from_step);
    for (size_t i = 0; i < steps.size(); ++i) {
      v1::MetricPoint* point = request.add_rows();
      point->set_seq(first_seq + static_cast<int64_t>(i));
      point->set_step(steps[i]);
      point->set_tokens(steps[i] * 1024);
      point->set_flops(steps[i] * 1e9);
      point->set_loss(5.0 - 0.01 * static_cast<double>(steps[i]));
      point->set_tokens_per_s(1000);
    }
    return worker_->ReportMetrics(Ctx(kWorkerToken).get(), request, response);
  }

  grpc::Status ReportCheckpoint(const v1::Lease& lease, int64_t seq, int64_t step) {
    v1::ReportCheckpointRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(lease.attempt());
    v1::CheckpointPoint* point = request.mutable_checkpoint();
    point->set_seq(seq);
    point->set_step(step);
    point->set_tokens(step * 1024);
    point->set_path("/ckpt/run/step-" + std::to_string(step));
    v1::ReportCheckpointResponse response;
    return worker_->ReportCheckpoint(Ctx(kWorkerToken).get(), request, &response);
  }

  grpc::Status CompleteRun(const v1::Lease& lease) {
    v1::CompleteRunRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(lease.attempt());
    v1::CompleteRunResponse response;
    return worker_->CompleteRun(Ctx(kWorkerToken).get(), request, &response);
  }

  grpc::Status FailRun(const v1::Lease& lease, const std::string& reason, bool diverged,
                       v1::FailRunResponse* response) {
    v1::FailRunRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(lease.attempt());
    request.set_reason(reason);
    request.set_diverged(diverged);
    return worker_->FailRun(Ctx(kWorkerToken).get(), request, response);
  }

  std::vector<v1::MetricRow> Metrics(int64_t run_id, bool include_superseded) {
    v1::GetMetricsRequest request;
    request.set_run_id(run_id);
    request.set_include_superseded(include_superseded);
    v1::GetMetricsResponse response;
    grpc::Status status = user_->GetMetrics(Ctx(kClientToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.rows().begin(), response.rows().end()};
  }

  fs::path dir_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::unique_ptr<CoordinatorServer> server_;
  std::unique_ptr<v1::UserService::Stub> user_;
  std::unique_ptr<v1::WorkerService::Stub> worker_;
};

TEST_F(CoordinatorTest, AuthStatuses) {
  v1::ListSweepsRequest request;
  v1::ListSweepsResponse response;
  EXPECT_EQ(user_->ListSweeps(Ctx("").get(), request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(user_->ListSweeps(Ctx("wrong").get(), request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(user_->ListSweeps(Ctx(kWorkerToken).get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(user_->ListSweeps(Ctx(kClientToken).get(), request, &response).ok());

  v1::RegisterRequest reg;
  reg.set_hostname("host");
  reg.set_cpu_cores(1);
  reg.set_memory_bytes(1 << 30);
  v1::RegisterResponse reg_response;
  EXPECT_EQ(worker_->Register(Ctx("").get(), reg, &reg_response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(worker_->Register(Ctx(kClientToken).get(), reg, &reg_response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(worker_->Register(Ctx(kWorkerToken).get(), reg, &reg_response).ok());
}

// Calls `method` with an empty request and `token` (none when empty); the
// status code the server answers.
grpc::StatusCode CallWithEmptyRequest(grpc::GenericStub& stub, const std::string& method,
                                      const std::string& token) {
  grpc::ClientContext context;
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::Slice empty("");
  const grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get().error_code();
}

TEST_F(CoordinatorTest, EveryMethodRefusesCallersWithoutItsToken) {
  grpc::GenericStub stub(grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                             grpc::InsecureChannelCredentials()));
  struct Case {
    const char* service;
    const char* other_role_token;
  };
  for (const Case& c : {Case{"flopwise.v1.UserService", kWorkerToken},
                        Case{"flopwise.v1.WorkerService", kClientToken}}) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(c.service);
    ASSERT_NE(service, nullptr) << c.service;
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string method = "/" + service->full_name() + "/" + service->method(i)->name();
      EXPECT_EQ(CallWithEmptyRequest(stub, method, ""), grpc::StatusCode::UNAUTHENTICATED)
          << method;
      EXPECT_EQ(CallWithEmptyRequest(stub, method, "not-a-token"),
                grpc::StatusCode::UNAUTHENTICATED)
          << method;
      EXPECT_EQ(CallWithEmptyRequest(stub, method, c.other_role_token),
                grpc::StatusCode::PERMISSION_DENIED)
          << method;
    }
  }
  // Health checking stays open.
  EXPECT_EQ(CallWithEmptyRequest(stub, "/grpc.health.v1.Health/Check", ""), grpc::StatusCode::OK);
}

TEST_F(CoordinatorTest, OversizedRequestIsRefused) {
  user_.reset();
  worker_.reset();
  server_.reset();
  StartServer(/*max_receive_bytes=*/64 << 10);
  v1::SubmitSweepRequest request;
  request.set_spec_yaml(OneRunSpec("big", 0, 1) + "# " + std::string(100 << 10, 'x') + "\n");
  v1::SubmitSweepResponse response;
  EXPECT_EQ(user_->SubmitSweep(Ctx(kClientToken).get(), request, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(CoordinatorTest, InvalidSpecListsFieldPathsAndStoresNothing) {
  v1::SubmitSweepRequest request;
  request.set_spec_yaml(
      "name: bad\nvocab: 256\ndata: {path: d}\narchitectures: [llama, gpt]\n"
      "sizes: [cpu-1]\ncontexts: [64]\ntokens: 4096\nbatch_tokens: 1000\n"
      "checkpoint: {every_tokens: 1024}\n");
  v1::SubmitSweepResponse response;
  grpc::Status status = user_->SubmitSweep(Ctx(kClientToken).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("architectures[1]: unknown architecture 'gpt'"),
            std::string::npos);
  EXPECT_NE(status.error_message().find("contexts[0]: batch_tokens (1000) must be a multiple"),
            std::string::npos);
  v1::ListSweepsRequest list;
  list.set_include_finished(true);
  v1::ListSweepsResponse sweeps;
  ASSERT_TRUE(user_->ListSweeps(Ctx(kClientToken).get(), list, &sweeps).ok());
  EXPECT_EQ(sweeps.sweeps_size(), 0);
}

// A watcher learns the last sweep id, then asks for the active sweeps plus
// every sweep submitted since, finished or not.
TEST_F(CoordinatorTest, ListSweepsAfterAnIdIncludesTheFinishedNewOnes) {
  auto list = [&](bool include_finished, int64_t after) {
    v1::ListSweepsRequest request;
    request.set_include_finished(include_finished);
    request.set_after_sweep_id(after);
    v1::ListSweepsResponse response;
    EXPECT_TRUE(user_->ListSweeps(Ctx(kClientToken).get(), request, &response).ok());
    return response;
  };
  auto cancel = [&](int64_t sweep_id) {
    v1::CancelSweepRequest request;
    request.set_sweep_id(sweep_id);
    v1::CancelSweepResponse response;
    ASSERT_TRUE(user_->CancelSweep(Ctx(kClientToken).get(), request, &response).ok());
  };
  auto ids = [](const v1::ListSweepsResponse& response) {
    std::vector<int64_t> ids;
    for (const v1::Sweep& sweep : response.sweeps()) ids.push_back(sweep.sweep_id());
    return ids;
  };
  EXPECT_EQ(list(false, 0).last_sweep_id(), 0);
  const int64_t old_finished = Submit(OneRunSpec("old-finished", 0, 1)).sweep_id();
  cancel(old_finished);
  const int64_t old_active = Submit(OneRunSpec("old-active", 0, 1)).sweep_id();
  const v1::ListSweepsResponse start = list(false, 0);
  EXPECT_EQ(ids(start), std::vector<int64_t>{old_active});
  EXPECT_EQ(start.last_sweep_id(), old_active);

  const int64_t new_finished = Submit(OneRunSpec("new-finished", 0, 1)).sweep_id();
  cancel(new_finished);
  const int64_t new_active = Submit(OneRunSpec("new-active", 0, 1)).sweep_id();
  const v1::ListSweepsResponse since = list(false, start.last_sweep_id());
  EXPECT_EQ(ids(since), (std::vector<int64_t>{old_active, new_finished, new_active}));
  EXPECT_EQ(since.last_sweep_id(), new_active);
  EXPECT_EQ(ids(list(false, 0)), (std::vector<int64_t>{old_active, new_active}));
  EXPECT_EQ(ids(list(true, 0)),
            (std::vector<int64_t>{old_finished, old_active, new_finished, new_active}));
}

TEST_F(CoordinatorTest, DryRunExpandsWithoutStoring) {
  v1::SubmitSweepRequest request;
  request.set_spec_yaml(OneRunSpec("dry", 0, 1));
  request.set_dry_run(true);
  v1::SubmitSweepResponse response;
  ASSERT_TRUE(user_->SubmitSweep(Ctx(kClientToken).get(), request, &response).ok());
  EXPECT_EQ(response.sweep_id(), 0);
  ASSERT_EQ(response.runs_size(), 1);
  EXPECT_GT(response.runs(0).estimated_flops(), 0);
  EXPECT_GT(response.runs(0).estimated_memory_bytes(), 0);
  EXPECT_EQ(response.runs(0).config().model().arch(), v1::ARCHITECTURE_LLAMA);
  v1::ListSweepsResponse sweeps;
  ASSERT_TRUE(user_->ListSweeps(Ctx(kClientToken).get(), {}, &sweeps).ok());
  EXPECT_EQ(sweeps.sweeps_size(), 0);
}

TEST_F(CoordinatorTest, SchedulerPicksHighestPriorityThatFits) {
  const auto low = Submit(OneRunSpec("low", 1, 1));
  const auto big = Submit(OneRunSpec("big", 9, 1, "8GiB"));
  const auto mid = Submit(OneRunSpec("mid", 5, 1));
  const std::string small_worker = Register("small");
  const std::string big_worker = Register("big");
  // 1 GiB free: the 8 GiB run does not fit; the next priority does.
  auto first = Acquire(small_worker, int64_t{1} << 30);
  ASSERT_TRUE(first.has_lease());
  EXPECT_EQ(first.lease().run_id(), mid.runs(0).run_id());
  EXPECT_EQ(first.lease().attempt(), 1);
  EXPECT_EQ(first.lease().resume_checkpoint_path(), "");
  auto second = Acquire(big_worker);
  ASSERT_TRUE(second.has_lease());
  EXPECT_EQ(second.lease().run_id(), big.runs(0).run_id());
  auto third = Acquire(small_worker, int64_t{1} << 30);
  ASSERT_TRUE(third.has_lease());
  EXPECT_EQ(third.lease().run_id(), low.runs(0).run_id());
  auto none = Acquire(small_worker);
  EXPECT_FALSE(none.has_lease());
  EXPECT_GT(none.retry_after_ms(), 0);
  EXPECT_EQ(GetRun(mid.runs(0).run_id()).state(), v1::RUN_STATE_RUNNING);
}

TEST_F(CoordinatorTest, LeaseCarriesTheGrantedResources) {
  std::string cpu_spec = OneRunSpec("cpu", 1, 1);
  cpu_spec.replace(cpu_spec.find("name: cpu"), 9,
                   "name: cpu\nresources: {cpu_cores: 2, memory: 3GiB}");
  Submit(cpu_spec);
  std::string gpu_spec = OneRunSpec("gpu", 0, 1);
  gpu_spec.replace(gpu_spec.find("name: gpu"), 9, "name: gpu\nresources: {gpus: 2, memory: 20GiB}");
  Submit(gpu_spec);
  const std::string worker_id = Register("w");
  const v1::Lease cpu = Acquire(worker_id).lease();
  EXPECT_EQ(cpu.resources().cpu_cores(), 2);
  EXPECT_EQ(cpu.resources().memory_bytes(), int64_t{3} << 30);
  EXPECT_EQ(cpu.resources().gpus(), 0);
  EXPECT_EQ(cpu.resources().gpu_memory_bytes(), 0);
  v1::AcquireRunRequest request;
  request.set_worker_id(worker_id);
  request.set_free_cpu_cores(4);
  request.set_free_memory_bytes(int64_t{16} << 30);
  request.set_free_gpus(2);
  request.set_free_gpu_memory_bytes(int64_t{16} << 30);
  v1::AcquireRunResponse response;
  ASSERT_TRUE(worker_->AcquireRun(Ctx(kWorkerToken).get(), request, &response).ok());
  ASSERT_TRUE(response.has_lease());
  EXPECT_EQ(response.lease().resources().cpu_cores(), 1);
  EXPECT_EQ(response.lease().resources().gpus(), 2);
  EXPECT_EQ(response.lease().resources().gpu_memory_bytes(), int64_t{10} << 30);
  EXPECT_EQ(response.lease().resources().memory_bytes(), 0);
}

TEST_F(CoordinatorTest, ReportsAreIdempotent) {
  const auto sweep = Submit(OneRunSpec("idem", 0, 1));
  const auto lease = Acquire(Register("w")).lease();
  v1::ReportMetricsResponse response;
  ASSERT_TRUE(ReportMetrics(lease, 1, {1, 2, 3}, 0, -1, &response).ok());
  EXPECT_EQ(response.rows_new(), 3);
  ASSERT_TRUE(ReportMetrics(lease, 1, {1, 2, 3}, 0, -1, &response).ok());
  EXPECT_EQ(response.rows_new(), 0);
  EXPECT_EQ(Metrics(sweep.runs(0).run_id(), true).size(), 3u);

  v1::ReportCheckpointRequest checkpoint;
  checkpoint.set_lease_id(lease.lease_id());
  checkpoint.set_attempt(1);
  checkpoint.mutable_checkpoint()->set_seq(0);
  checkpoint.mutable_checkpoint()->set_step(3);
  checkpoint.mutable_checkpoint()->set_path("/ckpt/step-3");
  v1::ReportCheckpointResponse inserted;
  ASSERT_TRUE(worker_->ReportCheckpoint(Ctx(kWorkerToken).get(), checkpoint, &inserted).ok());
  EXPECT_TRUE(inserted.inserted());
  ASSERT_TRUE(worker_->ReportCheckpoint(Ctx(kWorkerToken).get(), checkpoint, &inserted).ok());
  EXPECT_FALSE(inserted.inserted());
}

TEST_F(CoordinatorTest, HeartbeatExtendsTheLease) {
  Submit(OneRunSpec("beat", 0, 2));
  const std::string worker_id = Register("w");
  const auto lease = Acquire(worker_id).lease();
  now_ms_ += kLeaseMs - 1'000;
  const v1::HeartbeatResponse response = Heartbeat(worker_id, lease);
  ASSERT_EQ(response.instructions_size(), 1);
  EXPECT_EQ(response.instructions(0).action(), v1::LeaseInstruction::ACTION_CONTINUE);
  EXPECT_EQ(response.instructions(0).lease_deadline_ms(), now_ms_.load() + kLeaseMs);
  now_ms_ += kLeaseMs - 1'000;  // past the first deadline, before the new one
  auto expired = server_->scheduler()->ReapExpiredLeases();
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 0);
  EXPECT_EQ(GetRun(lease.run_id()).state(), v1::RUN_STATE_RUNNING);
}

TEST_F(CoordinatorTest, CheckpointWithoutAPathIsRefused) {
  const auto sweep = Submit(OneRunSpec("no-path", 0, 1));
  const auto lease = Acquire(Register("w")).lease();
  for (const std::string& path : {std::string(), std::string("  "), std::string("/a\0b", 4)}) {
    v1::ReportCheckpointRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(lease.attempt());
    request.mutable_checkpoint()->set_step(5);
    request.mutable_checkpoint()->set_path(path);
    v1::ReportCheckpointResponse response;
    const grpc::Status status =
        worker_->ReportCheckpoint(Ctx(kWorkerToken).get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("checkpoint.path"), std::string::npos)
        << status.error_message();
  }
  v1::GetCheckpointsRequest request;
  request.set_run_id(sweep.runs(0).run_id());
  request.set_include_superseded(true);
  v1::GetCheckpointsResponse response;
  ASSERT_TRUE(user_->GetCheckpoints(Ctx(kClientToken).get(), request, &response).ok());
  EXPECT_EQ(response.checkpoints_size(), 0);
}

// A checkpoint path must name a trainer's checkpoint directory: never an
// arbitrary file, never a path that climbs out with "..".
TEST_F(CoordinatorTest, CheckpointPathOutsideARunDirectoryIsRefused) {
  const auto sweep = Submit(OneRunSpec("bad-path", 0, 1));
  const auto lease = Acquire(Register("w")).lease();
  for (const std::string path :
       {"/etc/passwd", "/ckpt/run/../../etc/step-1", "ckpt/./step-1", "/ckpt/step-1\x1b[2J"}) {
    v1::ReportCheckpointRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(lease.attempt());
    request.mutable_checkpoint()->set_step(5);
    request.mutable_checkpoint()->set_path(path);
    v1::ReportCheckpointResponse response;
    const grpc::Status status =
        worker_->ReportCheckpoint(Ctx(kWorkerToken).get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << path;
    EXPECT_NE(status.error_message().find("checkpoint.path"), std::string::npos)
        << status.error_message();
  }
}

TEST_F(CoordinatorTest, StepsAndTokensBeyondTheBoundAreRefused) {
  const auto sweep = Submit(OneRunSpec("far-step", 0, 1));
  const auto lease = Acquire(Register("w")).lease();
  v1::ReportMetricsResponse response;
  const grpc::Status far = ReportMetrics(lease, 1, {1'000'000'000'000'000}, 0, -1, &response);
  EXPECT_EQ(far.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << far.error_message();
  const grpc::Status negative = ReportMetrics(lease, 1, {-3}, 0, -1, &response);
  EXPECT_EQ(negative.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Metrics(sweep.runs(0).run_id(), true).size(), 0u);
  v1::ReportCheckpointRequest checkpoint;
  checkpoint.set_lease_id(lease.lease_id());
  checkpoint.set_attempt(1);
  checkpoint.mutable_checkpoint()->set_step(1'000'000'000'000'000);
  checkpoint.mutable_checkpoint()->set_path("/ckpt/run/step-1");
  v1::ReportCheckpointResponse inserted;
  EXPECT_EQ(worker_->ReportCheckpoint(Ctx(kWorkerToken).get(), checkpoint, &inserted).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// A hostname is printed by `flopwise workers`: control characters and
// terminal escapes are replaced and the length is capped at Register.
TEST_F(CoordinatorTest, HostnameIsSanitizedAtRegister) {
  std::string hostname = "evil\n\x1b[31mhost\r";
  hostname += std::string(100'000, 'x');
  Register(hostname);
  v1::ListWorkersResponse response;
  ASSERT_TRUE(
      user_->ListWorkers(Ctx(kClientToken).get(), v1::ListWorkersRequest(), &response).ok());
  ASSERT_EQ(response.workers_size(), 1);
  const std::string& stored = response.workers(0).hostname();
  EXPECT_EQ(stored.size(), 253u);
  EXPECT_EQ(stored.substr(0, 15), "evil??[31mhost?");
  for (const char c : stored) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(c);
}

// The report of an empty checkpoint path in the effective view, tried the
// ways it could come about: a checkpoint of an attempt retried after the lease
// ended and a later attempt superseded it, and the later attempt's own.
TEST_F(CoordinatorTest, RetriedCheckpointAfterSupersedeKeepsEveryPath) {
  const auto sweep = Submit(OneRunSpec("retry", 0, 2));
  const int64_t run_id = sweep.runs(0).run_id();
  const std::string worker_id = Register("w");
  auto checkpoint = [&](const v1::Lease& lease, int64_t seq, int64_t step) {
    v1::ReportCheckpointRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(lease.attempt());
    request.mutable_checkpoint()->set_seq(seq);
    request.mutable_checkpoint()->set_step(step);
    request.mutable_checkpoint()->set_path("/ckpt/a" + std::to_string(lease.attempt()) + "/step-" +
                                           std::to_string(step));
    v1::ReportCheckpointResponse response;
    return worker_->ReportCheckpoint(Ctx(kWorkerToken).get(), request, &response);
  };
  const auto first = Acquire(worker_id).lease();
  v1::ReportMetricsResponse metrics;
  ASSERT_TRUE(ReportMetrics(first, 1, {10, 20}, 0, -1, &metrics).ok());
  ASSERT_TRUE(checkpoint(first, 0, 10).ok());
  ASSERT_TRUE(checkpoint(first, 1, 20).ok());
  now_ms_ += kLeaseMs + 1;
  ASSERT_EQ(*server_->scheduler()->ReapExpiredLeases(), 1);
  const auto second = Acquire(worker_id).lease();
  ASSERT_EQ(second.resume_step(), 20);
  // The second attempt resumed from step 10 after all (its files at 20 were
  // not there yet): attempt 1's checkpoint at 20 is superseded.
  ASSERT_TRUE(ReportMetrics(second, 2, {20}, 0, 10, &metrics).ok());
  EXPECT_EQ(checkpoint(first, 1, 20).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(checkpoint(second, 0, 20).ok());
  ASSERT_TRUE(checkpoint(second, 0, 20).ok());  // a retry
  v1::GetCheckpointsRequest request;
  request.set_run_id(run_id);
  v1::GetCheckpointsResponse response;
  ASSERT_TRUE(user_->GetCheckpoints(Ctx(kClientToken).get(), request, &response).ok());
  ASSERT_EQ(response.checkpoints_size(), 2);
  EXPECT_EQ(response.checkpoints(0).checkpoint().path(), "/ckpt/a1/step-10");
  EXPECT_EQ(response.checkpoints(1).checkpoint().path(), "/ckpt/a2/step-20");
  EXPECT_EQ(response.checkpoints(1).attempt(), 2);
}

TEST_F(CoordinatorTest, ExpiredLeaseRequeuesWithNextAttemptAndResumePath) {
  const auto sweep = Submit(OneRunSpec("expire", 0, 3));
  const int64_t run_id = sweep.runs(0).run_id();
  const std::string worker_id = Register("w");
  const auto first = Acquire(worker_id).lease();
  v1::ReportMetricsResponse metrics;
  ASSERT_TRUE(ReportMetrics(first, 1, {5, 10, 15}, 0, -1, &metrics).ok());
  v1::ReportCheckpointRequest checkpoint;
  checkpoint.set_lease_id(first.lease_id());
  checkpoint.set_attempt(1);
  checkpoint.mutable_checkpoint()->set_step(10);
  checkpoint.mutable_checkpoint()->set_tokens(10 * 1024);
  checkpoint.mutable_checkpoint()->set_path("/ckpt/run/step-00000010");
  checkpoint.mutable_checkpoint()->set_sha256("ab");
  v1::ReportCheckpointResponse inserted;
  ASSERT_TRUE(worker_->ReportCheckpoint(Ctx(kWorkerToken).get(), checkpoint, &inserted).ok());

  now_ms_ += kLeaseMs + 1;
  auto expired = server_->scheduler()->ReapExpiredLeases();
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 1);
  v1::Run run = GetRun(run_id);
  EXPECT_EQ(run.state(), v1::RUN_STATE_PENDING);
  ASSERT_EQ(run.attempt_history_size(), 1);
  EXPECT_EQ(run.attempt_history(0).outcome(), v1::ATTEMPT_OUTCOME_EXPIRED);

  // The old lease is dead for the worker.
  EXPECT_EQ(ReportMetrics(first, 1, {20}, 3, std::nullopt, &metrics).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  const auto second = Acquire(worker_id).lease();
  EXPECT_EQ(second.run_id(), run_id);
  EXPECT_EQ(second.attempt(), 2);
  EXPECT_EQ(second.resume_checkpoint_path(), "/ckpt/run/step-00000010");
  EXPECT_EQ(second.resume_step(), 10);
  EXPECT_EQ(second.run_dir_name(), first.run_dir_name());
  ASSERT_TRUE(ReportMetrics(second, 2, {11, 12}, 0, 10, &metrics).ok());

  // Effective rows: attempt 1 up to step 10, then attempt 2; step 15 superseded.
  const auto effective = Metrics(run_id, false);
  ASSERT_EQ(effective.size(), 4u);
  EXPECT_EQ(effective[0].point().step(), 5);
  EXPECT_EQ(effective[1].point().step(), 10);
  EXPECT_EQ(effective[2].point().step(), 11);
  EXPECT_EQ(effective[2].attempt(), 2);
  EXPECT_EQ(Metrics(run_id, true).size(), 5u);
}

TEST_F(CoordinatorTest, MaxAttemptsEndsFailedWithEveryReason) {
  const auto sweep = Submit(OneRunSpec("fail", 0, 2));
  const std::string worker_id = Register("w");
  v1::FailRunResponse response;
  ASSERT_TRUE(
      FailRun(Acquire(worker_id).lease(), "exit code 1: out of memory", false, &response).ok());
  EXPECT_EQ(response.run_state(), v1::RUN_STATE_PENDING);
  const auto second = Acquire(worker_id).lease();
  EXPECT_EQ(second.attempt(), 2);
  ASSERT_TRUE(FailRun(second, "exit code 1: data: file not found", false, &response).ok());
  EXPECT_EQ(response.run_state(), v1::RUN_STATE_FAILED);
  const v1::Run run = GetRun(sweep.runs(0).run_id());
  EXPECT_EQ(run.state(), v1::RUN_STATE_FAILED);
  ASSERT_EQ(run.failure_reasons_size(), 2);
  EXPECT_NE(run.failure_reasons(0).find("out of memory"), std::string::npos);
  EXPECT_NE(run.failure_reasons(1).find("file not found"), std::string::npos);
  EXPECT_FALSE(Acquire(worker_id).has_lease());
  v1::GetSweepRequest get;
  get.set_sweep_id(sweep.sweep_id());
  v1::GetSweepResponse got;
  ASSERT_TRUE(user_->GetSweep(Ctx(kClientToken).get(), get, &got).ok());
  EXPECT_EQ(got.sweep().state(), v1::SWEEP_STATE_COMPLETED);
}

TEST_F(CoordinatorTest, DivergedRunIsNotRetried) {
  const auto sweep = Submit(OneRunSpec("nan", 0, 3));
  const std::string worker_id = Register("w");
  v1::FailRunResponse response;
  ASSERT_TRUE(FailRun(Acquire(worker_id).lease(), "loss is nan at step 7", true, &response).ok());
  EXPECT_EQ(response.run_state(), v1::RUN_STATE_DIVERGED);
  EXPECT_EQ(GetRun(sweep.runs(0).run_id()).state(), v1::RUN_STATE_DIVERGED);
  EXPECT_FALSE(Acquire(worker_id).has_lease());
}

TEST_F(CoordinatorTest, ReleasedRunIsRequeuedAtOnce) {
  const auto sweep = Submit(OneRunSpec("release", 0, 3));
  const std::string worker_id = Register("w");
  const auto lease = Acquire(worker_id).lease();
  v1::ReleaseRunRequest request;
  request.set_lease_id(lease.lease_id());
  request.set_attempt(lease.attempt());
  request.set_reason("worker stopping (SIGTERM)");
  v1::ReleaseRunResponse response;
  ASSERT_TRUE(worker_->ReleaseRun(Ctx(kWorkerToken).get(), request, &response).ok());
  const v1::Run run = GetRun(sweep.runs(0).run_id());
  EXPECT_EQ(run.state(), v1::RUN_STATE_PENDING);
  ASSERT_EQ(run.attempt_history_size(), 1);
  EXPECT_EQ(run.attempt_history(0).outcome(), v1::ATTEMPT_OUTCOME_STOPPED);
  EXPECT_EQ(run.attempt_history(0).reason(), "worker stopping (SIGTERM)");
  EXPECT_EQ(Acquire(worker_id).lease().attempt(), 2);
}

TEST_F(CoordinatorTest, ReleasesDoNotCountTowardMaxAttempts) {
  const auto sweep = Submit(OneRunSpec("release-limit", 0, 1));
  const int64_t run_id = sweep.runs(0).run_id();
  const std::string worker_id = Register("w");
  auto release = [&](const v1::Lease& lease) {
    v1::ReleaseRunRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(lease.attempt());
    request.set_reason("worker stopping (SIGTERM)");
    v1::ReleaseRunResponse response;
    return worker_->ReleaseRun(Ctx(kWorkerToken).get(), request, &response);
  };
  const auto first = Acquire(worker_id).lease();
  ASSERT_TRUE(release(first).ok());
  // The count survives a restart of the coordinator.
  RestartServer();
  const auto second = Acquire(worker_id).lease();
  ASSERT_EQ(second.run_id(), run_id);
  EXPECT_EQ(second.attempt(), 2);
  ASSERT_TRUE(release(second).ok());
  const auto third = Acquire(worker_id).lease();
  ASSERT_EQ(third.run_id(), run_id);
  EXPECT_EQ(third.attempt(), 3);
  // The one counted attempt is all that max_attempts: 1 allows.
  v1::FailRunResponse failed;
  ASSERT_TRUE(FailRun(third, "exit code 1: boom", false, &failed).ok());
  EXPECT_EQ(failed.run_state(), v1::RUN_STATE_FAILED);
  const v1::Run run = GetRun(run_id);
  EXPECT_EQ(run.state(), v1::RUN_STATE_FAILED);
  ASSERT_EQ(run.attempt_history_size(), 3);
  EXPECT_EQ(run.attempt_history(0).outcome(), v1::ATTEMPT_OUTCOME_STOPPED);
  EXPECT_EQ(run.attempt_history(0).reason(), "worker stopping (SIGTERM)");
  EXPECT_EQ(run.attempt_history(1).outcome(), v1::ATTEMPT_OUTCOME_STOPPED);
  EXPECT_EQ(run.attempt_history(2).outcome(), v1::ATTEMPT_OUTCOME_FAILED);
  EXPECT_FALSE(Acquire(worker_id).has_lease());
}

TEST_F(CoordinatorTest, HeartbeatsAreWrittenBehind) {
  Submit(OneRunSpec("behind", 0, 1));
  const std::string worker_id = Register("w");
  const auto lease = Acquire(worker_id).lease();
  now_ms_ += 3'000;
  const v1::HeartbeatResponse response = Heartbeat(worker_id, lease);
  const int64_t deadline_ms = response.instructions(0).lease_deadline_ms();
  EXPECT_EQ(deadline_ms, now_ms_.load() + kLeaseMs);
  ASSERT_TRUE(server_->scheduler()->StoreLiveness().ok());
  const v1::Run run = GetRun(lease.run_id());
  ASSERT_EQ(run.attempt_history_size(), 1);
  EXPECT_EQ(run.attempt_history(0).lease_deadline_ms(), deadline_ms);
  v1::ListWorkersResponse workers;
  ASSERT_TRUE(user_->ListWorkers(Ctx(kClientToken).get(), {}, &workers).ok());
  ASSERT_EQ(workers.workers_size(), 1);
  EXPECT_EQ(workers.workers(0).last_heartbeat_ms(), now_ms_.load());
}

TEST_F(CoordinatorTest, StoppingWritesTheLastHeartbeatsDeadline) {
  Submit(OneRunSpec("stop", 0, 2));
  const std::string worker_id = Register("w");
  const auto lease = Acquire(worker_id).lease();
  now_ms_ += kLeaseMs - 1'000;
  Heartbeat(worker_id, lease);
  RestartServer();
  // Past the first deadline and the restart grace, before the heartbeat's deadline.
  now_ms_ += kLeaseMs - 1'000;
  ASSERT_EQ(*server_->scheduler()->ReapExpiredLeases(), 0);
  EXPECT_EQ(GetRun(lease.run_id()).state(), v1::RUN_STATE_RUNNING);
}

TEST_F(CoordinatorTest, MetricsArePaged) {
  const auto sweep = Submit(OneRunSpec("pages", 0, 1));
  const auto lease = Acquire(Register("w")).lease();
  v1::ReportMetricsResponse reported;
  ASSERT_TRUE(ReportMetrics(lease, 1, {1, 2, 3, 4, 5}, 0, -1, &reported).ok());
  v1::GetMetricsRequest request;
  request.set_sweep_id(sweep.sweep_id());
  request.set_page_size(2);
  std::vector<int64_t> steps;
  for (int page = 0; page < 10; ++page) {
    v1::GetMetricsResponse response;
    ASSERT_TRUE(user_->GetMetrics(Ctx(kClientToken).get(), request, &response).ok());
    for (const v1::MetricRow& row : response.rows()) steps.push_back(row.point().step());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  request.set_page_token("garbage");
  v1::GetMetricsResponse response;
  EXPECT_EQ(user_->GetMetrics(Ctx(kClientToken).get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(CoordinatorTest, CompletedRunSucceeds) {
  const auto sweep = Submit(OneRunSpec("done", 0, 1));
  const auto lease = Acquire(Register("w")).lease();
  v1::ReportMetricsResponse metrics;
  ASSERT_TRUE(ReportMetrics(lease, 1, {16, 32}, 0, -1, &metrics).ok());
  ASSERT_TRUE(CompleteRun(lease).ok());
  EXPECT_EQ(GetRun(sweep.runs(0).run_id()).state(), v1::RUN_STATE_SUCCEEDED);
  // A retried CompleteRun finds the lease ended.
  EXPECT_EQ(CompleteRun(lease).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

// The worker token is trusted to train, not to declare a run done: CompleteRun
// needs the run's last planned step reported, here the 30th of 1024 tokens
// (30,000 tokens rounded up to whole batches: 30,720).
TEST_F(CoordinatorTest, CompleteRunNeedsTheFinalStep) {
  std::string spec = OneRunSpec("early", 0, 1);
  spec.replace(spec.find("tokens: 32768"), 13, "tokens: 30000");
  const auto sweep = Submit(spec);
  const auto lease = Acquire(Register("w")).lease();
  v1::ReportMetricsResponse metrics;
  ASSERT_TRUE(ReportMetrics(lease, 1, {1, 2, 3}, 0, -1, &metrics).ok());
  const grpc::Status early = CompleteRun(lease);
  EXPECT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(early.error_message(),
            "run " + std::to_string(lease.run_id()) +
                " reached step 3 (3072 tokens) but completing it needs step 30 (30720 tokens): "
                "report the final step's metrics or checkpoint first");
  EXPECT_EQ(GetRun(lease.run_id()).state(), v1::RUN_STATE_RUNNING);
  ASSERT_TRUE(ReportCheckpoint(lease, 0, 30).ok());  // the last step's 30,720 tokens
  ASSERT_TRUE(CompleteRun(lease).ok());
  EXPECT_EQ(GetRun(sweep.runs(0).run_id()).state(), v1::RUN_STATE_SUCCEEDED);
}

// Rows past the run's last planned step are refused, naming the field, and
// nothing of their batch is stored.
TEST_F(CoordinatorTest, ReportsBeyondTheRunsPlanAreRefused) {
  const auto sweep = Submit(OneRunSpec("beyond", 0, 1));
  const int64_t run_id = sweep.runs(0).run_id();
  const auto lease = Acquire(Register("w")).lease();
  v1::ReportMetricsResponse metrics;
  const grpc::Status step = ReportMetrics(lease, 1, {31, 32, 33}, 0, -1, &metrics);
  EXPECT_EQ(step.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(step.error_message(),
            "rows[2].step: 33 is beyond the run's plan (32 steps, 32768 tokens)");
  EXPECT_EQ(Metrics(run_id, true).size(), 0u);

  v1::ReportCheckpointRequest checkpoint;
  checkpoint.set_lease_id(lease.lease_id());
  checkpoint.set_attempt(lease.attempt());
  checkpoint.mutable_checkpoint()->set_step(32);
  checkpoint.mutable_checkpoint()->set_tokens(32769);
  checkpoint.mutable_checkpoint()->set_path("/ckpt/run/step-32");
  v1::ReportCheckpointResponse inserted;
  const grpc::Status tokens =
      worker_->ReportCheckpoint(Ctx(kWorkerToken).get(), checkpoint, &inserted);
  EXPECT_EQ(tokens.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(tokens.error_message(),
            "checkpoint.tokens: 32769 is beyond the run's plan (32 steps, 32768 tokens)");
  // The last step itself is within the plan, and the run can complete.
  ASSERT_TRUE(ReportCheckpoint(lease, 0, 32).ok());
  ASSERT_TRUE(CompleteRun(lease).ok());
}

// An attempt is judged by what it resumed from: attempt 1 reported step 32
// but its last checkpoint is step 10, so attempt 2 (resuming at 10) cannot
// complete without training; an attempt that resumes from the final
// checkpoint has nothing left to train and completes at once.
TEST_F(CoordinatorTest, ResumedAttemptCompletesFromWhatItResumed) {
  const auto sweep = Submit(OneRunSpec("resumed", 0, 3));
  const std::string worker_id = Register("w");
  const auto first = Acquire(worker_id).lease();
  v1::ReportMetricsResponse metrics;
  ASSERT_TRUE(ReportMetrics(first, 1, {10, 32}, 0, -1, &metrics).ok());
  ASSERT_TRUE(ReportCheckpoint(first, 0, 10).ok());
  now_ms_ += kLeaseMs + 1;
  ASSERT_EQ(*server_->scheduler()->ReapExpiredLeases(), 1);

  const auto second = Acquire(worker_id).lease();
  ASSERT_EQ(second.resume_step(), 10);
  const grpc::Status early = CompleteRun(second);
  EXPECT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(early.error_message().find("reached step 10 (10240 tokens)"), std::string::npos)
      << early.error_message();
  ASSERT_TRUE(ReportMetrics(second, 2, {32}, 0, 10, &metrics).ok());
  ASSERT_TRUE(ReportCheckpoint(second, 0, 32).ok());
  now_ms_ += kLeaseMs + 1;  // the worker dies before CompleteRun lands
  ASSERT_EQ(*server_->scheduler()->ReapExpiredLeases(), 1);

  const auto third = Acquire(worker_id).lease();
  ASSERT_EQ(third.resume_step(), 32);
  ASSERT_TRUE(ReportMetrics(third, 3, {}, 0, 32, &metrics).ok());  // the trainer's start
  ASSERT_TRUE(CompleteRun(third).ok());
  EXPECT_EQ(GetRun(sweep.runs(0).run_id()).state(), v1::RUN_STATE_SUCCEEDED);
}

// Relative paths in a spec resolve against the folder it was submitted from
// (base_dir, which `flopwise submit` fills with its working directory), so a
// run's plan and lease hold absolute paths; the spec is stored verbatim. A
// call without base_dir must give absolute paths.
TEST_F(CoordinatorTest, RelativeSpecPathsResolveAgainstTheBaseDir) {
  std::string spec = OneRunSpec("relative", 0, 1);
  spec.replace(spec.find("/data/tiny"), 10, "data/brown/train");
  spec += "evaluation: {tasks: [validation, tasks/piqa.jsonl, /shared/arc.jsonl]}\n";
  v1::SubmitSweepRequest request;
  request.set_spec_yaml(spec);
  v1::SubmitSweepResponse response;
  const grpc::Status refused = user_->SubmitSweep(Ctx(kClientToken).get(), request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.error_message().rfind("data.path: \"data/brown/train\" is relative; ", 0), 0u)
      << refused.error_message();
  EXPECT_NE(refused.error_message().find("evaluation.tasks[1]: \"tasks/piqa.jsonl\" is relative"),
            std::string::npos)
      << refused.error_message();
  request.set_base_dir("study");
  const grpc::Status relative_base =
      user_->SubmitSweep(Ctx(kClientToken).get(), request, &response);
  EXPECT_EQ(relative_base.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(relative_base.error_message(), "base_dir: must be an absolute path (got \"study\")");
  v1::ListSweepsRequest list;
  list.set_include_finished(true);
  v1::ListSweepsResponse listed;
  ASSERT_TRUE(user_->ListSweeps(Ctx(kClientToken).get(), list, &listed).ok());
  EXPECT_EQ(listed.sweeps_size(), 0);

  request.set_base_dir("/home/alice/study");
  const grpc::Status submitted = user_->SubmitSweep(Ctx(kClientToken).get(), request, &response);
  ASSERT_TRUE(submitted.ok()) << submitted.error_message();
  const v1::Run run = GetRun(response.runs(0).run_id());
  EXPECT_EQ(run.config().data_path(), "/home/alice/study/data/brown/train");
  EXPECT_EQ(
      std::vector<std::string>(run.evaluation().tasks().begin(), run.evaluation().tasks().end()),
      (std::vector<std::string>{"validation", "/home/alice/study/tasks/piqa.jsonl",
                                "/shared/arc.jsonl"}));
  const v1::Lease lease = Acquire(Register("w")).lease();
  EXPECT_EQ(lease.config().data_path(), "/home/alice/study/data/brown/train");
  v1::GetSweepRequest get;
  get.set_sweep_id(response.sweep_id());
  v1::GetSweepResponse got;
  ASSERT_TRUE(user_->GetSweep(Ctx(kClientToken).get(), get, &got).ok());
  EXPECT_EQ(got.sweep().spec_yaml(), spec);
}

TEST_F(CoordinatorTest, CancelReachesTheWorkerInTheHeartbeat) {
  const auto sweep = Submit(OneRunSpec("cancel", 0, 1));
  const std::string worker_id = Register("w");
  const auto lease = Acquire(worker_id).lease();
  v1::CancelSweepRequest cancel;
  cancel.set_sweep_id(sweep.sweep_id());
  v1::CancelSweepResponse cancelled;
  ASSERT_TRUE(user_->CancelSweep(Ctx(kClientToken).get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.runs_cancelled(), 1);

  const v1::HeartbeatResponse response = Heartbeat(worker_id, lease);
  ASSERT_EQ(response.instructions_size(), 1);
  EXPECT_EQ(response.instructions(0).action(), v1::LeaseInstruction::ACTION_CANCEL);
  EXPECT_NE(response.instructions(0).reason().find("cancelled"), std::string::npos);
  EXPECT_EQ(GetRun(lease.run_id()).state(), v1::RUN_STATE_CANCELLED);
  v1::ReportMetricsResponse metrics;
  EXPECT_EQ(ReportMetrics(lease, 1, {1}, 0, std::nullopt, &metrics).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // A second cancel finds the sweep already cancelled.
  EXPECT_EQ(user_->CancelSweep(Ctx(kClientToken).get(), cancel, &cancelled).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(CoordinatorTest, DrainingWorkerGetsNoRuns) {
  Submit(OneRunSpec("drain", 0, 1));
  const std::string worker_id = Register("w");
  v1::SetDrainingRequest request;
  request.set_worker_id(worker_id);
  request.set_draining(true);
  v1::SetDrainingResponse response;
  ASSERT_TRUE(user_->SetDraining(Ctx(kClientToken).get(), request, &response).ok());
  EXPECT_TRUE(response.worker().draining());
  const auto acquired = Acquire(worker_id);
  EXPECT_FALSE(acquired.has_lease());
  EXPECT_TRUE(acquired.draining());
  request.set_draining(false);
  ASSERT_TRUE(user_->SetDraining(Ctx(kClientToken).get(), request, &response).ok());
  EXPECT_TRUE(Acquire(worker_id).has_lease());
  v1::ListWorkersResponse workers;
  ASSERT_TRUE(user_->ListWorkers(Ctx(kClientToken).get(), {}, &workers).ok());
  ASSERT_EQ(workers.workers_size(), 1);
  EXPECT_EQ(workers.workers(0).running_run_ids_size(), 1);
  EXPECT_EQ(workers.workers(0).inventory().cpu_cores(), 4);
}

TEST_F(CoordinatorTest, UnknownWorkerMustRegister) {
  v1::AcquireRunRequest request;
  request.set_worker_id("ghost-1");
  request.set_free_cpu_cores(1);
  request.set_free_memory_bytes(1 << 30);
  v1::AcquireRunResponse response;
  EXPECT_EQ(worker_->AcquireRun(Ctx(kWorkerToken).get(), request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CoordinatorTest, WatchRunsStreamsUntilEveryRunIsTerminal) {
  const auto sweep = Submit(OneRunSpec("watch", 0, 1));
  const auto lease = Acquire(Register("w")).lease();
  v1::ReportMetricsResponse metrics;
  ASSERT_TRUE(ReportMetrics(lease, 1, {2}, 0, -1, &metrics).ok());
  v1::FailRunResponse failed;
  ASSERT_TRUE(FailRun(lease, "boom", false, &failed).ok());
  v1::WatchRunsRequest request;
  request.set_sweep_id(sweep.sweep_id());
  auto context = Ctx(kClientToken);
  auto reader = user_->WatchRuns(context.get(), request);
  v1::RunUpdate update;
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.run_id(), sweep.runs(0).run_id());
  EXPECT_EQ(update.state(), v1::RUN_STATE_FAILED);
  EXPECT_EQ(update.step(), 2);
  EXPECT_EQ(update.total_tokens(), 32768);
  EXPECT_FALSE(reader->Read(&update));
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(CoordinatorTest, SweepSummariesComeFromTheCoordinator) {
  const auto sweep = Submit(OneRunSpec("summary", 0, 1));
  auto get_sweep = [&] {
    v1::GetSweepRequest request;
    request.set_sweep_id(sweep.sweep_id());
    v1::GetSweepResponse response;
    grpc::Status status = user_->GetSweep(Ctx(kClientToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.sweep();
  };
  const auto lease = Acquire(Register("w")).lease();
  v1::ReportMetricsResponse metrics;
  ASSERT_TRUE(ReportMetrics(lease, 1, {16}, 0, -1, &metrics).ok());  // 16384 of 32768 tokens
  v1::Sweep running = get_sweep();
  EXPECT_EQ(running.state(), v1::SWEEP_STATE_ACTIVE);
  EXPECT_EQ(running.runs_total(), 1);
  EXPECT_EQ(running.runs_finished(), 0);
  EXPECT_EQ(running.runs_by_state().at("RUN_STATE_RUNNING"), 1);
  EXPECT_DOUBLE_EQ(running.progress_fraction(), 0.5);

  v1::FailRunResponse failed;
  ASSERT_TRUE(FailRun(lease, "boom", false, &failed).ok());
  const v1::Sweep ended = get_sweep();
  EXPECT_EQ(ended.state(), v1::SWEEP_STATE_COMPLETED);
  EXPECT_EQ(ended.runs_finished(), 1);
  EXPECT_EQ(ended.runs_by_state().at("RUN_STATE_FAILED"), 1);
  v1::ListSweepsRequest list;
  list.set_include_finished(true);
  v1::ListSweepsResponse listed;
  ASSERT_TRUE(user_->ListSweeps(Ctx(kClientToken).get(), list, &listed).ok());
  ASSERT_EQ(listed.sweeps_size(), 1);
  EXPECT_EQ(listed.sweeps(0).runs_finished(), 1);
  EXPECT_EQ(listed.sweeps(0).state(), v1::SWEEP_STATE_COMPLETED);

  // Every run update carries its sweep's summary, without the spec.
  v1::WatchRunsRequest request;
  request.add_run_ids(sweep.runs(0).run_id());
  auto context = Ctx(kClientToken);
  auto reader = user_->WatchRuns(context.get(), request);
  v1::RunUpdate update;
  ASSERT_TRUE(reader->Read(&update));
  ASSERT_TRUE(update.has_sweep());
  EXPECT_EQ(update.sweep().sweep_id(), sweep.sweep_id());
  EXPECT_EQ(update.sweep().name(), "summary");
  EXPECT_EQ(update.sweep().state(), v1::SWEEP_STATE_COMPLETED);
  EXPECT_EQ(update.sweep().runs_finished(), 1);
  EXPECT_DOUBLE_EQ(update.sweep().progress_fraction(), 0.5);
  EXPECT_TRUE(update.sweep().spec_yaml().empty());
  EXPECT_FALSE(reader->Read(&update));
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(CoordinatorTest, RestartRecoversSweepsRunsLeasesAndMetrics) {
  const auto sweep = Submit(OneRunSpec("restart", 0, 2));
  const auto queued = Submit(OneRunSpec("queued", 0, 1));
  const std::string worker_id = Register("w");
  const auto lease = Acquire(worker_id).lease();
  EXPECT_EQ(lease.run_id(), sweep.runs(0).run_id());
  v1::ReportMetricsResponse metrics;
  ASSERT_TRUE(ReportMetrics(lease, 1, {1, 2}, 0, -1, &metrics).ok());

  RestartServer();
  EXPECT_EQ(GetRun(sweep.runs(0).run_id()).state(), v1::RUN_STATE_RUNNING);
  EXPECT_EQ(GetRun(queued.runs(0).run_id()).state(), v1::RUN_STATE_PENDING);
  EXPECT_EQ(Metrics(sweep.runs(0).run_id(), false).size(), 2u);
  // The lease survived with at least the grace period.
  now_ms_ += kGraceMs - 1;
  ASSERT_EQ(*server_->scheduler()->ReapExpiredLeases(), 0);
  ASSERT_EQ(lease.attempt(), 1);
  EXPECT_EQ(Heartbeat(worker_id, lease).instructions(0).action(),
            v1::LeaseInstruction::ACTION_CONTINUE);
  ASSERT_TRUE(ReportMetrics(lease, 1, {3}, 2, std::nullopt, &metrics).ok());
  EXPECT_EQ(metrics.rows_new(), 1);
  // The queued run is still there to be leased.
  const auto next = Acquire(worker_id);
  ASSERT_TRUE(next.has_lease());
  EXPECT_EQ(next.lease().run_id(), queued.runs(0).run_id());
}

TEST_F(CoordinatorTest, RetriedRunResumesFromItsCheckpointWithAFreshBudgetAndReopensItsSweep) {
  const auto sweep = Submit(OneRunSpec("retry-failed", 0, 2));
  const int64_t run_id = sweep.runs(0).run_id();
  const std::string worker_id = Register("w");
  auto sweep_state = [&] {
    v1::GetSweepRequest request;
    request.set_sweep_id(sweep.sweep_id());
    v1::GetSweepResponse response;
    EXPECT_TRUE(user_->GetSweep(Ctx(kClientToken).get(), request, &response).ok());
    return response.sweep().state();
  };
  auto retry = [&](std::vector<int64_t> run_ids, v1::RetryRunsResponse* response) {
    v1::RetryRunsRequest request;
    request.set_sweep_id(sweep.sweep_id());
    for (int64_t id : run_ids) request.add_run_ids(id);
    return user_->RetryRuns(Ctx(kClientToken).get(), request, response);
  };
  const auto first = Acquire(worker_id).lease();
  v1::ReportMetricsResponse metrics;
  ASSERT_TRUE(ReportMetrics(first, 1, {5, 10}, 0, -1, &metrics).ok());
  v1::ReportCheckpointRequest checkpoint;
  checkpoint.set_lease_id(first.lease_id());
  checkpoint.set_attempt(1);
  checkpoint.mutable_checkpoint()->set_step(10);
  checkpoint.mutable_checkpoint()->set_tokens(10 * 1024);
  checkpoint.mutable_checkpoint()->set_path("/ckpt/run/step-00000010");
  v1::ReportCheckpointResponse inserted;
  ASSERT_TRUE(worker_->ReportCheckpoint(Ctx(kWorkerToken).get(), checkpoint, &inserted).ok());
  v1::FailRunResponse failed;
  ASSERT_TRUE(FailRun(first, "exit code 1: out of memory", false, &failed).ok());
  ASSERT_TRUE(FailRun(Acquire(worker_id).lease(), "exit code 1: again", false, &failed).ok());
  ASSERT_EQ(failed.run_state(), v1::RUN_STATE_FAILED);
  ASSERT_EQ(sweep_state(), v1::SWEEP_STATE_COMPLETED);

  v1::RetryRunsResponse retried;
  grpc::Status status = retry({}, &retried);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(retried.sweep_id(), sweep.sweep_id());
  EXPECT_TRUE(retried.sweep_reopened());
  ASSERT_EQ(retried.runs_size(), 1);
  EXPECT_EQ(retried.runs(0).run_id(), run_id);
  EXPECT_EQ(retried.runs(0).state(), v1::RUN_STATE_PENDING);
  EXPECT_EQ(retried.runs(0).attempts(), 2);
  EXPECT_EQ(retried.runs(0).max_attempts(), 4);
  EXPECT_EQ(sweep_state(), v1::SWEEP_STATE_ACTIVE);

  // The fresh budget is the database's: it holds across a restart.
  RestartServer();
  const std::string again = Register("w");
  const auto third = Acquire(again).lease();
  EXPECT_EQ(third.run_id(), run_id);
  EXPECT_EQ(third.attempt(), 3);
  EXPECT_EQ(third.resume_checkpoint_path(), "/ckpt/run/step-00000010");
  EXPECT_EQ(third.resume_step(), 10);
  ASSERT_TRUE(FailRun(third, "exit code 1: third", false, &failed).ok());
  EXPECT_EQ(failed.run_state(), v1::RUN_STATE_PENDING);
  ASSERT_TRUE(FailRun(Acquire(again).lease(), "exit code 1: fourth", false, &failed).ok());
  EXPECT_EQ(failed.run_state(), v1::RUN_STATE_FAILED);
  EXPECT_EQ(sweep_state(), v1::SWEEP_STATE_COMPLETED);
  EXPECT_EQ(GetRun(run_id).failure_reasons_size(), 4);

  // Named explicitly, the run is retried again.
  status = retry({run_id}, &retried);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(retried.runs_size(), 1);
  EXPECT_EQ(retried.runs(0).max_attempts(), 6);
}

TEST_F(CoordinatorTest, RetryTakesOnlyFailedAndDivergedRunsOfALiveSweep) {
  const auto sweep = Submit(OneRunSpec("retry-refused", 0, 3));
  const int64_t run_id = sweep.runs(0).run_id();
  auto retry = [&](int64_t sweep_id, std::vector<int64_t> run_ids,
                   v1::RetryRunsResponse* response) {
    v1::RetryRunsRequest request;
    request.set_sweep_id(sweep_id);
    for (int64_t id : run_ids) request.add_run_ids(id);
    return user_->RetryRuns(Ctx(kClientToken).get(), request, response);
  };
  v1::RetryRunsResponse response;
  // Nothing failed yet: nothing to retry, and a pending run is refused.
  ASSERT_TRUE(retry(sweep.sweep_id(), {}, &response).ok());
  EXPECT_EQ(response.runs_size(), 0);
  EXPECT_FALSE(response.sweep_reopened());
  grpc::Status status = retry(sweep.sweep_id(), {run_id}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_NE(status.error_message().find("pending"), std::string::npos) << status.error_message();
  EXPECT_EQ(retry(0, {}, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  status = retry(sweep.sweep_id(), {run_id, run_id}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("run_ids[1]"), std::string::npos) << status.error_message();
  EXPECT_EQ(retry(sweep.sweep_id() + 1, {}, &response).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(retry(sweep.sweep_id(), {run_id + 1}, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // A diverged run is retried; its sweep, once cancelled, is not.
  const std::string worker_id = Register("w");
  v1::FailRunResponse failed;
  ASSERT_TRUE(FailRun(Acquire(worker_id).lease(), "loss is nan", true, &failed).ok());
  ASSERT_TRUE(retry(sweep.sweep_id(), {}, &response).ok());
  ASSERT_EQ(response.runs_size(), 1);
  EXPECT_EQ(GetRun(run_id).state(), v1::RUN_STATE_PENDING);
  v1::CancelSweepRequest cancel;
  cancel.set_sweep_id(sweep.sweep_id());
  v1::CancelSweepResponse cancelled;
  ASSERT_TRUE(user_->CancelSweep(Ctx(kClientToken).get(), cancel, &cancelled).ok());
  status = retry(sweep.sweep_id(), {}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_NE(status.error_message().find("cancelled"), std::string::npos) << status.error_message();
}

TEST_F(CoordinatorTest, PendingRunsSayWhyTheyWaitAndSubmitWarnsOfRunsNoWorkerCouldHold) {
  auto reason = [&](int64_t run_id) { return GetRun(run_id).pending_reason(); };
  const auto big = Submit(OneRunSpec("big", 0, 1, "40GiB"));
  EXPECT_EQ(big.warnings_size(), 0);  // no worker yet: nothing to compare with
  const int64_t big_run = big.runs(0).run_id();
  EXPECT_EQ(reason(big_run), "no worker registered");

  const std::string worker_id = Register("w");  // 4 cores, 16 GiB
  EXPECT_NE(
      reason(big_run).find("/ 40.0 GiB; the largest registered worker has 4 cores / 16.0 GiB"),
      std::string::npos)
      << reason(big_run);
  // Refused unless the client asks to queue it anyway.
  v1::SubmitSweepRequest refused_request;
  refused_request.set_spec_yaml(OneRunSpec("huge", 0, 1, "64GiB"));
  v1::SubmitSweepResponse refused;
  const grpc::Status refusal =
      user_->SubmitSweep(Ctx(kClientToken).get(), refused_request, &refused);
  EXPECT_EQ(refusal.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refusal.error_message().find("1 of 1 runs no registered worker could ever hold"),
            std::string::npos)
      << refusal.error_message();
  EXPECT_NE(refusal.error_message().find("--allow-unplaceable"), std::string::npos);
  v1::ListSweepsRequest sweeps_request;
  v1::ListSweepsResponse sweeps;
  ASSERT_TRUE(user_->ListSweeps(Ctx(kClientToken).get(), sweeps_request, &sweeps).ok());
  EXPECT_EQ(sweeps.sweeps_size(), 1);  // only "big": nothing of the refused sweep stored
  v1::SubmitSweepRequest allowed = refused_request;
  allowed.set_allow_unplaceable(true);
  v1::SubmitSweepResponse huge;
  const grpc::Status queued = user_->SubmitSweep(Ctx(kClientToken).get(), allowed, &huge);
  ASSERT_TRUE(queued.ok()) << queued.error_message();
  ASSERT_EQ(huge.warnings_size(), 1);
  EXPECT_EQ(huge.warnings(0).rfind(huge.runs(0).name() + ": needs ", 0), 0u) << huge.warnings(0);
  EXPECT_NE(huge.warnings(0).find("/ 64.0 GiB; the largest registered worker has 4 cores"),
            std::string::npos)
      << huge.warnings(0);

  // The runs that fit queue behind each other; those no worker could hold
  // block nothing.
  const int64_t first = Submit(OneRunSpec("first", 0, 1)).runs(0).run_id();
  const int64_t second = Submit(OneRunSpec("second", 0, 1)).runs(0).run_id();
  EXPECT_EQ(reason(first).rfind("next in the queue: waiting for a worker with ", 0), 0u)
      << reason(first);
  v1::ListRunsRequest list;
  list.set_sweep_id(Submit(OneRunSpec("third", 0, 1)).sweep_id());
  v1::ListRunsResponse listed;
  ASSERT_TRUE(user_->ListRuns(Ctx(kClientToken).get(), list, &listed).ok());
  ASSERT_EQ(listed.runs_size(), 1);
  EXPECT_EQ(listed.runs(0).pending_reason(), "2 runs ahead in the queue");
  EXPECT_EQ(reason(second), "1 run ahead in the queue");

  v1::SetDrainingRequest drain;
  drain.set_worker_id(worker_id);
  drain.set_draining(true);
  v1::SetDrainingResponse drained;
  ASSERT_TRUE(user_->SetDraining(Ctx(kClientToken).get(), drain, &drained).ok());
  EXPECT_EQ(reason(first), "every worker that could take it is draining");
  now_ms_ += 2 * kLeaseMs + 1;  // no heartbeat since
  EXPECT_EQ(reason(first), "every worker that could take it is lost (no heartbeat)");
  // A running run has no pending reason.
  drain.set_draining(false);
  ASSERT_TRUE(user_->SetDraining(Ctx(kClientToken).get(), drain, &drained).ok());
  const auto lease = Acquire(worker_id).lease();
  EXPECT_EQ(lease.run_id(), first);
  EXPECT_EQ(reason(first), "");
}

TEST_F(CoordinatorTest, EachAttemptsLogPathLandsAndShowsWithItsHost) {
  const auto sweep = Submit(OneRunSpec("logs", 0, 2));
  const int64_t run_id = sweep.runs(0).run_id();
  const std::string worker_id = Register("gpu-node");
  auto report = [&](const v1::Lease& lease, const std::string& path) {
    v1::ReportLogPathRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(lease.attempt());
    request.set_log_path(path);
    v1::ReportLogPathResponse response;
    return worker_->ReportLogPath(Ctx(kWorkerToken).get(), request, &response);
  };
  const auto first = Acquire(worker_id).lease();
  const std::string first_log = "/var/lib/flopwise/logs/sweep-1_run-1.attempt-1.log";
  ASSERT_TRUE(report(first, first_log).ok());
  ASSERT_TRUE(report(first, first_log).ok());  // a retried report
  EXPECT_EQ(report(first, "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const grpc::Status escape = report(first, "/logs/\x1b[2Jrun.log");
  EXPECT_EQ(escape.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(escape.error_message().find("log_path"), std::string::npos) << escape.error_message();
  v1::FailRunResponse failed;
  ASSERT_TRUE(FailRun(first, "exit code 1: bad data", false, &failed).ok());
  // The ended lease's report is refused, as every report of an ended lease.
  EXPECT_EQ(report(first, "/elsewhere.log").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  Acquire(worker_id);  // attempt 2, whose worker never says

  const v1::Run run = GetRun(run_id);
  ASSERT_EQ(run.attempt_history_size(), 2);
  EXPECT_EQ(run.attempt_history(0).log_path(), first_log);
  EXPECT_EQ(run.attempt_history(0).worker_hostname(), "gpu-node");
  EXPECT_EQ(run.attempt_history(1).log_path(), "");
  EXPECT_EQ(run.attempt_history(1).worker_hostname(), "gpu-node");
}

}  // namespace
}  // namespace flopwise::server

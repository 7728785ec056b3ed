// The rendezvous of data-parallel attempts end to end: the coordinator over
// real gRPC on an ephemeral loopback port with a temporary SQLite file, its
// RendezvousSet/RendezvousGet, and comm::CoordinatorKeyValueStore against it.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "comm/coordinator_key_value_store.h"
#include "flopwise/v1/user_service.grpc.pb.h"
#include "flopwise/v1/worker_service.grpc.pb.h"
#include "server/coordinator_server.h"

namespace flopwise::server {
namespace {

namespace fs = std::filesystem;

constexpr char kClientToken[] = "client-secret-0123456789";
constexpr char kWorkerToken[] = "worker-secret-0123456789";

// One run of two ranks (llama cpu-1, 32 steps of 1024 tokens).
constexpr char kSpec[] =
    "name: dp\nvocab: 256\ndata: {path: /data/tiny}\narchitectures: [llama]\n"
    "sizes: [cpu-1]\ncontexts: [64]\ntokens: 32768\nbatch_tokens: 1024\n"
    "checkpoint: {every_tokens: 1024}\nresources: {replicas: 2}\n";

class RendezvousTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    std::string pattern = (fs::temp_directory_path() / "flopwise-rendezvous-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    CoordinatorOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = (dir_ / "coordinator.db").string();
    options.checkpoint_root = (dir_ / "checkpoints").string();
    options.client_token = kClientToken;
    options.worker_token = kWorkerToken;
    options.reap_interval_ms = 3'600'000;  // no lease expires in these tests
    auto server = CoordinatorServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    address_ = "127.0.0.1:" + std::to_string(server_->port());
    auto channel = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    user_ = v1::UserService::NewStub(channel);
    worker_ = v1::WorkerService::NewStub(channel);
    SubmitAndRegister();
    LeaseBothRanks();
  }
  void TearDown() override {
    user_.reset();
    worker_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return context;
  }

  // Submits kSpec and registers a worker of four cores.
  void SubmitAndRegister() {
    v1::SubmitSweepRequest submit;
    submit.set_spec_yaml(kSpec);
    v1::SubmitSweepResponse submitted;
    const grpc::Status status = user_->SubmitSweep(Ctx(kClientToken).get(), submit, &submitted);
    ASSERT_TRUE(status.ok()) << status.error_message();
    v1::RegisterRequest reg;
    reg.set_hostname("host");
    reg.set_cpu_cores(4);
    reg.set_memory_bytes(int64_t{16} << 30);
    v1::RegisterResponse registered;
    ASSERT_TRUE(worker_->Register(Ctx(kWorkerToken).get(), reg, &registered).ok());
    worker_id_ = registered.worker_id();
  }

  // Leases both ranks of the run to the worker, which has two free slots.
  void LeaseBothRanks() {
    for (int rank = 0; rank < 2; ++rank) {
      v1::AcquireRunRequest acquire;
      acquire.set_worker_id(worker_id_);
      acquire.set_free_cpu_cores(4 - rank);
      acquire.set_free_memory_bytes(int64_t{16} << 30);
      acquire.set_free_slots(2 - rank);
      v1::AcquireRunResponse granted;
      ASSERT_TRUE(worker_->AcquireRun(Ctx(kWorkerToken).get(), acquire, &granted).ok());
      ASSERT_TRUE(granted.has_lease());
      EXPECT_EQ(granted.lease().rank(), rank);
      EXPECT_EQ(granted.lease().world_size(), 2);
      leases_[rank] = granted.lease();
    }
    run_id_ = leases_[0].run_id();
    attempt_ = leases_[0].attempt();
  }

  grpc::Status Set(const std::string& key, const std::string& value, int attempt = 0,
                   const std::string& token = kWorkerToken) {
    v1::RendezvousSetRequest request;
    request.set_run_id(run_id_);
    request.set_attempt(attempt > 0 ? attempt : attempt_);
    request.set_key(key);
    request.set_value(value);
    v1::RendezvousSetResponse response;
    return worker_->RendezvousSet(Ctx(token).get(), request, &response);
  }

  grpc::Status Get(const std::string& key, int wait_ms, v1::RendezvousGetResponse* response,
                   int attempt = 0, const std::string& token = kWorkerToken) {
    v1::RendezvousGetRequest request;
    request.set_run_id(run_id_);
    request.set_attempt(attempt > 0 ? attempt : attempt_);
    request.set_key(key);
    request.set_wait_ms(wait_ms);
    return worker_->RendezvousGet(Ctx(token).get(), request, response);
  }

  std::string Uri(int attempt = 0) const {
    return comm::CoordinatorRendezvousUri({address_, run_id_, attempt > 0 ? attempt : attempt_});
  }

  std::unique_ptr<comm::CoordinatorKeyValueStore> Store(int attempt = 0) {
    client::ConnectOptions connect;
    connect.token = kWorkerToken;
    auto store = comm::CoordinatorKeyValueStore::Open(Uri(attempt), connect);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  fs::path dir_;
  std::unique_ptr<CoordinatorServer> server_;
  std::string address_;
  std::unique_ptr<v1::UserService::Stub> user_;
  std::unique_ptr<v1::WorkerService::Stub> worker_;
  std::string worker_id_;
  v1::Lease leases_[2];
  int64_t run_id_ = 0;
  int attempt_ = 0;
};

TEST_F(RendezvousTest, SetThenGetReturnsTheValue) {
  ASSERT_TRUE(Set("rank0", std::string("addr\0ess", 8)).ok());
  v1::RendezvousGetResponse response;
  ASSERT_TRUE(Get("rank0", 0, &response).ok());
  EXPECT_TRUE(response.found());
  EXPECT_EQ(response.value(), std::string("addr\0ess", 8));
}

TEST_F(RendezvousTest, GetWaitsForAKeySetLater) {
  v1::RendezvousGetResponse response;
  grpc::Status status;
  std::thread waiter([&] { status = Get("late", 30'000, &response); });
  ASSERT_TRUE(Set("late", "here").ok());
  waiter.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.found());
  EXPECT_EQ(response.value(), "here");
}

TEST_F(RendezvousTest, GetOfAKeyNobodySetsTimesOutNotFound) {
  v1::RendezvousGetResponse response;
  ASSERT_TRUE(Get("never", 50, &response).ok());
  EXPECT_FALSE(response.found());
}

TEST_F(RendezvousTest, KeysNeverChangeAndStayWithinTheLimits) {
  ASSERT_TRUE(Set("k", "v").ok());
  EXPECT_TRUE(Set("k", "v").ok());
  EXPECT_EQ(Set("k", "w").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  const grpc::Status long_key = Set(std::string(513, 'k'), "v");
  EXPECT_EQ(long_key.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(long_key.error_message().rfind("key: ", 0), 0u) << long_key.error_message();
  const grpc::Status big_value = Set("big", std::string((1 << 20) + 1, 'v'));
  EXPECT_EQ(big_value.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(big_value.error_message().rfind("value: ", 0), 0u) << big_value.error_message();
}

TEST_F(RendezvousTest, OnlyTheActiveAttemptHasAScope) {
  ASSERT_TRUE(Set("rank0", "a1").ok());
  v1::RendezvousGetResponse response;
  EXPECT_EQ(Get("rank0", 0, &response, attempt_ + 1).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Set("rank0", "a2", attempt_ + 1).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // Rank 1 fails: the attempt ends on both ranks and its keys are dropped.
  v1::FailRunRequest fail;
  fail.set_lease_id(leases_[1].lease_id());
  fail.set_attempt(attempt_);
  fail.set_reason("exit code 1");
  v1::FailRunResponse failed;
  ASSERT_TRUE(worker_->FailRun(Ctx(kWorkerToken).get(), fail, &failed).ok());
  EXPECT_EQ(Get("rank0", 0, &response).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // The next attempt starts from an empty scope.
  LeaseBothRanks();
  ASSERT_EQ(attempt_, 2);
  ASSERT_TRUE(Get("rank0", 0, &response).ok());
  EXPECT_FALSE(response.found());
}

TEST_F(RendezvousTest, OnlyWorkersMayUseIt) {
  v1::RendezvousGetResponse response;
  EXPECT_EQ(Set("k", "v", 0, kClientToken).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Set("k", "v", 0, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Get("k", 0, &response, 0, kClientToken).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Get("k", 0, &response, 0, "wrong-token-0123456789").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RendezvousTest, StoreClientExchangesKeysBetweenRanks) {
  std::unique_ptr<comm::CoordinatorKeyValueStore> rank0 = Store();
  std::unique_ptr<comm::CoordinatorKeyValueStore> rank1 = Store();
  ASSERT_TRUE(rank0 && rank1);
  absl::StatusOr<std::string> seen;
  std::thread waiter([&] { seen = rank1->Get("rank0/address", absl::Seconds(60)); });
  ASSERT_TRUE(rank0->Set("rank0/address", "127.0.0.1:4000").ok());
  waiter.join();
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(*seen, "127.0.0.1:4000");
  EXPECT_EQ(rank1->Set("rank0/address", "other").code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(RendezvousTest, StoreClientGetTimesOutNamingTheKey) {
  std::unique_ptr<comm::CoordinatorKeyValueStore> store = Store();
  ASSERT_TRUE(store);
  absl::StatusOr<std::string> value = store->Get("rank1/address", absl::Milliseconds(100));
  EXPECT_EQ(value.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(value.status().message().find("'rank1/address'"), std::string::npos) << value.status();
}

TEST_F(RendezvousTest, StoreClientOfAnEndedAttemptFails) {
  std::unique_ptr<comm::CoordinatorKeyValueStore> store = Store(attempt_ + 1);
  ASSERT_TRUE(store);
  const absl::Status status = store->Set("k", "v");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message().rfind("rendezvous: ", 0), 0u) << status;
}

TEST_F(RendezvousTest, StoreClientReadsTheTokenFileFromTheEnvironment) {
  const fs::path token_file = dir_ / "rank-token";
  std::ofstream(token_file) << kWorkerToken << "\n";
  fs::permissions(token_file, fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_EQ(setenv(client::kTokenFileEnv, token_file.c_str(), 1), 0);
  auto store = comm::CoordinatorKeyValueStore::OpenFromEnvironment(Uri());
  unsetenv(client::kTokenFileEnv);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->Set("from-env", "ok").ok());
}

TEST(CoordinatorRendezvousUriTest, ParsesWhatItFormatsAndNamesBadParts) {
  const comm::CoordinatorRendezvous rendezvous{"coord.example:7070", 12, 3};
  const std::string uri = comm::CoordinatorRendezvousUri(rendezvous);
  EXPECT_EQ(uri, "grpc://coord.example:7070/12/3");
  auto parsed = comm::ParseCoordinatorRendezvousUri(uri);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->coordinator, "coord.example:7070");
  EXPECT_EQ(parsed->run_id, 12);
  EXPECT_EQ(parsed->attempt, 3);
  for (const char* bad : {"file:/tmp/x", "grpc://host:1/12", "grpc://host:1/x/3",
                          "grpc://host:1/12/0", "grpc:///12/3"}) {
    auto problem = comm::ParseCoordinatorRendezvousUri(bad);
    EXPECT_EQ(problem.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(problem.status().message().rfind("--rendezvous: ", 0), 0u) << problem.status();
  }
}

}  // namespace
}  // namespace flopwise::server

#include "tests/server/fit_study.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>

#include "runspec/architecture.h"
#include "tests/db/db_test_util.h"

namespace flopwise::server::testing {

namespace fs = std::filesystem;

constexpr int64_t kBatchTokens = 1024;

double Law::Loss(double n, double d) const {
  return e + a * std::pow(n, -alpha) + b * std::pow(d, -beta);
}

FitStudy::FitStudy(const fs::path& dir, bool serve_http) : dir_(dir) {
  spdlog::set_level(spdlog::level::warn);
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  std::ofstream(client_token_file()) << kClientToken << "\n";
  // Owner-only, as docs/operations.md asks: no permission warning in the output.
  fs::permissions(client_token_file(), fs::perms::owner_read | fs::perms::owner_write);
  CoordinatorOptions options;
  options.listen = "127.0.0.1:0";
  options.db_path = db_path();
  options.client_token = kClientToken;
  options.worker_token = kWorkerToken;
  if (serve_http) options.metrics_listen = "127.0.0.1:0";
  options.reap_interval_ms = 3'600'000;  // no lease expires during a test
  options.scheduler.lease_duration_ms = 3'600'000;
  options.scheduler.heartbeat_interval_ms = 1'000;
  auto server = CoordinatorServer::Start(options);
  if (!server.ok()) {
    ADD_FAILURE() << server.status();
    return;
  }
  server_ = std::move(*server);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                     grpc::InsecureChannelCredentials());
  users_ = v1::UserService::NewStub(channel);
  workers_ = v1::WorkerService::NewStub(channel);

  v1::RegisterRequest request;
  request.set_hostname("fit-test");
  request.set_cpu_cores(4);
  request.set_memory_bytes(int64_t{16} << 30);
  v1::RegisterResponse response;
  const grpc::Status status = workers_->Register(Context(kWorkerToken).get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  worker_id_ = response.worker_id();
}

FitStudy::~FitStudy() {
  users_.reset();
  workers_.reset();
  server_.reset();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

int FitStudy::port() const { return server_->port(); }

std::unique_ptr<grpc::ClientContext> FitStudy::Context(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  return context;
}

int64_t FitStudy::Submit(const std::string& name, const std::string& archs,
                         const std::string& sizes) {
  return SubmitSpec("name: " + name + "\nvocab: 256\ndata: {path: /data/tiny}\narchitectures: [" +
                    archs + "]\nsizes: [" + sizes +
                    "]\ncontexts: [64]\ntokens: 100M\nbatch_tokens: " +
                    std::to_string(kBatchTokens) + "\ncheckpoint: {every_tokens: 10M}\n");
}

int64_t FitStudy::SubmitGrids(const std::string& name, const std::string& grids_yaml) {
  return SubmitSpec("name: " + name +
                    "\nvocab: 256\ndata: {path: /data/tiny}\ncontexts: [64]\ntokens: "
                    "100M\nbatch_tokens: " +
                    std::to_string(kBatchTokens) + "\ncheckpoint: {every_tokens: 10M}\n" +
                    grids_yaml);
}

int64_t FitStudy::SubmitSpec(const std::string& spec_yaml) {
  v1::SubmitSweepRequest request;
  request.set_spec_yaml(spec_yaml);
  v1::SubmitSweepResponse response;
  const grpc::Status status = users_->SubmitSweep(Context().get(), request, &response);
  if (!status.ok()) {
    ADD_FAILURE() << status.error_message();
    return 0;
  }
  return response.sweep_id();
}

void FitStudy::Report(const v1::Lease& lease, const v1::CheckpointPoint& point) {
  v1::ReportCheckpointRequest request;
  request.set_lease_id(lease.lease_id());
  request.set_attempt(lease.attempt());
  *request.mutable_checkpoint() = point;
  v1::ReportCheckpointResponse response;
  const grpc::Status status =
      workers_->ReportCheckpoint(Context(kWorkerToken).get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.inserted());
}

void FitStudy::Complete(const v1::Lease& lease) {
  v1::CompleteRunRequest request;
  request.set_lease_id(lease.lease_id());
  request.set_attempt(lease.attempt());
  v1::CompleteRunResponse response;
  const grpc::Status status =
      workers_->CompleteRun(Context(kWorkerToken).get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

int FitStudy::TrainAll(const std::map<std::string, Law>& laws, int checkpoints,
                       bool hold_back_last) {
  std::vector<std::pair<v1::Lease, std::vector<v1::CheckpointPoint>>> granted;
  while (true) {
    v1::AcquireRunRequest request;
    request.set_worker_id(worker_id_);
    request.set_free_cpu_cores(4);
    request.set_free_memory_bytes(int64_t{16} << 30);
    v1::AcquireRunResponse response;
    const grpc::Status status =
        workers_->AcquireRun(Context(kWorkerToken).get(), request, &response);
    if (!status.ok()) {
      ADD_FAILURE() << status.error_message();
      break;
    }
    if (!response.has_lease()) break;
    const v1::Lease& lease = response.lease();
    v1::GetRunRequest get;
    get.set_run_id(lease.run_id());
    v1::GetRunResponse run;
    const grpc::Status got = users_->GetRun(Context().get(), get, &run);
    EXPECT_TRUE(got.ok()) << got.error_message();
    const int64_t total = run.run().config().total_tokens();
    const double flops_per_token = run.run().estimated_flops() / static_cast<double>(total);
    const double n = static_cast<double>(run.run().params_non_embedding());
    const Law& law = laws.at(runspec::ArchName(run.run().config().model().arch()));
    std::vector<v1::CheckpointPoint> points;
    for (int k = 1; k <= checkpoints; ++k) {
      const int64_t tokens = total * k / checkpoints;
      v1::CheckpointPoint point;
      point.set_seq(k - 1);
      point.set_step(tokens / kBatchTokens);
      point.set_tokens(tokens);
      point.set_flops(flops_per_token * static_cast<double>(tokens));
      point.set_loss(law.Loss(n, static_cast<double>(tokens)));
      point.set_path("run-" + std::to_string(lease.run_id()) + "/step-" +
                     std::to_string(point.step()));
      point.set_sha256(std::string(64, 'a'));
      points.push_back(point);
    }
    granted.emplace_back(lease, std::move(points));
  }
  for (size_t i = 0; i < granted.size(); ++i) {
    auto& [lease, points] = granted[i];
    const bool hold = hold_back_last && i + 1 == granted.size();
    for (size_t k = 0; k + (hold ? 1 : 0) < points.size(); ++k) Report(lease, points[k]);
    if (hold) {
      held_ = HeldRun{lease, points.back(), static_cast<int64_t>(points.size())};
    } else {
      Complete(lease);
    }
  }
  return static_cast<int>(granted.size());
}

void FitStudy::ReportHeldBack() {
  ASSERT_TRUE(held_.has_value());
  Report(held_->lease, held_->last);
  Complete(held_->lease);
  held_.reset();
}

void FitStudy::ReportNanCheckpointOnHeldLease() {
  ASSERT_TRUE(held_.has_value());
  v1::CheckpointPoint point = held_->last;
  point.set_seq(held_->next_seq++);
  // The run's last optimizer step (its budget rounded up to whole batches),
  // after every other checkpoint: a report beyond the plan would be refused.
  point.set_step(point.step() + 1);
  point.set_tokens(point.step() * kBatchTokens);
  point.set_loss(std::numeric_limits<double>::quiet_NaN());
  point.set_path(point.path() + "-diverged");
  Report(held_->lease, point);
}

int FitStudy::FitRows() const {
  return static_cast<int>(db::testing::RawQueryInt(db_path(), "SELECT count(*) FROM fits"));
}

}  // namespace flopwise::server::testing

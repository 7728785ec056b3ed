// Eval jobs on the coordinator end to end over real gRPC on a loopback port,
// with a temporary SQLite file and an injected clock: a job per selected
// checkpoint in the checkpoint's transaction, leasing below training at equal
// priority, expiry and re-lease without duplicate rows, supersede on resume.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "db/store.h"
#include "flopwise/v1/user_service.grpc.pb.h"
#include "flopwise/v1/worker_service.grpc.pb.h"
#include "server/coordinator_server.h"

namespace flopwise::server {
namespace {

namespace fs = std::filesystem;

constexpr char kClientToken[] = "client-secret";
constexpr char kWorkerToken[] = "worker-secret";
constexpr int64_t kLeaseMs = 10'000;

// One llama cpu-1 run of 4 steps of 1024 tokens, a checkpoint every step.
std::string Spec(const std::string& evaluation, int priority = 0) {
  return "name: evals\npriority: " + std::to_string(priority) +
         "\nvocab: 256\ndata: {path: /data/tiny}\narchitectures: [llama]\nsizes: [cpu-1]\n"
         "contexts: [64]\ntokens: 4096\nbatch_tokens: 1024\ncheckpoint: {every_tokens: 1024}\n" +
         evaluation;
}

class EvalJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    dir_ = fs::temp_directory_path() /
           ("flopwise-eval-jobs-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    StartServer();
  }
  void TearDown() override {
    worker_.reset();
    user_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  void StartServer() {
    CoordinatorOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = (dir_ / "coordinator.db").string();
    options.client_token = kClientToken;
    options.worker_token = kWorkerToken;
    options.reap_interval_ms = 3'600'000;  // the tests reap explicitly
    options.scheduler.lease_duration_ms = kLeaseMs;
    options.scheduler.heartbeat_interval_ms = 1'000;
    options.scheduler.restart_grace_ms = 1'000;
    options.scheduler.eval_max_attempts = 2;
    auto server = CoordinatorServer::Start(options, [this] { return now_ms_.load(); });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                       grpc::InsecureChannelCredentials());
    user_ = v1::UserService::NewStub(channel);
    worker_ = v1::WorkerService::NewStub(channel);
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return context;
  }

  int64_t Submit(const std::string& spec) {
    v1::SubmitSweepRequest request;
    request.set_spec_yaml(spec);
    v1::SubmitSweepResponse response;
    grpc::Status status = user_->SubmitSweep(Ctx(kClientToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.runs_size() > 0 ? response.runs(0).run_id() : 0;
  }

  std::string Register() {
    v1::RegisterRequest request;
    request.set_hostname("host");
    request.set_cpu_cores(4);
    request.set_memory_bytes(int64_t{16} << 30);
    v1::RegisterResponse response;
    grpc::Status status = worker_->Register(Ctx(kWorkerToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.worker_id();
  }

  v1::AcquireRunResponse Acquire(const std::string& worker_id, bool accepts_eval_jobs = true) {
    v1::AcquireRunRequest request;
    request.set_worker_id(worker_id);
    request.set_free_cpu_cores(4);
    request.set_free_memory_bytes(int64_t{16} << 30);
    request.set_accepts_eval_jobs(accepts_eval_jobs);
    v1::AcquireRunResponse response;
    grpc::Status status = worker_->AcquireRun(Ctx(kWorkerToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Reports the checkpoint after `step` steps (seq = step - 1) of the lease.
  void Checkpoint(const v1::Lease& lease, int attempt, int64_t step) {
    v1::ReportCheckpointRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(attempt);
    v1::CheckpointPoint* point = request.mutable_checkpoint();
    point->set_seq(step - 1);
    point->set_step(step);
    point->set_tokens(step * 1024);
    point->set_path("/runs/run-1/step-" + std::to_string(step));
    point->set_sha256(std::string(64, 'a'));
    v1::ReportCheckpointResponse response;
    grpc::Status status = worker_->ReportCheckpoint(Ctx(kWorkerToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  grpc::Status ReportResult(const v1::EvalLease& lease, const std::string& task, double loss) {
    v1::ReportEvalResultRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(lease.attempt());
    request.set_task(task);
    v1::EvalMetric* metric = request.add_metrics();
    metric->set_name("loss");
    metric->set_value(loss);
    v1::EvalMetric* figure = request.add_metrics();
    figure->set_name("figure[0]");
    figure->set_text("/runs/run-1/eval/" + task + ".svg");
    v1::ReportEvalResultResponse response;
    return worker_->ReportEvalResult(Ctx(kWorkerToken).get(), request, &response);
  }

  grpc::Status Complete(const v1::EvalLease& lease) {
    v1::CompleteEvalJobRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(lease.attempt());
    v1::CompleteEvalJobResponse response;
    return worker_->CompleteEvalJob(Ctx(kWorkerToken).get(), request, &response);
  }

  std::vector<db::EvalJobRecord> Jobs() {
    auto jobs = server_->scheduler()->store()->ListEvalJobs();
    EXPECT_TRUE(jobs.ok()) << jobs.status();
    return jobs.ok() ? *jobs : std::vector<db::EvalJobRecord>{};
  }

  std::vector<db::EvalRecord> Evals(bool include_superseded = false) {
    auto evals = server_->scheduler()->store()->ListEvals(
        db::EvalFilter{.include_superseded = include_superseded});
    EXPECT_TRUE(evals.ok()) << evals.status();
    return evals.ok() ? *evals : std::vector<db::EvalRecord>{};
  }

  fs::path dir_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::unique_ptr<CoordinatorServer> server_;
  std::unique_ptr<v1::UserService::Stub> user_;
  std::unique_ptr<v1::WorkerService::Stub> worker_;
};

TEST_F(EvalJobsTest, SelectedCheckpointsGetOneJobEach) {
  Submit(Spec("evaluation: {tasks: [validation, needle], every_checkpoint: true, every_k: 2}\n"));
  const std::string worker = Register();
  const v1::Lease lease = Acquire(worker).lease();
  ASSERT_FALSE(lease.lease_id().empty());
  for (int64_t step = 1; step <= 4; ++step) Checkpoint(lease, 1, step);
  Checkpoint(lease, 1, 2);  // a re-delivered report
  const std::vector<db::EvalJobRecord> jobs = Jobs();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].checkpoint_step, 2);
  EXPECT_EQ(jobs[1].checkpoint_step, 4);
  EXPECT_EQ(jobs[0].tasks, (std::vector<std::string>{"validation", "needle"}));
}

TEST_F(EvalJobsTest, JobsAndResultsArePagedEachRowOnceInOrder) {
  Submit(Spec("evaluation: {tasks: [validation, needle], every_checkpoint: true}\n"));
  const std::string worker = Register();
  const v1::Lease lease = Acquire(worker).lease();
  for (int64_t step = 1; step <= 4; ++step) Checkpoint(lease, 1, step);
  for (int i = 0; i < 4; ++i) {  // two tasks × (loss, figure[0]) per job: 16 rows
    const v1::AcquireRunResponse acquired = Acquire(worker);
    ASSERT_TRUE(acquired.has_eval_lease());
    ASSERT_TRUE(ReportResult(acquired.eval_lease(), "validation", 1.0 + i).ok());
    ASSERT_TRUE(ReportResult(acquired.eval_lease(), "needle", 2.0 + i).ok());
  }
  std::vector<int64_t> job_ids;
  for (const db::EvalJobRecord& job : Jobs()) job_ids.push_back(job.job_id);
  ASSERT_EQ(job_ids.size(), 4u);
  std::vector<std::string> evals;  // the store's order: run, step, job, task, metric
  for (const db::EvalRecord& eval : Evals()) {
    evals.push_back(std::to_string(eval.job_id) + " " + eval.row.task + " " + eval.row.metric);
  }
  ASSERT_EQ(evals.size(), 16u);
  for (int page_size : {1, 3, 0}) {
    v1::ListEvalJobsRequest jobs_request;
    jobs_request.set_page_size(page_size);
    std::vector<int64_t> listed_jobs;
    v1::ListEvalsRequest evals_request;
    evals_request.set_page_size(page_size);
    std::vector<std::string> listed_evals;
    for (int page = 0; page < 20; ++page) {
      v1::ListEvalJobsResponse jobs;
      ASSERT_TRUE(user_->ListEvalJobs(Ctx(kClientToken).get(), jobs_request, &jobs).ok());
      for (const v1::EvalJob& job : jobs.jobs()) listed_jobs.push_back(job.job_id());
      if (jobs.next_page_token().empty()) break;
      jobs_request.set_page_token(jobs.next_page_token());
    }
    for (int page = 0; page < 20; ++page) {
      v1::ListEvalsResponse rows;
      ASSERT_TRUE(user_->ListEvals(Ctx(kClientToken).get(), evals_request, &rows).ok());
      for (const v1::EvalResult& row : rows.rows()) {
        listed_evals.push_back(std::to_string(row.job_id()) + " " + row.task() + " " +
                               row.metric());
      }
      if (rows.next_page_token().empty()) break;
      evals_request.set_page_token(rows.next_page_token());
    }
    EXPECT_EQ(listed_jobs, job_ids) << "page size " << page_size;
    EXPECT_EQ(listed_evals, evals) << "page size " << page_size;
  }
  // The job_ids filter holds across pages.
  v1::ListEvalJobsRequest some;
  some.add_job_ids(job_ids[1]);
  some.add_job_ids(job_ids[3]);
  some.set_page_size(1);
  v1::ListEvalJobsResponse first;
  ASSERT_TRUE(user_->ListEvalJobs(Ctx(kClientToken).get(), some, &first).ok());
  ASSERT_EQ(first.jobs_size(), 1);
  EXPECT_EQ(first.jobs(0).job_id(), job_ids[1]);
  some.set_page_token(first.next_page_token());
  v1::ListEvalJobsResponse second;
  ASSERT_TRUE(user_->ListEvalJobs(Ctx(kClientToken).get(), some, &second).ok());
  ASSERT_EQ(second.jobs_size(), 1);
  EXPECT_EQ(second.jobs(0).job_id(), job_ids[3]);
  EXPECT_TRUE(second.next_page_token().empty());
}

TEST_F(EvalJobsTest, OnlyTheFinalCheckpointWithoutEveryCheckpoint) {
  Submit(Spec("evaluation: {tasks: [validation]}\n"));
  const std::string worker = Register();
  const v1::Lease lease = Acquire(worker).lease();
  for (int64_t step = 1; step <= 4; ++step) Checkpoint(lease, 1, step);
  const std::vector<db::EvalJobRecord> jobs = Jobs();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].checkpoint_step, 4);
}

TEST_F(EvalJobsTest, TrainingGoesFirstAtEqualPriorityAndEvalsOnlyToWorkersThatTakeThem) {
  Submit(Spec("evaluation: {tasks: [validation]}\n"));
  const std::string worker = Register();
  const v1::Lease first = Acquire(worker).lease();
  Checkpoint(first, 1, 4);  // the final checkpoint: an eval job
  Submit(Spec(""));         // a second run at the same priority
  const v1::AcquireRunResponse next = Acquire(worker);
  EXPECT_TRUE(next.has_lease()) << "the run goes before the eval job";
  EXPECT_FALSE(next.has_eval_lease());
  const v1::AcquireRunResponse old_worker = Acquire(worker, /*accepts_eval_jobs=*/false);
  EXPECT_FALSE(old_worker.has_eval_lease());
  EXPECT_FALSE(old_worker.has_lease());
  const v1::AcquireRunResponse eval = Acquire(worker);
  ASSERT_TRUE(eval.has_eval_lease());
  EXPECT_EQ(eval.eval_lease().checkpoint_step(), 4);
  EXPECT_EQ(eval.eval_lease().checkpoint_path(), "/runs/run-1/step-4");
  EXPECT_EQ(eval.eval_lease().evaluation().tasks_size(), 1);
  EXPECT_EQ(eval.eval_lease().config().model().context(), 64);
}

TEST_F(EvalJobsTest, EvalPriorityAboveTheRunsGoesFirst) {
  Submit(Spec("evaluation: {tasks: [validation], priority: 5}\n"));
  const std::string worker = Register();
  const v1::Lease first = Acquire(worker).lease();
  Checkpoint(first, 1, 4);
  Submit(Spec(""));
  EXPECT_TRUE(Acquire(worker).has_eval_lease());
}

TEST_F(EvalJobsTest, ExpiredEvalLeaseIsLeasedAgainWithoutDuplicateRows) {
  Submit(Spec("evaluation: {tasks: [validation, brown-continuation]}\n"));
  const std::string worker = Register();
  const v1::Lease lease = Acquire(worker).lease();
  Checkpoint(lease, 1, 4);
  const v1::EvalLease first = Acquire(worker).eval_lease();
  ASSERT_FALSE(first.lease_id().empty());
  ASSERT_TRUE(ReportResult(first, "validation", 2.5).ok());
  ASSERT_TRUE(ReportResult(first, "validation", 2.5).ok());  // re-delivered
  now_ms_ += kLeaseMs + 1;
  ASSERT_EQ(*server_->scheduler()->ReapExpiredLeases(), 2);  // the run's and the eval job's
  EXPECT_EQ(ReportResult(first, "validation", 2.5).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  v1::AcquireRunResponse again = Acquire(worker);
  if (again.has_lease()) again = Acquire(worker);  // the requeued run goes first
  ASSERT_TRUE(again.has_eval_lease());
  const v1::EvalLease second = again.eval_lease();
  EXPECT_EQ(second.job_id(), first.job_id());
  EXPECT_EQ(second.attempt(), 2);
  ASSERT_TRUE(ReportResult(second, "validation", 9.0).ok());
  ASSERT_TRUE(ReportResult(second, "brown-continuation", 0.5).ok());
  ASSERT_TRUE(Complete(second).ok());
  EXPECT_EQ(Complete(second).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  const std::vector<db::EvalRecord> evals = Evals();
  ASSERT_EQ(evals.size(), 4u);  // two tasks × (loss, figure[0]), each once
  for (const db::EvalRecord& eval : evals) {
    if (eval.row.task == "validation" && eval.row.metric == "loss") {
      EXPECT_DOUBLE_EQ(eval.row.value, 2.5);  // the first lease's report stands
      EXPECT_EQ(eval.job_attempt, 1);
    }
    if (eval.row.metric == "figure[0]") {
      EXPECT_EQ(eval.row.text, "/runs/run-1/eval/" + eval.row.task + ".svg");
    }
  }
  EXPECT_EQ(Jobs()[0].state, db::EvalJobState::kSucceeded);
}

TEST_F(EvalJobsTest, FailedEvalJobIsNotLeasedAgainAndNeverTouchesItsRun) {
  const int64_t run_id = Submit(Spec("evaluation: {tasks: [/data/missing.jsonl]}\n"));
  const std::string worker = Register();
  const v1::Lease lease = Acquire(worker).lease();
  Checkpoint(lease, 1, 4);
  v1::CompleteRunRequest complete;
  complete.set_lease_id(lease.lease_id());
  complete.set_attempt(1);
  v1::CompleteRunResponse completed;
  ASSERT_TRUE(worker_->CompleteRun(Ctx(kWorkerToken).get(), complete, &completed).ok());
  const v1::EvalLease eval = Acquire(worker).eval_lease();
  v1::FailEvalJobRequest fail;
  fail.set_lease_id(eval.lease_id());
  fail.set_attempt(eval.attempt());
  fail.set_reason("task file /data/missing.jsonl: cannot open");
  v1::FailEvalJobResponse failed;
  ASSERT_TRUE(worker_->FailEvalJob(Ctx(kWorkerToken).get(), fail, &failed).ok());
  EXPECT_FALSE(Acquire(worker).has_eval_lease());
  const db::EvalJobRecord job = Jobs()[0];
  EXPECT_EQ(job.state, db::EvalJobState::kFailed);
  EXPECT_EQ(job.error, "task file /data/missing.jsonl: cannot open");
  auto run = server_->scheduler()->store()->GetRun(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->state, db::RunState::kSucceeded);
}

TEST_F(EvalJobsTest, ResumedAttemptSupersedesTheEvalsOfReplacedCheckpoints) {
  Submit(Spec("evaluation: {tasks: [validation], every_checkpoint: true}\n"));
  const std::string worker = Register();
  const v1::Lease first = Acquire(worker).lease();
  for (int64_t step = 1; step <= 3; ++step) Checkpoint(first, 1, step);
  // Evaluate steps 1 and 2; step 3's job stays queued.
  for (int i = 0; i < 2; ++i) {
    const v1::EvalLease eval = Acquire(worker).eval_lease();
    ASSERT_FALSE(eval.lease_id().empty());
    ASSERT_TRUE(ReportResult(eval, "validation", 3.0 - eval.checkpoint_step()).ok());
    ASSERT_TRUE(Complete(eval).ok());
  }
  now_ms_ += kLeaseMs + 1;
  ASSERT_EQ(*server_->scheduler()->ReapExpiredLeases(), 1);
  const v1::Lease second = Acquire(worker).lease();
  ASSERT_EQ(second.attempt(), 2);
  v1::ReportMetricsRequest metrics;
  metrics.set_lease_id(second.lease_id());
  metrics.set_attempt(2);
  metrics.set_resumed_from_step(1);
  v1::ReportMetricsResponse reported;
  ASSERT_TRUE(worker_->ReportMetrics(Ctx(kWorkerToken).get(), metrics, &reported).ok());

  const std::vector<db::EvalRecord> effective = Evals();
  ASSERT_EQ(effective.size(), 2u);  // step 1's loss and figure
  for (const db::EvalRecord& eval : effective) EXPECT_EQ(eval.checkpoint_step, 1);
  EXPECT_EQ(Evals(/*include_superseded=*/true).size(), 4u);
  const std::vector<db::EvalJobRecord> jobs = Jobs();
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[1].state, db::EvalJobState::kSucceeded);
  EXPECT_EQ(jobs[2].state, db::EvalJobState::kSuperseded);
  EXPECT_FALSE(Acquire(worker).has_eval_lease()) << "the superseded job is not leased";
}

TEST_F(EvalJobsTest, CancellingTheSweepFailsItsQueuedAndRunningEvalJobs) {
  Submit(Spec("evaluation: {tasks: [validation], every_checkpoint: true}\n"));
  const std::string worker = Register();
  const v1::Lease lease = Acquire(worker).lease();
  Checkpoint(lease, 1, 1);
  Checkpoint(lease, 1, 2);
  const v1::EvalLease running = Acquire(worker).eval_lease();
  ASSERT_FALSE(running.lease_id().empty());
  v1::CancelSweepRequest cancel;
  cancel.set_sweep_id(1);
  v1::CancelSweepResponse cancelled;
  ASSERT_TRUE(user_->CancelSweep(Ctx(kClientToken).get(), cancel, &cancelled).ok());

  const std::vector<db::EvalJobRecord> jobs = Jobs();
  ASSERT_EQ(jobs.size(), 2u);
  for (const db::EvalJobRecord& job : jobs) {
    EXPECT_EQ(job.state, db::EvalJobState::kFailed) << "job " << job.job_id;
    EXPECT_EQ(job.error, "sweep cancelled");
  }
  EXPECT_FALSE(Acquire(worker).has_eval_lease()) << "the queued job is not leased";
  EXPECT_EQ(ReportResult(running, "validation", 1.0).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION)
      << "the running job's lease has ended";
  EXPECT_TRUE(Evals().empty());
}

TEST_F(EvalJobsTest, QueueAndEvalLeasesSurviveARestart) {
  Submit(Spec("evaluation: {tasks: [validation], every_checkpoint: true}\n"));
  const std::string worker = Register();
  const v1::Lease lease = Acquire(worker).lease();
  Checkpoint(lease, 1, 1);
  Checkpoint(lease, 1, 2);
  const v1::EvalLease running = Acquire(worker).eval_lease();
  ASSERT_FALSE(running.lease_id().empty());
  worker_.reset();
  user_.reset();
  server_.reset();
  StartServer();
  ASSERT_TRUE(ReportResult(running, "validation", 1.0).ok());
  ASSERT_TRUE(Complete(running).ok());
  const v1::EvalLease queued = Acquire(worker).eval_lease();
  EXPECT_EQ(queued.checkpoint_step(), 2);
}

TEST_F(EvalJobsTest, FinishedSweepIsEvaluatedAgainOnTheCheckpointsAsked) {
  const int64_t run_id = Submit(Spec(""));
  const std::string worker = Register();
  const v1::Lease lease = Acquire(worker).lease();
  auto create = [&](v1::CreateEvalJobsRequest::Checkpoints which, int every_k,
                    const std::string& task, v1::CreateEvalJobsResponse* response) {
    v1::CreateEvalJobsRequest request;
    request.set_sweep_id(1);
    request.add_tasks(task);
    request.set_checkpoints(which);
    request.set_every_k(every_k);
    return user_->CreateEvalJobs(Ctx(kClientToken).get(), request, response);
  };
  v1::CreateEvalJobsResponse response;
  EXPECT_EQ(
      create(v1::CreateEvalJobsRequest::CHECKPOINTS_LAST, 0, "validation", &response).error_code(),
      grpc::StatusCode::FAILED_PRECONDITION)
      << "the sweep is still active";
  for (int64_t step = 1; step <= 4; ++step) Checkpoint(lease, 1, step);
  v1::CompleteRunRequest complete;
  complete.set_lease_id(lease.lease_id());
  complete.set_attempt(1);
  v1::CompleteRunResponse completed;
  ASSERT_TRUE(worker_->CompleteRun(Ctx(kWorkerToken).get(), complete, &completed).ok());

  const grpc::Status bad =
      create(v1::CreateEvalJobsRequest::CHECKPOINTS_ALL, 0, "mmlu-xyz", &response);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad.error_message().rfind("tasks[0]: unknown task \"mmlu-xyz\"", 0), 0u)
      << bad.error_message();
  struct Case {
    v1::CreateEvalJobsRequest::Checkpoints which;
    int every_k;
    std::vector<int64_t> steps;
  };
  for (const Case& c : {Case{v1::CreateEvalJobsRequest::CHECKPOINTS_LAST, 0, {4}},
                        Case{v1::CreateEvalJobsRequest::CHECKPOINTS_ALL, 0, {1, 2, 3, 4}},
                        Case{v1::CreateEvalJobsRequest::CHECKPOINTS_EVERY_K, 2, {2, 4}}}) {
    v1::CreateEvalJobsResponse created;
    ASSERT_TRUE(create(c.which, c.every_k, "brown-continuation", &created).ok());
    v1::ListEvalJobsRequest list;
    for (const int64_t id : created.job_ids()) list.add_job_ids(id);
    v1::ListEvalJobsResponse jobs;
    ASSERT_TRUE(user_->ListEvalJobs(Ctx(kClientToken).get(), list, &jobs).ok());
    std::vector<int64_t> steps;
    for (const v1::EvalJob& job : jobs.jobs()) {
      steps.push_back(job.checkpoint_step());
      EXPECT_EQ(job.state(), v1::EVAL_JOB_STATE_PENDING);
      EXPECT_EQ(job.run_id(), run_id);
    }
    EXPECT_EQ(steps, c.steps);
  }
  const v1::EvalLease eval = Acquire(worker).eval_lease();
  ASSERT_TRUE(ReportResult(eval, "brown-continuation", 0.5).ok());
  v1::ListEvalsRequest request;
  request.set_sweep_id(1);
  request.set_task("brown-continuation");
  v1::ListEvalsResponse evals;
  ASSERT_TRUE(user_->ListEvals(Ctx(kClientToken).get(), request, &evals).ok());
  ASSERT_EQ(evals.rows_size(), 2);  // loss and figure[0]
  EXPECT_EQ(evals.rows(0).run_name(), "llama-cpu-1-ctx64");
  EXPECT_EQ(evals.rows(0).arch(), "llama");
  request.set_task("validation");
  ASSERT_TRUE(user_->ListEvals(Ctx(kClientToken).get(), request, &evals).ok());
  EXPECT_EQ(evals.rows_size(), 0);
}

// A task file named relative to the folder `flopwise eval` ran in reaches the
// workers as an absolute path; without that folder it is refused, naming it.
TEST_F(EvalJobsTest, RelativeTaskFilesAreMadeAbsoluteAgainstTheClientsFolder) {
  Submit(Spec(""));
  const v1::Lease lease = Acquire(Register()).lease();
  for (int64_t step = 1; step <= 4; ++step) Checkpoint(lease, 1, step);  // the run's last step
  v1::CompleteRunRequest complete;
  complete.set_lease_id(lease.lease_id());
  complete.set_attempt(1);
  v1::CompleteRunResponse completed;
  ASSERT_TRUE(worker_->CompleteRun(Ctx(kWorkerToken).get(), complete, &completed).ok());

  v1::CreateEvalJobsRequest request;
  request.set_sweep_id(1);
  request.add_tasks("tasks/arc.jsonl");
  v1::CreateEvalJobsResponse created;
  const grpc::Status no_base = user_->CreateEvalJobs(Ctx(kClientToken).get(), request, &created);
  EXPECT_EQ(no_base.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(no_base.error_message().rfind("tasks[0]: \"tasks/arc.jsonl\" is relative", 0), 0u)
      << no_base.error_message();
  request.set_base_dir("/home/me/study");
  ASSERT_TRUE(user_->CreateEvalJobs(Ctx(kClientToken).get(), request, &created).ok());
  v1::ListEvalJobsRequest list;
  list.add_job_ids(created.job_ids(0));
  v1::ListEvalJobsResponse jobs;
  ASSERT_TRUE(user_->ListEvalJobs(Ctx(kClientToken).get(), list, &jobs).ok());
  ASSERT_EQ(jobs.jobs_size(), 1);
  EXPECT_EQ(jobs.jobs(0).tasks(0), "/home/me/study/tasks/arc.jsonl");
}

}  // namespace
}  // namespace flopwise::server

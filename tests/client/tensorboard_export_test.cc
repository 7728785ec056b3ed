// `flopwise export --format tensorboard` against a real coordinator on a
// loopback port: a two-run sweep with a retried attempt (superseded rows),
// validated checkpoints and evaluation results, exported as event files and
// read back by the independent reader (tests/client/read_tfevents.py). Every
// value the CSV export has is in the event files exactly once, at its step.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_split.h"
#include "client/channel.h"
#include "client/export.h"
#include "client/tensorboard_export.h"
#include "flopwise/v1/worker_service.grpc.pb.h"
#include "server/coordinator_server.h"
#include "tests/client/tfevents_oracle.h"

namespace flopwise::client {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::flopwise::v1;

constexpr char kClientToken[] = "client-secret";
constexpr char kWorkerToken[] = "worker-secret";

// Two runs of 4 steps of 1024 tokens, a checkpoint every step, each evaluated
// on the needle task; a run may be tried twice.
constexpr char kSpec[] =
    "name: tb\nvocab: 256\ndata: {path: /data/tiny}\narchitectures: [llama, tnl]\n"
    "sizes: [cpu-1]\ncontexts: [64]\ntokens: 4096\nbatch_tokens: 1024\nmax_attempts: 2\n"
    "checkpoint: {every_tokens: 1024}\nevaluation: {tasks: [needle], every_checkpoint: true}\n";

// A CSV export's rows as column name → field (no field here holds a comma).
std::vector<std::map<std::string, std::string>> ParseCsv(const std::string& csv) {
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  std::vector<std::map<std::string, std::string>> rows;
  if (lines.empty()) return rows;
  const std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> fields = absl::StrSplit(lines[i], ',');
    EXPECT_EQ(fields.size(), header.size()) << lines[i];
    std::map<std::string, std::string>& row = rows.emplace_back();
    for (size_t c = 0; c < header.size() && c < fields.size(); ++c) row[header[c]] = fields[c];
  }
  return rows;
}

class TensorBoardExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    dir_ = fs::temp_directory_path() /
           ("flopwise-tensorboard-export-" + std::to_string(::getpid()) + "-" +
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
    const std::string address = "127.0.0.1:" + std::to_string(server_->port());
    user_ =
        v1::UserService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    worker_ = v1::WorkerService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    user_.reset();
    worker_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  template <typename Call>
  void Check(Call call) {
    grpc::ClientContext context;
    PrepareContext(&context, kWorkerToken, 20'000);
    const grpc::Status status = call(&context);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::AcquireRunResponse Acquire(bool eval_jobs) {
    v1::AcquireRunRequest request;
    request.set_worker_id(worker_id_);
    request.set_free_cpu_cores(4);
    request.set_free_memory_bytes(int64_t{16} << 30);
    request.set_accepts_eval_jobs(eval_jobs);
    v1::AcquireRunResponse response;
    Check([&](grpc::ClientContext* c) { return worker_->AcquireRun(c, request, &response); });
    return response;
  }

  // Steps [first, last] of `lease`, seq from `first_seq`; each attempt's loss
  // curve is its own, so a superseded row is told apart from its replacement.
  void Train(const v1::Lease& lease, int64_t first, int64_t last, int64_t first_seq,
             int64_t resumed_from_step) {
    v1::ReportMetricsRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(lease.attempt());
    request.set_resumed_from_step(resumed_from_step);
    for (int64_t step = first; step <= last; ++step) {
      v1::MetricPoint* point = request.add_rows();
      point->set_seq(first_seq + step - first);
      point->set_step(step);
      point->set_tokens(step * 1024);
      point->set_flops(static_cast<double>(step) * 3.5e9);
      point->set_loss(6.0 - 0.3 * static_cast<double>(step) + 0.01 * lease.run_id() +
                      0.125 * lease.attempt());
      point->set_lr(1e-3 * static_cast<double>(step) / 4);
      point->set_grad_norm(0.5 + 0.1 * static_cast<double>(step));
      point->set_tokens_per_s(12000 + static_cast<double>(step));
    }
    v1::ReportMetricsResponse response;
    Check([&](grpc::ClientContext* c) { return worker_->ReportMetrics(c, request, &response); });
  }

  void CheckpointWithValidation(const v1::Lease& lease, int64_t seq, int64_t step) {
    v1::ReportCheckpointRequest request;
    request.set_lease_id(lease.lease_id());
    request.set_attempt(lease.attempt());
    v1::CheckpointPoint* point = request.mutable_checkpoint();
    point->set_seq(seq);
    point->set_step(step);
    point->set_tokens(step * 1024);
    point->set_path("/runs/" + std::to_string(lease.run_id()) + "/step-" + std::to_string(step));
    point->set_sha256(std::string(64, 'a'));
    point->set_validation_loss(5.5 - 0.2 * static_cast<double>(step));
    point->set_validation_bits_per_byte(2.0 - 0.05 * static_cast<double>(step));
    point->set_validation_tokens(4096);
    v1::ReportCheckpointResponse response;
    Check([&](grpc::ClientContext* c) { return worker_->ReportCheckpoint(c, request, &response); });
  }

  // Run A: attempt 1 trains steps 1-3 (checkpoint at 2) and fails; attempt 2
  // resumes from step 2 and trains 3-4 (checkpoint at 4): attempt 1's step 3
  // is superseded. Run B trains 1-4 (checkpoint at 4). Then every eval job
  // reports a needle accuracy and a figure (a text row).
  void RunSweep() {
    grpc::ClientContext submit_context;
    PrepareContext(&submit_context, kClientToken, 20'000);
    v1::SubmitSweepRequest submit;
    submit.set_spec_yaml(kSpec);
    v1::SubmitSweepResponse submitted;
    ASSERT_TRUE(user_->SubmitSweep(&submit_context, submit, &submitted).ok());
    sweep_id_ = submitted.sweep_id();
    v1::RegisterRequest registration;
    registration.set_hostname("w");
    registration.set_cpu_cores(4);
    registration.set_memory_bytes(int64_t{16} << 30);
    v1::RegisterResponse registered;
    Check([&](grpc::ClientContext* c) { return worker_->Register(c, registration, &registered); });
    worker_id_ = registered.worker_id();

    const v1::Lease a1 = Acquire(false).lease();
    const v1::Lease b = Acquire(false).lease();
    ASSERT_FALSE(a1.lease_id().empty());
    ASSERT_FALSE(b.lease_id().empty());
    Train(a1, 1, 3, 0, -1);
    CheckpointWithValidation(a1, 0, 2);
    v1::FailRunRequest fail;
    fail.set_lease_id(a1.lease_id());
    fail.set_attempt(a1.attempt());
    fail.set_reason("exit code 1: test");
    v1::FailRunResponse failed;
    Check([&](grpc::ClientContext* c) { return worker_->FailRun(c, fail, &failed); });
    ASSERT_EQ(failed.run_state(), v1::RUN_STATE_PENDING);
    const v1::Lease a2 = Acquire(false).lease();
    ASSERT_EQ(a2.run_id(), a1.run_id());
    ASSERT_EQ(a2.attempt(), 2);
    Train(a2, 3, 4, 0, 2);
    CheckpointWithValidation(a2, 0, 4);
    Train(b, 1, 4, 0, -1);
    CheckpointWithValidation(b, 0, 4);

    for (v1::AcquireRunResponse job = Acquire(true); job.has_eval_lease(); job = Acquire(true)) {
      const v1::EvalLease& lease = job.eval_lease();
      v1::ReportEvalResultRequest result;
      result.set_lease_id(lease.lease_id());
      result.set_attempt(lease.attempt());
      result.set_task("needle");
      v1::EvalMetric* accuracy = result.add_metrics();
      accuracy->set_name("accuracy");
      accuracy->set_value(0.25 + 0.125 * static_cast<double>(lease.checkpoint_step()) +
                          0.001 * static_cast<double>(lease.run_id()));
      v1::EvalMetric* figure = result.add_metrics();
      figure->set_name("figure[0]");
      figure->set_text("/runs/eval/needle.svg");
      v1::ReportEvalResultResponse reported;
      Check(
          [&](grpc::ClientContext* c) { return worker_->ReportEvalResult(c, result, &reported); });
      ++eval_jobs_;
    }
  }

  std::string Csv(const std::string& what) {
    std::ostringstream csv;
    auto rows = Export(*user_, kClientToken,
                       ExportOptions{.sweep_id = sweep_id_, .format = "csv", .what = what}, csv);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return csv.str();
  }

  absl::StatusOr<TensorBoardExportCounts> ExportTo(const fs::path& out,
                                                   bool include_superseded = false) {
    return ExportTensorBoard(
        *user_, kClientToken,
        ExportOptions{.sweep_id = sweep_id_, .include_superseded = include_superseded}, out);
  }

  fs::path dir_;
  std::unique_ptr<server::CoordinatorServer> server_;
  std::unique_ptr<v1::UserService::Stub> user_;
  std::unique_ptr<v1::WorkerService::Stub> worker_;
  std::string worker_id_;
  int64_t sweep_id_ = 0;
  int eval_jobs_ = 0;
};

// The run folder the export names for a CSV row.
std::string RunFolder(const std::map<std::string, std::string>& row) {
  return "sweep-" + row.at("sweep") + "/" + row.at("run") + "-run-" + row.at("run_id");
}

TEST_F(TensorBoardExportTest, EveryCsvValueIsInTheEventFilesOnceAtItsStep) {
  const std::string missing = testing::OracleMissing();
  if (!missing.empty()) GTEST_SKIP() << missing;
  ASSERT_NO_FATAL_FAILURE(RunSweep());
  ASSERT_GT(eval_jobs_, 0);
  const fs::path out = dir_ / "tb";
  auto counts = ExportTo(out);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->runs, 2);

  const testing::OracleResult read = testing::ReadWithOracle(out, dir_);
  ASSERT_EQ(read.exit_code, 0) << read.errors;
  // (run folder, tag, step) → every value read there.
  std::map<std::tuple<std::string, std::string, int64_t>, std::vector<double>> events;
  for (const testing::OracleEvent& event : read.events) {
    events[{event.run, event.tag, event.step}].push_back(event.value);
  }
  auto expect_once = [&](const std::string& run, const std::string& tag, const std::string& step,
                         const std::string& value) {
    const auto it = events.find({run, tag, std::stoll(step)});
    ASSERT_NE(it, events.end()) << run << " " << tag << " step " << step;
    ASSERT_EQ(it->second.size(), 1u) << run << " " << tag << " step " << step;
    // TensorBoard keeps a float; the CSV has 10 significant digits.
    EXPECT_FLOAT_EQ(it->second[0], std::stod(value)) << run << " " << tag << " step " << step;
    events.erase(it);
  };

  const auto metrics = ParseCsv(Csv("metrics"));
  ASSERT_EQ(metrics.size(), 8u);  // run A: 1, 2 (attempt 1), 3, 4 (attempt 2); run B: 1-4
  for (const auto& row : metrics) {
    expect_once(RunFolder(row), "train/loss", row.at("step"), row.at("loss"));
    expect_once(RunFolder(row), "train/lr", row.at("step"), row.at("lr"));
    expect_once(RunFolder(row), "train/grad_norm", row.at("step"), row.at("grad_norm"));
    expect_once(RunFolder(row), "train/tokens_per_s", row.at("step"), row.at("tokens_per_s"));
    expect_once(RunFolder(row), "train/tokens", row.at("step"), row.at("tokens"));
    expect_once(RunFolder(row), "train/flops", row.at("step"), row.at("flops"));
  }
  int validated = 0;
  for (const auto& row : ParseCsv(Csv("checkpoints"))) {
    if (row.at("validation_loss").empty()) continue;
    ++validated;
    expect_once(RunFolder(row), "validation/loss", row.at("step"), row.at("validation_loss"));
    expect_once(RunFolder(row), "validation/bits_per_byte", row.at("step"),
                row.at("validation_bits_per_byte"));
  }
  EXPECT_EQ(validated, 3);  // run A at 2 and 4, run B at 4
  int numeric_evals = 0;
  for (const auto& row : ParseCsv(Csv("evals"))) {
    if (!row.at("text").empty()) continue;  // the figure: no scalar
    ++numeric_evals;
    expect_once(RunFolder(row), "eval/" + row.at("task") + "/" + row.at("metric"), row.at("step"),
                row.at("value"));
  }
  EXPECT_GT(numeric_evals, 0);
  // Nothing else: no superseded row, no figure, no event the CSVs lack.
  for (const auto& [key, values] : events) {
    ADD_FAILURE() << "unexpected event: " << std::get<0>(key) << " " << std::get<1>(key) << " step "
                  << std::get<2>(key);
  }
  EXPECT_EQ(counts->events, 8 + 3 + numeric_evals);
  for (const testing::OracleEvent& event : read.events) {
    EXPECT_NEAR(event.wall_time, static_cast<double>(::time(nullptr)), 600);
  }
}

// Every file under `dir` with its size.
std::map<fs::path, uintmax_t> FilesUnder(const fs::path& dir) {
  std::map<fs::path, uintmax_t> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files[entry.path()] = entry.file_size();
  }
  return files;
}

TEST_F(TensorBoardExportTest, ANonEmptyRunFolderIsRefusedBeforeAnythingIsWritten) {
  ASSERT_NO_FATAL_FAILURE(RunSweep());
  const fs::path out = dir_ / "tb";
  ASSERT_TRUE(ExportTo(out).ok());
  const std::map<fs::path, uintmax_t> before = FilesUnder(out);
  ASSERT_EQ(before.size(), 2u);  // one event file per run
  const auto again = ExportTo(out);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("--output " + out.string()), std::string::npos)
      << again.status();
  EXPECT_NE(again.status().message().find("is not empty"), std::string::npos) << again.status();
  EXPECT_EQ(FilesUnder(out), before);
}

TEST_F(TensorBoardExportTest, BadOptionsNameTheFlag) {
  ASSERT_NO_FATAL_FAILURE(RunSweep());
  const auto superseded = ExportTo(dir_ / "tb", /*include_superseded=*/true);
  EXPECT_EQ(superseded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(superseded.status().message().find("--include-superseded"), std::string::npos);
  const auto empty = ExportTo("");
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("--output"), std::string::npos);
  std::ofstream(dir_ / "a-file") << "x";
  const auto file = ExportTo(dir_ / "a-file");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(file.status().message().find("is not a folder"), std::string::npos);
  std::ostringstream stream;
  const auto streamed =
      Export(*user_, kClientToken, ExportOptions{.format = "tensorboard"}, stream);
  EXPECT_EQ(streamed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(streamed.status().message().find("--format tensorboard"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "tb"));
}

}  // namespace
}  // namespace flopwise::client

// Metric and checkpoint reports: idempotent batches, supersede semantics and
// the effective view; fits.
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "db/store.h"
#include "db_test_util.h"
#include "gtest/gtest.h"

namespace flopwise::db {
namespace {

using testing::CheckpointAt;
using testing::MakeAttempt;
using testing::MakeRun;
using testing::MakeSweep;
using testing::MakeWorker;
using testing::MetricRows;
using testing::RawExec;
using testing::RawQueryInt;
using testing::TempDir;

class ReportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("flopwise.db");
    auto store = Store::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    std::vector<NewRun> runs = {MakeRun(0), MakeRun(1)};
    auto created = store_->CreateSweep(MakeSweep(), runs);
    ASSERT_TRUE(created.ok()) << created.status();
    sweep_ = created->sweep_id;
    run_ = created->run_ids[0];
    other_run_ = created->run_ids[1];
    ASSERT_TRUE(store_->UpsertWorker(MakeWorker("w1")).ok());
    ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-1", 100000)).ok());
  }

  // Ends attempt 1 as expired and starts attempt 2 on the same run.
  void StartSecondAttempt() {
    ASSERT_TRUE(store_
                    ->EndAttempt(run_, 1, AttemptState::kExpired, "lease expired", 50000,
                                 RunState::kPending)
                    .ok());
    ASSERT_TRUE(store_->BeginAttempt(MakeAttempt(run_, "w1", "lease-2", 200000)).ok());
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
  int64_t sweep_ = 0;
  int64_t run_ = 0;
  int64_t other_run_ = 0;
};

TEST_F(ReportsTest, RetriedMetricBatchAddsNoRows) {
  auto rows = MetricRows({10, 20, 30});
  auto first = store_->RecordMetrics(run_, 1, rows);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 3);
  auto retry = store_->RecordMetrics(run_, 1, rows);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(*retry, 0);
  // A batch overlapping the stored seqs inserts only the new ones.
  auto overlap = store_->RecordMetrics(run_, 1, MetricRows({30, 40}, 2));
  ASSERT_TRUE(overlap.ok());
  EXPECT_EQ(*overlap, 1);
  EXPECT_EQ(RawQueryInt(path_, "SELECT count(*) FROM metrics"), 4);
  auto metrics = store_->ListMetrics({.run_id = run_});
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_EQ(metrics->size(), 4u);
  EXPECT_EQ((*metrics)[3].row.step, 40);
  EXPECT_DOUBLE_EQ((*metrics)[3].row.loss, 10.0 / 41.0);
  EXPECT_EQ((*metrics)[3].row.tokens, 40 * 8192);
}

TEST_F(ReportsTest, RetriedCheckpointAddsNoRow) {
  std::vector<CheckpointRow> rows = {CheckpointAt(0, 20)};
  EXPECT_EQ(*store_->RecordCheckpoints(run_, 1, rows), 1);
  EXPECT_EQ(*store_->RecordCheckpoints(run_, 1, rows), 0);
  EXPECT_EQ(RawQueryInt(path_, "SELECT count(*) FROM checkpoints"), 1);
  auto newest = store_->NewestCheckpoint(run_);
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_EQ(newest->row.path, "/runs/1/step-20");
  EXPECT_EQ(newest->row.sha256, std::string(64, 'a'));
  EXPECT_EQ(store_->NewestCheckpoint(other_run_).status().code(), absl::StatusCode::kNotFound);
}

// The trainer's validation of a checkpoint is stored with it and read back;
// NULL columns (none ran) read back as nullopt; a re-delivered report with
// other values changes nothing.
TEST_F(ReportsTest, CheckpointValidationRoundTripsAndARetryChangesNothing) {
  CheckpointRow validated = CheckpointAt(0, 20);
  validated.validation = CheckpointValidation{.loss = 2.5, .bits_per_byte = 3.75, .tokens = 4096};
  CheckpointRow no_bpb = CheckpointAt(1, 40);
  no_bpb.validation = CheckpointValidation{
      .loss = 2.25, .bits_per_byte = std::numeric_limits<double>::quiet_NaN(), .tokens = 512};
  std::vector<CheckpointRow> rows = {validated, no_bpb, CheckpointAt(2, 60)};
  ASSERT_EQ(*store_->RecordCheckpoints(run_, 1, rows), 3);
  EXPECT_EQ(RawQueryInt(path_,
                        "SELECT count(*) FROM checkpoints WHERE validation_loss IS NULL AND "
                        "validation_bits_per_byte IS NULL AND validation_tokens IS NULL"),
            1);
  std::vector<CheckpointRow> retry = rows;
  retry[0].validation->loss = 9.0;
  retry[2].validation = CheckpointValidation{.loss = 1.0, .bits_per_byte = 1.0, .tokens = 64};
  EXPECT_EQ(*store_->RecordCheckpoints(run_, 1, retry), 0);

  auto stored = store_->ListCheckpoints({.run_id = run_});
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 3u);
  ASSERT_TRUE((*stored)[0].row.validation.has_value());
  EXPECT_EQ((*stored)[0].row.validation->loss, 2.5);
  EXPECT_EQ((*stored)[0].row.validation->bits_per_byte, 3.75);
  EXPECT_EQ((*stored)[0].row.validation->tokens, 4096);
  ASSERT_TRUE((*stored)[1].row.validation.has_value());
  EXPECT_TRUE(std::isnan((*stored)[1].row.validation->bits_per_byte));
  EXPECT_FALSE((*stored)[2].row.validation.has_value());
  auto run = store_->GetRun(run_);
  ASSERT_TRUE(run.ok());
  EXPECT_FALSE(run->newest_checkpoint->row.validation.has_value());  // step 60 had none

  CheckpointRow bad = CheckpointAt(3, 80);
  bad.validation = CheckpointValidation{.loss = 2.0, .bits_per_byte = 3.0, .tokens = 0};
  std::vector<CheckpointRow> bad_rows = {bad};
  auto refused = store_->RecordCheckpoints(run_, 1, bad_rows);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("rows[0].validation.tokens"), std::string::npos)
      << refused.status();
}

// A resumed attempt supersedes the validation of the checkpoints it replaces
// with them: the effective view carries the new attempt's.
TEST_F(ReportsTest, CheckpointValidationIsSupersededWithItsCheckpoint) {
  std::vector<CheckpointRow> first = {CheckpointAt(0, 20), CheckpointAt(1, 40)};
  first[0].validation = CheckpointValidation{.loss = 3.0, .bits_per_byte = 4.0, .tokens = 256};
  first[1].validation = CheckpointValidation{.loss = 2.0, .bits_per_byte = 3.0, .tokens = 256};
  ASSERT_EQ(*store_->RecordCheckpoints(run_, 1, first), 2);
  StartSecondAttempt();
  ASSERT_EQ(*store_->SupersedeAfter(run_, 2, 20), 1);
  std::vector<CheckpointRow> second = {CheckpointAt(0, 40)};
  second[0].validation = CheckpointValidation{.loss = 1.5, .bits_per_byte = 2.5, .tokens = 256};
  ASSERT_EQ(*store_->RecordCheckpoints(run_, 2, second), 1);
  auto effective = store_->ListCheckpoints({.run_id = run_});
  ASSERT_TRUE(effective.ok());
  ASSERT_EQ(effective->size(), 2u);
  EXPECT_EQ((*effective)[0].row.validation->loss, 3.0);
  EXPECT_EQ((*effective)[1].attempt, 2);
  EXPECT_EQ((*effective)[1].row.validation->loss, 1.5);
  auto all = store_->ListCheckpoints({.run_id = run_, .include_superseded = true});
  ASSERT_EQ(all->size(), 3u);
  EXPECT_TRUE((*all)[1].superseded);
  EXPECT_EQ((*all)[1].row.validation->loss, 2.0);  // kept, superseded
  EXPECT_EQ(store_->GetRun(run_)->newest_checkpoint->row.validation->loss, 1.5);
}

// Attempt 1 reports steps 10..50 with checkpoints at 20 and 40 and dies;
// attempt 2 resumes from 40 and reports 50..80.
TEST_F(ReportsTest, ResumedAttemptSupersedesRowsAfterItsCheckpoint) {
  ASSERT_EQ(*store_->RecordMetrics(run_, 1, MetricRows({10, 20, 30, 40, 50})), 5);
  std::vector<CheckpointRow> first_checkpoints = {CheckpointAt(0, 20), CheckpointAt(1, 40)};
  ASSERT_EQ(*store_->RecordCheckpoints(run_, 1, first_checkpoints), 2);
  StartSecondAttempt();
  auto superseded = store_->SupersedeAfter(run_, 2, 40);
  ASSERT_TRUE(superseded.ok()) << superseded.status();
  EXPECT_EQ(*superseded, 1);  // attempt 1's metric at step 50
  ASSERT_EQ(*store_->RecordMetrics(run_, 2, MetricRows({50, 60, 70, 80})), 4);
  std::vector<CheckpointRow> second_checkpoints = {CheckpointAt(0, 60), CheckpointAt(1, 80)};
  ASSERT_EQ(*store_->RecordCheckpoints(run_, 2, second_checkpoints), 2);

  auto effective = store_->ListMetrics({.run_id = run_});
  ASSERT_TRUE(effective.ok()) << effective.status();
  std::vector<int64_t> steps;
  for (const MetricRecord& m : *effective) {
    steps.push_back(m.row.step);
    EXPECT_FALSE(m.superseded);
    EXPECT_EQ(m.attempt, m.row.step <= 40 ? 1 : 2) << "step " << m.row.step;
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{10, 20, 30, 40, 50, 60, 70, 80}));

  // Superseded rows are kept.
  auto all = store_->ListMetrics({.run_id = run_, .include_superseded = true});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 9u);
  int superseded_rows = 0;
  for (const MetricRecord& m : *all) {
    if (m.superseded) {
      ++superseded_rows;
      EXPECT_EQ(m.attempt, 1);
      EXPECT_EQ(m.row.step, 50);
    }
  }
  EXPECT_EQ(superseded_rows, 1);

  auto checkpoints = store_->ListCheckpoints({.sweep_id = sweep_});
  ASSERT_TRUE(checkpoints.ok());
  ASSERT_EQ(checkpoints->size(), 4u);
  EXPECT_EQ((*checkpoints)[1].row.step, 40);
  EXPECT_EQ((*checkpoints)[1].attempt, 1);
  EXPECT_EQ((*checkpoints)[2].row.step, 60);
  EXPECT_EQ((*checkpoints)[2].attempt, 2);

  auto run = store_->GetRun(run_);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(run->latest_metric.has_value());
  EXPECT_EQ(run->latest_metric->row.step, 80);
  ASSERT_TRUE(run->newest_checkpoint.has_value());
  EXPECT_EQ(run->newest_checkpoint->row.step, 80);
  auto attempts = store_->ListAttempts({.run_id = run_});
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[1].resumed_from_step, 40);
}

TEST_F(ReportsTest, CheckpointsAboveTheResumePointAreSuperseded) {
  ASSERT_EQ(*store_->RecordMetrics(run_, 1, MetricRows({10, 20, 30})), 3);
  std::vector<CheckpointRow> rows = {CheckpointAt(0, 10), CheckpointAt(1, 20), CheckpointAt(2, 30)};
  ASSERT_EQ(*store_->RecordCheckpoints(run_, 1, rows), 3);
  StartSecondAttempt();
  // The checkpoint at 30 was lost with the machine: attempt 2 resumes from 20.
  EXPECT_EQ(*store_->SupersedeAfter(run_, 2, 20), 2);
  auto newest = store_->NewestCheckpoint(run_);
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ(newest->row.step, 20);
  EXPECT_EQ(newest->attempt, 1);
  auto all = store_->ListCheckpoints({.run_id = run_, .include_superseded = true});
  ASSERT_EQ(all->size(), 3u);
  EXPECT_TRUE((*all)[2].superseded);
  // Superseding again changes nothing more.
  EXPECT_EQ(*store_->SupersedeAfter(run_, 2, 20), 0);
}

TEST_F(ReportsTest, LaterAttemptWinsAtTheSameStep) {
  ASSERT_EQ(*store_->RecordMetrics(run_, 1, MetricRows({10, 20})), 2);
  StartSecondAttempt();
  ASSERT_TRUE(store_->SupersedeAfter(run_, 2, 20).ok());
  // Attempt 2 reports step 20 again (it logs the step it resumed at).
  auto again = MetricRows({20, 30});
  again[0].loss = 0.123;
  ASSERT_EQ(*store_->RecordMetrics(run_, 2, again), 2);
  auto effective = store_->ListMetrics({.run_id = run_});
  ASSERT_EQ(effective->size(), 3u);
  EXPECT_EQ((*effective)[1].row.step, 20);
  EXPECT_EQ((*effective)[1].attempt, 2);
  EXPECT_DOUBLE_EQ((*effective)[1].row.loss, 0.123);
}

TEST_F(ReportsTest, PagesReadOnAfterAKeyWithEachStepsEffectiveRow) {
  ASSERT_EQ(*store_->RecordMetrics(run_, 1, MetricRows({10, 20})), 2);
  StartSecondAttempt();
  ASSERT_TRUE(store_->SupersedeAfter(run_, 2, 20).ok());
  ASSERT_EQ(*store_->RecordMetrics(run_, 2, MetricRows({20, 30, 40})), 3);
  // Pages of one row: step 20's row is attempt 2's, and no step comes twice.
  std::vector<std::pair<int64_t, int>> steps;  // (step, attempt)
  RowFilter filter{.run_id = run_, .limit = 1};
  for (int page = 0; page < 10; ++page) {
    auto rows = store_->ListMetrics(filter);
    ASSERT_TRUE(rows.ok()) << rows.status();
    if (rows->empty()) break;
    ASSERT_EQ(rows->size(), 1u);
    const MetricRecord& m = rows->front();
    steps.emplace_back(m.row.step, m.attempt);
    filter.after = RowKey{m.run_id, m.row.step, m.attempt, m.row.seq};
  }
  EXPECT_EQ(steps, (std::vector<std::pair<int64_t, int>>{{10, 1}, {20, 2}, {30, 2}, {40, 2}}));
  // With superseded rows the key is (run, attempt, seq).
  auto rest = store_->ListMetrics({.run_id = run_,
                                   .include_superseded = true,
                                   .after = RowKey{.run_id = run_, .attempt = 1, .seq = 1},
                                   .limit = 2});
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].attempt, 2);
  EXPECT_EQ((*rest)[0].row.step, 20);
  EXPECT_EQ((*rest)[1].row.step, 30);
}

TEST_F(ReportsTest, LateReportOfAnOldAttemptLandsSuperseded) {
  ASSERT_EQ(*store_->RecordMetrics(run_, 1, MetricRows({10, 20})), 2);
  StartSecondAttempt();
  ASSERT_TRUE(store_->SupersedeAfter(run_, 2, 20).ok());
  // A retry from attempt 1's worker arrives after attempt 2 resumed.
  ASSERT_EQ(*store_->RecordMetrics(run_, 1, MetricRows({20, 30, 40}, 1)), 2);
  auto effective = store_->ListMetrics({.run_id = run_});
  ASSERT_TRUE(effective.ok());
  std::vector<int64_t> steps;
  for (const MetricRecord& m : *effective) steps.push_back(m.row.step);
  EXPECT_EQ(steps, (std::vector<int64_t>{10, 20}));
  EXPECT_EQ(RawQueryInt(path_, "SELECT count(*) FROM metrics WHERE superseded = 1"), 2);
}

TEST_F(ReportsTest, NanLossRoundTrips) {
  auto rows = MetricRows({10});
  rows[0].loss = std::numeric_limits<double>::quiet_NaN();
  rows[0].grad_norm = std::numeric_limits<double>::infinity();
  ASSERT_EQ(*store_->RecordMetrics(run_, 1, rows), 1);
  auto metrics = store_->ListMetrics({.run_id = run_});
  ASSERT_EQ(metrics->size(), 1u);
  EXPECT_TRUE(std::isnan((*metrics)[0].row.loss));
  EXPECT_TRUE(std::isinf((*metrics)[0].row.grad_norm));
}

TEST_F(ReportsTest, BadRowsAndUnknownAttemptsAreRefused) {
  auto rows = MetricRows({10, 20});
  rows[1].step = -5;
  auto bad = store_->RecordMetrics(run_, 1, rows);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("rows[1].step"), std::string_view::npos) << bad.status();
  auto unknown = store_->RecordMetrics(run_, 7, MetricRows({10}));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
  EXPECT_EQ(store_->SupersedeAfter(run_, 7, 10).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(RawQueryInt(path_, "SELECT count(*) FROM metrics"), 0);
}

TEST_F(ReportsTest, CheckpointWithoutAPathIsRefused) {
  for (const std::string& path : {std::string(), std::string(" \t"), std::string("/a\0b", 4)}) {
    std::vector<CheckpointRow> rows = {CheckpointAt(0, 10), CheckpointAt(1, 20)};
    rows[1].path = path;
    auto refused = store_->RecordCheckpoints(run_, 1, rows);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
    EXPECT_NE(refused.status().message().find("rows[1].path"), std::string_view::npos)
        << refused.status();
  }
  EXPECT_EQ(RawQueryInt(path_, "SELECT count(*) FROM checkpoints"), 0);
}

TEST_F(ReportsTest, FailedBatchLandsNothing) {
  ASSERT_EQ(RawExec(path_,
                    "CREATE TRIGGER refuse BEFORE INSERT ON metrics WHEN NEW.step = 30 "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"),
            SQLITE_OK);
  auto result = store_->RecordMetrics(run_, 1, MetricRows({10, 20, 30, 40}));
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(RawQueryInt(path_, "SELECT count(*) FROM metrics"), 0);
}

TEST_F(ReportsTest, FitsUpsert) {
  ASSERT_TRUE(store_->PutFit({"abc", "power_law", R"({"alpha":-0.05})", 10}).ok());
  ASSERT_TRUE(store_->PutFit({"abc", "power_law", R"({"alpha":-0.048})", 20}).ok());
  ASSERT_TRUE(store_->PutFit({"abc", "approach2", R"({"a":0.5})", 15}).ok());
  auto fit = store_->GetFit("abc", "power_law");
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->result_json, R"({"alpha":-0.048})");
  EXPECT_EQ(fit->created_ms, 20);
  EXPECT_EQ(store_->GetFit("abc", "approach3").status().code(), absl::StatusCode::kNotFound);
  auto other = store_->GetFit("abc", "approach2");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->result_json, R"({"a":0.5})");
}

}  // namespace
}  // namespace flopwise::db

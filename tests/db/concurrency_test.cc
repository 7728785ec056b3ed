// Several writer threads and reader threads share one Store.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "db/store.h"
#include "db_test_util.h"
#include "gtest/gtest.h"

namespace flopwise::db {
namespace {

using testing::MakeAttempt;
using testing::MakeRun;
using testing::MakeSweep;
using testing::MakeWorker;
using testing::MetricRows;
using testing::TempDir;

TEST(Concurrency, ReadersAndWritersFromSeveralThreads) {
  TempDir dir;
  auto opened = Store::Open(dir.File("flopwise.db"), {.max_read_connections = 2});
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  constexpr int kWriters = 3;
  constexpr int kReaders = 4;
  constexpr int kBatches = 40;
  constexpr int kRowsPerBatch = 25;
  std::vector<NewRun> runs;
  for (int i = 0; i < kWriters; ++i) runs.push_back(MakeRun(i));
  auto created = store.CreateSweep(MakeSweep(), runs);
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(store.UpsertWorker(MakeWorker("w1")).ok());
  for (int i = 0; i < kWriters; ++i) {
    ASSERT_TRUE(store
                    .BeginAttempt(
                        MakeAttempt(created->run_ids[i], "w1", "lease-" + std::to_string(i), 1000))
                    .ok());
  }

  std::atomic<int> writers_done{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      const int64_t run = created->run_ids[w];
      for (int batch = 0; batch < kBatches; ++batch) {
        std::vector<int64_t> steps;
        for (int i = 0; i < kRowsPerBatch; ++i) steps.push_back(batch * kRowsPerBatch + i);
        auto inserted = store.RecordMetrics(run, 1, MetricRows(steps, batch * kRowsPerBatch));
        if (!inserted.ok() || *inserted != kRowsPerBatch) ++errors;
        const std::vector<LeaseDeadline> deadline = {{"lease-" + std::to_string(w), 1000 + batch}};
        if (!store.StoreLiveness(deadline, {}).ok()) ++errors;
      }
      ++writers_done;
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      const int64_t run = created->run_ids[r % kWriters];
      size_t last_seen = 0;
      while (writers_done.load() < kWriters) {
        auto metrics = store.ListMetrics({.run_id = run});
        if (!metrics.ok()) {
          ++errors;
          continue;
        }
        // Each read is a consistent snapshot: whole batches, never fewer rows than before.
        if (metrics->size() % kRowsPerBatch != 0 || metrics->size() < last_seen) ++errors;
        last_seen = metrics->size();
        if (!store.GetRun(run).ok()) ++errors;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  for (int w = 0; w < kWriters; ++w) {
    auto metrics = store.ListMetrics({.run_id = created->run_ids[w]});
    ASSERT_TRUE(metrics.ok());
    EXPECT_EQ(metrics->size(), static_cast<size_t>(kBatches * kRowsPerBatch));
    auto run = store.GetRun(created->run_ids[w]);
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run->latest_metric->row.step, kBatches * kRowsPerBatch - 1);
  }
}

// The writer never checkpoints itself below its bound: a thread copies the WAL
// into the database file while the store stays open and in use.
TEST(Concurrency, WalIsCheckpointedInTheBackground) {
  TempDir dir;
  const std::string path = dir.File("flopwise.db");
  auto opened = Store::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  auto created = store.CreateSweep(MakeSweep(), std::vector<NewRun>{MakeRun(0)});
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(store.UpsertWorker(MakeWorker("w1")).ok());
  const int64_t run = created->run_ids[0];
  ASSERT_TRUE(store.BeginAttempt(MakeAttempt(run, "w1", "lease", 1000)).ok());
  const auto file_size = [](const std::string& file) {
    std::error_code error;
    const auto size = std::filesystem::file_size(file, error);
    return error ? uintmax_t{0} : size;
  };
  const uintmax_t empty_size = file_size(path);
  // About 2,000 pages of metric rows, in batches as workers send them.
  constexpr int kBatches = 100;
  constexpr int kRowsPerBatch = 1000;
  for (int batch = 0; batch < kBatches; ++batch) {
    std::vector<int64_t> steps;
    for (int i = 0; i < kRowsPerBatch; ++i) steps.push_back(batch * kRowsPerBatch + i);
    ASSERT_TRUE(store.RecordMetrics(run, 1, MetricRows(steps, batch * kRowsPerBatch)).ok());
  }
  bool copied = false;
  for (int poll = 0; poll < 600 && !copied; ++poll) {
    copied = file_size(path) >= empty_size + uintmax_t{4} * 1024 * 1024;
    if (!copied) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(copied) << "database file still " << file_size(path) << " bytes";
  auto metrics = store.ListMetrics({.run_id = run});
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->size(), static_cast<size_t>(kBatches * kRowsPerBatch));
}

}  // namespace
}  // namespace flopwise::db

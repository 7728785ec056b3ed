// Full disk, read-only and corrupt files give clear errors, never a crash, and
// a failed write leaves earlier data intact.
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

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
using testing::RawQueryInt;
using testing::TempDir;

// A store with one sweep, one run and an active attempt 1 on it.
std::unique_ptr<Store> OpenWithAttempt(const std::string& path, const StoreOptions& options,
                                       int64_t* run_id) {
  auto store = Store::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return nullptr;
  std::vector<NewRun> runs = {MakeRun(0)};
  auto created = (*store)->CreateSweep(MakeSweep(), runs);
  EXPECT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE((*store)->UpsertWorker(MakeWorker("w1")).ok());
  *run_id = created->run_ids[0];
  EXPECT_TRUE((*store)->BeginAttempt(MakeAttempt(*run_id, "w1", "lease-1", 1000)).ok());
  return std::move(*store);
}

TEST(Failures, FullDiskIsAClearErrorAndKeepsEarlierBatches) {
  TempDir dir;
  const std::string path = dir.File("flopwise.db");
  int64_t run = 0;
  auto store = OpenWithAttempt(path, {.max_size_bytes = 160 * 1024}, &run);
  ASSERT_NE(store, nullptr);
  int64_t stored = 0;
  absl::Status failure;
  for (int batch = 0; batch < 1000 && failure.ok(); ++batch) {
    std::vector<int64_t> steps;
    for (int i = 0; i < 100; ++i) steps.push_back(batch * 100 + i);
    auto inserted = store->RecordMetrics(run, 1, MetricRows(steps, batch * 100));
    if (inserted.ok()) {
      stored += *inserted;
    } else {
      failure = inserted.status();
    }
  }
  ASSERT_FALSE(failure.ok()) << "the size cap was never reached";
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  EXPECT_NE(failure.message().find("db: RecordMetrics: disk is full"), std::string_view::npos)
      << failure;
  EXPECT_GT(stored, 0);
  // Exactly the committed batches are there; the failed one left nothing.
  auto all = store->ListMetrics({.run_id = run, .include_superseded = true});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(static_cast<int64_t>(all->size()), stored);
  EXPECT_EQ(stored % 100, 0);
  // Small writes that fit still work, and the data survives a reopen.
  const std::vector<LeaseDeadline> deadline = {{"lease-1", 2000}};
  EXPECT_TRUE(store->StoreLiveness(deadline, {}).ok());
  store.reset();
  EXPECT_EQ(RawQueryInt(path, "SELECT count(*) FROM metrics"), stored);
}

TEST(Failures, NotADatabaseIsDataLoss) {
  TempDir dir;
  const std::string path = dir.File("garbage.db");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 37) & 0xff));
  }
  auto store = Store::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
  EXPECT_NE(store.status().message().find("not a database"), std::string_view::npos)
      << store.status();
}

TEST(Failures, CorruptPagesAreDataLoss) {
  TempDir dir;
  const std::string path = dir.File("flopwise.db");
  {
    int64_t run = 0;
    auto store = OpenWithAttempt(path, {}, &run);
    ASSERT_NE(store, nullptr);
    for (int batch = 0; batch < 20; ++batch) {
      std::vector<int64_t> steps;
      for (int i = 0; i < 100; ++i) steps.push_back(batch * 100 + i);
      ASSERT_TRUE(store->RecordMetrics(run, 1, MetricRows(steps, batch * 100)).ok());
    }
  }
  // Keep the 100-byte header and the first page; overwrite every later page.
  const auto size = std::filesystem::file_size(path);
  ASSERT_GT(size, 8192u);
  {
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(4096);
    for (uint64_t i = 4096; i < size; ++i) file.put(static_cast<char>(0xA5));
  }
  absl::Status error;
  auto store = Store::Open(path);
  if (!store.ok()) {
    error = store.status();
  } else {
    auto metrics = (*store)->ListMetrics({.include_superseded = true});
    auto runs = (*store)->ListRuns();
    error = !metrics.ok() ? metrics.status() : runs.status();
  }
  ASSERT_FALSE(error.ok()) << "corruption went unnoticed";
  EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss) << error;
  EXPECT_NE(error.message().find("corrupt"), std::string_view::npos) << error;
}

// Clears CAP_DAC_OVERRIDE from the calling thread's effective capabilities
// while it lives, so that file permission bits bind root as they bind any
// other user (dropping a capability needs no privilege; the permitted set is
// kept, so the destructor can raise it again). Without the capability the
// call is a no-op that still succeeds.
class WithoutDacOverride {
 public:
  WithoutDacOverride() {
    if (syscall(SYS_capget, &header_, saved_) != 0) return;
    __user_cap_data_struct lowered[2] = {saved_[0], saved_[1]};
    lowered[CAP_TO_INDEX(CAP_DAC_OVERRIDE)].effective &= ~CAP_TO_MASK(CAP_DAC_OVERRIDE);
    lowered_ = syscall(SYS_capset, &header_, lowered) == 0;
  }
  ~WithoutDacOverride() {
    if (lowered_) syscall(SYS_capset, &header_, saved_);
  }
  WithoutDacOverride(const WithoutDacOverride&) = delete;
  WithoutDacOverride& operator=(const WithoutDacOverride&) = delete;

  bool lowered() const { return lowered_; }

 private:
  __user_cap_header_struct header_{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct saved_[2] = {};
  bool lowered_ = false;
};

TEST(Failures, ReadOnlyFileIsAClearError) {
  TempDir dir;
  const std::string path = dir.File("flopwise.db");
  ASSERT_TRUE(Store::Open(path).ok());
  std::filesystem::permissions(path, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::group_read |
                                         std::filesystem::perms::others_read);
  WithoutDacOverride no_override;
  ASSERT_TRUE(no_override.lowered()) << "capset: " << std::strerror(errno);
  // The file now refuses writes for every user id, root included.
  const int fd = open(path.c_str(), O_RDWR);
  const int open_errno = errno;
  if (fd >= 0) close(fd);
  ASSERT_LT(fd, 0) << path << " is still writable";
  ASSERT_EQ(open_errno, EACCES) << std::strerror(open_errno);

  auto store = Store::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_NE(store.status().message().find("read-only"), std::string_view::npos) << store.status();
}

}  // namespace
}  // namespace flopwise::db

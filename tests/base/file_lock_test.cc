#include "base/file_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"

namespace flopwise {
namespace {

namespace fs = std::filesystem;

std::string LockPath() {
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("flopwise-file-lock-", getpid());
  fs::create_directories(dir);
  return (dir / "test.lock").string();
}

TEST(FileLock, ASecondHolderIsToldTheFirstsPid) {
  const std::string path = LockPath();
  absl::StatusOr<FileLock> first = FileLock::Acquire(path);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<FileLock> second = FileLock::Acquire(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.status().message(), absl::StrCat("held by pid ", getpid()));
  { FileLock released = std::move(*first); }
  EXPECT_TRUE(FileLock::Acquire(path).ok());
  fs::remove_all(fs::path(path).parent_path());
}

// A waiting holder gets the lock once the first lets go, within its wait.
TEST(FileLock, AWaitingHolderGetsItWhenTheFirstLetsGo) {
  const std::string path = LockPath();
  absl::StatusOr<FileLock> first = FileLock::Acquire(path);
  ASSERT_TRUE(first.ok()) << first.status();
  std::thread release([held = std::move(*first)]() mutable {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    FileLock gone = std::move(held);
  });
  absl::StatusOr<FileLock> second = FileLock::Acquire(path, absl::Seconds(60));
  release.join();
  EXPECT_TRUE(second.ok()) << second.status();
  fs::remove_all(fs::path(path).parent_path());
}

TEST(FileLock, AFolderThatDoesNotExistIsNamed) {
  absl::StatusOr<FileLock> lock = FileLock::Acquire("/nonexistent/flopwise/x.lock");
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(lock.status().message(),
            "cannot open /nonexistent/flopwise/x.lock: No such file or directory");
}

}  // namespace
}  // namespace flopwise

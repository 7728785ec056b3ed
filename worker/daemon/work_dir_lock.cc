#include "worker/daemon/work_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace flopwise::workerd {
namespace {

constexpr char kLockFile[] = "worker.lock";

// The pid the holder wrote into the lock file, or "" when unreadable.
std::string HolderPid(int fd) {
  char buffer[32] = {};
  const ssize_t n = pread(fd, buffer, sizeof(buffer) - 1, 0);
  if (n <= 0) return "";
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(std::string(buffer, n)), &pid)) return "";
  return absl::StrCat(" (pid ", pid, ")");
}

}  // namespace

absl::StatusOr<WorkDirLock> WorkDirLock::Acquire(const std::string& work_dir) {
  const std::string path = (std::filesystem::path(work_dir) / kLockFile).string();
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("--work-dir ", work_dir, ": cannot open ", path, ": ", std::strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = HolderPid(fd);
    close(fd);
    if (error == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("--work-dir ", work_dir, ": in use by another flopwise-worker", holder,
                       "; give each worker its own --work-dir"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("--work-dir ", work_dir, ": cannot lock ", path, ": ", std::strerror(error)));
  }
  const std::string pid = absl::StrCat(getpid(), "\n");
  // The pid only improves the message a second worker prints; the lock holds without it.
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    spdlog::warn("{}: cannot record this worker's pid: {}", path, std::strerror(errno));
  }
  return WorkDirLock(fd);
}

WorkDirLock::WorkDirLock(WorkDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

WorkDirLock& WorkDirLock::operator=(WorkDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

WorkDirLock::~WorkDirLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace flopwise::workerd

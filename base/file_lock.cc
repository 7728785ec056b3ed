#include "base/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace flopwise {
namespace {

// "held by pid 123", from the pid the holder wrote into the file.
std::string Holder(int fd) {
  char buffer[32] = {};
  const ssize_t n = pread(fd, buffer, sizeof(buffer) - 1, 0);
  int pid = 0;
  if (n > 0 && absl::SimpleAtoi(absl::StripAsciiWhitespace(std::string(buffer, n)), &pid)) {
    return absl::StrCat("held by pid ", pid);
  }
  return "held by another process";
}

}  // namespace

absl::StatusOr<FileLock> FileLock::Acquire(const std::string& path, absl::Duration wait) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  const absl::Time give_up = absl::Now() + wait;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error == EINTR) continue;
    if (error != EWOULDBLOCK) {
      close(fd);
      return absl::FailedPreconditionError(
          absl::StrCat("cannot lock ", path, ": ", std::strerror(error)));
    }
    if (absl::Now() >= give_up) {
      const std::string holder = Holder(fd);
      close(fd);
      return absl::UnavailableError(holder);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The pid only improves another process's message; the lock holds without it.
  const std::string pid = absl::StrCat(getpid(), "\n");
  const bool pid_written = ftruncate(fd, 0) == 0 && pwrite(fd, pid.data(), pid.size(), 0) >= 0;
  static_cast<void>(pid_written);
  return FileLock(fd);
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace flopwise

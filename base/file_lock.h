// An exclusive hold on a lock file: an flock(2) the kernel releases when the
// holder dies, however it dies. The worker holds WORK_DIR/worker.lock (two
// workers on one folder would share a worker id) and a trainer its run
// folder's trainer.lock (a new attempt must not write checkpoints beside a
// trainer of the old one that is still stopping).
#ifndef FLOPWISE_BASE_FILE_LOCK_H_
#define FLOPWISE_BASE_FILE_LOCK_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace flopwise {

class FileLock {
 public:
  // Locks `path` (created if missing; this process's pid is written into it,
  // for the message another process gets). While another process (or another
  // FileLock of this one) holds it, retries until `wait` has passed, then
  // returns Unavailable "held by pid N" (or "held by another process" when the
  // pid cannot be read). FailedPrecondition naming the path and the system's
  // reason when the file cannot be opened or locked at all.
  static absl::StatusOr<FileLock> Acquire(const std::string& path,
                                          absl::Duration wait = absl::ZeroDuration());

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace flopwise

#endif  // FLOPWISE_BASE_FILE_LOCK_H_

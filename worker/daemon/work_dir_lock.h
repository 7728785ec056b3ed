// The exclusive hold of a worker on its --work-dir. Two workers sharing one
// folder would share one worker id (the id file), so the coordinator would
// see one worker holding both's leases, and their runs' checkpoint folders
// would collide. An flock(2) on WORK_DIR/worker.lock, released by the kernel
// when the process dies, however it dies.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace flopwise::workerd {

class WorkDirLock {
 public:
  // FailedPrecondition naming the folder and the holder's pid when another
  // process (or another Worker in this one) holds it.
  static absl::StatusOr<WorkDirLock> Acquire(const std::string& work_dir);

  WorkDirLock(WorkDirLock&& other) noexcept;
  WorkDirLock& operator=(WorkDirLock&& other) noexcept;
  WorkDirLock(const WorkDirLock&) = delete;
  WorkDirLock& operator=(const WorkDirLock&) = delete;
  ~WorkDirLock();

 private:
  explicit WorkDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace flopwise::workerd

// The exclusive hold of a worker on its --work-dir. Two workers sharing one
// folder would share one worker id (the id file), so the coordinator would
// see one worker holding both's leases, and their runs' checkpoint folders
// would collide. A FileLock on WORK_DIR/worker.lock (base/file_lock.h).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "base/file_lock.h"

namespace flopwise::workerd {

class WorkDirLock {
 public:
  // FailedPrecondition naming the folder and the holder's pid when another
  // process (or another Worker in this one) holds it.
  static absl::StatusOr<WorkDirLock> Acquire(const std::string& work_dir);

 private:
  explicit WorkDirLock(FileLock lock) : lock_(std::move(lock)) {}
  FileLock lock_;
};

}  // namespace flopwise::workerd

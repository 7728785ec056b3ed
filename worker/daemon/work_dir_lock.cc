#include "worker/daemon/work_dir_lock.h"

#include <filesystem>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace flopwise::workerd {

absl::StatusOr<WorkDirLock> WorkDirLock::Acquire(const std::string& work_dir) {
  const std::string path = (std::filesystem::path(work_dir) / "worker.lock").string();
  absl::StatusOr<FileLock> lock = FileLock::Acquire(path);
  if (lock.ok()) return WorkDirLock(*std::move(lock));
  if (absl::IsUnavailable(lock.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("--work-dir ", work_dir, ": in use by another flopwise-worker (",
                     lock.status().message(), "); give each worker its own --work-dir"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("--work-dir ", work_dir, ": ", lock.status().message()));
}

}  // namespace flopwise::workerd

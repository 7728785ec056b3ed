#include "client/exit_codes.h"

namespace flopwise::client {

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
      return kExitUsage;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitNoCoordinator;
    case absl::StatusCode::kResourceExhausted:
      return kExitRetryLater;
    default:
      return kExitFailed;
  }
}

}  // namespace flopwise::client

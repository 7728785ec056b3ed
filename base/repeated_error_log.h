// Rate limit for an error that repeats on every pass of a loop (the
// coordinator's lease reaper while the disk is full): the first failure is
// logged, then one summary per interval while it lasts, then the recovery.
#ifndef FLOPWISE_BASE_REPEATED_ERROR_LOG_H_
#define FLOPWISE_BASE_REPEATED_ERROR_LOG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace flopwise {

// Not thread-safe: one instance belongs to one loop.
class RepeatedErrorLog {
 public:
  struct Line {
    bool error = true;  // false: the recovery, an info line
    std::string text;
  };

  RepeatedErrorLog(std::string what, absl::Duration interval);

  // The outcome of one pass at `now`; returns the line to log, if any.
  std::optional<Line> Observe(const absl::Status& status, absl::Time now);

  // Observe() and log the line with spdlog.
  void Log(const absl::Status& status, absl::Time now = absl::Now());

 private:
  const std::string what_;
  const absl::Duration interval_;
  bool failing_ = false;
  absl::Time failing_since_;
  absl::Time last_logged_;
  int64_t failures_ = 0;  // since failing_since_
  int64_t unlogged_ = 0;  // since last_logged_
};

}  // namespace flopwise

#endif  // FLOPWISE_BASE_REPEATED_ERROR_LOG_H_

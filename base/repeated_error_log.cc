#include "base/repeated_error_log.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "base/str_cat.h"

namespace flopwise {

RepeatedErrorLog::RepeatedErrorLog(std::string what, absl::Duration interval)
    : what_(std::move(what)), interval_(interval) {}

std::optional<RepeatedErrorLog::Line> RepeatedErrorLog::Observe(const absl::Status& status,
                                                                absl::Time now) {
  if (status.ok()) {
    if (!failing_) return std::nullopt;
    failing_ = false;
    return Line{false,
                Cat(what_, ": recovered after ", failures_, " failures over ",
                    absl::FormatDuration(absl::Trunc(now - failing_since_, absl::Seconds(1))))};
  }
  if (!failing_) {
    failing_ = true;
    failing_since_ = last_logged_ = now;
    failures_ = 1;
    unlogged_ = 0;
    return Line{true, Cat(what_, ": ", status.ToString())};
  }
  ++failures_;
  ++unlogged_;
  if (now - last_logged_ < interval_) return std::nullopt;
  Line line{true,
            Cat(what_, ": still failing (", unlogged_, " more since the last report, ", failures_,
                " since ", absl::FormatTime("%H:%M:%S", failing_since_, absl::UTCTimeZone()),
                " UTC): ", status.ToString())};
  last_logged_ = now;
  unlogged_ = 0;
  return line;
}

void RepeatedErrorLog::Log(const absl::Status& status, absl::Time now) {
  std::optional<Line> line = Observe(status, now);
  if (!line) return;
  if (line->error) {
    spdlog::error("{}", line->text);
  } else {
    spdlog::info("{}", line->text);
  }
}

}  // namespace flopwise

#include "worker/train/progress_bar.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace flopwise::train {

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  if (s < 60) return absl::StrFormat("%ds", s);
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  return absl::StrFormat("%dd%02dh", s / 86400, (s % 86400) / 3600);
}

std::string FormatCount(double count) {
  static constexpr const char* kSuffix[] = {"", "k", "M", "G", "T"};
  int i = 0;
  // 999.5 rather than 1000 so that 999,999 prints as "1M", not "1e+03k".
  while (std::fabs(count) >= 999.5 && i < 4) {
    count /= 1000;
    ++i;
  }
  if (i == 0) return absl::StrFormat("%.0f", count);
  return absl::StrFormat("%.3g%s", count, kSuffix[i]);
}

std::string FormatProgressLine(const ProgressLine& line, int bar_width) {
  const double fraction =
      line.total_tokens > 0 ? std::clamp(double(line.tokens) / double(line.total_tokens), 0.0, 1.0)
                            : 0.0;
  const int filled = static_cast<int>(bar_width * fraction);
  const double remaining = double(std::max<int64_t>(0, line.total_tokens - line.tokens));
  const std::string eta =
      line.tokens_per_s > 0 ? FormatDuration(remaining / line.tokens_per_s) : std::string("?");
  return absl::StrFormat("[%s%s] %3d%%  step %d  %s/%s tok  loss %.4f  %s tok/s  ETA %s",
                         std::string(filled, '#'), std::string(bar_width - filled, ' '),
                         static_cast<int>(100 * fraction), line.step, FormatCount(line.tokens),
                         FormatCount(line.total_tokens), line.loss, FormatCount(line.tokens_per_s),
                         eta);
}

}  // namespace flopwise::train

#include "worker/train/progress_bar.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "base/text_format.h"

namespace flopwise::train {

std::string FormatProgressLine(const ProgressLine& line, int bar_width) {
  const double fraction =
      line.total_tokens > 0 ? double(line.tokens) / double(line.total_tokens) : 0.0;
  const double remaining = double(std::max<int64_t>(0, line.total_tokens - line.tokens));
  const double eta_seconds = line.tokens_per_s > 0 ? remaining / line.tokens_per_s : -1.0;
  const std::string validation =
      line.validation_loss ? absl::StrFormat("  val %.4f", *line.validation_loss) : "";
  return absl::StrFormat("%s  step %d  %s/%s tok  loss %.4f%s  %s tok/s  ETA %s",
                         ProgressBar(fraction, bar_width), line.step, ShortCount(line.tokens),
                         ShortCount(line.total_tokens), line.loss, validation,
                         ShortCount(line.tokens_per_s), ShortDuration(eta_seconds));
}

}  // namespace flopwise::train

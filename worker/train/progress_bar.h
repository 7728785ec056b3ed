// The human progress line flopwise-train draws on a terminal beside its JSON
// events (docs/training.md): a bar, step, tokens, loss, throughput and ETA,
// rendered with the formatters of base/text_format.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace flopwise::train {

// What one line shows.
struct ProgressLine {
  int64_t step = 0;
  int64_t tokens = 0;
  int64_t total_tokens = 0;
  double loss = 0.0;
  double tokens_per_s = 0.0;
  std::optional<double> validation_loss;  // of the newest checkpoint, when one was validated
};

// One line, without a newline: `[#####.....]  42%  step 17  1.23M/2.87M tok
// loss 3.1416  val 3.2001  9.80k tok/s  ETA 2m47s` (`val` only with a
// validation loss). The bar is `bar_width` cells; ETA is the remaining tokens
// at the line's throughput ("?" before it is known).
std::string FormatProgressLine(const ProgressLine& line, int bar_width);

}  // namespace flopwise::train

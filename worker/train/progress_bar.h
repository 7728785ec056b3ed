// The human progress line flopwise-train draws on a terminal beside its JSON
// events (docs/training.md): a bar, step, tokens, loss, throughput and ETA.
#pragma once

#include <cstdint>
#include <string>

namespace flopwise::train {

// "45s", "3m05s", "2h07m", "3d04h"; "?" for a negative or non-finite time.
std::string FormatDuration(double seconds);

// "512", "12.3k", "4.1M", "1.25G": a count to three significant digits with an SI suffix.
std::string FormatCount(double count);

// What one line shows.
struct ProgressLine {
  int64_t step = 0;
  int64_t tokens = 0;
  int64_t total_tokens = 0;
  double loss = 0.0;
  double tokens_per_s = 0.0;
};

// One line, without a newline: `[#####     ]  42%  step 17  1.23M/2.87M tok
// loss 3.1416  9.8k tok/s  ETA 2m47s`. The bar is `bar_width` characters;
// ETA is the remaining tokens at the line's throughput ("?" before it is known).
std::string FormatProgressLine(const ProgressLine& line, int bar_width);

}  // namespace flopwise::train

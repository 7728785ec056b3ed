#include "base/text_format.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_format.h"

namespace flopwise {

std::string ProgressBar(double fraction, int width) {
  if (!(fraction >= 0)) fraction = 0;
  fraction = std::min(fraction, 1.0);
  // Rounded down, so that 100% means done; the nudge keeps a fraction such as
  // 0.58 (0.57999… in binary) at 58%.
  auto whole = [fraction](int scale) {
    return std::min(scale, static_cast<int>(std::floor(fraction * scale + 1e-9)));
  };
  const int filled = whole(width);
  return absl::StrFormat("[%s%s] %3d%%", std::string(filled, '#'), std::string(width - filled, '.'),
                         whole(100));
}

std::string ShortCount(double value) {
  static constexpr const char* kSuffixes[] = {"", "k", "M", "G", "T"};
  static constexpr int kLastUnit = 4;
  if (std::isnan(value)) return "nan";
  // The smallest magnitude that prints as 1000 in a unit's format: "%.0f"
  // rounds 999.5 up, "%.2f" rounds 999.995 up.
  auto rounds_to_1000 = [](double scaled, int unit) {
    return std::fabs(scaled) >= (unit == 0 ? 999.5 : 999.995);
  };
  double scaled = value;
  int unit = 0;
  while (rounds_to_1000(scaled, unit) && unit < kLastUnit) {
    scaled /= 1000;
    ++unit;
  }
  if (rounds_to_1000(scaled, unit)) return absl::StrFormat("%.2e", value);
  if (unit == 0) return absl::StrFormat("%.0f", value);
  return absl::StrFormat("%.2f%s", scaled, kSuffixes[unit]);
}

std::string ShortDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = std::llround(seconds);
  if (s < 60) return absl::StrFormat("%ds", s);
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  return absl::StrFormat("%dd%02dh", s / 86400, (s % 86400) / 3600);
}

}  // namespace flopwise

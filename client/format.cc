#include "client/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/ascii.h"

namespace flopwise::client {

namespace v1 = ::flopwise::v1;

std::string ProgressBar(double fraction, int width) {
  if (!(fraction >= 0)) fraction = 0;
  fraction = std::min(fraction, 1.0);
  const int filled = static_cast<int>(std::floor(fraction * width));
  std::string bar = "[";
  bar.append(filled, '#');
  bar.append(width - filled, '.');
  char percent[16];
  std::snprintf(percent, sizeof(percent), "] %3d%%", static_cast<int>(std::floor(fraction * 100)));
  return bar + percent;
}

std::string ShortCount(double value) {
  static const char* kSuffixes[] = {"", "k", "M", "G", "T"};
  char text[32];
  if (std::isnan(value)) return "nan";
  double scaled = value;
  int unit = 0;
  while (std::fabs(scaled) >= 1000 && unit < 4) {
    scaled /= 1000;
    ++unit;
  }
  if (std::fabs(scaled) >= 1000) {
    std::snprintf(text, sizeof(text), "%.2e", value);
  } else if (unit == 0) {
    std::snprintf(text, sizeof(text), "%.0f", value);
  } else {
    std::snprintf(text, sizeof(text), "%.2f%s", scaled, kSuffixes[unit]);
  }
  return text;
}

std::string ShortDuration(double seconds) {
  if (!(seconds >= 0)) return "-";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  char text[32];
  if (s < 60) {
    std::snprintf(text, sizeof(text), "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(text, sizeof(text), "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(text, sizeof(text), "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>((s % 3600) / 60));
  }
  return text;
}

namespace {

// "RUN_STATE_SUCCEEDED" -> "succeeded" given the prefix "RUN_STATE_".
std::string Lowered(const std::string& full, const std::string& prefix) {
  std::string name = full.rfind(prefix, 0) == 0 ? full.substr(prefix.size()) : full;
  return absl::AsciiStrToLower(name);
}

}  // namespace

std::string RunStateName(v1::RunState state) {
  return Lowered(v1::RunState_Name(state), "RUN_STATE_");
}

std::string SweepStateName(v1::SweepState state) {
  return Lowered(v1::SweepState_Name(state), "SWEEP_STATE_");
}

v1::RunState ParseRunState(const std::string& name) {
  v1::RunState state = v1::RUN_STATE_UNSPECIFIED;
  if (!v1::RunState_Parse("RUN_STATE_" + absl::AsciiStrToUpper(name), &state)) {
    return v1::RUN_STATE_UNSPECIFIED;
  }
  return state;
}

}  // namespace flopwise::client

#include "kernels/cpu/op_times.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace flopwise::kernels::cpu {
namespace {

struct OpTotal {
  long long calls = 0;
  double seconds = 0;
};

// The table; its destructor (at exit) prints it.
class OpTable {
 public:
  ~OpTable() {
    absl::MutexLock lock(&mu_);
    std::vector<std::pair<std::string, OpTotal>> rows(totals_.begin(), totals_.end());
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
    double sum = 0;
    for (const auto& row : rows) sum += row.second.seconds;
    std::fprintf(stderr, "op times (FLOPWISE_OP_TIMES): %.3f s in backend ops\n", sum);
    std::fprintf(stderr, "%-34s %10s %10s %6s %10s\n", "op", "calls", "seconds", "share",
                 "us/call");
    for (const auto& [op, t] : rows) {
      std::fprintf(stderr, "%-34s %10lld %10.4f %5.1f%% %10.2f\n", op.c_str(), t.calls, t.seconds,
                   sum > 0 ? 100 * t.seconds / sum : 0.0, 1e6 * t.seconds / t.calls);
    }
  }
  void Add(const char* op, double seconds) {
    absl::MutexLock lock(&mu_);
    OpTotal& t = totals_[op];
    ++t.calls;
    t.seconds += seconds;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, OpTotal> totals_ ABSL_GUARDED_BY(mu_);
};

OpTable& Table() {
  static OpTable table;
  return table;
}

}  // namespace

bool OpTimesEnabled() {
  static const bool enabled = [] {
    const char* value = std::getenv("FLOPWISE_OP_TIMES");
    return value != nullptr && *value != '\0' && std::string(value) != "0";
  }();
  return enabled;
}

void AddOpTime(const char* op, double seconds) { Table().Add(op, seconds); }

}  // namespace flopwise::kernels::cpu

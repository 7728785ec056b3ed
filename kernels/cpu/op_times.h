// Per-op wall time of the CPU backend, for finding where a training step
// goes: with FLOPWISE_OP_TIMES=1 in the environment every op adds its calls
// and seconds to one table, printed to stderr at exit, largest first. Off,
// an op pays one branch on a cached flag.
#pragma once

#include <chrono>

namespace flopwise::kernels::cpu {

// Whether FLOPWISE_OP_TIMES is set (read once).
bool OpTimesEnabled();

// Adds one call of `op` (a string literal) lasting `seconds` to the table.
void AddOpTime(const char* op, double seconds);

// Times its scope as one call of `op` when the table is on.
class ScopedOpTime {
 public:
  explicit ScopedOpTime(const char* op) : op_(OpTimesEnabled() ? op : nullptr) {
    if (op_ != nullptr) start_ = std::chrono::steady_clock::now();
  }
  ~ScopedOpTime() {
    if (op_ != nullptr) {
      AddOpTime(op_,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    }
  }
  ScopedOpTime(const ScopedOpTime&) = delete;
  ScopedOpTime& operator=(const ScopedOpTime&) = delete;

 private:
  const char* op_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace flopwise::kernels::cpu

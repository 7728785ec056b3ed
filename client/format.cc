#include "client/format.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace flopwise::client {

namespace v1 = ::flopwise::v1;

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

int FailedRuns(const v1::Sweep& sweep) {
  int failed = 0;
  for (v1::RunState state : {v1::RUN_STATE_FAILED, v1::RUN_STATE_DIVERGED}) {
    auto it = sweep.runs_by_state().find(v1::RunState_Name(state));
    if (it != sweep.runs_by_state().end()) failed += it->second;
  }
  return failed;
}

bool SweepSucceeded(const v1::Sweep& sweep) {
  return sweep.state() == v1::SWEEP_STATE_COMPLETED && FailedRuns(sweep) == 0;
}

std::string SweepOutcome(const v1::Sweep& sweep) {
  const int failed = FailedRuns(sweep);
  if (sweep.state() != v1::SWEEP_STATE_COMPLETED || failed == 0) {
    return SweepStateName(sweep.state());
  }
  return absl::StrFormat("completed with %d failed", failed);
}

std::string LossText(double loss, int64_t tokens) {
  return tokens > 0 ? absl::StrFormat("%.4f", loss) : "-";
}

v1::RunState ParseRunState(const std::string& name) {
  v1::RunState state = v1::RUN_STATE_UNSPECIFIED;
  if (!v1::RunState_Parse("RUN_STATE_" + absl::AsciiStrToUpper(name), &state)) {
    return v1::RUN_STATE_UNSPECIFIED;
  }
  return state;
}

}  // namespace flopwise::client

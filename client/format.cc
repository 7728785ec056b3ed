#include "client/format.h"

#include "absl/strings/ascii.h"

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

v1::RunState ParseRunState(const std::string& name) {
  v1::RunState state = v1::RUN_STATE_UNSPECIFIED;
  if (!v1::RunState_Parse("RUN_STATE_" + absl::AsciiStrToUpper(name), &state)) {
    return v1::RUN_STATE_UNSPECIFIED;
  }
  return state;
}

}  // namespace flopwise::client

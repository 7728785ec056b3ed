#include "db/records.h"

#include <array>
#include <string>
#include <utility>

namespace flopwise::db {
namespace {

template <typename Enum, size_t N>
using NameTable = std::array<std::pair<Enum, std::string_view>, N>;

constexpr NameTable<SweepState, 3> kSweepStates = {{
    {SweepState::kActive, "active"},
    {SweepState::kCompleted, "completed"},
    {SweepState::kCancelled, "cancelled"},
}};

constexpr NameTable<RunState, 6> kRunStates = {{
    {RunState::kPending, "pending"},
    {RunState::kRunning, "running"},
    {RunState::kSucceeded, "succeeded"},
    {RunState::kFailed, "failed"},
    {RunState::kDiverged, "diverged"},
    {RunState::kCancelled, "cancelled"},
}};

constexpr NameTable<AttemptState, 7> kAttemptStates = {{
    {AttemptState::kActive, "active"},
    {AttemptState::kSucceeded, "succeeded"},
    {AttemptState::kFailed, "failed"},
    {AttemptState::kDiverged, "diverged"},
    {AttemptState::kExpired, "expired"},
    {AttemptState::kStopped, "stopped"},
    {AttemptState::kCancelled, "cancelled"},
}};

constexpr NameTable<EvalJobState, 5> kEvalJobStates = {{
    {EvalJobState::kPending, "pending"},
    {EvalJobState::kRunning, "running"},
    {EvalJobState::kSucceeded, "succeeded"},
    {EvalJobState::kFailed, "failed"},
    {EvalJobState::kSuperseded, "superseded"},
}};

template <typename Enum, size_t N>
std::string_view NameOf(const NameTable<Enum, N>& table, Enum value) {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return "unknown";
}

template <typename Enum, size_t N>
absl::StatusOr<Enum> Parse(const NameTable<Enum, N>& table, std::string_view kind,
                           std::string_view name) {
  for (const auto& [e, n] : table) {
    if (n == name) return e;
  }
  std::string known;
  for (const auto& [e, n] : table) {
    if (!known.empty()) known += ", ";
    known += n;
  }
  return absl::InvalidArgumentError(std::string(kind) + ": unknown value \"" + std::string(name) +
                                    "\" (expected one of " + known + ")");
}

}  // namespace

std::string_view SweepStateName(SweepState state) { return NameOf(kSweepStates, state); }
std::string_view RunStateName(RunState state) { return NameOf(kRunStates, state); }
std::string_view AttemptStateName(AttemptState state) { return NameOf(kAttemptStates, state); }

std::string_view EvalJobStateName(EvalJobState state) { return NameOf(kEvalJobStates, state); }

absl::StatusOr<SweepState> ParseSweepState(std::string_view name) {
  return Parse(kSweepStates, "sweep state", name);
}
absl::StatusOr<RunState> ParseRunState(std::string_view name) {
  return Parse(kRunStates, "run state", name);
}
absl::StatusOr<AttemptState> ParseAttemptState(std::string_view name) {
  return Parse(kAttemptStates, "attempt state", name);
}

absl::StatusOr<EvalJobState> ParseEvalJobState(std::string_view name) {
  return Parse(kEvalJobStates, "eval job state", name);
}

bool IsTerminal(RunState state) {
  return state == RunState::kSucceeded || state == RunState::kFailed ||
         state == RunState::kDiverged || state == RunState::kCancelled;
}

}  // namespace flopwise::db

// Reading sweeps and runs and following them from the coordinator, as
// `flopwise status` and `flopwise runs` show them: the calls and the stream
// handling, not the rendering (client/status_tables.h). Every sweep is the
// coordinator's own summary.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "client/user_connection.h"

namespace flopwise::client {

// What a status screen shows: sweeps (by id, each as of its newest summary)
// and the newest update of each of their runs.
struct SweepView {
  std::vector<::flopwise::v1::Sweep> sweeps;
  std::map<int64_t, ::flopwise::v1::RunUpdate> runs;
};

// Called whenever an update arrived and every watched run has been seen once.
using SweepViewCallback = std::function<void(const SweepView& view)>;

// The sweeps the coordinator lists: the active ones, with `include_finished`
// every one.
absl::StatusOr<std::vector<::flopwise::v1::Sweep>> ListSweeps(const UserConnection& connection,
                                                              bool include_finished);

// One sweep's summary. NotFound for an unknown sweep.
absl::StatusOr<::flopwise::v1::Sweep> GetSweep(const UserConnection& connection, int64_t sweep_id);

// The runs of `sweep_id` (0: every sweep) in `states` (empty: every state).
// NotFound for an unknown sweep.
absl::StatusOr<std::vector<::flopwise::v1::Run>> ListRuns(
    const UserConnection& connection, int64_t sweep_id,
    std::span<const ::flopwise::v1::RunState> states);

// One sweep and one update per run (a snapshot); with `follow`, every update
// until all of its runs have ended, calling `on_change`. NotFound for an
// unknown sweep; Unavailable when the coordinator ends the stream (it
// stopped) while runs are still active.
absl::StatusOr<SweepView> WatchSweep(const UserConnection& connection, int64_t sweep_id,
                                     bool follow, const SweepViewCallback& on_change);

// How long one WatchRuns stream of WatchActiveSweeps lasts before the sweeps
// are listed again, so that sweeps submitted meanwhile join.
inline constexpr int64_t kRelistMs = 5'000;

// Follows every active sweep, and those submitted while it runs, until none
// is left: one WatchRuns stream over the runs of every sweep seen so far, at
// most kRelistMs long (or until they are all terminal), then the sweeps are
// listed again. Sweeps that end stay in the view with their final states.
// An empty view: no sweep was active. Unavailable as WatchSweep's.
absl::StatusOr<SweepView> WatchActiveSweeps(const UserConnection& connection,
                                            const SweepViewCallback& on_change);

}  // namespace flopwise::client

#include "client/sweep_status.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "client/errors.h"
#include "client/pages.h"

namespace flopwise::client {
namespace {

namespace v1 = ::flopwise::v1;

// A deadline no watch reaches: `--watch` follows until the runs end.
constexpr int64_t kFollowMs = int64_t{1} << 40;

// Every page of the listing in one response, with the first page's
// last_sweep_id (read before any sweep was listed).
absl::StatusOr<v1::ListSweepsResponse> ListSweepsAfter(const UserConnection& connection,
                                                       bool include_finished,
                                                       int64_t after_sweep_id) {
  v1::ListSweepsRequest request;
  request.set_include_finished(include_finished);
  request.set_after_sweep_id(after_sweep_id);
  v1::ListSweepsResponse listed;
  bool first = true;
  RETURN_IF_ERROR(ForEachPage(connection, &v1::UserService::StubInterface::ListSweeps, request,
                              [&](v1::ListSweepsResponse& page) {
                                if (first) listed.set_last_sweep_id(page.last_sweep_id());
                                first = false;
                                for (v1::Sweep& sweep : *page.mutable_sweeps()) {
                                  *listed.add_sweeps() = std::move(sweep);
                                }
                                return absl::OkStatus();
                              }));
  return listed;
}

bool IsTerminal(v1::RunState state) {
  return state == v1::RUN_STATE_SUCCEEDED || state == v1::RUN_STATE_FAILED ||
         state == v1::RUN_STATE_DIVERGED || state == v1::RUN_STATE_CANCELLED;
}

// The coordinator ends a followed stream with OK once every run has ended,
// and also when it stops: runs still active mean the coordinator went away.
absl::Status CheckEveryRunEnded(const std::map<int64_t, v1::RunUpdate>& runs) {
  const auto active = std::count_if(runs.begin(), runs.end(), [](const auto& entry) {
    return !IsTerminal(entry.second.state());
  });
  if (active == 0) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "the coordinator ended the watch while ", active, " of ", runs.size(),
      " runs were still active (stopped or restarted?); run the command again to go on"));
}

// The sweeps of `followed` in id order, with `runs`.
SweepView ViewOf(const std::map<int64_t, v1::Sweep>& followed,
                 const std::map<int64_t, v1::RunUpdate>& runs) {
  SweepView view;
  for (const auto& [id, sweep] : followed) view.sweeps.push_back(sweep);
  view.runs = runs;
  return view;
}

}  // namespace

absl::StatusOr<v1::Sweep> GetSweep(const UserConnection& connection, int64_t sweep_id) {
  grpc::ClientContext context;
  connection.Prepare(&context);
  v1::GetSweepRequest request;
  request.set_sweep_id(sweep_id);
  v1::GetSweepResponse response;
  RETURN_IF_ERROR(FromGrpc(connection.stub->GetSweep(&context, request, &response)));
  return response.sweep();
}

absl::StatusOr<std::vector<v1::Sweep>> ListSweeps(const UserConnection& connection,
                                                  bool include_finished) {
  ASSIGN_OR_RETURN(v1::ListSweepsResponse listed, ListSweepsAfter(connection, include_finished, 0));
  return std::vector<v1::Sweep>(listed.sweeps().begin(), listed.sweeps().end());
}

absl::StatusOr<std::vector<v1::Run>> ListRuns(const UserConnection& connection, int64_t sweep_id,
                                              std::span<const v1::RunState> states) {
  v1::ListRunsRequest request;
  request.set_sweep_id(sweep_id);
  for (v1::RunState state : states) request.add_states(state);
  std::vector<v1::Run> runs;
  RETURN_IF_ERROR(ForEachPage(connection, &v1::UserService::StubInterface::ListRuns, request,
                              [&](v1::ListRunsResponse& page) {
                                for (v1::Run& run : *page.mutable_runs()) {
                                  runs.push_back(std::move(run));
                                }
                                return absl::OkStatus();
                              }));
  // No runs of a sweep id: NotFound unless the sweep exists (its runs are in
  // none of `states`).
  if (runs.empty() && sweep_id > 0) RETURN_IF_ERROR(GetSweep(connection, sweep_id).status());
  return runs;
}

absl::StatusOr<SweepView> WatchSweep(const UserConnection& connection, int64_t sweep_id,
                                     bool follow, const SweepViewCallback& on_change) {
  ASSIGN_OR_RETURN(v1::Sweep sweep, GetSweep(connection, sweep_id));
  grpc::ClientContext context;
  PrepareContext(&context, connection.token, follow ? kFollowMs : connection.timeout_ms);
  v1::WatchRunsRequest request;
  request.set_sweep_id(sweep_id);
  auto reader = connection.stub->WatchRuns(&context, request);
  SweepView view;
  v1::RunUpdate update;
  while (reader->Read(&update)) {
    view.runs[update.run_id()] = update;
    if (update.has_sweep()) sweep = update.sweep();
    if (static_cast<int>(view.runs.size()) < sweep.runs_total()) continue;
    if (!follow) {
      context.TryCancel();  // the snapshot is complete
      break;
    }
    view.sweeps = {sweep};
    on_change(view);
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) return FromGrpc(status);
  if (follow) RETURN_IF_ERROR(CheckEveryRunEnded(view.runs));
  view.sweeps = {sweep};
  return view;
}

absl::StatusOr<SweepView> WatchActiveSweeps(const UserConnection& connection,
                                            const SweepViewCallback& on_change) {
  std::map<int64_t, v1::Sweep> followed;            // every sweep seen, by id
  std::map<int64_t, std::vector<int64_t>> run_ids;  // their runs
  std::map<int64_t, v1::RunUpdate> runs;
  bool all_ended = false;  // the last stream ended with every run terminal
  int64_t watch_from = 0;  // sweeps with higher ids were submitted while watching
  while (true) {
    ASSIGN_OR_RETURN(const v1::ListSweepsResponse listed,
                     ListSweepsAfter(connection, /*include_finished=*/false, watch_from));
    if (watch_from == 0) watch_from = listed.last_sweep_id();
    // The active sweeps, and those submitted since the watch began even when
    // they ended before this listing (a short sweep between two listings).
    std::vector<v1::Sweep> sweeps;
    for (const v1::Sweep& sweep : listed.sweeps()) {
      const bool active = sweep.state() == v1::SWEEP_STATE_ACTIVE;
      if (active || !followed.contains(sweep.sweep_id())) sweeps.push_back(sweep);
    }
    if (sweeps.empty()) break;
    // Sweeps still listed active just after their last run ended: nothing new.
    const bool nothing_new = std::all_of(sweeps.begin(), sweeps.end(), [&](const v1::Sweep& s) {
      return followed.contains(s.sweep_id());
    });
    if (all_ended && nothing_new) break;
    for (const v1::Sweep& sweep : sweeps) {
      followed[sweep.sweep_id()] = sweep;
      if (run_ids.contains(sweep.sweep_id())) continue;  // a sweep's runs are fixed at submit
      ASSIGN_OR_RETURN(const std::vector<v1::Run> listed_runs,
                       ListRuns(connection, sweep.sweep_id(), {}));
      for (const v1::Run& run : listed_runs) run_ids[sweep.sweep_id()].push_back(run.run_id());
    }
    // Sweeps that ended since the last listing are watched once more too, so
    // that their runs' final states reach the view.
    v1::WatchRunsRequest request;
    for (const auto& [sweep_id, ids] : run_ids) {
      for (int64_t id : ids) request.add_run_ids(id);
    }
    grpc::ClientContext context;
    PrepareContext(&context, connection.token, kRelistMs);
    auto reader = connection.stub->WatchRuns(&context, request);
    v1::RunUpdate update;
    int updates = 0;
    while (reader->Read(&update)) {
      runs[update.run_id()] = update;
      if (update.has_sweep()) followed[update.sweep_id()] = update.sweep();
      if (++updates >= request.run_ids_size()) on_change(ViewOf(followed, runs));
    }
    const grpc::Status status = reader->Finish();
    if (!status.ok() && status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return FromGrpc(status);
    }
    all_ended = status.ok();
    if (all_ended) RETURN_IF_ERROR(CheckEveryRunEnded(runs));
  }
  return ViewOf(followed, runs);
}

}  // namespace flopwise::client

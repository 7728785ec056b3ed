// `flopwise status [SWEEP] [--watch]` and `flopwise runs`: sweeps and runs with
// progress bars, tokens, loss and ETA; --watch follows WatchRuns and redraws
// (one sweep, or every active sweep when no id is given).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "cli/command_registry.h"
#include "cli/service_connection.h"
#include "client/errors.h"
#include "client/format.h"
#include "runspec/architecture.h"

namespace flopwise::cli {
namespace {

namespace v1 = ::flopwise::v1;

void PrintSweeps(const std::vector<v1::Sweep>& sweeps) {
  std::printf("%-6s %-28s %-10s %-10s %s\n", "sweep", "name", "state", "runs", "progress");
  for (const v1::Sweep& sweep : sweeps) {
    int finished = 0;
    for (const auto& [state, count] : sweep.runs_by_state()) {
      if (state != "RUN_STATE_PENDING" && state != "RUN_STATE_RUNNING") finished += count;
    }
    const std::string runs = std::to_string(finished) + "/" + std::to_string(sweep.runs_total());
    std::printf("%-6lld %-28s %-10s %-10s %s\n", static_cast<long long>(sweep.sweep_id()),
                sweep.name().c_str(), client::SweepStateName(sweep.state()).c_str(), runs.c_str(),
                client::ProgressBar(sweep.progress_fraction(), 30).c_str());
  }
}

void PrintRunTable(const std::map<int64_t, v1::RunUpdate>& runs) {
  std::printf("%-6s %-34s %-10s %-38s %9s %8s %8s %s\n", "run", "name", "state", "progress",
              "tokens", "loss", "eta", "worker");
  for (const auto& [id, run] : runs) {
    const bool running = run.state() == v1::RUN_STATE_RUNNING;
    std::printf("%-6lld %-34s %-10s %-38s %9s %8.4f %8s %s\n", static_cast<long long>(id),
                run.name().c_str(), client::RunStateName(run.state()).c_str(),
                client::ProgressBar(run.progress_fraction(), 30).c_str(),
                client::ShortCount(static_cast<double>(run.tokens())).c_str(), run.loss(),
                running ? client::ShortDuration(run.eta_seconds()).c_str() : "-",
                run.worker_id().empty() ? "-" : run.worker_id().c_str());
  }
}

// The sweep line as of the newest run updates: run counts by state and the
// tokens-weighted progress.
v1::Sweep SummarizeRuns(v1::Sweep sweep, const std::map<int64_t, v1::RunUpdate>& runs) {
  if (runs.empty()) return sweep;
  sweep.clear_runs_by_state();
  double tokens = 0, total_tokens = 0;
  bool active = false;
  for (const auto& [id, run] : runs) {
    (*sweep.mutable_runs_by_state())[v1::RunState_Name(run.state())] += 1;
    tokens += static_cast<double>(std::min(run.tokens(), run.total_tokens()));
    total_tokens += static_cast<double>(run.total_tokens());
    active |= run.state() == v1::RUN_STATE_PENDING || run.state() == v1::RUN_STATE_RUNNING;
  }
  if (total_tokens > 0) sweep.set_progress_fraction(tokens / total_tokens);
  if (!active && sweep.state() == v1::SWEEP_STATE_ACTIVE) {
    sweep.set_state(v1::SWEEP_STATE_COMPLETED);
  }
  return sweep;
}

// How long one WatchRuns stream of `status --watch` (no sweep id) lasts before
// the sweeps are listed again, so that sweeps submitted meanwhile join.
constexpr int64_t kRelistMs = 5'000;

absl::StatusOr<v1::ListSweepsResponse> ListSweeps(const ServiceConnection& connection,
                                                  bool include_finished,
                                                  int64_t after_sweep_id = 0) {
  grpc::ClientContext context;
  connection.Prepare(&context);
  v1::ListSweepsRequest request;
  request.set_include_finished(include_finished);
  request.set_after_sweep_id(after_sweep_id);
  v1::ListSweepsResponse response;
  RETURN_IF_ERROR(client::FromGrpc(connection.stub->ListSweeps(&context, request, &response)));
  return response;
}

absl::StatusOr<std::vector<int64_t>> RunIdsOf(const ServiceConnection& connection,
                                              int64_t sweep_id) {
  grpc::ClientContext context;
  connection.Prepare(&context);
  v1::ListRunsRequest request;
  request.set_sweep_id(sweep_id);
  v1::ListRunsResponse response;
  RETURN_IF_ERROR(client::FromGrpc(connection.stub->ListRuns(&context, request, &response)));
  std::vector<int64_t> ids;
  for (const v1::Run& run : response.runs()) ids.push_back(run.run_id());
  return ids;
}

// Redraws at most every 200 ms (unless forced): each sweep's line, as of its
// runs' newest updates, then its runs. On a terminal the screen is cleared.
class Screen {
 public:
  void Draw(const std::vector<v1::Sweep>& sweeps, const std::map<int64_t, v1::RunUpdate>& runs,
            bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    if (tty_) std::printf("\033[H\033[2J");
    for (size_t i = 0; i < sweeps.size(); ++i) {
      std::map<int64_t, v1::RunUpdate> own;
      for (const auto& [id, run] : runs) {
        if (run.sweep_id() == sweeps[i].sweep_id()) own.emplace(id, run);
      }
      if (i > 0) std::printf("\n");
      PrintSweeps({SummarizeRuns(sweeps[i], own)});
      std::printf("\n");
      PrintRunTable(own);
    }
    std::fflush(stdout);
  }

 private:
  const bool tty_ = isatty(STDOUT_FILENO) != 0;
  std::chrono::steady_clock::time_point last_draw_ =
      std::chrono::steady_clock::now() - std::chrono::seconds(1);
};

int StatusOfAll(const ServiceConnection& connection, bool include_finished) {
  auto listed = ListSweeps(connection, include_finished);
  if (!listed.ok()) return ReportError("status", listed.status());
  PrintSweeps({listed->sweeps().begin(), listed->sweeps().end()});
  return 0;
}

// Reads WatchRuns: the snapshot only (one update per run), or every update
// until the stream ends, redrawing the table.
int StatusOfSweep(const ServiceConnection& connection, int64_t sweep_id, bool watch) {
  v1::Sweep sweep;
  {
    grpc::ClientContext context;
    connection.Prepare(&context);
    v1::GetSweepRequest request;
    request.set_sweep_id(sweep_id);
    v1::GetSweepResponse response;
    absl::Status status = client::FromGrpc(connection.stub->GetSweep(&context, request, &response));
    if (!status.ok()) return ReportError("status", status);
    sweep = response.sweep();
  }
  grpc::ClientContext context;
  client::PrepareContext(&context, connection.token,
                         watch ? int64_t{1} << 40 : connection.timeout_ms);
  v1::WatchRunsRequest request;
  request.set_sweep_id(sweep_id);
  auto reader = connection.stub->WatchRuns(&context, request);
  std::map<int64_t, v1::RunUpdate> runs;
  Screen screen;
  v1::RunUpdate update;
  while (reader->Read(&update)) {
    runs[update.run_id()] = update;
    if (!watch && static_cast<int>(runs.size()) >= sweep.runs_total()) {
      context.TryCancel();
      break;
    }
    if (watch && static_cast<int>(runs.size()) >= sweep.runs_total()) {
      screen.Draw({sweep}, runs, false);
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    return ReportError("status", client::FromGrpc(status));
  }
  screen.Draw({sweep}, runs, true);
  return 0;
}

// Follows every active sweep until none is left: one WatchRuns stream over
// the runs of every sweep seen so far, at most kRelistMs long (or until they
// are all terminal), then the active sweeps are listed again. Sweeps that end
// stay on the screen with their final states.
int WatchActiveSweeps(const ServiceConnection& connection) {
  std::map<int64_t, v1::Sweep> followed;            // every sweep shown, by id
  std::map<int64_t, std::vector<int64_t>> run_ids;  // their runs
  std::map<int64_t, v1::RunUpdate> runs;
  Screen screen;
  auto draw = [&](bool force) {
    std::vector<v1::Sweep> sweeps;
    for (const auto& [id, sweep] : followed) sweeps.push_back(sweep);
    screen.Draw(sweeps, runs, force);
  };
  bool all_ended = false;  // the last stream ended with every run terminal
  int64_t watch_from = 0;  // sweeps with higher ids were submitted while watching
  while (true) {
    auto listed = ListSweeps(connection, /*include_finished=*/false, watch_from);
    if (!listed.ok()) return ReportError("status", listed.status());
    if (watch_from == 0) watch_from = listed->last_sweep_id();
    // The active sweeps, and those submitted since the watch began even when
    // they ended before this listing (a short sweep between two listings).
    std::vector<v1::Sweep> sweeps;
    for (const v1::Sweep& sweep : listed->sweeps()) {
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
      auto ids = RunIdsOf(connection, sweep.sweep_id());
      if (!ids.ok()) return ReportError("status", ids.status());
      run_ids[sweep.sweep_id()] = *std::move(ids);
    }
    // Sweeps that ended since the last listing are watched once more too, so
    // that their runs' final states reach the screen.
    v1::WatchRunsRequest request;
    for (const auto& [sweep_id, ids] : run_ids) {
      for (int64_t id : ids) request.add_run_ids(id);
    }
    grpc::ClientContext context;
    client::PrepareContext(&context, connection.token, kRelistMs);
    auto reader = connection.stub->WatchRuns(&context, request);
    v1::RunUpdate update;
    int updates = 0;
    while (reader->Read(&update)) {
      runs[update.run_id()] = update;
      if (++updates >= request.run_ids_size()) draw(false);
    }
    grpc::Status status = reader->Finish();
    if (!status.ok() && status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return ReportError("status", client::FromGrpc(status));
    }
    all_ended = status.ok();
  }
  if (followed.empty()) {
    std::printf("no active sweep\n");
    return 0;
  }
  draw(true);
  return 0;
}

int Runs(const ServiceConnection& connection, int64_t sweep_id, const std::string& states) {
  v1::ListRunsRequest request;
  request.set_sweep_id(sweep_id);
  for (const std::string& name :
       std::vector<std::string>(absl::StrSplit(states, ',', absl::SkipEmpty()))) {
    v1::RunState state = client::ParseRunState(name);
    if (state == v1::RUN_STATE_UNSPECIFIED) {
      return ReportError("runs",
                         absl::InvalidArgumentError(
                             "--state: unknown state \"" + name +
                             "\" (pending, running, succeeded, failed, diverged, cancelled)"));
    }
    request.add_states(state);
  }
  grpc::ClientContext context;
  connection.Prepare(&context);
  v1::ListRunsResponse response;
  absl::Status status = client::FromGrpc(connection.stub->ListRuns(&context, request, &response));
  if (!status.ok()) return ReportError("runs", status);
  std::printf("%-6s %-6s %-34s %-6s %-10s %8s %8s %9s %8s %-16s %s\n", "run", "sweep", "name",
              "arch", "state", "attempts", "step", "tokens", "loss", "worker", "last failure");
  for (const v1::Run& run : response.runs()) {
    const std::string attempts =
        std::to_string(run.attempts()) + "/" + std::to_string(run.max_attempts());
    std::printf("%-6lld %-6lld %-34s %-6s %-10s %8s %8lld %9s %8.4f %-16s %s\n",
                static_cast<long long>(run.run_id()), static_cast<long long>(run.sweep_id()),
                run.name().c_str(), runspec::ArchName(run.config().model().arch()).c_str(),
                client::RunStateName(run.state()).c_str(), attempts.c_str(),
                static_cast<long long>(run.step()),
                client::ShortCount(static_cast<double>(run.tokens())).c_str(), run.loss(),
                run.worker_id().empty() ? "-" : run.worker_id().c_str(),
                run.failure_reasons().empty() ? "" : run.failure_reasons().rbegin()->c_str());
  }
  return 0;
}

const CommandRegistrar kStatus([](CLI::App& app, CliContext& ctx) {
  static client::ConnectFlags flags;
  static int64_t sweep_id = 0;
  static bool watch = false;
  static bool all = false;
  auto* status = app.add_subcommand("status", "Sweeps, or one sweep's runs with progress bars");
  status->add_option("sweep", sweep_id, "Sweep id (omit for every active sweep)");
  status->add_flag("--watch", watch,
                   std::string("Follow the runs live until they all end (without a sweep id: "
                               "every active sweep, until none is left)"));
  status->add_flag("--all", all, std::string("Also list finished sweeps"));
  AddConnectionOptions(status, &flags);
  status->callback([&ctx] {
    auto connection = Connect(flags);
    if (!connection.ok()) {
      ctx.exit_code = ReportError("status", connection.status());
      return;
    }
    if (sweep_id != 0) {
      ctx.exit_code = StatusOfSweep(*connection, sweep_id, watch);
    } else {
      ctx.exit_code = watch ? WatchActiveSweeps(*connection) : StatusOfAll(*connection, all);
    }
  });

  static int64_t runs_sweep_id = 0;
  static std::string states;
  auto* runs = app.add_subcommand("runs", "List runs with state, attempts, progress and failures");
  runs->add_option("--sweep", runs_sweep_id, "Only this sweep's runs");
  runs->add_option("--state", states, "Comma-separated states, e.g. running,failed");
  AddConnectionOptions(runs, &flags);
  runs->callback([&ctx] {
    auto connection = Connect(flags);
    if (!connection.ok()) {
      ctx.exit_code = ReportError("runs", connection.status());
      return;
    }
    ctx.exit_code = Runs(*connection, runs_sweep_id, states);
  });
});

}  // namespace
}  // namespace flopwise::cli

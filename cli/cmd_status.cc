// `flopwise status [SWEEP] [--watch]` and `flopwise runs`: sweeps and runs with
// progress bars, tokens, loss and ETA; --watch follows WatchRuns and redraws.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "cli/command_registry.h"
#include "cli/service_connection.h"
#include "client/errors.h"
#include "client/format.h"

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

int StatusOfAll(const ServiceConnection& connection, bool include_finished) {
  grpc::ClientContext context;
  connection.Prepare(&context);
  v1::ListSweepsRequest request;
  request.set_include_finished(include_finished);
  v1::ListSweepsResponse response;
  absl::Status status = client::FromGrpc(connection.stub->ListSweeps(&context, request, &response));
  if (!status.ok()) return ReportError("status", status);
  PrintSweeps({response.sweeps().begin(), response.sweeps().end()});
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
  const bool tty = isatty(STDOUT_FILENO) != 0;
  auto last_draw = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  auto draw = [&](bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw < std::chrono::milliseconds(200)) return;
    last_draw = now;
    if (tty) std::printf("\033[H\033[2J");
    PrintSweeps({SummarizeRuns(sweep, runs)});
    std::printf("\n");
    PrintRunTable(runs);
    std::fflush(stdout);
  };
  v1::RunUpdate update;
  while (reader->Read(&update)) {
    runs[update.run_id()] = update;
    if (!watch && static_cast<int>(runs.size()) >= sweep.runs_total()) {
      context.TryCancel();
      break;
    }
    if (watch && static_cast<int>(runs.size()) >= sweep.runs_total()) draw(false);
  }
  grpc::Status status = reader->Finish();
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    return ReportError("status", client::FromGrpc(status));
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
                run.name().c_str(), client::ArchName(run.config().model().arch()).c_str(),
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
  status->add_flag("--watch", watch, std::string("Follow the runs live until they all end"));
  status->add_flag("--all", all, std::string("Also list finished sweeps"));
  AddConnectionOptions(status, &flags);
  status->callback([&ctx] {
    auto connection = Connect(flags);
    if (!connection.ok()) {
      ctx.exit_code = ReportError("status", connection.status());
      return;
    }
    ctx.exit_code =
        sweep_id == 0 ? StatusOfAll(*connection, all) : StatusOfSweep(*connection, sweep_id, watch);
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

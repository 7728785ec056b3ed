// `flopwise status [SWEEP] [--watch]`, `flopwise runs` and `flopwise run`:
// sweeps and runs with progress bars, tokens, loss and ETA; --watch follows
// WatchRuns and redraws (one sweep, or every active sweep when no id is
// given); one run with its attempts. The calls are client/sweep_status.h and
// client/run_detail.h, the tables client/status_tables.h.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/command_registry.h"
#include "cli/service_connection.h"
#include "client/exit_codes.h"
#include "client/format.h"
#include "client/json_output.h"
#include "client/run_detail.h"
#include "client/status_tables.h"
#include "client/sweep_status.h"
#include "client/user_connection.h"

namespace flopwise::cli {
namespace {

namespace v1 = ::flopwise::v1;

// Redraws at most every 200 ms (unless forced): each sweep's line (its newest
// summary from the coordinator), then its runs. On a terminal the screen is
// cleared.
class Screen {
 public:
  void Draw(const client::SweepView& view, bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    if (tty_) std::printf("\033[H\033[2J");
    for (size_t i = 0; i < view.sweeps.size(); ++i) {
      const v1::Sweep& sweep = view.sweeps[i];
      std::map<int64_t, v1::RunUpdate> own;
      for (const auto& [id, run] : view.runs) {
        if (run.sweep_id() == sweep.sweep_id()) own.emplace(id, run);
      }
      if (i > 0) std::printf("\n");
      std::printf("%s\n%s", client::SweepTable({&sweep, 1}).c_str(),
                  client::RunUpdateTable(own).c_str());
    }
    std::fflush(stdout);
  }

 private:
  const bool tty_ = isatty(STDOUT_FILENO) != 0;
  std::chrono::steady_clock::time_point last_draw_ =
      std::chrono::steady_clock::now() - std::chrono::seconds(1);
};

int StatusOfAll(const client::UserConnection& connection, bool include_finished, bool json) {
  auto sweeps = client::ListSweeps(connection, include_finished);
  if (!sweeps.ok()) return ReportError("status", sweeps.status());
  std::printf("%s", (json ? client::SweepsJson(*sweeps) : client::SweepTable(*sweeps)).c_str());
  return client::kExitOk;
}

// The exit code of a watch that ended with `view`: kExitSweepFailed when a
// sweep in it did not succeed as a whole.
int WatchExitCode(const client::SweepView& view) {
  const bool all_succeeded =
      std::all_of(view.sweeps.begin(), view.sweeps.end(),
                  [](const v1::Sweep& s) { return client::SweepSucceeded(s); });
  return all_succeeded ? client::kExitOk : client::kExitSweepFailed;
}

// One sweep's snapshot, or with --watch every update until its runs end.
int StatusOfSweep(const client::UserConnection& connection, int64_t sweep_id, bool watch,
                  bool json) {
  Screen screen;
  auto view = client::WatchSweep(connection, sweep_id, watch, [&](const client::SweepView& v) {
    if (!json) screen.Draw(v, false);
  });
  if (!view.ok()) return ReportError("status", view.status());
  if (json) {
    std::printf("%s", client::SweepViewJson(*view).c_str());
  } else {
    screen.Draw(*view, true);
  }
  return watch ? WatchExitCode(*view) : client::kExitOk;
}

// Every active sweep until none is left.
int WatchActiveSweeps(const client::UserConnection& connection, bool json) {
  Screen screen;
  auto view = client::WatchActiveSweeps(connection, [&](const client::SweepView& v) {
    if (!json) screen.Draw(v, false);
  });
  if (!view.ok()) return ReportError("status", view.status());
  if (json) {
    std::printf("%s", client::SweepViewJson(*view).c_str());
  } else if (view->sweeps.empty()) {
    std::printf("no active sweep\n");
  } else {
    screen.Draw(*view, true);
  }
  return WatchExitCode(*view);
}

int Runs(const client::UserConnection& connection, int64_t sweep_id, const std::string& states,
         bool json) {
  std::vector<v1::RunState> wanted;
  for (const std::string& name :
       std::vector<std::string>(absl::StrSplit(states, ',', absl::SkipEmpty()))) {
    v1::RunState state = client::ParseRunState(name);
    if (state == v1::RUN_STATE_UNSPECIFIED) {
      return ReportError("runs",
                         absl::InvalidArgumentError(
                             "--state: unknown state \"" + name +
                             "\" (pending, running, succeeded, failed, diverged, cancelled)"));
    }
    wanted.push_back(state);
  }
  auto runs = client::ListRuns(connection, sweep_id, wanted);
  if (!runs.ok()) return ReportError("runs", runs.status());
  std::printf("%s", (json ? client::RunsJson(*runs) : client::RunTable(*runs)).c_str());
  return client::kExitOk;
}

int RunDetail(const client::UserConnection& connection, int64_t run_id, bool json) {
  auto run = client::GetRun(connection, run_id);
  if (!run.ok()) return ReportError("run", run.status());
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  std::printf("%s", (json ? client::RunJson(*run) : client::RunDetailText(*run, now_ms)).c_str());
  return client::kExitOk;
}

const CommandRegistrar kStatus([](CLI::App& app, CliContext& ctx) {
  static client::ConnectFlags flags;
  static int64_t sweep_id = 0;
  static bool watch = false;
  static bool all = false;
  static bool json = false;
  auto* status = app.add_subcommand("status", "Sweeps, or one sweep's runs with progress bars");
  status->add_option("sweep,--sweep", sweep_id,
                     "Sweep id, positional or --sweep (omit for every active sweep)");
  status->add_flag("--watch", watch,
                   std::string("Follow the runs live until they all end (without a sweep id: "
                               "every active sweep, until none is left); exits 3 when a sweep "
                               "ends with failed runs, 4 when the coordinator goes away"));
  status->add_flag("--all", all, std::string("Also list finished sweeps"));
  AddJsonFlag(status, &json);
  AddConnectionOptions(status, &flags);
  status->callback([&ctx] {
    auto connection = client::ConnectUser(flags);
    if (!connection.ok()) {
      ctx.exit_code = ReportError("status", connection.status());
      return;
    }
    if (sweep_id != 0) {
      ctx.exit_code = StatusOfSweep(*connection, sweep_id, watch, json);
    } else {
      ctx.exit_code =
          watch ? WatchActiveSweeps(*connection, json) : StatusOfAll(*connection, all, json);
    }
  });

  static int64_t runs_sweep_id = 0;
  static std::string states;
  auto* runs = app.add_subcommand("runs", "List runs with state, attempts, progress and failures");
  runs->add_option("--sweep", runs_sweep_id, "Only this sweep's runs");
  runs->add_option("--state", states, "Comma-separated states, e.g. running,failed");
  AddJsonFlag(runs, &json);
  AddConnectionOptions(runs, &flags);
  runs->callback([&ctx] {
    auto connection = client::ConnectUser(flags);
    if (!connection.ok()) {
      ctx.exit_code = ReportError("runs", connection.status());
      return;
    }
    ctx.exit_code = Runs(*connection, runs_sweep_id, states, json);
  });

  static int64_t run_id = 0;
  auto* run = app.add_subcommand("run", "One run: its attempts, their workers and why they ended");
  run->add_option("run", run_id, "Run id (see `flopwise runs`)")->required();
  AddJsonFlag(run, &json);
  AddConnectionOptions(run, &flags);
  run->callback([&ctx] {
    auto connection = client::ConnectUser(flags);
    if (!connection.ok()) {
      ctx.exit_code = ReportError("run", connection.status());
      return;
    }
    ctx.exit_code = RunDetail(*connection, run_id, json);
  });
});

}  // namespace
}  // namespace flopwise::cli

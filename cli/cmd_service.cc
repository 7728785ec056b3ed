// `flopwise submit | cancel | retry | workers | drain`: sweeps and workers on
// the coordinator (docs/operations.md). The calls and their text are
// client/sweep_submit.h, client/run_retry.h and client/workers.h.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/command_registry.h"
#include "cli/service_connection.h"
#include "client/json_output.h"
#include "client/run_retry.h"
#include "client/sweep_submit.h"
#include "client/user_connection.h"
#include "client/workers.h"

namespace flopwise::cli {
namespace {

int Submit(const client::ConnectFlags& flags, const std::string& spec_path, bool dry_run,
           bool allow_unplaceable, bool json) {
  auto connection = client::ConnectUser(flags);
  if (!connection.ok()) return ReportError("submit", connection.status());
  auto response = client::SubmitSweepFile(*connection, spec_path, dry_run, allow_unplaceable);
  if (!response.ok()) return ReportError("submit", response.status());
  const std::string out =
      json ? client::SubmitJson(*response, dry_run) : client::SubmitText(*response, dry_run);
  std::printf("%s", out.c_str());
  return 0;
}

int Cancel(const client::ConnectFlags& flags, int64_t sweep_id, bool json) {
  auto connection = client::ConnectUser(flags);
  if (!connection.ok()) return ReportError("cancel", connection.status());
  auto response = client::CancelSweep(*connection, sweep_id);
  if (!response.ok()) return ReportError("cancel", response.status());
  const std::string out =
      json ? client::CancelJson(sweep_id, *response) : client::CancelText(sweep_id, *response);
  std::printf("%s", out.c_str());
  return 0;
}

int Retry(const client::ConnectFlags& flags, int64_t sweep_id, const std::string& runs, bool json) {
  std::vector<int64_t> run_ids;
  if (!runs.empty()) {
    auto parsed = client::ParseRunIds(runs);
    if (!parsed.ok()) return ReportError("retry", parsed.status());
    run_ids = *std::move(parsed);
  }
  auto connection = client::ConnectUser(flags);
  if (!connection.ok()) return ReportError("retry", connection.status());
  auto response = client::RetryRuns(*connection, sweep_id, run_ids);
  if (!response.ok()) return ReportError("retry", response.status());
  std::printf("%s", (json ? client::RetryJson(*response) : client::RetryText(*response)).c_str());
  return 0;
}

int Workers(const client::ConnectFlags& flags, bool json) {
  auto connection = client::ConnectUser(flags);
  if (!connection.ok()) return ReportError("workers", connection.status());
  auto workers = client::ListWorkers(*connection);
  if (!workers.ok()) return ReportError("workers", workers.status());
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  const std::string out =
      json ? client::WorkersJson(*workers) : client::WorkerTable(*workers, now_ms);
  std::printf("%s", out.c_str());
  return 0;
}

int Drain(const client::ConnectFlags& flags, const std::string& worker_id, bool undo, bool json) {
  auto connection = client::ConnectUser(flags);
  if (!connection.ok()) return ReportError("drain", connection.status());
  auto worker = client::SetDraining(*connection, worker_id, !undo);
  if (!worker.ok()) return ReportError("drain", worker.status());
  std::printf("%s", (json ? client::DrainJson(*worker) : client::DrainText(*worker)).c_str());
  return 0;
}

const CommandRegistrar kService([](CLI::App& app, CliContext& ctx) {
  static client::ConnectFlags flags;
  static std::string spec_path;
  static bool dry_run = false;
  static bool json = false;
  auto* submit = app.add_subcommand("submit", "Submit a sweep spec (YAML) to the coordinator");
  submit
      ->add_option("spec", spec_path,
                   "Sweep spec file (its relative paths are relative to this directory)")
      ->required();
  submit->add_flag("--dry-run", dry_run,
                   std::string("Validate and expand only: runs, estimated FLOPs and memory"));
  static bool allow_unplaceable = false;
  submit->add_flag("--allow-unplaceable", allow_unplaceable,
                   "Queue runs that no registered worker could hold (they wait for a larger "
                   "worker) instead of refusing the sweep");
  AddJsonFlag(submit, &json);
  AddConnectionOptions(submit, &flags);
  submit->callback(
      [&ctx] { ctx.exit_code = Submit(flags, spec_path, dry_run, allow_unplaceable, json); });

  static int64_t sweep_id = 0;
  auto* cancel = app.add_subcommand("cancel", "Cancel a sweep: its pending and running runs");
  cancel->add_option("sweep,--sweep", sweep_id, "Sweep id (positional or --sweep)")->required();
  AddJsonFlag(cancel, &json);
  AddConnectionOptions(cancel, &flags);
  cancel->callback([&ctx] { ctx.exit_code = Cancel(flags, sweep_id, json); });

  static std::string retry_runs;
  auto* retry = app.add_subcommand(
      "retry", "Put a sweep's failed and diverged runs back to pending with fresh attempts");
  retry->add_option("sweep,--sweep", sweep_id, "Sweep id (positional or --sweep)")->required();
  retry->add_option("--runs", retry_runs,
                    "Only these runs, comma-separated (default: every failed and diverged run)");
  AddJsonFlag(retry, &json);
  AddConnectionOptions(retry, &flags);
  retry->callback([&ctx] { ctx.exit_code = Retry(flags, sweep_id, retry_runs, json); });

  auto* workers = app.add_subcommand("workers", "List the workers, their inventory and runs");
  AddJsonFlag(workers, &json);
  AddConnectionOptions(workers, &flags);
  workers->callback([&ctx] { ctx.exit_code = Workers(flags, json); });

  static std::string worker_id;
  static bool undo = false;
  auto* drain = app.add_subcommand("drain", "Stop giving a worker new runs (running ones go on)");
  drain->add_option("worker", worker_id, "Worker id (see `flopwise workers`)")->required();
  drain->add_flag("--undo", undo, std::string("Let the worker take runs again"));
  AddJsonFlag(drain, &json);
  AddConnectionOptions(drain, &flags);
  drain->callback([&ctx] { ctx.exit_code = Drain(flags, worker_id, undo, json); });
});

}  // namespace
}  // namespace flopwise::cli

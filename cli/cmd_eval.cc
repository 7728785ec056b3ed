// `flopwise eval --sweep N --tasks a,b [--checkpoints last|all|every K] [--wait]`:
// evaluates a finished sweep's checkpoints (again) through eval jobs
// (docs/evaluation.md, "Scheduling"). `flopwise eval --sweep N --wait` alone
// waits for the sweep's jobs already queued (scripts/demo.sh before its export).
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli/command_registry.h"
#include "cli/service_connection.h"
#include "client/eval_jobs.h"
#include "client/user_connection.h"

namespace flopwise::cli {
namespace {

// Waits for `jobs` to end and prints their results; 1 when one did not succeed.
int WaitAndPrint(const client::UserConnection& connection, int64_t sweep_id,
                 const std::vector<int64_t>& jobs, int wait_timeout_s) {
  auto ended =
      client::WaitForEvalJobs(connection, jobs, /*poll_ms=*/1000, int64_t{wait_timeout_s} * 1000);
  if (!ended.ok()) return ReportError("eval", ended.status());
  auto rows =
      client::ListEvals(*connection.stub, connection.token, connection.timeout_ms, sweep_id, jobs);
  if (!rows.ok()) return ReportError("eval", rows.status());
  std::fputs(client::EvalTable(*ended, *rows).c_str(), stdout);
  for (const auto& job : *ended) {
    if (job.state() != ::flopwise::v1::EVAL_JOB_STATE_SUCCEEDED) return 1;
  }
  return 0;
}

int WaitForQueuedJobs(const client::ConnectFlags& flags, int64_t sweep_id, int wait_timeout_s) {
  auto connection = client::ConnectUser(flags);
  if (!connection.ok()) return ReportError("eval", connection.status());
  auto jobs = client::ListEvalJobIds(*connection, sweep_id);
  if (!jobs.ok()) return ReportError("eval", jobs.status());
  std::printf("sweep %lld: waiting for %zu eval jobs\n", static_cast<long long>(sweep_id),
              jobs->size());
  if (jobs->empty()) return 0;
  return WaitAndPrint(*connection, sweep_id, *jobs, wait_timeout_s);
}

const CommandRegistrar kEval([](CLI::App& app, CliContext& ctx) {
  static client::ConnectFlags flags;
  static int64_t sweep_id = 0;
  static std::vector<std::string> tasks;
  static std::vector<std::string> checkpoints = {"last"};
  static int priority = 0;
  static bool wait = false;
  static int wait_timeout_s = 24 * 3600;
  auto* cmd = app.add_subcommand("eval", "Evaluate a finished sweep's checkpoints (eval jobs)");
  cmd->add_option("--sweep", sweep_id, "Sweep id")->required();
  cmd->add_option("--tasks", tasks,
                  "validation, needle, needle-easy, needle-standard, brown-continuation or "
                  ".jsonl task files (relative to this folder, which the workers must see); "
                  "without it, --wait waits "
                  "for the sweep's jobs already queued")
      ->delimiter(',');
  cmd->add_option("--checkpoints", checkpoints,
                  "last (each run's newest), all, or every K (every K-th by step)")
      ->expected(1, 2)
      ->capture_default_str();
  static CLI::Option* priority_option =
      cmd->add_option("--priority", priority, "Priority of the jobs (default: the sweep's)");
  cmd->add_flag("--wait", wait, "Wait until every job has ended and print the results");
  cmd->add_option("--wait-timeout", wait_timeout_s, "Seconds --wait waits at most")
      ->capture_default_str();
  AddConnectionOptions(cmd, &flags);
  cmd->callback([&ctx] {
    if (tasks.empty() && wait) {
      ctx.exit_code = WaitForQueuedJobs(flags, sweep_id, wait_timeout_s);
      return;
    }
    auto request = client::MakeCreateEvalJobsRequest(
        sweep_id, tasks, checkpoints,
        priority_option->count() > 0 ? std::optional<int>(priority) : std::nullopt);
    if (!request.ok()) {
      ctx.exit_code = ReportError("eval", request.status());
      return;
    }
    auto connection = client::ConnectUser(flags);
    if (!connection.ok()) {
      ctx.exit_code = ReportError("eval", connection.status());
      return;
    }
    auto jobs = client::CreateEvalJobs(*connection, *request);
    if (!jobs.ok()) {
      ctx.exit_code = ReportError("eval", jobs.status());
      return;
    }
    std::printf("sweep %lld: %zu eval jobs queued\n", static_cast<long long>(sweep_id),
                jobs->size());
    if (!wait) return;
    ctx.exit_code = WaitAndPrint(*connection, sweep_id, *jobs, wait_timeout_s);
  });
});

}  // namespace
}  // namespace flopwise::cli

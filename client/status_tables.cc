#include "client/status_tables.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/format.h"
#include "runspec/architecture.h"

namespace flopwise::client {

namespace v1 = ::flopwise::v1;

namespace {

// The trainer's validation loss at the newest checkpoint, "-" when none ran.
template <typename RunOrUpdate>
std::string ValidationLoss(const RunOrUpdate& run) {
  return run.has_validation_loss() ? absl::StrFormat("%.4f", run.validation_loss()) : "-";
}

// A pending run's reason for waiting, else the run's last failure.
std::string Note(const v1::Run& run) {
  if (!run.pending_reason().empty()) return "pending: " + run.pending_reason();
  return run.failure_reasons().empty() ? "" : *run.failure_reasons().rbegin();
}

// The run's worker, or for a running data-parallel run its ranks' workers:
// "2 ranks: w1,w2" (a worker repeated for each of its ranks).
std::string Workers(const v1::Run& run) {
  if (run.rank_workers().empty()) return run.worker_id().empty() ? "-" : run.worker_id();
  return absl::StrFormat("%d ranks: %s", run.rank_workers_size(),
                         absl::StrJoin(run.rank_workers(), ","));
}

}  // namespace

std::string SweepTable(std::span<const v1::Sweep> sweeps) {
  std::string out =
      absl::StrFormat("%-6s %-28s %-24s %-10s %s\n", "sweep", "name", "state", "runs", "progress");
  for (const v1::Sweep& sweep : sweeps) {
    const std::string runs = absl::StrFormat("%d/%d", sweep.runs_finished(), sweep.runs_total());
    absl::StrAppendFormat(&out, "%-6d %-28s %-24s %-10s %s\n", sweep.sweep_id(), sweep.name(),
                          SweepOutcome(sweep), runs, ProgressBar(sweep.progress_fraction(), 30));
  }
  return out;
}

std::string RunUpdateTable(const std::map<int64_t, v1::RunUpdate>& runs) {
  std::string out =
      absl::StrFormat("%-6s %-34s %-10s %-38s %9s %8s %8s %8s %s\n", "run", "name", "state",
                      "progress", "tokens", "loss", "val loss", "eta", "worker");
  for (const auto& [id, run] : runs) {
    const bool running = run.state() == v1::RUN_STATE_RUNNING;
    absl::StrAppendFormat(&out, "%-6d %-34s %-10s %-38s %9s %8s %8s %8s %s\n", id, run.name(),
                          RunStateName(run.state()), ProgressBar(run.progress_fraction(), 30),
                          ShortCount(static_cast<double>(run.tokens())),
                          LossText(run.loss(), run.tokens()), ValidationLoss(run),
                          running ? ShortDuration(run.eta_seconds()) : "-",
                          run.worker_id().empty() ? "-" : run.worker_id());
  }
  return out;
}

std::string RunTable(std::span<const v1::Run> runs) {
  std::string out = absl::StrFormat("%-6s %-6s %-34s %-6s %-10s %8s %8s %9s %8s %8s %-16s %s\n",
                                    "run", "sweep", "name", "arch", "state", "attempts", "step",
                                    "tokens", "loss", "val loss", "worker", "note");
  for (const v1::Run& run : runs) {
    const std::string attempts = absl::StrFormat("%d/%d", run.attempts(), run.max_attempts());
    absl::StrAppendFormat(&out, "%-6d %-6d %-34s %-6s %-10s %8s %8d %9s %8s %8s %-16s %s\n",
                          run.run_id(), run.sweep_id(), run.name(),
                          runspec::ArchName(run.config().model().arch()), RunStateName(run.state()),
                          attempts, run.step(), ShortCount(static_cast<double>(run.tokens())),
                          LossText(run.loss(), run.tokens()), ValidationLoss(run), Workers(run),
                          Note(run));
  }
  return out;
}

}  // namespace flopwise::client

// Worker: eval jobs. The child is `flopwise-train eval` (the trainer program's
// eval command); its "eval" lines become ReportEvalResult reports, one per
// task, and its exit the job's final report. A task file the worker cannot
// read fails the job before any child starts.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "worker/daemon/eval_args.h"
#include "worker/daemon/worker.h"
#include "worker/daemon/worker_slot.h"

namespace flopwise::workerd {
namespace {

namespace fs = std::filesystem;

// The last non-empty line of a log file (what flopwise-train eval printed on
// stderr before it failed), at most 1000 bytes; empty when none.
std::string LastLogLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (!absl::StripAsciiWhitespace(line).empty()) last = line;
  }
  return last.substr(0, 1000);
}

}  // namespace

void Worker::StartEval(const v1::EvalLease& lease) {
  auto slot = std::make_unique<Slot>(lease, options_.backoff);
  const v1::Resources& granted = lease.resources();
  slot->threads = threads_per_run_;
  slot->cores = std::max(threads_per_run_, granted.cpu_cores());
  slot->memory_bytes = granted.memory_bytes();
  slot->progress.set_lease_id(lease.lease_id());
  slot->progress.set_attempt(lease.attempt());
  slot->progress.set_step(lease.checkpoint_step());
  const std::string name = slot->Describe();

  if (absl::Status files = CheckTaskFiles(lease); !files.ok()) {
    spdlog::warn("{}: {}", name, std::string(files.message()));
    slot->queue.AddEvalFail(std::string(files.message()), /*retry=*/false);
    slot->exited = true;
    slots_[lease.lease_id()] = std::move(slot);
    return;
  }
  const fs::path figures_dir = fs::path(checkpoint_root_) / lease.run_dir_name() / "eval";
  std::error_code ec;
  fs::create_directories(figures_dir, ec);
  SpawnOptions spawn;
  spawn.argv = EvalArgv(options_.trainer_path, lease, figures_dir.string(), slot->threads);
  slot->log_path =
      (fs::path(options_.work_dir) / "logs" /
       absl::StrCat(absl::StrReplaceAll(lease.run_dir_name(), {{"/", "_"}}), ".eval-job-",
                    lease.job_id(), ".attempt-", lease.attempt(), ".log"))
          .string();
  spawn.stderr_path = slot->log_path;
  spawn.parent_death_signal = SIGKILL;  // as for trainers: no orphan reports
  spawn.env.emplace_back("OMP_NUM_THREADS", std::to_string(slot->threads));
  for (const auto& kv : options_.trainer_env) spawn.env.push_back(kv);
  absl::StatusOr<std::unique_ptr<TrainerProcess>> child =
      TrainerProcess::Start(spawn, [this] { Wake(); });
  if (!child.ok()) {
    spdlog::error("{}: cannot start the evaluator: {}", name,
                  std::string(child.status().message()));
    slot->queue.AddEvalFail(
        absl::StrCat("worker: cannot start the evaluator: ", child.status().message()),
        /*retry=*/false);
    slot->exited = true;
  } else {
    slot->trainer = *std::move(child);
    spdlog::info("{}: started pid {} on {} (log {})", name, slot->trainer->pid(),
                 lease.checkpoint_path(), slot->log_path);
  }
  slots_[lease.lease_id()] = std::move(slot);
}

void Worker::FinishEval(Slot& slot, const ExitStatus& exit) {
  const std::string name = slot.Describe();
  if (exit.exit_code == 0) {
    spdlog::info("{}: done", name);
    slot.queue.AddEvalComplete();
  } else if (!slot.stop_reason.empty()) {
    // The worker stops: the job goes back to the queue for another worker.
    spdlog::info("{}: stopped ({}), handing the job back", name, exit.Describe());
    slot.queue.AddEvalFail(slot.stop_reason, /*retry=*/true);
  } else {
    std::string reason = exit.Describe();
    if (const std::string last = LastLogLine(slot.log_path); !last.empty()) {
      absl::StrAppend(&reason, ": ", last);
    }
    spdlog::warn("{}: failed: {}", name, reason);
    slot.queue.AddEvalFail(reason, /*retry=*/false);
  }
}

}  // namespace flopwise::workerd

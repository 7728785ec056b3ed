#include "client/tensorboard_export.h"

#include <unistd.h>

#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "client/event_file.h"
#include "client/export_sources.h"
#include "client/pages.h"

namespace flopwise::client {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::flopwise::v1;

// `name` as one folder name: characters other than letters, digits, '.', '_'
// and '-' become '_' (a run name is generated from its arch, size, context
// and tokens, but a spec may name runs).
std::string FolderName(const std::string& name) {
  std::string folder = name;
  for (char& c : folder) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '_' || c == '-';
    if (!plain) c = '_';
  }
  return folder;
}

std::string LocalHostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return FolderName(name);
}

// The event file of the run whose rows arrive now. Rows come by run within
// each listing, so one file is open at a time; a run's file is reopened for
// appending when a later listing (checkpoints, evals) reaches it.
class RunEventFiles {
 public:
  RunEventFiles(std::string file_name, double wall_time)
      : file_name_(std::move(file_name)), wall_time_(wall_time) {}

  absl::Status Add(const fs::path& folder, int64_t step, const std::vector<Scalar>& scalars) {
    if (!current_ || folder != current_folder_) {
      RETURN_IF_ERROR(Close());
      std::error_code error;
      fs::create_directories(folder, error);
      if (error) {
        return absl::PermissionDeniedError(
            absl::StrCat("--output: cannot create ", folder.string(), ": ", error.message()));
      }
      ASSIGN_OR_RETURN(EventFileWriter writer,
                       EventFileWriter::Open(folder / file_name_, wall_time_));
      current_.emplace(std::move(writer));
      current_folder_ = folder;
      folders_.insert(folder);
    }
    RETURN_IF_ERROR(current_->Add(step, wall_time_, scalars));
    ++events_;
    return absl::OkStatus();
  }

  absl::Status Close() {
    if (!current_) return absl::OkStatus();
    absl::Status closed = current_->Close();
    current_.reset();
    return closed;
  }

  TensorBoardExportCounts counts() const {
    return {static_cast<int64_t>(folders_.size()), events_};
  }

 private:
  const std::string file_name_;
  const double wall_time_;
  std::optional<EventFileWriter> current_;
  fs::path current_folder_;
  std::set<fs::path> folders_;
  int64_t events_ = 0;
};

// Each run's folder in one sweep, by run id.
struct SweepFolders {
  int64_t sweep_id = 0;
  fs::path sweep_folder;
  std::map<int64_t, fs::path> runs;

  // A run the listing of runs did not have (it cannot be, but its rows are
  // still written somewhere findable).
  fs::path Of(int64_t run_id) const {
    auto it = runs.find(run_id);
    return it != runs.end() ? it->second : sweep_folder / absl::StrCat("run-", run_id);
  }
};

absl::StatusOr<std::vector<SweepFolders>> PlanFolders(v1::UserService::StubInterface& stub,
                                                      const std::string& token,
                                                      const ExportOptions& options,
                                                      const fs::path& dir) {
  ASSIGN_OR_RETURN(const std::vector<int64_t> sweep_ids,
                   ExportedSweepIds(stub, token, options.sweep_id, options.timeout_ms));
  std::vector<SweepFolders> sweeps;
  for (int64_t sweep_id : sweep_ids) {
    ASSIGN_OR_RETURN(const auto runs, RunsOfSweep(stub, token, sweep_id, options.timeout_ms));
    SweepFolders& sweep = sweeps.emplace_back();
    sweep.sweep_id = sweep_id;
    sweep.sweep_folder = dir / absl::StrCat("sweep-", sweep_id);
    for (const auto& [run_id, run] : runs) {
      const fs::path folder =
          sweep.sweep_folder / absl::StrCat(FolderName(run.name()), "-run-", run_id);
      std::error_code error;
      if (fs::exists(folder, error) && !fs::is_empty(folder, error)) {
        return absl::FailedPreconditionError(
            absl::StrCat("--output ", dir.string(), ": ", folder.string(),
                         " is not empty; export into a new folder or remove it first"));
      }
      sweep.runs[run_id] = folder;
    }
  }
  return sweeps;
}

absl::Status WriteSweep(v1::UserService::StubInterface& stub, const std::string& token,
                        int64_t timeout_ms, const SweepFolders& sweep, RunEventFiles& files) {
  v1::GetMetricsRequest metrics;
  metrics.set_sweep_id(sweep.sweep_id);
  RETURN_IF_ERROR(ForEachPage(stub, token, timeout_ms, &v1::UserService::StubInterface::GetMetrics,
                              metrics, [&](const v1::GetMetricsResponse& page) {
                                for (const v1::MetricRow& row : page.rows()) {
                                  const v1::MetricPoint& point = row.point();
                                  RETURN_IF_ERROR(files.Add(
                                      sweep.Of(row.run_id()), point.step(),
                                      {{"train/loss", point.loss()},
                                       {"train/lr", point.lr()},
                                       {"train/grad_norm", point.grad_norm()},
                                       {"train/tokens_per_s", point.tokens_per_s()},
                                       {"train/tokens", static_cast<double>(point.tokens())},
                                       {"train/flops", point.flops()}}));
                                }
                                return absl::OkStatus();
                              }));
  v1::GetCheckpointsRequest checkpoints;
  checkpoints.set_sweep_id(sweep.sweep_id);
  RETURN_IF_ERROR(
      ForEachPage(stub, token, timeout_ms, &v1::UserService::StubInterface::GetCheckpoints,
                  checkpoints, [&](const v1::GetCheckpointsResponse& page) {
                    for (const v1::CheckpointRow& row : page.checkpoints()) {
                      const v1::CheckpointPoint& checkpoint = row.checkpoint();
                      if (checkpoint.validation_tokens() <= 0) continue;  // not validated
                      RETURN_IF_ERROR(files.Add(
                          sweep.Of(row.run_id()), checkpoint.step(),
                          {{"validation/loss", checkpoint.validation_loss()},
                           {"validation/bits_per_byte", checkpoint.validation_bits_per_byte()}}));
                    }
                    return absl::OkStatus();
                  }));
  v1::ListEvalsRequest evals;
  evals.set_sweep_id(sweep.sweep_id);
  return ForEachPage(
      stub, token, timeout_ms, &v1::UserService::StubInterface::ListEvals, evals,
      [&](const v1::ListEvalsResponse& page) {
        for (const v1::EvalResult& result : page.rows()) {
          if (!result.text().empty()) continue;  // a figure's path
          RETURN_IF_ERROR(files.Add(
              sweep.Of(result.run_id()), result.checkpoint_step(),
              {{absl::StrCat("eval/", result.task(), "/", result.metric()), result.value()}}));
        }
        return absl::OkStatus();
      });
}

}  // namespace

absl::StatusOr<TensorBoardExportCounts> ExportTensorBoard(v1::UserService::StubInterface& stub,
                                                          const std::string& token,
                                                          const ExportOptions& options,
                                                          const fs::path& dir) {
  if (options.include_superseded) {
    return absl::InvalidArgumentError(
        "--include-superseded: not available with --format tensorboard (a run's curve has one "
        "point per step)");
  }
  if (dir.empty()) {
    return absl::InvalidArgumentError(
        "--output: --format tensorboard writes a folder of event files; name it with --output "
        "DIR");
  }
  std::error_code error;
  if (fs::exists(dir, error) && !fs::is_directory(dir, error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--output ", dir.string(), ": exists and is not a folder"));
  }
  ASSIGN_OR_RETURN(const std::vector<SweepFolders> sweeps, PlanFolders(stub, token, options, dir));
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  RunEventFiles files(
      absl::StrCat("events.out.tfevents.", static_cast<int64_t>(now), ".", LocalHostname()), now);
  for (const SweepFolders& sweep : sweeps) {
    absl::Status written = WriteSweep(stub, token, options.timeout_ms, sweep, files);
    if (!written.ok()) {
      files.Close().IgnoreError();  // the listing's error is the one to report
      return written;
    }
  }
  RETURN_IF_ERROR(files.Close());
  return files.counts();
}

}  // namespace flopwise::client

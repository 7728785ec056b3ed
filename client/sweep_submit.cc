#include "client/sweep_submit.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/utf8.h"
#include "client/eval_jobs.h"
#include "client/format.h"
#include "runspec/architecture.h"

namespace flopwise::client {

namespace v1 = ::flopwise::v1;

absl::StatusOr<v1::SubmitSweepResponse> SubmitSweepFile(const UserConnection& connection,
                                                        const std::string& spec_path, bool dry_run,
                                                        bool allow_unplaceable) {
  std::ifstream in(spec_path);
  if (!in) return absl::NotFoundError(spec_path + ": cannot open");
  std::ostringstream spec;
  spec << in.rdbuf();
  // Checked here: bytes that are not UTF-8 cannot travel in a protobuf string.
  if (absl::Status utf8 = CheckUtf8(spec.str()); !utf8.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(spec_path, ": ", utf8.message()));
  }
  std::error_code error;
  const std::filesystem::path base_dir = std::filesystem::current_path(error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read the working directory (the base of relative paths): ", error.message()));
  }
  v1::SubmitSweepRequest request;
  request.set_spec_yaml(spec.str());
  request.set_dry_run(dry_run);
  request.set_allow_unplaceable(allow_unplaceable);
  request.set_base_dir(base_dir.string());
  return Call(connection, &v1::UserService::Stub::SubmitSweep, request);
}

absl::StatusOr<v1::CancelSweepResponse> CancelSweep(const UserConnection& connection,
                                                    int64_t sweep_id) {
  v1::CancelSweepRequest request;
  request.set_sweep_id(sweep_id);
  return Call(connection, &v1::UserService::Stub::CancelSweep, request);
}

namespace {

// "warning: <run>: needs ...; ...", one line per warning of the coordinator.
std::string Warnings(const v1::SubmitSweepResponse& response) {
  std::string out;
  for (const std::string& warning : response.warnings()) {
    absl::StrAppend(&out, "warning: ", warning, " (it waits for a worker that can hold it)\n");
  }
  return out;
}

}  // namespace

std::string SubmitText(const v1::SubmitSweepResponse& response, bool dry_run) {
  const std::string flops = ShortCount(response.total_estimated_flops());
  if (!dry_run) {
    return absl::StrFormat("submitted sweep %d (%s): %d runs, %s FLOPs\n", response.sweep_id(),
                           response.name(), response.runs_size(), flops) +
           Warnings(response);
  }
  std::string out =
      absl::StrFormat("sweep %s: %d runs (dry run, nothing stored), %s FLOPs in all\n",
                      response.name(), response.runs_size(), flops);
  absl::StrAppendFormat(&out, "%-5s %-36s %-6s %12s %12s %10s %10s\n", "index", "run", "arch",
                        "params(N)", "tokens", "FLOPs", "memory");
  for (const v1::Run& run : response.runs()) {
    absl::StrAppendFormat(&out, "%-5d %-36s %-6s %12s %12s %10s %9.2fG\n", run.index_in_sweep(),
                          run.name(), runspec::ArchName(run.config().model().arch()),
                          ShortCount(static_cast<double>(run.params_non_embedding())),
                          ShortCount(static_cast<double>(run.config().total_tokens())),
                          ShortCount(run.estimated_flops()),
                          static_cast<double>(run.estimated_memory_bytes()) / (1 << 30));
  }
  if (response.runs_size() > 0) {
    absl::StrAppend(&out, DescribeEvaluationPlan(response.runs(0).evaluation()), "\n");
  }
  return out + Warnings(response);
}

std::string CancelText(int64_t sweep_id, const v1::CancelSweepResponse& response) {
  return absl::StrFormat("cancelled sweep %d: %d runs stopped or dequeued\n", sweep_id,
                         response.runs_cancelled());
}

}  // namespace flopwise::client

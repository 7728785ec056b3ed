#include "client/run_retry.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "client/format.h"

namespace flopwise::client {

namespace v1 = ::flopwise::v1;

absl::StatusOr<v1::RetryRunsResponse> RetryRuns(const UserConnection& connection, int64_t sweep_id,
                                                std::span<const int64_t> run_ids) {
  v1::RetryRunsRequest request;
  request.set_sweep_id(sweep_id);
  for (const int64_t run_id : run_ids) request.add_run_ids(run_id);
  return Call(connection, &v1::UserService::Stub::RetryRuns, request);
}

absl::StatusOr<std::vector<int64_t>> ParseRunIds(const std::string& text) {
  std::vector<int64_t> run_ids;
  for (const std::string& item : std::vector<std::string>(absl::StrSplit(text, ','))) {
    int64_t run_id = 0;
    if (!absl::SimpleAtoi(item, &run_id) || run_id <= 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "--runs: \"%s\" is not a run id (a comma-separated list such as 3,4)", item));
    }
    run_ids.push_back(run_id);
  }
  return run_ids;
}

std::string RetryText(const v1::RetryRunsResponse& response) {
  if (response.runs().empty()) {
    return absl::StrFormat("sweep %d: no failed or diverged run to retry\n", response.sweep_id());
  }
  std::string out =
      absl::StrFormat("retried %d run%s of sweep %d%s\n", response.runs_size(),
                      response.runs_size() == 1 ? "" : "s", response.sweep_id(),
                      response.sweep_reopened() ? " (the sweep is active again)" : "");
  for (const v1::Run& run : response.runs()) {
    absl::StrAppendFormat(&out, "run %d %s: %s, attempts %d/%d\n", run.run_id(), run.name(),
                          RunStateName(run.state()), run.attempts(), run.max_attempts());
  }
  return out;
}

}  // namespace flopwise::client

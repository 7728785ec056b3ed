#include "client/run_detail.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/format.h"
#include "runspec/architecture.h"

namespace flopwise::client {

namespace v1 = ::flopwise::v1;

absl::StatusOr<v1::Run> GetRun(const UserConnection& connection, int64_t run_id) {
  v1::GetRunRequest request;
  request.set_run_id(run_id);
  auto response = Call(connection, &v1::UserService::Stub::GetRun, request);
  if (!response.ok()) return response.status();
  return response->run();
}

std::string RunDetailText(const v1::Run& run, int64_t now_ms) {
  std::string out = absl::StrFormat("run %d %s (sweep %d): %s, attempts %d/%d\n", run.run_id(),
                                    run.name(), run.sweep_id(), RunStateName(run.state()),
                                    run.attempts(), run.max_attempts());
  absl::StrAppendFormat(&out, "%s, N %s, tokens %s of %s, step %d, loss %s, worker %s\n",
                        runspec::ArchName(run.config().model().arch()),
                        ShortCount(static_cast<double>(run.params_non_embedding())),
                        ShortCount(static_cast<double>(run.tokens())),
                        ShortCount(static_cast<double>(run.config().total_tokens())), run.step(),
                        LossText(run.loss(), run.tokens()),
                        run.worker_id().empty() ? "-" : run.worker_id());
  if (!run.pending_reason().empty()) absl::StrAppend(&out, "pending: ", run.pending_reason(), "\n");
  for (int rank = 0; rank < run.rank_workers_size(); ++rank) {
    absl::StrAppendFormat(&out, "rank %d of %d on %s\n", rank, run.rank_workers_size(),
                          run.rank_workers(rank));
  }
  if (run.attempt_history().empty()) return out + "no attempt yet\n";
  absl::StrAppendFormat(&out, "%-7s %-24s %-9s %8s %8s %s\n", "attempt", "worker", "outcome",
                        "lasted", "resumed", "reason");
  for (const v1::Attempt& attempt : run.attempt_history()) {
    std::string outcome = v1::AttemptOutcome_Name(attempt.outcome());
    outcome = absl::AsciiStrToLower(outcome.substr(outcome.find_last_of('_') + 1));
    const int64_t end_ms = attempt.ended_ms() > 0 ? attempt.ended_ms() : now_ms;
    const std::string resumed =
        attempt.resumed_from_step() >= 0 ? absl::StrFormat("%d", attempt.resumed_from_step()) : "-";
    absl::StrAppendFormat(&out, "%-7d %-24s %-9s %8s %8s %s\n", attempt.attempt(),
                          attempt.worker_id(), outcome,
                          ShortDuration((end_ms - attempt.started_ms()) / 1000.0), resumed,
                          attempt.reason().empty() ? "-" : attempt.reason());
    if (!attempt.log_path().empty()) {
      absl::StrAppend(&out, "        log ", attempt.worker_hostname(), ":", attempt.log_path(),
                      "\n");
    }
  }
  return out;
}

}  // namespace flopwise::client

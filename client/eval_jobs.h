// Evaluating a finished sweep again and reading its results (`flopwise eval`,
// `flopwise export --what evals`; docs/evaluation.md, "Scheduling").
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/user_connection.h"
#include "flopwise/v1/user_service.grpc.pb.h"

namespace flopwise::client {

// A spec's `evaluation` section for `submit --dry-run`, one line, e.g.
// "evaluation: validation, needle on every 2 checkpoints and the final one
// (priority 0; validation 65536 tokens)"; "evaluation: none" when it has no tasks.
std::string DescribeEvaluationPlan(const ::flopwise::v1::EvaluationSpec& evaluation);

// The request of `flopwise eval --sweep N --tasks a,b [--checkpoints last|all|every K]`,
// with this process's working directory as the base of relative task files.
// InvalidArgument naming the flag for a bad --checkpoints or an empty --tasks.
absl::StatusOr<::flopwise::v1::CreateEvalJobsRequest> MakeCreateEvalJobsRequest(
    int64_t sweep_id, const std::vector<std::string>& tasks,
    const std::vector<std::string>& checkpoints, std::optional<int> priority);

// Creates the jobs; returns their ids.
absl::StatusOr<std::vector<int64_t>> CreateEvalJobs(
    const UserConnection& connection, const ::flopwise::v1::CreateEvalJobsRequest& request);

// The ids of a sweep's eval jobs, in any state (those the spec's
// `evaluation` section created and those of `flopwise eval`).
absl::StatusOr<std::vector<int64_t>> ListEvalJobIds(const UserConnection& connection,
                                                    int64_t sweep_id);

// Polls every `poll_ms` until each job has ended (succeeded, failed or
// superseded) or `max_wait_ms` passed (DeadlineExceeded); returns the jobs.
absl::StatusOr<std::vector<::flopwise::v1::EvalJob>> WaitForEvalJobs(
    const UserConnection& connection, std::span<const int64_t> job_ids, int64_t poll_ms,
    int64_t max_wait_ms);

// The stored results of a sweep (0: every sweep), only of `job_ids` when not empty.
absl::StatusOr<std::vector<::flopwise::v1::EvalResult>> ListEvals(
    ::flopwise::v1::UserService::StubInterface& stub, const std::string& token, int64_t timeout_ms,
    int64_t sweep_id, std::span<const int64_t> job_ids = {});

// One line per job's task: run, step, task and the task's numbers (every
// metric without an index; arrays and figures are in the export), then a line
// per failed job with its error.
std::string EvalTable(std::span<const ::flopwise::v1::EvalJob> jobs,
                      std::span<const ::flopwise::v1::EvalResult> rows);

// `flopwise export --what evals`: one row per (job, task, metric) with its
// sweep, run, arch, run attempt, checkpoint step, value and text, as CSV
// (`format` "csv", with a header) or JSON lines. Returns the rows written.
int64_t WriteEvals(std::span<const ::flopwise::v1::EvalResult> rows, const std::string& format,
                   bool header, std::ostream& out);

}  // namespace flopwise::client

#include "client/eval_jobs.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "client/errors.h"
#include "client/pages.h"

namespace flopwise::client {
namespace {

namespace v1 = ::flopwise::v1;

bool Ended(v1::EvalJobState state) {
  return state == v1::EVAL_JOB_STATE_SUCCEEDED || state == v1::EVAL_JOB_STATE_FAILED ||
         state == v1::EVAL_JOB_STATE_SUPERSEDED;
}

// A metric the table shows: a number of the task as a whole.
bool Headline(const std::string& metric) {
  return metric.find('[') == std::string::npos && metric != "forward_tokens" && metric != "seconds";
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

std::string DescribeEvaluationPlan(const v1::EvaluationSpec& evaluation) {
  if (evaluation.tasks().empty()) return "evaluation: none";
  std::string out = absl::StrCat("evaluation: ", absl::StrJoin(evaluation.tasks(), ", "), " on ");
  const int k = std::max(1, evaluation.every_k());
  if (!evaluation.every_checkpoint()) {
    absl::StrAppend(&out, "the final checkpoint");
  } else if (k == 1) {
    absl::StrAppend(&out, "every checkpoint");
  } else {
    absl::StrAppend(&out, "every ", k, " checkpoints and the final one");
  }
  absl::StrAppend(&out, " (priority ", evaluation.priority());
  if (evaluation.validation_tokens() > 0) {
    absl::StrAppend(&out, "; validation ", evaluation.validation_tokens(), " tokens");
  }
  if (!evaluation.needle_lengths().empty()) {
    absl::StrAppend(&out, "; needle lengths ", absl::StrJoin(evaluation.needle_lengths(), ","));
  }
  if (!evaluation.needle_depths().empty()) {
    absl::StrAppend(&out, "; needle depths ", absl::StrJoin(evaluation.needle_depths(), ","));
  }
  if (evaluation.needle_trials() > 0) {
    absl::StrAppend(&out, "; needle trials ", evaluation.needle_trials());
  }
  if (evaluation.seed() > 0) absl::StrAppend(&out, "; seed ", evaluation.seed());
  return out + ")";
}

absl::StatusOr<v1::CreateEvalJobsRequest> MakeCreateEvalJobsRequest(
    int64_t sweep_id, const std::vector<std::string>& tasks,
    const std::vector<std::string>& checkpoints, std::optional<int> priority) {
  if (tasks.empty()) return absl::InvalidArgumentError("--tasks: required");
  v1::CreateEvalJobsRequest request;
  request.set_sweep_id(sweep_id);
  for (const std::string& task : tasks) request.add_tasks(task);
  // Relative .jsonl task files are relative to this folder, as a submitted
  // spec's are (the coordinator makes them absolute for the workers).
  std::error_code error;
  const std::filesystem::path base_dir = std::filesystem::current_path(error);
  if (!error) request.set_base_dir(base_dir.string());
  if (priority) request.set_priority(*priority);
  const std::string mode = checkpoints.empty() ? "last" : checkpoints[0];
  int every_k = 0;
  if (mode == "last" && checkpoints.size() <= 1) {
    request.set_checkpoints(v1::CreateEvalJobsRequest::CHECKPOINTS_LAST);
  } else if (mode == "all" && checkpoints.size() == 1) {
    request.set_checkpoints(v1::CreateEvalJobsRequest::CHECKPOINTS_ALL);
  } else if (mode == "every" && checkpoints.size() == 2 &&
             absl::SimpleAtoi(checkpoints[1], &every_k) && every_k >= 1) {
    request.set_checkpoints(v1::CreateEvalJobsRequest::CHECKPOINTS_EVERY_K);
    request.set_every_k(every_k);
  } else {
    return absl::InvalidArgumentError(
        "--checkpoints: must be last, all or every K (K a positive integer)");
  }
  return request;
}

absl::StatusOr<std::vector<int64_t>> CreateEvalJobs(const UserConnection& connection,
                                                    const v1::CreateEvalJobsRequest& request) {
  grpc::ClientContext context;
  connection.Prepare(&context);
  v1::CreateEvalJobsResponse response;
  RETURN_IF_ERROR(FromGrpc(connection.stub->CreateEvalJobs(&context, request, &response)));
  return std::vector<int64_t>(response.job_ids().begin(), response.job_ids().end());
}

absl::StatusOr<std::vector<int64_t>> ListEvalJobIds(const UserConnection& connection,
                                                    int64_t sweep_id) {
  v1::ListEvalJobsRequest request;
  request.set_sweep_id(sweep_id);
  std::vector<int64_t> ids;
  RETURN_IF_ERROR(ForEachPage(connection, &v1::UserService::StubInterface::ListEvalJobs, request,
                              [&](const v1::ListEvalJobsResponse& page) {
                                for (const v1::EvalJob& job : page.jobs()) {
                                  ids.push_back(job.job_id());
                                }
                                return absl::OkStatus();
                              }));
  return ids;
}

absl::StatusOr<std::vector<v1::EvalJob>> WaitForEvalJobs(const UserConnection& connection,
                                                         std::span<const int64_t> job_ids,
                                                         int64_t poll_ms, int64_t max_wait_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_wait_ms);
  v1::ListEvalJobsRequest request;
  for (const int64_t id : job_ids) request.add_job_ids(id);
  while (true) {
    std::vector<v1::EvalJob> jobs;
    RETURN_IF_ERROR(ForEachPage(connection, &v1::UserService::StubInterface::ListEvalJobs, request,
                                [&](v1::ListEvalJobsResponse& page) {
                                  for (v1::EvalJob& job : *page.mutable_jobs()) {
                                    jobs.push_back(std::move(job));
                                  }
                                  return absl::OkStatus();
                                }));
    const bool all_ended = std::all_of(jobs.begin(), jobs.end(),
                                       [](const v1::EvalJob& job) { return Ended(job.state()); });
    if (all_ended) return jobs;
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("--wait: eval jobs still running after ", max_wait_ms / 1000, " s"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
}

absl::StatusOr<std::vector<v1::EvalResult>> ListEvals(v1::UserService::StubInterface& stub,
                                                      const std::string& token, int64_t timeout_ms,
                                                      int64_t sweep_id,
                                                      std::span<const int64_t> job_ids) {
  v1::ListEvalsRequest request;
  request.set_sweep_id(sweep_id);
  for (const int64_t id : job_ids) request.add_job_ids(id);
  std::vector<v1::EvalResult> rows;
  RETURN_IF_ERROR(ForEachPage(stub, token, timeout_ms, &v1::UserService::StubInterface::ListEvals,
                              request, [&](v1::ListEvalsResponse& page) {
                                for (v1::EvalResult& row : *page.mutable_rows()) {
                                  rows.push_back(std::move(row));
                                }
                                return absl::OkStatus();
                              }));
  return rows;
}

std::string EvalTable(std::span<const v1::EvalJob> jobs, std::span<const v1::EvalResult> rows) {
  // (run name, step, task) -> "metric value" pairs, in the rows' order.
  std::map<std::tuple<std::string, int64_t, std::string>, std::string> lines;
  for (const v1::EvalResult& row : rows) {
    if (!Headline(row.metric()) || !std::isfinite(row.value())) continue;
    std::string& line = lines[{row.run_name(), row.checkpoint_step(), row.task()}];
    absl::StrAppendFormat(&line, "  %s %.4g", row.metric(), row.value());
  }
  std::string out = absl::StrFormat("%-36s %8s %-20s %s\n", "run", "step", "task", "metrics");
  for (const auto& [key, metrics] : lines) {
    const auto& [run, step, task] = key;
    absl::StrAppendFormat(&out, "%-36s %8d %-20s%s\n", run, step, task, metrics);
  }
  for (const v1::EvalJob& job : jobs) {
    if (job.state() == v1::EVAL_JOB_STATE_SUCCEEDED) continue;
    absl::StrAppendFormat(&out, "eval job %d (%s, step %d): %s%s\n", job.job_id(), job.run_name(),
                          job.checkpoint_step(),
                          job.state() == v1::EVAL_JOB_STATE_FAILED ? "failed" : "superseded",
                          job.error().empty() ? "" : ": " + job.error());
  }
  return out;
}

int64_t WriteEvals(std::span<const v1::EvalResult> rows, const std::string& format, bool header,
                   std::ostream& out) {
  if (format == "csv" && header) {
    out << "sweep,run,run_id,arch,attempt,step,job,task,metric,value,text\n";
  }
  for (const v1::EvalResult& row : rows) {
    if (format == "csv") {
      out << row.sweep_id() << "," << CsvField(row.run_name()) << "," << row.run_id() << ","
          << row.arch() << "," << row.attempt() << "," << row.checkpoint_step() << ","
          << row.job_id() << "," << CsvField(row.task()) << "," << CsvField(row.metric()) << ","
          << (std::isfinite(row.value()) ? absl::StrFormat("%.10g", row.value()) : "") << ","
          << CsvField(row.text()) << "\n";
      continue;
    }
    nlohmann::json j = {{"sweep", row.sweep_id()},
                        {"run", row.run_name()},
                        {"run_id", row.run_id()},
                        {"arch", row.arch()},
                        {"attempt", row.attempt()},
                        {"step", row.checkpoint_step()},
                        {"job", row.job_id()},
                        {"task", row.task()},
                        {"metric", row.metric()},
                        {"value", std::isfinite(row.value()) ? nlohmann::json(row.value())
                                                             : nlohmann::json(nullptr)}};
    if (!row.text().empty()) j["text"] = row.text();
    out << j.dump() << "\n";
  }
  return static_cast<int64_t>(rows.size());
}

}  // namespace flopwise::client

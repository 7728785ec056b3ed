// Store: eval jobs (leased like runs) and their results.
#include <nlohmann/json.hpp>

#include <cmath>
#include <utility>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "db/store.h"
#include "db/store_impl.h"

namespace flopwise::db {

using internal::Connection;
using internal::Statement;

namespace {

constexpr char kEvalJobColumns[] =
    "job_id, run_id, attempt, checkpoint_seq, checkpoint_step, checkpoint_tokens, "
    "checkpoint_path, tasks_json, priority, state, coalesce(lease_id, ''), worker_id, "
    "lease_deadline_ms, attempts, error, created_ms, started_ms, ended_ms";

absl::StatusOr<EvalJobRecord> ReadEvalJob(const Statement& stmt) {
  EvalJobRecord job;
  job.job_id = stmt.ColumnInt64(0);
  job.run_id = stmt.ColumnInt64(1);
  job.attempt = static_cast<int>(stmt.ColumnInt64(2));
  job.checkpoint_seq = stmt.ColumnInt64(3);
  job.checkpoint_step = stmt.ColumnInt64(4);
  job.checkpoint_tokens = stmt.ColumnInt64(5);
  job.checkpoint_path = stmt.ColumnText(6);
  const nlohmann::json tasks = nlohmann::json::parse(stmt.ColumnText(7), nullptr, false);
  if (!tasks.is_array()) {
    return absl::DataLossError(Cat("db: eval job ", job.job_id, ": tasks_json is not a list"));
  }
  for (const nlohmann::json& task : tasks) {
    if (task.is_string()) job.tasks.push_back(task.get<std::string>());
  }
  job.priority = static_cast<int>(stmt.ColumnInt64(8));
  ASSIGN_OR_RETURN(job.state, ParseEvalJobState(stmt.ColumnText(9)));
  job.lease_id = stmt.ColumnText(10);
  job.worker_id = stmt.ColumnText(11);
  job.lease_deadline_ms = stmt.ColumnInt64(12);
  job.attempts = static_cast<int>(stmt.ColumnInt64(13));
  job.error = stmt.ColumnText(14);
  job.created_ms = stmt.ColumnInt64(15);
  job.started_ms = stmt.ColumnInt64(16);
  job.ended_ms = stmt.ColumnInt64(17);
  return job;
}

// The running job that holds `lease_id`: NotFound for a lease no job ever
// held, FailedPrecondition when the lease is not running any more.
absl::StatusOr<EvalJobRecord> RunningJobOn(Connection& conn, std::string_view lease_id,
                                           std::string_view what) {
  ASSIGN_OR_RETURN(Statement stmt,
                   internal::FindRowOn(
                       conn, Cat("SELECT ", kEvalJobColumns, " FROM eval_jobs WHERE lease_id = ?1"),
                       lease_id, what, Cat("no eval lease \"", lease_id, "\"")));
  ASSIGN_OR_RETURN(EvalJobRecord job, ReadEvalJob(stmt));
  if (job.state != EvalJobState::kRunning) {
    return absl::FailedPreconditionError(Cat("db: ", what, ": eval job ", job.job_id, " is ",
                                             EvalJobStateName(job.state), ", its lease has ended"));
  }
  return job;
}

}  // namespace

absl::StatusOr<int64_t> internal::InsertEvalJobOn(Connection& conn, const NewEvalJob& job,
                                                  std::string_view what) {
  if (job.spec.tasks.empty())
    return absl::InvalidArgumentError(Cat("db: ", what, ": tasks: is empty"));
  ASSIGN_OR_RETURN(
      Statement stmt,
      conn.Prepare("INSERT INTO eval_jobs (run_id, attempt, checkpoint_seq, checkpoint_step, "
                   "checkpoint_tokens, checkpoint_path, tasks_json, priority, state, created_ms) "
                   "SELECT run_id, attempt, seq, step, tokens, path, ?4, ?5, 'pending', ?6 "
                   "FROM checkpoints WHERE run_id = ?1 AND attempt = ?2 AND seq = ?3",
                   what));
  stmt.BindInt64(1, job.run_id);
  stmt.BindInt64(2, job.attempt);
  stmt.BindInt64(3, job.checkpoint_seq);
  stmt.BindText(4, nlohmann::json(job.spec.tasks).dump());
  stmt.BindInt64(5, job.spec.priority);
  stmt.BindInt64(6, job.spec.created_ms);
  RETURN_IF_ERROR(stmt.Run());
  if (conn.changes() == 0) {
    return absl::NotFoundError(Cat("db: ", what, ": run ", job.run_id,
                                   " has no checkpoint (attempt ", job.attempt, ", seq ",
                                   job.checkpoint_seq, ")"));
  }
  return conn.QueryInt64("SELECT last_insert_rowid()", what);
}

absl::StatusOr<std::vector<int64_t>> Store::CreateEvalJobs(std::span<const NewEvalJob> jobs) {
  constexpr std::string_view kWhat = "CreateEvalJobs";
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].spec.tasks.empty()) {
      return absl::InvalidArgumentError(Cat("db: CreateEvalJobs: jobs[", i, "].tasks: is empty"));
    }
  }
  return impl_->Write(kWhat, [&](Connection& conn) -> absl::StatusOr<std::vector<int64_t>> {
    std::vector<int64_t> ids;
    for (const NewEvalJob& job : jobs) {
      ASSIGN_OR_RETURN(const int64_t id, internal::InsertEvalJobOn(conn, job, kWhat));
      ids.push_back(id);
    }
    return ids;
  });
}

absl::StatusOr<EvalJobRecord> Store::BeginEvalJob(int64_t job_id, std::string_view worker_id,
                                                  std::string_view lease_id,
                                                  int64_t lease_deadline_ms, int64_t now_ms) {
  constexpr std::string_view kWhat = "BeginEvalJob";
  if (lease_id.empty()) return absl::InvalidArgumentError("db: BeginEvalJob: lease_id: is empty");
  return impl_->Write(kWhat, [&](Connection& conn) -> absl::StatusOr<EvalJobRecord> {
    {
      ASSIGN_OR_RETURN(
          Statement stmt,
          internal::FindRowOn(
              conn, "SELECT state, coalesce(lease_id, '') FROM eval_jobs WHERE job_id = ?1", job_id,
              kWhat, Cat("no eval job ", job_id)));
      if (stmt.ColumnText(1) == lease_id) {
        return absl::AlreadyExistsError(
            Cat("db: BeginEvalJob: lease_id \"", lease_id, "\" is already used"));
      }
      const std::string state = stmt.ColumnText(0);
      if (state != EvalJobStateName(EvalJobState::kPending)) {
        return absl::FailedPreconditionError(
            Cat("db: BeginEvalJob: eval job ", job_id, " is ", state, ", not pending"));
      }
    }
    ASSIGN_OR_RETURN(
        Statement update,
        conn.Prepare("UPDATE eval_jobs SET state = 'running', lease_id = ?2, worker_id = ?3, "
                     "lease_deadline_ms = ?4, attempts = attempts + 1, started_ms = ?5 "
                     "WHERE job_id = ?1",
                     kWhat));
    update.BindInt64(1, job_id);
    update.BindText(2, lease_id);
    update.BindText(3, worker_id);
    update.BindInt64(4, lease_deadline_ms);
    update.BindInt64(5, now_ms);
    absl::Status status = update.Run();
    if (absl::IsAlreadyExists(status)) {
      return absl::AlreadyExistsError(
          Cat("db: BeginEvalJob: lease_id \"", lease_id, "\" is already used"));
    }
    RETURN_IF_ERROR(status);
    return RunningJobOn(conn, lease_id, kWhat);
  });
}

absl::Status Store::EndEvalJob(std::string_view lease_id, EvalJobState state,
                               std::string_view error, int64_t now_ms) {
  constexpr std::string_view kWhat = "EndEvalJob";
  if (state == EvalJobState::kRunning || state == EvalJobState::kSuperseded) {
    return absl::InvalidArgumentError(
        "db: EndEvalJob: state: must be pending, succeeded or failed");
  }
  return impl_->Write(kWhat, [&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(const EvalJobRecord job, RunningJobOn(conn, lease_id, kWhat));
    ASSIGN_OR_RETURN(Statement stmt,
                     conn.Prepare("UPDATE eval_jobs SET state = ?2, error = ?3, ended_ms = ?4 "
                                  "WHERE job_id = ?1",
                                  kWhat));
    stmt.BindInt64(1, job.job_id);
    stmt.BindText(2, EvalJobStateName(state));
    stmt.BindText(3, error);
    stmt.BindInt64(4, state == EvalJobState::kPending ? 0 : now_ms);
    return stmt.Run();
  });
}

absl::StatusOr<int> Store::RecordEvals(std::string_view lease_id, std::span<const EvalRow> rows,
                                       int64_t now_ms) {
  constexpr std::string_view kWhat = "RecordEvals";
  for (size_t i = 0; i < rows.size(); ++i) {
    const char* field = rows[i].task.empty() ? "task" : rows[i].metric.empty() ? "metric" : nullptr;
    if (field != nullptr) {
      return absl::InvalidArgumentError(
          Cat("db: RecordEvals: rows[", i, "].", field, ": is empty"));
    }
  }
  return impl_->Write(kWhat, [&](Connection& conn) -> absl::StatusOr<int> {
    ASSIGN_OR_RETURN(const EvalJobRecord job, RunningJobOn(conn, lease_id, kWhat));
    ASSIGN_OR_RETURN(
        Statement insert,
        conn.Prepare("INSERT INTO evals (job_id, task, metric, value, text, job_attempt, run_id, "
                     "attempt, checkpoint_seq, checkpoint_step, created_ms) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT DO NOTHING",
                     kWhat));
    int inserted = 0;
    for (const EvalRow& row : rows) {
      insert.BindInt64(1, job.job_id);
      insert.BindText(2, row.task);
      insert.BindText(3, row.metric);
      insert.BindDouble(4, row.value);
      insert.BindText(5, row.text);
      insert.BindInt64(6, job.attempts);
      insert.BindInt64(7, job.run_id);
      insert.BindInt64(8, job.attempt);
      insert.BindInt64(9, job.checkpoint_seq);
      insert.BindInt64(10, job.checkpoint_step);
      insert.BindInt64(11, now_ms);
      RETURN_IF_ERROR(insert.Run());
      inserted += static_cast<int>(conn.changes());
    }
    return inserted;
  });
}

absl::StatusOr<EvalJobRecord> Store::GetEvalJob(int64_t job_id) {
  return impl_->Read("GetEvalJob", [&](Connection& conn) -> absl::StatusOr<EvalJobRecord> {
    ASSIGN_OR_RETURN(Statement stmt,
                     internal::FindRowOn(
                         conn, Cat("SELECT ", kEvalJobColumns, " FROM eval_jobs WHERE job_id = ?1"),
                         job_id, "GetEvalJob", Cat("no eval job ", job_id)));
    return ReadEvalJob(stmt);
  });
}

absl::StatusOr<EvalJobRecord> Store::FindEvalLease(std::string_view lease_id) {
  return impl_->Read("FindEvalLease", [&](Connection& conn) -> absl::StatusOr<EvalJobRecord> {
    ASSIGN_OR_RETURN(
        Statement stmt,
        internal::FindRowOn(conn,
                            Cat("SELECT ", kEvalJobColumns, " FROM eval_jobs WHERE lease_id = ?1"),
                            lease_id, "FindEvalLease", Cat("no eval lease \"", lease_id, "\"")));
    return ReadEvalJob(stmt);
  });
}

absl::StatusOr<std::vector<EvalJobRecord>> Store::ListEvalJobs(const EvalJobFilter& filter) {
  std::string sql = Cat("SELECT ", kEvalJobColumns, " FROM eval_jobs WHERE 1");
  if (filter.run_id) absl::StrAppend(&sql, " AND run_id = ?1");
  if (filter.sweep_id) {
    absl::StrAppend(&sql, " AND run_id IN (SELECT run_id FROM runs WHERE sweep_id = ?2)");
  }
  if (filter.state) absl::StrAppend(&sql, " AND state = ?3");
  absl::StrAppend(&sql, internal::IdsInClause("job_id", filter.job_ids));
  if (filter.after_job_id) absl::StrAppend(&sql, " AND job_id > ?4");
  absl::StrAppend(&sql, " ORDER BY job_id", internal::LimitClause(filter.limit));
  return impl_->Read("ListEvalJobs",
                     [&](Connection& conn) -> absl::StatusOr<std::vector<EvalJobRecord>> {
                       ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql, "ListEvalJobs"));
                       if (filter.run_id) stmt.BindInt64(1, *filter.run_id);
                       if (filter.sweep_id) stmt.BindInt64(2, *filter.sweep_id);
                       if (filter.state) stmt.BindText(3, EvalJobStateName(*filter.state));
                       if (filter.after_job_id) stmt.BindInt64(4, *filter.after_job_id);
                       return internal::ReadRows(stmt, ReadEvalJob);
                     });
}

absl::StatusOr<std::vector<EvalRecord>> Store::ListEvals(const EvalFilter& filter) {
  std::string sql =
      "SELECT job_id, job_attempt, run_id, attempt, checkpoint_seq, checkpoint_step, task, "
      "metric, value, text, superseded, created_ms FROM evals WHERE 1";
  if (!filter.include_superseded) absl::StrAppend(&sql, " AND superseded = 0");
  if (filter.run_id) absl::StrAppend(&sql, " AND run_id = ?1");
  if (filter.sweep_id) {
    absl::StrAppend(&sql, " AND run_id IN (SELECT run_id FROM runs WHERE sweep_id = ?2)");
  }
  if (filter.task) absl::StrAppend(&sql, " AND task = ?3");
  absl::StrAppend(&sql, internal::IdsInClause("job_id", filter.job_ids));
  if (filter.after) {
    absl::StrAppend(&sql,
                    " AND (run_id, checkpoint_step, job_id, task, metric) > (?4, ?5, ?6, ?7, ?8)");
  }
  absl::StrAppend(&sql, " ORDER BY run_id, checkpoint_step, job_id, task, metric",
                  internal::LimitClause(filter.limit));
  return impl_->Read("ListEvals", [&](Connection& conn) -> absl::StatusOr<std::vector<EvalRecord>> {
    ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql, "ListEvals"));
    if (filter.run_id) stmt.BindInt64(1, *filter.run_id);
    if (filter.sweep_id) stmt.BindInt64(2, *filter.sweep_id);
    if (filter.task) stmt.BindText(3, *filter.task);
    if (filter.after) {
      stmt.BindInt64(4, filter.after->run_id);
      stmt.BindInt64(5, filter.after->checkpoint_step);
      stmt.BindInt64(6, filter.after->job_id);
      stmt.BindText(7, filter.after->task);
      stmt.BindText(8, filter.after->metric);
    }
    std::vector<EvalRecord> evals;
    while (true) {
      ASSIGN_OR_RETURN(const bool row, stmt.Step());
      if (!row) break;
      EvalRecord eval;
      eval.job_id = stmt.ColumnInt64(0);
      eval.job_attempt = static_cast<int>(stmt.ColumnInt64(1));
      eval.run_id = stmt.ColumnInt64(2);
      eval.attempt = static_cast<int>(stmt.ColumnInt64(3));
      eval.checkpoint_seq = stmt.ColumnInt64(4);
      eval.checkpoint_step = stmt.ColumnInt64(5);
      eval.row.task = stmt.ColumnText(6);
      eval.row.metric = stmt.ColumnText(7);
      eval.row.value = stmt.ColumnDouble(8);
      eval.row.text = stmt.ColumnText(9);
      eval.superseded = stmt.ColumnInt64(10) != 0;
      eval.created_ms = stmt.ColumnInt64(11);
      evals.push_back(std::move(eval));
    }
    return evals;
  });
}

}  // namespace flopwise::db

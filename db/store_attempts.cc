// Store: attempts (leases) and workers.
#include <utility>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "db/store.h"
#include "db/store_impl.h"

namespace flopwise::db {

using internal::Connection;
using internal::Statement;

namespace {

constexpr char kAttemptColumns[] =
    "run_id, attempt, worker_id, lease_id, lease_deadline_ms, resumed_from_step, state, reason, "
    "started_ms, ended_ms, log_path";

absl::StatusOr<AttemptRecord> ReadAttempt(const Statement& stmt) {
  AttemptRecord attempt;
  attempt.run_id = stmt.ColumnInt64(0);
  attempt.attempt = static_cast<int>(stmt.ColumnInt64(1));
  attempt.worker_id = stmt.ColumnText(2);
  attempt.lease_id = stmt.ColumnText(3);
  attempt.lease_deadline_ms = stmt.ColumnInt64(4);
  attempt.resumed_from_step = stmt.ColumnInt64(5);
  ASSIGN_OR_RETURN(attempt.state, ParseAttemptState(stmt.ColumnText(6)));
  attempt.reason = stmt.ColumnText(7);
  attempt.started_ms = stmt.ColumnInt64(8);
  attempt.ended_ms = stmt.ColumnInt64(9);
  attempt.log_path = stmt.ColumnText(10);
  return attempt;
}

absl::StatusOr<AttemptRecord> SelectAttempt(Connection& conn, int64_t run_id, int attempt,
                                            std::string_view what) {
  ASSIGN_OR_RETURN(Statement stmt,
                   conn.Prepare(Cat("SELECT ", kAttemptColumns,
                                    " FROM attempts WHERE run_id = ?1 AND attempt = ?2"),
                                what));
  stmt.BindInt64(1, run_id);
  stmt.BindInt64(2, attempt);
  ASSIGN_OR_RETURN(const bool found, stmt.Step());
  if (!found) {
    return absl::NotFoundError(Cat("db: ", what, ": run ", run_id, " has no attempt ", attempt));
  }
  return ReadAttempt(stmt);
}

}  // namespace

absl::StatusOr<std::vector<AttemptReason>> internal::AttemptReasonsOn(Connection& conn,
                                                                      int64_t run_id,
                                                                      std::string_view what) {
  ASSIGN_OR_RETURN(Statement stmt,
                   conn.Prepare("SELECT attempt, state, reason FROM attempts WHERE run_id = ?1 "
                                "AND state != 'active' AND reason != '' ORDER BY attempt",
                                what));
  stmt.BindInt64(1, run_id);
  std::vector<AttemptReason> reasons;
  while (true) {
    ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) break;
    AttemptReason reason;
    reason.attempt = static_cast<int>(stmt.ColumnInt64(0));
    ASSIGN_OR_RETURN(reason.outcome, ParseAttemptState(stmt.ColumnText(1)));
    reason.reason = stmt.ColumnText(2);
    reasons.push_back(std::move(reason));
  }
  return reasons;
}

// ---- Attempts -------------------------------------------------------------------

absl::StatusOr<AttemptRecord> Store::BeginAttempt(const NewAttempt& attempt) {
  if (attempt.worker_id.empty()) {
    return absl::InvalidArgumentError("db: BeginAttempt: worker_id: is empty");
  }
  if (attempt.lease_id.empty()) {
    return absl::InvalidArgumentError("db: BeginAttempt: lease_id: is empty");
  }
  if (attempt.resumed_from_step < -1) {
    return absl::InvalidArgumentError("db: BeginAttempt: resumed_from_step: must be >= -1");
  }
  constexpr std::string_view kWhat = "BeginAttempt";
  return impl_->Write(kWhat, [&](Connection& conn) -> absl::StatusOr<AttemptRecord> {
    int attempts = 0;
    {
      ASSIGN_OR_RETURN(
          Statement stmt,
          internal::FindRowOn(conn,
                              "SELECT state, attempts, max_attempts, (SELECT count(*) FROM "
                              "attempts WHERE run_id = ?1 AND state = 'stopped') FROM runs "
                              "WHERE run_id = ?1",
                              attempt.run_id, kWhat, Cat("no run ", attempt.run_id)));
      const std::string state = stmt.ColumnText(0);
      attempts = static_cast<int>(stmt.ColumnInt64(1));
      const int max_attempts = static_cast<int>(stmt.ColumnInt64(2));
      const int released = static_cast<int>(stmt.ColumnInt64(3));
      if (state != RunStateName(RunState::kPending)) {
        return absl::FailedPreconditionError(
            Cat("db: BeginAttempt: run ", attempt.run_id, " is ", state, ", not pending"));
      }
      if (attempts - released >= max_attempts) {
        return absl::FailedPreconditionError(Cat("db: BeginAttempt: run ", attempt.run_id,
                                                 " has used all ", max_attempts, " attempts"));
      }
    }
    RETURN_IF_ERROR(internal::FindRowOn(conn, "SELECT 1 FROM workers WHERE worker_id = ?1",
                                        attempt.worker_id, kWhat,
                                        Cat("no worker \"", attempt.worker_id, "\""))
                        .status());
    AttemptRecord record;
    record.run_id = attempt.run_id;
    record.attempt = attempts + 1;
    record.worker_id = attempt.worker_id;
    record.lease_id = attempt.lease_id;
    record.lease_deadline_ms = attempt.lease_deadline_ms;
    record.resumed_from_step = attempt.resumed_from_step;
    record.state = AttemptState::kActive;
    record.started_ms = attempt.started_ms;
    {
      ASSIGN_OR_RETURN(Statement stmt,
                       conn.Prepare("INSERT INTO attempts (run_id, attempt, worker_id, lease_id, "
                                    "lease_deadline_ms, resumed_from_step, state, started_ms) "
                                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7)",
                                    kWhat));
      stmt.BindInt64(1, record.run_id);
      stmt.BindInt64(2, record.attempt);
      stmt.BindText(3, record.worker_id);
      stmt.BindText(4, record.lease_id);
      stmt.BindInt64(5, record.lease_deadline_ms);
      stmt.BindInt64(6, record.resumed_from_step);
      stmt.BindInt64(7, record.started_ms);
      absl::Status status = stmt.Run();
      if (absl::IsAlreadyExists(status)) {
        return absl::AlreadyExistsError(
            Cat("db: BeginAttempt: lease_id \"", record.lease_id, "\" is already used"));
      }
      RETURN_IF_ERROR(status);
    }
    ASSIGN_OR_RETURN(Statement stmt,
                     conn.Prepare("UPDATE runs SET state = 'running', attempts = ?2 "
                                  "WHERE run_id = ?1",
                                  kWhat));
    stmt.BindInt64(1, record.run_id);
    stmt.BindInt64(2, record.attempt);
    RETURN_IF_ERROR(stmt.Run());
    return record;
  });
}

absl::Status Store::StoreLiveness(std::span<const LeaseDeadline> leases,
                                  std::span<const WorkerHeartbeat> workers) {
  if (leases.empty() && workers.empty()) return absl::OkStatus();
  constexpr std::string_view kWhat = "StoreLiveness";
  return impl_->Write(kWhat, [&](Connection& conn) -> absl::Status {
    if (!leases.empty()) {
      ASSIGN_OR_RETURN(Statement stmt, conn.Prepare("UPDATE attempts SET lease_deadline_ms = ?2 "
                                                    "WHERE lease_id = ?1 AND state = 'active'",
                                                    kWhat));
      ASSIGN_OR_RETURN(Statement eval_stmt,
                       conn.Prepare("UPDATE eval_jobs SET lease_deadline_ms = ?2 "
                                    "WHERE lease_id = ?1 AND state = 'running'",
                                    kWhat));
      for (const LeaseDeadline& lease : leases) {
        for (Statement* update : {&stmt, &eval_stmt}) {
          update->BindText(1, lease.lease_id);
          update->BindInt64(2, lease.lease_deadline_ms);
          RETURN_IF_ERROR(update->Run());
        }
      }
    }
    if (!workers.empty()) {
      ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare("UPDATE workers SET last_heartbeat_ms = ?2 WHERE worker_id = ?1", kWhat));
      for (const WorkerHeartbeat& worker : workers) {
        stmt.BindText(1, worker.worker_id);
        stmt.BindInt64(2, worker.heartbeat_ms);
        RETURN_IF_ERROR(stmt.Run());
      }
    }
    return absl::OkStatus();
  });
}

absl::Status Store::EndAttempt(int64_t run_id, int attempt, AttemptState outcome,
                               std::string_view reason, int64_t ended_ms, RunState run_state) {
  if (outcome == AttemptState::kActive) {
    return absl::InvalidArgumentError("db: EndAttempt: outcome: must not be active");
  }
  if (run_state == RunState::kRunning) {
    return absl::InvalidArgumentError(
        "db: EndAttempt: run_state: must not be running (the attempt ends)");
  }
  constexpr std::string_view kWhat = "EndAttempt";
  return impl_->Write(kWhat, [&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(const AttemptRecord current, SelectAttempt(conn, run_id, attempt, kWhat));
    if (current.state != AttemptState::kActive) {
      return absl::FailedPreconditionError(Cat("db: EndAttempt: attempt ", attempt, " of run ",
                                               run_id, " has already ended (",
                                               AttemptStateName(current.state), ")"));
    }
    {
      ASSIGN_OR_RETURN(Statement stmt,
                       conn.Prepare("UPDATE attempts SET state = ?3, reason = ?4, ended_ms = ?5 "
                                    "WHERE run_id = ?1 AND attempt = ?2",
                                    kWhat));
      stmt.BindInt64(1, run_id);
      stmt.BindInt64(2, attempt);
      stmt.BindText(3, AttemptStateName(outcome));
      stmt.BindText(4, reason);
      stmt.BindInt64(5, ended_ms);
      RETURN_IF_ERROR(stmt.Run());
    }
    ASSIGN_OR_RETURN(Statement stmt,
                     conn.Prepare("UPDATE runs SET state = ?2 WHERE run_id = ?1", kWhat));
    stmt.BindInt64(1, run_id);
    stmt.BindText(2, RunStateName(run_state));
    return stmt.Run();
  });
}

absl::Status Store::SetAttemptLogPath(int64_t run_id, int attempt, std::string_view log_path) {
  if (log_path.empty())
    return absl::InvalidArgumentError("db: SetAttemptLogPath: log_path: is empty");
  constexpr std::string_view kWhat = "SetAttemptLogPath";
  return impl_->Write(kWhat, [&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(Statement stmt, conn.Prepare("UPDATE attempts SET log_path = ?3 "
                                                  "WHERE run_id = ?1 AND attempt = ?2",
                                                  kWhat));
    stmt.BindInt64(1, run_id);
    stmt.BindInt64(2, attempt);
    stmt.BindText(3, log_path);
    RETURN_IF_ERROR(stmt.Run());
    if (conn.changes() == 0) {
      return absl::NotFoundError(
          Cat("db: SetAttemptLogPath: run ", run_id, " has no attempt ", attempt));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<AttemptRecord> Store::FindLease(std::string_view lease_id) {
  return impl_->Read("FindLease", [&](Connection& conn) -> absl::StatusOr<AttemptRecord> {
    ASSIGN_OR_RETURN(
        Statement stmt,
        internal::FindRowOn(conn,
                            Cat("SELECT ", kAttemptColumns, " FROM attempts WHERE lease_id = ?1"),
                            lease_id, "FindLease", Cat("no lease \"", lease_id, "\"")));
    return ReadAttempt(stmt);
  });
}

absl::StatusOr<std::vector<AttemptRecord>> Store::ListAttempts(const AttemptFilter& filter) {
  std::string sql = Cat("SELECT ", kAttemptColumns, " FROM attempts WHERE 1");
  if (filter.run_id) absl::StrAppend(&sql, " AND run_id = ?1");
  if (filter.worker_id) absl::StrAppend(&sql, " AND worker_id = ?2");
  if (filter.active_only) absl::StrAppend(&sql, " AND state = 'active'");
  absl::StrAppend(&sql, " ORDER BY run_id, attempt");
  return impl_->Read("ListAttempts",
                     [&](Connection& conn) -> absl::StatusOr<std::vector<AttemptRecord>> {
                       ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql, "ListAttempts"));
                       if (filter.run_id) stmt.BindInt64(1, *filter.run_id);
                       if (filter.worker_id) stmt.BindText(2, *filter.worker_id);
                       return internal::ReadRows(stmt, ReadAttempt);
                     });
}

// ---- Workers --------------------------------------------------------------------

namespace {

constexpr char kWorkerColumns[] =
    "worker_id, hostname, inventory_json, registered_ms, last_heartbeat_ms, draining";

WorkerRecord ReadWorker(const Statement& stmt) {
  WorkerRecord worker;
  worker.worker_id = stmt.ColumnText(0);
  worker.hostname = stmt.ColumnText(1);
  worker.inventory_json = stmt.ColumnText(2);
  worker.registered_ms = stmt.ColumnInt64(3);
  worker.last_heartbeat_ms = stmt.ColumnInt64(4);
  worker.draining = stmt.ColumnInt64(5) != 0;
  return worker;
}

}  // namespace

absl::Status Store::UpsertWorker(const WorkerRecord& worker) {
  if (worker.worker_id.empty()) {
    return absl::InvalidArgumentError("db: UpsertWorker: worker_id: is empty");
  }
  return impl_->Write("UpsertWorker", [&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("INSERT INTO workers (worker_id, hostname, inventory_json, registered_ms, "
                     "last_heartbeat_ms, draining) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                     "ON CONFLICT (worker_id) DO UPDATE SET hostname = excluded.hostname, "
                     "inventory_json = excluded.inventory_json, "
                     "last_heartbeat_ms = excluded.last_heartbeat_ms, "
                     "draining = excluded.draining",
                     "UpsertWorker"));
    stmt.BindText(1, worker.worker_id);
    stmt.BindText(2, worker.hostname);
    stmt.BindText(3, worker.inventory_json);
    stmt.BindInt64(4, worker.registered_ms);
    stmt.BindInt64(5, worker.last_heartbeat_ms);
    stmt.BindInt64(6, worker.draining ? 1 : 0);
    return stmt.Run();
  });
}

absl::Status Store::SetWorkerDraining(std::string_view worker_id, bool draining) {
  return impl_->Write("SetWorkerDraining", [&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("UPDATE workers SET draining = ?2 WHERE worker_id = ?1", "SetWorkerDraining"));
    stmt.BindText(1, worker_id);
    stmt.BindInt64(2, draining ? 1 : 0);
    RETURN_IF_ERROR(stmt.Run());
    if (conn.changes() == 0) {
      return absl::NotFoundError(Cat("db: SetWorkerDraining: no worker \"", worker_id, "\""));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<WorkerRecord> Store::GetWorker(std::string_view worker_id) {
  return impl_->Read("GetWorker", [&](Connection& conn) -> absl::StatusOr<WorkerRecord> {
    ASSIGN_OR_RETURN(Statement stmt,
                     internal::FindRowOn(
                         conn, Cat("SELECT ", kWorkerColumns, " FROM workers WHERE worker_id = ?1"),
                         worker_id, "GetWorker", Cat("no worker \"", worker_id, "\"")));
    return ReadWorker(stmt);
  });
}

absl::StatusOr<std::vector<WorkerRecord>> Store::ListWorkers(const WorkerFilter& filter) {
  std::string sql = Cat("SELECT ", kWorkerColumns, " FROM workers WHERE 1");
  if (filter.after_worker_id) absl::StrAppend(&sql, " AND worker_id > ?1");
  absl::StrAppend(&sql, " ORDER BY worker_id", internal::LimitClause(filter.limit));
  return impl_->Read("ListWorkers",
                     [&](Connection& conn) -> absl::StatusOr<std::vector<WorkerRecord>> {
                       ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql, "ListWorkers"));
                       if (filter.after_worker_id) stmt.BindText(1, *filter.after_worker_id);
                       std::vector<WorkerRecord> workers;
                       while (true) {
                         ASSIGN_OR_RETURN(const bool row, stmt.Step());
                         if (!row) break;
                         workers.push_back(ReadWorker(stmt));
                       }
                       return workers;
                     });
}

}  // namespace flopwise::db

// Store: opening, migrations, the read pool, sweeps, runs and backup.
#include "db/store.h"

#include <set>
#include <type_traits>
#include <utility>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "db/migrations.h"
#include "db/store_impl.h"
#include "db/wal_checkpointer.h"

namespace flopwise::db {

using internal::Connection;
using internal::Statement;

// ---- Opening and the read pool ---------------------------------------------------

namespace {

// WAL frames (pages) after which a checkpoint is run: SQLite's default.
constexpr int kCheckpointFrames = 1000;

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                                   const StoreOptions& options) {
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) {
    return absl::InvalidArgumentError(
        Cat("db: open: path: must name a database file, got \"", path, "\""));
  }
  if (options.busy_timeout_ms < 0) {
    return absl::InvalidArgumentError("db: open: busy_timeout_ms: must be >= 0");
  }
  if (options.max_size_bytes < 0) {
    return absl::InvalidArgumentError("db: open: max_size_bytes: must be >= 0");
  }
  if (options.max_read_connections < 1) {
    return absl::InvalidArgumentError("db: open: max_read_connections: must be >= 1");
  }
  const std::string what = Cat("open ", path);
  ASSIGN_OR_RETURN(
      std::unique_ptr<Connection> writer,
      Connection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options.busy_timeout_ms));
  if (writer->read_only()) {
    return absl::FailedPreconditionError(
        Cat("db: ", what, ": database is read-only (the coordinator needs write access)"));
  }
  // The first statement reads the header, so a file that is not a database
  // fails here with DataLoss.
  ASSIGN_OR_RETURN(const std::string mode, writer->QueryText("PRAGMA journal_mode = WAL", what));
  if (mode != "wal") {
    return absl::FailedPreconditionError(
        Cat("db: ", what, ": cannot switch to WAL mode (journal_mode is ", mode, ")"));
  }
  RETURN_IF_ERROR(writer->Exec("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", what));
  // A damaged page is found here, at start, rather than by whichever later
  // call happens to read it. quick_check reads every page (without the index
  // cross-checks of integrity_check), a second or so per GB.
  ASSIGN_OR_RETURN(const std::string check, writer->QueryText("PRAGMA quick_check(1)", what));
  if (check != "ok") {
    return absl::DataLossError(Cat("db: ", what, ": database file is corrupt (quick_check: ", check,
                                   "); restore it from a backup"));
  }
  RETURN_IF_ERROR(internal::Migrate(*writer, internal::SchemaMigrations(), what));
  if (options.max_size_bytes > 0) {
    ASSIGN_OR_RETURN(const int64_t page_size, writer->QueryInt64("PRAGMA page_size", what));
    const int64_t max_pages = (options.max_size_bytes + page_size - 1) / page_size;
    ASSIGN_OR_RETURN(const int64_t applied,
                     writer->QueryInt64(Cat("PRAGMA max_page_count = ", max_pages), what));
    if (applied > max_pages) {
      return absl::ResourceExhaustedError(Cat("db: ", what,
                                              ": database is already larger than max_size_bytes (",
                                              options.max_size_bytes, ")"));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<internal::WalCheckpointer> checkpointer,
                   internal::WalCheckpointer::Start(path, writer.get(), kCheckpointFrames));
  auto impl = std::make_unique<Impl>(path, options, std::move(writer), std::move(checkpointer));
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Connection>> Store::Impl::AcquireReader() {
  {
    absl::MutexLock lock(&pool_mu_);
    while (idle_readers_.empty() && open_readers_ >= options_.max_read_connections) {
      pool_cv_.Wait(&pool_mu_);
    }
    if (!idle_readers_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return conn;
    }
    ++open_readers_;
  }
  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Connection::Open(path_, SQLITE_OPEN_READWRITE, options_.busy_timeout_ms);
  if (conn.ok()) {
    absl::Status status = (*conn)->Exec("PRAGMA query_only = ON", "open reader");
    if (!status.ok()) conn = status;
  }
  if (!conn.ok()) {
    absl::MutexLock lock(&pool_mu_);
    --open_readers_;
    pool_cv_.Signal();
  }
  return conn;
}

void Store::Impl::ReleaseReader(std::unique_ptr<Connection> conn) {
  absl::MutexLock lock(&pool_mu_);
  idle_readers_.push_back(std::move(conn));
  pool_cv_.Signal();
}

// ---- Sweeps ---------------------------------------------------------------------

namespace {

constexpr char kSweepColumns[] = "sweep_id, name, spec_yaml, priority, state, created_ms";

absl::StatusOr<SweepRecord> ReadSweep(const Statement& stmt) {
  SweepRecord sweep;
  sweep.sweep_id = stmt.ColumnInt64(0);
  sweep.name = stmt.ColumnText(1);
  sweep.spec_yaml = stmt.ColumnText(2);
  sweep.priority = static_cast<int>(stmt.ColumnInt64(3));
  ASSIGN_OR_RETURN(sweep.state, ParseSweepState(stmt.ColumnText(4)));
  sweep.created_ms = stmt.ColumnInt64(5);
  return sweep;
}

absl::Status ValidateRuns(std::span<const NewRun> runs) {
  std::set<int> indexes;
  for (size_t i = 0; i < runs.size(); ++i) {
    const NewRun& run = runs[i];
    const std::string field = Cat("db: CreateSweep: runs[", i, "].");
    if (run.index_in_sweep < 0) {
      return absl::InvalidArgumentError(Cat(field, "index_in_sweep: must be >= 0"));
    }
    if (!indexes.insert(run.index_in_sweep).second) {
      return absl::InvalidArgumentError(
          Cat(field, "index_in_sweep: ", run.index_in_sweep, " is used by an earlier run"));
    }
    if (run.arch.empty()) return absl::InvalidArgumentError(Cat(field, "arch: is empty"));
    if (run.name.empty()) return absl::InvalidArgumentError(Cat(field, "name: is empty"));
    if (run.token_budget <= 0) {
      return absl::InvalidArgumentError(Cat(field, "token_budget: must be > 0"));
    }
    if (run.max_attempts < 1) {
      return absl::InvalidArgumentError(Cat(field, "max_attempts: must be >= 1"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CreatedSweep> Store::CreateSweep(const NewSweep& sweep,
                                                std::span<const NewRun> runs) {
  if (sweep.name.empty()) return absl::InvalidArgumentError("db: CreateSweep: name: is empty");
  RETURN_IF_ERROR(ValidateRuns(runs));
  return impl_->Write("CreateSweep", [&](Connection& conn) -> absl::StatusOr<CreatedSweep> {
    CreatedSweep created;
    {
      ASSIGN_OR_RETURN(Statement insert,
                       conn.Prepare("INSERT INTO sweeps (name, spec_yaml, priority, state, "
                                    "created_ms) VALUES (?1, ?2, ?3, 'active', ?4)",
                                    "CreateSweep"));
      insert.BindText(1, sweep.name);
      insert.BindText(2, sweep.spec_yaml);
      insert.BindInt64(3, sweep.priority);
      insert.BindInt64(4, sweep.created_ms);
      RETURN_IF_ERROR(insert.Run());
      created.sweep_id = conn.last_insert_rowid();
    }
    ASSIGN_OR_RETURN(
        Statement insert,
        conn.Prepare("INSERT INTO runs (sweep_id, index_in_sweep, arch, name, config_json, "
                     "token_budget, priority, state, attempts, max_attempts) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', 0, ?8)",
                     "CreateSweep"));
    created.run_ids.reserve(runs.size());
    for (const NewRun& run : runs) {
      insert.BindInt64(1, created.sweep_id);
      insert.BindInt64(2, run.index_in_sweep);
      insert.BindText(3, run.arch);
      insert.BindText(4, run.name);
      insert.BindText(5, run.config_json);
      insert.BindInt64(6, run.token_budget);
      insert.BindInt64(7, run.priority);
      insert.BindInt64(8, run.max_attempts);
      RETURN_IF_ERROR(insert.Run());
      created.run_ids.push_back(conn.last_insert_rowid());
    }
    return created;
  });
}

absl::StatusOr<SweepRecord> Store::GetSweep(int64_t sweep_id) {
  return impl_->Read("GetSweep", [&](Connection& conn) -> absl::StatusOr<SweepRecord> {
    ASSIGN_OR_RETURN(
        Statement stmt,
        internal::FindRowOn(conn, Cat("SELECT ", kSweepColumns, " FROM sweeps WHERE sweep_id = ?1"),
                            sweep_id, "GetSweep", Cat("no sweep ", sweep_id)));
    return ReadSweep(stmt);
  });
}

absl::StatusOr<std::vector<SweepRecord>> Store::ListSweeps(const SweepFilter& filter) {
  std::string sql = Cat("SELECT ", kSweepColumns, " FROM sweeps WHERE 1");
  if (filter.active_only) {
    absl::StrAppend(&sql, filter.finished_after_sweep_id > 0
                              ? " AND (state = 'active' OR sweep_id > ?1)"
                              : " AND state = 'active'");
  }
  if (filter.after_sweep_id) absl::StrAppend(&sql, " AND sweep_id > ?2");
  absl::StrAppend(&sql, " ORDER BY sweep_id", internal::LimitClause(filter.limit));
  return impl_->Read("ListSweeps",
                     [&](Connection& conn) -> absl::StatusOr<std::vector<SweepRecord>> {
                       ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql, "ListSweeps"));
                       if (filter.active_only && filter.finished_after_sweep_id > 0) {
                         stmt.BindInt64(1, filter.finished_after_sweep_id);
                       }
                       if (filter.after_sweep_id) stmt.BindInt64(2, *filter.after_sweep_id);
                       return internal::ReadRows(stmt, ReadSweep);
                     });
}

absl::StatusOr<int64_t> Store::LastSweepId() {
  return impl_->Read("LastSweepId", [&](Connection& conn) -> absl::StatusOr<int64_t> {
    return conn.QueryInt64("SELECT coalesce(max(sweep_id), 0) FROM sweeps", "LastSweepId");
  });
}

absl::Status Store::SetSweepState(int64_t sweep_id, SweepState state) {
  return impl_->Write("SetSweepState", [&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("UPDATE sweeps SET state = ?2 WHERE sweep_id = ?1", "SetSweepState"));
    stmt.BindInt64(1, sweep_id);
    stmt.BindText(2, SweepStateName(state));
    RETURN_IF_ERROR(stmt.Run());
    if (conn.changes() == 0) {
      return absl::NotFoundError(Cat("db: SetSweepState: no sweep ", sweep_id));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<int64_t>> Store::CancelSweep(int64_t sweep_id, int64_t now_ms) {
  return impl_->Write("CancelSweep", [&](Connection& conn) -> absl::StatusOr<std::vector<int64_t>> {
    {
      ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare("UPDATE sweeps SET state = 'cancelled' WHERE sweep_id = ?1", "CancelSweep"));
      stmt.BindInt64(1, sweep_id);
      RETURN_IF_ERROR(stmt.Run());
      if (conn.changes() == 0) {
        return absl::NotFoundError(Cat("db: CancelSweep: no sweep ", sweep_id));
      }
    }
    std::vector<int64_t> running;
    {
      ASSIGN_OR_RETURN(Statement stmt,
                       conn.Prepare("SELECT run_id FROM runs WHERE sweep_id = ?1 AND "
                                    "state = 'running' ORDER BY run_id",
                                    "CancelSweep"));
      stmt.BindInt64(1, sweep_id);
      while (true) {
        ASSIGN_OR_RETURN(const bool row, stmt.Step());
        if (!row) break;
        running.push_back(stmt.ColumnInt64(0));
      }
    }
    {
      ASSIGN_OR_RETURN(Statement stmt,
                       conn.Prepare("UPDATE runs SET state = 'cancelled' WHERE sweep_id = ?1 AND "
                                    "state IN ('pending', 'running')",
                                    "CancelSweep"));
      stmt.BindInt64(1, sweep_id);
      RETURN_IF_ERROR(stmt.Run());
    }
    ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("UPDATE eval_jobs SET state = 'failed', error = 'sweep cancelled', "
                     "ended_ms = ?2 WHERE state IN ('pending', 'running') AND "
                     "run_id IN (SELECT run_id FROM runs WHERE sweep_id = ?1)",
                     "CancelSweep"));
    stmt.BindInt64(1, sweep_id);
    stmt.BindInt64(2, now_ms);
    RETURN_IF_ERROR(stmt.Run());
    return running;
  });
}

// ---- Runs -----------------------------------------------------------------------

namespace {

constexpr char kRunColumns[] =
    "run_id, sweep_id, index_in_sweep, arch, name, config_json, token_budget, priority, state, "
    "attempts, max_attempts, "
    "(SELECT count(*) FROM attempts a WHERE a.run_id = runs.run_id AND a.state = 'stopped')";

// Reads the run's own columns, then its reasons, newest checkpoint and latest
// metric through further queries on the same connection.
absl::StatusOr<RunRecord> ReadRun(Connection& conn, const Statement& stmt, std::string_view what) {
  RunRecord run;
  run.run_id = stmt.ColumnInt64(0);
  run.sweep_id = stmt.ColumnInt64(1);
  run.index_in_sweep = static_cast<int>(stmt.ColumnInt64(2));
  run.arch = stmt.ColumnText(3);
  run.name = stmt.ColumnText(4);
  run.config_json = stmt.ColumnText(5);
  run.token_budget = stmt.ColumnInt64(6);
  run.priority = static_cast<int>(stmt.ColumnInt64(7));
  ASSIGN_OR_RETURN(run.state, ParseRunState(stmt.ColumnText(8)));
  run.attempts = static_cast<int>(stmt.ColumnInt64(9));
  run.max_attempts = static_cast<int>(stmt.ColumnInt64(10));
  run.released_attempts = static_cast<int>(stmt.ColumnInt64(11));
  ASSIGN_OR_RETURN(run.failure_reasons, internal::AttemptReasonsOn(conn, run.run_id, what));
  ASSIGN_OR_RETURN(run.newest_checkpoint, internal::NewestCheckpointOn(conn, run.run_id, what));
  ASSIGN_OR_RETURN(run.latest_metric, internal::LatestMetricOn(conn, run.run_id, what));
  return run;
}

}  // namespace

namespace {

template <typename Key>
absl::StatusOr<Statement> FindRow(Connection& conn, const std::string& sql, Key key,
                                  std::string_view what, std::string_view missing) {
  ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql, what));
  if constexpr (std::is_same_v<Key, int64_t>) {
    stmt.BindInt64(1, key);
  } else {
    stmt.BindText(1, key);
  }
  ASSIGN_OR_RETURN(const bool found, stmt.Step());
  if (!found) return absl::NotFoundError(Cat("db: ", what, ": ", missing));
  return stmt;
}

}  // namespace

absl::StatusOr<Statement> internal::FindRowOn(Connection& conn, const std::string& sql, int64_t key,
                                              std::string_view what, std::string_view missing) {
  return FindRow(conn, sql, key, what, missing);
}

absl::StatusOr<Statement> internal::FindRowOn(Connection& conn, const std::string& sql,
                                              std::string_view key, std::string_view what,
                                              std::string_view missing) {
  return FindRow(conn, sql, key, what, missing);
}

absl::Status internal::RequireRun(Connection& conn, int64_t run_id, std::string_view what) {
  return internal::FindRowOn(conn, "SELECT 1 FROM runs WHERE run_id = ?1", run_id, what,
                             Cat("no run ", run_id))
      .status();
}

absl::StatusOr<RunRecord> Store::GetRun(int64_t run_id) {
  return impl_->Read("GetRun", [&](Connection& conn) -> absl::StatusOr<RunRecord> {
    ASSIGN_OR_RETURN(
        Statement stmt,
        internal::FindRowOn(conn, Cat("SELECT ", kRunColumns, " FROM runs WHERE run_id = ?1"),
                            run_id, "GetRun", Cat("no run ", run_id)));
    return ReadRun(conn, stmt, "GetRun");
  });
}

absl::StatusOr<std::vector<RunRecord>> Store::ListRuns(const RunFilter& filter) {
  std::string sql = Cat("SELECT ", kRunColumns, " FROM runs WHERE 1");
  if (filter.sweep_id) absl::StrAppend(&sql, " AND sweep_id = ?1");
  if (!filter.states.empty()) {
    absl::StrAppend(&sql, " AND state IN (");
    for (size_t i = 0; i < filter.states.size(); ++i) {
      absl::StrAppend(&sql, i == 0 ? "" : ", ", "'", std::string(RunStateName(filter.states[i])),
                      "'");
    }
    absl::StrAppend(&sql, ")");
  }
  // Rows after the key in the order below: a lower priority, or the same
  // priority and a higher id.
  if (filter.after) {
    absl::StrAppend(&sql, " AND (priority < ?2 OR (priority = ?2 AND run_id > ?3))");
  }
  absl::StrAppend(&sql, " ORDER BY priority DESC, run_id", internal::LimitClause(filter.limit));
  return impl_->Read("ListRuns", [&](Connection& conn) -> absl::StatusOr<std::vector<RunRecord>> {
    ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql, "ListRuns"));
    if (filter.sweep_id) stmt.BindInt64(1, *filter.sweep_id);
    if (filter.after) {
      stmt.BindInt64(2, filter.after->priority);
      stmt.BindInt64(3, filter.after->run_id);
    }
    return internal::ReadRows(stmt,
                              [&](const Statement& row) { return ReadRun(conn, row, "ListRuns"); });
  });
}

std::string internal::IdsInClause(std::string_view column, std::span<const int64_t> ids) {
  if (ids.empty()) return "";
  std::string sql = Cat(" AND ", column, " IN (");
  for (size_t i = 0; i < ids.size(); ++i) absl::StrAppend(&sql, i == 0 ? "" : ", ", ids[i]);
  return sql + ")";
}

std::string internal::LimitClause(size_t limit) { return limit == 0 ? "" : Cat(" LIMIT ", limit); }

absl::StatusOr<RetriedRuns> Store::RetryRuns(int64_t sweep_id, std::span<const RunRetry> runs) {
  std::set<int64_t> given;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].fresh_attempts < 1) {
      return absl::InvalidArgumentError(
          Cat("db: RetryRuns: runs[", i, "].fresh_attempts: must be >= 1"));
    }
    if (!given.insert(runs[i].run_id).second) {
      return absl::InvalidArgumentError(
          Cat("db: RetryRuns: runs[", i, "].run_id: run ", runs[i].run_id, " is given twice"));
    }
  }
  constexpr std::string_view kWhat = "RetryRuns";
  return impl_->Write(kWhat, [&](Connection& conn) -> absl::StatusOr<RetriedRuns> {
    RetriedRuns retried;
    {
      ASSIGN_OR_RETURN(Statement stmt,
                       internal::FindRowOn(conn, "SELECT state FROM sweeps WHERE sweep_id = ?1",
                                           sweep_id, kWhat, Cat("no sweep ", sweep_id)));
      ASSIGN_OR_RETURN(const SweepState state, ParseSweepState(stmt.ColumnText(0)));
      if (state == SweepState::kCancelled) {
        return absl::FailedPreconditionError(
            Cat("db: RetryRuns: sweep ", sweep_id, " is cancelled; its runs are not retried"));
      }
      retried.sweep_reopened = state != SweepState::kActive && !runs.empty();
    }
    for (const RunRetry& run : runs) {
      {
        ASSIGN_OR_RETURN(
            Statement stmt,
            internal::FindRowOn(conn, "SELECT sweep_id, state FROM runs WHERE run_id = ?1",
                                run.run_id, kWhat, Cat("no run ", run.run_id)));
        if (stmt.ColumnInt64(0) != sweep_id) {
          return absl::NotFoundError(
              Cat("db: RetryRuns: run ", run.run_id, " is not in sweep ", sweep_id));
        }
        ASSIGN_OR_RETURN(const RunState state, ParseRunState(stmt.ColumnText(1)));
        if (state != RunState::kFailed && state != RunState::kDiverged) {
          return absl::FailedPreconditionError(Cat("db: RetryRuns: run ", run.run_id, " is ",
                                                   RunStateName(state),
                                                   "; only failed and diverged runs are retried"));
        }
      }
      ASSIGN_OR_RETURN(
          Statement update,
          conn.Prepare("UPDATE runs SET state = 'pending', max_attempts = attempts + ?2 - "
                       "(SELECT count(*) FROM attempts a WHERE a.run_id = runs.run_id AND "
                       "a.state = 'stopped') WHERE run_id = ?1",
                       kWhat));
      update.BindInt64(1, run.run_id);
      update.BindInt64(2, run.fresh_attempts);
      RETURN_IF_ERROR(update.Run());
    }
    if (retried.sweep_reopened) {
      ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare("UPDATE sweeps SET state = 'active' WHERE sweep_id = ?1", kWhat));
      stmt.BindInt64(1, sweep_id);
      RETURN_IF_ERROR(stmt.Run());
    }
    for (const RunRetry& run : runs) {
      ASSIGN_OR_RETURN(
          Statement stmt,
          internal::FindRowOn(conn, Cat("SELECT ", kRunColumns, " FROM runs WHERE run_id = ?1"),
                              run.run_id, kWhat, Cat("no run ", run.run_id)));
      ASSIGN_OR_RETURN(RunRecord record, ReadRun(conn, stmt, kWhat));
      retried.runs.push_back(std::move(record));
    }
    return retried;
  });
}

}  // namespace flopwise::db

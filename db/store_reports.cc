// Store: metric and checkpoint reports (idempotent batches, supersede, the
// effective view) and fits.
#include <limits>
#include <optional>
#include <utility>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "db/store.h"
#include "db/store_impl.h"

namespace flopwise::db {

using internal::Connection;
using internal::Statement;

namespace {

constexpr char kMetricColumns[] =
    "run_id, attempt, seq, step, tokens, flops, loss, lr, grad_norm, tokens_per_s, superseded";
constexpr char kCheckpointColumns[] =
    "run_id, attempt, seq, step, tokens, flops, loss, path, sha256, superseded, validation_loss, "
    "validation_bits_per_byte, validation_tokens";

MetricRecord ReadMetric(const Statement& stmt) {
  MetricRecord metric;
  metric.run_id = stmt.ColumnInt64(0);
  metric.attempt = static_cast<int>(stmt.ColumnInt64(1));
  metric.row.seq = stmt.ColumnInt64(2);
  metric.row.step = stmt.ColumnInt64(3);
  metric.row.tokens = stmt.ColumnInt64(4);
  metric.row.flops = stmt.ColumnDouble(5);
  metric.row.loss = stmt.ColumnDouble(6);
  metric.row.lr = stmt.ColumnDouble(7);
  metric.row.grad_norm = stmt.ColumnDouble(8);
  metric.row.tokens_per_s = stmt.ColumnDouble(9);
  metric.superseded = stmt.ColumnInt64(10) != 0;
  return metric;
}

CheckpointRecord ReadCheckpoint(const Statement& stmt) {
  CheckpointRecord checkpoint;
  checkpoint.run_id = stmt.ColumnInt64(0);
  checkpoint.attempt = static_cast<int>(stmt.ColumnInt64(1));
  checkpoint.row.seq = stmt.ColumnInt64(2);
  checkpoint.row.step = stmt.ColumnInt64(3);
  checkpoint.row.tokens = stmt.ColumnInt64(4);
  checkpoint.row.flops = stmt.ColumnDouble(5);
  checkpoint.row.loss = stmt.ColumnDouble(6);
  checkpoint.row.path = stmt.ColumnText(7);
  checkpoint.row.sha256 = stmt.ColumnText(8);
  checkpoint.superseded = stmt.ColumnInt64(9) != 0;
  if (!stmt.ColumnIsNull(12)) {
    checkpoint.row.validation = CheckpointValidation{.loss = stmt.ColumnDouble(10),
                                                     .bits_per_byte = stmt.ColumnDouble(11),
                                                     .tokens = stmt.ColumnInt64(12)};
  }
  return checkpoint;
}

// The key fields every report row shares; InvalidArgument names rows[i].field.
absl::Status ValidateReportRow(std::string_view what, size_t i, int64_t seq, int64_t step,
                               int64_t tokens) {
  const char* field = seq < 0 ? "seq" : step < 0 ? "step" : tokens < 0 ? "tokens" : nullptr;
  if (field == nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(Cat("db: ", what, ": rows[", i, "].", field, ": must be >= 0"));
}

// A checkpoint's path names a directory: not empty or blank, no NUL byte.
absl::Status ValidateCheckpointPath(std::string_view what, size_t i, std::string_view path) {
  const char* problem = nullptr;
  if (path.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    problem = "is empty";
  } else if (path.find('\0') != std::string_view::npos) {
    problem = "contains a NUL byte";
  }
  if (problem == nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(Cat("db: ", what, ": rows[", i, "].path: ", problem));
}

// A validation that ran scored some tokens.
absl::Status ValidateCheckpointValidation(std::string_view what, size_t i,
                                          const std::optional<CheckpointValidation>& validation) {
  if (!validation || validation->tokens > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      Cat("db: ", what, ": rows[", i, "].validation.tokens: must be > 0 (nullopt: none ran)"));
}

// NotFound unless the attempt exists. Returns the lowest resumed_from_step of
// any later attempt of the run: rows of `attempt` above it are already
// superseded when they arrive.
absl::StatusOr<std::optional<int64_t>> SupersedeThreshold(Connection& conn, int64_t run_id,
                                                          int attempt, std::string_view what) {
  {
    ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT 1 FROM attempts WHERE run_id = ?1 AND attempt = ?2", what));
    stmt.BindInt64(1, run_id);
    stmt.BindInt64(2, attempt);
    ASSIGN_OR_RETURN(const bool found, stmt.Step());
    if (!found) {
      return absl::NotFoundError(Cat("db: ", what, ": run ", run_id, " has no attempt ", attempt));
    }
  }
  ASSIGN_OR_RETURN(Statement stmt,
                   conn.Prepare("SELECT min(resumed_from_step) FROM attempts WHERE run_id = ?1 "
                                "AND attempt > ?2 AND resumed_from_step >= 0",
                                what));
  stmt.BindInt64(1, run_id);
  stmt.BindInt64(2, attempt);
  ASSIGN_OR_RETURN(const bool row, stmt.Step());
  if (!row || stmt.ColumnIsNull(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(stmt.ColumnInt64(0));
}

bool SupersededOnArrival(const std::optional<int64_t>& threshold, int64_t step) {
  return threshold.has_value() && step > *threshold;
}

// SELECT text for metrics or checkpoints under `filter`. With
// include_superseded every row in key order (run, attempt, seq); otherwise the
// rows not superseded in (run, step) order, within a step in key order, so
// that the last row of each step is its effective one (ReadEffective).
std::string RowQuery(std::string_view table, std::string_view columns, const RowFilter& filter) {
  std::string sql = Cat("SELECT ", columns, " FROM ", table, " WHERE 1");
  if (!filter.include_superseded) absl::StrAppend(&sql, " AND superseded = 0");
  if (filter.run_id) absl::StrAppend(&sql, " AND run_id = ?1");
  if (filter.sweep_id) {
    absl::StrAppend(&sql, " AND run_id IN (SELECT run_id FROM runs WHERE sweep_id = ?2)");
  }
  if (filter.include_superseded) {
    if (filter.after) absl::StrAppend(&sql, " AND (run_id, attempt, seq) > (?3, ?4, ?5)");
    absl::StrAppend(&sql, " ORDER BY run_id, attempt, seq", internal::LimitClause(filter.limit));
  } else {
    if (filter.after) absl::StrAppend(&sql, " AND (run_id, step) > (?3, ?6)");
    absl::StrAppend(&sql, " ORDER BY run_id, step, attempt, seq");
  }
  return sql;
}

// Reads the rows of RowQuery's effective order, keeping the last row of each
// (run, step): the effective view, at most `limit` rows (0: every row).
template <typename Record>
absl::StatusOr<std::vector<Record>> ReadEffective(Statement& stmt, size_t limit,
                                                  Record (*read_row)(const Statement&)) {
  std::vector<Record> rows;
  while (true) {
    ASSIGN_OR_RETURN(const bool found, stmt.Step());
    if (!found) break;
    Record record = read_row(stmt);
    if (!rows.empty() && rows.back().run_id == record.run_id &&
        rows.back().row.step == record.row.step) {
      rows.back() = std::move(record);
      continue;
    }
    if (limit > 0 && rows.size() == limit) break;  // the last row's step is complete
    rows.push_back(std::move(record));
  }
  return rows;
}

void BindRowFilter(Statement& stmt, const RowFilter& filter) {
  if (filter.run_id) stmt.BindInt64(1, *filter.run_id);
  if (filter.sweep_id) stmt.BindInt64(2, *filter.sweep_id);
  if (filter.after) {
    stmt.BindInt64(3, filter.after->run_id);
    if (filter.include_superseded) {
      stmt.BindInt64(4, filter.after->attempt);
      stmt.BindInt64(5, filter.after->seq);
    } else {
      stmt.BindInt64(6, filter.after->step);
    }
  }
}

// Inserts one attempt's report rows (metrics or checkpoints) with `sql`, whose
// placeholders ?1..?7 are the columns every report row has (run_id, attempt,
// seq, step, tokens, flops, loss) and whose last one, ?`superseded_index`, is
// the superseded flag; `bind_own(insert, row)` binds the table's own columns
// in between. Returns how many rows were new.
template <typename Row, typename BindOwn>
absl::StatusOr<int> InsertReportRows(Connection& conn, std::string_view what,
                                     const std::string& sql, int superseded_index, int64_t run_id,
                                     int attempt, std::span<const Row> rows, BindOwn bind_own) {
  ASSIGN_OR_RETURN(const std::optional<int64_t> threshold,
                   SupersedeThreshold(conn, run_id, attempt, what));
  ASSIGN_OR_RETURN(Statement insert, conn.Prepare(sql, what));
  insert.BindInt64(1, run_id);
  insert.BindInt64(2, attempt);
  int inserted = 0;
  for (const Row& row : rows) {
    insert.BindInt64(3, row.seq);
    insert.BindInt64(4, row.step);
    insert.BindInt64(5, row.tokens);
    insert.BindDouble(6, row.flops);
    insert.BindDouble(7, row.loss);
    bind_own(insert, row);
    insert.BindInt64(superseded_index, SupersededOnArrival(threshold, row.step) ? 1 : 0);
    RETURN_IF_ERROR(insert.Run());
    inserted += static_cast<int>(conn.changes());
  }
  return inserted;
}

// The read transaction of ListMetrics/ListCheckpoints: the rows of `table`
// under `filter` through `read_row`, reduced to the effective view unless the
// filter asks for superseded rows too.
template <typename Record>
auto RowsReader(std::string_view table, std::string_view columns, const RowFilter& filter,
                std::string_view what, Record (*read_row)(const Statement&)) {
  return [sql = RowQuery(table, columns, filter), &filter, what,
          read_row](Connection& conn) -> absl::StatusOr<std::vector<Record>> {
    ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql, what));
    BindRowFilter(stmt, filter);
    if (!filter.include_superseded) return ReadEffective(stmt, filter.limit, read_row);
    std::vector<Record> rows;
    while (true) {
      ASSIGN_OR_RETURN(const bool row, stmt.Step());
      if (!row) break;
      rows.push_back(read_row(stmt));
    }
    return rows;
  };
}

}  // namespace

// ---- Recording ------------------------------------------------------------------

absl::StatusOr<int> Store::RecordMetrics(int64_t run_id, int attempt,
                                         std::span<const MetricRow> rows) {
  constexpr std::string_view kWhat = "RecordMetrics";
  for (size_t i = 0; i < rows.size(); ++i) {
    RETURN_IF_ERROR(ValidateReportRow(kWhat, i, rows[i].seq, rows[i].step, rows[i].tokens));
  }
  return impl_->Write(kWhat, [&](Connection& conn) -> absl::StatusOr<int> {
    return InsertReportRows(
        conn, kWhat,
        "INSERT INTO metrics (run_id, attempt, seq, step, tokens, flops, loss, lr, grad_norm, "
        "tokens_per_s, superseded) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
        "ON CONFLICT DO NOTHING",
        11, run_id, attempt, rows, [](Statement& insert, const MetricRow& row) {
          insert.BindDouble(8, row.lr);
          insert.BindDouble(9, row.grad_norm);
          insert.BindDouble(10, row.tokens_per_s);
        });
  });
}

namespace {

absl::Status ValidateCheckpointRows(std::string_view what, std::span<const CheckpointRow> rows) {
  for (size_t i = 0; i < rows.size(); ++i) {
    RETURN_IF_ERROR(ValidateReportRow(what, i, rows[i].seq, rows[i].step, rows[i].tokens));
    RETURN_IF_ERROR(ValidateCheckpointPath(what, i, rows[i].path));
    RETURN_IF_ERROR(ValidateCheckpointValidation(what, i, rows[i].validation));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> InsertCheckpointRows(Connection& conn, std::string_view what, int64_t run_id,
                                         int attempt, std::span<const CheckpointRow> rows) {
  return InsertReportRows(
      conn, what,
      "INSERT INTO checkpoints (run_id, attempt, seq, step, tokens, flops, loss, path, sha256, "
      "validation_loss, validation_bits_per_byte, validation_tokens, superseded) VALUES (?1, "
      "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT DO NOTHING",
      13, run_id, attempt, rows, [](Statement& insert, const CheckpointRow& row) {
        constexpr double kNull = std::numeric_limits<double>::quiet_NaN();  // bound as NULL
        insert.BindText(8, row.path);
        insert.BindText(9, row.sha256);
        insert.BindDouble(10, row.validation ? row.validation->loss : kNull);
        insert.BindDouble(11, row.validation ? row.validation->bits_per_byte : kNull);
        if (row.validation) {
          insert.BindInt64(12, row.validation->tokens);
        } else {
          insert.BindNull(12);
        }
      });
}

}  // namespace

absl::StatusOr<int> Store::RecordCheckpoints(int64_t run_id, int attempt,
                                             std::span<const CheckpointRow> rows) {
  constexpr std::string_view kWhat = "RecordCheckpoints";
  RETURN_IF_ERROR(ValidateCheckpointRows(kWhat, rows));
  return impl_->Write(kWhat, [&](Connection& conn) -> absl::StatusOr<int> {
    return InsertCheckpointRows(conn, kWhat, run_id, attempt, rows);
  });
}

absl::StatusOr<CheckpointLanded> Store::RecordCheckpoint(int64_t run_id, int attempt,
                                                         const CheckpointRow& row,
                                                         const std::optional<EvalJobSpec>& eval) {
  constexpr std::string_view kWhat = "RecordCheckpoint";
  const std::span<const CheckpointRow> rows(&row, 1);
  RETURN_IF_ERROR(ValidateCheckpointRows(kWhat, rows));
  return impl_->Write(kWhat, [&](Connection& conn) -> absl::StatusOr<CheckpointLanded> {
    CheckpointLanded landed;
    ASSIGN_OR_RETURN(const int inserted, InsertCheckpointRows(conn, kWhat, run_id, attempt, rows));
    landed.inserted = inserted > 0;
    if (!landed.inserted || !eval.has_value()) return landed;
    ASSIGN_OR_RETURN(Statement stmt,
                     conn.Prepare("SELECT superseded FROM checkpoints WHERE run_id = ?1 AND "
                                  "attempt = ?2 AND seq = ?3",
                                  kWhat));
    stmt.BindInt64(1, run_id);
    stmt.BindInt64(2, attempt);
    stmt.BindInt64(3, row.seq);
    ASSIGN_OR_RETURN(const bool found, stmt.Step());
    if (!found || stmt.ColumnInt64(0) != 0) return landed;  // replaced already: nothing to evaluate
    ASSIGN_OR_RETURN(
        landed.eval_job,
        internal::InsertEvalJobOn(conn, NewEvalJob{run_id, attempt, row.seq, *eval}, kWhat));
    return landed;
  });
}

absl::StatusOr<int64_t> Store::SupersedeAfter(int64_t run_id, int attempt, int64_t step) {
  constexpr std::string_view kWhat = "SupersedeAfter";
  if (step < 0) return absl::InvalidArgumentError("db: SupersedeAfter: step: must be >= 0");
  return impl_->Write(kWhat, [&](Connection& conn) -> absl::StatusOr<int64_t> {
    {
      ASSIGN_OR_RETURN(Statement stmt, conn.Prepare("UPDATE attempts SET resumed_from_step = ?3 "
                                                    "WHERE run_id = ?1 AND attempt = ?2",
                                                    kWhat));
      stmt.BindInt64(1, run_id);
      stmt.BindInt64(2, attempt);
      stmt.BindInt64(3, step);
      RETURN_IF_ERROR(stmt.Run());
      if (conn.changes() == 0) {
        return absl::NotFoundError(
            Cat("db: SupersedeAfter: run ", run_id, " has no attempt ", attempt));
      }
    }
    int64_t changed = 0;
    for (const char* update :
         {"UPDATE metrics SET superseded = 1 WHERE run_id = ?1 AND attempt < ?2 AND step > ?3 "
          "AND superseded = 0",
          "UPDATE checkpoints SET superseded = 1 WHERE run_id = ?1 AND attempt < ?2 AND step > ?3 "
          "AND superseded = 0",
          "UPDATE evals SET superseded = 1 WHERE run_id = ?1 AND attempt < ?2 AND "
          "checkpoint_step > ?3 AND superseded = 0",
          "UPDATE eval_jobs SET state = 'superseded' WHERE run_id = ?1 AND attempt < ?2 AND "
          "checkpoint_step > ?3 AND state IN ('pending', 'running')"}) {
      ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(update, kWhat));
      stmt.BindInt64(1, run_id);
      stmt.BindInt64(2, attempt);
      stmt.BindInt64(3, step);
      RETURN_IF_ERROR(stmt.Run());
      changed += conn.changes();
    }
    return changed;
  });
}

// ---- Reading --------------------------------------------------------------------

absl::StatusOr<std::vector<MetricRecord>> Store::ListMetrics(const RowFilter& filter) {
  return impl_->Read("ListMetrics", RowsReader<MetricRecord>("metrics", kMetricColumns, filter,
                                                             "ListMetrics", ReadMetric));
}

absl::StatusOr<std::vector<CheckpointRecord>> Store::ListCheckpoints(const RowFilter& filter) {
  return impl_->Read("ListCheckpoints",
                     RowsReader<CheckpointRecord>("checkpoints", kCheckpointColumns, filter,
                                                  "ListCheckpoints", ReadCheckpoint));
}

absl::StatusOr<std::optional<CheckpointRecord>> internal::NewestCheckpointOn(
    Connection& conn, int64_t run_id, std::string_view what) {
  ASSIGN_OR_RETURN(Statement stmt,
                   conn.Prepare(Cat("SELECT ", kCheckpointColumns,
                                    " FROM checkpoints WHERE run_id = ?1 AND "
                                    "superseded = 0 "
                                    "ORDER BY step DESC, attempt DESC, seq DESC LIMIT 1"),
                                what));
  stmt.BindInt64(1, run_id);
  ASSIGN_OR_RETURN(const bool found, stmt.Step());
  if (!found) return std::optional<CheckpointRecord>();
  return std::optional<CheckpointRecord>(ReadCheckpoint(stmt));
}

absl::StatusOr<std::optional<MetricRecord>> internal::LatestMetricOn(Connection& conn,
                                                                     int64_t run_id,
                                                                     std::string_view what) {
  ASSIGN_OR_RETURN(Statement stmt,
                   conn.Prepare(Cat("SELECT ", kMetricColumns,
                                    " FROM metrics WHERE run_id = ?1 AND superseded = 0 "
                                    "ORDER BY step DESC, attempt DESC, seq DESC LIMIT 1"),
                                what));
  stmt.BindInt64(1, run_id);
  ASSIGN_OR_RETURN(const bool found, stmt.Step());
  if (!found) return std::optional<MetricRecord>();
  return std::optional<MetricRecord>(ReadMetric(stmt));
}

absl::StatusOr<CheckpointRecord> Store::NewestCheckpoint(int64_t run_id) {
  return impl_->Read("NewestCheckpoint", [&](Connection& conn) -> absl::StatusOr<CheckpointRecord> {
    RETURN_IF_ERROR(internal::RequireRun(conn, run_id, "NewestCheckpoint"));
    ASSIGN_OR_RETURN(std::optional<CheckpointRecord> newest,
                     internal::NewestCheckpointOn(conn, run_id, "NewestCheckpoint"));
    if (!newest) {
      return absl::NotFoundError(Cat("db: NewestCheckpoint: run ", run_id, " has no checkpoint"));
    }
    return *std::move(newest);
  });
}

// ---- Fits ----------------------------------------------------------------------------

absl::Status Store::PutFit(const FitRecord& fit) {
  if (fit.inputs_hash.empty()) {
    return absl::InvalidArgumentError("db: PutFit: inputs_hash: is empty");
  }
  if (fit.method.empty()) return absl::InvalidArgumentError("db: PutFit: method: is empty");
  return impl_->Write("PutFit", [&](Connection& conn) -> absl::Status {
    ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("INSERT INTO fits (inputs_hash, method, result_json, created_ms) "
                     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (inputs_hash, method) DO UPDATE SET "
                     "result_json = excluded.result_json, created_ms = excluded.created_ms",
                     "PutFit"));
    stmt.BindText(1, fit.inputs_hash);
    stmt.BindText(2, fit.method);
    stmt.BindText(3, fit.result_json);
    stmt.BindInt64(4, fit.created_ms);
    return stmt.Run();
  });
}

namespace {

constexpr char kFitColumns[] = "inputs_hash, method, result_json, created_ms";

FitRecord ReadFit(const Statement& stmt) {
  FitRecord fit;
  fit.inputs_hash = stmt.ColumnText(0);
  fit.method = stmt.ColumnText(1);
  fit.result_json = stmt.ColumnText(2);
  fit.created_ms = stmt.ColumnInt64(3);
  return fit;
}

}  // namespace

absl::StatusOr<FitRecord> Store::GetFit(std::string_view inputs_hash, std::string_view method) {
  return impl_->Read("GetFit", [&](Connection& conn) -> absl::StatusOr<FitRecord> {
    ASSIGN_OR_RETURN(Statement stmt,
                     conn.Prepare(Cat("SELECT ", kFitColumns,
                                      " FROM fits WHERE inputs_hash = ?1 AND method = ?2"),
                                  "GetFit"));
    stmt.BindText(1, inputs_hash);
    stmt.BindText(2, method);
    ASSIGN_OR_RETURN(const bool found, stmt.Step());
    if (!found) {
      return absl::NotFoundError(Cat("db: GetFit: no ", method, " fit for inputs ", inputs_hash));
    }
    return ReadFit(stmt);
  });
}

}  // namespace flopwise::db

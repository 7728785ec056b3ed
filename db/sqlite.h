// Private to db/: a thin RAII layer over the SQLite C API (one connection,
// its cached prepared statements, transactions, error mapping).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flopwise::db::internal {

// Maps an SQLite result code to a status "db: <what>: <cause> (sqlite: ...)":
// SQLITE_FULL -> ResourceExhausted "disk is full", SQLITE_READONLY ->
// FailedPrecondition, SQLITE_CORRUPT/NOTADB -> DataLoss, SQLITE_BUSY ->
// Unavailable, constraint violations -> AlreadyExists / FailedPrecondition /
// InvalidArgument, anything else -> Internal. `db` may be null.
absl::Status SqliteError(int rc, std::string_view what, sqlite3* db);

// A prepared statement borrowed from a Connection's cache. Destruction resets
// it and clears its bindings so the next user starts clean. Move-only.
class Statement {
 public:
  Statement(sqlite3_stmt* stmt, sqlite3* db, std::string_view what);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;

  // Parameters are 1-based. A NaN double binds NULL.
  void BindInt64(int index, int64_t value);
  void BindDouble(int index, double value);
  void BindText(int index, std::string_view value);
  void BindNull(int index);

  // Advances: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion, ignoring rows; then resets for reuse.
  absl::Status Run();
  // Clears the previous execution so the statement can run again with new
  // bindings (bindings are kept until rebound).
  void Reset();

  // Columns are 0-based. A NULL double reads as NaN.
  int64_t ColumnInt64(int index) const;
  double ColumnDouble(int index) const;
  std::string ColumnText(int index) const;
  bool ColumnIsNull(int index) const;

 private:
  sqlite3_stmt* stmt_;
  sqlite3* db_;
  std::string_view what_;
};

class Connection {
 public:
  // Opens `path` with `flags` (SQLITE_OPEN_*), extended result codes and the
  // busy timeout.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& path, int flags,
                                                          int busy_timeout_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements that return no rows of interest.
  absl::Status Exec(const std::string& sql, std::string_view what);
  // Returns the cached statement for `sql`, preparing it on first use.
  // `what` names the operation in errors and must outlive the Statement.
  // REQUIRES: no other live Statement of the same `sql`.
  absl::StatusOr<Statement> Prepare(const std::string& sql, std::string_view what);
  // The single integer or text value of a one-row query (a PRAGMA).
  absl::StatusOr<int64_t> QueryInt64(const std::string& sql, std::string_view what);
  absl::StatusOr<std::string> QueryText(const std::string& sql, std::string_view what);

  int64_t changes() const;
  int64_t last_insert_rowid() const;
  bool in_transaction() const;
  bool read_only() const;
  sqlite3* raw() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// BEGIN on construction (Begin), ROLLBACK on destruction unless committed.
// A failed statement inside leaves the transaction to be rolled back here,
// so no partial batch is ever committed.
class Transaction {
 public:
  enum class Mode { kDeferred, kImmediate };
  static absl::StatusOr<Transaction> Begin(Connection& conn, Mode mode, std::string_view what);
  ~Transaction();
  Transaction(Transaction&& other) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;

  absl::Status Commit();

 private:
  Transaction(Connection* conn, std::string_view what) : conn_(conn), what_(what) {}
  Connection* conn_;
  std::string_view what_;
};

}  // namespace flopwise::db::internal

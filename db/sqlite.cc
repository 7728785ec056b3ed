#include "db/sqlite.h"

#include <cmath>
#include <limits>
#include <utility>

#include "base/str_cat.h"

namespace flopwise::db::internal {
namespace {

absl::Status Make(absl::StatusCode code, std::string_view what, std::string_view cause,
                  std::string_view detail) {
  if (detail.empty() || detail == cause) {
    return absl::Status(code, Cat("db: ", what, ": ", cause));
  }
  return absl::Status(code, Cat("db: ", what, ": ", cause, " (sqlite: ", detail, ")"));
}

}  // namespace

absl::Status SqliteError(int rc, std::string_view what, sqlite3* db) {
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return Make(absl::StatusCode::kResourceExhausted, what, "disk is full", detail);
    case SQLITE_NOMEM:
      return Make(absl::StatusCode::kResourceExhausted, what, "out of memory", detail);
    case SQLITE_READONLY:
      return Make(absl::StatusCode::kFailedPrecondition, what, "database is read-only", detail);
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Make(absl::StatusCode::kPermissionDenied, what, "permission denied", detail);
    case SQLITE_CORRUPT:
      return Make(absl::StatusCode::kDataLoss, what, "database file is corrupt", detail);
    case SQLITE_NOTADB:
      return Make(absl::StatusCode::kDataLoss, what, "file is not a database", detail);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Make(absl::StatusCode::kUnavailable, what, "database is busy", detail);
    case SQLITE_IOERR:
      return Make(absl::StatusCode::kUnavailable, what, "I/O error", detail);
    case SQLITE_CANTOPEN:
      return Make(absl::StatusCode::kFailedPrecondition, what, "cannot open the database file",
                  detail);
    case SQLITE_CONSTRAINT:
      switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
          return Make(absl::StatusCode::kAlreadyExists, what, "already exists", detail);
        case SQLITE_CONSTRAINT_FOREIGNKEY:
          return Make(absl::StatusCode::kFailedPrecondition, what, "refers to a missing row",
                      detail);
        default:
          return Make(absl::StatusCode::kInvalidArgument, what, "constraint violated", detail);
      }
    default:
      return Make(absl::StatusCode::kInternal, what, sqlite3_errstr(rc), detail);
  }
}

// ---- Statement ----------------------------------------------------------------

Statement::Statement(sqlite3_stmt* stmt, sqlite3* db, std::string_view what)
    : stmt_(stmt), db_(db), what_(what) {}

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), db_(other.db_), what_(other.what_) {}

void Statement::BindInt64(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }

void Statement::BindDouble(int index, double value) {
  if (std::isnan(value)) {
    sqlite3_bind_null(stmt_, index);
  } else {
    sqlite3_bind_double(stmt_, index, value);
  }
}

void Statement::BindText(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
}

void Statement::BindNull(int index) { sqlite3_bind_null(stmt_, index); }

absl::StatusOr<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  absl::Status status = SqliteError(sqlite3_extended_errcode(db_), what_, db_);
  sqlite3_reset(stmt_);
  return status;
}

absl::Status Statement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
  }
  sqlite3_reset(stmt_);
  return absl::OkStatus();
}

void Statement::Reset() { sqlite3_reset(stmt_); }

int64_t Statement::ColumnInt64(int index) const { return sqlite3_column_int64(stmt_, index); }

double Statement::ColumnDouble(int index) const {
  if (sqlite3_column_type(stmt_, index) == SQLITE_NULL) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return sqlite3_column_double(stmt_, index);
}

std::string Statement::ColumnText(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

// ---- Connection ---------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& path, int flags,
                                                             int busy_timeout_ms) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  const std::string what = Cat("open ", path);
  if (rc != SQLITE_OK) {
    absl::Status status = SqliteError(rc, what, db);
    sqlite3_close(db);
    return status;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

absl::Status Connection::Exec(const std::string& sql, std::string_view what) {
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(sqlite3_extended_errcode(db_), what, db_);
  return absl::OkStatus();
}

absl::StatusOr<Statement> Connection::Prepare(const std::string& sql, std::string_view what) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(sqlite3_extended_errcode(db_), what, db_);
    it = cache_.emplace(sql, stmt).first;
  }
  return Statement(it->second, db_, what);
}

absl::StatusOr<int64_t> Connection::QueryInt64(const std::string& sql, std::string_view what) {
  absl::StatusOr<Statement> stmt = Prepare(sql, what);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(Cat("db: ", what, ": query returned no row"));
  return stmt->ColumnInt64(0);
}

absl::StatusOr<std::string> Connection::QueryText(const std::string& sql, std::string_view what) {
  absl::StatusOr<Statement> stmt = Prepare(sql, what);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(Cat("db: ", what, ": query returned no row"));
  return stmt->ColumnText(0);
}

int64_t Connection::changes() const { return sqlite3_changes64(db_); }

int64_t Connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

bool Connection::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

bool Connection::read_only() const { return sqlite3_db_readonly(db_, "main") == 1; }

// ---- Transaction --------------------------------------------------------------

absl::StatusOr<Transaction> Transaction::Begin(Connection& conn, Mode mode, std::string_view what) {
  const std::string sql = mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN";
  absl::StatusOr<Statement> begin = conn.Prepare(sql, what);
  if (!begin.ok()) return begin.status();
  absl::Status status = begin->Run();
  if (!status.ok()) return status;
  return Transaction(&conn, what);
}

Transaction::Transaction(Transaction&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)), what_(other.what_) {}

Transaction::~Transaction() {
  if (conn_ == nullptr || !conn_->in_transaction()) return;
  // A rollback can only fail when there is nothing left to undo.
  absl::StatusOr<Statement> rollback = conn_->Prepare("ROLLBACK", what_);
  if (rollback.ok()) rollback->Run().IgnoreError();
}

absl::Status Transaction::Commit() {
  absl::StatusOr<Statement> commit = conn_->Prepare("COMMIT", what_);
  if (!commit.ok()) return commit.status();
  absl::Status status = commit->Run();
  if (!status.ok()) return status;  // the destructor rolls back
  conn_ = nullptr;
  return absl::OkStatus();
}

}  // namespace flopwise::db::internal

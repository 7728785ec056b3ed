// Private to db/: Store::Impl, the connections behind a Store, and the row
// helpers its .cc files share.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "db/records.h"
#include "db/sqlite.h"
#include "db/store.h"
#include "db/wal_checkpointer.h"

namespace flopwise::db {

class Store::Impl {
 public:
  Impl(std::string path, StoreOptions options, std::unique_ptr<internal::Connection> writer,
       std::unique_ptr<internal::WalCheckpointer> checkpointer)
      : path_(std::move(path)),
        options_(options),
        writer_(std::move(writer)),
        checkpointer_(std::move(checkpointer)) {}

  // Runs `fn(connection)` on the write connection inside one IMMEDIATE
  // transaction, committing when `fn` succeeds and rolling back otherwise.
  // `fn` returns absl::Status or absl::StatusOr<T>; so does Write.
  template <typename Fn>
  ABSL_LOCKS_EXCLUDED(write_mu_)
  auto Write(std::string_view what, Fn&& fn)
      -> decltype(fn(std::declval<internal::Connection&>())) {
    absl::MutexLock lock(&write_mu_);
    absl::StatusOr<internal::Transaction> txn =
        internal::Transaction::Begin(*writer_, internal::Transaction::Mode::kImmediate, what);
    if (!txn.ok()) return txn.status();
    auto result = fn(*writer_);
    if (!result.ok()) return result;
    absl::Status commit = txn->Commit();
    if (!commit.ok()) return commit;
    return result;
  }

  // Runs `fn(connection)` on a pooled read connection inside one read
  // transaction (a consistent snapshot that never blocks the writer).
  template <typename Fn>
  auto Read(std::string_view what, Fn&& fn) -> decltype(fn(std::declval<internal::Connection&>())) {
    absl::StatusOr<std::unique_ptr<internal::Connection>> conn = AcquireReader();
    if (!conn.ok()) return conn.status();
    ReaderReturn give_back{this, std::move(*conn)};
    absl::StatusOr<internal::Transaction> txn =
        internal::Transaction::Begin(*give_back.conn, internal::Transaction::Mode::kDeferred, what);
    if (!txn.ok()) return txn.status();
    return fn(*give_back.conn);
  }

  // Runs `fn(connection)` on a read connection outside any transaction.
  template <typename Fn>
  auto ReadRaw(Fn&& fn) -> decltype(fn(std::declval<internal::Connection&>())) {
    absl::StatusOr<std::unique_ptr<internal::Connection>> conn = AcquireReader();
    if (!conn.ok()) return conn.status();
    ReaderReturn give_back{this, std::move(*conn)};
    return fn(*give_back.conn);
  }

 private:
  struct ReaderReturn {
    Impl* impl;
    std::unique_ptr<internal::Connection> conn;
    ~ReaderReturn() { impl->ReleaseReader(std::move(conn)); }
  };

  // Takes an idle read connection, opens one while fewer than
  // max_read_connections exist, or waits for one to come back.
  absl::StatusOr<std::unique_ptr<internal::Connection>> AcquireReader()
      ABSL_LOCKS_EXCLUDED(pool_mu_);
  void ReleaseReader(std::unique_ptr<internal::Connection> conn) ABSL_LOCKS_EXCLUDED(pool_mu_);

  const std::string path_;
  const StoreOptions options_;

  absl::Mutex write_mu_;
  const std::unique_ptr<internal::Connection> writer_ ABSL_PT_GUARDED_BY(write_mu_);
  // Checkpoints the WAL off the writer's path; declared after writer_ so that
  // it is destroyed (its hook removed) first.
  std::unique_ptr<internal::WalCheckpointer> checkpointer_;

  absl::Mutex pool_mu_;
  absl::CondVar pool_cv_;  // signalled when a reader comes back or may be opened
  std::vector<std::unique_ptr<internal::Connection>> idle_readers_ ABSL_GUARDED_BY(pool_mu_);
  int open_readers_ ABSL_GUARDED_BY(pool_mu_) = 0;
};

namespace internal {

// Helpers shared by the store_*.cc files; each runs on the given connection
// (inside the caller's transaction).

// The effective checkpoint / metric with the highest step of a run.
absl::StatusOr<std::optional<CheckpointRecord>> NewestCheckpointOn(Connection& conn, int64_t run_id,
                                                                   std::string_view what);
absl::StatusOr<std::optional<MetricRecord>> LatestMetricOn(Connection& conn, int64_t run_id,
                                                           std::string_view what);
// Ended attempts of a run that carry a reason, by attempt number.
absl::StatusOr<std::vector<AttemptReason>> AttemptReasonsOn(Connection& conn, int64_t run_id,
                                                            std::string_view what);
// Inserts a pending eval job of a stored checkpoint and returns its id.
// NotFound when the checkpoint is not stored.
absl::StatusOr<int64_t> InsertEvalJobOn(Connection& conn, const NewEvalJob& job,
                                        std::string_view what);
// NotFound unless the row exists.
absl::Status RequireRun(Connection& conn, int64_t run_id, std::string_view what);
// Runs `sql` with `key` bound to ?1 and leaves the statement on its first row;
// NotFound "db: <what>: <missing>" when there is none.
absl::StatusOr<Statement> FindRowOn(Connection& conn, const std::string& sql, int64_t key,
                                    std::string_view what, std::string_view missing);
absl::StatusOr<Statement> FindRowOn(Connection& conn, const std::string& sql, std::string_view key,
                                    std::string_view what, std::string_view missing);
// SQL that narrows a query to the rows of `ids` (" AND column IN (1, 2)";
// nothing when `ids` is empty), and that stops it after `limit` rows
// (" LIMIT n"; nothing for 0, every row).
std::string IdsInClause(std::string_view column, std::span<const int64_t> ids);
std::string LimitClause(size_t limit);
// Every remaining row of `stmt`, each read by `read_row(stmt)`, which returns
// absl::StatusOr<Record>.
template <typename ReadRow>
auto ReadRows(Statement& stmt, ReadRow read_row)
    -> absl::StatusOr<std::vector<typename decltype(read_row(stmt))::value_type>> {
  std::vector<typename decltype(read_row(stmt))::value_type> records;
  while (true) {
    absl::StatusOr<bool> row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!*row) return records;
    auto record = read_row(stmt);
    if (!record.ok()) return record.status();
    records.push_back(*std::move(record));
  }
}

}  // namespace internal
}  // namespace flopwise::db

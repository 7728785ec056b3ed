// Schema versions: a fresh file migrates, reopening is idempotent, newer or
// foreign files are refused, and a failed step keeps the previous version.
#include "db/migrations.h"
#include "db/sqlite.h"
#include "db/store.h"
#include "db_test_util.h"
#include "gtest/gtest.h"

namespace flopwise::db {
namespace {

using testing::RawExec;
using testing::RawQueryInt;
using testing::TempDir;

int LatestVersion() { return internal::SchemaMigrations().back().version; }

TEST(Migrations, EmptyFileMigratesToLatest) {
  TempDir dir;
  const std::string path = dir.File("flopwise.db");
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(RawQueryInt(path, "PRAGMA user_version"), LatestVersion());
  EXPECT_GE(LatestVersion(), 1);
  for (const char* table : {"sweeps", "runs", "attempts", "workers", "metrics", "checkpoints",
                            "eval_jobs", "evals", "fits"}) {
    EXPECT_EQ(RawQueryInt(path, std::string("SELECT count(*) FROM sqlite_schema WHERE type = "
                                            "'table' AND name = '") +
                                    table + "'"),
              1)
        << table;
  }
  EXPECT_EQ(RawQueryInt(path, "PRAGMA application_id"), internal::kApplicationId);
}

TEST(Migrations, OpensInWalMode) {
  TempDir dir;
  const std::string path = dir.File("flopwise.db");
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(Migrations, ReopenIsIdempotentAndKeepsData) {
  TempDir dir;
  const std::string path = dir.File("flopwise.db");
  int64_t sweep_id = 0;
  {
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<NewRun> runs = {testing::MakeRun(0)};
    auto created = (*store)->CreateSweep(testing::MakeSweep(), runs);
    ASSERT_TRUE(created.ok()) << created.status();
    sweep_id = created->sweep_id;
  }
  for (int i = 0; i < 2; ++i) {
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(RawQueryInt(path, "PRAGMA user_version"), LatestVersion());
    auto sweeps = (*store)->ListSweeps();
    ASSERT_TRUE(sweeps.ok()) << sweeps.status();
    ASSERT_EQ(sweeps->size(), 1u);
    EXPECT_EQ((*sweeps)[0].sweep_id, sweep_id);
  }
}

TEST(Migrations, NewerSchemaIsRefused) {
  TempDir dir;
  const std::string path = dir.File("flopwise.db");
  ASSERT_TRUE(Store::Open(path).ok());
  const int newer = LatestVersion() + 1;
  ASSERT_EQ(RawExec(path, "PRAGMA user_version = " + std::to_string(newer)), SQLITE_OK);
  auto store = Store::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("newer"), std::string_view::npos) << store.status();
  // The refusal changed nothing.
  EXPECT_EQ(RawQueryInt(path, "PRAGMA user_version"), newer);
}

TEST(Migrations, ForeignDatabaseIsRefused) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  ASSERT_EQ(RawExec(path, "CREATE TABLE notes (text TEXT)"), SQLITE_OK);
  auto store = Store::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("not a flopwise database"), std::string_view::npos)
      << store.status();
}

TEST(Migrations, FailedStepKeepsThePreviousVersion) {
  TempDir dir;
  const std::string path = dir.File("steps.db");
  auto conn = internal::Connection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
  ASSERT_TRUE(conn.ok()) << conn.status();
  const internal::Migration steps[] = {
      {1, "CREATE TABLE a (x INTEGER)"},
      {2, "CREATE TABLE b (y INTEGER); CREATE TABLE a (z INTEGER)"},  // fails half-way
  };
  absl::Status status = internal::Migrate(**conn, steps, "test");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("migration to version 2"), std::string_view::npos) << status;
  conn->reset();
  EXPECT_EQ(RawQueryInt(path, "PRAGMA user_version"), 1);
  EXPECT_EQ(RawQueryInt(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'a'"), 1);
  EXPECT_EQ(RawQueryInt(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'b'"), 0);
  // The fixed list continues from version 1.
  auto again = internal::Connection::Open(path, SQLITE_OPEN_READWRITE, 1000);
  ASSERT_TRUE(again.ok());
  const internal::Migration fixed[] = {
      {1, "CREATE TABLE a (x INTEGER)"},
      {2, "CREATE TABLE b (y INTEGER)"},
  };
  EXPECT_TRUE(internal::Migrate(**again, fixed, "test").ok());
  again->reset();
  EXPECT_EQ(RawQueryInt(path, "PRAGMA user_version"), 2);
}

// Version 3 adds the checkpoint validation columns: a version 2 file keeps
// its checkpoints, which read back without a validation.
TEST(Migrations, Version3KeepsOlderCheckpointsWithoutValidation) {
  TempDir dir;
  const std::string path = dir.File("v2.db");
  {
    auto conn = internal::Connection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
    ASSERT_TRUE(conn.ok()) << conn.status();
    ASSERT_TRUE(internal::Migrate(**conn, internal::SchemaMigrations().first(2), "test").ok());
  }
  ASSERT_EQ(RawQueryInt(path, "PRAGMA user_version"), 2);
  ASSERT_EQ(RawExec(path,
                    "INSERT INTO sweeps VALUES (1, 's', 'x', 0, 'active', 0);"
                    "INSERT INTO runs VALUES (1, 1, 0, 'llama', 'r', '{}', 100, 0, 'running', 1, "
                    "3);"
                    "INSERT INTO workers VALUES ('w', 'h', '{}', 0, 0, 0);"
                    "INSERT INTO attempts (run_id, attempt, worker_id, lease_id, "
                    "lease_deadline_ms, state, started_ms) VALUES (1, 1, 'w', 'l', 0, 'active', 0);"
                    "INSERT INTO checkpoints (run_id, attempt, seq, step, tokens, flops, loss, "
                    "path, sha256) VALUES (1, 1, 0, 5, 50, 1.0, 2.0, '/c', 'ab');"),
            SQLITE_OK);
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(RawQueryInt(path, "PRAGMA user_version"), LatestVersion());
  auto checkpoints = (*store)->ListCheckpoints({.run_id = 1});
  ASSERT_TRUE(checkpoints.ok()) << checkpoints.status();
  ASSERT_EQ(checkpoints->size(), 1u);
  EXPECT_EQ((*checkpoints)[0].row.path, "/c");
  EXPECT_FALSE((*checkpoints)[0].row.validation.has_value());
}

// Version 5 adds the attempts' log paths: a version 4 file keeps its
// attempts, which read back without one.
TEST(Migrations, Version5KeepsOlderAttemptsWithoutALogPath) {
  TempDir dir;
  const std::string path = dir.File("v4.db");
  {
    auto conn = internal::Connection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
    ASSERT_TRUE(conn.ok()) << conn.status();
    ASSERT_TRUE(internal::Migrate(**conn, internal::SchemaMigrations().first(4), "test").ok());
  }
  ASSERT_EQ(
      RawExec(path,
              "INSERT INTO sweeps VALUES (1, 's', 'x', 0, 'active', 0);"
              "INSERT INTO runs VALUES (1, 1, 0, 'llama', 'r', '{}', 100, 0, 'running', 1, "
              "3);"
              "INSERT INTO workers VALUES ('w', 'h', '{}', 0, 0, 0);"
              "INSERT INTO attempts (run_id, attempt, worker_id, lease_id, "
              "lease_deadline_ms, state, started_ms) VALUES (1, 1, 'w', 'l', 0, 'active', 0);"),
      SQLITE_OK);
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(RawQueryInt(path, "PRAGMA user_version"), LatestVersion());
  auto lease = (*store)->FindLease("l");
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(lease->log_path, "");
  EXPECT_TRUE((*store)->SetAttemptLogPath(1, 1, "/w/logs/run-1.attempt-1.log").ok());
  EXPECT_EQ((*store)->FindLease("l")->log_path, "/w/logs/run-1.attempt-1.log");
}

TEST(Migrations, InvalidPathsAreRefused) {
  EXPECT_EQ(Store::Open("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Store::Open(":memory:").status().code(), absl::StatusCode::kInvalidArgument);
  TempDir dir;
  auto missing_dir = Store::Open(dir.File("no/such/dir/flopwise.db"));
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_NE(missing_dir.status().message().find("cannot open"), std::string_view::npos)
      << missing_dir.status();
}

TEST(Errors, SqliteCodesMapToClearStatuses) {
  struct Case {
    int rc;
    absl::StatusCode code;
    std::string_view text;
  };
  for (const Case& c :
       {Case{SQLITE_FULL, absl::StatusCode::kResourceExhausted, "disk is full"},
        Case{SQLITE_READONLY, absl::StatusCode::kFailedPrecondition, "read-only"},
        Case{SQLITE_CORRUPT, absl::StatusCode::kDataLoss, "corrupt"},
        Case{SQLITE_NOTADB, absl::StatusCode::kDataLoss, "not a database"},
        Case{SQLITE_BUSY, absl::StatusCode::kUnavailable, "busy"},
        Case{SQLITE_IOERR_WRITE, absl::StatusCode::kUnavailable, "I/O error"},
        Case{SQLITE_CONSTRAINT_UNIQUE, absl::StatusCode::kAlreadyExists, "already exists"}}) {
    absl::Status status = internal::SqliteError(c.rc, "RecordMetrics", nullptr);
    EXPECT_EQ(status.code(), c.code) << status;
    const std::string message(status.message());
    EXPECT_TRUE(message.starts_with("db: RecordMetrics: ")) << status;
    EXPECT_NE(message.find(c.text), std::string::npos) << status;
  }
}

}  // namespace
}  // namespace flopwise::db

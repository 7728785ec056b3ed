// Shared by the db tests: a temporary directory per test and small builders.
#pragma once

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "db/store.h"
#include "gtest/gtest.h"

namespace flopwise::db::testing {

// A fresh directory under the system temp folder, removed with its files.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "flopwise-db-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "cannot create " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Runs SQL on the file through a separate plain connection (what an operator
// with the sqlite3 shell would do). Returns the SQLite result code.
inline int RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open(path.c_str(), &db);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rc;
}

// The single integer a query returns through a separate connection, -1 on error.
inline int64_t RawQueryInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t value = -1;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

inline NewRun MakeRun(int index, const std::string& arch = "tnl") {
  NewRun run;
  run.index_in_sweep = index;
  run.arch = arch;
  run.name = arch + "-cpu-1-" + std::to_string(index);
  run.config_json = R"({"preset":"cpu-1","context":256})";
  run.token_budget = 1000000;
  run.priority = 0;
  run.max_attempts = 3;
  return run;
}

inline NewSweep MakeSweep(const std::string& name = "ladder") {
  NewSweep sweep;
  sweep.name = name;
  sweep.spec_yaml = "name: " + name + "\narchs: [tnl]\n";
  sweep.priority = 1;
  sweep.created_ms = 1700000000000;
  return sweep;
}

inline WorkerRecord MakeWorker(const std::string& id) {
  WorkerRecord worker;
  worker.worker_id = id;
  worker.hostname = id + ".local";
  worker.inventory_json = R"({"cores":8,"memory_bytes":17179869184,"gpus":[]})";
  worker.registered_ms = 1700000000000;
  worker.last_heartbeat_ms = 1700000000000;
  return worker;
}

inline NewAttempt MakeAttempt(int64_t run_id, const std::string& worker_id,
                              const std::string& lease_id, int64_t deadline_ms) {
  NewAttempt attempt;
  attempt.run_id = run_id;
  attempt.worker_id = worker_id;
  attempt.lease_id = lease_id;
  attempt.lease_deadline_ms = deadline_ms;
  attempt.started_ms = deadline_ms - 30000;
  return attempt;
}

// Metric rows at `steps`, with seq = 0, 1, ... + first_seq and loss falling with step.
inline std::vector<MetricRow> MetricRows(const std::vector<int64_t>& steps, int64_t first_seq = 0) {
  std::vector<MetricRow> rows;
  for (size_t i = 0; i < steps.size(); ++i) {
    MetricRow row;
    row.seq = first_seq + static_cast<int64_t>(i);
    row.step = steps[i];
    row.tokens = steps[i] * 8192;
    row.flops = 6.0 * 1e6 * static_cast<double>(row.tokens);
    row.loss = 10.0 / (1.0 + static_cast<double>(steps[i]));
    row.lr = 3e-4;
    row.grad_norm = 1.0;
    row.tokens_per_s = 50000;
    rows.push_back(row);
  }
  return rows;
}

inline CheckpointRow CheckpointAt(int64_t seq, int64_t step) {
  CheckpointRow row;
  row.seq = seq;
  row.step = step;
  row.tokens = step * 8192;
  row.flops = 6.0 * 1e6 * static_cast<double>(row.tokens);
  row.loss = 10.0 / (1.0 + static_cast<double>(step));
  row.path = "/runs/1/step-" + std::to_string(step);
  row.sha256 = std::string(64, 'a');
  return row;
}

}  // namespace flopwise::db::testing

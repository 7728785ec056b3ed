// Ingest throughput of db::Store::RecordMetrics (one transaction per batch)
// against the bare sqlite3 ceiling: the same table, one prepared INSERT, one
// transaction per batch, WAL with synchronous=NORMAL, no foreign-key checks
// and no supersede lookup. Prints rows/s of both and their ratio.
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "db/store.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int64_t rows = 200000;
  int batch = 100;
  int repeats = 3;
  std::string dir;
};

std::vector<flopwise::db::MetricRow> Batch(int64_t first_seq, int size) {
  std::vector<flopwise::db::MetricRow> rows(static_cast<size_t>(size));
  for (int i = 0; i < size; ++i) {
    flopwise::db::MetricRow& row = rows[static_cast<size_t>(i)];
    row.seq = first_seq + i;
    row.step = row.seq;
    row.tokens = row.seq * 8192;
    row.flops = 6.0e6 * static_cast<double>(row.tokens);
    row.loss = 10.0 / (1.0 + static_cast<double>(row.seq));
    row.lr = 3e-4;
    row.grad_norm = 1.0;
    row.tokens_per_s = 50000;
  }
  return rows;
}

// A fresh store with one run and an active attempt 1; returns the run id.
int64_t PrepareStore(flopwise::db::Store& store) {
  flopwise::db::NewSweep sweep{"bench", "name: bench\n", 0, 0};
  flopwise::db::NewRun run;
  run.arch = "tnl";
  run.name = "bench";
  run.config_json = "{}";
  run.token_budget = 1;
  std::vector<flopwise::db::NewRun> runs = {run};
  auto created = store.CreateSweep(sweep, runs);
  flopwise::db::WorkerRecord worker;
  worker.worker_id = "w";
  if (!created.ok() || !store.UpsertWorker(worker).ok()) {
    std::fprintf(stderr, "bench_db_ingest: cannot prepare the store: %s\n",
                 created.status().ToString().c_str());
    exit(1);
  }
  flopwise::db::NewAttempt attempt;
  attempt.run_id = created->run_ids[0];
  attempt.worker_id = "w";
  attempt.lease_id = "bench";
  if (!store.BeginAttempt(attempt).ok()) exit(1);
  return created->run_ids[0];
}

double StoreRowsPerSecond(const std::string& path, const Options& options) {
  auto store = flopwise::db::Store::Open(path);
  if (!store.ok()) {
    std::fprintf(stderr, "bench_db_ingest: %s\n", store.status().ToString().c_str());
    exit(1);
  }
  const int64_t run = PrepareStore(**store);
  const auto start = Clock::now();
  for (int64_t seq = 0; seq < options.rows; seq += options.batch) {
    auto inserted = (*store)->RecordMetrics(run, 1, Batch(seq, options.batch));
    if (!inserted.ok() || *inserted != options.batch) {
      std::fprintf(stderr, "bench_db_ingest: %s\n", inserted.status().ToString().c_str());
      exit(1);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(options.rows) / seconds;
}

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "bench_db_ingest: bare %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
  }
}

double BareRowsPerSecond(const std::string& path, const Options& options) {
  {
    // The same schema (and a run and attempt to report against).
    auto store = flopwise::db::Store::Open(path);
    if (!store.ok()) exit(1);
    PrepareStore(**store);
  }
  sqlite3* db = nullptr;
  Check(sqlite3_open(path.c_str(), &db), db, "open");
  Check(sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL", nullptr, nullptr,
                     nullptr),
        db, "pragma");
  sqlite3_stmt* insert = nullptr;
  Check(sqlite3_prepare_v2(db,
                           "INSERT INTO metrics (run_id, attempt, seq, step, tokens, flops, loss, "
                           "lr, grad_norm, tokens_per_s, superseded) "
                           "VALUES (1, 1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)",
                           -1, &insert, nullptr),
        db, "prepare");
  const auto start = Clock::now();
  for (int64_t seq = 0; seq < options.rows; seq += options.batch) {
    const auto rows = Batch(seq, options.batch);
    Check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
    for (const auto& row : rows) {
      sqlite3_bind_int64(insert, 1, row.seq);
      sqlite3_bind_int64(insert, 2, row.step);
      sqlite3_bind_int64(insert, 3, row.tokens);
      sqlite3_bind_double(insert, 4, row.flops);
      sqlite3_bind_double(insert, 5, row.loss);
      sqlite3_bind_double(insert, 6, row.lr);
      sqlite3_bind_double(insert, 7, row.grad_norm);
      sqlite3_bind_double(insert, 8, row.tokens_per_s);
      Check(sqlite3_step(insert), db, "insert");
      sqlite3_reset(insert);
    }
    Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return static_cast<double>(options.rows) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"db::Store metric ingest against bare sqlite3 inserts"};
  app.add_option("--rows", options.rows, "metric rows per measurement")->check(CLI::PositiveNumber);
  app.add_option("--batch", options.batch, "rows per RecordMetrics call / transaction")
      ->check(CLI::PositiveNumber);
  app.add_option("--repeats", options.repeats, "measurements of each (best is reported)")
      ->check(CLI::PositiveNumber);
  app.add_option("--dir", options.dir,
                 "directory for the temporary databases (default: system temp)");
  CLI11_PARSE(app, argc, argv);
  options.rows = (options.rows + options.batch - 1) / options.batch * options.batch;

  std::filesystem::path base = options.dir.empty() ? std::filesystem::temp_directory_path()
                                                   : std::filesystem::path(options.dir);
  std::string pattern = (base / "flopwise-bench-db-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::fprintf(stderr, "bench_db_ingest: cannot create a directory under %s\n",
                 base.string().c_str());
    return 1;
  }
  const std::filesystem::path dir = pattern;
  double best_store = 0;
  double best_bare = 0;
  for (int r = 0; r < options.repeats; ++r) {
    const std::string suffix = std::to_string(r) + ".db";
    best_bare =
        std::max(best_bare, BareRowsPerSecond((dir / ("bare-" + suffix)).string(), options));
    best_store =
        std::max(best_store, StoreRowsPerSecond((dir / ("store-" + suffix)).string(), options));
  }
  std::filesystem::remove_all(dir);
  std::printf("rows=%lld batch=%d repeats=%d (best of repeats)\n",
              static_cast<long long>(options.rows), options.batch, options.repeats);
  std::printf("bare sqlite3      %12.0f rows/s\n", best_bare);
  std::printf("Store::RecordMetrics %9.0f rows/s\n", best_store);
  std::printf("ratio store/bare  %12.2f\n", best_store / best_bare);
  return 0;
}

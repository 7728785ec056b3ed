// Eval jobs end to end: flopwise-coordinator and flopwise-worker as real
// processes on loopback with the stand-in trainer's eval command. The
// coordinator's database is read with plain SQL, as an operator would.
#include <sqlite3.h>

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/cluster.h"
#include "tests/integration/test_paths.h"
#include "worker/daemon/child_process.h"

namespace flopwise::testing {
namespace {

// The single integer `sql` returns on the coordinator's database, -1 on error.
int64_t QueryInt(const Cluster& cluster, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t value = -1;
  const std::string path = cluster.dir().Sub("coordinator.db");
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
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

class EvalJobsDaemonsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* program : {"flopwise-coordinator", "flopwise-worker", "flopwise-fake-train"}) {
      if (!HaveProgram(program)) GTEST_SKIP() << program << " is not built";
    }
  }
};

// A worker killed (SIGKILL) in the middle of an eval job: the job's lease
// expires, another worker runs it again, and every (task, metric) is stored
// once: the first lease's rows stay, the second adds only the rest.
TEST_F(EvalJobsDaemonsTest, KilledWorkersEvalJobIsLeasedAgainWithoutDuplicateRows) {
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  cluster.StartWorker("w1", {{"FLOPWISE_FAKE_EVAL_TASK_MS", "1500"}});
  const int64_t sweep =
      cluster.Submit(SweepSpec("eval-kill", "llama", "cpu-1", 20, 10) +
                     "evaluation: {tasks: [validation, needle, brown-continuation]}\n");
  ASSERT_NE(sweep, 0);
  // The final checkpoint's job runs on w1 and has reported its first task.
  ASSERT_TRUE(WaitFor([&] { return QueryInt(cluster, "SELECT count(*) FROM evals") > 0; }, 60))
      << cluster.CoordinatorLog();
  ASSERT_EQ(QueryInt(cluster, "SELECT count(*) FROM eval_jobs WHERE state = 'running'"), 1);
  cluster.KillWorker("w1");
  cluster.StartWorker("w2", {{"FLOPWISE_FAKE_EVAL_TASK_MS", "5"}});
  ASSERT_TRUE(WaitFor(
      [&] {
        return QueryInt(cluster, "SELECT count(*) FROM eval_jobs WHERE state = 'succeeded'") == 1;
      },
      60))
      << cluster.CoordinatorLog();

  EXPECT_EQ(QueryInt(cluster, "SELECT count(*) FROM eval_jobs"), 1);
  EXPECT_EQ(QueryInt(cluster, "SELECT attempts FROM eval_jobs"), 2);
  // validation: loss, perplexity, tokens; each needle mode: lengths[2],
  // accuracy_at_length[2], weighted_average_accuracy, niah_score, figure[0];
  // brown-continuation: documents, acc, acc_norm; every task: forward_tokens,
  // seconds.
  EXPECT_EQ(QueryInt(cluster, "SELECT count(*) FROM evals"), 5 + 2 * 9 + 5);
  EXPECT_EQ(QueryInt(cluster, "SELECT count(DISTINCT task) FROM evals"), 4);
  EXPECT_GE(QueryInt(cluster, "SELECT count(*) FROM evals WHERE job_attempt = 1"), 1);
  EXPECT_GE(QueryInt(cluster, "SELECT count(*) FROM evals WHERE job_attempt = 2"), 1);
  EXPECT_EQ(QueryInt(cluster,
                     "SELECT count(*) FROM evals WHERE metric = 'figure[0]' AND value IS NULL "
                     "AND text LIKE '%/eval/needle-%-step-20.svg'"),
            2);
  const v1::Run run = cluster.Runs(sweep).at(0);
  EXPECT_EQ(run.state(), v1::RUN_STATE_SUCCEEDED);
}

// A task file the worker cannot read fails the eval job with the path in its
// error; the training run is untouched.
TEST_F(EvalJobsDaemonsTest, UnreadableTaskFileFailsTheEvalJobNotTheRun) {
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  cluster.StartWorker("w1");
  const std::string missing = cluster.dir().Sub("tasks/missing.jsonl");
  const int64_t sweep = cluster.Submit(SweepSpec("eval-file", "llama", "cpu-1", 10, 5) +
                                       "evaluation: {tasks: [validation, " + missing + "]}\n");
  ASSERT_NE(sweep, 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        return QueryInt(cluster, "SELECT count(*) FROM eval_jobs WHERE state = 'failed'") == 1;
      },
      60))
      << cluster.CoordinatorLog();
  EXPECT_EQ(QueryInt(cluster, "SELECT count(*) FROM eval_jobs WHERE error LIKE '%task file " +
                                  missing + ": cannot read%'"),
            1);
  ASSERT_TRUE(cluster.WaitSweepFinished(sweep, 60));
  EXPECT_EQ(cluster.Runs(sweep).at(0).state(), v1::RUN_STATE_SUCCEEDED);
}

// The output and exit code of `flopwise ARGS...` against the cluster.
struct CliResult {
  std::string out;
  int exit_code = -1;
};
CliResult RunCli(const Cluster& cluster, std::vector<std::string> args) {
  workerd::SpawnOptions options;
  options.argv = {BinPath("flopwise")};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.argv.insert(options.argv.end(), {"--coordinator", cluster.address(), "--token-file",
                                           cluster.dir().Sub("client.token")});
  options.stderr_path = cluster.dir().Sub("cli.log");
  CliResult result;
  auto cli = workerd::ChildProcess::Spawn(options);
  if (!cli.ok()) return result;
  while (std::optional<std::string> line = (*cli)->ReadLine()) result.out += *line + "\n";
  result.exit_code = (*cli)->Wait().exit_code;
  return result;
}

// `flopwise eval` evaluates a finished sweep again (every checkpoint), waits
// and prints the results; `flopwise export --what evals` writes them.
TEST_F(EvalJobsDaemonsTest, EvalCommandEvaluatesAFinishedSweepAndExportWritesTheResults) {
  if (!HaveProgram("flopwise")) GTEST_SKIP() << "flopwise is not built";
  Cluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator()) << cluster.CoordinatorLog();
  cluster.StartWorker("w1");
  const int64_t sweep = cluster.Submit(SweepSpec("eval-again", "llama", "cpu-1", 20, 5));
  ASSERT_NE(sweep, 0);
  ASSERT_TRUE(cluster.WaitSweepFinished(sweep, 60)) << cluster.CoordinatorLog();
  const std::string id = std::to_string(sweep);

  CliResult bad = RunCli(cluster, {"eval", "--sweep", id, "--tasks", "mmlu-xyz"});
  EXPECT_NE(bad.exit_code, 0);
  const CliResult done = RunCli(cluster, {"eval", "--sweep", id, "--tasks", "validation,needle",
                                          "--checkpoints", "every", "2", "--wait"});
  EXPECT_EQ(done.exit_code, 0) << done.out;
  // Checkpoints at steps 5, 10, 15, 20: every 2nd is 10 and 20.
  EXPECT_NE(done.out.find("sweep " + id + ": 2 eval jobs queued"), std::string::npos) << done.out;
  for (const char* expected : {" 10 validation ", " 20 validation ", " 20 needle-standard "}) {
    EXPECT_NE(done.out.find(expected), std::string::npos) << expected << "\n" << done.out;
  }
  EXPECT_EQ(QueryInt(cluster, "SELECT count(*) FROM eval_jobs WHERE state = 'succeeded'"), 2);

  // --wait without --tasks queues nothing: it waits for the jobs there are.
  const CliResult waited = RunCli(cluster, {"eval", "--sweep", id, "--wait"});
  EXPECT_EQ(waited.exit_code, 0) << waited.out;
  EXPECT_NE(waited.out.find("sweep " + id + ": waiting for 2 eval jobs"), std::string::npos)
      << waited.out;
  EXPECT_NE(waited.out.find(" 20 validation "), std::string::npos) << waited.out;
  EXPECT_EQ(QueryInt(cluster, "SELECT count(*) FROM eval_jobs"), 2);
  EXPECT_NE(RunCli(cluster, {"eval", "--sweep", id}).exit_code, 0);

  const CliResult csv =
      RunCli(cluster, {"export", "--sweep", id, "--what", "evals", "--format", "csv"});
  EXPECT_EQ(csv.exit_code, 0);
  EXPECT_EQ(csv.out.rfind("sweep,run,run_id,arch,attempt,step,job,task,metric,value,text\n", 0), 0u)
      << csv.out;
  EXPECT_NE(csv.out.find(",llama,1,20,2,validation,loss,"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find("/eval/needle-easy-step-20.svg"), std::string::npos);
}

}  // namespace
}  // namespace flopwise::testing

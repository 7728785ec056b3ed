// Run plans as stored in runs.config_json: the protobuf JSON of a Run, and
// the plans of a version-1 database (a flat object) migrated to it on open.
#include <gtest/gtest.h>

#include "db/store.h"
#include "runspec/model_shape.h"
#include "server/run_plan.h"
#include "tests/db/db_test_util.h"

namespace flopwise::server {
namespace {

// What version 1 stored for a tnl run of the demo.
constexpr char kVersion1Plan[] = R"({"index_in_sweep":3,"name":"tnl-cpu-2-ctx256","grid":"grid0",
"arch":"tnl","preset":"cpu-2","layers":3,"d_model":96,"heads":3,"head_dim":32,"ffn_dim":256,
"vocab":256,"context":256,"gate_rank":32,"tpe_dim":0,"tpe_variant":"ssm",
"scaled_residual_init":false,"norm_affine":true,"v_act":"silu","lrpe_variant":"transnormer",
"batch_tokens":8192,"grad_accum":1,"total_tokens":286720,"lr":0.001,"weight_decay":0.1,
"beta1":0.9,"beta2":0.95,"min_lr":0.0001,"schedule":"cosine","warmup_tokens":16384,"seed":1,
"data_path":"data/brown","checkpoint_every_tokens":16384,"checkpoint_keep_last":2,
"log_every_steps":5,"eval_tasks":["validation"],"eval_every_checkpoint":false,
"params_non_embedding":350208,"params_embedding":24576,"flops_per_token":2.5e6,
"estimated_flops":7.1e11,"estimated_memory_bytes":93000000,"cpu_cores":1,"gpus":0,
"memory_bytes":93000000,"priority":0,"max_attempts":3})";

TEST(RunPlanStorage, VersionOnePlansAreMigratedToTheRunJson) {
  db::testing::TempDir dir;
  const std::string path = dir.File("flopwise.db");
  int64_t run_id = 0;
  {
    auto store = db::Store::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<db::NewRun> runs = {db::testing::MakeRun(3)};
    runs[0].config_json = kVersion1Plan;
    auto created = (*store)->CreateSweep(db::testing::MakeSweep(), runs);
    ASSERT_TRUE(created.ok()) << created.status();
    run_id = created->run_ids.at(0);
  }
  // Back to version 1: its evals table, none of the later tables, its version.
  ASSERT_EQ(db::testing::RawExec(
                path,
                "DROP TABLE evals; DROP TABLE eval_jobs; "
                "CREATE TABLE evals (run_id INTEGER NOT NULL REFERENCES runs (run_id), "
                "checkpoint_step INTEGER NOT NULL, task TEXT NOT NULL, metric TEXT NOT NULL, "
                "value REAL, created_ms INTEGER NOT NULL, "
                "PRIMARY KEY (run_id, checkpoint_step, task, metric)) WITHOUT ROWID; "
                "PRAGMA user_version = 1"),
            SQLITE_OK);

  auto store = db::Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto record = (*store)->GetRun(run_id);
  ASSERT_TRUE(record.ok()) << record.status();
  auto plan = RunPlanFromJson(record->config_json);
  ASSERT_TRUE(plan.ok()) << plan.status() << "\n" << record->config_json;
  EXPECT_EQ(plan->index_in_sweep(), 3);
  EXPECT_EQ(plan->name(), "tnl-cpu-2-ctx256");
  EXPECT_EQ(plan->params_non_embedding(), 350208);
  EXPECT_DOUBLE_EQ(plan->estimated_flops(), 7.1e11);
  EXPECT_EQ(plan->resources().cpu_cores(), 1);
  EXPECT_EQ(plan->resources().memory_bytes(), 93000000);
  EXPECT_EQ(plan->max_attempts(), 3);
  const v1::RunConfig& config = plan->config();
  EXPECT_EQ(config.total_tokens(), 286720);
  EXPECT_EQ(config.schedule(), v1::LR_SCHEDULE_COSINE);
  EXPECT_DOUBLE_EQ(config.min_lr(), 1e-4);
  EXPECT_EQ(config.checkpoint_keep_last(), 2);
  EXPECT_EQ(config.data_path(), "data/brown");
  auto model = runspec::ModelConfigFromShape(config.model());
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->arch, models::Arch::kTnl);
  EXPECT_EQ(model->layers, 3);
  EXPECT_TRUE(model->norm_affine);
  EXPECT_EQ(model->v_act, models::VAct::kSilu);
  EXPECT_FALSE(model->scaled_residual_init);
}

}  // namespace
}  // namespace flopwise::server

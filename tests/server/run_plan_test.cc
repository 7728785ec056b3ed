// Run plans as stored in runs.config_json: the protobuf JSON of a Run, and
// the plans of a version-1 database (a flat object) migrated to it on open.
#include <gtest/gtest.h>

#include "db/migrations.h"
#include "db/sqlite.h"
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
  const int64_t run_id = 1;
  {
    // A file of schema version 1 holding one sweep with one run.
    auto conn =
        db::internal::Connection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
    ASSERT_TRUE(conn.ok()) << conn.status();
    ASSERT_TRUE(
        db::internal::Migrate(**conn, db::internal::SchemaMigrations().first(1), "test").ok());
  }
  ASSERT_EQ(db::testing::RawExec(
                path, std::string("INSERT INTO sweeps VALUES (1, 'ladder', 'name: ladder', 1, "
                                  "'active', 0); INSERT INTO runs VALUES (1, 1, 3, 'tnl', "
                                  "'tnl-cpu-1-3', '") +
                          kVersion1Plan + "', 1000000, 0, 'pending', 0, 3);"),
            SQLITE_OK);
  ASSERT_EQ(db::testing::RawQueryInt(path, "PRAGMA user_version"), 1);

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

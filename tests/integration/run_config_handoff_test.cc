// A run's settings from the coordinator's expansion, through the config file
// the worker writes into the run directory, to flopwise-train's options: the
// model and every training setting arrive unchanged.
#include <filesystem>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "runspec/model_shape.h"
#include "runspec/proto_json.h"
#include "server/sweep_expand.h"
#include "tests/integration/test_paths.h"
#include "worker/daemon/trainer_args.h"
#include "worker/train/options.h"

namespace flopwise {
namespace {

constexpr char kSpec[] = R"(
name: handoff
vocab: 50304
data: {path: /data/shards}
architectures: [llama, tnl, hgrn2, cos2]
sizes: [cpu-1, {preset: cpu-2, layers: 2, name: shallow}]
contexts: [64]
tokens: 65536
batch_tokens: 1024
grad_accum: 2
checkpoint: {every_tokens: 16384, keep_last: 3}
log_every_steps: 4
seed: 11
optimizer: {lr: 1e-3, weight_decay: 0.05, beta1: 0.85, beta2: 0.99, schedule: cosine,
            warmup_tokens: 4096, min_lr: 1e-4}
model: {norm_affine: true, v_act: silu, lrpe_variant: xmixers, tpe_variant: none,
        embed_scale: true, scaled_residual_init: true}
)";

TEST(RunConfigHandoff, TheTrainerReadsWhatTheCoordinatorPlanned) {
  auto compiled = server::CompileSweep(kSpec, /*base_dir=*/"");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  ASSERT_EQ(compiled->runs.size(), 8u);
  const testing::TempDir dir;
  for (const server::RunPlan& plan : compiled->runs) {
    SCOPED_TRACE(plan.name());
    const std::string run_dir = dir.Sub(plan.name());
    std::filesystem::create_directories(run_dir);
    auto path = workerd::WriteRunConfig(plan.config(), run_dir);
    ASSERT_TRUE(path.ok()) << path.status();

    // What flopwise-train --config does with the file.
    v1::RunConfig read;
    ASSERT_TRUE(runspec::ReadProtoJsonFile(*path, &read).ok());
    train::TrainOptions options;
    train::ApplyRunConfig(read, &options);
    auto model = train::ResolveModelConfig(options);
    ASSERT_TRUE(model.ok()) << model.status();
    auto planned = runspec::ModelConfigFromShape(plan.config().model());
    ASSERT_TRUE(planned.ok()) << planned.status();
    EXPECT_EQ(*model, *planned);
    EXPECT_TRUE(model->embed_scale);
    EXPECT_TRUE(model->scaled_residual_init);
    EXPECT_EQ(model->norm_affine, model->arch != models::Arch::kLlama);
    EXPECT_EQ(model->v_act == models::VAct::kSilu, model->arch == models::Arch::kTnl);
    EXPECT_EQ(model->context, 64);
    EXPECT_EQ(model->vocab, 50304);

    EXPECT_EQ(options.data, "/data/shards");
    EXPECT_EQ(options.batch_tokens, 1024);
    EXPECT_EQ(options.grad_accum, 2);
    EXPECT_EQ(options.total_tokens, 65536);
    EXPECT_DOUBLE_EQ(options.lr, 1e-3);
    EXPECT_DOUBLE_EQ(options.weight_decay, 0.05);
    EXPECT_DOUBLE_EQ(options.beta1, 0.85);
    EXPECT_DOUBLE_EQ(options.beta2, 0.99);
    EXPECT_EQ(options.schedule, "cosine");
    EXPECT_DOUBLE_EQ(options.min_lr_ratio, 0.1);
    EXPECT_EQ(options.warmup_tokens, 4096);
    EXPECT_EQ(options.seed, 11u);
    EXPECT_EQ(options.checkpoint_every_tokens, 16384);
    EXPECT_EQ(options.keep_checkpoints, 3);
    EXPECT_EQ(options.log_every_steps, 4);
    EXPECT_EQ(options.precision, "fp32");
  }
}

// `precision: bf16` travels the same way, beside the device the worker picks.
TEST(RunConfigHandoff, Bf16PrecisionReachesTheTrainer) {
  const std::string spec = std::string(kSpec) + "precision: bf16\nresources: {gpus: 1}\n";
  auto compiled = server::CompileSweep(spec, /*base_dir=*/"");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  const testing::TempDir dir;
  const server::RunPlan& plan = compiled->runs[0];
  const std::string run_dir = dir.Sub(plan.name());
  std::filesystem::create_directories(run_dir);
  auto path = workerd::WriteRunConfig(plan.config(), run_dir);
  ASSERT_TRUE(path.ok()) << path.status();
  v1::RunConfig read;
  ASSERT_TRUE(runspec::ReadProtoJsonFile(*path, &read).ok());
  train::TrainOptions options;
  train::ApplyRunConfig(read, &options);
  EXPECT_EQ(options.precision, "bf16");
  // On the CPU the trainer refuses it, naming the flag.
  options.out = run_dir;
  auto model = train::ResolveModelConfig(options);
  ASSERT_TRUE(model.ok()) << model.status();
  const absl::Status refused = train::ValidateTrainOptions(options, *model);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(refused.message(), "--precision bf16: ")) << refused;
  options.device = "cuda";
  EXPECT_TRUE(train::ValidateTrainOptions(options, *model).ok());
}

}  // namespace
}  // namespace flopwise

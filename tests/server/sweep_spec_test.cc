// Sweep specs: every bad-spec kind names its exact field path, all problems
// are reported at once, and expansion is deterministic.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "models/accounting.h"
#include "models/model_flags.h"
#include "models/presets.h"
#include "runspec/model_shape.h"
#include "server/run_plan.h"
#include "server/sweep_expand.h"
#include "server/sweep_spec.h"

namespace flopwise::server {
namespace {

namespace v1 = ::flopwise::v1;

constexpr const char* kValidSpec = R"(
name: tiny
vocab: 256
data: {path: data/tiny}
architectures: [llama, tnl]
sizes: [cpu-1, cpu-2]
contexts: [64, 128]
tokens: 8192
batch_tokens: 1024
checkpoint: {every_tokens: 2048}
)";

// The folder the specs of these tests are submitted from.
constexpr char kBaseDir[] = "/home/alice/study";

absl::StatusOr<CompiledSweep> Compile(std::string_view yaml) {
  return CompileSweep(yaml, kBaseDir);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The problems of a spec that must not compile, one per line.
std::string Problems(const std::string& yaml) {
  auto compiled = Compile(yaml);
  EXPECT_FALSE(compiled.ok()) << "spec unexpectedly valid:\n" << yaml;
  if (compiled.ok()) return "";
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(compiled.status().message());
}

// The model a run trains.
models::ModelConfig ModelOf(const RunPlan& run) {
  auto model = runspec::ModelConfigFromShape(run.config().model());
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *model : models::ModelConfig();
}

// Replaces the first occurrence of `from` in the valid spec by `to`.
std::string Edit(const std::string& from, const std::string& to) {
  std::string spec = kValidSpec;
  const size_t at = spec.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return spec.replace(at, from.size(), to);
}

TEST(SweepSpec, ValidSpecExpandsToTheCrossProduct) {
  auto compiled = Compile(kValidSpec);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  ASSERT_EQ(compiled->runs.size(), 8u);
  EXPECT_EQ(compiled->runs[0].name(), "llama-cpu-1-ctx64");
  EXPECT_EQ(compiled->runs[1].name(), "llama-cpu-1-ctx128");
  EXPECT_EQ(compiled->runs[7].name(), "tnl-cpu-2-ctx128");
  for (size_t i = 0; i < compiled->runs.size(); ++i) {
    const RunPlan& run = compiled->runs[i];
    EXPECT_EQ(run.index_in_sweep(), static_cast<int>(i));
    EXPECT_EQ(run.config().total_tokens(), 8192);
    EXPECT_GT(run.params_non_embedding(), 0);
    EXPECT_GT(run.estimated_memory_bytes(), 0);
    EXPECT_DOUBLE_EQ(run.estimated_flops(), models::TrainFlopsPerTokenFormula(ModelOf(run)) * 8192);
  }
  EXPECT_GT(compiled->runs[2].params_non_embedding(), compiled->runs[0].params_non_embedding());
}

TEST(SweepSpec, ExpansionIsDeterministic) {
  auto first = Compile(kValidSpec);
  auto second = Compile(kValidSpec);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_EQ(first->runs.size(), second->runs.size());
  for (size_t i = 0; i < first->runs.size(); ++i) {
    EXPECT_EQ(RunPlanToJson(first->runs[i]), RunPlanToJson(second->runs[i]));
  }
}

TEST(SweepSpec, RunPlanRoundTripsThroughJson) {
  auto compiled = Compile(kValidSpec);
  ASSERT_TRUE(compiled.ok());
  const std::string json = RunPlanToJson(compiled->runs[3]);
  auto back = RunPlanFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(RunPlanToJson(*back), json);
  EXPECT_FALSE(RunPlanFromJson("[1, 2]").ok());
  EXPECT_FALSE(RunPlanFromJson(R"({"arch": "cos2", "layers": 2})").ok());  // not a Run
}

TEST(SweepSpec, TokensPerParamGivesWholeStepsProportionalToN) {
  auto compiled = Compile(Edit("tokens: 8192", "tokens_per_param: 20"));
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  for (const RunPlan& run : compiled->runs) {
    EXPECT_EQ(run.config().total_tokens() % 1024, 0) << run.name();
    EXPECT_NEAR(static_cast<double>(run.config().total_tokens()), 20.0 * run.params_non_embedding(),
                1024.0)
        << run.name();
  }
}

// The spec is held to the same token ceiling as the workers' reports
// (server/limits.h), so an accepted run can always report its progress.
TEST(SweepSpec, TokenCountsAboveTheLimitAreRefused) {
  EXPECT_NE(Problems(Edit("tokens: 8192", "tokens: 1e18"))
                .find("tokens: must be in [1, 10000000000000] (got 1000000000000000000)"),
            std::string::npos)
      << Problems(Edit("tokens: 8192", "tokens: 1e18"));
  EXPECT_NE(Problems(Edit("tokens: 8192", "tokens: 2e13")).find("tokens: must be in"),
            std::string::npos);
  EXPECT_TRUE(Compile(Edit("tokens: 8192", "tokens: 1T")).ok());
  const std::string per_param = Problems(Edit("tokens: 8192", "tokens_per_param: 1e12"));
  EXPECT_NE(per_param.find("tokens_per_param: gives llama cpu-1 more than 10000000000000 tokens"),
            std::string::npos)
      << per_param;
}

TEST(SweepSpec, MissingNameIsReported) {
  EXPECT_NE(Problems(Edit("name: tiny\n", "")).find("name: required"), std::string::npos);
}

TEST(SweepSpec, UnknownArchitectureNamesItsIndex) {
  EXPECT_NE(Problems(Edit("[llama, tnl]", "[llama, gpt]"))
                .find("architectures[1]: unknown architecture 'gpt'"),
            std::string::npos);
}

TEST(SweepSpec, ShapeProblemNamesTheSizeAndField) {
  const std::string spec =
      Edit("sizes: [cpu-1, cpu-2]",
           "sizes:\n  - cpu-1\n  - cpu-2\n  - {layers: 2, d_model: 100, heads: 8, ffn_dim: 256}");
  EXPECT_NE(Problems(spec).find("sizes[2].d_model: must be divisible by heads (8)"),
            std::string::npos);
}

// Sizes are held to the model's limit table (models/size_limits.h), each
// problem naming the size and the field.
TEST(SweepSpec, HugeCustomSizesAreRefusedWithTheirLimit) {
  const auto with_size = [](const std::string& size) {
    return Edit("sizes: [cpu-1, cpu-2]", "sizes:\n  - cpu-1\n  - " + size);
  };
  std::string problems =
      Problems(with_size("{layers: 100000, d_model: 1000000, heads: 8, ffn_dim: 4096}"));
  EXPECT_NE(problems.find("sizes[1].layers: must be at most 1024, "), std::string::npos)
      << problems;
  problems = Problems(with_size("{layers: 2, d_model: 1000000, heads: 8, ffn_dim: 256}"));
  EXPECT_NE(problems.find("sizes[1].d_model: must be at most 65536, "), std::string::npos)
      << problems;
  problems = Problems(with_size("{layers: 1024, d_model: 65536, heads: 512, ffn_dim: 262144}"));
  EXPECT_NE(problems.find("sizes[1].parameters: must be at most 1000000000000, "),
            std::string::npos)
      << problems;
}

// The memory estimate is for the micro-batch the trainer runs
// (batch_tokens / grad_accum), and a batch no machine holds saturates the
// estimate instead of wrapping it negative.
TEST(SweepSpec, MemoryEstimateIsForTheMicroBatchAndNeverNegative) {
  auto whole = Compile(kValidSpec);
  auto quarter = Compile(Edit("tokens: 8192", "tokens: 8192\ngrad_accum: 4"));
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_TRUE(quarter.ok()) << quarter.status();
  ASSERT_EQ(whole->runs.size(), quarter->runs.size());
  for (size_t i = 0; i < whole->runs.size(); ++i) {
    const RunPlan& run = quarter->runs[i];
    EXPECT_EQ(run.estimated_memory_bytes(),
              models::EstimateTrainMemoryBytes(ModelOf(run), 1024 / 4, 1))
        << run.name();
    EXPECT_LT(run.estimated_memory_bytes(), whole->runs[i].estimated_memory_bytes()) << run.name();
  }
  auto huge = Compile(R"(
name: huge-batch
vocab: 256
data: {path: data/tiny}
architectures: [llama]
sizes: [7B]
contexts: [8192]
tokens: 8e12
batch_tokens: 8e12
checkpoint: {every_tokens: 8e12}
)");
  ASSERT_TRUE(huge.ok()) << huge.status();
  EXPECT_EQ(huge->runs.at(0).estimated_memory_bytes(), int64_t{1} << 62);
  EXPECT_EQ(huge->runs.at(0).resources().memory_bytes(), int64_t{1} << 62);
}

TEST(SweepSpec, UnknownPresetIsReported) {
  EXPECT_NE(Problems(Edit("[cpu-1, cpu-2]", "[cpu-1, cpu-99]"))
                .find("sizes[1]: unknown preset 'cpu-99' for llama"),
            std::string::npos);
}

TEST(SweepSpec, TokensAndTokensPerParamConflict) {
  EXPECT_NE(Problems(Edit("tokens: 8192", "tokens: 8192\ntokens_per_param: 20"))
                .find("tokens_per_param: conflicts with tokens"),
            std::string::npos);
}

TEST(SweepSpec, MissingBudgetIsReported) {
  EXPECT_NE(Problems(Edit("tokens: 8192\n", "")).find("tokens: required (or tokens_per_param)"),
            std::string::npos);
}

TEST(SweepSpec, BadLearningRateIsReported) {
  EXPECT_NE(Problems(Edit("checkpoint:", "optimizer: {lr: -1}\ncheckpoint:"))
                .find("optimizer.lr: must be in (0, 1]"),
            std::string::npos);
}

TEST(SweepSpec, CheckpointKeepLastReachesEveryRun) {
  auto compiled = Compile(Edit("{every_tokens: 2048}", "{every_tokens: 2048, keep_last: 2}"));
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  for (const RunPlan& run : compiled->runs)
    EXPECT_EQ(run.config().checkpoint_keep_last(), 2) << run.name();
  auto plain = Compile(kValidSpec);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->runs[0].config().checkpoint_keep_last(), 0);  // default: keep every checkpoint
}

TEST(SweepSpec, NegativeKeepLastIsReported) {
  EXPECT_NE(Problems(Edit("{every_tokens: 2048}", "{every_tokens: 2048, keep_last: -1}"))
                .find("checkpoint.keep_last: "),
            std::string::npos);
}

TEST(SweepSpec, EvaluationSectionReachesEveryRunPlan) {
  auto compiled = Compile(
      Edit("checkpoint:",
           "priority: 4\nevaluation: {tasks: [validation, needle, tasks/piqa.jsonl], "
           "every_checkpoint: true, every_k: 2, validation_tokens: 64K, needle_lengths: [32, 64], "
           "needle_depths: [0, 0.5, 1], needle_trials: 2, seed: 7}\ncheckpoint:"));
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  ASSERT_FALSE(compiled->runs.empty());
  for (const RunPlan& run : compiled->runs) {
    const v1::EvaluationSpec& evaluation = run.evaluation();
    EXPECT_EQ(
        std::vector<std::string>(evaluation.tasks().begin(), evaluation.tasks().end()),
        (std::vector<std::string>{"validation", "needle", "/home/alice/study/tasks/piqa.jsonl"}));
    EXPECT_TRUE(evaluation.every_checkpoint());
    EXPECT_EQ(evaluation.every_k(), 2);
    EXPECT_EQ(evaluation.validation_tokens(), 64000);
    EXPECT_EQ(evaluation.priority(), 4);  // the sweep's, unless set
    EXPECT_EQ(evaluation.needle_lengths_size(), 2);
    EXPECT_EQ(evaluation.needle_depths_size(), 3);
    EXPECT_EQ(evaluation.needle_trials(), 2);
    EXPECT_EQ(evaluation.seed(), 7u);
    EXPECT_EQ(run.config().validation_tokens(), 64000);
    auto round_trip = RunPlanFromJson(RunPlanToJson(run));
    ASSERT_TRUE(round_trip.ok());
    EXPECT_EQ(round_trip->evaluation().tasks_size(), 3);
  }
  auto plain = Compile(kValidSpec);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->runs[0].evaluation().tasks_size(), 0);
  EXPECT_EQ(plain->runs[0].config().validation_tokens(), 0);
}

// Relative paths resolve against the folder the spec was submitted from
// (docs/api.md, "Paths"), so every plan holds absolute ones.
TEST(SweepSpec, RelativePathsResolveAgainstTheBaseDir) {
  auto compiled =
      Compile(Edit("data: {path: data/tiny}",
                   "data: {path: ./data/../data/tiny}\n"
                   "evaluation: {tasks: [validation, tasks/piqa.jsonl, /shared/arc.jsonl]}"));
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  ASSERT_FALSE(compiled->runs.empty());
  for (const RunPlan& run : compiled->runs) {
    EXPECT_EQ(run.config().data_path(), "/home/alice/study/data/tiny");
    EXPECT_EQ(
        std::vector<std::string>(run.evaluation().tasks().begin(), run.evaluation().tasks().end()),
        (std::vector<std::string>{"validation", "/home/alice/study/tasks/piqa.jsonl",
                                  "/shared/arc.jsonl"}));
  }
  // Absolute paths are kept as written and need no base.
  auto absolute = CompileSweep(Edit("data: {path: data/tiny}", "data: {path: /data//tiny}"), "");
  ASSERT_TRUE(absolute.ok()) << absolute.status();
  EXPECT_EQ(absolute->runs[0].config().data_path(), "/data//tiny");
  // Two spellings of one task file are one task.
  EXPECT_NE(Problems(Edit("checkpoint:",
                          "evaluation: {tasks: [tasks/a.jsonl, /home/alice/study/tasks/a.jsonl]}\n"
                          "checkpoint:"))
                .find("evaluation.tasks[1]: duplicate task \"/home/alice/study/tasks/a.jsonl\""),
            std::string::npos);
}

TEST(SweepSpec, RelativePathsWithoutABaseDirAreRefused) {
  auto compiled = CompileSweep(
      Edit("checkpoint:",
           "evaluation: {tasks: [validation, mmlu-xyz, tasks/piqa.jsonl]}\ncheckpoint:"),
      "");
  ASSERT_FALSE(compiled.ok());
  const std::string problems(compiled.status().message());
  for (const char* expected :
       {"data.path: \"data/tiny\" is relative; give an absolute path, or submit with `flopwise "
        "submit` from the folder it is relative to (it sends that folder as base_dir)",
        "evaluation.tasks[2]: \"tasks/piqa.jsonl\" is relative; "}) {
    EXPECT_NE(problems.find(expected), std::string::npos) << expected << "\n" << problems;
  }
  // Nothing expands ~, with or without a base.
  EXPECT_NE(Problems(Edit("data: {path: data/tiny}", "data: {path: ~/data/tiny}"))
                .find("data.path: \"~/data/tiny\" starts with ~, which nothing expands; give an "
                      "absolute path"),
            std::string::npos);
}

TEST(SweepSpec, EvaluationProblemsNameTheirFieldPaths) {
  const std::string problems =
      Problems(Edit("checkpoint:",
                    "evaluation: {tasks: [validation, mmlu-xyz, validation], every_k: 2, "
                    "needle_depths: [1.5], epochs: 3}\ncheckpoint:"));
  for (const char* expected :
       {"evaluation.tasks[1]: unknown task \"mmlu-xyz\" (known: validation, needle, needle-easy, "
        "needle-standard, brown-continuation, or a .jsonl task file)",
        "evaluation.tasks[2]: duplicate task \"validation\"",
        "evaluation.every_k: needs every_checkpoint: true",
        "evaluation.needle_depths[0]: must be in [0, 1]", "evaluation.epochs: unknown field"}) {
    EXPECT_NE(problems.find(expected), std::string::npos) << expected << "\n" << problems;
  }
  EXPECT_NE(Problems(Edit("checkpoint:", "evaluation: {every_checkpoint: true}\ncheckpoint:"))
                .find("evaluation.tasks: required"),
            std::string::npos);
}

TEST(SweepSpec, UnknownFieldIsReported) {
  EXPECT_NE(Problems(Edit("checkpoint:", "optimizer: {lrr: 0.1}\ncheckpoint:"))
                .find("optimizer.lrr: unknown field"),
            std::string::npos);
}

TEST(SweepSpec, BatchMustBeAMultipleOfTheContext) {
  EXPECT_NE(Problems(Edit("contexts: [64, 128]", "contexts: [64, 96]"))
                .find("contexts[1]: batch_tokens (1024) must be a multiple of context x "
                      "grad_accum (96)"),
            std::string::npos);
}

TEST(SweepSpec, EmptyContextsAreReported) {
  EXPECT_NE(Problems(Edit("[64, 128]", "[]")).find("contexts: must not be empty"),
            std::string::npos);
}

TEST(SweepSpec, BadScheduleIsReported) {
  EXPECT_NE(Problems(Edit("checkpoint:", "optimizer: {schedule: linear}\ncheckpoint:"))
                .find("optimizer.schedule: must be constant or cosine"),
            std::string::npos);
}

TEST(SweepSpec, MaxAttemptsOutOfRangeIsReported) {
  EXPECT_NE(Problems(Edit("vocab: 256", "vocab: 256\nmax_attempts: 0"))
                .find("max_attempts: must be in [1, 100] (got 0)"),
            std::string::npos);
}

TEST(SweepSpec, NonIntegerInAGridSizeNamesTheGridPath) {
  const std::string spec = Edit("sizes: [cpu-1, cpu-2]",
                                "sizes: [cpu-1]\ngrids:\n  - {name: a}\n  - name: b\n    sizes:\n"
                                "      - {layers: 2, d_model: 64, heads: eight, ffn_dim: 128}");
  EXPECT_NE(Problems(spec).find("grids[1].sizes[0].heads: must be an integer"), std::string::npos);
}

TEST(SweepSpec, MissingDataPathIsReported) {
  EXPECT_NE(Problems(Edit("data: {path: data/tiny}\n", "")).find("data.path: required"),
            std::string::npos);
}

TEST(SweepSpec, BadMemoryIsReported) {
  EXPECT_NE(Problems(Edit("checkpoint:", "resources: {memory: lots}\ncheckpoint:"))
                .find("resources.memory: must be a byte count"),
            std::string::npos);
}

TEST(SweepSpec, ReplicasOutOfRangeAreReported) {
  EXPECT_NE(Problems(Edit("checkpoint:", "resources: {replicas: 0}\ncheckpoint:"))
                .find("resources.replicas: must be in [1, 1024] (got 0)"),
            std::string::npos);
  EXPECT_NE(Problems(Edit("checkpoint:", "resources: {replicas: two}\ncheckpoint:"))
                .find("resources.replicas: must be an integer"),
            std::string::npos);
}

TEST(SweepSpec, ReplicasSplitEveryBatchIntoWholeSequences) {
  EXPECT_NE(Problems(Edit("checkpoint:", "resources: {replicas: 16}\ncheckpoint:"))
                .find("contexts[1]: batch_tokens (1024) must be a multiple of context x "
                      "grad_accum x resources.replicas (2048)"),
            std::string::npos);
}

TEST(SweepSpec, ReplicasReachThePlanAndTheRunConfigWithPerRankMemory) {
  auto single = Compile(kValidSpec);
  auto ranks = Compile(Edit("checkpoint:", "resources: {replicas: 2}\ncheckpoint:"));
  ASSERT_TRUE(single.ok()) << single.status();
  ASSERT_TRUE(ranks.ok()) << ranks.status();
  ASSERT_EQ(single->runs.size(), ranks->runs.size());
  for (size_t i = 0; i < ranks->runs.size(); ++i) {
    const RunPlan& run = ranks->runs[i];
    EXPECT_EQ(run.resources().replicas(), 2) << run.name();
    EXPECT_EQ(run.config().replicas(), 2) << run.name();
    EXPECT_EQ(run.estimated_memory_bytes(),
              models::EstimateTrainMemoryBytes(ModelOf(run), 1024 / 2, 1))
        << run.name();
    EXPECT_EQ(single->runs[i].resources().replicas(), 0) << run.name();
    EXPECT_EQ(single->runs[i].config().replicas(), 0) << run.name();
  }
}

TEST(SweepSpec, Bf16PrecisionReachesEveryRunConfig) {
  auto bf16 = Compile(Edit("checkpoint:", "precision: bf16\nresources: {gpus: 1}\ncheckpoint:"));
  ASSERT_TRUE(bf16.ok()) << bf16.status();
  for (const RunPlan& run : bf16->runs) {
    EXPECT_EQ(run.config().precision(), v1::PRECISION_BF16) << run.name();
  }
  // fp32, named or not, leaves the field unset: PRECISION_UNSPECIFIED reads as fp32.
  for (const std::string& spec :
       {std::string(kValidSpec), Edit("checkpoint:", "precision: fp32\ncheckpoint:")}) {
    auto fp32 = Compile(spec);
    ASSERT_TRUE(fp32.ok()) << fp32.status();
    EXPECT_EQ(fp32->runs[0].config().precision(), v1::PRECISION_UNSPECIFIED);
  }
}

TEST(SweepSpec, BadPrecisionIsReported) {
  EXPECT_NE(Problems(Edit("checkpoint:", "precision: fp16\ncheckpoint:"))
                .find("precision: must be fp32 or bf16"),
            std::string::npos);
  // bf16 without a GPU: the CPU backend would refuse every run.
  EXPECT_NE(Problems(Edit("checkpoint:", "precision: bf16\ncheckpoint:"))
                .find("precision: bf16 runs on a GPU only (the CPU backend computes in fp32): "
                      "set resources.gpus to at least 1, or use fp32"),
            std::string::npos);
}

TEST(SweepSpec, InvalidYamlIsReported) {
  EXPECT_NE(Problems("name: [unclosed\n").find("spec: not valid YAML"), std::string::npos);
}

// yaml-cpp alone keeps the first of two equal keys, so the second `lr` would
// be dropped without a word.
TEST(SweepSpec, RepeatedKeyIsReportedWithItsLine) {
  const std::string spec = Edit("checkpoint:", "name: again\ncheckpoint:");
  EXPECT_NE(Problems(spec).find("duplicate key 'name' (first at line 2)"), std::string::npos)
      << Problems(spec);
}

// Bytes that are not UTF-8 would otherwise reach a protobuf string field.
TEST(SweepSpec, TextThatIsNotUtf8IsReported) {
  const std::string spec = Edit("checkpoint:", "# caf\xe9\ncheckpoint:");
  EXPECT_NE(Problems(spec).find("not valid UTF-8 (byte 0xe9)"), std::string::npos)
      << Problems(spec);
}

TEST(SweepSpec, EveryProblemIsReportedAtOnce) {
  std::string spec = Edit("[llama, tnl]", "[llama, gpt]");
  spec.replace(spec.find("[cpu-1, cpu-2]"), 14, "[cpu-1, cpu-99]");
  spec.replace(spec.find("every_tokens: 2048"), 18, "every_tokens: -5");
  const std::string problems = Problems(spec);
  EXPECT_NE(problems.find("architectures[1]: unknown architecture 'gpt'"), std::string::npos);
  EXPECT_NE(problems.find("sizes[1]: unknown preset 'cpu-99' for llama"), std::string::npos);
  EXPECT_NE(problems.find("checkpoint.every_tokens: must be in [1, 10000000000000] (got -5)"),
            std::string::npos);
}

TEST(SweepSpec, GridsInheritTopLevelValuesAndDropDuplicateRuns) {
  const std::string spec = Edit("sizes: [cpu-1, cpu-2]",
                                "sizes: [cpu-1]\ngrids:\n  - {name: base}\n"
                                "  - {name: again, contexts: [64, 256]}");
  auto compiled = Compile(spec);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  // base: 2 archs x ctx {64, 128}; again: 2 archs x ctx {64 (duplicate), 256}.
  ASSERT_EQ(compiled->runs.size(), 6u);
  std::set<std::string> names;
  for (const RunPlan& run : compiled->runs) names.insert(run.name());
  EXPECT_EQ(names.size(), 6u);
  EXPECT_TRUE(names.contains("tnl-cpu-1-ctx256"));
}

// One cpu-1 run per architecture at context 64 with every flag of `model`
// away from its default.
constexpr const char* kFlagsSpec = R"(
name: flags
vocab: 256
data: {path: data/tiny}
architectures: [llama, tnl, hgrn2, cos2]
sizes: [cpu-1]
contexts: [64]
tokens: 8192
batch_tokens: 1024
checkpoint: {every_tokens: 2048}
model:
  tpe_variant: none
  scaled_residual_init: true
  norm_affine: yes
  v_act: silu
  lrpe_variant: xmixers
  embed_scale: true
)";

// cpu-1 of `arch` at context 64 with embed_scale and the flags `set` applies.
models::ModelConfig Cpu1(models::Arch arch, void (*set)(models::ModelConfig*)) {
  auto config = models::FindPreset(arch, "cpu-1", 256, 64);
  EXPECT_TRUE(config.ok()) << config.status();
  config->embed_scale = true;  // kFlagsSpec's flag of every architecture
  set(&*config);
  models::FillDerivedFields(&*config);
  return *config;
}

TEST(SweepSpec, ModelFlagsReachTheRunsOfTheArchitecturesTheyName) {
  auto compiled = Compile(kFlagsSpec);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  ASSERT_EQ(compiled->runs.size(), 4u);
  struct Expected {
    const char* arch;
    const char* tpe_variant;
    bool norm_affine;
    const char* v_act;
    const char* lrpe_variant;
    models::ModelConfig config;  // for the accounting
  };
  const Expected expected[] = {
      {"llama", "ssm", false, "none", "transnormer",
       Cpu1(models::Arch::kLlama, [](models::ModelConfig* c) { c->scaled_residual_init = true; })},
      {"tnl", "ssm", true, "silu", "transnormer",
       Cpu1(models::Arch::kTnl,
            [](models::ModelConfig* c) {
              c->scaled_residual_init = true;
              c->norm_affine = true;
              c->v_act = models::VAct::kSilu;
            })},
      {"hgrn2", "ssm", true, "none", "transnormer",
       Cpu1(models::Arch::kHgrn2,
            [](models::ModelConfig* c) {
              c->scaled_residual_init = true;
              c->norm_affine = true;
            })},
      {"cos2", "none", true, "none", "xmixers",
       Cpu1(models::Arch::kCos2,
            [](models::ModelConfig* c) {
              c->scaled_residual_init = true;
              c->norm_affine = true;
              c->tpe_variant = models::TpeVariant::kNone;
              c->lrpe_variant = models::LrpeVariant::kXmixers;
            })},
  };
  for (size_t i = 0; i < 4; ++i) {
    const RunPlan& run = compiled->runs[i];
    const Expected& want = expected[i];
    const models::ModelConfig model = ModelOf(run);
    ASSERT_EQ(models::ArchName(model.arch), want.arch);
    EXPECT_EQ(model, want.config) << run.name();
    EXPECT_EQ(run.params_non_embedding(), models::NonEmbeddingParamsFormula(want.config))
        << run.name();
    EXPECT_DOUBLE_EQ(run.estimated_flops(), models::TrainFlopsPerTokenFormula(want.config) * 8192)
        << run.name();
    EXPECT_EQ(run.estimated_memory_bytes(),
              models::EstimateTrainMemoryBytes(want.config, 1024, run.resources().cpu_cores()))
        << run.name();
  }
  // cos2 without TPE: no TPE width, e·d fewer parameters than with it.
  EXPECT_EQ(compiled->runs[3].config().model().tpe_dim(), 0);
  const models::ModelConfig cos2_ssm = Cpu1(models::Arch::kCos2, [](models::ModelConfig*) {});
  EXPECT_TRUE(compiled->runs[0].config().model().embed_scale());
  EXPECT_EQ(models::NonEmbeddingParamsFormula(cos2_ssm) - compiled->runs[3].params_non_embedding(),
            int64_t{cos2_ssm.d_model} * cos2_ssm.tpe_dim);
}

TEST(SweepSpec, ModelFlagsDefaultToTheTrainersDefaults) {
  auto compiled = Compile(Edit("[llama, tnl]", "[tnl, cos2]"));
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  for (const RunPlan& run : compiled->runs) {
    const models::ModelConfig model = ModelOf(run);
    models::ModelConfig defaults;
    defaults.arch = model.arch;
    for (const models::ModelFlag& flag : models::ModelFlags()) {
      EXPECT_EQ(flag.get(model), flag.get(defaults)) << run.name() << " " << flag.name;
    }
  }
}

TEST(SweepSpec, ModelFlagsSurviveJsonAndReachTheRunConfig) {
  auto compiled = Compile(kFlagsSpec);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  const RunPlan& cos2 = compiled->runs[3];
  auto back = RunPlanFromJson(RunPlanToJson(cos2));
  ASSERT_TRUE(back.ok()) << back.status();
  const v1::ModelShape& shape = back->config().model();
  EXPECT_EQ(shape.tpe_variant(), "none");
  EXPECT_TRUE(shape.scaled_residual_init());
  EXPECT_TRUE(shape.norm_affine());
  EXPECT_EQ(shape.v_act(), "");  // tnl only: the default
  EXPECT_EQ(shape.lrpe_variant(), "xmixers");
  EXPECT_EQ(shape.tpe_dim(), 0);
  EXPECT_EQ(ModelOf(*back), ModelOf(cos2));
  const v1::ModelShape& tnl = compiled->runs[1].config().model();
  EXPECT_EQ(tnl.v_act(), "silu");
  EXPECT_EQ(tnl.tpe_variant(), "");
}

TEST(SweepSpec, GridModelKeysOverrideTheTopLevelOnesKeyByKey) {
  auto compiled = Compile(R"(
name: override
vocab: 256
data: {path: data/tiny}
architectures: [tnl]
sizes: [cpu-1]
contexts: [64]
tokens: 8192
batch_tokens: 1024
checkpoint: {every_tokens: 2048}
model: {norm_affine: true, v_act: silu}
grids:
  - {name: both}
  - {name: plain-v, model: {v_act: none}}
  - {name: srms, model: {norm_affine: false}}
)");
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  ASSERT_EQ(compiled->runs.size(), 3u);
  EXPECT_EQ(compiled->runs[0].name(), "tnl-cpu-1-ctx64");
  EXPECT_TRUE(ModelOf(compiled->runs[0]).norm_affine);
  EXPECT_EQ(ModelOf(compiled->runs[0]).v_act, models::VAct::kSilu);
  EXPECT_EQ(compiled->runs[1].name(), "tnl-cpu-1-ctx64-plain-v");
  EXPECT_TRUE(ModelOf(compiled->runs[1]).norm_affine);  // inherited
  EXPECT_EQ(ModelOf(compiled->runs[1]).v_act, models::VAct::kNone);
  EXPECT_EQ(compiled->runs[2].name(), "tnl-cpu-1-ctx64-srms");
  EXPECT_FALSE(ModelOf(compiled->runs[2]).norm_affine);
  EXPECT_EQ(ModelOf(compiled->runs[2]).v_act, models::VAct::kSilu);  // inherited
}

// Grids that differ only in a flag give distinct runs for the architectures
// the flag names; the others ignore it, so their runs are the same run.
TEST(SweepSpec, FlagsMakeDistinctRunsOnlyWhereTheyApply) {
  const std::string spec = Edit("sizes: [cpu-1, cpu-2]",
                                "sizes: [cpu-1]\ngrids:\n  - {name: paper}\n"
                                "  - {name: silu, model: {v_act: silu}}");
  auto compiled = Compile(spec);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  std::vector<std::string> names;
  for (const RunPlan& run : compiled->runs) {
    names.push_back(run.name() + " " + std::string(models::VActName(ModelOf(run).v_act)));
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"llama-cpu-1-ctx64 none", "llama-cpu-1-ctx128 none",
                                      "tnl-cpu-1-ctx64 none", "tnl-cpu-1-ctx128 none",
                                      "tnl-cpu-1-ctx64-silu silu", "tnl-cpu-1-ctx128-silu silu"}));
}

TEST(SweepSpec, BadModelFlagsNameTheirFieldPaths) {
  const std::string spec =
      Edit("sizes: [cpu-1, cpu-2]",
           "sizes: [cpu-1]\n"
           "model:\n"
           "  v_act: relu\n"
           "  norm_affine: maybe\n"
           "  lrpe_variant: [xmixers]\n"
           "  colour: red\n"
           "grids:\n"
           "  - {name: a, model: 3}\n"
           "  - {name: b, model: {tpe_variant: fft, scaled_residual_init: 1}}");
  EXPECT_EQ(Problems(spec),
            "model.v_act: unknown activation 'relu' (expected none or silu)\n"
            "model.norm_affine: must be true or false\n"
            "model.lrpe_variant: must be a string\n"
            "model.colour: unknown field\n"
            "grids[0].model: must be a mapping\n"
            "grids[1].model.tpe_variant: unknown variant 'fft' (expected ssm or none)\n"
            "grids[1].model.scaled_residual_init: must be true or false");
}

TEST(SweepSpec, ExampleSweepsCompile) {
  auto paper = Compile(ReadFile("examples/sweeps/paper-grid.yaml"));
  ASSERT_TRUE(paper.ok()) << paper.status();
  // 4 x 6 main runs, 4 x 3 context runs, 4 x 3 new aspect-ratio runs (1536/32 is the 1B preset).
  EXPECT_EQ(paper->runs.size(), 48u);
  // Each run's memory is planned for one micro-batch of its 3.9M-token step:
  // the largest (7B at 16,384 tokens a micro-step) fits a large node.
  for (const RunPlan& run : paper->runs) {
    const int64_t micro_tokens = run.config().batch_tokens() / run.config().grad_accum();
    EXPECT_EQ(micro_tokens, 16384) << run.name();
    EXPECT_EQ(
        run.estimated_memory_bytes(),
        models::EstimateTrainMemoryBytes(ModelOf(run), micro_tokens, run.resources().cpu_cores()))
        << run.name();
    EXPECT_LE(run.estimated_memory_bytes(), int64_t{512} << 30) << run.name();
  }
  auto smoke = Compile(ReadFile("examples/sweeps/smoke.yaml"));
  ASSERT_TRUE(smoke.ok()) << smoke.status();
  EXPECT_EQ(smoke->runs.size(), 4u);
  // Its comment prepares data/brown beside where it is submitted from.
  EXPECT_EQ(smoke->runs[0].config().data_path(), "/home/alice/study/data/brown/train");
  for (const RunPlan& run : smoke->runs) {
    EXPECT_GE(run.config().total_tokens() / run.config().checkpoint_every_tokens(), 3)
        << run.name();
  }
  // The demo: 4 architectures x 5 sizes, checkpoints every few percent.
  auto demo = Compile(ReadFile("examples/sweeps/cpu-demo.yaml"));
  ASSERT_TRUE(demo.ok()) << demo.status();
  EXPECT_EQ(demo->runs.size(), 20u);
  for (const RunPlan& run : demo->runs) {
    EXPECT_GE(run.config().total_tokens() / run.config().checkpoint_every_tokens(), 10)
        << run.name();
    EXPECT_GT(run.config().checkpoint_keep_last(), 0) << run.name();
  }
  auto demo_smoke = Compile(ReadFile("examples/sweeps/cpu-demo-smoke.yaml"));
  ASSERT_TRUE(demo_smoke.ok()) << demo_smoke.status();
  EXPECT_EQ(demo_smoke->runs.size(), 6u);
}

}  // namespace
}  // namespace flopwise::server

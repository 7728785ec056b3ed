// Sweep specs: every bad-spec kind names its exact field path, all problems
// are reported at once, and expansion is deterministic.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "server/run_plan.h"
#include "server/sweep_expand.h"
#include "server/sweep_spec.h"

namespace flopwise::server {
namespace {

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

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The problems of a spec that must not compile, one per line.
std::string Problems(const std::string& yaml) {
  auto compiled = CompileSweep(yaml);
  EXPECT_FALSE(compiled.ok()) << "spec unexpectedly valid:\n" << yaml;
  if (compiled.ok()) return "";
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(compiled.status().message());
}

// Replaces the first occurrence of `from` in the valid spec by `to`.
std::string Edit(const std::string& from, const std::string& to) {
  std::string spec = kValidSpec;
  const size_t at = spec.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return spec.replace(at, from.size(), to);
}

TEST(SweepSpec, ValidSpecExpandsToTheCrossProduct) {
  auto compiled = CompileSweep(kValidSpec);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  ASSERT_EQ(compiled->runs.size(), 8u);
  EXPECT_EQ(compiled->runs[0].name, "llama-cpu-1-ctx64");
  EXPECT_EQ(compiled->runs[1].name, "llama-cpu-1-ctx128");
  EXPECT_EQ(compiled->runs[7].name, "tnl-cpu-2-ctx128");
  for (size_t i = 0; i < compiled->runs.size(); ++i) {
    const RunPlan& run = compiled->runs[i];
    EXPECT_EQ(run.index_in_sweep, static_cast<int>(i));
    EXPECT_EQ(run.total_tokens, 8192);
    EXPECT_GT(run.params_non_embedding, 0);
    EXPECT_GT(run.estimated_memory_bytes, 0);
    EXPECT_DOUBLE_EQ(run.estimated_flops, run.flops_per_token * 8192);
  }
  EXPECT_GT(compiled->runs[2].params_non_embedding, compiled->runs[0].params_non_embedding);
}

TEST(SweepSpec, ExpansionIsDeterministic) {
  auto first = CompileSweep(kValidSpec);
  auto second = CompileSweep(kValidSpec);
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_EQ(first->runs.size(), second->runs.size());
  for (size_t i = 0; i < first->runs.size(); ++i) {
    EXPECT_EQ(RunPlanToJson(first->runs[i]), RunPlanToJson(second->runs[i]));
  }
}

TEST(SweepSpec, RunPlanRoundTripsThroughJson) {
  auto compiled = CompileSweep(kValidSpec);
  ASSERT_TRUE(compiled.ok());
  const std::string json = RunPlanToJson(compiled->runs[3]);
  auto back = RunPlanFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(RunPlanToJson(*back), json);
  EXPECT_FALSE(RunPlanFromJson("[1, 2]").ok());
}

TEST(SweepSpec, TokensPerParamGivesWholeStepsProportionalToN) {
  auto compiled = CompileSweep(Edit("tokens: 8192", "tokens_per_param: 20"));
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  for (const RunPlan& run : compiled->runs) {
    EXPECT_EQ(run.total_tokens % 1024, 0) << run.name;
    EXPECT_NEAR(static_cast<double>(run.total_tokens), 20.0 * run.params_non_embedding, 1024.0)
        << run.name;
  }
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
  auto compiled = CompileSweep(Edit("{every_tokens: 2048}", "{every_tokens: 2048, keep_last: 2}"));
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  for (const RunPlan& run : compiled->runs) EXPECT_EQ(run.checkpoint_keep_last, 2) << run.name;
  auto plain = CompileSweep(kValidSpec);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->runs[0].checkpoint_keep_last, 0);  // default: keep every checkpoint
}

TEST(SweepSpec, NegativeKeepLastIsReported) {
  EXPECT_NE(Problems(Edit("{every_tokens: 2048}", "{every_tokens: 2048, keep_last: -1}"))
                .find("checkpoint.keep_last: "),
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

TEST(SweepSpec, InvalidYamlIsReported) {
  EXPECT_NE(Problems("name: [unclosed\n").find("spec: not valid YAML"), std::string::npos);
}

TEST(SweepSpec, EveryProblemIsReportedAtOnce) {
  std::string spec = Edit("[llama, tnl]", "[llama, gpt]");
  spec.replace(spec.find("[cpu-1, cpu-2]"), 14, "[cpu-1, cpu-99]");
  spec.replace(spec.find("every_tokens: 2048"), 18, "every_tokens: -5");
  const std::string problems = Problems(spec);
  EXPECT_NE(problems.find("architectures[1]: unknown architecture 'gpt'"), std::string::npos);
  EXPECT_NE(problems.find("sizes[1]: unknown preset 'cpu-99' for llama"), std::string::npos);
  EXPECT_NE(problems.find("checkpoint.every_tokens: must be at least 1 (got -5)"),
            std::string::npos);
}

TEST(SweepSpec, GridsInheritTopLevelValuesAndDropDuplicateRuns) {
  const std::string spec = Edit("sizes: [cpu-1, cpu-2]",
                                "sizes: [cpu-1]\ngrids:\n  - {name: base}\n"
                                "  - {name: again, contexts: [64, 256]}");
  auto compiled = CompileSweep(spec);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  // base: 2 archs x ctx {64, 128}; again: 2 archs x ctx {64 (duplicate), 256}.
  ASSERT_EQ(compiled->runs.size(), 6u);
  std::set<std::string> names;
  for (const RunPlan& run : compiled->runs) names.insert(run.name);
  EXPECT_EQ(names.size(), 6u);
  EXPECT_TRUE(names.contains("tnl-cpu-1-ctx256"));
}

TEST(SweepSpec, ExampleSweepsCompile) {
  auto paper = CompileSweep(ReadFile("examples/sweeps/paper-grid.yaml"));
  ASSERT_TRUE(paper.ok()) << paper.status();
  // 4 x 6 main runs, 4 x 3 context runs, 4 x 3 new aspect-ratio runs (1536/32 is the 1B preset).
  EXPECT_EQ(paper->runs.size(), 48u);
  auto smoke = CompileSweep(ReadFile("examples/sweeps/smoke.yaml"));
  ASSERT_TRUE(smoke.ok()) << smoke.status();
  EXPECT_EQ(smoke->runs.size(), 4u);
  for (const RunPlan& run : smoke->runs) {
    EXPECT_GE(run.total_tokens / run.checkpoint_every_tokens, 3) << run.name;
  }
  // The demo: 4 architectures x 5 sizes, checkpoints every few percent.
  auto demo = CompileSweep(ReadFile("examples/sweeps/cpu-demo.yaml"));
  ASSERT_TRUE(demo.ok()) << demo.status();
  EXPECT_EQ(demo->runs.size(), 20u);
  for (const RunPlan& run : demo->runs) {
    EXPECT_GE(run.total_tokens / run.checkpoint_every_tokens, 10) << run.name;
    EXPECT_GT(run.checkpoint_keep_last, 0) << run.name;
  }
  auto demo_smoke = CompileSweep(ReadFile("examples/sweeps/cpu-demo-smoke.yaml"));
  ASSERT_TRUE(demo_smoke.ok()) << demo_smoke.status();
  EXPECT_EQ(demo_smoke->runs.size(), 6u);
}

}  // namespace
}  // namespace flopwise::server

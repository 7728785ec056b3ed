// Parameter and FLOP accounting against docs/model-contract.md §8.3 (Table 7 with
// the fixes of §8.4) and the exact tensor count of §12.
#include "models/accounting.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iterator>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "models/layout.h"
#include "models/presets.h"
#include "models/size_limits.h"

namespace flopwise::models {
namespace {

struct Row {
  const char* size;
  double params_m[4];  // llama, tnl, hgrn2, cos2 (non-embedding, millions)
  double pflops[4];    // per step at b = 480, n = 8192
};

// docs/model-contract.md §8.3.
const Row kTable[] = {
    {"70M", {20.45, 21.23, 20.45, 21.30}, {1.6, 0.5, 0.5, 0.5}},
    {"160M", {84.93, 87.29, 84.94, 87.39}, {5.6, 2.2, 2.1, 2.3}},
    {"410M", {333.97, 327.68, 334.00, 327.81}, {18.0, 7.9, 8.0, 8.1}},
    {"1B", {905.97, 918.55, 906.02, 918.75}, {40.4, 22.3, 22.0, 22.7}},
    {"3B", {2775.45, 2798.39, 2775.54, 2798.71}, {99.6, 66.6, 66.0, 67.4}},
    {"7B", {6476.01, 6509.56, 6476.14, 6510.08}, {202.7, 154.4, 153.6, 155.6}},
};

const Arch kArchs[] = {Arch::kLlama, Arch::kTnl, Arch::kHgrn2, Arch::kCos2};

TEST(Accounting, ReproducesPaperTableForAll24Presets) {
  for (int a = 0; a < 4; ++a) {
    for (const Row& row : kTable) {
      auto config = FindPreset(kArchs[a], row.size, kPaperVocab, kPaperContext);
      ASSERT_TRUE(config.ok()) << config.status();
      ASSERT_TRUE(config->Validate().ok()) << config->Validate();
      const std::string what = std::string(ArchName(kArchs[a])) + " " + row.size;
      const double params_m = NonEmbeddingParamsFormula(*config) / 1e6;
      EXPECT_NEAR(params_m, row.params_m[a], 0.0051) << what;
      const double pflops = TrainFlopsPerTokenFormula(*config) * 480.0 * 8192.0 / 1e15;
      EXPECT_NEAR(pflops, row.pflops[a], 0.051) << what;
    }
  }
}

TEST(Accounting, PaperPresetShapesFollowTheFixes) {
  auto tnl_410m = FindPreset(Arch::kTnl, "410M", kPaperVocab, kPaperContext);
  auto llama_410m = FindPreset(Arch::kLlama, "410M", kPaperVocab, kPaperContext);
  auto b1 = FindPreset(Arch::kHgrn2, "1B", kPaperVocab, kPaperContext);
  ASSERT_TRUE(tnl_410m.ok() && llama_410m.ok() && b1.ok());
  EXPECT_EQ(tnl_410m->layers, 25);
  EXPECT_EQ(llama_410m->layers, 26);
  EXPECT_EQ(b1->heads, 12);
  EXPECT_EQ(b1->ffn_dim, 4096);
  EXPECT_EQ(tnl_410m->gate_rank, 128);
  EXPECT_EQ(b1->gate_rank, 0);
}

TEST(Accounting, EmbeddingTermsAreSeparate) {
  auto c = FindPreset(Arch::kTnl, "70M", kPaperVocab, kPaperContext);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(EmbeddingParams(*c), int64_t{100280} * 512);
  EXPECT_DOUBLE_EQ(TrainFlopsPerTokenEmbedding(*c), 12.0 * 512 * 100280);
}

// The exact count sums the §12 tensors; it equals the formula for TNL and
// HGRN2 and differs by the tensors the paper does not count otherwise: the
// 2L+1 norm gains (LLaMA; the linear models with norm_affine) and cos2's
// learnable θ (not with lrpe_variant xmixers). No flag changes the formula.
TEST(Accounting, ExactCountMatchesFormulaUpToDocumentedTensors) {
  struct Flags {
    bool norm_affine;
    VAct v_act;
    LrpeVariant lrpe_variant;
  };
  const Flags kFlags[] = {{false, VAct::kNone, LrpeVariant::kTransnormer},
                          {true, VAct::kNone, LrpeVariant::kTransnormer},
                          {false, VAct::kSilu, LrpeVariant::kTransnormer},
                          {false, VAct::kNone, LrpeVariant::kXmixers},
                          {true, VAct::kSilu, LrpeVariant::kXmixers}};
  for (Arch arch : kArchs) {
    auto presets = CpuLadderPresets(arch);
    auto paper = PaperPresets(arch);
    presets.insert(presets.end(), paper.begin(), paper.end());
    for (const Preset& p : presets) {
      for (const Flags& f : kFlags) {
        ModelConfig c = p.config;
        c.norm_affine = f.norm_affine;
        c.v_act = f.v_act;
        c.lrpe_variant = f.lrpe_variant;
        const std::string what = std::string(ArchName(arch)) + " " + p.name +
                                 (f.norm_affine ? " norm_affine" : "") + " v_act " +
                                 std::string(VActName(f.v_act)) + " lrpe " +
                                 std::string(LrpeVariantName(f.lrpe_variant));
        int64_t summed = 0;
        for (const TensorSpec& t : ParamTensors(c)) summed += t.numel();
        EXPECT_EQ(summed, NonEmbeddingParamsExact(c) + EmbeddingParams(c)) << what;
        EXPECT_EQ(NonEmbeddingParamsFormula(c), NonEmbeddingParamsFormula(p.config)) << what;
        const int64_t L = c.layers, d = c.d_model;
        int64_t expected_gap = 0;
        if (arch == Arch::kLlama || f.norm_affine) expected_gap += (2 * L + 1) * d;
        if (arch == Arch::kCos2 && f.lrpe_variant == LrpeVariant::kTransnormer) {
          expected_gap += L * d;
        }
        EXPECT_EQ(NonEmbeddingParamsExact(c) - NonEmbeddingParamsFormula(c), expected_gap) << what;
      }
    }
  }
}

// One hand-counted case per flag: cpu-1 (L = 2, d = 64, g = 192, t = 16).
TEST(Accounting, ExactCountsWithFlagsByHand) {
  auto tnl = FindPreset(Arch::kTnl, "cpu-1", 1000, 64);
  auto cos2 = FindPreset(Arch::kCos2, "cpu-1", 1000, 64);
  ASSERT_TRUE(tnl.ok() && cos2.ok());
  ASSERT_EQ(tnl->layers, 2);
  ASSERT_EQ(tnl->d_model, 64);
  ASSERT_EQ(tnl->ffn_dim, 192);
  ASSERT_EQ(tnl->gate_rank, 16);
  // 4Ld² + 2Ldt + 3Ldg = 32768 + 4096 + 73728.
  const int64_t tnl_formula = 110592;
  EXPECT_EQ(NonEmbeddingParamsExact(*tnl), tnl_formula);
  tnl->norm_affine = true;  // + (2L + 1)·d = 320 gains
  EXPECT_EQ(NonEmbeddingParamsExact(*tnl), tnl_formula + 320);
  tnl->v_act = VAct::kSilu;  // no parameters
  EXPECT_EQ(NonEmbeddingParamsExact(*tnl), tnl_formula + 320);
  // cos2: + de (TPE, e = 16) = 1024, + θ L·d = 128.
  EXPECT_EQ(NonEmbeddingParamsExact(*cos2), tnl_formula + 1024 + 128);
  cos2->lrpe_variant = LrpeVariant::kXmixers;
  EXPECT_EQ(NonEmbeddingParamsExact(*cos2), tnl_formula + 1024);
  cos2->norm_affine = true;
  EXPECT_EQ(NonEmbeddingParamsExact(*cos2), tnl_formula + 1024 + 320);
}

TEST(Accounting, CpuLadderSpansSmallModels) {
  for (Arch arch : kArchs) {
    const auto presets = CpuLadderPresets(arch);
    ASSERT_GE(presets.size(), 6u);
    int64_t previous = 0;
    for (size_t i = 0; i < presets.size(); ++i) {
      const ModelConfig& c = presets[i].config;
      EXPECT_EQ(presets[i].name, "cpu-" + std::to_string(i + 1));
      EXPECT_TRUE(c.Validate().ok()) << c.Validate();
      EXPECT_GE(c.head_dim, 16);
      EXPECT_LE(c.head_dim, 64);
      const int64_t n = NonEmbeddingParamsExact(c);
      EXPECT_GT(n, previous) << presets[i].name;
      previous = n;
    }
    EXPECT_GE(NonEmbeddingParamsExact(presets.front().config), 80'000);
    EXPECT_LE(NonEmbeddingParamsExact(presets.front().config), 200'000);
    EXPECT_GE(NonEmbeddingParamsExact(presets.back().config), 10'000'000);
    EXPECT_LE(NonEmbeddingParamsExact(presets.back().config), 25'000'000);
  }
}

TEST(Accounting, MemoryEstimateGrowsWithBatchAndThreads) {
  auto c = FindPreset(Arch::kCos2, "cpu-2", 1000, 64);
  ASSERT_TRUE(c.ok());
  const int64_t small = EstimateTrainMemoryBytes(*c, 64, 1);
  const int64_t large = EstimateTrainMemoryBytes(*c, 640, 1);
  // Weights, gradients and two AdamW moments, plus the process's own 20 MiB.
  EXPECT_GT(small, 16 * (NonEmbeddingParamsExact(*c) + EmbeddingParams(*c)) + (int64_t{20} << 20));
  EXPECT_GT(large, small);
  EXPECT_EQ(EstimateTrainMemoryBytes(*c, 64, 3) - small, int64_t{8} << 20);
  EXPECT_EQ(EstimateTrainMemoryBytes(*c, 64, 0), small);  // at least one thread
}

// Every field of the limit table, one past its bound, is refused with the
// bound and its reason; a shape within every field's bound can still exceed
// the parameter bound.
TEST(Config, ValidateHoldsEveryFieldToItsLimit) {
  auto preset = FindPreset(Arch::kCos2, "cpu-2", 1000, 64);
  ASSERT_TRUE(preset.ok());
  ASSERT_TRUE(preset->Validate().ok());
  for (const SizeLimit& limit : SizeLimits()) {
    if (limit.field == "parameters") continue;
    ModelConfig c = *preset;
    int* fields[] = {&c.layers, &c.d_model, &c.heads,     &c.ffn_dim,
                     &c.vocab,  &c.context, &c.gate_rank, &c.tpe_dim};
    const std::string_view names[] = {"layers", "d_model", "heads",     "ffn_dim",
                                      "vocab",  "context", "gate_rank", "tpe_dim"};
    for (size_t i = 0; i < std::size(names); ++i) {
      if (names[i] == limit.field) *fields[i] = static_cast<int>(limit.max + 1);
    }
    const std::string message(c.Validate().message());
    EXPECT_EQ(
        message.rfind(absl::StrCat(std::string(limit.field), ": must be at most ", limit.max, ", ",
                                   std::string(limit.reason), " (got ", limit.max + 1, ")"),
                      0),
        0u)
        << message;
  }
  ModelConfig huge = *preset;
  huge.arch = Arch::kLlama;
  huge.layers = kMaxLayers;
  huge.d_model = kMaxDModel;
  huge.heads = kMaxHeads;
  huge.head_dim = kMaxDModel / kMaxHeads;
  huge.ffn_dim = kMaxFfnDim;
  huge.gate_rank = 0;
  huge.tpe_dim = 0;
  EXPECT_EQ(huge.Validate().message().rfind("parameters: must be at most 1000000000000, ", 0), 0u)
      << huge.Validate();
}

// A batch no machine holds saturates the estimate instead of wrapping it
// negative.
TEST(Accounting, MemoryEstimateNeverOverflows) {
  auto c = FindPreset(Arch::kCos2, "7B", 100280, 8192);
  ASSERT_TRUE(c.ok());
  const int64_t step = EstimateTrainMemoryBytes(*c, 3932160, 1);
  EXPECT_GT(step, int64_t{1} << 40);
  EXPECT_EQ(EstimateTrainMemoryBytes(*c, 10'000'000'000'000, 1), int64_t{1} << 62);
  // Exactly the arenas for sizes that fit: 4 parameter copies plus activations.
  auto small = FindPreset(Arch::kLlama, "cpu-1", 256, 64);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(EstimateTrainMemoryBytes(*small, 640, 1),
            4 * (4 * ParamFloats(*small) + ActivationFloats(*small, 640)) + (int64_t{20} << 20));
}

TEST(Config, ValidateNamesTheField) {
  auto c = FindPreset(Arch::kTnl, "cpu-3", 1000, 64);
  ASSERT_TRUE(c.ok());
  ModelConfig bad = *c;
  bad.heads = 3;
  EXPECT_EQ(bad.Validate().message(), "d_model: must be divisible by heads (3)");
  bad = *c;
  bad.vocab = 0;
  EXPECT_EQ(bad.Validate().message(), "vocab: must be positive (got 0)");
  bad = *c;
  bad.gate_rank = 0;
  EXPECT_NE(bad.Validate().message().find("gate_rank"), std::string_view::npos);
  EXPECT_FALSE(ParseArch("gpt").ok());
  EXPECT_EQ(ParseVAct("relu").status().message(),
            "v_act: unknown activation 'relu' (expected none or silu)");
  EXPECT_EQ(*ParseVAct("silu"), VAct::kSilu);
  EXPECT_EQ(ParseLrpeVariant("rope").status().message(),
            "lrpe_variant: unknown variant 'rope' (expected transnormer or xmixers)");
  EXPECT_EQ(*ParseLrpeVariant("xmixers"), LrpeVariant::kXmixers);
  EXPECT_EQ(*ParseLrpeVariant(LrpeVariantName(LrpeVariant::kTransnormer)),
            LrpeVariant::kTransnormer);
  EXPECT_EQ(*ParseArch("hgrn2"), Arch::kHgrn2);
  EXPECT_TRUE(absl::IsNotFound(FindPreset(Arch::kTnl, "cpu-99", 1000, 64).status()));
}

}  // namespace
}  // namespace flopwise::models

// The model flags of docs/model-contract.md (norm_affine D3, v_act D5,
// lrpe_variant D11, embed_scale D14) through every file the trainer writes:
// the weights' metadata and tensors (§12), full checkpoints with the optimizer
// state, and `check`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "kernels/backend.h"
#include "models/model.h"
#include "tests/models/model_test_util.h"
#include "tests/train/train_test_util.h"
#include "worker/train/check.h"
#include "worker/train/checkpoint.h"
#include "worker/train/model_io.h"
#include "worker/train/safetensors.h"

namespace flopwise::train {
namespace {

using models::Arch;
using models::LrpeVariant;
using models::VAct;

struct FlagCase {
  const char* name;
  Arch arch;
  bool norm_affine;
  VAct v_act;
  LrpeVariant lrpe_variant;
  nlohmann::json extra_metadata;  // the flag keys `config` must carry, and only these
  bool embed_scale = false;
};

const FlagCase kCases[] = {
    {"tnl norm_affine v_act silu",
     Arch::kTnl,
     true,
     VAct::kSilu,
     LrpeVariant::kTransnormer,
     {{"norm_affine", true}, {"v_act", "silu"}}},
    {"hgrn2 norm_affine",
     Arch::kHgrn2,
     true,
     VAct::kNone,
     LrpeVariant::kTransnormer,
     {{"norm_affine", true}}},
    {"cos2 norm_affine lrpe xmixers",
     Arch::kCos2,
     true,
     VAct::kNone,
     LrpeVariant::kXmixers,
     {{"norm_affine", true}, {"lrpe_variant", "xmixers"}}},
    {"cos2 lrpe xmixers",
     Arch::kCos2,
     false,
     VAct::kNone,
     LrpeVariant::kXmixers,
     {{"lrpe_variant", "xmixers"}}},
    {"tnl embed_scale",
     Arch::kTnl,
     false,
     VAct::kNone,
     LrpeVariant::kTransnormer,
     {{"embed_scale", true}},
     true},
    // Flags an architecture does not have are not part of its model.
    {"llama norm_affine v_act silu lrpe xmixers", Arch::kLlama, true, VAct::kSilu,
     LrpeVariant::kXmixers, nlohmann::json::object()},
};

constexpr int kBatch = 2, kContext = 8, kVocab = 50;

// The model tests' tiny shape with two layers (none of the flags changes a
// derived field).
models::ModelConfig CaseConfig(const FlagCase& f) {
  models::ModelConfig c = models::TinyConfig(f.arch, kVocab, kContext);
  c.layers = 2;
  c.norm_affine = f.norm_affine;
  c.v_act = f.v_act;
  c.lrpe_variant = f.lrpe_variant;
  c.embed_scale = f.embed_scale;
  return c;
}

// Calls fn(arena index) for every float of every §12 tensor (the embedding's
// padding rows, never stored, stay untouched).
template <typename Fn>
void ForEachTensorFloat(const models::Model& model, Fn&& fn) {
  for (const models::TensorSpec& t : model.tensors()) {
    for (int64_t i = 0; i < t.numel(); ++i) fn(t.offset + i);
  }
}

// A model with seeded init plus noise, so that gains and θ are not constants.
std::unique_ptr<models::Model> MakeModel(const models::ModelConfig& c, kernels::Backend* backend,
                                         uint64_t seed) {
  auto model = models::Model::Create(c, kBatch, backend);
  EXPECT_TRUE(model.ok()) << model.status();
  models::Rng rng(seed);
  (*model)->InitParams(&rng);
  ForEachTensorFloat(**model, [&](int64_t i) { (*model)->params()[i] += rng.NextNormal(0.01f); });
  return std::move(*model);
}

// How many of the first `floats` values differ bitwise; 0 means the arenas are equal.
// (Comparing through std::vector copies trips a GCC 12 -Wfree-nonheap-object false positive.)
int64_t Mismatches(const float* a, const float* b, int64_t floats) {
  int64_t differ = 0;
  for (int64_t i = 0; i < floats; ++i) differ += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return differ;
}

std::set<std::string> Names(const models::Model& model) {
  std::set<std::string> names;
  for (const models::TensorSpec& t : model.tensors()) names.insert(t.name);
  return names;
}

// The tensors §12 names for a config: gains with llama or norm_affine, θ with
// the learnable LRPE only.
void ExpectFlagTensors(const FlagCase& f, const std::set<std::string>& names) {
  const bool gains = f.arch == Arch::kLlama || f.norm_affine;
  const bool theta = f.arch == Arch::kCos2 && f.lrpe_variant == LrpeVariant::kTransnormer;
  for (const char* name : {"layers.0.norm1.weight", "layers.1.norm2.weight", "norm_f.weight"}) {
    EXPECT_EQ(names.count(name), gains ? 1u : 0u) << f.name << ": " << name;
  }
  EXPECT_EQ(names.count("layers.1.mixer.theta"), theta ? 1u : 0u) << f.name;
}

TEST(FlagsIo, WeightsRoundTripThroughMetadataAndTensors) {
  auto backend = kernels::MakeCpuBackend(1);
  for (const FlagCase& f : kCases) {
    const std::string dir = MakeTempDir("flags-weights");
    const models::ModelConfig c = CaseConfig(f);
    auto model = MakeModel(c, backend.get(), 3);
    ASSERT_TRUE(WriteArenas(*model, {{Arena::kParams, ""}}, dir + "/w.safetensors").ok());

    auto file = SafetensorsFile::Read(dir + "/w.safetensors");
    ASSERT_TRUE(file.ok()) << file.status();
    nlohmann::json config = nlohmann::json::parse(file->metadata().at("config"));
    for (const char* key :
         {"layers", "d_model", "heads", "ffn_dim", "vocab", "gate_rank", "tpe_dim"}) {
      ASSERT_TRUE(config.contains(key)) << f.name << ": " << key;
      config.erase(key);
    }
    EXPECT_EQ(config, f.extra_metadata) << f.name;
    std::set<std::string> stored;
    for (const auto& [name, entry] : file->entries()) stored.insert(name);
    EXPECT_EQ(stored, Names(*model)) << f.name;
    ExpectFlagTensors(f, stored);

    auto read_config = ConfigFromMetadata(*file, kContext);
    ASSERT_TRUE(read_config.ok()) << read_config.status();
    EXPECT_EQ(ModelMetadata(*read_config), ModelMetadata(c)) << f.name;
    EXPECT_EQ(read_config->has_norm_gains(), c.has_norm_gains()) << f.name;
    EXPECT_EQ(read_config->has_v_silu(), c.has_v_silu()) << f.name;
    EXPECT_EQ(read_config->has_lrpe_theta_buffer(), c.has_lrpe_theta_buffer()) << f.name;
    auto loaded = models::Model::Create(*read_config, kBatch, backend.get());
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    ASSERT_TRUE(ReadArena(*file, "", Arena::kParams, loaded->get()).ok()) << f.name;
    ASSERT_EQ((*loaded)->arena_floats(), model->arena_floats());
    EXPECT_EQ(Mismatches((*loaded)->params(), model->params(), model->arena_floats()), 0) << f.name;
  }
}

TEST(FlagsIo, CheckpointRoundTripsWithOptimizerStateAndRejectsOtherFlags) {
  auto backend = kernels::MakeCpuBackend(1);
  for (const FlagCase& f : kCases) {
    if (f.arch == Arch::kLlama) continue;
    const std::string dir = MakeTempDir("flags-ckpt");
    const models::ModelConfig c = CaseConfig(f);
    auto model = MakeModel(c, backend.get(), 4);
    models::Rng rng(9);
    ForEachTensorFloat(*model, [&](int64_t i) {
      model->adam_m()[i] = rng.NextNormal(1.0f);
      model->adam_v()[i] = std::abs(rng.NextNormal(1.0f));
    });
    TrainState state;
    state.step = 7;
    state.tokens = 112;
    auto written = WriteCheckpoint(dir, *model, state);
    ASSERT_TRUE(written.ok()) << written.status();

    auto loaded = MakeModel(c, backend.get(), 5);
    TrainState loaded_state;
    ASSERT_TRUE(LoadCheckpoint(written->path, loaded.get(), &loaded_state).ok()) << f.name;
    EXPECT_EQ(loaded_state.step, 7);
    const int64_t floats = model->arena_floats();
    EXPECT_EQ(Mismatches(loaded->params(), model->params(), floats), 0) << f.name;
    EXPECT_EQ(Mismatches(loaded->adam_m(), model->adam_m(), floats), 0) << f.name;
    EXPECT_EQ(Mismatches(loaded->adam_v(), model->adam_v(), floats), 0) << f.name;

    // The same shapes with the flags at their defaults: another model.
    models::ModelConfig plain = c;
    plain.norm_affine = false;
    plain.v_act = VAct::kNone;
    plain.lrpe_variant = LrpeVariant::kTransnormer;
    plain.embed_scale = false;
    auto other = MakeModel(plain, backend.get(), 5);
    const absl::Status s = LoadCheckpoint(written->path, other.get(), &loaded_state);
    ASSERT_FALSE(s.ok()) << f.name;
    EXPECT_NE(s.message().find("checkpoint holds"), std::string_view::npos) << s;
  }
}

TEST(FlagsIo, BadFlagValuesInMetadataNameTheKey) {
  const std::string dir = MakeTempDir("flags-bad");
  const float one = 1.0f;
  struct Bad {
    const char* arch;
    nlohmann::json flags;
    const char* message;
  };
  const Bad cases[] = {
      {"tnl",
       {{"v_act", "relu"}},
       "__metadata__.config.v_act: unknown activation 'relu' (expected none or silu)"},
      {"tnl", {{"v_act", 1}}, "__metadata__.config.v_act: not a string"},
      {"cos2",
       {{"lrpe_variant", "rope"}},
       "__metadata__.config.lrpe_variant: unknown variant 'rope' (expected transnormer or "
       "xmixers)"},
      {"hgrn2", {{"norm_affine", "yes"}}, "__metadata__.config.norm_affine: not a boolean"},
      {"cos2", {{"tpe_variant", "fft"}}, "__metadata__.config.tpe_variant: unknown variant 'fft'"},
  };
  for (const Bad& b : cases) {
    nlohmann::json config = {{"layers", 2}, {"d_model", 32},  {"heads", 2},  {"ffn_dim", 64},
                             {"vocab", 50}, {"gate_rank", 0}, {"tpe_dim", 0}};
    config.update(b.flags);
    const std::string path = dir + "/w.safetensors";
    ASSERT_TRUE(
        WriteSafetensors(path, {{"x", {1}, &one}}, {{"arch", b.arch}, {"config", config.dump()}})
            .ok());
    auto file = SafetensorsFile::Read(path);
    ASSERT_TRUE(file.ok());
    auto c = ConfigFromMetadata(*file, kContext);
    ASSERT_FALSE(c.ok()) << b.message;
    EXPECT_TRUE(absl::IsInvalidArgument(c.status()));
    EXPECT_NE(c.status().message().find(b.message), std::string_view::npos) << c.status();
  }
}

// `check` on the weights of each flagged model: the loss the model computes
// directly, and a gradient file with exactly that model's §12 tensors (norm
// gains included, no θ for xmixers), each with a non-zero gradient.
TEST(FlagsIo, CheckRoundTripsFlaggedWeights) {
  auto backend = kernels::MakeCpuBackend(1);
  for (const FlagCase& f : kCases) {
    const std::string dir = MakeTempDir("flags-check");
    const models::ModelConfig c = CaseConfig(f);
    auto model = MakeModel(c, backend.get(), 6);
    ASSERT_TRUE(WriteArenas(*model, {{Arena::kParams, ""}}, dir + "/w.safetensors").ok());
    models::Rng token_rng(8);
    std::vector<uint32_t> rows(kBatch * (kContext + 1));
    for (uint32_t& id : rows) id = static_cast<uint32_t>(token_rng.NextU64() % kVocab);
    std::ofstream(dir + "/t.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(rows.data()), rows.size() * 4);
    std::vector<int32_t> inputs, targets;
    for (int r = 0; r < kBatch; ++r) {
      for (int i = 0; i < kContext; ++i) {
        inputs.push_back(rows[r * (kContext + 1) + i]);
        targets.push_back(rows[r * (kContext + 1) + i + 1]);
      }
    }
    const double direct = model->Forward(inputs.data(), targets.data());

    CheckOptions o{
        dir + "/w.safetensors", dir + "/t.bin", kBatch, kContext, dir + "/g.safetensors", 1};
    auto loss = RunCheck(o);
    ASSERT_TRUE(loss.ok()) << loss.status();
    EXPECT_NEAR(*loss, direct, 1e-6 * direct) << f.name;
    auto grads = SafetensorsFile::Read(dir + "/g.safetensors");
    ASSERT_TRUE(grads.ok());
    std::set<std::string> names;
    for (const auto& [name, entry] : grads->entries()) {
      names.insert(name);
      std::vector<float> g;
      ASSERT_TRUE(grads->ReadFloats(name, &g).ok());
      EXPECT_TRUE(std::any_of(g.begin(), g.end(), [](float x) { return x != 0.0f; }))
          << f.name << ": " << name;
    }
    EXPECT_EQ(names, Names(*model)) << f.name;
    ExpectFlagTensors(f, names);
    EXPECT_EQ(grads->metadata(), ModelMetadata(c)) << f.name;
  }
}

}  // namespace
}  // namespace flopwise::train

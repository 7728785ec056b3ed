// Hand-made bad weights files: `check` and resume refuse them with the field
// or tensor at fault before sizing anything from them (docs/checkpoints.md,
// "Loading").
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "models/model.h"
#include "tests/train/train_test_util.h"
#include "tests/train/weights_edit.h"
#include "worker/train/check.h"
#include "worker/train/checkpoint.h"
#include "worker/train/model_io.h"

namespace flopwise::train {
namespace {

constexpr int kVocab = 10;
constexpr int kContext = 4;

models::ModelConfig SmallConfig(models::Arch arch) {
  models::ModelConfig c;
  c.arch = arch;
  c.layers = 2;
  c.d_model = 32;
  c.heads = 2;
  c.ffn_dim = 64;
  c.vocab = kVocab;
  c.context = kContext;
  models::FillDerivedFields(&c);
  return c;
}

// Random weights of a small model at DIR/w.safetensors and one row of tokens
// at DIR/t.bin: `check` on them succeeds.
CheckOptions WriteGoodCheck(const std::string& dir, models::Arch arch) {
  auto backend = kernels::MakeCpuBackend(1);
  auto model = models::Model::Create(SmallConfig(arch), 1, backend.get());
  EXPECT_TRUE(model.ok()) << model.status();
  models::Rng rng(3);
  (*model)->InitParams(&rng);
  EXPECT_TRUE(WriteArenas(**model, {{Arena::kParams, ""}}, dir + "/w.safetensors").ok());
  const std::vector<uint32_t> ids = {1, 2, 3, 4, 5};
  std::ofstream(dir + "/t.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(ids.data()), ids.size() * 4);
  return CheckOptions{dir + "/w.safetensors", dir + "/t.bin", 1, kContext, "", 1};
}

// The error `check` gives on a copy of the good weights with `config` merged
// into the metadata and `edit` applied to the tensors.
std::string CheckError(const CheckOptions& good, const nlohmann::json& config,
                       const TensorEdit& edit = nullptr) {
  CheckOptions bad = good;
  bad.weights = good.weights + ".bad";
  CopyWeights(good.weights, bad.weights, config, edit);
  auto loss = RunCheck(bad);
  EXPECT_FALSE(loss.ok()) << "loss " << *loss << " with " << config.dump();
  return loss.ok() ? "" : std::string(loss.status().message());
}

// The metadata is held to the file's tensors before any model is sized from
// it: a billion layers is an error naming the field, not gigabytes of layout.
TEST(BadWeights, MetadataDisagreeingWithTheTensorsNamesTheField) {
  const std::string dir = MakeTempDir("bad-meta");
  const CheckOptions good = WriteGoodCheck(dir, models::Arch::kHgrn2);
  ASSERT_TRUE(RunCheck(good).ok());
  const struct {
    nlohmann::json config;
    std::string message;
  } cases[] = {
      {{{"layers", 1000000000}},
       "__metadata__.config.layers: 1000000000 but the file has 2 layers of tensors"},
      {{{"layers", 3}}, "__metadata__.config.layers: 3 but the file has 2 layers of tensors"},
      {{{"d_model", 1000000}},
       "__metadata__.config.d_model: 1000000 but tensor 'embed.weight' has shape [10, 32]"},
      {{{"vocab", 11}},
       "__metadata__.config.vocab: 11 but tensor 'embed.weight' has shape [10, 32]"},
      {{{"ffn_dim", 1 << 20}},
       "__metadata__.config.ffn_dim: 1048576 but tensor 'layers.0.ffn.u.weight' has shape [64, "
       "32]"},
      {{{"layers", int64_t{1} << 32}}, "__metadata__.config.layers: 4294967296 is out of range"},
  };
  for (const auto& c : cases) {
    const std::string error = CheckError(good, c.config);
    EXPECT_NE(error.find(c.message), std::string::npos) << error;
    EXPECT_EQ(error.rfind(dir, 0), 0u) << "names the file: " << error;
  }
}

// Resume goes through the same check: a checkpoint whose metadata claims a
// billion layers is refused for that, not for differing from the flags.
TEST(BadWeights, ResumeHoldsTheMetadataToTheTensors) {
  const std::string dir = MakeTempDir("bad-resume");
  auto backend = kernels::MakeCpuBackend(1);
  auto model = models::Model::Create(SmallConfig(models::Arch::kTnl), 1, backend.get());
  ASSERT_TRUE(model.ok()) << model.status();
  models::Rng rng(4);
  (*model)->InitParams(&rng);
  auto written = WriteCheckpoint(dir, **model, TrainState{});
  ASSERT_TRUE(written.ok()) << written.status();
  const std::string weights = written->path + "/model.safetensors";
  CopyWeights(weights, weights, {{"layers", 1000000000}});
  TrainState state;
  const absl::Status s = LoadCheckpoint(written->path, model->get(), &state);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("__metadata__.config.layers: 1000000000 but the file has 2 layers"),
            std::string_view::npos)
      << s;
}

// A NaN or infinite weight is refused by name; finite weights whose loss is
// not finite are an error too, never `loss nan`.
TEST(BadWeights, NonFiniteWeightsAndLossesAreErrors) {
  const std::string dir = MakeTempDir("bad-nan");
  const CheckOptions good = WriteGoodCheck(dir, models::Arch::kLlama);
  ASSERT_TRUE(RunCheck(good).ok());
  const auto set = [](const std::string& tensor, int64_t index, float value) {
    return [=](const std::string& name, std::vector<float>* values) {
      if (name == tensor) values->at(index) = value;
    };
  };
  std::string error = CheckError(
      good, {}, set("layers.0.mixer.q.weight", 3, std::numeric_limits<float>::quiet_NaN()));
  EXPECT_NE(error.find("tensor 'layers.0.mixer.q.weight' holds NaN at element 3"),
            std::string::npos)
      << error;
  error = CheckError(good, {}, set("embed.weight", 0, -std::numeric_limits<float>::infinity()));
  EXPECT_NE(error.find("tensor 'embed.weight' holds an infinity at element 0"), std::string::npos)
      << error;
  // Final-norm gains at the float maximum: the logits overflow.
  error = CheckError(good, {}, [](const std::string& name, std::vector<float>* values) {
    if (name == "norm_f.weight") values->assign(values->size(), std::numeric_limits<float>::max());
  });
  EXPECT_EQ(error.rfind("loss is ", 0), 0u) << error;
}

}  // namespace
}  // namespace flopwise::train

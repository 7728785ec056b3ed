// The evaluator's loader goes through the same checks of a weights file as
// `check` and resume (docs/checkpoints.md): metadata held to the tensors, no
// NaN weights.
#include "worker/eval/checkpoint_model.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "tests/eval/eval_test_util.h"
#include "tests/train/weights_edit.h"

namespace flopwise::eval {
namespace {

TEST(CheckpointModelTest, LoadRefusesMetadataThatDisagreesWithTheTensors) {
  const std::string dir = MakeTempDir("load-meta");
  WriteRandomWeights(models::Arch::kTnl, 50, dir + "/w.safetensors", 1);
  ASSERT_TRUE(CheckpointModel::Load(dir + "/w.safetensors", 16, 1, 1).ok());
  train::CopyWeights(dir + "/w.safetensors", dir + "/bad.safetensors", {{"layers", 1000000000}});
  auto model = CheckpointModel::Load(dir + "/bad.safetensors", 16, 1, 1);
  ASSERT_FALSE(model.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(model.status())) << model.status();
  EXPECT_NE(model.status().message().find(
                "__metadata__.config.layers: 1000000000 but the file has 2 layers of tensors"),
            std::string_view::npos)
      << model.status();
}

TEST(CheckpointModelTest, LoadRefusesNanWeights) {
  const std::string dir = MakeTempDir("load-nan");
  WriteRandomWeights(models::Arch::kCos2, 50, dir + "/w.safetensors", 2);
  train::CopyWeights(dir + "/w.safetensors", dir + "/nan.safetensors", {},
                     [](const std::string& name, std::vector<float>* values) {
                       if (name == "embed.weight") {
                         (*values)[7] = std::numeric_limits<float>::quiet_NaN();
                       }
                     });
  auto model = CheckpointModel::Load(dir + "/nan.safetensors", 16, 1, 1);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("tensor 'embed.weight' holds NaN at element 7"),
            std::string_view::npos)
      << model.status();
}

}  // namespace
}  // namespace flopwise::eval

// Whole-model loss and every parameter gradient of the four architectures (and
// their flag variants) at the tiny configurations: the CUDA backend against
// the CPU backend from the same weights and tokens. Skipped without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "models/model.h"
#include "tests/cuda/cuda_model_util.h"
#include "tests/models/model_test_util.h"

namespace flopwise::kernels::testing {
namespace {

using models::Model;
using models::ModelVariant;

// Loss to 1e-5 relative; each gradient tensor to 1e-4 of its largest
// magnitude: every op meets 1e-5 (cuda_backend_test.cc) and the backward pass
// chains a dozen of them per layer (docs/kernels.md).
constexpr double kLossTolerance = 1e-5;
constexpr double kGradTolerance = 1e-4;

class CudaModelTest : public CudaModelFixture,
                      public ::testing::WithParamInterface<ModelVariant> {};

TEST_P(CudaModelTest, LossAndEveryGradientMatchTheCpu) {
  const models::ModelConfig config = GetParam().Config();
  const int batch = 2;
  ASSERT_NO_FATAL_FAILURE(MakeModels(config, batch));
  const int64_t n = int64_t{batch} * config.context;
  const std::vector<int32_t> inputs = models::RandomTokens(n, config.vocab, 5);
  const std::vector<int32_t> targets = models::RandomTokens(n, config.vocab, 6);
  double loss[2];
  for (Model* model : {cpu_model_.get(), gpu_model_.get()}) {
    model->ZeroGrads();
    loss[model == gpu_model_.get()] =
        model->ForwardBackward(inputs.data(), targets.data(), 1.0f / static_cast<float>(n));
  }
  EXPECT_NEAR(loss[1], loss[0], kLossTolerance * loss[0]);
  EXPECT_LE(MaxRelativeError(gpu_model_->token_losses(), cpu_model_->token_losses()),
            kLossTolerance);
  const std::vector<float> cpu_grads = Arena(*cpu_model_, cpu_model_->grads());
  const std::vector<float> gpu_grads = Arena(*gpu_model_, gpu_model_->grads());
  for (const models::TensorSpec& t : cpu_model_->tensors()) {
    EXPECT_LE(MaxRelativeError(Slice(gpu_grads, t), Slice(cpu_grads, t)), kGradTolerance) << t.name;
  }
}

// Three optimizer steps (gradient norm, AdamW) keep the two runs together.
TEST_P(CudaModelTest, TrainingStepsMatchTheCpu) {
  const models::ModelConfig config = GetParam().Config();
  const int batch = 2;
  ASSERT_NO_FATAL_FAILURE(MakeModels(config, batch));
  const int64_t n = int64_t{batch} * config.context;
  for (int step = 1; step <= 3; ++step) {
    const std::vector<int32_t> inputs = models::RandomTokens(n, config.vocab, 10 + step);
    const std::vector<int32_t> targets = models::RandomTokens(n, config.vocab, 20 + step);
    double loss[2], norm[2];
    for (Model* model : {cpu_model_.get(), gpu_model_.get()}) {
      const int side = model == gpu_model_.get();
      model->ZeroGrads();
      loss[side] =
          model->ForwardBackward(inputs.data(), targets.data(), 1.0f / static_cast<float>(n));
      norm[side] = std::sqrt(model->GradSquaredNorm());
      model->AdamWStep(models::AdamWOptions(), 1e-3f, step, 1.0f);
    }
    EXPECT_NEAR(loss[1], loss[0], kGradTolerance * loss[0]) << "step " << step;
    EXPECT_NEAR(norm[1], norm[0], kGradTolerance * norm[0]) << "step " << step;
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, CudaModelTest,
                         ::testing::ValuesIn(models::AllModelVariants()),
                         [](const ::testing::TestParamInfo<ModelVariant>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace flopwise::kernels::testing

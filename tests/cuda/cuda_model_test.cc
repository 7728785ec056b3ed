// Whole-model loss and every parameter gradient of the four architectures (and
// their flag variants) at the tiny configurations: the CUDA backend against
// the CPU backend from the same weights and tokens. Skipped without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "models/model.h"
#include "tests/cuda/cuda_test_util.h"
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

class CudaModelTest : public CudaVersusCpuTest, public ::testing::WithParamInterface<ModelVariant> {
 protected:
  // Both models from the same initialisation plus N(0, 0.05²) noise (away
  // from the symmetric init, so that every tensor has a sizeable gradient).
  void MakeModels(const models::ModelConfig& config, int batch) {
    for (Backend* be : both()) {
      auto model = Model::Create(config, batch, be);
      ASSERT_TRUE(model.ok()) << model.status();
      models::Rng rng(11);
      (*model)->InitParams(&rng);
      (be == cpu_.get() ? cpu_model_ : gpu_model_) = *std::move(model);
    }
    std::vector<float> params = Arena(*cpu_model_, cpu_model_->params());
    models::Rng noise(3);
    for (float& p : params) p += noise.NextNormal(0.05f);
    const int64_t bytes = static_cast<int64_t>(params.size() * sizeof(float));
    cpu_->CopyFromHost(cpu_model_->params(), params.data(), bytes);
    gpu_->CopyFromHost(gpu_model_->params(), params.data(), bytes);
  }

  static std::vector<float> Arena(Model& model, const float* arena) {
    std::vector<float> host(model.arena_floats());
    model.backend()->CopyToHost(host.data(), arena,
                                static_cast<int64_t>(host.size() * sizeof(float)));
    return host;
  }

  std::unique_ptr<Model> cpu_model_, gpu_model_;
};

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
    const auto begin = t.offset, end = t.offset + t.numel();
    EXPECT_LE(
        MaxRelativeError(std::vector<float>(gpu_grads.begin() + begin, gpu_grads.begin() + end),
                         std::vector<float>(cpu_grads.begin() + begin, cpu_grads.begin() + end)),
        kGradTolerance)
        << t.name;
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

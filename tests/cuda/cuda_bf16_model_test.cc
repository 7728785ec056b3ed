// Whole-model loss and every parameter gradient of the four architectures (and
// their flag variants) at the tiny configurations: the CUDA backend in bf16
// mode against the CPU backend in fp32, within the model-level bf16
// tolerances of docs/kernels.md ("Mixed precision"). Skipped without a GPU.
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

// Loss to 1% relative (each token's loss to 2% of the largest); each gradient
// tensor to 5% in relative L2 norm (‖g_gpu − g_cpu‖ ≤ 0.05‖g_cpu‖). A GEMM
// output element is off by up to 2^-6 of Σ|a||b| in the worst case and by
// ~2^-8 of its own size typically; a tiny model's backward pass chains about
// ten GEMMs per layer, so the errors compound to about ten times the typical
// one. A wrong op (an fp32 bug, a missed transpose) is off by O(1).
constexpr double kLossTolerance = 1e-2;
constexpr double kTokenLossTolerance = 2e-2;
constexpr double kGradTolerance = 5e-2;

// ‖gpu − cpu‖₂ / ‖cpu‖₂ (infinite when the GPU's values are not all finite).
double RelativeL2Error(const std::vector<float>& gpu, const std::vector<float>& cpu) {
  double diff = 0, ref = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    if (!std::isfinite(gpu[i])) return INFINITY;
    diff += (double(gpu[i]) - cpu[i]) * (double(gpu[i]) - cpu[i]);
    ref += double(cpu[i]) * cpu[i];
  }
  return ref > 0 ? std::sqrt(diff / ref) : std::sqrt(diff);
}

class CudaBf16ModelTest : public CudaModelFixture,
                          public ::testing::WithParamInterface<ModelVariant> {
 protected:
  CudaBackendOptions GpuOptions() const override {
    CudaBackendOptions options;
    options.bf16_gemms = true;
    return options;
  }
};

TEST_P(CudaBf16ModelTest, LossAndEveryGradientWithinBf16Tolerance) {
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
            kTokenLossTolerance);
  const std::vector<float> cpu_grads = Arena(*cpu_model_, cpu_model_->grads());
  const std::vector<float> gpu_grads = Arena(*gpu_model_, gpu_model_->grads());
  for (const models::TensorSpec& t : cpu_model_->tensors()) {
    EXPECT_LE(RelativeL2Error(Slice(gpu_grads, t), Slice(cpu_grads, t)), kGradTolerance) << t.name;
  }
}

// Three optimizer steps: the fp32 master weights and AdamW state keep the bf16
// run beside the fp32 one.
TEST_P(CudaBf16ModelTest, TrainingStepsStayWithinBf16Tolerance) {
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
    EXPECT_NEAR(loss[1], loss[0], kLossTolerance * loss[0]) << "step " << step;
    EXPECT_NEAR(norm[1], norm[0], kGradTolerance * norm[0]) << "step " << step;
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, CudaBf16ModelTest,
                         ::testing::ValuesIn(models::AllModelVariants()),
                         [](const ::testing::TestParamInfo<ModelVariant>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace flopwise::kernels::testing

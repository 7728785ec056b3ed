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

using models::ModelVariant;

// Loss to 1e-5 relative; each gradient tensor to 1e-4 of its largest
// magnitude: every op meets 1e-5 (cuda_backend_test.cc) and the backward pass
// chains a dozen of them per layer (docs/kernels.md).
constexpr ModelTolerances kTolerances = {
    .loss = 1e-5,
    .token_loss = 1e-5,
    .grad = 1e-4,
    .grad_error = MaxRelativeError,
    .step_loss = 1e-4,
    .grad_norm = 1e-4,
};

class CudaModelTest : public CudaModelFixture,
                      public ::testing::WithParamInterface<ModelVariant> {};

TEST_P(CudaModelTest, LossAndEveryGradientMatchTheCpu) {
  ExpectLossAndEveryGradientMatch(GetParam().Config(), kTolerances);
}

// Three optimizer steps (gradient norm, AdamW) keep the two runs together.
TEST_P(CudaModelTest, TrainingStepsMatchTheCpu) {
  ExpectTrainingStepsMatch(GetParam().Config(), kTolerances);
}

INSTANTIATE_TEST_SUITE_P(Architectures, CudaModelTest,
                         ::testing::ValuesIn(models::AllModelVariants()),
                         [](const ::testing::TestParamInfo<ModelVariant>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace flopwise::kernels::testing

// A model on each backend from the same weights: the fixture of the
// whole-model CUDA tests (cuda_model_test.cc, cuda_bf16_model_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "models/model.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/models/model_test_util.h"

namespace flopwise::kernels::testing {

// How far the GPU may be from the CPU, relative to the CPU's value.
struct ModelTolerances {
  double loss;        // the mean loss
  double token_loss;  // each token's loss, by MaxRelativeError
  // each gradient tensor, by `grad_error`
  double grad;
  double (*grad_error)(const std::vector<float>& gpu, const std::vector<float>& cpu);
  double step_loss;  // the loss over three AdamW steps
  double grad_norm;  // the gradient norm over three AdamW steps
};

class CudaModelFixture : public CudaVersusCpuTest {
 protected:
  // Both models from the same initialisation plus N(0, 0.05²) noise (away
  // from the symmetric init, so that every tensor has a sizeable gradient).
  void MakeModels(const models::ModelConfig& config, int batch) {
    for (Backend* be : both()) {
      auto model = models::Model::Create(config, batch, be);
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

  static std::vector<float> Arena(models::Model& model, const float* arena) {
    std::vector<float> host(model.arena_floats());
    model.backend()->CopyToHost(host.data(), arena,
                                static_cast<int64_t>(host.size() * sizeof(float)));
    return host;
  }

  // The elements of `arena` that tensor `t` holds.
  static std::vector<float> Slice(const std::vector<float>& arena, const models::TensorSpec& t) {
    return std::vector<float>(arena.begin() + t.offset, arena.begin() + t.offset + t.numel());
  }

  // One forward and backward pass of `config` (batch 2) on both models.
  void ExpectLossAndEveryGradientMatch(const models::ModelConfig& config,
                                       const ModelTolerances& tol) {
    const int batch = 2;
    ASSERT_NO_FATAL_FAILURE(MakeModels(config, batch));
    const int64_t n = int64_t{batch} * config.context;
    const std::vector<int32_t> inputs = models::RandomTokens(n, config.vocab, 5);
    const std::vector<int32_t> targets = models::RandomTokens(n, config.vocab, 6);
    double loss[2];
    for (models::Model* model : {cpu_model_.get(), gpu_model_.get()}) {
      model->ZeroGrads();
      loss[model == gpu_model_.get()] =
          model->ForwardBackward(inputs.data(), targets.data(), 1.0f / static_cast<float>(n));
    }
    EXPECT_NEAR(loss[1], loss[0], tol.loss * loss[0]);
    EXPECT_LE(MaxRelativeError(gpu_model_->token_losses(), cpu_model_->token_losses()),
              tol.token_loss);
    const std::vector<float> cpu_grads = Arena(*cpu_model_, cpu_model_->grads());
    const std::vector<float> gpu_grads = Arena(*gpu_model_, gpu_model_->grads());
    for (const models::TensorSpec& t : cpu_model_->tensors()) {
      EXPECT_LE(tol.grad_error(Slice(gpu_grads, t), Slice(cpu_grads, t)), tol.grad) << t.name;
    }
  }

  // Three optimizer steps (gradient norm, AdamW) on both models.
  void ExpectTrainingStepsMatch(const models::ModelConfig& config, const ModelTolerances& tol) {
    const int batch = 2;
    ASSERT_NO_FATAL_FAILURE(MakeModels(config, batch));
    const int64_t n = int64_t{batch} * config.context;
    for (int step = 1; step <= 3; ++step) {
      const std::vector<int32_t> inputs = models::RandomTokens(n, config.vocab, 10 + step);
      const std::vector<int32_t> targets = models::RandomTokens(n, config.vocab, 20 + step);
      double loss[2], norm[2];
      for (models::Model* model : {cpu_model_.get(), gpu_model_.get()}) {
        const int side = model == gpu_model_.get();
        model->ZeroGrads();
        loss[side] =
            model->ForwardBackward(inputs.data(), targets.data(), 1.0f / static_cast<float>(n));
        norm[side] = std::sqrt(model->GradSquaredNorm());
        model->AdamWStep(models::AdamWOptions(), 1e-3f, step, 1.0f);
      }
      EXPECT_NEAR(loss[1], loss[0], tol.step_loss * loss[0]) << "step " << step;
      EXPECT_NEAR(norm[1], norm[0], tol.grad_norm * norm[0]) << "step " << step;
    }
  }

  std::unique_ptr<models::Model> cpu_model_, gpu_model_;
};

}  // namespace flopwise::kernels::testing

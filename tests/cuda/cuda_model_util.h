// A model on each backend from the same weights: the fixture of the
// whole-model CUDA tests (cuda_model_test.cc, cuda_bf16_model_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "models/model.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/models/model_test_util.h"

namespace flopwise::kernels::testing {

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

  std::unique_ptr<models::Model> cpu_model_, gpu_model_;
};

}  // namespace flopwise::kernels::testing

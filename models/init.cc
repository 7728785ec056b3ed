// Model::InitParams: docs/model-contract.md §1.4 (and §4.2, §5.1, §5.2 for the
// model-specific tensors), each tensor as its TensorSpec::init says.
#include <cmath>
#include <vector>

#include "models/lrpe_theta.h"
#include "models/model.h"
#include "models/model_constants.h"

namespace flopwise::models {

void Model::InitParams(Rng* rng) {
  const ModelConfig& c = config_;
  const float residual_std =
      c.scaled_residual_init ? kInitStd / std::sqrt(2.0f * c.layers) : kInitStd;
  std::vector<float> host;
  for (const TensorSpec& t : layout_.tensors) {
    host.assign(t.numel(), 0.0f);
    switch (t.init) {
      case TensorInit::kNormal:
        for (float& x : host) x = rng->NextNormal(kInitStd);
        break;
      case TensorInit::kResidualOutput:
        for (float& x : host) x = rng->NextNormal(residual_std);
        break;
      case TensorInit::kOnes:
        host.assign(t.numel(), 1.0f);
        break;
      case TensorInit::kZeros:  // P = 0 (LB_l = l/L after the softmax); B = 0 (plain embeddings)
        break;
      case TensorInit::kLrpeTheta:
        host = TransnormerLrpeTheta(c.heads, c.head_dim);  // D11, global channel index
        break;
    }
    backend_->CopyFromHost(params_ + t.offset, host.data(), t.numel() * int64_t{sizeof(float)});
  }
  const int64_t bytes = layout_.floats * int64_t{sizeof(float)};
  backend_->Zero(grads_, bytes);
  backend_->Zero(adam_m_, bytes);
  backend_->Zero(adam_v_, bytes);
}

}  // namespace flopwise::models

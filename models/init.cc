// Model::InitParams: architectures.md §1.4 (and §4.2, §5.1, §5.2 for the
// model-specific tensors).
#include <cmath>
#include <vector>

#include "absl/strings/match.h"
#include "models/lrpe_theta.h"
#include "models/model.h"
#include "models/model_constants.h"

namespace flopwise::models {

void Model::InitParams(Rng* rng) {
  const ModelConfig& c = config_;
  const float residual_std =
      c.scaled_residual_init ? kInitStd / std::sqrt(2.0f * c.layers) : kInitStd;
  std::vector<float> host;
  for (const TensorSpec& t : tensors_) {
    host.assign(t.numel(), 0.0f);
    if (absl::EndsWith(t.name, "norm1.weight") || absl::EndsWith(t.name, "norm2.weight") ||
        t.name == "norm_f.weight") {
      host.assign(t.numel(), 1.0f);
    } else if (absl::EndsWith(t.name, "mixer.theta")) {
      host = TransnormerLrpeTheta(c.heads, c.head_dim);  // D11, global channel index
    } else if (t.name == "lower_bound" || t.name == "tpe.B") {
      // P = 0 (LB_l = l/L after the softmax); B = 0 (plain embeddings at init).
    } else {
      const bool residual_out =
          absl::EndsWith(t.name, "mixer.o.weight") || absl::EndsWith(t.name, "ffn.down.weight");
      const float std = residual_out ? residual_std : kInitStd;
      for (float& x : host) x = rng->NextNormal(std);
    }
    backend_->CopyFromHost(params_ + t.offset, host.data(), t.numel() * int64_t{sizeof(float)});
  }
  const int64_t bytes = arena_floats_ * int64_t{sizeof(float)};
  backend_->Zero(grads_, bytes);
  backend_->Zero(adam_m_, bytes);
  backend_->Zero(adam_v_, bytes);
}

}  // namespace flopwise::models

#include "models/accounting.h"

#include <algorithm>

#include "models/layout.h"

namespace flopwise::models {

int64_t NonEmbeddingParamsFormula(const ModelConfig& c) {
  const int64_t L = c.layers, d = c.d_model, g = c.ffn_dim, t = c.gate_rank;
  int64_t params = 4 * L * d * d + 3 * L * d * g;
  switch (c.arch) {
    case Arch::kLlama:
      break;
    case Arch::kTnl:
      params += 2 * L * d * t;
      break;
    case Arch::kHgrn2:
      params += L * d;
      break;
    case Arch::kCos2:
      params += 2 * L * d * t;
      if (c.has_tpe()) params += d * int64_t{c.tpe_dim};
      break;
  }
  return params;
}

int64_t NonEmbeddingParamsExact(const ModelConfig& c) {
  const int64_t L = c.layers, d = c.d_model;
  int64_t params = NonEmbeddingParamsFormula(c);
  if (c.has_norm_gains()) params += (2 * L + 1) * d;  // RMSNorm gains
  if (c.has_lrpe_theta_param()) params += L * d;      // LRPE θ, h × D per layer
  return params;
}

int64_t EmbeddingParams(const ModelConfig& c) { return int64_t{c.vocab} * c.d_model; }

double TrainFlopsPerTokenFormula(const ModelConfig& c) {
  const double L = c.layers, d = c.d_model, h = c.heads, n = c.context;
  const double base = 72.0 * L * d * d;
  switch (c.arch) {
    case Arch::kLlama:
      return base * (1.0 + n / (6.0 * d) + 5.0 / (18.0 * d));
    case Arch::kTnl:
      return base * (1.0 + 1.0 / (2.0 * h) + 5.0 / (18.0 * d));
    case Arch::kHgrn2:
      return base * (1.0 + 1.0 / (3.0 * h) + 29.0 / (72.0 * d));
    case Arch::kCos2:
      return base * (1.0 + 3.0 / (4.0 * h) + 23.0 / (72.0 * d)) +
             (c.has_tpe() ? 12.0 * d * d / h : 0.0);
  }
  return 0.0;
}

double TrainFlopsPerTokenEmbedding(const ModelConfig& c) {
  return 12.0 * double(c.d_model) * double(c.vocab);
}

int64_t EstimateTrainMemoryBytes(const ModelConfig& c, int64_t batch_tokens, int threads) {
  // The process itself, measured with flopwise-train's peak RSS on tiny
  // models: about 13 MiB for one thread and 2.5 to 4.5 MiB per further thread.
  constexpr int64_t kProcessBytes = int64_t{16} << 20;
  constexpr int64_t kPerThreadBytes = int64_t{4} << 20;
  const int64_t param_floats = ParamFloats(c);
  const int64_t activation_floats = ActivationFloats(c, batch_tokens);
  return int64_t{sizeof(float)} * (4 * param_floats + activation_floats) + kProcessBytes +
         kPerThreadBytes * std::max(1, threads);
}

}  // namespace flopwise::models

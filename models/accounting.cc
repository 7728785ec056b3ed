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
  constexpr double kProcessBytes = int64_t{16} << 20;
  constexpr double kPerThreadBytes = int64_t{4} << 20;
  // The activation arena is fixed buffers plus floats per token; in doubles,
  // so that no batch overflows (the sum is exact below 2^53 bytes).
  const double fixed_floats = static_cast<double>(ActivationFloats(c, 0));
  const double floats_per_token = static_cast<double>(ActivationFloats(c, 1)) - fixed_floats;
  const double bytes = sizeof(float) * (4.0 * static_cast<double>(ParamFloats(c)) + fixed_floats +
                                        floats_per_token * static_cast<double>(batch_tokens)) +
                       kProcessBytes + kPerThreadBytes * std::max(1, threads);
  constexpr double kMaxBytes = 0x1p62;  // 4 EiB: beyond any machine, and exact as a double
  return static_cast<int64_t>(std::min(bytes, kMaxBytes));
}

}  // namespace flopwise::models

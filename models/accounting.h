// Parameter counts and training FLOPs: the paper's formulas (docs/model-contract.md
// §8.1, §8.2; what scaling-law fits use) and the exact count of the tensors
// this implementation trains (§12). docs/models.md explains the differences.
#pragma once

#include <cstdint>

#include "models/config.h"

namespace flopwise::models {

// Every non-embedding tensor of docs/model-contract.md §12 for this config: the
// paper's formula plus the 2L+1 RMSNorm gains (d each; LLaMA, and the linear
// models with norm_affine) and cos2's learnable LRPE θ (L·h·D = L·d; not with
// lrpe_variant xmixers, whose θ is a constant), which the paper does not
// count. TNL and HGRN2 without norm_affine equal the formula.
int64_t NonEmbeddingParamsExact(const ModelConfig& config);

// Appendix A.1 with the config's g, t, e: LLaMA 4Ld² + 3Ldg; TNL + 2Ldt;
// HGRN2 + Ld (lower bound); cos2 + 2Ldt + de (de only with TPE).
int64_t NonEmbeddingParamsFormula(const ModelConfig& config);

// v·d: the tied embedding / LM head, unpadded vocabulary, counted once.
int64_t EmbeddingParams(const ModelConfig& config);

// Table 1's training FLOPs per token at n = context, non-embedding
// (72Ld²(1 + …) with g = 8d/3 and B = t = e = d/h substituted; cos2 adds the
// TPE term 12d²/h). HGRN2's per-step constant 12dL is dropped (it is not per
// token and below 1e-9 of the total at every preset).
double TrainFlopsPerTokenFormula(const ModelConfig& config);

// The paper's embedding term per token, 12·d·v (input lookup counted as a
// one-hot GEMM plus the LM head, ×3 for training). Table 7 leaves it out.
double TrainFlopsPerTokenEmbedding(const ModelConfig& config);

// Bytes the CPU trainer process needs for one model trained on `batch_tokens`
// tokens per micro-step (batch × context) with `threads` threads: parameters,
// gradients and both AdamW moments (padded vocabulary), the activation arena,
// and the process's own cost (code, libraries, per-thread BLAS buffers,
// measured in docs/perf.md). flopwise-train reports its peak beside it.
// REQUIRES: config.Validate() is OK. Never overflows: a batch no machine could
// hold gives at most 2^62 bytes.
int64_t EstimateTrainMemoryBytes(const ModelConfig& config, int64_t batch_tokens, int threads);

}  // namespace flopwise::models

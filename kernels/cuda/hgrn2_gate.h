// HGRN2's forget gate with a lower bound and the lower bound's layer softmax on
// the GPU (docs/model-contract.md §4.2, §7.2, §7.4). Same names and arguments as
// the Backend methods (kernels/backend.h) after the Context; deterministic in
// every mode (dlower_bound is a two-stage column sum, no atomics).
#pragma once

#include "kernels/cuda/cuda_context.h"

namespace flopwise::kernels::cuda {

// phi,log_f,k [rows,dim]; lower_bound [dim] in [0,1)
void Hgrn2GateForward(const Context& ctx, float* log_f, float* k, const float* phi,
                      const float* lower_bound, int rows, int dim);
// dphi [rows,dim] = (written); dlower_bound [dim] += Σ_rows (nullable). Scratch slot 0.
void Hgrn2GateBackward(const Context& ctx, float* dphi, float* dlower_bound, const float* dlog_f,
                       const float* dk, const float* phi, const float* lower_bound, int rows,
                       int dim);
// p,lower_bound [L,dim]
void Hgrn2LowerBoundForward(const Context& ctx, float* lower_bound, const float* p, int layers,
                            int dim);
// dp [L,dim] +=; dlower_bound [L,dim]
void Hgrn2LowerBoundBackward(const Context& ctx, float* dp, const float* dlower_bound,
                             const float* p, int layers, int dim);

}  // namespace flopwise::kernels::cuda

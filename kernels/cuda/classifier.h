// Fused softmax + cross-entropy over the tied unembedding on CUDA, the
// counterpart of kernels/cpu/classifier.h. Shapes in kernels/backend.h.
#pragma once

#include <cstdint>

#include "kernels/cuda/cuda_context.h"

namespace flopwise::kernels::cuda {

// losses [rows]; dx [rows,dim] += (nullable); dembed [vocab,dim] += (nullable);
// x [rows,dim]; embed [padded_vocab,dim]; targets [rows] (−1 ignored).
// Token slices of at most 2^25 logits (128 MiB, scratch slot 0): a cuBLAS GEMM
// for the slice's logits, one block per row turns them into
// grad_scale·(softmax − onehot) in place, two GEMMs add the gradients.
void ClassifierForwardBackward(const Context& ctx, float* losses, float* dx, float* dembed,
                               const float* x, const float* embed, const int32_t* targets, int rows,
                               int dim, int vocab, int padded_vocab, float grad_scale);

}  // namespace flopwise::kernels::cuda

// Fused softmax + cross-entropy over the tied unembedding (llm.c's fused
// classifier), templated on the element type. Shapes as in kernels/backend.h.
#pragma once

#include <cstdint>

#include "kernels/cpu/scratch.h"

namespace flopwise::kernels::cpu {

// losses [rows]; dx [rows,dim] += (nullable); dembed [vocab,dim] += (nullable);
// x [rows,dim]; embed [padded_vocab,dim]; targets [rows] (−1 ignored)
template <typename T>
void ClassifierForwardBackward(T* losses, T* dx, T* dembed, const T* x, const T* embed,
                               const int32_t* targets, int rows, int dim, int vocab, T grad_scale,
                               Scratch<T>& scratch);

}  // namespace flopwise::kernels::cpu

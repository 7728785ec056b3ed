// Tokens are processed in slices of at most kSliceElements/vocab rows: one
// GEMM gives the slice's logits, each row turns its logits into
// grad_scale·(softmax − onehot) in place (max-subtracted, fp32 or better), and
// two GEMMs push the slice's gradient into dx and dembed. Padded vocabulary
// rows are never part of the GEMMs.
#include "kernels/cpu/classifier.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/fast_math.h"

namespace flopwise::kernels::cpu {
namespace {

constexpr int64_t kSliceElements = int64_t{1} << 23;  // 32 MiB of float logits

}  // namespace

template <typename T>
void ClassifierForwardBackward(T* losses, T* dx, T* dembed, const T* x, const T* embed,
                               const int32_t* targets, int rows, int dim, int vocab, T grad_scale,
                               Scratch<T>& scratch) {
  const bool backward = dx != nullptr || dembed != nullptr;
  const int slice = static_cast<int>(
      std::clamp<int64_t>(kSliceElements / std::max(vocab, 1), 1, std::max(rows, 1)));
  T* logits = scratch.Get(static_cast<int64_t>(slice) * vocab);
  for (int r0 = 0; r0 < rows; r0 += slice) {
    const int n = std::min(slice, rows - r0);
    const T* xs = x + static_cast<int64_t>(r0) * dim;
    Gemm<T>(false, true, n, vocab, dim, T(1), xs, dim, embed, dim, T(0), logits, vocab);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < n; ++r) {
      T* z = logits + static_cast<int64_t>(r) * vocab;
      const int target = targets[r0 + r];
      if (target < 0) {
        losses[r0 + r] = T(0);
        if (backward) std::fill_n(z, vocab, T(0));
        continue;
      }
      const T target_logit = z[target];
      T hi = z[0];
#pragma omp simd reduction(max : hi)
      for (int c = 0; c < vocab; ++c) hi = z[c] > hi ? z[c] : hi;
      T sum = 0;
      if (backward) {
#pragma omp simd reduction(+ : sum)
        for (int c = 0; c < vocab; ++c) {
          const T e = Exp<T>(z[c] - hi);
          z[c] = e;
          sum += e;
        }
        const T factor = grad_scale / sum;
#pragma omp simd
        for (int c = 0; c < vocab; ++c) z[c] *= factor;
        z[target] -= grad_scale;
      } else {
#pragma omp simd reduction(+ : sum)
        for (int c = 0; c < vocab; ++c) sum += Exp<T>(z[c] - hi);
      }
      losses[r0 + r] = hi + std::log(sum) - target_logit;
    }
    if (!backward) continue;
    if (dx != nullptr) {
      Gemm<T>(false, false, n, dim, vocab, T(1), logits, vocab, embed, dim, T(1),
              dx + static_cast<int64_t>(r0) * dim, dim);
    }
    if (dembed != nullptr) {
      Gemm<T>(true, false, vocab, dim, n, T(1), logits, vocab, xs, dim, T(1), dembed, dim);
    }
  }
}

template void ClassifierForwardBackward<float>(float*, float*, float*, const float*, const float*,
                                               const int32_t*, int, int, int, float,
                                               Scratch<float>&);
template void ClassifierForwardBackward<double>(double*, double*, double*, const double*,
                                                const double*, const int32_t*, int, int, int,
                                                double, Scratch<double>&);

}  // namespace flopwise::kernels::cpu

#include "kernels/cpu/dense_ops.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/fast_math.h"

namespace flopwise::kernels::cpu {
template <typename T>
void MatmulForward(T* out, const T* inp, const T* weight, int rows, int in_dim, int out_dim) {
  Gemm<T>(false, true, rows, out_dim, in_dim, T(1), inp, in_dim, weight, in_dim, T(0), out,
          out_dim);
}

template <typename T>
void MatmulBackward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight, int rows,
                    int in_dim, int out_dim) {
  if (dinp != nullptr) {
    Gemm<T>(false, false, rows, in_dim, out_dim, T(1), dout, out_dim, weight, in_dim, T(1), dinp,
            in_dim);
  }
  if (dweight != nullptr) {
    Gemm<T>(true, false, out_dim, in_dim, rows, T(1), dout, out_dim, inp, in_dim, T(1), dweight,
            in_dim);
  }
}

template <typename T>
void EmbeddingForward(T* out, const int32_t* tokens, const T* embed, int rows, int dim) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    std::copy_n(embed + static_cast<int64_t>(tokens[r]) * dim, dim,
                out + static_cast<int64_t>(r) * dim);
  }
}

template <typename T>
void EmbeddingBackward(T* dembed, const T* dout, const int32_t* tokens, int rows, int dim) {
  // Threads own disjoint column ranges, so repeated tokens never race.
#pragma omp parallel
  {
    const int nt = omp_get_num_threads();
    const int tid = omp_get_thread_num();
    const int c0 = static_cast<int>(static_cast<int64_t>(dim) * tid / nt);
    const int c1 = static_cast<int>(static_cast<int64_t>(dim) * (tid + 1) / nt);
    for (int r = 0; r < rows; ++r) {
      T* dst = dembed + static_cast<int64_t>(tokens[r]) * dim;
      const T* src = dout + static_cast<int64_t>(r) * dim;
      for (int c = c0; c < c1; ++c) dst[c] += src[c];
    }
  }
}

template <typename T>
void RmsNormForward(T* out, T* rstd, const T* inp, const T* weight, int rows, int dim, T eps) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const T* x = inp + static_cast<int64_t>(r) * dim;
    T* y = out + static_cast<int64_t>(r) * dim;
    T sum_sq = 0;
#pragma omp simd reduction(+ : sum_sq)
    for (int c = 0; c < dim; ++c) sum_sq += x[c] * x[c];
    const T s = T(1) / std::sqrt(sum_sq / T(dim) + eps);
    rstd[r] = s;
    if (weight != nullptr) {
      for (int c = 0; c < dim; ++c) y[c] = x[c] * s * weight[c];
    } else {
      for (int c = 0; c < dim; ++c) y[c] = x[c] * s;
    }
  }
}

template <typename T>
void RmsNormBackward(T* dinp, T* dweight, const T* dout, const T* inp, const T* weight,
                     const T* rstd, int rows, int dim, Scratch<T>& scratch) {
  const bool want_dweight = weight != nullptr && dweight != nullptr;
  const int max_threads = omp_get_max_threads();
  T* partial = want_dweight ? scratch.Get(static_cast<int64_t>(max_threads) * dim) : nullptr;
#pragma omp parallel
  {
    const int tid = omp_get_thread_num();
    T* my_dw = want_dweight ? partial + static_cast<int64_t>(tid) * dim : nullptr;
    if (my_dw != nullptr) std::fill_n(my_dw, dim, T(0));
#pragma omp for schedule(static)
    for (int r = 0; r < rows; ++r) {
      const T* x = inp + static_cast<int64_t>(r) * dim;
      const T* dy = dout + static_cast<int64_t>(r) * dim;
      T* dx = dinp + static_cast<int64_t>(r) * dim;
      const T s = rstd[r];
      // g = dy ⊙ w; dx = s·(g − ŷ·mean(g ⊙ ŷ)), ŷ = x·s
      T dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int c = 0; c < dim; ++c) {
        const T g = weight != nullptr ? dy[c] * weight[c] : dy[c];
        dot += g * x[c] * s;
      }
      const T mean = dot / T(dim);
      for (int c = 0; c < dim; ++c) {
        const T g = weight != nullptr ? dy[c] * weight[c] : dy[c];
        dx[c] += s * (g - x[c] * s * mean);
      }
      if (my_dw != nullptr) {
        for (int c = 0; c < dim; ++c) my_dw[c] += dy[c] * x[c] * s;
      }
    }
  }
  if (want_dweight) {
    for (int t = 0; t < max_threads; ++t) {
      const T* p = partial + static_cast<int64_t>(t) * dim;
      for (int c = 0; c < dim; ++c) dweight[c] += p[c];
    }
  }
}

template <typename T>
void SiluForward(T* out, const T* inp, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = inp[i] * Sigmoid(inp[i]);
}

template <typename T>
void SiluBackward(T* dinp, const T* dout, const T* inp, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T x = inp[i];
    const T s = Sigmoid(x);
    dinp[i] = dout[i] * s * (T(1) + x * (T(1) - s));
  }
}

template <typename T>
void SigmoidGateForward(T* out, const T* u, const T* z, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = u[i] * Sigmoid(z[i]);
}

template <typename T>
void SigmoidGateBackward(T* du, T* dz, const T* dout, const T* u, const T* z, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T g = Sigmoid(z[i]);
    if (du != nullptr) du[i] = dout[i] * g;
    if (dz != nullptr) dz[i] = dout[i] * u[i] * g * (T(1) - g);
  }
}

template <typename T>
void GluForward(T* out, const T* u, const T* v, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = u[i] * v[i];
}

template <typename T>
void GluBackward(T* du, T* dv, const T* dout, const T* u, const T* v, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    if (du != nullptr) du[i] = dout[i] * v[i];
    if (dv != nullptr) dv[i] = dout[i] * u[i];
  }
}

template <typename T>
void SwigluForward(T* out, const T* u, const T* v, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = u[i] * v[i] * Sigmoid(v[i]);
}

template <typename T>
void SwigluBackward(T* du, T* dv, const T* dout, const T* u, const T* v, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T x = v[i];
    const T s = Sigmoid(x);
    if (du != nullptr) du[i] = dout[i] * x * s;
    if (dv != nullptr) dv[i] = dout[i] * u[i] * s * (T(1) + x * (T(1) - s));
  }
}

template <typename T>
void ResidualForward(T* out, const T* a, const T* b, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

template <typename T>
void ResidualBackward(T* da, T* db, const T* dout, int64_t n) {
  if (da != nullptr) Accumulate(da, dout, n);
  if (db != nullptr) Accumulate(db, dout, n);
}

template <typename T>
void Accumulate(T* y, const T* x, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

template <typename T>
void Scale(T* x, T scale, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] *= scale;
}

namespace {

// Below this a single memset/memcpy beats waking the other threads.
constexpr int64_t kParallelBytes = int64_t{1} << 18;

// Calls fn(begin, end) on each thread's share of [0, bytes), cut at cache lines.
template <typename Fn>
void SplitBytes(int64_t bytes, Fn fn) {
  if (bytes < kParallelBytes) {
    fn(0, bytes);
    return;
  }
#pragma omp parallel
  {
    const int64_t parts = omp_get_num_threads();
    const int64_t lines = (bytes + 63) / 64;
    const int64_t begin = std::min(bytes, lines * omp_get_thread_num() / parts * 64);
    const int64_t end = std::min(bytes, lines * (omp_get_thread_num() + 1) / parts * 64);
    fn(begin, end);
  }
}

}  // namespace

void ParallelZero(void* ptr, int64_t bytes) {
  char* p = static_cast<char*>(ptr);
  SplitBytes(bytes, [p](int64_t begin, int64_t end) {
    std::memset(p + begin, 0, static_cast<size_t>(end - begin));
  });
}

void ParallelCopy(void* dst, const void* src, int64_t bytes) {
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  SplitBytes(bytes, [d, s](int64_t begin, int64_t end) {
    std::memcpy(d + begin, s + begin, static_cast<size_t>(end - begin));
  });
}

template <typename T>
void AdamWUpdate(T* param, const T* grad, T* m, T* v, int64_t n, T lr, T beta1, T beta2, T eps,
                 T weight_decay, int64_t step, T grad_scale) {
  const T correction1 = T(1) - static_cast<T>(std::pow(static_cast<double>(beta1), step));
  const T correction2 = T(1) - static_cast<T>(std::pow(static_cast<double>(beta2), step));
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i] * grad_scale;
    const T mi = beta1 * m[i] + (T(1) - beta1) * g;
    const T vi = beta2 * v[i] + (T(1) - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const T m_hat = mi / correction1;
    const T v_hat = vi / correction2;
    param[i] -= lr * (m_hat / (std::sqrt(v_hat) + eps) + weight_decay * param[i]);
  }
}

template <typename T>
double SumOfSquares(const T* x, int64_t n) {
  double total = 0;
#pragma omp parallel for simd reduction(+ : total) schedule(static)
  for (int64_t i = 0; i < n; ++i) total += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return total;
}

#define FLOPWISE_INSTANTIATE_DENSE(T)                                                        \
  template void MatmulForward<T>(T*, const T*, const T*, int, int, int);                     \
  template void MatmulBackward<T>(T*, T*, const T*, const T*, const T*, int, int, int);      \
  template void EmbeddingForward<T>(T*, const int32_t*, const T*, int, int);                 \
  template void EmbeddingBackward<T>(T*, const T*, const int32_t*, int, int);                \
  template void RmsNormForward<T>(T*, T*, const T*, const T*, int, int, T);                  \
  template void RmsNormBackward<T>(T*, T*, const T*, const T*, const T*, const T*, int, int, \
                                   Scratch<T>&);                                             \
  template void SiluForward<T>(T*, const T*, int64_t);                                       \
  template void SiluBackward<T>(T*, const T*, const T*, int64_t);                            \
  template void SigmoidGateForward<T>(T*, const T*, const T*, int64_t);                      \
  template void SigmoidGateBackward<T>(T*, T*, const T*, const T*, const T*, int64_t);       \
  template void GluForward<T>(T*, const T*, const T*, int64_t);                              \
  template void GluBackward<T>(T*, T*, const T*, const T*, const T*, int64_t);               \
  template void SwigluForward<T>(T*, const T*, const T*, int64_t);                           \
  template void SwigluBackward<T>(T*, T*, const T*, const T*, const T*, int64_t);            \
  template void ResidualForward<T>(T*, const T*, const T*, int64_t);                         \
  template void ResidualBackward<T>(T*, T*, const T*, int64_t);                              \
  template void Accumulate<T>(T*, const T*, int64_t);                                        \
  template void Scale<T>(T*, T, int64_t);                                                    \
  template void AdamWUpdate<T>(T*, const T*, T*, T*, int64_t, T, T, T, T, T, int64_t, T);    \
  template double SumOfSquares<T>(const T*, int64_t);

FLOPWISE_INSTANTIATE_DENSE(float)
FLOPWISE_INSTANTIATE_DENSE(double)

}  // namespace flopwise::kernels::cpu

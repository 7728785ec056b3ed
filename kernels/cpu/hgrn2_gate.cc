// f = LB + (1-LB)σ(φ) is never formed: log f comes from logaddexp of
// log LB and log(1-LB) + logσ(φ) (logσ(φ) alone where LB = 0), and the input
// gate k = 1 - f from (1-LB)σ(-φ), so both stay exact as f → 1 and as f → 0.
#include "kernels/cpu/hgrn2_gate.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace flopwise::kernels::cpu {
namespace {

// log σ(x) = −softplus(−x), finite for every finite x.
template <typename T>
inline T LogSigmoid(T x) {
  return -(std::max(-x, T(0)) + std::log1p(std::exp(-std::abs(x))));
}

template <typename T>
inline T Sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

template <typename T>
inline T LogAddExp(T a, T b) {
  const T hi = std::max(a, b);
  return hi + std::log1p(std::exp(std::min(a, b) - hi));
}

template <typename T>
inline T LogForget(T phi, T lb) {
  if (lb <= T(0)) return LogSigmoid(phi);
  return LogAddExp(std::log(lb), std::log1p(-lb) + LogSigmoid(phi));
}

}  // namespace

template <typename T>
void Hgrn2GateForward(T* log_f, T* k, const T* phi, const T* lower_bound, int rows, int dim) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const int64_t o = static_cast<int64_t>(r) * dim;
    for (int c = 0; c < dim; ++c) {
      const T x = phi[o + c];
      const T lb = lower_bound[c];
      log_f[o + c] = LogForget(x, lb);
      k[o + c] = (T(1) - lb) * Sigmoid(-x);
    }
  }
}

template <typename T>
void Hgrn2GateBackward(T* dphi, T* dlower_bound, const T* dlog_f, const T* dk, const T* phi,
                       const T* lower_bound, int rows, int dim, Scratch<T>& scratch) {
  const int max_threads = omp_get_max_threads();
  T* partial =
      dlower_bound != nullptr ? scratch.Get(static_cast<int64_t>(max_threads) * dim) : nullptr;
#pragma omp parallel
  {
    T* my_dlb =
        partial != nullptr ? partial + static_cast<int64_t>(omp_get_thread_num()) * dim : nullptr;
    if (my_dlb != nullptr) std::fill_n(my_dlb, dim, T(0));
#pragma omp for schedule(static)
    for (int r = 0; r < rows; ++r) {
      const int64_t o = static_cast<int64_t>(r) * dim;
      for (int c = 0; c < dim; ++c) {
        const T x = phi[o + c];
        const T lb = lower_bound[c];
        const T s = Sigmoid(x);
        const T one_minus_s = Sigmoid(-x);
        const T lf = LogForget(x, lb);
        // (1-LB)σ(φ)/f in [0, 1], from logs so that tiny f is harmless.
        const T share = lb <= T(0) ? T(1) : std::exp(std::log1p(-lb) + LogSigmoid(x) - lf);
        dphi[o + c] +=
            dlog_f[o + c] * share * one_minus_s - dk[o + c] * (T(1) - lb) * s * one_minus_s;
        if (my_dlb != nullptr && lb > T(0)) {
          my_dlb[c] += dlog_f[o + c] * std::exp(LogSigmoid(-x) - lf) - dk[o + c] * one_minus_s;
        }
      }
    }
  }
  if (partial != nullptr) {
    for (int t = 0; t < max_threads; ++t) {
      for (int c = 0; c < dim; ++c) dlower_bound[c] += partial[static_cast<int64_t>(t) * dim + c];
    }
  }
}

template <typename T>
void Hgrn2LowerBoundForward(T* lower_bound, const T* p, int layers, int dim) {
  for (int c = 0; c < dim; ++c) {
    T hi = p[c];
    for (int l = 1; l < layers; ++l) hi = std::max(hi, p[static_cast<int64_t>(l) * dim + c]);
    T sum = 0;
    for (int l = 0; l < layers; ++l) sum += std::exp(p[static_cast<int64_t>(l) * dim + c] - hi);
    T cumulative = 0;  // Σ_{j=1..l} p_j: LB_0 is exactly 0
    lower_bound[c] = T(0);
    for (int l = 1; l < layers; ++l) {
      cumulative += std::exp(p[static_cast<int64_t>(l) * dim + c] - hi) / sum;
      lower_bound[static_cast<int64_t>(l) * dim + c] = cumulative;
    }
  }
}

template <typename T>
void Hgrn2LowerBoundBackward(T* dp, const T* dlower_bound, const T* p, int layers, int dim) {
  for (int c = 0; c < dim; ++c) {
    auto at = [&](const T* x, int l) { return x[static_cast<int64_t>(l) * dim + c]; };
    T hi = at(p, 0);
    for (int l = 1; l < layers; ++l) hi = std::max(hi, at(p, l));
    T sum = 0;
    for (int l = 0; l < layers; ++l) sum += std::exp(at(p, l) - hi);
    // dprob_j = Σ_{l ≥ j} dLB_l for j ≥ 1, dprob_0 = 0; then the softmax backward
    // dP_j = prob_j (dprob_j − Σ_m prob_m dprob_m), in two reverse sweeps.
    T weighted = 0;
    T suffix = 0;
    for (int l = layers - 1; l >= 1; --l) {
      suffix += at(dlower_bound, l);
      weighted += std::exp(at(p, l) - hi) / sum * suffix;
    }
    suffix = 0;
    for (int l = layers - 1; l >= 0; --l) {
      if (l >= 1) suffix += at(dlower_bound, l);
      const T dprob = l >= 1 ? suffix : T(0);
      dp[static_cast<int64_t>(l) * dim + c] += std::exp(at(p, l) - hi) / sum * (dprob - weighted);
    }
  }
}

#define FLOPWISE_INSTANTIATE_HGRN2_GATE(T)                                                     \
  template void Hgrn2GateForward<T>(T*, T*, const T*, const T*, int, int);                     \
  template void Hgrn2GateBackward<T>(T*, T*, const T*, const T*, const T*, const T*, int, int, \
                                     Scratch<T>&);                                             \
  template void Hgrn2LowerBoundForward<T>(T*, const T*, int, int);                             \
  template void Hgrn2LowerBoundBackward<T>(T*, const T*, const T*, int, int);

FLOPWISE_INSTANTIATE_HGRN2_GATE(float)
FLOPWISE_INSTANTIATE_HGRN2_GATE(double)

}  // namespace flopwise::kernels::cpu

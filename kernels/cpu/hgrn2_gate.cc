// f = LB + (1-LB)σ(φ) is never formed: log f comes from logaddexp of
// log LB and log(1-LB) + logσ(φ) (logσ(φ) alone where LB = 0), and the input
// gate k = 1 - f from (1-LB)σ(-φ), so both stay exact as f → 1 and as f → 0.
#include "kernels/cpu/hgrn2_gate.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/cpu/fast_math.h"

namespace flopwise::kernels::cpu {
namespace {

// The gate of one element φ, built from one exp and one log1p: with
// e = exp(−|φ|) and t = log1p(e), logσ(φ) = −(max(−φ,0) + t) and
// logσ(−φ) = −(max(φ,0) + t), both finite for every finite φ; σ(±|φ|) are
// 1/(1+e) and e/(1+e), neither cancelled.
template <typename T>
struct GateTerms {
  T log_sigmoid, log_sigmoid_neg, sigmoid, sigmoid_neg;
};

template <typename T>
inline GateTerms<T> Terms(T x) {
  const T e = Exp<T>(-std::abs(x));
  const T t = Log1p<T>(e);
  const T inv = T(1) / (T(1) + e);
  const bool positive = x >= T(0);
  return {-(std::max(-x, T(0)) + t), -(std::max(x, T(0)) + t), positive ? inv : e * inv,
          positive ? e * inv : inv};
}

// log f = logaddexp(log LB, log(1−LB) + logσ(φ)), or logσ(φ) where LB = 0;
// log_lb and log_1m_lb are the column's log LB and log(1−LB). Both sides are
// computed and one selected, so that the loops over columns vectorise.
template <typename T>
inline T LogForget(T log_sigmoid, T lb, T log_lb, T log_1m_lb) {
  const T a = log_lb, b = log_1m_lb + log_sigmoid;
  const T hi = std::max(a, b);
  const T mixed = hi + Log1p<T>(Exp<T>(std::min(a, b) - hi));
  return lb > T(0) ? mixed : log_sigmoid;
}

// log LB and log(1−LB) of every column (log LB is a finite placeholder 0
// where LB = 0, its side of LogForget's select unused).
template <typename T>
void ColumnLogs(T* log_lb, T* log_1m_lb, const T* lower_bound, int dim) {
  for (int c = 0; c < dim; ++c) {
    log_lb[c] = lower_bound[c] > T(0) ? std::log(lower_bound[c]) : T(0);
    log_1m_lb[c] = std::log1p(-lower_bound[c]);
  }
}

// One row of the gate's backward: dphi[c] = ..., dlb[c] += ... (where LB > 0).
// Restrict-qualified so that the loop vectorises without alias checks.
template <typename T>
void GateBackwardRow(T* __restrict dphi, T* __restrict dlb, const T* __restrict dlog_f,
                     const T* __restrict dk, const T* __restrict phi,
                     const T* __restrict lower_bound, const T* __restrict log_lb,
                     const T* __restrict log_1m_lb, int dim) {
  for (int c = 0; c < dim; ++c) {
    const T lb = lower_bound[c];
    const GateTerms<T> g = Terms(phi[c]);
    const T lf = LogForget(g.log_sigmoid, lb, log_lb[c], log_1m_lb[c]);
    // (1-LB)σ(φ)/f in [0, 1], from logs so that tiny f is harmless.
    const T mixed_share = Exp<T>(log_1m_lb[c] + g.log_sigmoid - lf);
    const T share = lb > T(0) ? mixed_share : T(1);
    dphi[c] = dlog_f[c] * share * g.sigmoid_neg - dk[c] * (T(1) - lb) * g.sigmoid * g.sigmoid_neg;
    const T d = dlog_f[c] * Exp<T>(g.log_sigmoid_neg - lf) - dk[c] * g.sigmoid_neg;
    dlb[c] += lb > T(0) ? d : T(0);
  }
}

}  // namespace

template <typename T>
void Hgrn2GateForward(T* log_f, T* k, const T* phi, const T* lower_bound, int rows, int dim) {
  std::vector<T> logs(2 * static_cast<size_t>(dim));
  T* log_lb = logs.data();
  T* log_1m_lb = log_lb + dim;
  ColumnLogs(log_lb, log_1m_lb, lower_bound, dim);
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const int64_t o = static_cast<int64_t>(r) * dim;
    for (int c = 0; c < dim; ++c) {
      const T lb = lower_bound[c];
      const GateTerms<T> g = Terms(phi[o + c]);
      log_f[o + c] = LogForget(g.log_sigmoid, lb, log_lb[c], log_1m_lb[c]);
      k[o + c] = (T(1) - lb) * g.sigmoid_neg;
    }
  }
}

template <typename T>
void Hgrn2GateBackward(T* dphi, T* dlower_bound, const T* dlog_f, const T* dk, const T* phi,
                       const T* lower_bound, int rows, int dim, Scratch<T>& scratch) {
  const int max_threads = omp_get_max_threads();
  T* log_lb = scratch.Get((2 + static_cast<int64_t>(max_threads)) * dim);
  T* log_1m_lb = log_lb + dim;
  // Per-thread ∂loss/∂LB, accumulated even when the caller wants none: a
  // branch-free loop body vectorises.
  T* partial = log_1m_lb + dim;
  ColumnLogs(log_lb, log_1m_lb, lower_bound, dim);
#pragma omp parallel
  {
    T* my_dlb = partial + static_cast<int64_t>(omp_get_thread_num()) * dim;
    std::fill_n(my_dlb, dim, T(0));
#pragma omp for schedule(static)
    for (int r = 0; r < rows; ++r) {
      const int64_t o = static_cast<int64_t>(r) * dim;
      GateBackwardRow(dphi + o, my_dlb, dlog_f + o, dk + o, phi + o, lower_bound, log_lb, log_1m_lb,
                      dim);
    }
  }
  if (dlower_bound != nullptr) {
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

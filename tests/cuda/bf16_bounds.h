// The error bounds of the CUDA backend's bf16 mode (docs/kernels.md, "Mixed
// precision"): a GEMM element against the CPU's fp32 one, element by element.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace flopwise::kernels::testing {

// Relative error of rounding an fp32 value to nearest bf16 (8 significant
// bits), as the backend does (kernels/cuda/blas.cu).
constexpr double kBf16Rounding = 0x1p-8;

// ε(k) of a bf16 GEMM with inner dimension k: each product a·b of two rounded
// operands is off by at most (1 + 2^-8)² − 1 relative; the two fp32 sums (GPU
// and CPU reference) of k terms add at most k·2^-24 each. So
// |c_gpu − c_cpu| ≤ ε(k)·Σ_l |a_il|·|b_lj|, whatever the summation order.
inline double Bf16GemmEpsilon(int64_t k) {
  return (1 + kBf16Rounding) * (1 + kBf16Rounding) - 1 + 2.0 * static_cast<double>(k) * 0x1p-24;
}

// x rounded to the nearest bf16 (ties to even), as an fp32 value.
inline float RoundToBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  bits += 0x7FFF + ((bits >> 16) & 1);
  bits &= 0xFFFF0000u;
  std::memcpy(&x, &bits, sizeof(bits));
  return x;
}

inline std::vector<float> RoundedToBf16(std::vector<float> values) {
  for (float& v : values) v = RoundToBf16(v);
  return values;
}

// Row-major |op(a)|·|op(b)| in double ([m,n]; op(a) [m,k], op(b) [k,n], lda/ldb
// the row strides as stored): the scale of every element's bf16 error.
inline std::vector<double> AbsoluteProduct(bool trans_a, bool trans_b, int m, int n, int k,
                                           const std::vector<float>& a, int lda,
                                           const std::vector<float>& b, int ldb) {
  std::vector<double> out(static_cast<size_t>(m) * n, 0.0);
  for (int i = 0; i < m; ++i) {
    for (int l = 0; l < k; ++l) {
      const double a_il = std::abs(trans_a ? a[int64_t{l} * lda + i] : a[int64_t{i} * lda + l]);
      if (a_il == 0) continue;
      for (int j = 0; j < n; ++j) {
        const double b_lj = trans_b ? b[int64_t{j} * ldb + l] : b[int64_t{l} * ldb + j];
        out[int64_t{i} * n + j] += a_il * std::abs(b_lj);
      }
    }
  }
  return out;
}

// Expects |gpu[i] − cpu[i]| ≤ bound[i] + fp32_slack·max|cpu| for every i (the
// slack: what the op's fp32 parts may differ by, 1e-5 of the tensor's scale as
// in fp32 mode). Reports the number of violations and the worst one.
inline void ExpectWithinBounds(const std::vector<float>& gpu, const std::vector<float>& cpu,
                               const std::vector<double>& bound, const std::string& what,
                               double fp32_slack = 1e-5) {
  ASSERT_EQ(gpu.size(), cpu.size()) << what;
  ASSERT_EQ(bound.size(), cpu.size()) << what;
  double scale = 0;
  for (float x : cpu) scale = std::max(scale, std::abs(double(x)));
  int64_t violations = 0, worst = -1;
  double worst_ratio = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const double allowed = bound[i] + fp32_slack * scale;
    const double diff = std::abs(double(gpu[i]) - double(cpu[i]));
    if (!(diff <= allowed)) {  // also catches NaN
      ++violations;
      const double ratio = allowed > 0 ? diff / allowed : INFINITY;
      if (worst < 0 || !(ratio <= worst_ratio)) {
        worst_ratio = ratio;
        worst = static_cast<int64_t>(i);
      }
    }
  }
  EXPECT_EQ(violations, 0) << what << ": worst element " << worst << " gpu " << gpu[worst]
                           << " cpu " << cpu[worst] << " allowed ±"
                           << bound[worst] + fp32_slack * scale;
}

}  // namespace flopwise::kernels::testing

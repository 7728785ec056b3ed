// Branch-free exp and log1p for float that compilers inline and vectorise
// (std::exp and std::log1p are library calls and keep a loop scalar).
// FastExp, for finite x: relative error ≤ 2 ulp on [−87, 88]; below that it
// returns ≈ 1e-38 (never a denormal), above it saturates near 1.7e38
// (callers only pass x ≤ 0 or moderate values). FastLog1p: relative error
// ≤ 2 ulp for 0 ≤ y ≤ 1 (the softplus tails log1p(e^{−|x|}) of the gates).
// Exp<double> and Log1p<double> are the library functions, so the double
// instantiations used by the tests stay exact.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace flopwise::kernels::cpu {

inline float FastExp(float x) {
  // x = n·ln2 + r, |r| ≤ ln2/2. Adding 1.5·2^23 rounds x·log2(e) to the
  // nearest integer n and leaves n in the low mantissa bits of `shifted`.
  const float shifted = x * 1.44269504088896341f + 12582912.0f;
  const float n = shifted - 12582912.0f;
  // Clamp the exponent as an integer: float selects here stop GCC vectorising.
  const int32_t exponent =
      std::min(std::max(std::bit_cast<int32_t>(shifted) - 0x4B400000, -126), 127);
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
  // e^r by its Taylor series to r^7 (truncation error < 1e-8 relative).
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * std::bit_cast<float>((exponent + 127) << 23);
}

inline float FastLog1p(float y) {
  // u = 1 + y rounds; log(1+y) = log u − c/u to first order in the rounding
  // error c = (u − 1) − y (exact here), which keeps tiny y exact (u = 1).
  const float u = 1.0f + y;
  const float c = (u - 1.0f) - y;
  // u = 2^k · m with m in [√½, √2): k from the exponent bits after shifting
  // the split point √½ (0x3F3504F3) down to an exponent boundary.
  const int32_t bits = std::bit_cast<int32_t>(u);
  const int32_t k = (bits - 0x3F3504F3) >> 23;
  const float m = std::bit_cast<float>(bits - (k << 23));
  // log m = 2 atanh(s), s = (m−1)/(m+1), |s| ≤ 0.172: odd series to s^9.
  const float f = m - 1.0f;
  const float s = f / (2.0f + f);
  const float z = s * s;
  float p = 2.0f / 9.0f;
  p = p * z + 2.0f / 7.0f;
  p = p * z + 2.0f / 5.0f;
  p = p * z + 2.0f / 3.0f;
  const float log_m = f - s * (f - z * p);  // 2s + s·z·p, with 2s = f − s·f
  const float kf = static_cast<float>(k);
  return kf * 0.693145751953125f + (log_m + (kf * 1.42860682030941723e-6f - c / u));
}

template <typename T>
inline T Exp(T x) {
  return std::exp(x);
}

template <>
inline float Exp<float>(float x) {
  return FastExp(x);
}

template <typename T>
inline T Log1p(T x) {
  return std::log1p(x);
}

template <>
inline float Log1p<float>(float x) {
  return FastLog1p(x);
}

template <typename T>
inline T Sigmoid(T x) {
  return T(1) / (T(1) + Exp<T>(-x));
}

}  // namespace flopwise::kernels::cpu

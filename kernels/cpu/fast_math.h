// Branch-free exp for float that compilers vectorise (std::exp is a library
// call and keeps a loop scalar). For finite x: relative error ≤ 2 ulp on
// [−87, 88]; below that it returns ≈ 1e-38 (never a denormal), above it
// saturates near 1.7e38 (callers only pass x ≤ 0 or moderate values).
// Exp<double> is std::exp, so the double instantiations used by the tests
// stay exact.
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

template <typename T>
inline T Exp(T x) {
  return std::exp(x);
}

template <>
inline float Exp<float>(float x) {
  return FastExp(x);
}

template <typename T>
inline T Sigmoid(T x) {
  return T(1) / (T(1) + Exp<T>(-x));
}

}  // namespace flopwise::kernels::cpu

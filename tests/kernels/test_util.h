// Helpers shared by the kernel tests: seeded random tensors, the relative
// error metric of docs/model-contract.md §9, and a directional finite-difference
// check of a backward pass.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace flopwise::kernels::testing {

inline std::vector<double> RandomNormal(int64_t n, uint64_t seed, double stddev = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> dist(0.0, stddev);
  std::vector<double> out(static_cast<size_t>(n));
  for (double& x : out) x = dist(rng);
  return out;
}

inline std::vector<double> RandomSiluNormal(int64_t n, uint64_t seed) {
  std::vector<double> out = RandomNormal(n, seed);
  for (double& x : out) x = x / (1.0 + std::exp(-x));
  return out;
}

// rms(out − ref) / rms(ref); 0 when both are zero.
template <typename A, typename B>
double RelativeError(const std::vector<A>& out, const std::vector<B>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = static_cast<double>(out[i]) - static_cast<double>(ref[i]);
    num += d * d;
    den += static_cast<double>(ref[i]) * static_cast<double>(ref[i]);
  }
  if (den == 0) return std::sqrt(num);
  return std::sqrt(num / den);
}

template <typename A>
double MaxAbs(const std::vector<A>& x) {
  double m = 0;
  for (const A& v : x) m = std::max(m, std::abs(static_cast<double>(v)));
  return m;
}

template <typename A>
bool AllFinite(const std::vector<A>& x) {
  for (const A& v : x) {
    if (!std::isfinite(static_cast<double>(v))) return false;
  }
  return true;
}

// What a gradient buffer holds before an op that must WRITE it (the
// element-wise, positional and attention backwards, kernels/backend.h): a value that an
// op adding into the buffer would carry into its result.
constexpr double kStaleGradient = 7.0;

inline double Dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Central difference of `loss` along a random direction of `input`, compared
// with ⟨analytic_grad, direction⟩. Returns the relative error.
inline double DirectionalError(const std::function<double()>& loss, std::vector<double>& input,
                               const std::vector<double>& analytic_grad, uint64_t seed,
                               double eps = 1e-5) {
  const std::vector<double> direction = RandomNormal(static_cast<int64_t>(input.size()), seed);
  const std::vector<double> saved = input;
  for (size_t i = 0; i < input.size(); ++i) input[i] = saved[i] + eps * direction[i];
  const double plus = loss();
  for (size_t i = 0; i < input.size(); ++i) input[i] = saved[i] - eps * direction[i];
  const double minus = loss();
  input = saved;
  const double numeric = (plus - minus) / (2 * eps);
  const double analytic = Dot(analytic_grad, direction);
  return std::abs(numeric - analytic) / std::max(1e-12, std::abs(analytic));
}

}  // namespace flopwise::kernels::testing

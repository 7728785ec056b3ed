// Chinchilla approach 3 (private to fitting/): L(N, D) = E + A/N^alpha + B/D^beta
// fitted with a Huber loss (delta on log-loss residuals, summed over points)
// from a grid of starting points, as Hoffmann et al. (2022) and Besiroglu et
// al. (2024) do; the best converged optimum is kept.
#pragma once

#include <array>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "fitting/fit.h"

namespace flopwise::fitting {

using Approach3Params = std::array<double, 5>;  // log A, log B, log E, alpha, beta

struct LogLossPoint {
  double log_n = 0, log_d = 0, log_loss = 0;
};

// log L_pred - log L_obs with log L_pred = logsumexp(log A - alpha log N,
// log B - beta log D, log E). Parameters: p = (log A, log B, log E, alpha, beta).
struct Approach3Residual {
  explicit Approach3Residual(const LogLossPoint& point) : point_(point) {}
  template <typename T>
  bool operator()(const T* const p, T* residual) const {
    const T x_n = p[0] - p[3] * T(point_.log_n);
    const T x_d = p[1] - p[4] * T(point_.log_d);
    const T x_e = p[2];
    T m = x_n;
    if (x_d > m) m = x_d;
    if (x_e > m) m = x_e;
    using std::exp;
    using std::log;
    residual[0] = m + log(exp(x_n - m) + exp(x_d - m) + exp(x_e - m)) - T(point_.log_loss);
    return true;
  }

 private:
  LogLossPoint point_;
};

// All points in one block, each residual r mapped to h(r) = sign(r) sqrt(2 Huber_delta(r))
// so that Ceres's cost 1/2 sum h^2 is exactly sum Huber_delta(r): the same
// objective as one block per point under ceres::HuberLoss, without the
// per-block overhead (half the time). h is continuously differentiable at |r| = delta.
struct Approach3HuberResiduals {
  Approach3HuberResiduals(std::span<const LogLossPoint> points, double huber_delta)
      : points_(points), delta_(huber_delta) {}
  template <typename T>
  bool operator()(const T* const p, T* residuals) const {
    using std::sqrt;
    for (size_t i = 0; i < points_.size(); ++i) {
      T r;
      const Approach3Residual residual_of(points_[i]);
      residual_of(p, &r);
      if (r > T(delta_)) {
        r = sqrt(T(2 * delta_) * r - T(delta_ * delta_));
      } else if (r < T(-delta_)) {
        r = -sqrt(T(-2 * delta_) * r - T(delta_ * delta_));
      }
      residuals[i] = r;
    }
    return true;
  }

 private:
  std::span<const LogLossPoint> points_;
  double delta_;
};

struct Approach3Result {
  Approach3Fit fit;
  // Grid points ranked by their Huber objective, best first (the starts the
  // bootstrap reuses).
  std::vector<Approach3Params> ranked_starts;
};

// Sum over points of Huber_delta(residual).
double Approach3Objective(std::span<const LogLossPoint> points, const Approach3Params& p,
                          double huber_delta);

// Full fit: ranks the grid and solves from its `grid.solves` best points.
// InvalidArgument for fewer than 6 points or fewer than 2 distinct N or D;
// FailedPrecondition when no start converges.
absl::StatusOr<Approach3Result> FitApproach3(std::span<const LogLossPoint> points,
                                             const Approach3Grid& grid);

// Fit from the given starts only (bootstrap resamples).
absl::StatusOr<Approach3Fit> FitApproach3From(std::span<const LogLossPoint> points,
                                              std::span<const Approach3Params> starts,
                                              double huber_delta);

// Compute-optimal N and D under C = k N D (k = fit.flops_per_param_token):
// N_opt = G (C/k)^(beta/(alpha+beta)), D_opt = (C/k)^(alpha/(alpha+beta)) / G,
// G = (alpha A / (beta B))^(1/(alpha+beta)). C in FLOPs.
void Approach3Optimum(const Approach3Fit& fit, double compute_flops, double* n_opt, double* d_opt);
double Approach3Loss(const Approach3Fit& fit, double n_params, double tokens);

}  // namespace flopwise::fitting

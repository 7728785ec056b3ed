// The CUDA HGRN2 forget gate and lower bound against the CPU backend: log f, k,
// dφ and dLB (added into random initial values) with LB = 0 and LB > 0 columns
// and gates far into both tails; the layer softmax of the lower bound and dP.
#include "kernels/cuda/hgrn2_gate.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tests/cuda/mixer_test_util.h"

namespace flopwise::kernels::cuda {
namespace {

using CudaHgrn2GateTest = CudaMixerTest;

TEST_F(CudaHgrn2GateTest, GateMatchesCpuBackend) {
  const int rows = 300, dim = 70;  // rows span several reduction groups, the last one partial
  const int64_t n = static_cast<int64_t>(rows) * dim;
  std::vector<float> phi = Normal(n, 1, 3.0);
  phi[0] = -30.f;
  phi[1] = 50.f;
  phi[2] = -1000.f;
  std::vector<float> lower_bound(dim);
  for (int c = 0; c < dim; ++c) lower_bound[c] = c % 3 == 0 ? 0.f : (c % 3 == 1 ? 0.5f : 0.97f);
  const std::vector<float> dlog_f = Normal(n, 2), dk = Normal(n, 3);
  const std::vector<float> dphi0 = Normal(n, 4, 0.1), dlb0 = Normal(dim, 5, 0.1);
  std::vector<float> log_f(n), k(n), dphi = dphi0, dlb = dlb0;
  cpu_->Hgrn2GateForward(log_f.data(), k.data(), phi.data(), lower_bound.data(), rows, dim);
  cpu_->Hgrn2GateBackward(dphi.data(), dlb.data(), dlog_f.data(), dk.data(), phi.data(),
                          lower_bound.data(), rows, dim);

  float *d_phi = Upload(phi), *d_lb = Upload(lower_bound), *d_dlog_f = Upload(dlog_f),
        *d_dk = Upload(dk);
  float *d_log_f = Allocate(n), *d_k = Allocate(n);
  float *d_dphi = Upload(dphi0), *d_dlb = Upload(dlb0), *d_dphi_only = Upload(dphi0);
  Hgrn2GateForward(ctx_, d_log_f, d_k, d_phi, d_lb, rows, dim);
  Hgrn2GateBackward(ctx_, d_dphi, d_dlb, d_dlog_f, d_dk, d_phi, d_lb, rows, dim);
  Hgrn2GateBackward(ctx_, d_dphi_only, nullptr, d_dlog_f, d_dk, d_phi, d_lb, rows, dim);
  ExpectClose(Download(d_log_f, n), log_f, "log_f");
  ExpectClose(Download(d_k, n), k, "k");
  // dphi is written over the stale dphi0; dlower_bound is added to.
  ExpectClose(Download(d_dphi, n), dphi, "dphi");
  ExpectAddedClose(Download(d_dlb, dim), dlb, dlb0, "dlower_bound");
  ExpectClose(Download(d_dphi_only, n), dphi, "dphi without dlower_bound");
  // dlower_bound is a two-stage column sum, no atomics: a second call adds the same bits.
  const std::vector<float> once = Download(d_dlb, dim);
  float* d_dlb_again = Upload(dlb0);
  Hgrn2GateBackward(ctx_, d_dphi_only, d_dlb_again, d_dlog_f, d_dk, d_phi, d_lb, rows, dim);
  EXPECT_EQ(Download(d_dlb_again, dim), once);
}

TEST_F(CudaHgrn2GateTest, LowerBoundMatchesCpuBackend) {
  const int layers = 6, dim = 300;
  const int64_t n = static_cast<int64_t>(layers) * dim;
  const std::vector<float> p = Normal(n, 1, 2.0), dlb = Normal(n, 2), dp0 = Normal(n, 3, 0.1);
  std::vector<float> lower_bound(n), dp = dp0;
  cpu_->Hgrn2LowerBoundForward(lower_bound.data(), p.data(), layers, dim);
  cpu_->Hgrn2LowerBoundBackward(dp.data(), dlb.data(), p.data(), layers, dim);

  float *d_p = Upload(p), *d_dlb = Upload(dlb), *d_dp = Upload(dp0), *d_lb = Allocate(n);
  Hgrn2LowerBoundForward(ctx_, d_lb, d_p, layers, dim);
  Hgrn2LowerBoundBackward(ctx_, d_dp, d_dlb, d_p, layers, dim);
  ExpectClose(Download(d_lb, n), lower_bound, "lower_bound");
  ExpectAddedClose(Download(d_dp, n), dp, dp0, "dp");
}

}  // namespace
}  // namespace flopwise::kernels::cuda

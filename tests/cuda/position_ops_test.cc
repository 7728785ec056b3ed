// The CUDA LRPE and TPE against the CPU backend: outputs, dinp and dθ / dB
// (added into random initial values), LRPE at positions offset by 8000, rows
// spanning several reduction groups.
#include "kernels/cuda/position_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/cuda/mixer_test_util.h"

namespace flopwise::kernels::cuda {
namespace {

using CudaPositionOpsTest = CudaMixerTest;

TEST_F(CudaPositionOpsTest, LrpeMatchesCpuBackend) {
  const int batch = 2, seq = 90, heads = 3, head_dim = 16;
  const int64_t n = static_cast<int64_t>(batch) * seq * heads * head_dim;
  const int64_t width = static_cast<int64_t>(heads) * head_dim;
  std::vector<float> theta(width);
  for (int64_t e = 0; e < width; ++e) {
    theta[e] = std::pow(10000.f, -static_cast<float>(e % head_dim) / head_dim);
  }
  const std::vector<float> inp = Normal(n, 1), dout = Normal(2 * n, 2);
  const std::vector<float> dinp0 = Normal(n, 3, 0.1), dtheta0 = Normal(width, 4, 0.1);
  for (int pos_offset : {0, 8000}) {
    const std::string at = " at offset " + std::to_string(pos_offset);
    std::vector<float> out(2 * n), dinp = dinp0, dtheta = dtheta0;
    cpu_->LrpeForward(out.data(), inp.data(), theta.data(), batch, seq, heads, head_dim,
                      pos_offset);
    cpu_->LrpeBackward(dinp.data(), dtheta.data(), dout.data(), inp.data(), theta.data(), batch,
                       seq, heads, head_dim, pos_offset);
    float *d_inp = Upload(inp), *d_theta = Upload(theta), *d_dout = Upload(dout);
    float *d_out = Allocate(2 * n), *d_dinp = Upload(dinp0), *d_dtheta = Upload(dtheta0);
    LrpeForward(ctx_, d_out, d_inp, d_theta, batch, seq, heads, head_dim, pos_offset);
    LrpeBackward(ctx_, d_dinp, d_dtheta, d_dout, d_inp, d_theta, batch, seq, heads, head_dim,
                 pos_offset);
    ExpectClose(Download(d_out, 2 * n), out, "out" + at);
    // dinp is written over the stale dinp0; dtheta is added to.
    ExpectClose(Download(d_dinp, n), dinp, "dinp" + at);
    ExpectAddedClose(Download(d_dtheta, width), dtheta, dtheta0, "dtheta" + at);
  }
}

TEST_F(CudaPositionOpsTest, TpeMatchesCpuBackend) {
  const int batch = 2, seq = 60, dim = 70, tpe_dim = 40;  // e over one warp's 32 lanes
  const int64_t n = static_cast<int64_t>(batch) * seq * dim;
  const int64_t nb = static_cast<int64_t>(dim) * tpe_dim;
  const std::vector<float> inp = Normal(n, 1), b_weight = Normal(nb, 2, 0.3), dout = Normal(n, 3);
  std::vector<float> log_gamma = Normal(tpe_dim, 4, 0.5);
  for (float& g : log_gamma) g = -std::abs(g);
  const std::vector<float> dinp0 = Normal(n, 5, 0.1), db0 = Normal(nb, 6, 0.1);
  std::vector<float> out(n), dinp = dinp0, db = db0;
  cpu_->TpeForward(out.data(), inp.data(), b_weight.data(), log_gamma.data(), batch, seq, dim,
                   tpe_dim);
  cpu_->TpeBackward(dinp.data(), db.data(), dout.data(), inp.data(), b_weight.data(),
                    log_gamma.data(), batch, seq, dim, tpe_dim);

  float *d_inp = Upload(inp), *d_b = Upload(b_weight), *d_log_gamma = Upload(log_gamma),
        *d_dout = Upload(dout);
  float *d_out = Allocate(n), *d_dinp = Upload(dinp0), *d_db = Upload(db0);
  TpeForward(ctx_, d_out, d_inp, d_b, d_log_gamma, batch, seq, dim, tpe_dim);
  TpeBackward(ctx_, d_dinp, d_db, d_dout, d_inp, d_b, d_log_gamma, batch, seq, dim, tpe_dim);
  ExpectClose(Download(d_out, n), out, "out");
  ExpectAddedClose(Download(d_dinp, n), dinp, dinp0, "dinp");
  ExpectAddedClose(Download(d_db, nb), db, db0, "db_weight");
}

}  // namespace
}  // namespace flopwise::kernels::cuda

// The CUDA causal softmax attention against the CPU backend: out, lse and the
// three gradients (added into random initial values) at head dims 16-128 and
// lengths that are not multiples of the kernels' tiles.
#include "kernels/cuda/attention.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "tests/cuda/mixer_test_util.h"

namespace flopwise::kernels::cuda {
namespace {

struct AttentionShape {
  int batch, seq, heads, head_dim;
};

void PrintTo(const AttentionShape& s, std::ostream* os) {
  *os << "B" << s.batch << " T" << s.seq << " H" << s.heads << " D" << s.head_dim;
}

class CudaAttentionTest : public CudaMixerTest,
                          public ::testing::WithParamInterface<AttentionShape> {};

TEST_P(CudaAttentionTest, MatchesCpuBackend) {
  const auto [batch, seq, heads, head_dim] = GetParam();
  const int64_t n = static_cast<int64_t>(batch) * seq * heads * head_dim;
  const int64_t rows = static_cast<int64_t>(batch) * heads * seq;
  const std::vector<float> q = Normal(n, 1), k = Normal(n, 2), v = Normal(n, 3),
                           dout = Normal(n, 4);
  const std::vector<float> dq0 = Normal(n, 5, 0.1), dk0 = Normal(n, 6, 0.1),
                           dv0 = Normal(n, 7, 0.1);
  std::vector<float> out(n), lse(rows), dq = dq0, dk = dk0, dv = dv0;
  cpu_->AttentionForward(out.data(), lse.data(), q.data(), k.data(), v.data(), batch, seq, heads,
                         head_dim);
  cpu_->AttentionBackward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(),
                          v.data(), out.data(), lse.data(), batch, seq, heads, head_dim);

  float* d_q = Upload(q);
  float* d_k = Upload(k);
  float* d_v = Upload(v);
  float* d_dout = Upload(dout);
  float* d_out = Allocate(n);
  float* d_lse = Allocate(rows);
  float* d_dq = Upload(dq0);
  float* d_dk = Upload(dk0);
  float* d_dv = Upload(dv0);
  AttentionForward(ctx_, d_out, d_lse, d_q, d_k, d_v, batch, seq, heads, head_dim);
  AttentionBackward(ctx_, d_dq, d_dk, d_dv, d_dout, d_q, d_k, d_v, d_out, d_lse, batch, seq, heads,
                    head_dim);
  ExpectClose(Download(d_out, n), out, "out");
  ExpectClose(Download(d_lse, rows), lse, "lse");
  // Both sides write the gradients over the stale dq0, dk0, dv0.
  ExpectClose(Download(d_dq, n), dq, "dq");
  ExpectClose(Download(d_dk, n), dk, "dk");
  ExpectClose(Download(d_dv, n), dv, "dv");
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaAttentionTest,
                         ::testing::Values(AttentionShape{2, 100, 3, 16},
                                           AttentionShape{1, 129, 2, 64},
                                           AttentionShape{2, 33, 2, 96},
                                           AttentionShape{1, 70, 2, 128},
                                           AttentionShape{1, 1, 1, 32}));

}  // namespace
}  // namespace flopwise::kernels::cuda

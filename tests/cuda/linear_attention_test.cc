// The CUDA chunked linear attention (TNL's per-head decay, cos2's none) against
// the CPU backend: out, final state and every gradient (added into random
// initial values), with and without carried states, lengths that are not
// multiples of the chunk; and the results do not depend on the chunk.
#include "kernels/cuda/linear_attention.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "tests/cuda/mixer_test_util.h"

namespace flopwise::kernels::cuda {
namespace {

struct LaCase {
  int batch, seq, heads, key_dim, value_dim, chunk;
  bool decay;   // TNL's per-head decay; false: none (cos2)
  bool states;  // initial state, final state and their gradients
};

void PrintTo(const LaCase& c, std::ostream* os) {
  *os << "B" << c.batch << " T" << c.seq << " H" << c.heads << " Dk" << c.key_dim << " Dv"
      << c.value_dim << " C" << c.chunk << (c.decay ? " decay" : " no decay")
      << (c.states ? " states" : "");
}

struct LaInputs {
  std::vector<float> q, k, v, log_decay, initial_state, dout, dfinal_state;
  std::vector<float> dq0, dk0, dv0, dinitial0;  // the gradients' values before backward
};

struct LaOutputs {
  std::vector<float> out, final_state, dq, dk, dv, dinitial_state;
};

LaInputs MakeInputs(const LaCase& c) {
  const int64_t nk = static_cast<int64_t>(c.batch) * c.seq * c.heads * c.key_dim;
  const int64_t nv = static_cast<int64_t>(c.batch) * c.seq * c.heads * c.value_dim;
  const int64_t ns = static_cast<int64_t>(c.batch) * c.heads * c.key_dim * c.value_dim;
  LaInputs in{SiluNormal(nk, 1),  SiluNormal(nk, 2),  Normal(nv, 3),      {}, {}, Normal(nv, 4), {},
              Normal(nk, 5, 0.1), Normal(nk, 6, 0.1), Normal(nv, 7, 0.1), {}};
  if (c.decay) {
    const float slopes[] = {-0.5f, -0.05f, -1e-5f};  // log λ of a fast, slow, near-1 decay
    for (int h = 0; h < c.heads; ++h) in.log_decay.push_back(slopes[h % 3]);
  }
  if (c.states) {
    in.initial_state = Normal(ns, 8);
    in.dfinal_state = Normal(ns, 9);
    in.dinitial0 = Normal(ns, 10, 0.1);
  }
  return in;
}

LaOutputs RunCpu(Backend& cpu, const LaCase& c, const LaInputs& in) {
  const int64_t nv = static_cast<int64_t>(in.v.size());
  LaOutputs o{std::vector<float>(nv),
              std::vector<float>(in.initial_state.size()),
              in.dq0,
              in.dk0,
              in.dv0,
              in.dinitial0};
  cpu.LinearAttentionForward(o.out.data(), OrNull(o.final_state), in.q.data(), in.k.data(),
                             in.v.data(), OrNull(in.log_decay), OrNull(in.initial_state), c.batch,
                             c.seq, c.heads, c.key_dim, c.value_dim, c.chunk);
  cpu.LinearAttentionBackward(o.dq.data(), o.dk.data(), o.dv.data(), OrNull(o.dinitial_state),
                              in.dout.data(), OrNull(in.dfinal_state), in.q.data(), in.k.data(),
                              in.v.data(), OrNull(in.log_decay), OrNull(in.initial_state), c.batch,
                              c.seq, c.heads, c.key_dim, c.value_dim, c.chunk);
  return o;
}

class CudaLinearAttentionTest : public CudaMixerTest, public ::testing::WithParamInterface<LaCase> {
 protected:
  LaOutputs RunCuda(const LaCase& c, const LaInputs& in) {
    const int64_t nk = static_cast<int64_t>(in.q.size()), nv = static_cast<int64_t>(in.v.size());
    const int64_t ns = static_cast<int64_t>(in.initial_state.size());
    float *q = Upload(in.q), *k = Upload(in.k), *v = Upload(in.v), *dout = Upload(in.dout);
    float* log_decay = UploadOrNull(in.log_decay);
    float* initial = UploadOrNull(in.initial_state);
    float* dfinal = UploadOrNull(in.dfinal_state);
    float* out = Allocate(nv);
    float* final_state = ns > 0 ? Allocate(ns) : nullptr;
    float *dq = Upload(in.dq0), *dk = Upload(in.dk0), *dv = Upload(in.dv0);
    float* dinitial = UploadOrNull(in.dinitial0);
    LinearAttentionForward(ctx_, out, final_state, q, k, v, log_decay, initial, c.batch, c.seq,
                           c.heads, c.key_dim, c.value_dim, c.chunk);
    LinearAttentionBackward(ctx_, dq, dk, dv, dinitial, dout, dfinal, q, k, v, log_decay, initial,
                            c.batch, c.seq, c.heads, c.key_dim, c.value_dim, c.chunk);
    LaOutputs o{Download(out, nv), {}, Download(dq, nk), Download(dk, nk), Download(dv, nv), {}};
    if (ns > 0) {
      o.final_state = Download(final_state, ns);
      o.dinitial_state = Download(dinitial, ns);
    }
    return o;
  }
};

TEST_P(CudaLinearAttentionTest, MatchesCpuBackend) {
  const LaCase c = GetParam();
  const LaInputs in = MakeInputs(c);
  const LaOutputs want = RunCpu(*cpu_, c, in);
  const LaOutputs got = RunCuda(c, in);
  ExpectClose(got.out, want.out, "out");
  ExpectAddedClose(got.dq, want.dq, in.dq0, "dq");
  ExpectAddedClose(got.dk, want.dk, in.dk0, "dk");
  ExpectAddedClose(got.dv, want.dv, in.dv0, "dv");
  if (c.states) {
    ExpectClose(got.final_state, want.final_state, "final_state");
    ExpectAddedClose(got.dinitial_state, want.dinitial_state, in.dinitial0, "dinitial_state");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CudaLinearAttentionTest,
    ::testing::Values(LaCase{2, 150, 3, 32, 32, 64, true, false},    // TNL, T % C ≠ 0
                      LaCase{2, 150, 3, 32, 32, 16, true, true},     // carried states
                      LaCase{1, 77, 2, 64, 32, 32, false, true},     // cos2: keys 2D, no decay
                      LaCase{1, 129, 2, 128, 128, 128, true, true},  // chunk over 64 runs as 64
                      LaCase{2, 5, 1, 16, 24, 64, true, true}));     // shorter than a chunk

TEST_F(CudaLinearAttentionTest, ResultsDoNotDependOnTheChunk) {
  const LaCase base{2, 100, 3, 32, 16, 64, true, true};
  const LaInputs in = MakeInputs(base);
  const LaOutputs ref = RunCuda(base, in);
  for (int chunk : {1, 7, 16, 100}) {
    LaCase c = base;
    c.chunk = chunk;
    const LaOutputs got = RunCuda(c, in);
    const std::string at = " at chunk " + std::to_string(chunk);
    ExpectClose(got.out, ref.out, "out" + at);
    ExpectClose(got.final_state, ref.final_state, "final_state" + at);
    ExpectAddedClose(got.dq, ref.dq, in.dq0, "dq" + at);
    ExpectAddedClose(got.dk, ref.dk, in.dk0, "dk" + at);
    ExpectAddedClose(got.dv, ref.dv, in.dv0, "dv" + at);
    ExpectAddedClose(got.dinitial_state, ref.dinitial_state, in.dinitial0, "dinitial_state" + at);
  }
}

}  // namespace
}  // namespace flopwise::kernels::cuda

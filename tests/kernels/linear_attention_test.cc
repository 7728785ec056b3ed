#include "kernels/cpu/linear_attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/kernels/naive_reference.h"
#include "tests/kernels/test_util.h"

namespace flopwise::kernels {
namespace {

using testing::AllFinite;
using testing::BroadcastHeadDecay;
using testing::DirectionalError;
using testing::MaxAbs;
using testing::NaiveDecayedAttention;
using testing::RandomNormal;
using testing::RandomSiluNormal;
using testing::RelativeError;

struct Problem {
  int batch = 2, seq = 0, heads = 3, dk = 16, dv = 16;
  std::vector<double> q, k, v, log_decay_head;  // log_decay_head empty = no decay
};

Problem MakeProblem(int seq, int dk, int dv, std::vector<double> log_decay_head, uint64_t seed) {
  Problem p;
  p.seq = seq;
  p.dk = dk;
  p.dv = dv;
  const int64_t rows = static_cast<int64_t>(p.batch) * seq * p.heads;
  p.q = RandomSiluNormal(rows * dk, seed);
  p.k = RandomSiluNormal(rows * dk, seed + 1);
  p.v = RandomNormal(rows * dv, seed + 2);
  p.log_decay_head = std::move(log_decay_head);
  return p;
}

// TNL: three largest H = 32 slopes at κ = 1 and κ = 1e-5 (docs/model-contract.md §9.2).
std::vector<double> TnlLogDecay(double kappa) {
  const double r = std::pow(2.0, -8.0 / 32.0);
  return {-r * kappa, -r * r * kappa, -r * r * r * kappa};
}

void ExpectMatchesNaive(const Problem& p, int chunk) {
  std::vector<double> log_decay_full;
  if (!p.log_decay_head.empty()) {
    log_decay_full = BroadcastHeadDecay(p.log_decay_head, p.batch, p.seq, p.heads, p.dk);
  }
  std::vector<double> ref, ref_final;
  NaiveDecayedAttention(p.q, p.k, p.v, log_decay_full, {}, p.batch, p.seq, p.heads, p.dk, p.dv,
                        &ref, &ref_final);
  std::vector<double> out(ref.size()), final_state(ref_final.size());
  cpu::Scratch<double> scratch;
  cpu::LinearAttentionForward<double>(out.data(), final_state.data(), p.q.data(), p.k.data(),
                                      p.v.data(),
                                      p.log_decay_head.empty() ? nullptr : p.log_decay_head.data(),
                                      nullptr, p.batch, p.seq, p.heads, p.dk, p.dv, chunk, scratch);
  EXPECT_LE(RelativeError(out, ref), 1e-12) << "seq " << p.seq << " chunk " << chunk;
  EXPECT_LE(RelativeError(final_state, ref_final), 1e-12) << "seq " << p.seq;

  // float kernel on the same inputs: docs/model-contract.md §9.2 fp32 budget.
  auto to_float = [](const std::vector<double>& x) {
    return std::vector<float>(x.begin(), x.end());
  };
  std::vector<float> qf = to_float(p.q), kf = to_float(p.k), vf = to_float(p.v);
  std::vector<float> ldf = to_float(p.log_decay_head);
  std::vector<float> outf(ref.size()), finalf(ref_final.size());
  cpu::Scratch<float> scratch_f;
  cpu::LinearAttentionForward<float>(outf.data(), finalf.data(), qf.data(), kf.data(), vf.data(),
                                     ldf.empty() ? nullptr : ldf.data(), nullptr, p.batch, p.seq,
                                     p.heads, p.dk, p.dv, chunk, scratch_f);
  ASSERT_TRUE(AllFinite(outf));
  ASSERT_TRUE(AllFinite(finalf));
  EXPECT_LE(RelativeError(outf, ref), 1e-5) << "float seq " << p.seq << " chunk " << chunk;
  double max_err = 0;
  for (size_t i = 0; i < ref.size(); ++i) max_err = std::max(max_err, std::abs(outf[i] - ref[i]));
  EXPECT_LE(max_err, 1e-4 * MaxAbs(ref));
}

TEST(LinearAttention, HandVectorTnl) {
  // n = 3, D = 1, q = k = v = 1, λ = 0.5 → o = [1, 1.5, 1.75] (docs/model-contract.md §9.1).
  std::vector<double> ones(3, 1.0), out(3), log_decay = {std::log(0.5)};
  cpu::Scratch<double> scratch;
  for (int chunk : {1, 2, 3}) {
    cpu::LinearAttentionForward<double>(out.data(), nullptr, ones.data(), ones.data(), ones.data(),
                                        log_decay.data(), nullptr, 1, 3, 1, 1, 1, chunk, scratch);
    EXPECT_NEAR(out[0], 1.0, 1e-15);
    EXPECT_NEAR(out[1], 1.5, 1e-15);
    EXPECT_NEAR(out[2], 1.75, 1e-15);
  }
}

TEST(LinearAttention, ChunkedEqualsRecurrenceWithDecay) {
  uint64_t seed = 10;
  for (double kappa : {1.0, 1e-5}) {
    for (int seq : {1, 5, 127, 128, 129, 300}) {
      const Problem p = MakeProblem(seq, 16, 16, TnlLogDecay(kappa), seed++);
      for (int chunk : {16, 64, 128}) ExpectMatchesNaive(p, chunk);
    }
  }
}

TEST(LinearAttention, ChunkedEqualsRecurrenceWithoutDecay) {
  uint64_t seed = 50;
  for (int seq : {1, 5, 127, 128, 129, 300}) {
    // cos2 shape: keys twice as wide as values.
    const Problem p = MakeProblem(seq, 32, 16, {}, seed++);
    for (int chunk : {16, 64, 128}) ExpectMatchesNaive(p, chunk);
  }
}

TEST(LinearAttention, LongSequenceWideHeads) {
  const Problem p = MakeProblem(1000, 64, 64, TnlLogDecay(1.0), 77);
  ExpectMatchesNaive(p, 64);
}

TEST(LinearAttention, SplittingWithCarriedStateEqualsOneCall) {
  const Problem p = MakeProblem(200, 8, 8, TnlLogDecay(1.0), 90);
  const int split = 77;
  cpu::Scratch<double> scratch;
  const size_t out_size = static_cast<size_t>(p.batch) * p.seq * p.heads * p.dv;
  const size_t state_size = static_cast<size_t>(p.batch) * p.heads * p.dk * p.dv;
  std::vector<double> whole(out_size), whole_final(state_size);
  cpu::LinearAttentionForward<double>(whole.data(), whole_final.data(), p.q.data(), p.k.data(),
                                      p.v.data(), p.log_decay_head.data(), nullptr, p.batch, p.seq,
                                      p.heads, p.dk, p.dv, 32, scratch);
  // The layout is [B,T,H,D]: split each sequence by copying rows.
  auto slice = [&](const std::vector<double>& x, int width, int t0, int len) {
    std::vector<double> out;
    for (int b = 0; b < p.batch; ++b) {
      const size_t begin = (static_cast<size_t>(b) * p.seq + t0) * p.heads * width;
      out.insert(out.end(), x.begin() + begin, x.begin() + begin + len * p.heads * width);
    }
    return out;
  };
  const int rest = p.seq - split;
  std::vector<double> q1 = slice(p.q, p.dk, 0, split), k1 = slice(p.k, p.dk, 0, split),
                      v1 = slice(p.v, p.dv, 0, split);
  std::vector<double> q2 = slice(p.q, p.dk, split, rest), k2 = slice(p.k, p.dk, split, rest),
                      v2 = slice(p.v, p.dv, split, rest);
  std::vector<double> o1(q1.size() / p.dk * p.dv), o2(q2.size() / p.dk * p.dv);
  std::vector<double> mid(state_size), fin(state_size);
  cpu::LinearAttentionForward<double>(o1.data(), mid.data(), q1.data(), k1.data(), v1.data(),
                                      p.log_decay_head.data(), nullptr, p.batch, split, p.heads,
                                      p.dk, p.dv, 16, scratch);
  cpu::LinearAttentionForward<double>(o2.data(), fin.data(), q2.data(), k2.data(), v2.data(),
                                      p.log_decay_head.data(), mid.data(), p.batch, rest, p.heads,
                                      p.dk, p.dv, 64, scratch);
  EXPECT_LE(RelativeError(o1, slice(whole, p.dv, 0, split)), 1e-13);
  EXPECT_LE(RelativeError(o2, slice(whole, p.dv, split, rest)), 1e-13);
  EXPECT_LE(RelativeError(fin, whole_final), 1e-13);
}

// Backward against central differences of L = Σ out⊙W + Σ final⊙W_f, for every
// input including the initial state, with and without decay, several chunks.
TEST(LinearAttention, BackwardMatchesFiniteDifferences) {
  const int batch = 2, seq = 23, heads = 2, dk = 4, dv = 3;
  const int64_t rows = static_cast<int64_t>(batch) * seq * heads;
  const int64_t state_size = static_cast<int64_t>(batch) * heads * dk * dv;
  for (bool decay : {true, false}) {
    for (int chunk : {1, 5, 8, 64}) {
      std::vector<double> q = RandomSiluNormal(rows * dk, 1), k = RandomSiluNormal(rows * dk, 2);
      std::vector<double> v = RandomNormal(rows * dv, 3), init = RandomNormal(state_size, 4);
      std::vector<double> w = RandomNormal(rows * dv, 5), wf = RandomNormal(state_size, 6);
      std::vector<double> log_decay = {-0.3, -0.05};
      const double* ld = decay ? log_decay.data() : nullptr;
      cpu::Scratch<double> scratch;
      auto loss = [&]() {
        std::vector<double> out(rows * dv), fin(state_size);
        cpu::LinearAttentionForward<double>(out.data(), fin.data(), q.data(), k.data(), v.data(),
                                            ld, init.data(), batch, seq, heads, dk, dv, chunk,
                                            scratch);
        return testing::Dot(out, w) + testing::Dot(fin, wf);
      };
      std::vector<double> dq(q.size(), 0.0), dk_(k.size(), 0.0), dv_(v.size(), 0.0),
          dinit(init.size(), 0.0);
      cpu::LinearAttentionBackward<double>(dq.data(), dk_.data(), dv_.data(), dinit.data(),
                                           w.data(), wf.data(), q.data(), k.data(), v.data(), ld,
                                           init.data(), batch, seq, heads, dk, dv, chunk, scratch);
      EXPECT_LE(DirectionalError(loss, q, dq, 11), 1e-6) << "dq chunk " << chunk;
      EXPECT_LE(DirectionalError(loss, k, dk_, 12), 1e-6) << "dk chunk " << chunk;
      EXPECT_LE(DirectionalError(loss, v, dv_, 13), 1e-6) << "dv chunk " << chunk;
      EXPECT_LE(DirectionalError(loss, init, dinit, 14), 1e-6) << "dinit chunk " << chunk;
    }
  }
}

TEST(LinearAttention, BackwardAccumulates) {
  const int batch = 1, seq = 9, heads = 1, dk = 2, dv = 2;
  std::vector<double> q = RandomNormal(18, 1), k = RandomNormal(18, 2), v = RandomNormal(18, 3);
  std::vector<double> w = RandomNormal(18, 4);
  cpu::Scratch<double> scratch;
  std::vector<double> once(18, 0.0), twice(18, 0.0), dk_(18, 0.0), dv_(18, 0.0);
  cpu::LinearAttentionBackward<double>(once.data(), dk_.data(), dv_.data(), nullptr, w.data(),
                                       nullptr, q.data(), k.data(), v.data(), nullptr, nullptr,
                                       batch, seq, heads, dk, dv, 4, scratch);
  for (int rep = 0; rep < 2; ++rep) {
    cpu::LinearAttentionBackward<double>(twice.data(), dk_.data(), dv_.data(), nullptr, w.data(),
                                         nullptr, q.data(), k.data(), v.data(), nullptr, nullptr,
                                         batch, seq, heads, dk, dv, 4, scratch);
  }
  for (size_t i = 0; i < once.size(); ++i) EXPECT_NEAR(twice[i], 2 * once[i], 1e-12);
  EXPECT_GT(MaxAbs(once), 0.0);
}

}  // namespace
}  // namespace flopwise::kernels

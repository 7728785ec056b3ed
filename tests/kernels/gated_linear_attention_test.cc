#include "kernels/cpu/gated_linear_attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/hgrn2_gate.h"
#include "tests/kernels/naive_reference.h"
#include "tests/kernels/test_util.h"

namespace flopwise::kernels {
namespace {

using testing::AllFinite;
using testing::DirectionalError;
using testing::kStaleGradient;
using testing::MaxAbs;
using testing::NaiveDecayedAttention;
using testing::RandomNormal;
using testing::RandomSiluNormal;
using testing::RelativeError;

// HGRN2 inputs: q = silu(N(0,1)), v ~ N(0,1), (log f, k) from the gate op with
// φ ~ N(0, phi_std²) (or constant φ when phi_std = 0) and a lower bound lb.
struct Hgrn2Inputs {
  std::vector<double> q, k, v, log_f;
};

Hgrn2Inputs MakeHgrn2Inputs(int batch, int seq, int heads, int d, double lb, double phi_std,
                            double phi_const, uint64_t seed) {
  const int64_t rows = static_cast<int64_t>(batch) * seq;
  const int dim = heads * d;
  Hgrn2Inputs in;
  in.q = RandomSiluNormal(rows * dim, seed);
  in.v = RandomNormal(rows * dim, seed + 1);
  std::vector<double> phi = RandomNormal(rows * dim, seed + 2, phi_std);
  if (phi_std == 0) phi.assign(phi.size(), phi_const);
  std::vector<double> bound(dim, lb);
  in.log_f.resize(phi.size());
  in.k.resize(phi.size());
  cpu::Hgrn2GateForward<double>(in.log_f.data(), in.k.data(), phi.data(), bound.data(),
                                static_cast<int>(rows), dim);
  return in;
}

void ExpectMatchesNaive(const Hgrn2Inputs& in, int batch, int seq, int heads, int d, int chunk) {
  std::vector<double> ref, ref_final;
  NaiveDecayedAttention(in.q, in.k, in.v, in.log_f, {}, batch, seq, heads, d, d, &ref, &ref_final);
  std::vector<double> out(ref.size()), fin(ref_final.size());
  cpu::Scratch<double> scratch;
  cpu::GatedLinearAttentionForward<double>(out.data(), fin.data(), in.q.data(), in.k.data(),
                                           in.v.data(), in.log_f.data(), nullptr, batch, seq, heads,
                                           d, d, chunk, scratch);
  EXPECT_LE(RelativeError(out, ref), 1e-12) << "seq " << seq << " chunk " << chunk;
  EXPECT_LE(RelativeError(fin, ref_final), 1e-12);

  auto to_float = [](const std::vector<double>& x) {
    return std::vector<float>(x.begin(), x.end());
  };
  std::vector<float> qf = to_float(in.q), kf = to_float(in.k), vf = to_float(in.v),
                     lf = to_float(in.log_f);
  std::vector<float> outf(ref.size()), finf(ref_final.size());
  cpu::Scratch<float> scratch_f;
  cpu::GatedLinearAttentionForward<float>(outf.data(), finf.data(), qf.data(), kf.data(), vf.data(),
                                          lf.data(), nullptr, batch, seq, heads, d, d, chunk,
                                          scratch_f);
  ASSERT_TRUE(AllFinite(outf));
  ASSERT_TRUE(AllFinite(finf));
  EXPECT_LE(RelativeError(outf, ref), 1e-5) << "float seq " << seq << " chunk " << chunk;
  double max_err = 0;
  for (size_t i = 0; i < ref.size(); ++i) max_err = std::max(max_err, std::abs(outf[i] - ref[i]));
  EXPECT_LE(max_err, 1e-4 * MaxAbs(ref));
}

TEST(GatedLinearAttention, HandVector) {
  // n = 3, D = 1, q = v = 1, f = k = 0.5 → o = [0.5, 0.75, 0.875] (docs/model-contract.md §9.1).
  std::vector<double> ones(3, 1.0), half(3, 0.5), log_f(3, std::log(0.5)), out(3);
  cpu::Scratch<double> scratch;
  for (int chunk : {1, 2, 3}) {
    cpu::GatedLinearAttentionForward<double>(out.data(), nullptr, ones.data(), half.data(),
                                             ones.data(), log_f.data(), nullptr, 1, 3, 1, 1, 1,
                                             chunk, scratch);
    EXPECT_NEAR(out[0], 0.5, 1e-15);
    EXPECT_NEAR(out[1], 0.75, 1e-15);
    EXPECT_NEAR(out[2], 0.875, 1e-15);
  }
}

TEST(GatedLinearAttention, ChunkedEqualsRecurrence) {
  uint64_t seed = 100;
  for (double lb : {0.0, 0.5, 0.97}) {
    for (int seq : {1, 5, 127, 128, 129, 300}) {
      const Hgrn2Inputs in = MakeHgrn2Inputs(2, seq, 3, 16, lb, 3.0, 0.0, seed++);
      for (int chunk : {16, 64, 128}) ExpectMatchesNaive(in, 2, seq, 3, 16, chunk);
    }
  }
}

TEST(GatedLinearAttention, StressPhiMinus30AtLayerZero) {
  // f = σ(−30) ≈ 1e-13 at every token: a state reset each step; the
  // factorisation trap of docs/model-contract.md §6 would overflow here.
  for (int seq : {129, 300}) {
    const Hgrn2Inputs in = MakeHgrn2Inputs(2, seq, 3, 16, 0.0, 0.0, -30.0, 200 + seq);
    for (int chunk : {16, 64, 128}) ExpectMatchesNaive(in, 2, seq, 3, 16, chunk);
  }
}

TEST(GatedLinearAttention, SplittingWithCarriedStateEqualsOneCall) {
  const int batch = 1, seq = 150, heads = 2, d = 8, split = 61;
  const Hgrn2Inputs in = MakeHgrn2Inputs(batch, seq, heads, d, 0.5, 3.0, 0.0, 300);
  const int dim = heads * d;
  cpu::Scratch<double> scratch;
  std::vector<double> whole(in.v.size()), whole_final(heads * d * d);
  cpu::GatedLinearAttentionForward<double>(whole.data(), whole_final.data(), in.q.data(),
                                           in.k.data(), in.v.data(), in.log_f.data(), nullptr,
                                           batch, seq, heads, d, d, 32, scratch);
  std::vector<double> o1(split * dim), o2((seq - split) * dim), mid(whole_final.size()),
      fin(whole_final.size());
  const size_t off = static_cast<size_t>(split) * dim;
  cpu::GatedLinearAttentionForward<double>(o1.data(), mid.data(), in.q.data(), in.k.data(),
                                           in.v.data(), in.log_f.data(), nullptr, batch, split,
                                           heads, d, d, 16, scratch);
  cpu::GatedLinearAttentionForward<double>(
      o2.data(), fin.data(), in.q.data() + off, in.k.data() + off, in.v.data() + off,
      in.log_f.data() + off, mid.data(), batch, seq - split, heads, d, d, 64, scratch);
  EXPECT_LE(RelativeError(o1, std::vector<double>(whole.begin(), whole.begin() + off)), 1e-13);
  EXPECT_LE(RelativeError(o2, std::vector<double>(whole.begin() + off, whole.end())), 1e-13);
  EXPECT_LE(RelativeError(fin, whole_final), 1e-13);
}

TEST(GatedLinearAttention, BackwardMatchesFiniteDifferences) {
  const int batch = 2, seq = 21, heads = 2, dk = 4, dv = 3;
  const int64_t rows = static_cast<int64_t>(batch) * seq * heads;
  const int64_t state_size = static_cast<int64_t>(batch) * heads * dk * dv;
  for (int chunk : {1, 4, 8, 64}) {
    std::vector<double> q = RandomSiluNormal(rows * dk, 1), k = RandomSiluNormal(rows * dk, 2);
    std::vector<double> v = RandomNormal(rows * dv, 3), init = RandomNormal(state_size, 4);
    std::vector<double> a = RandomNormal(rows * dk, 5, 0.5);
    for (double& x : a) x = -std::abs(x);
    std::vector<double> w = RandomNormal(rows * dv, 6), wf = RandomNormal(state_size, 7);
    cpu::Scratch<double> scratch;
    auto loss = [&]() {
      std::vector<double> out(rows * dv), fin(state_size);
      cpu::GatedLinearAttentionForward<double>(out.data(), fin.data(), q.data(), k.data(), v.data(),
                                               a.data(), init.data(), batch, seq, heads, dk, dv,
                                               chunk, scratch);
      return testing::Dot(out, w) + testing::Dot(fin, wf);
    };
    std::vector<double> dq(q.size(), 0.0), dk_(k.size(), 0.0), dv_(v.size(), 0.0),
        da(a.size(), 0.0), dinit(init.size(), 0.0);
    cpu::GatedLinearAttentionBackward<double>(
        dq.data(), dk_.data(), dv_.data(), da.data(), dinit.data(), w.data(), wf.data(), q.data(),
        k.data(), v.data(), a.data(), init.data(), batch, seq, heads, dk, dv, chunk, scratch);
    EXPECT_LE(DirectionalError(loss, q, dq, 11), 1e-6) << "dq chunk " << chunk;
    EXPECT_LE(DirectionalError(loss, k, dk_, 12), 1e-6) << "dk chunk " << chunk;
    EXPECT_LE(DirectionalError(loss, v, dv_, 13), 1e-6) << "dv chunk " << chunk;
    EXPECT_LE(DirectionalError(loss, a, da, 14), 1e-6) << "dlog_decay chunk " << chunk;
    EXPECT_LE(DirectionalError(loss, init, dinit, 15), 1e-6) << "dinit chunk " << chunk;
  }
}

TEST(GatedLinearAttention, BackwardFiniteUnderStress) {
  const int batch = 1, seq = 70, heads = 1, d = 4;
  const Hgrn2Inputs in = MakeHgrn2Inputs(batch, seq, heads, d, 0.0, 0.0, -30.0, 400);
  std::vector<double> w = RandomNormal(in.v.size(), 401);
  std::vector<double> dq(in.q.size(), 0.0), dk(in.q.size(), 0.0), dv(in.v.size(), 0.0),
      da(in.q.size(), 0.0);
  std::vector<float> qf(in.q.begin(), in.q.end()), kf(in.k.begin(), in.k.end()),
      vf(in.v.begin(), in.v.end()), lf(in.log_f.begin(), in.log_f.end()), wf(w.begin(), w.end());
  std::vector<float> dqf(qf.size(), 0.f), dkf(qf.size(), 0.f), dvf(vf.size(), 0.f),
      daf(qf.size(), 0.f);
  cpu::Scratch<double> scratch;
  cpu::Scratch<float> scratch_f;
  cpu::GatedLinearAttentionBackward<double>(
      dq.data(), dk.data(), dv.data(), da.data(), nullptr, w.data(), nullptr, in.q.data(),
      in.k.data(), in.v.data(), in.log_f.data(), nullptr, batch, seq, heads, d, d, 64, scratch);
  cpu::GatedLinearAttentionBackward<float>(
      dqf.data(), dkf.data(), dvf.data(), daf.data(), nullptr, wf.data(), nullptr, qf.data(),
      kf.data(), vf.data(), lf.data(), nullptr, batch, seq, heads, d, d, 64, scratch_f);
  for (const auto* g : {&dqf, &dkf, &dvf, &daf}) EXPECT_TRUE(AllFinite(*g));
  EXPECT_LE(RelativeError(dqf, dq), 1e-5);
  EXPECT_LE(RelativeError(dkf, dk), 1e-5);
  EXPECT_LE(RelativeError(dvf, dv), 1e-5);
  // With f ≈ 1e-13 the true decay gradient is ≈ 0: it is a cancellation of
  // O(1) terms q⊙dq − k⊙dk, so hold its error against their scale instead.
  double term_scale = 0, max_err = 0;
  for (size_t i = 0; i < da.size(); ++i) {
    term_scale = std::max(term_scale, std::abs(in.q[i] * dq[i]));
    max_err = std::max(max_err, std::abs(daf[i] - da[i]));
  }
  EXPECT_LE(max_err, 1e-5 * seq * term_scale);
}

TEST(Hgrn2Gate, LowerBoundAtInit) {
  // P = 0 → LB = [0, 0.25, 0.5, 0.75] for L = 4 (docs/model-contract.md §9.1).
  std::vector<double> p(4 * 2, 0.0), lb(8);
  cpu::Hgrn2LowerBoundForward<double>(lb.data(), p.data(), 4, 2);
  const double expected[4] = {0.0, 0.25, 0.5, 0.75};
  EXPECT_EQ(lb[0], 0.0);  // exactly zero: layer 0 takes logσ(φ)
  for (int l = 0; l < 4; ++l) {
    EXPECT_NEAR(lb[l * 2], expected[l], 1e-15);
    EXPECT_NEAR(lb[l * 2 + 1], expected[l], 1e-15);
  }
}

TEST(Hgrn2Gate, ForwardValuesAndStability) {
  std::vector<double> phi = {0.0, 2.0, -30.0, -1000.0, 50.0}, lb = {0.0, 0.5, 0.0, 0.97, 0.97};
  std::vector<double> log_f(5), k(5);
  for (int c = 0; c < 5; ++c) {
    cpu::Hgrn2GateForward<double>(&log_f[c], &k[c], &phi[c], &lb[c], 1, 1);
  }
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  EXPECT_NEAR(log_f[0], std::log(0.5), 1e-15);
  EXPECT_NEAR(log_f[1], std::log(0.5 + 0.5 * sig(2.0)), 1e-15);
  EXPECT_NEAR(log_f[2], -30.0 - std::log1p(std::exp(-30.0)), 1e-12);
  EXPECT_NEAR(log_f[3], std::log(0.97), 1e-12);
  EXPECT_NEAR(k[1], 0.5 * sig(-2.0), 1e-15);
  EXPECT_NEAR(k[4], 0.03 * sig(-50.0), 1e-30);  // tiny but not cancelled to 0
  EXPECT_GT(k[4], 0.0);
  std::vector<float> phif = {-1000.f}, lbf = {0.f}, lff(1), kf(1);
  cpu::Hgrn2GateForward<float>(lff.data(), kf.data(), phif.data(), lbf.data(), 1, 1);
  EXPECT_TRUE(std::isfinite(lff[0]));
  EXPECT_NEAR(lff[0], -1000.0f, 1e-3);
}

TEST(Hgrn2Gate, BackwardMatchesFiniteDifferences) {
  const int rows = 7, dim = 5;
  std::vector<double> phi = RandomNormal(rows * dim, 1, 3.0);
  std::vector<double> lb = {0.0, 0.1, 0.5, 0.9, 0.97};
  std::vector<double> wf = RandomNormal(rows * dim, 2), wk = RandomNormal(rows * dim, 3);
  auto loss = [&]() {
    std::vector<double> log_f(rows * dim), k(rows * dim);
    cpu::Hgrn2GateForward<double>(log_f.data(), k.data(), phi.data(), lb.data(), rows, dim);
    return testing::Dot(log_f, wf) + testing::Dot(k, wk);
  };
  // dphi is written over a stale value; dlb, a parameter gradient, is added to.
  std::vector<double> dphi(phi.size(), kStaleGradient), dlb(dim, 0.0);
  cpu::Scratch<double> scratch;
  cpu::Hgrn2GateBackward<double>(dphi.data(), dlb.data(), wf.data(), wk.data(), phi.data(),
                                 lb.data(), rows, dim, scratch);
  EXPECT_LE(DirectionalError(loss, phi, dphi, 4), 1e-7);
  // LB = 0 is the constant bound of layer 0: no gradient by contract.
  EXPECT_EQ(dlb[0], 0.0);
  std::vector<double> lb_tail(lb.begin() + 1, lb.end()), dlb_tail(dlb.begin() + 1, dlb.end());
  auto loss_tail = [&]() {
    std::copy(lb_tail.begin(), lb_tail.end(), lb.begin() + 1);
    return loss();
  };
  EXPECT_LE(DirectionalError(loss_tail, lb_tail, dlb_tail, 5), 1e-7);
}

TEST(Hgrn2Gate, LowerBoundBackwardMatchesFiniteDifferences) {
  const int layers = 5, dim = 3;
  std::vector<double> p = RandomNormal(layers * dim, 1), w = RandomNormal(layers * dim, 2);
  auto loss = [&]() {
    std::vector<double> lb(layers * dim);
    cpu::Hgrn2LowerBoundForward<double>(lb.data(), p.data(), layers, dim);
    return testing::Dot(lb, w);
  };
  std::vector<double> dp(p.size(), 0.0);
  cpu::Hgrn2LowerBoundBackward<double>(dp.data(), w.data(), p.data(), layers, dim);
  EXPECT_LE(DirectionalError(loss, p, dp, 3), 1e-7);
}

}  // namespace
}  // namespace flopwise::kernels
